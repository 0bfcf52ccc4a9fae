"""Tool fit (catalogue, profiles, scoring, fit on real data), the progress board, lint, and
both HTML reports opened in a real browser (issue 5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from okrsync import plugins
from okrsync.cli import cli
from okrsync.errors import ConfigError
from okrsync.report import catalogue, fit, profile, render, scoring
from okrsync.report.catalogue import Cell, Tool

from .helpers import browser

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(__file__).resolve().parent / "fixtures" / "real"


def run(*args, code=0):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def example(tmp_path):
    """The bundled example (examples/okrs.csv via config.example.yaml), pulled into a store."""
    shutil.copy(ROOT / "config.example.yaml", tmp_path)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    run("-c", "config.example.yaml", "pull", "planning-sheet")
    return tmp_path


# ------------------------------------------------------------------ the catalogue


def test_catalogue_has_20_tools_every_cell_sourced_and_dated():
    """Issue 23: the spreadsheet row cited okrsync's own README. Every cell's source is now a
    page with the date it was read; cells read over a year ago are flagged as a warning (and
    listed by the fit report), not failed: a clone tested next year must still pass."""
    import datetime as dt

    tools = catalogue.load()
    assert len(tools) >= 20
    today = dt.date.today().isoformat()
    for tool in tools.values():
        for name in catalogue.FIELDS:
            cell = tool.cell(name)
            assert cell.confidence in catalogue.CONFIDENCES
            assert cell.source and cell.source.startswith(("https://", "http://")), (tool.key, name)
            assert "okrsync" not in cell.source.lower(), (tool.key, name, cell.source)  # no self-citation
            assert (cell.value is None) == (cell.confidence == "unknown"), (tool.key, name)
            assert cell.read and dt.date.fromisoformat(cell.read).isoformat() <= today, (tool.key, name, cell.read)
    due = catalogue.due(tools)
    if due:
        import warnings

        warnings.warn(f"{len(due)} catalogue cells are due for re-checking (read over a year ago), e.g. {due[:3]}", stacklevel=1)
    old = {"x": Tool("x", "X", "https://x.example", {"sso": Cell(True, "https://x.example", "confirmed", read="2024-01-01"),
                                                     "scim": Cell(True, "https://x.example", "confirmed", read="2026-01-01")})}
    assert catalogue.due(old, dt.date(2026, 6, 1)) == [("x", "sso", "2024-01-01")]


# the tools docs/reports.md names as the research's focus, with the cells known on 2026-12-07
CHOSEN = {"spreadsheet": 27, "google-sheets": 26, "asana": 24, "jira": 20, "clickup": 20, "profit-co": 19,
          "viva-goals": 19, "workboard": 23, "lattice": 20, "leapsome": 18, "quantive": 17, "betterworks": 17,
          "perdoo": 18, "tability": 16, "weekdone": 6}


def test_catalogue_coverage_of_the_chosen_tools_does_not_fall():
    """Issue 23 item 2: what is known about the 15 chosen tools (290 of 420 cells on 2026-12-07,
    up from 253 on 2026-12-06); a cell removed for a good reason lowers its tool's figure here, on purpose."""
    tools = catalogue.load()
    known = {key: sum(tools[key].cell(name).known for name in catalogue.FIELDS) for key in CHOSEN}
    assert {k: n for k, n in known.items() if n < CHOSEN[k]} == {}
    assert sum(known.values()) >= 290 and len(CHOSEN) * len(catalogue.FIELDS) == 420


def test_every_registered_connector_agrees_with_its_catalogue_entry():
    """A connector may hold less than its tool, never more (see catalogue.disagreements).
    Compared fields: catalogue.CAPABILITY_FIELDS (catalogue field → Capabilities field)."""
    checked = 0
    for name, info in plugins.connectors().items():
        tool = catalogue.for_connector(name)
        if tool is None:
            continue
        assert catalogue.disagreements(tool, info.cls.capabilities) == [], name
        checked += 1
    assert checked >= 2  # csv and xlsx at least


def test_disagreement_is_found():
    from okrsync.connector import Capabilities

    tool = Tool("t", "T", "https://example.com", {"weights": Cell(False, "https://example.com", "confirmed"),
                                                  "alignment": Cell("single-parent", "https://example.com", "confirmed")})
    found = catalogue.disagreements(tool, Capabilities(weights=True, alignment="multi-parent"))
    assert [f.split(":")[0] for f in found] == ["alignment", "weights"]
    assert catalogue.disagreements(tool, Capabilities(weights=False, alignment="none")) == []


@pytest.mark.parametrize("source, cell, message", [
    ('{url: "https://a.example", read: 2026-01-02}', "[maybe, A, confirmed]", r"line 7: weights \(x\): expected true or false"),
    ('{url: "repo:README.md", read: 2026-01-02}', "[true, A, confirmed]", r"line 1: A: url: .*okrsync's own docs are no source"),
    ('{url: "https://a.example"}', "[true, A, confirmed]", r"line 1: A: read: expected the date the page was read"),
    ('"https://a.example"', "[true, A, confirmed]", r"line 1: A: a source is \{url"),
    ('{url: "https://a.example", read: 2026-01-02}', "[true, B, confirmed]", r"line 7: weights \(x\): 'B' is not a key of sources"),
])
def test_bad_catalogue_cell_is_located(tmp_path, source, cell, message):
    path = tmp_path / "cat.yaml"
    path.write_text(f"sources: {{A: {source}}}\ntools:\n  x:\n    name: X\n    checked: A\n    cells:\n"
                    f"      weights: {cell}\n")
    with pytest.raises(ConfigError, match="cat.yaml: " + message):
        catalogue.load(path)


# ------------------------------------------------------------------ scoring


def _tool(key, **cells):
    return Tool(key, key.upper(), "https://example.com",
                {k: Cell(v, None if v is None else "https://example.com", "unknown" if v is None else "confirmed")
                 for k, v in cells.items()})


