"""Tolerant values (issue 15 item 2): only what identifies or places a record rejects it."""

import json

import pytest

from tests.helpers.clirun import run
from tests.helpers.linked_project import krs as stored
from tests.helpers.linked_project import make_project
from tests.helpers.sheets import connector, read, rewrite

CONFIG = "store: state/okrsync.db\nendpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n"
SHEET = ("Objective,Key result,Start,Current,Target,Due,Confidence\n"
         "Grow,Reach ARR,0,5,10,a definir,0.6\n"       # a vague deadline
         "Grow,Bad start,abc,1,2,,lots\n"              # a start and a confidence that are not numbers
         "Grow,Flat one,5,5,5,2026-03-31,0.5\n"        # target equals start
         ",No objective,1,1,2,,\n")                    # what places the KR is missing: rejected


@pytest.fixture
def project(tmp_path, monkeypatch):
    return make_project(tmp_path, monkeypatch, {"okrsync.yaml": CONFIG, "okrs.csv": SHEET})


def test_cells_that_do_not_convert_are_kept_as_text_with_located_warnings_on_every_run(project):
    first = run("pull", "sheet", code=3)  # exit 3: the KR without an objective, nothing else
    text = " ".join(first.output.split())
    assert "rejected: sheet: okrs.csv row 5: key result has no objective" in text
    assert ("okrs.csv row 2: key_result grow/reach arr: extra: column 'Due': 'a definir' kept as text in extra "
            "(expected a date") in text
    assert "okrs.csv row 3: key_result grow/bad start: extra: column 'Start': 'abc' kept as text" in text
    assert "column 'Confidence': 'lots' kept as text in extra (expected a confidence number or one of" in text
    assert "rejected 1, requests 0, retried 0; 3 cell(s) kept as text" in text
    krs = stored(project)
    assert sorted(krs) == ["Bad start", "Flat one", "Reach ARR"]
    assert krs["Reach ARR"]["due"] is None and krs["Reach ARR"]["extra.sheet.Due"] == "a definir"
    assert (krs["Bad start"]["start"], krs["Bad start"]["extra.sheet.Start"], krs["Bad start"]["current"]) == (None, "abc", 1)
    # unchanged file, read skipped: still counted
    again = " ".join(run("pull", "sheet", code=3).output.split())
    assert "read 0," in again and "3 cell(s) kept as text" in again
    summary = json.loads(run("--json", "pull", "sheet", code=3).output)
    assert summary["totals"]["kept"] == 3 and summary["endpoints"][0]["counters"]["kept"] == 3
    # --strict: the kept cells reject their records again, without writing anything
    strict = " ".join(run("pull", "sheet", "--strict", code=1).output.split())
    assert "--strict stops the run" in strict and "column 'Start': expected a number" in strict
    # fixed: no longer counted
    (project / "okrs.csv").write_text(SHEET.replace(",abc,", ",0,").replace(",lots", ",0.2").replace("a definir", "2026-06-30"))
    fixed = " ".join(run("pull", "sheet", code=3).output.split())
    assert "kept as text" not in fixed
    assert stored(project)["Bad start"]["start"] == 0 and stored(project)["Reach ARR"]["due"] == "2026-06-30"


def test_strict_values_in_the_mapping_rejects_as_before(project):
    (project / "strict.yaml").write_text("extends: spreadsheet\nstrict_values: true\n")
    (project / "okrsync.yaml").write_text(CONFIG + "    mapping: strict.yaml\n")
    text = " ".join(run("pull", "sheet", code=3).output.split())
    assert "okrs.csv row 2, column 'Due': expected a date" in text
    assert "okrs.csv row 3, column" in text and "kept as text" not in text
    assert sorted(stored(project)) == ["Flat one"]


