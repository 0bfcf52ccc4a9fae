"""Key results measured by levels (ordinal KRs, okrsync/levels.py; issue 15 item 5): the model,
the store, a linked CSV import whose check-ins name the level reached, show, the progress
board and review pack, okr-json, and a migration to Jira, which cannot hold levels."""

import json

import pytest
from click.testing import CliRunner

from okrsync import levels, okrjson, plugins
from okrsync.cli import cli
from okrsync.config import Config
from okrsync.connector import Context, Record
from okrsync.connectors.structured import YamlConnector
from okrsync.model import KeyResult, from_fields, problems, progress, score, to_fields
from okrsync.store import Store
from okrsync.sync import Hub

from .emulators.jira import JiraEmulator
from .helpers.jira_e2e import ISSUE_TYPES, owners, sheet_and_jira
from .helpers.linked_project import CONFIG, krs, make_project  # the same linked CSV project, with levels

CTS = [{"name": "commit", "description": "2 pilots signed"}, {"name": "target", "description": "5 pilots signed"},
       {"name": "stretch", "description": "10 pilots, one paying"}]


def kr(**kw) -> KeyResult:
    return KeyResult(**{"id": "KR-1", "objective_id": "O-1", "title": "Land design partners", "direction": "levels",
                        "levels": CTS} | kw)


# ---------------------------------------------------------------- the model


def test_the_level_reached_gives_the_score_i_of_n_graded_0_3_0_7_1_0():
    assert [score(kr(level=name)) for name in ("none", "commit", "target", "stretch")] == [0.0, 0.3, 0.7, 1.0]
    assert progress(kr(level="target")) == pytest.approx(2 / 3)
    assert score(kr(level="Target")) == 0.7  # names match as people write them
    assert score(kr()) is None  # no level reached known: unknown, not 0
    # numbers on a levels KR are not read
    assert score(kr(level="commit", start=0, current=100, target=100)) == 0.3


def test_a_level_s_own_score_wins_over_i_of_n():
    scored = [{"name": "basic"}, {"name": "good", "score": 0.6}, {"name": "great"}]
    assert [score(kr(levels=scored, level=n)) for n in ("basic", "good", "great")] == [0.3, 0.6, 1.0]


def test_validation_locates_every_broken_rule_of_a_levels_kr():
    def found(**kw):
        return [(p.field, p.severity, p.message) for p in problems(kr(**kw))]

    assert found(level="stretch") == []
    assert found(levels=None) == [("levels", "error", "a KR measured by levels needs at least two named levels, lowest "
                                   "first (e.g. 'commit: …; target: …; stretch: …')")]
    assert found(levels=[{"name": "commit"}]) [0][:2] == ("levels", "error")
    assert found(levels=[{"name": "commit"}, {"name": "Commit"}]) == [
        ("levels", "error", "level 2: the name 'Commit' is used twice")]
    assert found(levels=[{"name": "none"}, {"name": "done"}]) == [
        ("levels", "error", "level 1: 'none' is reserved for 'no level reached'; rename the level")]
    assert found(levels=[{"name": "a", "score": 0.9}, {"name": "b", "score": 0.5}]) == [
        ("levels", "error", "level scores 0.9, 0.5 fall somewhere; levels go lowest first, each scoring at least "
         "the one before")]
    assert found(levels=[{"name": "a", "score": 2}, {"name": "b"}]) == [
        ("levels", "error", "level 1 (a): score 2 is not a number from 0 to 1")]
    # kept, and said: an unknown level reached, numbers on a levels KR, levels on a numeric KR
    assert found(level="moonshot") == [("level", "warning", "level reached 'moonshot' is not one of its levels "
                                        "(commit, target, stretch) nor 'none'; its score is unknown until it is")]
    assert found(level="commit", target=5.0)[0][:2] == ("target", "warning")
    assert [(p.field, p.severity) for p in problems(kr(direction="increase", start=0, target=1))] == [
        ("levels", "warning")]


def test_levels_round_trip_through_the_store_unchanged():
    store = Store(None)
    run = store.begin_run("test")
    store.mutate(run, "test", "key_result", "KR-1", to_fields(kr(level="target")))
    kind, fields = store.get("KR-1")
    assert fields["levels"] == CTS and fields["level"] == "target" and fields["direction"] == "levels"
    assert from_fields(kind, "KR-1", fields) == kr(level="target")