@pytest.mark.parametrize("cells, weights, fit, low, high, coverage", [
    ({"sso": True, "scim": True}, {"sso": 1, "scim": 1}, 1.0, 1.0, 1.0, 1.0),
    ({"sso": True, "scim": False}, {"sso": 1, "scim": 1}, 0.5, 0.5, 0.5, 1.0),
    ({"sso": True}, {"sso": 1, "scim": 1}, 1.0, 0.5, 1.0, 0.5),  # scim unknown: fit over sso alone
    ({"api": "read"}, {"api": 2}, 0.5, 0.5, 0.5, 1.0),
    ({"check_ins": "latest", "sso": None}, {"check_ins": 1, "sso": 3}, 0.5, 0.125, 0.875, 0.25),
    ({}, {"sso": 0}, None, 0.0, 0.0, 0.0),
])
def test_fit_is_scored_over_known_cells_with_evidence_and_range_apart(cells, weights, fit, low, high, coverage):
    """Issue 23: the "proven" score nearly equalled "sources cover" (46/44, 51/40, 32/32): it
    rewarded how much was researched. Fit is now over known cells only."""
    [s] = scoring.score_tools({"t": _tool("t", **cells)}, weights)
    assert (s.fit, s.low, s.high, s.coverage) == pytest.approx((fit, low, high, coverage))


def test_a_tool_ranks_above_another_only_when_its_range_is_above():
    weights = {"sso": 1, "scim": 1, "api": 2}
    tools = {"known": _tool("known", sso=True, scim=True, api="read-write"),  # 100 %, all known
             "thin": _tool("thin", sso=True),  # fit 100 % on a quarter of the weight: range 25–100 %
             "weak": _tool("weak", sso=False, scim=False, api="read"),  # 25 %, all known
             "none": _tool("none", sso=False, scim=False, api="none")}  # 0 %
    ranked = scoring.score_tools(tools, weights)
    assert [(s.tool.key, s.rank, sorted(s.ties)) for s in ranked] == [
        ("known", 1, ["thin"]), ("thin", 1, ["known", "weak"]), ("weak", 2, ["thin"]), ("none", 4, [])]  # rank: 1 + the tools surely better
    # what would separate them: thin's unknown cells, heaviest first
    assert scoring.questions(ranked[1], weights) == [("api", 2), ("scim", 1)]
    data = render.fit_data("scaleup", profile.Client(name="Acme", date="2026-03-31"), weights, ranked, [], [],
                           dict.fromkeys(("objectives", "key_results"), 0))
    assert [r["rank_label"] for r in data["ranking"]] == ["1=", "1=", "2", "4"]
    assert data["top_tier"] == ["known", "thin"] and data["date"] == "2026-03-31"
    assert [(q["tool"], [a["criterion"] for a in q["ask"]]) for q in data["questions"]] == [("known", []), ("thin", ["api", "scim"])]


def test_criteria_the_client_profile_cannot_judge_are_not_scored():
    tools = {"a": _tool("a", sso=True, size_fit=("startup",), price_per_seat=10)}
    [s] = scoring.score_tools(tools, {"sso": 1, "size_fit": 1, "cost": 1})  # no size, no budget: not unknowns
    assert (s.fit, s.coverage) == (1.0, 1.0)
    assert scoring.unscored({"size_fit": 1, "cost": 1}, profile.Client(size=50)) == {
        "cost": "the client profile gives no budget_per_seat"}


@pytest.mark.parametrize("must_haves, expected", [
    ({"sso": True}, ("in", [], [])),
    ({"scim": True}, ("out", ["SCIM provisioning: false"], [])),
    ({"api": "read-write"}, ("out", ["public API: read, needs read-write"], [])),
    ({"api": "read"}, ("in", [], [])),
    ({"data_residency": "eu"}, ("in", [], [])),
    ({"data_residency": ["eu", "us"]}, ("out", ["data residency: eu, lacks us"], [])),
    ({"webhooks": True}, ("in", [], ["webhooks: not known (https://example.com)"])),
])
def test_must_haves_knock_out_or_stay_unresolved(must_haves, expected):
    tool = _tool("t", sso=True, scim=False, api="read", data_residency=("eu",))
    [s] = scoring.score_tools({"t": tool}, {"sso": 1}, profile.Client(must_haves=must_haves))
    assert ("out" if s.knocked_out else "in", s.knockouts, s.unresolved) == expected


def test_knocked_out_tools_rank_last_and_retired_tools_are_out():
    tools = {"a": _tool("a", sso=False, scim=True), "b": _tool("b", sso=True), "c": _tool("c", sso=True, scim=True,
                                                                                         vendor_status="retired")}
    ranked = scoring.score_tools(tools, {"sso": 1, "scim": 1}, profile.Client(must_haves={"sso": True}))
    assert [(s.tool.key, s.knocked_out) for s in ranked] == [("b", False), ("c", True), ("a", True)]  # out: by score too


def test_sensitivity_reports_a_top_change_and_stability():
    tools = {"a": _tool("a", sso=True, scim=False), "b": _tool("b", sso=False, scim=True)}
    close = {"sso": 1.1, "scim": 1.0}  # a leads by a hair: -20 % on sso flips it
    flips = scoring.sensitivity(scoring.score_tools(tools, close), close)
    assert [(f.criterion, f.factor, f.top) for f in flips] == [("sso", 0.8, "b"), ("scim", 1.2, "b")]
    clear = {"sso": 3.0, "scim": 1.0}
    assert scoring.sensitivity(scoring.score_tools(tools, clear), clear) == []


def test_presets_differ_the_way_the_companies_do():
    startup, corp = profile.PRESETS["startup"], profile.PRESETS["corporation"]
    for criterion in ("cascading", "sso", "security", "data_residency", "governance"):
        assert corp[criterion] > startup[criterion]
    for criterion in ("cost", "check_ins", "slack"):
        assert startup[criterion] > corp[criterion]


# ------------------------------------------------------------------ the client profile


def test_client_profile_reads_and_fits_weights(tmp_path):
    path = tmp_path / "client.yaml"
    path.write_text("name: Acme\nsize: 1200\nit_landscape: [jira, teams]\nmust_haves:\n  - sso\n  - api: read-write\n"
                    "  - data_residency: eu\nbudget_per_seat: 12\nweights: {cost: 4}\n")
    client = profile.load_client(path)
    assert (client.size_class, client.must_haves) == ("corporation", {"sso": True, "api": "read-write", "data_residency": "eu"})
    weights = profile.weights_for("corporation", client)
    assert (weights["slack"], weights["spreadsheets"], weights["jira"], weights["cost"]) == (0.0, 0.0, 3.0, 4.0)