def test_a_kr_whose_target_equals_its_start_imports_scores_a_dash_and_lint_flags_it(project):
    run("pull", "sheet", code=3)
    assert stored(project)["Flat one"]["target"] == 5
    board = json.loads(run("report", "progress", "--format", "json").output)
    flat = next(kr for rows in board["sections"].values() for o in rows for kr in o["key_results"] if kr["title"] == "Flat one")
    assert (flat["score"], flat["band"]) == (None, "unknown")
    shown = [line for line in run("show").output.splitlines() if "Flat one" in line]
    assert shown and "–" in shown[0]
    lint = run("lint").output
    assert "warning kr-target-equals-start: 'Flat one'" in lint and "target equals start (5)" in lint


def test_a_write_puts_a_kept_cell_back_in_its_column(tmp_path):
    (tmp_path / "okrs.csv").write_text(SHEET)
    conn = connector(tmp_path, "okrs.csv")
    records, rejected, _ = read(conn)
    assert len(rejected) == 1
    rewrite(conn, records)
    lines = (tmp_path / "okrs.csv").read_text().splitlines()
    assert lines[1] == "Grow,Reach ARR,0,5,10,a definir,0.6" and lines[2] == "Grow,Bad start,abc,1,2,,lots"


def test_every_row_with_the_same_unreadable_cell_keeps_it(tmp_path):
    # parsed cells are remembered per column; a kept one must not be (each row keeps its own)
    rows = "Objective,Key result,Target,Confidence\n" + "".join(f"Grow,KR {n},10,fairly sure\n" for n in range(3))
    (tmp_path / "okrs.csv").write_text(rows)
    records, rejected, notes = read(connector(tmp_path, "okrs.csv"))
    krs = [r.fields for r in records if r.kind == "key_result"]
    assert not rejected and [f["extra.sheet.Confidence"] for f in krs] == ["fairly sure"] * 3
    assert len([n for n in notes if "'fairly sure' kept as text" in n]) == 3


OWNERS = ("Objective,Team,Key result,Owner,Target\n"
          "Grow,  Sales EMEA  ,Logos,  Head of Sales  ,10\n"          # a role, trimmed
          "Grow,  Sales EMEA  ,Pipeline,000,10\n"                     # a placeholder
          "Ship,Platform,Deploys,\"REPORT OKR-OWNERS 2026-01-05\nUSER: JDOE  STATUS: OK\",10\n"  # a printout
          "Ship,Platform,Uptime,-,10\n"                               # only punctuation
          "Care,n/a,Tickets,Support team,10\n")                        # a team as owner; a placeholder team


def test_owners_and_teams_as_given_and_values_that_are_no_names_kept_with_a_warning(tmp_path, monkeypatch):
    """Issue 15 item 6: role and team names kept as written and trimmed; a value that is clearly
    not a name is kept in extra with a located warning, counted in the summary."""
    project = make_project(tmp_path, monkeypatch, {"okrsync.yaml": CONFIG, "okrs.csv": OWNERS})
    text = " ".join(run("pull", "sheet").output.split())
    warnings = ["okrs.csv row 3: key_result grow/pipeline: extra: column 'Owner': '000' kept as text in extra "
                "(expected a name, got '000' (only digits and punctuation: a placeholder, not a name))",
                "okrs.csv row 4: key_result ship/deploys: extra: column 'Owner': 'REPORT OKR-OWNERS",
                "several lines: pasted text, not a name",
                "okrs.csv row 7: objective care: extra: column 'Team': 'n/a' kept as text in extra (expected a name"]
    assert "rejected 0" in text and "4 cell(s) kept as text" in text
    assert [w for w in warnings if w not in text] == []
    krs = stored(project)
    assert {t: k["owner"] for t, k in krs.items()} == {"Logos": "Head of Sales", "Pipeline": None, "Deploys": None,
                                                     "Uptime": None, "Tickets": "Support team"}
    assert (krs["Pipeline"]["extra.sheet.Owner"], krs["Uptime"]["extra.sheet.Owner"]) == ("000", "-")
    from okrsync.store import Store
    store = Store(project / "state" / "okrsync.db")
    teams = {f["title"]: (f["team"], f.get("extra.sheet.Team")) for _, _, f in store.entities("objective")}
    store.close()
    assert teams == {"Grow": ("Sales EMEA", None), "Ship": ("Platform", None), "Care": (None, "n/a")}