def test_the_cell_form_reads_back_what_it_writes():
    cell = "commit: 2 pilots signed; target (0.7): 5 pilots signed\nstretch: 10 pilots, one paying"
    parsed = levels.parse(cell)
    assert parsed == [CTS[0], {**CTS[1], "score": 0.7}, CTS[2]]
    assert levels.parse(levels.text(parsed)) == parsed
    assert levels.parse("a | b (70%)") == [{"name": "a"}, {"name": "b", "score": 0.7}]
    with pytest.raises(ValueError, match="at least two levels"):
        levels.parse("just one")


def test_a_tool_without_levels_gets_a_numeric_kr_0_to_n():
    fields = to_fields(kr(level="target", description="Pilots in the DACH region"))
    numeric = levels.as_numeric(fields)
    assert (numeric["direction"], numeric["start"], numeric["current"], numeric["target"]) == ("increase", 0.0, 2.0, 3.0)
    assert numeric["description"] == ("Pilots in the DACH region\n\nLevels (0 = none): 1 = commit: 2 pilots signed; "
                                      "2 = target: 5 pilots signed; 3 = stretch: 10 pilots, one paying")
    assert "levels" not in numeric and "level" not in numeric
    # the numbers score as the levels did
    assert score(from_fields("key_result", "KR-1", numeric)) == 0.7


# ---------------------------------------------------------------- a linked CSV import

OBJECTIVES = "Objective ID,Objective,Period\nO-1,Win the pilot market,2026-Q1\n"
# KR-1 says its type; KR-2 is one by its Levels cell alone (and gives one level a score)
KEY_RESULTS = ("Key result ID,Objective ID,Key result,KR type,Levels,Start,Target\n"
               'KR-1,O-1,Land design partners,Levels,"commit: 2 pilots signed; target: 5 pilots signed; '
               'stretch: 10 pilots, one paying",,\n'
               "KR-2,O-1,Pass the security review,,basic: checklist done | good (0.6): audit booked | great: audit passed,,\n"
               "KR-3,O-1,Reach 5M ARR,,,3000000,5000000\n")
# newest first for KR-1, level names as people type them
CHECK_INS = ("Key result ID,Date,Level reached,Value,Note\n"
             "KR-1,2026-02-28,Target,,five signed\nKR-1,2026-01-31,commit,,two signed\n"
             "KR-2,2026-01-15,none,,not yet\nKR-3,2026-01-15,,4000000,\n")


def run(*args, code=0):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def project(tmp_path, monkeypatch):
    return make_project(tmp_path, monkeypatch, {"okrsync.yaml": CONFIG, "objectives.csv": OBJECTIVES,
                                                "key-results.csv": KEY_RESULTS, "check-ins.csv": CHECK_INS})


def test_a_csv_import_with_level_check_ins_gives_the_level_reached_and_its_score(project):
    out = run("pull", "sheet")
    assert "3 key result(s) took current value (or level reached)" in out
    got = krs(project)
    partners, review = got["Land design partners"], got["Pass the security review"]
    assert (partners["direction"], partners["level"], partners.get("current")) == ("levels", "target", None)
    assert partners["levels"] == CTS
    assert (review["direction"], review["level"]) == ("levels", "none")
    assert review["levels"] == [{"name": "basic", "description": "checklist done"},
                                {"name": "good", "description": "audit booked", "score": 0.6},
                                {"name": "great", "description": "audit passed"}]
    assert (got["Reach 5M ARR"]["direction"], got["Reach 5M ARR"]["current"]) == ("increase", 4_000_000)
    # a newer check-in moves the level; the sheet lists it anywhere
    (project / "check-ins.csv").write_text(CHECK_INS + "KR-2,2026-03-01,GOOD,,audit booked\n")
    run("pull", "sheet")
    assert krs(project)["Pass the security review"]["level"] == "good"


def test_show_lists_the_levels_and_marks_the_one_reached(project):
    run("pull", "sheet")
    lines = run("show").splitlines()
    at = next(i for i, line in enumerate(lines) if "Land design partners" in line)
    assert "level target (2 of 3)  score 0.7  2 check-in(s)" in lines[at]
    branches = [line.split("── ", 1)[1] for line in lines[at + 1:] if "── " in line]  # the KR's line may wrap
    assert branches[:3] == [
        "  1 commit  2 pilots signed", "▶ 2 target  5 pilots signed", "  3 stretch  10 pilots, one paying"]
    assert "level none of 3 levels  score 0.0" in next(line for line in lines if "security review" in line)
    assert "4,000,000 / 5,000,000  score 0.5" in next(line for line in lines if "5M ARR" in line)
    assert "kr-no-target" not in run("lint")  # a levels KR is measured by its levels, not a target
    tree = json.loads(run("--json", "show"))
    shown = {k["title"]: k for k in tree["objectives"][0]["key_results"]}
    assert (shown["Land design partners"]["level"], shown["Land design partners"]["score"]) == ("target", 0.7)