@pytest.mark.parametrize("text, message", [
    ("size: 10\nbudjet_per_seat: 5\n", "line 2: budjet_per_seat: unknown key; did you mean 'budget_per_seat'?"),
    ("must_haves:\n  - ssso\n", "line 1: must_haves: 'ssso' is not known; did you mean 'sso'?"),
    ("must_haves:\n  - api: write\n", "line 2: api: 'write'; use one of none, read, read-write"),
    ("weights:\n  sso: lots\n", "line 2: sso: expected a number ≥ 0, got 'lots'"),
    ("size: -3\n", "line 1: size: expected a whole number ≥ 0"),
    ("it_landscape: [jira, slak]\n", "line 1: it_landscape: 'slak' is not known; did you mean 'slack'?"),
])
def test_client_profile_errors_are_located_and_exit_2(example, text, message):
    (example / "client.yaml").write_text(text)
    with pytest.raises(ConfigError, match="client.yaml: " + message.replace("(", r"\(").replace(")", r"\)")):
        profile.load_client(example / "client.yaml")
    result = run("-c", "config.example.yaml", "report", "fit", "--client", "client.yaml", code=2)
    assert message in result.output


# ------------------------------------------------------------------ fit on the client's data


def test_fit_on_the_bundled_example(example):
    from okrsync.store import Store

    data = fit.ClientData.read(Store(example / "okrsync.db"))
    assert (len(data.objectives), len(data.key_results), len(data.edges)) == (13, 39, 10)
    tools = catalogue.load()
    sheet = fit.tool_fit(data, tools["spreadsheet"])
    assert sheet.totals()["lost"] == sheet.totals()["unknown"] == sheet.totals()["transformed"] == 0
    quantive = {a.name: a for a in fit.tool_fit(data, tools["quantive"]).aspects}
    kinds = {kr.direction for kr in data.key_results}
    assert {"range", "binary"} <= kinds
    assert quantive["kr_types"].counts["transformed"] == sum(kr.direction not in tools["quantive"].cell("kr_types").value
                                                             for kr in data.key_results)
    assert any("range → stay_above" in e for e in quantive["kr_types"].examples["transformed"])
    assert quantive["weights"].counts["unknown"] == sum(kr.weight is not None for kr in data.key_results)
    clickup = {a.name: a for a in fit.tool_fit(data, tools["clickup"]).aspects}
    assert clickup["weights"].counts["lost"] == quantive["weights"].counts["unknown"]  # ClickUp has no weights
    assert clickup["alignment"].counts["unknown"] == 10
    profit = fit.tool_fit(data, tools["profit-co"])
    assert profit.requests is not None and profit.min_seconds is None  # rate limit unknown
    leapsome = fit.tool_fit(data, tools["leapsome"])
    assert leapsome.requests is None and "no write API" in leapsome.effort_note


def test_fit_on_real_data_keeps_custom_fields_and_counts_effort(tmp_path):
    (tmp_path / "okrsync.yaml").write_text(
        f"endpoints:\n  ops:\n    type: csv\n    path: {REAL / 'flat_kr_rows_percent_words_product_ops_sandbox.csv'}\n")
    run("pull")
    out = json.loads(run("--json", "report", "fit", "--profile", "startup").output)
    assert out["data"]["objectives"] == 2 and out["data"]["key_results"] == 4 and out["data"]["custom_values"] == 4
    by_key = {f["key"]: f for f in out["fit"]}
    custom = {a["name"]: a for a in by_key["hibob"]["aspects"]}["custom_fields"]
    assert custom["counts"]["held"] == 4 and custom["examples"]["held"] == ["linked_metric"]
    sheets = by_key["google-sheets"]
    assert sheets["requests"] == 6 and sheets["min_seconds"] == 6.0  # 6 records at 60/min
    assert out["preset"] == "startup" and len(out["ranking"]) >= 20


# ------------------------------------------------------------------ rendering


def test_fit_report_formats_and_escaping(example):
    from okrsync.store import Store

    evil = "<script>alert(1)</script> & *bold*"
    store = Store(example / "okrsync.db")
    run_id = store.begin_run("test")
    [(oid, _, objective)] = list(store.entities("objective"))[:1]
    store.mutate(run_id, "test", "objective", oid, objective | {"title": evil})
    # two KRs: the leading tools list the first KRs of a bucket as examples, and which tools
    # lead depends on the catalogue's research: tools whose KR units are unknown list the first
    # KR (the HTML report's start-up client); tools that hold units as numbers list a boolean KR
    # as changed (the Markdown report's multi-parent must-have)
    krs = list(store.entities("key_result"))
    first = krs[0]
    for kid, _, kr in [first, next(e for e in krs if e[2]["unit"] == "boolean")]:
        store.mutate(run_id, "test", "key_result", kid, kr | {"title": evil})
    store.close()
    (example / "client.yaml").write_text("name: <b>Acme</b>\nsize: 40\n")
    run("-c", "config.example.yaml", "report", "fit", "--client", "client.yaml", "--out", "fit.html")
    page = (example / "fit.html").read_text()
    assert "<script" not in page and "&lt;b&gt;Acme&lt;/b&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in page
    assert page.count('data-chart="') == 3 and "@media print" in page
    assert not any(tag in page for tag in ("src=", "<link", "@import", "url(http"))  # self-contained
    assert "startup" in page  # size 40 → the start-up preset
    # the Markdown lists changed and lost KRs for the three leading tools only; a must-have of
    # multi-parent alignment leads with tools that hold booleans as numbers (the tools that keep
    # everything, spreadsheets and Jira, align to one parent), so the test does not hang on the
    # order that new catalogue research gives the tied tools
    (example / "multi.yaml").write_text("must_haves:\n  - alignment: multi-parent\n")
    run("-c", "config.example.yaml", "report", "fit", "--client", "multi.yaml", "--out", "fit.md")
    text = (example / "fit.md").read_text()
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \\*bold\\*" in text
    data = json.loads(run("-c", "config.example.yaml", "report", "fit", "--format", "json").output)
    assert data["sensitivity"]["top"] == data["ranking"][0]["key"]
    assert render.md("a|b\nc") == "a\\|b c"
    store = Store(example / "okrsync.db")  # the board counts one evil KR: the first gets its title back
    store.mutate(store.begin_run("test"), "test", "key_result", first[0], first[2])
    store.close()
    run("-c", "config.example.yaml", "report", "progress", "--out", "board.html")
    board = (example / "board.html").read_text()
    assert "<script" not in board and board.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 4  # card, weekly view, stale list


def test_progress_board(example):
    run("-c", "config.example.yaml", "report", "progress", "--out", "board.html")
    page = (example / "board.html").read_text()
    assert "Committed objectives (10)" in page and "Aspirational objectives (3)" in page
    later = json.loads(run("-c", "config.example.yaml", "report", "progress", "--format", "json",
                           "--as-of", "2099-01-01", "--period", "2026-Q1").output)
    assert len(later["stale"]) == 39 and all(not kr["checked_in"] for kr in later["stale"])
    assert sum(later["bands"].values()) == 39 and later["bands"]["green"] > 0
    krs = {kr["title"]: kr for rows in later["sections"].values() for o in rows for kr in o["key_results"]}
    churn = krs["Cut monthly gross logo churn from 2.1% to 1.5%"]
    assert (churn["score"], churn["band"]) == (0.5, "yellow")
    none = json.loads(run("-c", "config.example.yaml", "report", "progress", "--format", "json", "--team", "Nobody").output)
    assert none["sections"] == {}


