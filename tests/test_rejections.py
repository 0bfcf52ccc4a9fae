"""Rejections are state (issue 13 item 3): kept per endpoint and place, reported on every
run until the row is fixed or removed, listed by ``okrsync status``."""

import json
from pathlib import Path

import pytest

from okrsync.connector import Rejected
from okrsync.store import Store
from tests.helpers.clirun import run

REAL = Path(__file__).parent / "fixtures" / "real" / "flat_kr_rows_percent_words_product_ops_sandbox.csv"
BROKEN = "Check In Failed Count,2,lots,1,Needs focus"  # KR-002's current value is not a number


@pytest.fixture
def project(tmp_path):
    text = REAL.read_text()
    assert "Check In Failed Count,2,2,1,Needs focus" in text
    (tmp_path / "okrs.csv").write_text(text.replace("Check In Failed Count,2,2,1,Needs focus", BROKEN))
    # strict_values: a cell that does not convert rejects its row, as before issue 15
    (tmp_path / "strict.yaml").write_text("extends: spreadsheet\nstrict_values: true\n")
    (tmp_path / "okrsync.yaml").write_text("endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n    mapping: strict.yaml\n"
                                           "  board:\n    type: xlsx\n    path: board.xlsx\n")
    return tmp_path


def open_rejections():
    return json.loads(run("--json", "status").output)["rejections"]


def test_a_rejected_row_is_reported_on_every_run_until_it_is_fixed(project):
    first = run("sync", "sheet", code=3)
    assert "rejected: sheet: okrs.csv row 3, column 'current'" in first.output
    assert "since run" not in first.output
    # nothing changed in the file: the read is skipped, the row is still broken
    again = run("sync", "sheet", code=3)
    assert "okrs.csv row 3, column 'current'" in again.output and "(rejected since run 1)" in again.output
    out = json.loads(run("--json", "sync", "sheet", code=3).output)
    assert out["totals"]["rejected"] == 1 and out["totals"]["read"] == 0
    assert "--strict stops the run" in run("sync", "sheet", "--strict", code=1).output
    rows = open_rejections()
    assert [(r["endpoint"], r["step"], r["where"].split(",")[0], r["first_run"], r["last_run"]) for r in rows] == [
        ("sheet", "pull", "okrs.csv row 3", 1, 3)]
    assert "expected a number" in rows[0]["reason"] or "lots" in rows[0]["reason"]
    text = run("status").output
    assert "1 open rejection(s)" in text and "okrs.csv row 3" in text
    # a push alone does not read the sheet, and still says the row is broken
    pushed = run("push", "board", "sheet", code=3).output.replace("\n", " ")
    assert "okrs.csv row 3, column 'current'" in pushed and "since run 1; not tried again by this  push" in pushed
    assert "rejected 1," in pushed  # the summary line counts it
    # fixed: cleared, and the run is clean again
    (project / "okrs.csv").write_text(REAL.read_text())
    out = json.loads(run("--json", "sync", "sheet").output)
    assert out["totals"]["rejected"] == 0 and out["totals"]["created"] == 1 and out["still_rejected"] == []
    assert open_rejections() == []
    run("sync", "sheet")


def test_a_rejected_row_that_is_removed_is_cleared(project):
    run("sync", code=3)
    assert len(open_rejections()) == 1
    lines = (project / "okrs.csv").read_text().splitlines(keepends=True)
    (project / "okrs.csv").write_text("".join(line for line in lines if BROKEN not in line))
    run("sync")
    assert open_rejections() == []


def test_the_store_keeps_the_first_run_and_joins_reasons(store):
    store.set_rejections("jira", "push", [("OKR-7", "key_result OKR-7", "409"), ("OKR-7", "key_result OKR-7", "gone"),
                                          ("OKR-9", "", "bad")], 4)
    store.set_rejections("jira", "push", [("OKR-7", "key_result OKR-7", "409")], 6)
    store.set_rejections("jira", "pull", [("OKR-1", "", "unreadable")], 6)
    assert store.rejections(["jira"], "push") == [
        {"endpoint": "jira", "step": "push", "where": "OKR-7", "record": "key_result OKR-7", "reason": "409",
         "first_run": 4, "last_run": 6}]
    assert [r["where"] for r in store.rejections()] == ["OKR-7", "OKR-1"]
    assert store.rejections(["sheet"]) == []


def test_a_write_the_endpoint_refuses_stays_open_until_a_push_goes_through(tmp_path, monkeypatch):
    from okrsync.config import Config
    from okrsync.sync import Hub
    from tests.helpers.memory import WORLD, MemoryConnector

    WORLD.pop("m", None)
    hub = Hub(Config.of(tmp_path, {"m": {"type": "memory"}}), Store(None), {"memory": MemoryConnector})
    hub.store.mutate(hub.store.begin_run("test"), "test", "objective", "obj_1", {"title": "Grow"})
    monkeypatch.setattr(MemoryConnector, "refuse", {"Grow"})
    for run_id in (1, 2):
        plan = hub.plan_push("m")
        hub.apply_push(plan, run_id)
        assert [str(r) for r in plan.rejected] == ["obj_1: refused by the tool"]
    assert [(r["where"], r["first_run"], r["last_run"]) for r in hub.store.rejections(["m"])] == [("obj_1", 1, 2)]
    monkeypatch.setattr(MemoryConnector, "refuse", set())
    hub.apply_push(hub.plan_push("m"), 1)
    assert hub.store.rejections() == []
    assert Rejected("x", "y").record == ""
