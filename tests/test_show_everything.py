"""What was imported is visible (issue 13 item 5): ``okrsync show`` lists every record kind,
orphans in their own sections; ``okrsync lint`` reports orphan KRs and empty titles."""

import json
import shutil
from pathlib import Path

import pytest

from okrsync.lint import lint
from okrsync.store import Store
from tests.helpers.clirun import run

REAL = Path(__file__).parent / "fixtures" / "real"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "okrsync.yaml").write_text("endpoints:\n  small:\n    type: csv\n    path: valid-small.csv\n"
                                           "    mapping: valid-small.yaml\n")
    return tmp_path


def test_show_lists_initiatives_and_activities_of_a_real_file_under_their_objectives(project):
    shutil.copy(REAL / "es_initiative_dashboard" / "valid-small.csv", project)
    shutil.copy(REAL / "valid-small.yaml", project)
    run("pull")
    tree = json.loads(run("--json", "show").output)
    shown = {o["title"]: [(i["title"], [a["title"] for a in i["initiatives"]]) for i in o["initiatives"]]
             for o in tree["objectives"]}
    assert shown == {"Increase Revenue": [("Launch Premium Product", ["Market Research", "Design Mockups"])],
                     "Improve Customer Satisfaction": [("Customer Success Program", ["Hire CS Manager"])]}
    assert tree["orphan_key_results"] == tree["orphan_initiatives"] == [] and tree["other"] == {}
    text = run("show").output
    assert "initiative Launch Premium Product" in text and "initiative Hire CS Manager" in text


def orphans_store(project) -> Store:
    """An initiatives-only import, a KR whose objective was never imported, an untitled one."""
    store = Store(project / "okrsync.db")
    run_id = store.begin_run("test")
    store.mutate(run_id, "t", "initiative", "ini_1", {"title": "Launch Premium Product", "progress": 0.3})
    store.mutate(run_id, "t", "initiative", "ini_2", {"title": "Market Research", "parent_id": "ini_1"})
    store.mutate(run_id, "t", "key_result", "kr_1", {"title": "Cut churn", "objective_id": "obj_gone", "target": 3.0})
    store.mutate(run_id, "t", "key_result", "kr_2", {"title": " ", "objective_id": "obj_gone", "target": 1.0})
    store.mutate(run_id, "t", "check_in", "chk_1", {"key_result_id": "kr_1", "at": "2026-01-05T00:00:00Z", "value": 4.0})
    return store


def test_show_gives_orphans_their_own_sections_instead_of_saying_the_store_is_empty(project):
    orphans_store(project).close()
    result = run("show")
    assert "no objectives in the store yet" not in result.output
    assert "Key results without an objective" in result.output and "Cut churn" in result.output
    assert "1 check-in(s)" in result.output
    assert "Initiatives without an objective or key result" in result.output
    assert "initiative Launch Premium Product" in result.output and "initiative Market Research" in result.output
    tree = json.loads(run("--json", "show").output)
    assert tree["objectives"] == []
    assert [(k["id"], k["check_ins"]) for k in tree["orphan_key_results"]] == [("kr_1", 1), ("kr_2", 0)]
    assert [(i["id"], [c["id"] for c in i["initiatives"]]) for i in tree["orphan_initiatives"]] == [("ini_1", ["ini_2"])]


def test_lint_reports_orphan_key_results_and_empty_titles(project):
    store = orphans_store(project)
    found = sorted((f.rule, f.entity, f.severity) for f in lint(store) if f.rule in ("kr-orphan", "empty-title"))
    assert found == [("empty-title", "kr_2", "error"), ("kr-orphan", "kr_1", "error"), ("kr-orphan", "kr_2", "error")]
    store.close()
    out = json.loads(run("--json", "lint", code=7).output)
    assert {f["rule"] for f in out["findings"]} >= {"kr-orphan", "empty-title"}


def test_an_empty_store_still_says_so(project):
    assert "the store is empty: run `okrsync pull` first" in run("show").output