def test_a_format_the_report_lacks_is_a_usage_error(example):
    """board.md: the board has no markdown; exit 2 naming the formats it has, no file written."""
    result = run("-c", "config.example.yaml", "report", "progress", "--out", "board.md", code=2)
    assert "html, pdf or json, not md" in result.output and "Internal error" not in result.output
    assert not (example / "board.md").exists()
    result = run("-c", "config.example.yaml", "report", "progress", "--format", "md", code=2)
    assert "'md' is not one of 'html', 'pdf', 'json'" in result.output
    run("-c", "config.example.yaml", "report", "fit", "--out", "fit.md")  # fit has markdown
    assert (example / "fit.md").stat().st_size > 0


def test_progress_trend_and_cadence_come_from_the_change_log(example):
    csv = example / "examples" / "okrs.csv"
    csv.write_text(csv.read_text().replace(",8400000,9050000,10200000,", ",8400000,9500000,10200000,"))
    run("-c", "config.example.yaml", "pull", "planning-sheet")
    board = json.loads(run("-c", "config.example.yaml", "report", "progress", "--format", "json").output)
    krs = {kr["title"]: kr for rows in board["sections"].values() for o in rows for kr in o["key_results"]}
    arr = krs["Grow ARR from €8.4M to €10.2M"]
    assert [p for _, p in arr["trend"]] == [0.0, 0.361, 0.611]  # the start value on 2026-01-01 first and arr["checked_in"]
    maria = next(c for c in board["cadence"] if c["owner"] == "maria.keller@example.com")
    assert maria["check_ins"] == 1


def _at(monkeypatch, when: str):
    """Make the store record the next changes at ``when`` (the change log's clock)."""
    import okrsync.store

    monkeypatch.setattr(okrsync.store, "NOW", lambda: when + "T09:00:00.000Z")


@pytest.fixture
def quarter(tmp_path, monkeypatch):
    """A 2026-Q1 store with history: two KRs recorded on 5 January, k1 checked in on 20 January,
    10 February and 20 March (and read back by a sync on 21 March), k2 never; k3 recorded on
    1 April."""
    import okrsync.store
    from okrsync.store import Store

    clock = okrsync.store.NOW
    (tmp_path / "okrsync.yaml").write_text("store: okrsync.db\nendpoints: {sheet: {type: csv, path: okrs.csv}}\n")
    store = Store(tmp_path / "okrsync.db")
    run_id = store.begin_run("test")
    _at(monkeypatch, "2026-01-05")
    store.mutate(run_id, "sheet", "objective", "o1", {"title": "Win the mid-market", "period": "2026-Q1",
                                                      "type": "committed", "owner": "ana@example.com"})
    kr = {"objective_id": "o1", "direction": "increase", "unit": "number", "start": 0, "target": 100}
    store.mutate(run_id, "sheet", "key_result", "k1", kr | {"title": "Sign 100 accounts", "current": 10,
                                                             "owner": "ana@example.com", "confidence": 0.4})
    store.mutate(run_id, "sheet", "key_result", "k2", kr | {"title": "Run 100 demos", "current": 0, "owner": "ben@example.com"})
    store.set_link("sheet", "key_result", "KR-7", "k1", None, run_id)  # the sheet's id for k1: reports show it
    _at(monkeypatch, "2026-03-20")
    for n, (day, value, conf) in enumerate((("2026-01-20", 30, 0.5), ("2026-02-10", 60, 0.7), ("2026-03-20", 90, 0.9))):
        store.mutate(run_id, "perdoo", "check_in", f"c{n}", {"key_result_id": "k1", "at": day + "T10:00:00Z",
                                                             "value": value, "confidence": conf, "author": "ana@example.com"})
    _at(monkeypatch, "2026-03-21")
    store.mutate(run_id, "perdoo", "key_result", "k1", kr | {"title": "Sign 100 accounts", "current": 90,
                                                             "owner": "ana@example.com", "confidence": 0.9},
                 actor="Mia Chen")  # who, as the tool named them (Record.actor)
    _at(monkeypatch, "2026-04-01")
    store.mutate(run_id, "sheet", "key_result", "k3", kr | {"title": "Late KR", "current": 5, "owner": "cy@example.com"})
    store.close()
    monkeypatch.setattr(okrsync.store, "NOW", clock)
    return tmp_path


def _krs(board):
    return {kr["id"]: kr for rows in board["sections"].values() for o in rows for kr in o["key_results"]}


def test_progress_as_of_is_rebuilt_from_the_change_log_and_check_ins(quarter):
    """Issue 23: with --as-of the board showed today's values and negative ages (-267 d)."""
    board = json.loads(run("report", "progress", "--format", "json", "--as-of", "2026-02-15").stdout)
    krs = _krs(board)
    assert sorted(krs) == ["k1", "k2"]  # k3 was recorded on 1 April
    k1, k2 = krs["k1"], krs["k2"]
    assert (k1["value"], k1["score"], k1["band"]) == ("60 / 100", 0.6, "yellow")
    assert [p for _, p in k1["trend"]] == [0.0, 0.1, 0.3, 0.6]  # start on 1 Jan, recorded 5 Jan, two check-ins
    assert [c for _, c in k1["confidence_trend"]] == [0.4, 0.5, 0.7] and k1["confidence"] == 0.7
    assert (k1["last_check_in"], k1["days_since"], k1["check_ins"], k1["stale"]) == ("2026-02-10T10:00:00Z", 5, 2, False)
    assert (k2["checked_in"], k2["last_check_in"], k2["days_since"], k2["age_from"], k2["stale"]) == \
        (False, None, 45, "period start", True)
    assert board["notes"] == ["1 key results okrsync recorded after 2026-02-15 are not on this board (it shows what was known then)"]
    cadence = {c["owner"]: c for c in board["cadence"]}
    assert (cadence["ana@example.com"]["check_ins"], cadence["ana@example.com"]["stale"]) == (2, 0)
    assert (cadence["ben@example.com"]["check_ins"], cadence["ben@example.com"]["never_checked_in"],
            cadence["ben@example.com"]["stale"]) == (0, 1, 1)
    assert len(board["stale"]) == sum(c["stale"] for c in board["cadence"]) == 1
    early = json.loads(run("report", "progress", "--format", "json", "--as-of", "2026-01-02").stdout)
    assert early["sections"] == {} and len(early["notes"]) == 2  # nothing recorded yet: no negative ages
    now = _krs(json.loads(run("report", "progress", "--format", "json").stdout))
    assert (now["k1"]["value"], now["k1"]["check_ins"]) == ("90 / 100", 3)  # the sync reading 90 back is no 4th check-in
    assert all(kr["days_since"] >= 0 for kr in now.values())


