"""A KR's current value is its latest check-in (okrsync/checkins.py), through a linked CSV import."""

import json

import pytest

from okrsync.checkins import latest
from okrsync.store import Store
from tests.helpers.clirun import run
from tests.helpers.linked_project import CONFIG, krs, make_project

OBJECTIVES = "Objective ID,Objective,Period\nO-1,Grow revenue,2026-Q1\n"
# no current value column: the check-ins are the only values
KEY_RESULTS = ("Key result ID,Objective ID,Key result,Start,Target\n"
               "KR-1,O-1,Reach 5M ARR,3000000,5000000\nKR-2,O-1,Cut churn,5,3\nKR-3,O-1,Never checked,0,10\n")
# newest first for KR-1, as many tools export them
CHECK_INS = ("Key result ID,Date,Value,Confidence,Note\n"
             "KR-1,2026-02-28,4000000,0.7,feb\nKR-1,2026-01-31,3500000,0.4,jan\nKR-2,2026-01-15,4,,mid\n")


@pytest.fixture
def project(tmp_path, monkeypatch):
    return make_project(tmp_path, monkeypatch, {"okrsync.yaml": CONFIG, "objectives.csv": OBJECTIVES,
                                                "key-results.csv": KEY_RESULTS, "check-ins.csv": CHECK_INS})


def board() -> dict[str, dict]:
    data = json.loads(run("report", "progress", "--format", "json").output)
    return {kr["title"]: kr for rows in data["sections"].values() for o in rows for kr in o["key_results"]}


def test_check_ins_only_give_every_checked_kr_a_value_and_a_score(project):
    result = run("pull", "sheet")
    assert "2 key result(s) took current value" in result.output
    got = krs(project)
    assert (got["Reach 5M ARR"]["current"], got["Reach 5M ARR"]["confidence"]) == (4_000_000, 0.7)  # Feb, listed first
    assert got["Cut churn"]["current"] == 4 and got["Never checked"]["current"] is None
    shown = board()
    assert (shown["Reach 5M ARR"]["score"], shown["Reach 5M ARR"]["band"]) == (0.5, "yellow")
    assert (shown["Cut churn"]["score"], shown["Cut churn"]["band"]) == (0.5, "yellow")
    assert [t for t, kr in shown.items() if kr["band"] == "unknown"] == ["Never checked"]  # the one without check-ins
    again = run("pull", "sheet")  # nothing changed: nothing settles again
    assert "took current value" not in again.output and krs(project)["Reach 5M ARR"]["current"] == 4_000_000


def test_a_check_in_deleted_at_the_source_hands_the_value_back(project):
    run("pull", "sheet")
    (project / "check-ins.csv").write_text(CHECK_INS.replace("KR-1,2026-02-28,4000000,0.7,feb\n", ""))
    assert "1 key result(s) took current value" in run("pull", "sheet").output
    assert (krs(project)["Reach 5M ARR"]["current"], krs(project)["Reach 5M ARR"]["confidence"]) == (3_500_000, 0.4)


def test_a_newer_check_in_moves_the_value(project):
    run("pull", "sheet")
    (project / "check-ins.csv").write_text(CHECK_INS + "KR-2,2026-03-01,3.2,,march\n")
    run("pull", "sheet")
    assert krs(project)["Cut churn"]["current"] == 3.2


def test_a_current_value_edited_after_the_latest_check_in_wins_and_becomes_one(project):
    run("pull", "sheet")
    (project / "key-results.csv").write_text(KEY_RESULTS.replace("Start,Target", "Start,Current,Target")
                                              .replace("3000000,5000000", "3000000,4500000,5000000")
                                              .replace("5,3", "5,,3").replace("0,10", "0,,10"))
    result = run("pull", "sheet")
    assert "1 current value(s) edited after the KR's latest check-in were kept" in " ".join(result.output.split())
    assert krs(project)["Reach 5M ARR"]["current"] == 4_500_000
    store = Store(project / "state" / "okrsync.db")
    values = sorted(f["value"] for _, _, f in store.entities("check_in"))
    store.close()
    assert values == [4, 3_500_000, 4_000_000, 4_500_000]
    assert board()["Reach 5M ARR"]["score"] == 0.8  # (4.5M - 3M) / 2M = 0.75, shown to one decimal


def test_latest_is_by_time_whatever_the_order_and_the_later_listed_wins_a_tie():
    rows = [{"at": "2026-02-01T00:00:00Z", "value": 2}, {"at": "2026-03-01T00:00:00Z", "value": 3},
            {"at": "2026-01-01T00:00:00Z", "value": 1}]
    assert latest(rows)["value"] == 3
    assert latest(rows + [{"at": "2026-03-01T00:00:00+00:00", "value": 9}])["value"] == 9
    assert latest(rows + [{"at": "2026-03-01T01:00:00+02:00", "value": 0}])["value"] == 3  # 23:00 the day before
    assert latest([{"at": None, "value": 5}]) is None


def test_a_check_in_without_a_value_leaves_the_value_to_the_latest_that_has_one(project):
    (project / "check-ins.csv").write_text(CHECK_INS + "KR-1,2026-03-15,,0.9,a note and a confidence only\n")
    run("pull", "sheet")
    got = krs(project)["Reach 5M ARR"]
    assert (got["current"], got["confidence"]) == (4_000_000, 0.9)
