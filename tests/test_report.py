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

from . import browser

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


def test_catalogue_has_20_tools_every_cell_sourced():
    tools = catalogue.load()
    assert len(tools) >= 20
    for tool in tools.values():
        for name in catalogue.FIELDS:
            cell = tool.cell(name)
            assert cell.confidence in catalogue.CONFIDENCES
            assert cell.source and cell.source.startswith(("https://", "http://", "repo:")), (tool.key, name)
            assert (cell.value is None) == (cell.confidence == "unknown"), (tool.key, name)
            if cell.source.startswith("repo:"):
                assert (ROOT / cell.source[5:]).is_file()


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


def test_bad_catalogue_cell_is_located(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text("sources: {A: https://a.example}\ntools:\n  x:\n    name: X\n    checked: A\n    cells:\n"
                    "      weights: [maybe, A, confirmed]\n")
    with pytest.raises(ConfigError, match=r"cat.yaml: line 7: weights \(x\): expected true or false"):
        catalogue.load(path)


# ------------------------------------------------------------------ scoring


def _tool(key, **cells):
    return Tool(key, key.upper(), "https://example.com",
                {k: Cell(v, None if v is None else "https://example.com", "unknown" if v is None else "confirmed")
                 for k, v in cells.items()})


@pytest.mark.parametrize("cells, weights, proven, possible", [
    ({"sso": True, "scim": True}, {"sso": 1, "scim": 1}, 1.0, 1.0),
    ({"sso": True, "scim": False}, {"sso": 1, "scim": 1}, 0.5, 0.5),
    ({"sso": True}, {"sso": 1, "scim": 1}, 0.5, 1.0),  # scim unknown: neither yes nor no
    ({"api": "read"}, {"api": 2}, 0.5, 0.5),
    ({"check_ins": "latest", "sso": None}, {"check_ins": 1, "sso": 3}, 0.125, 0.875),
    ({}, {"sso": 0}, 0.0, 0.0),
])
def test_weighted_scores_keep_unknown_apart(cells, weights, proven, possible):
    [s] = scoring.score_tools({"t": _tool("t", **cells)}, weights)
    assert (s.proven, s.possible) == pytest.approx((proven, possible))


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
    [(kid, _, kr)] = [e for e in store.entities("key_result") if e[2]["direction"] == "range"][:1]
    store.mutate(run_id, "test", "key_result", kid, kr | {"title": evil})  # a range KR: listed as changed
    store.close()
    (example / "client.yaml").write_text("name: <b>Acme</b>\nsize: 40\n")
    run("-c", "config.example.yaml", "report", "fit", "--client", "client.yaml", "--out", "fit.html")
    page = (example / "fit.html").read_text()
    assert "<script" not in page and "&lt;b&gt;Acme&lt;/b&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in page
    assert page.count('data-chart="') == 3 and "@media print" in page
    assert not any(tag in page for tag in ("src=", "<link", "@import", "url(http"))  # self-contained
    assert "startup" in page  # size 40 → the start-up preset
    run("-c", "config.example.yaml", "report", "fit", "--out", "fit.md")
    text = (example / "fit.md").read_text()
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \\*bold\\*" in text
    data = json.loads(run("-c", "config.example.yaml", "report", "fit", "--format", "json").output)
    assert data["sensitivity"]["top"] == data["ranking"][0]["key"]
    assert render.md("a|b\nc") == "a\\|b c"
    run("-c", "config.example.yaml", "report", "progress", "--out", "board.html")
    board = (example / "board.html").read_text()
    assert "<script" not in board and board.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2


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
    assert "html or json, not md" in result.output and "Internal error" not in result.output
    assert not (example / "board.md").exists()
    result = run("-c", "config.example.yaml", "report", "progress", "--format", "md", code=2)
    assert "'md' is not one of 'html', 'json'" in result.output
    run("-c", "config.example.yaml", "report", "fit", "--out", "fit.md")  # fit has markdown
    assert (example / "fit.md").stat().st_size > 0


def test_progress_trend_and_cadence_come_from_the_change_log(example):
    csv = example / "examples" / "okrs.csv"
    csv.write_text(csv.read_text().replace(",8400000,9050000,10200000,", ",8400000,9500000,10200000,"))
    run("-c", "config.example.yaml", "pull", "planning-sheet")
    board = json.loads(run("-c", "config.example.yaml", "report", "progress", "--format", "json").output)
    krs = {kr["title"]: kr for rows in board["sections"].values() for o in rows for kr in o["key_results"]}
    arr = krs["Grow ARR from €8.4M to €10.2M"]
    assert [p for _, p in arr["trend"]] == [0.361, 0.611] and arr["checked_in"]
    maria = next(c for c in board["cadence"] if c["owner"] == "maria.keller@example.com")
    assert maria["check_ins"] == 1


# ------------------------------------------------------------------ lint


def test_lint_rules_severity_and_exit_code(example):
    out = json.loads(run("-c", "config.example.yaml", "--json", "lint", "--as-of", "2026-02-01").output)
    assert out["errors"] == 0
    csv = example / "examples" / "okrs.csv"
    csv.write_text(csv.read_text().replace(",8400000,9050000,10200000,", ",8400000,9050000,,"))  # ARR: no target
    run("-c", "config.example.yaml", "pull", "planning-sheet")
    result = run("-c", "config.example.yaml", "lint", "--as-of", "2026-02-01", code=7)
    assert "kr-no-target: Grow ARR from €8.4M to €10.2M" in result.output
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
    for command in ("report", "report fit", "report progress", "lint"):
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


@pytest.mark.skipif(browser.chromium() is None, reason=browser.MISSING)
def test_reports_in_a_real_browser(example, tmp_path):
    """Both reports open headless with no console errors, their charts laid out and visible,
    a PDF rendering, and a screenshot that is not blank."""
    binary = browser.chromium()
    run("-c", "config.example.yaml", "report", "fit", "--profile", "corporation", "--out", "fit.html")
    run("-c", "config.example.yaml", "report", "progress", "--out", "board.html")
    for page, charts in (("fit.html", {"ranking", "heatmap", "dataloss"}), ("board.html", {"bands", "objective-progress", "trend"})):
        seen = browser.inspect(example / page, binary)
        assert seen["errors"] == [], seen["errors"]
        assert charts <= {c["chart"] for c in seen["charts"]}
        for c in seen["charts"]:
            assert c["visible"] and c["width"] > 50 and c["height"] > 5 and c["shapes"] > 0, c
        assert seen["pdf_bytes"] > 10_000
        shot = example / f"{page}.png"
        shot.write_bytes(seen["png"])
        width, height, rows = browser.png_pixels(seen["png"])
        assert (width, height) == (1200, 900)
        bpp = len(rows[0]) // width
        colours = {row[i:i + 3] for row in rows[::8] for i in range(0, len(row), bpp * 8)}
        assert len(colours) > 20, f"{page}: the screenshot looks blank ({len(colours)} colours)"
        blue_or_band = sum(1 for row in rows[::4] for i in range(0, len(row), bpp * 4)
                           if row[i:i + 3] in (b"\x1a\x73\xe8", b"\x2e\x9d\x57", b"\xe0\xb0\x00", b"\xd2\x45\x3a"))
        assert blue_or_band > 100, f"{page}: no chart colour on screen"