def test_progress_weekly_view_shows_what_changed_since_the_last_review(quarter):
    board = json.loads(run("report", "progress", "--format", "json", "--as-of", "2026-02-15").stdout)
    week = {w["owner"]: w for w in board["week"]}
    assert board["since"] == "2026-02-08T23:59:59Z"
    [change] = week["ana@example.com"]["changed"]
    assert (change["before"], change["after"], change["score_before"], change["score_after"]) == ("30 / 100", "60 / 100", 0.3, 0.6)
    assert (change["confidence_before"], change["confidence_after"], change["check_ins"], change["who"]) == \
        (0.5, 0.7, 1, ["ana@example.com"])
    assert week["ben@example.com"] == {"owner": "ben@example.com", "changed": [],
                                       "quiet": [{"id": "k2", "title": "Run 100 demos", "known_as": []}]}
    april = json.loads(run("report", "progress", "--format", "json", "--as-of", "2026-04-02", "--since", "2026-03-19").stdout)
    week = {w["owner"]: w for w in april["week"]}
    assert [(c["title"], c["before"], c["check_ins"]) for c in week["cy@example.com"]["changed"]] == [("Late KR", None, 0)]
    assert [c["before"] for c in week["ana@example.com"]["changed"]] == ["60 / 100"]


def test_progress_never_checked_in_is_stale_and_agrees_with_the_cadence_table(example):
    """Issue 23: every KR read '(0 d, never checked in)' and 'Stale (0)' sat above a cadence
    table where owners had 0 check-ins: the import time was taken for a check-in."""
    import datetime as dt

    board = json.loads(run("-c", "config.example.yaml", "report", "progress", "--format", "json").stdout)
    krs = _krs(board)
    days = (dt.datetime.now(dt.UTC).date() - dt.date(2026, 1, 1)).days  # the example's period is 2026-Q1
    assert len(krs) == 39 and {(kr["checked_in"], kr["last_check_in"], kr["days_since"], kr["age_from"], kr["stale"])
                               for kr in krs.values()} == {(False, None, days, "period start", True)}
    assert sum(c["never_checked_in"] for c in board["cadence"]) == sum(c["stale"] for c in board["cadence"]) == 39
    assert all(c["check_ins"] == 0 for c in board["cadence"])
    run("-c", "config.example.yaml", "report", "progress", "--out", "board.html")
    page = (example / "board.html").read_text()
    assert "Stale key results (39)" in page and page.count(f"never checked in ({days} d since period start)") == 2 * 39
    assert ", never checked in)" not in page  # the old "(0 d, never checked in)"


def test_progress_on_real_data_without_periods_or_check_ins(tmp_path):
    """A real sheet with no period and no check-in: ages count from when okrsync first recorded
    the KRs, so nothing is stale on the day of import, and the cadence table says the same."""
    (tmp_path / "okrsync.yaml").write_text(
        f"endpoints:\n  ops:\n    type: csv\n    path: {REAL / 'flat_kr_rows_percent_words_product_ops_sandbox.csv'}\n")
    run("pull")
    board = json.loads(run("report", "progress", "--format", "json").stdout)
    krs = _krs(board)
    assert len(krs) == 4 and {(k["checked_in"], k["days_since"], k["age_from"], k["stale"]) for k in krs.values()} == {
        (False, 0, "first recorded", False)}
    assert [(c["owner"], c["never_checked_in"], c["stale"]) for c in board["cadence"]] == [("(no owner)", 4, 0)]
    assert {k["title"]: k["value"] for k in krs.values()}["Increase membership activation rate"] == "60% / 75%"


def test_quarter_review_pack(quarter):
    """Issue 23: `okrsync report review --period P` for the review workshop."""
    pack = json.loads(run("report", "review", "--period", "2026-Q1", "--format", "json").stdout)
    krs = _krs(pack["board"])
    assert (krs["k1"]["score"], krs["k2"]["score"], krs["k3"]["score"]) == (0.9, 0.0, 0.1)  # final: latest values
    assert [p for _, p in krs["k1"]["trend"]] == [0.0, 0.1, 0.3, 0.6, 0.9]
    assert [c for _, c in krs["k1"]["confidence_trend"]] == [0.4, 0.5, 0.7, 0.9]
    assert [(x["objective"]["title"], [k["title"] for k in x["green"]], [k["id"] for k in x["red"]]) for x in pack["disagree"]] == [
        ("Win the mid-market", ["Sign 100 accounts"], ["k2", "k3"])]
    assert sorted(kr["id"] for kr in pack["unchecked"]) == ["k2", "k3"]  # k1's last check-in: 11 days before the end
    assert [(c["id"], c["reason"].split(",")[0]) for c in pack["carry"]] == [("k1", "committed"), ("k2", "committed"),
                                                                           ("k3", "committed")]
    changes = [(c["at"][:10], c["record"], c["change"], c["field"], c["new"], c["who"], c["origin"]) for c in pack["changes"]]
    assert {(c["id"], tuple(c["known_as"])) for c in pack["changes"] if c["record"] == "Sign 100 accounts"} == {("k1", ("sheet KR-7",))}
    assert pack["changes_total"] == len(changes) == 8
    # who: "–" where the tool did not say (a CSV), the name a tool gave, a check-in's author;
    # from: the tool, for a check-in the one okrsync first read it from
    assert changes[:3] == [("2026-01-05", "Win the mid-market", "create", "record", "Win the mid-market", "–", "sheet"),
                           ("2026-01-05", "Sign 100 accounts", "create", "record", "Sign 100 accounts", "–", "sheet"),
                           ("2026-01-05", "Run 100 demos", "create", "record", "Run 100 demos", "–", "sheet")]
    assert ("2026-02-10", "Sign 100 accounts", "check-in", "value", "value 60, confidence 0.7", "ana@example.com",
            "perdoo") in changes
    assert changes[-2:] == [("2026-03-21", "Sign 100 accounts", "update", "confidence", "0.9", "Mia Chen", "perdoo"),
                            ("2026-03-21", "Sign 100 accounts", "update", "current", "90", "Mia Chen", "perdoo")]
    assert pack["notes"] == ["1 changes okrsync recorded after 2026-Q1 ended are in these scores (the latest values count "
                             "as final); 'what changed' lists the period itself"]
    run("report", "review", "--period", "2026-Q1", "--out", "review.md")
    text = (quarter / "review.md").read_text()
    assert "| Sign 100 accounts (KR-7 on sheet) | ana@example.com | 90 / 100 | 0.9 | green | 3 | 2026-03-20 |" in text
    # every place naming k1 (scores, disagreeing objectives, carry-over, and its create, three
    # check-ins and two updates) shows the sheet's id; the one more is the create's new value
    assert text.count("Sign 100 accounts (KR-7 on sheet)") == 9 and text.count("Sign 100 accounts") == 10
    assert "- Win the mid-market: green Sign 100 accounts (KR-7 on sheet); red Run 100 demos; Late KR" in text
    assert "| confidence | 0.4 → 0.9 | Mia Chen | perdoo |" in text and "| Run 100 demos | – | sheet |" in text
    run("report", "review", "--period", "2026-Q1", "--out", "review.html")
    html = (quarter / "review.html").read_text()
    assert "<th>who</th><th>from</th>" in html and '<td class="owner">Mia Chen</td><td class="owner">perdoo</td>' in html
    result = run("report", "review", "--period", "sometime", code=2)
    assert "--period sometime: not a period okrsync knows" in result.output