def test_the_progress_board_and_review_pack_show_the_level_reached(project):
    run("pull", "sheet")
    board = json.loads(run("report", "progress", "--format", "json"))
    rows = {k["title"]: k for s in board["sections"].values() for o in s for k in o["key_results"]}
    partners = rows["Land design partners"]
    assert (partners["value"], partners["score"], partners["band"]) == ("level target (2 of 3)", 0.7, "green")
    assert partners["trend"] == [["2026-01-31T00:00:00Z", 0.333], ["2026-02-28T00:00:00Z", 0.667]]
    assert (rows["Pass the security review"]["value"], rows["Pass the security review"]["band"]) == (
        "level none of 3 levels", "red")
    assert rows["Reach 5M ARR"]["value"] == "4,000,000 / 5,000,000"
    assert [b for b, n in board["bands"].items() if n] == ["green", "yellow", "red"]  # none unknown
    html = run("report", "progress")
    assert "target (2 of 3)" in html and "none of 3 levels" in html
    md = run("report", "review", "--period", "2026-Q1", "--format", "md")
    assert "| Land design partners (KR-1 on sheet) |  | level target (2 of 3) | 0.7 | green | 2 | 2026-02-28 |" in md
    assert "| 2026-02-28 | Land design partners (KR-1 on sheet) | check-in | level | level Target | – |" in md


def test_a_levels_kr_round_trips_through_okr_json(project):
    run("pull", "sheet")
    run("export", "-o", "okrs.okr.json")
    doc = json.loads((project / "okrs.okr.json").read_text())
    exported = {k["title"]: k for k in doc["key_results"]}["Land design partners"]
    assert (exported["direction"], exported["level"], exported["levels"]) == ("levels", "target", CTS)
    assert sorted(c["level"] for c in doc["check_ins"] if c.get("level")) == ["Target", "commit", "none"]
    assert okrjson.check(doc) == []
    store = Store(None)
    hub = Hub(Config.of(project, {"file": {"type": "okr-json", "path": "okrs.okr.json"}}), store, CONNECTORS)
    hub.apply_pull(hub.plan_pull("file"), store.begin_run("test"))
    again = {f["title"]: f for _, _, f in store.entities("key_result")}["Land design partners"]
    assert (again["levels"], again["level"]) == (CTS, "target")
    # a broken level list is located by JSON Pointer
    exported["levels"] = [{"name": "commit"}, {"name": "commit"}]
    assert [p.located("f") for p in okrjson.check(doc)] == ["f: /key_results/0/levels: level 2: the name 'commit' is used twice"]


# ---------------------------------------------------------------- a tool without levels

CONNECTORS = {name: info.cls for name, info in plugins.connectors().items()}
TOKEN = "levels-SECRET"
SHEET = ("Objective ID,Objective,Objective status,Key result ID,Key result,Status,Direction,Levels,Level reached,"
         "Start,Current,Target\n"
         'O-1,Win the pilot market,On track,KR-1,Land design partners,On track,Levels,"commit: 2 pilots; '
         'target: 5 pilots; stretch: 10 pilots",target,,,\n'
         "O-1,Win the pilot market,On track,KR-2,Pass the security review,At risk,,basic: checklist | good: audit "
         "booked | great: passed,,,,\n"
         "O-1,Win the pilot market,On track,KR-3,Reach 5M ARR,On track,Increase,,,3000000,4000000,5000000\n")


@pytest.fixture
def jira_project(tmp_path, monkeypatch):
    with JiraEmulator(users=owners(), token=TOKEN, issue_types=ISSUE_TYPES, bulk_polls=0) as jira:
        (tmp_path / "okrs.csv").write_text(SHEET)
        monkeypatch.setenv("JIRA_TOKEN", TOKEN)
        monkeypatch.chdir(tmp_path)
        sheet_and_jira(tmp_path, jira.url, "    rate: 500\n    timeout: 2\n    poll_interval: 0\n")
        yield tmp_path, jira