def _workbook(path, rows, saved_by):
    """``rows`` saved as an XLSX workbook by ``saved_by`` (docProps/core.xml lastModifiedBy, as
    Excel sets it on save); numbers as numbers."""
    import openpyxl

    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append([float(v) if v.replace(".", "", 1).isdigit() else v for v in row])
    wb.properties.lastModifiedBy = saved_by
    wb.save(path)


def test_review_pack_names_who_saved_the_workbook_each_change_came_from(tmp_path, monkeypatch):
    """Issue 23: 'what changed … with who and from which tool'. An XLSX names its last saver;
    a change read from it is put down to them. A workbook that names nobody (a real one with
    only a creator, or one okrsync wrote) leaves who unknown: "–", never its creator."""
    import csv

    from okrsync import tabular

    rows = list(csv.reader((ROOT / "examples" / "okrs.csv").open(encoding="utf-8")))
    (tmp_path / "okrsync.yaml").write_text("store: okrsync.db\nendpoints: {book: {type: xlsx, path: okrs.xlsx, layout: flat}}\n")
    monkeypatch.chdir(tmp_path)
    _workbook(tmp_path / "okrs.xlsx", rows, "Ola Nordmann")
    _at(monkeypatch, "2026-01-05")
    run("pull")
    current = rows[0].index("Current")
    rows[1][current] = "9300000"  # KR-1, edited and saved by someone else
    _workbook(tmp_path / "okrs.xlsx", rows, "Kari Hansen")
    _at(monkeypatch, "2026-02-10")
    run("pull")
    pack = json.loads(run("report", "review", "--period", "2026-Q1", "--format", "json").stdout)
    creates = [c for c in pack["changes"] if c["change"] == "create"]
    assert len(creates) == len(rows) - 1 + len({r[0] for r in rows[1:]})  # each KR and each objective
    assert {(c["who"], c["origin"]) for c in creates} == {("Ola Nordmann", "book")}
    assert [(c["record"], c["field"], c["old"], c["new"], c["who"], c["origin"]) for c in pack["changes"]
            if c["change"] == "update"] == [(rows[1][10], "current", "9050000", "9300000", "Kari Hansen", "book")]
    run("report", "review", "--period", "2026-Q1", "--format", "md", "--out", "review.md")
    assert "| 9050000 → 9300000 | Kari Hansen | book |" in (tmp_path / "review.md").read_text()
    log = run("--json", "log").stdout
    assert {(r["field"], r["actor"]) for r in json.loads(log) if r["kind"] == "update"} == {("current", "Kari Hansen")}
    # the real Gtmhub workbook names its creator only: who stays unknown
    assert tabular.last_modified_by(REAL / "gtmhub_import_workbook" / "Users_OKRs_Data.xlsx") is None
    tabular.write_xlsx(tmp_path / "ours.xlsx", {"OKRs": (["Objective"], [["A"]])})
    assert tabular.last_modified_by(tmp_path / "ours.xlsx") is None


# ------------------------------------------------------------------ the board workbook


def test_board_workbook_is_styled_and_reads_back_unchanged(example):
    """Issue 23: out/board.xlsx, "the board leadership reads", was an unformatted 29-column dump."""
    import openpyxl

    from okrsync.store import Store

    run("-c", "config.example.yaml", "sync")
    ws = openpyxl.load_workbook(example / "out" / "board.xlsx").active
    header = [c.value for c in ws[1]]
    col = {name: i + 1 for i, name in enumerate(header)}
    assert ws.freeze_panes == "C2"  # header and the objective id and title stay in view
    assert ws["A1"].font.b and ws["A1"].font.color.rgb == "00FFFFFF" and ws["A1"].fill.fgColor.rgb == "001F3A5F"
    assert ws.column_dimensions["B"].width == 48 and ws.column_dimensions["A"].width >= 12
    rows = {ws.cell(r, col["Key result ID"]).value: r for r in range(2, ws.max_row + 1)}
    arr, nrr, uptime = rows["KR-1"], rows["KR-2"], rows["KR-4"]
    assert [ws.cell(arr, col[c]).number_format for c in ("Start", "Current", "Target")] == ['#,##0 "EUR"'] * 3
    assert ws.cell(nrr, col["Current"]).number_format == '0"%"' and ws.cell(nrr, col["Current"]).value == 106
    assert ws.cell(uptime, col["Current"]).number_format == '0.0#"%"'
    assert ws.cell(arr, col["Confidence"]).number_format == "0%" and ws.cell(arr, col["Due"]).number_format == "yyyy-mm-dd"
    bands = {kr: ws.cell(r, col["Current"]).fill.fgColor.rgb for kr, r in (("arr", arr), ("nrr", nrr), ("uptime", uptime))}
    assert bands == {"arr": "00FFEB9C", "nrr": "00FFC7CE", "uptime": "00C6EFCE"}  # 0.4 yellow, 0.3 red, 1.0 green
    objective_row = rows[None]  # the first objective's own row
    assert ws.cell(objective_row, col["Objective"]).font.b and ws.cell(objective_row, col["Objective"]).fill.fgColor.rgb == "00EEF2F7"
    # okrsync reads its own board back as it wrote it: a fresh store from the board alone holds the same OKRs
    (example / "board-only.yaml").write_text("store: board.db\nendpoints:\n  board: {type: xlsx, path: out/board.xlsx, "
                                             "layout: hierarchical}\n")
    run("-c", "board-only.yaml", "pull")
    read, want = _by_title(Store(example / "board.db")), _by_title(Store(example / "okrsync.db"))
    assert len(read) == len(want) == 52 and read == want


@pytest.mark.parametrize("per, layout", [("period", "hierarchical"), ("team", "flat")])
def test_board_workbook_has_a_sheet_per_period_or_team_and_reads_back_unchanged(example, per, layout):
    """Issue 23 item 4: one sheet per period or team, as the endpoint (or its mapping) says
    with ``sheet_per``; styled like the single sheet, and read back with no change."""
    import openpyxl

    from okrsync.store import Store

    sheet = example / "examples" / "okrs.csv"
    rows = _set_periods(sheet, {"Sales": "2026-Q2", "Security": ""})  # the example is all 2026-Q1
    config = example / "config.example.yaml"
    config.write_text(config.read_text().replace("    layout: hierarchical\n", f"    layout: {layout}\n    sheet_per: {per}\n", 1))
    run("-c", "config.example.yaml", "sync")

    column = {"period": "Period", "team": "Team"}[per]
    expected: dict[str, int] = {}  # sheet → rows: the header, its KRs, each objective's own row (hierarchical)
    for n, row in enumerate(rows):
        first = row["Objective ID"] not in {r["Objective ID"] for r in rows[:n]}
        name = row[column] or f"No {per}"
        expected[name] = expected.get(name, 1) + 1 + (first and layout == "hierarchical")
    path = example / "out" / "board.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == {"period": ["2026-Q1", "2026-Q2", "No period"],
                             "team": ["Company", "Customer Success", "Marketing", "People", "Platform", "Sales", "Security"]}[per]
    assert {ws.title: ws.max_row for ws in wb.worksheets} == expected
    assert sum(expected.values()) == {"hierarchical": 52, "flat": 39}[layout] + len(expected)
    for ws in wb.worksheets:  # each sheet dressed as the single board is
        assert ws.freeze_panes == "C2"  # the header, and the objective's id and title
        assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "001F3A5F"
        assert ws.column_dimensions["B"].width >= 12
    header = [c.value for c in wb.worksheets[0][1]]
    assert all([c.value for c in ws[1]] == header for ws in wb.worksheets)  # all alike
    first = wb["2026-Q1" if per == "period" else "Company"]
    arr = next(r for r in range(2, first.max_row + 1) if first.cell(r, header.index("Key result ID") + 1).value == "KR-1")
    assert first.cell(arr, header.index("Current") + 1).number_format == '#,##0 "EUR"'
    assert first.cell(arr, header.index("Current") + 1).fill.fgColor.rgb == "00FFEB9C"  # 0.4: yellow
    for ws in wb.worksheets:  # each row naming a period or team (hierarchical KR rows leave it blank) on its sheet
        assert {ws.cell(r, header.index(column) + 1).value for r in range(2, ws.max_row + 1)} - {None} == \
            ({ws.title} if ws.title != "No period" else set())

    wb.save(path)  # saved again (as Excel would): the next sync reads every sheet
    saved = path.read_bytes()
    out = json.loads(run("-c", "config.example.yaml", "--json", "sync").stdout)
    pulled = next(e for e in out["endpoints"] if (e["endpoint"], e["direction"]) == ("board", "pull"))
    pushed = next(e for e in out["endpoints"] if (e["endpoint"], e["direction"]) == ("board", "push"))
    assert pulled["counters"]["read"] == 52 and pulled["changes"] == [] and pulled["rejected"] == []  # 13 objectives, 39 KRs
    assert pushed["changes"] == [] and out["totals"]["created"] == out["totals"]["updated"] == 0
    assert path.read_bytes() == saved  # nothing rewritten
    (example / "board-only.yaml").write_text("store: board.db\nendpoints:\n  board: {type: xlsx, path: out/board.xlsx, "
                                             f"layout: {layout}, sheet_per: {per}}}\n")
    run("-c", "board-only.yaml", "pull")
    assert _by_title(Store(example / "board.db")) == _by_title(Store(example / "okrsync.db"))

    if per == "period":  # Security's objectives get a period: the sheet they leave empty goes
        _set_periods(sheet, {"Security": "2026-Q2"})
        run("-c", "config.example.yaml", "sync")
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["2026-Q1", "2026-Q2"] and wb["2026-Q2"].max_row == expected["2026-Q2"] + expected["No period"] - 1
    config.write_text(config.read_text().replace(f"sheet_per: {per}", "sheet_per: quarter"))
    assert "sheet_per: 'quarter'; give period or team" in run("-c", "config.example.yaml", "sync", code=2).output


def test_board_sheet_per_comes_from_the_mapping_too(example):
    """``sheet_per`` is also a mapping option: a board mapping can choose it for every workbook it maps."""
    import openpyxl

    (example / "board-mapping.yaml").write_text("extends: spreadsheet\noptions: {sheet_per: team}\n")
    config = example / "config.example.yaml"
    config.write_text(config.read_text().replace("    layout: hierarchical\n",
                                                 "    layout: hierarchical\n    mapping: board-mapping.yaml\n", 1))
    run("-c", "config.example.yaml", "sync")
    assert openpyxl.load_workbook(example / "out" / "board.xlsx").sheetnames == [
        "Company", "Customer Success", "Marketing", "People", "Platform", "Sales", "Security"]


def _set_periods(sheet: Path, periods: dict[str, str]) -> list[dict]:
    """The CSV's objectives of each team in ``periods`` moved to that period; the rows written."""
    import csv

    with sheet.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["Period"] = periods.get(row["Team"], row["Period"])
    with sheet.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _by_title(store) -> dict:
    """A store's OKRs keyed by title, references as titles (canonical ids differ per store)."""
    entities = list(store.entities())
    title = {i: f.get("title") for i, _, f in entities}
    return {f["title"]: {k: title.get(v, v) if k in ("objective_id", "parent_id") else v for k, v in f.items()
                         if not k.startswith("extra.")} for _, _, f in entities}


# ------------------------------------------------------------------ lint