def test_migrate_to_jira_plans_levels_krs_as_a_declared_loss_and_writes_them_as_numbers(jira_project):
    path, jira = jira_project
    assert not CONNECTORS["jira"].capabilities.levels
    assert CONNECTORS["csv"].capabilities.levels and CONNECTORS["okr-json"].capabilities.levels
    plan = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--dry-run"))["plan"]
    losses = {loss["what"]: loss for loss in plan["losses"]}
    held = losses["key results measured by levels (written as numeric KRs from 0 to the number of levels: "
                  "current = the level reached, the levels listed in the description)"]
    assert held["count"] == 2 and len(held["examples"]) == 2
    assert not [w for w in losses if w in ("key result levels", "key result level")]  # said once, as the KR kind
    assert any(n.startswith("2 key result(s) measured by levels are held on jira as numeric KRs") and
               "'Land design partners'" in n and "'Pass the security review'" in n for n in plan["notes"])
    text = run("migrate", "--from", "sheet", "--to", "jira", "--dry-run")
    assert "key results measured by levels" in text and "│ 2 " in text
    assert not jira.issues

    out = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--yes"))
    assert out["verification"]["ok"] and out["verification"]["differences"] == []
    issues = {i["fields"]["summary"]: i["fields"] for i in jira.issues.values()}
    partners = issues["Land design partners"]
    values = {spec["name"]: partners.get(fid) for fid, spec in jira.custom_fields.items() if fid in partners}
    assert (values["Start value"], values["Current value"], values["Target value"]) == (0, 2, 3)
    assert "Levels (0 = none): 1 = commit: 2 pilots; 2 = target: 5 pilots; 3 = stretch: 10 pilots" in json.dumps(partners)
    # every later sync says so again, naming the KRs
    again = run("sync")
    assert "2 key result(s) measured by levels are held on jira as numeric KRs" in again
    assert "updated 0" in again and "conflicts 0" in again  # the numbers read back are what was written: no edit
    store = Store(path / "okrsync.db")
    hub_krs = {f["title"]: f for _, _, f in store.entities("key_result")}
    store.close()
    assert (hub_krs["Land design partners"]["direction"], hub_krs["Land design partners"]["level"]) == ("levels", "target")
    assert hub_krs["Land design partners"].get("current") is None
    # the number edited there is the level reached; its description keeps no copy of the list
    jira.edit(next(i for i in jira.issues.values() if i["fields"]["summary"] == "Land design partners")["id"],
              {"Current value": 3.0})
    assert "conflicts 0" in run("sync")
    store = Store(path / "okrsync.db")
    back = {f["title"]: f for _, _, f in store.entities("key_result")}["Land design partners"]
    store.close()
    assert (back["level"], back.get("current"), back.get("description")) == ("stretch", None, None)
    assert "Land design partners,On track,Levels,commit: 2 pilots; target: 5 pilots; stretch: 10 pilots,stretch" in (
        path / "okrs.csv").read_text()  # and the sheet says so
    assert "updated 0" in run("sync")  # and it stays put


# ---------------------------------------------------------------- a YAML file

LEVELS_YAML = """\
goals:
  - id: G1
    name: Win the pilot market
    results:
      - id: R1
        name: Land design partners
        levels:
          - {name: commit, description: 2 pilots signed}
          - {name: target, description: 5 pilots signed}
          - {name: stretch, description: "10 pilots, one paying"}
        reached: Stretch
      - id: R2
        name: Pass the security review
        levels: "basic: checklist | good: audit booked | great: passed"
"""
LEVELS_MAPPING = """\
name: levels-yaml
records:
  objective:
    path: $.goals[*]
    id: id
    fields: {title: name}
    records:
      key_result:
        path: $.results[*]
        id: id
        fields: {title: name, levels: levels, level: reached}
"""


def test_a_yaml_file_gives_levels_as_a_list_or_as_words(tmp_path):
    (tmp_path / "okrs.yaml").write_text(LEVELS_YAML)
    (tmp_path / "levels.mapping.yaml").write_text(LEVELS_MAPPING)
    conn = YamlConnector("y", {"path": "okrs.yaml", "mapping": "levels.mapping.yaml"}, Context(base_dir=tmp_path))
    got = {r.external_id: r.fields for r in conn.read(None) if isinstance(r, Record) and r.kind == "key_result"}
    partners, review = got["R1"], got["R2"]
    assert (partners["direction"], partners["level"], partners["levels"]) == ("levels", "stretch", CTS)
    assert score(from_fields("key_result", "R1", partners)) == 1.0
    assert (review["direction"], [lv["name"] for lv in review["levels"]]) == ("levels", ["basic", "good", "great"])
    assert conn.capabilities.levels