def test_lint_rules_severity_and_exit_code(example):
    out = json.loads(run("-c", "config.example.yaml", "--json", "lint", "--as-of", "2026-02-01").stdout)
    assert out["errors"] == 0
    csv = example / "examples" / "okrs.csv"
    csv.write_text(csv.read_text().replace(",8400000,9050000,10200000,", ",8400000,9050000,,"))  # ARR: no target
    run("-c", "config.example.yaml", "pull", "planning-sheet")
    result = run("-c", "config.example.yaml", "lint", "--as-of", "2026-02-01", code=7)
    # named by its title and the sheet's id, not the canonical one (issue 24)
    assert "kr-no-target: 'Grow ARR from €8.4M to €10.2M' (KR-1 on planning-sheet): " in result.output
    assert "kr_" not in result.output
    late = json.loads(run("-c", "config.example.yaml", "--json", "lint", "--severity", "kr-no-target=warning",
                          "--as-of", "2026-04-01").output)
    rules = {f["rule"] for f in late["findings"]}
    assert late["errors"] == 0 and {"kr-no-target", "committed-below-target"} <= rules
    run("-c", "config.example.yaml", "lint", "--severity", "no-such-rule=off", code=2)
    run("-c", "config.example.yaml", "lint", "--severity", "missing-owner", code=2)


def test_lint_finds_cycles_duplicates_missing_owners_and_empty_objectives(store):
    from okrsync.lint import lint

    run_id = store.begin_run("test")
    for oid, parent, title in (("a", "b", "Same"), ("b", "a", "same"), ("c", None, "Lonely")):
        store.mutate(run_id, "t", "objective", oid, {"title": title, "parent_id": parent, "period": "2026-Q1",
                                                     "owner": None if oid == "c" else "x@example.com"})
    store.mutate(run_id, "t", "key_result", "k1", {"title": "K", "objective_id": "a", "direction": "range",
                                                   "unit": "number", "owner": "x@example.com"})
    store.mutate(run_id, "t", "key_result", "k2", {"title": "K2", "objective_id": "b", "direction": "binary",
                                                   "unit": "boolean", "owner": "x@example.com"})
    found = {(f.rule, f.entity) for f in lint(store)}
    assert found == {("kr-no-target", "k1"), ("objective-no-krs", "c"), ("missing-owner", "c"),
                     ("duplicate-title", "b"), ("alignment-cycle", "a")}


def test_report_and_lint_help_have_examples():
    for command in ("report", "report fit", "report progress", "report review", "lint"):
        assert "Example" in run(*command.split(), "--help").output, command


# ------------------------------------------------------------------ a real browser


def test_the_browser_is_chosen_by_an_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv(browser.ENV, "none")  # hides it: the browser tests skip, saying how to enable them
    assert browser.chromium() is None and "apt-get install chromium" in browser.MISSING and browser.ENV in browser.MISSING
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv(browser.ENV, str(fake))
    assert browser.chromium() == str(fake)
    fake.chmod(0o644)  # not executable: not a browser
    assert browser.chromium() is None


NO_CHROMIUM = pytest.mark.skipif(browser.chromium() is None, reason=browser.MISSING)


@NO_CHROMIUM
def test_reports_in_a_real_browser(example, tmp_path):
    """Every HTML report opens headless at 1280 px with no console errors, its charts laid
    out and visible, no text overflowing its box on screen or in print (issue 23: the heat
    map's rotated headers were clipped), a PDF rendering, and a screenshot that is not blank."""
    binary = browser.chromium()
    (example / "client.yaml").write_text("name: Acme GmbH\ndate: 2026-03-31\nsize: 1200\nit_landscape: [jira, teams]\n")
    run("-c", "config.example.yaml", "report", "fit", "--client", "client.yaml", "--out", "fit.html")
    run("-c", "config.example.yaml", "report", "progress", "--out", "board.html")
    run("-c", "config.example.yaml", "report", "review", "--period", "2026-Q1", "--out", "review.html")
    for page, charts in (("fit.html", {"ranking", "heatmap", "dataloss"}), ("board.html", {"bands", "objective-progress", "trend"}),
                         ("review.html", {"bands", "trend"})):
        seen = browser.inspect(example / page, binary)
        assert seen["errors"] == [], seen["errors"]
        assert charts <= {c["chart"] for c in seen["charts"]}
        for c in seen["charts"]:
            assert c["visible"] and c["width"] > 50 and c["height"] > 5 and c["shapes"] > 0, c
        assert seen["overflow"] == [], (page, seen["overflow"][:5])
        assert seen["print_overflow"] == [], (page, seen["print_overflow"][:5])
        assert seen["pdf_bytes"] > 10_000 and seen["pdf"].startswith(b"%PDF-")
        width, height, rows = browser.png_pixels(seen["png"])
        assert (width, height) == (1280, 900)
        bpp = len(rows[0]) // width
        colours = {row[i:i + 3] for row in rows[::8] for i in range(0, len(row), bpp * 8)}
        assert len(colours) > 20, f"{page}: the screenshot looks blank ({len(colours)} colours)"
        blue_or_band = sum(1 for row in rows[::4] for i in range(0, len(row), bpp * 4)
                           if row[i:i + 3] in (b"\x1a\x73\xe8", b"\x2e\x9d\x57", b"\xe0\xb0\x00", b"\xd2\x45\x3a"))
        assert blue_or_band > 100, f"{page}: no chart colour on screen"
    fit_page = (example / "fit.html").read_text()
    assert "<h1>OKR tool fit for Acme GmbH</h1>" in fit_page and "2026-03-31" in fit_page and "for the client" not in fit_page


@NO_CHROMIUM
def test_reports_as_pdf(example):
    run("-c", "config.example.yaml", "report", "fit", "--profile", "startup", "--out", "fit.pdf")
    run("-c", "config.example.yaml", "report", "progress", "--format", "pdf", "--out", "out/board.pdf")
    for name in ("fit.pdf", "out/board.pdf"):
        data = (example / name).read_bytes()
        assert data.startswith(b"%PDF-") and len(data) > 10_000 and data.count(b"/Type /Page") >= 2, name
    result = run("-c", "config.example.yaml", "report", "progress", "--format", "pdf", code=2)
    assert "--format pdf writes a file: give --out FILE.pdf" in result.output


def test_pdf_without_chromium_says_how_to_get_it(example, monkeypatch):
    monkeypatch.setenv("PATH", str(example))  # no chromium on it
    monkeypatch.delenv("OKRSYNC_CHROMIUM", raising=False)
    result = run("-c", "config.example.yaml", "report", "fit", "--out", "fit.pdf", code=2)
    assert "PDF output needs Chromium: install it (Debian: apt-get install chromium)" in result.output
    assert not (example / "fit.pdf").exists()
