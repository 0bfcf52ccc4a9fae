"""The Asana connector end to end: the bundled example spreadsheet ⇄ hub ⇄ the Asana
emulator over real HTTP on 127.0.0.1, with faults injected."""

import csv
import shutil
import time
from pathlib import Path

import pytest

from okrsync import plugins
from okrsync.config import Config
from okrsync.errors import DeleteGuardError
from okrsync.store import Store
from okrsync.sync import Hub

from .emulators.asana import TOKEN, AsanaEmulator
from .helpers.asana_spec import asana_spec
from .helpers.saas_e2e import running, sync, write_sheet

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "okrs.csv"
QUARTERS = [("Q1", "Q1 FY26", "2026-01-01", "2026-03-31"), ("Q2", "Q2 FY26", "2026-04-01", "2026-06-30")]


def owners() -> list[str]:
    with open(EXAMPLE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return sorted({r["Objective owner"] for r in rows} | {r["Owner"] for r in rows})


@pytest.fixture
def emu():
    # every exchange against Asana's spec (batch actions one by one); a fault hangs past the
    # client's 1 s timeout (0.2 s timed out plain requests on a loaded machine)
    with running(AsanaEmulator(users=owners(), periods=QUARTERS), spec=asana_spec(), hang=1.2) as server:
        yield server


def make_hub(tmp_path, emu, *, fast_retries=False, **asana):
    sheet = tmp_path / "okrs.csv"
    if not sheet.exists():
        shutil.copy(EXAMPLE, sheet)
    cfg = Config.of(tmp_path, {
        "sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
        "asana": {"type": "asana", "url": emu.url + "/api/1.0", "workspace": emu.workspace, "token": TOKEN,
                  "rate": 1000, "timeout": 1, "attempts": 4, **asana},
    }, {"order": ["sheet", "asana"]})
    classes = plugins.classes()
    hub = Hub(cfg, Store(tmp_path / "okrsync.db"), classes)
    if fast_retries:  # back-off and Retry-After waits cut short; the order of events is the same
        hub.connector("asana").api.sleep = lambda seconds: time.sleep(min(seconds, 0.02))
    return hub


def sheet_rows(tmp_path):
    with open(tmp_path / "okrs.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def totals(plans):
    return {k: sum(getattr(p.counters, k) for p in plans) for k in ("created", "updated", "deleted", "rejected", "conflicts")}


def test_the_example_migrates_into_asana_and_a_second_sync_writes_nothing(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    plans = sync(hub)
    assert not [r for p in plans for r in p.rejected], [str(r) for p in plans for r in p.rejected]
    assert len(emu.goals) == 13 + 39 and not emu.errors
    arr = emu.goal("Grow ARR from €8.4M to €10.2M")
    assert arr["metric"]["unit"] == "currency" and arr["metric"]["currency_code"] == "EUR"
    assert (arr["metric"]["initial_number_value"], arr["metric"]["target_number_value"]) == (8400000, 10200000)
    nrr = emu.goal("Raise net revenue retention from 104% to 110%")
    assert nrr["metric"]["unit"] == "percentage" and nrr["metric"]["initial_number_value"] == 1.04
    assert nrr["status"] == "yellow"
    co1 = emu.goal("Grow into a €12M ARR business")
    assert co1["time_period"] and co1["metric"]["progress_source"] == "subgoal_progress" and co1["status"] == "green"
    rels = {(r["supported"], r["supporting"]): r["weight"] for r in emu.relationships.values()}
    assert rels[(co1["gid"], arr["gid"])] == 0.4
    sal = emu.goal("Win mid-market logos in DACH and the Nordics")
    assert (co1["gid"], sal["gid"]) in rels  # alignment: an objective under its parent objective
    before = sheet_rows(tmp_path)
    again = sync(make_hub(tmp_path, emu))
    t = totals(again)
    assert (t["created"], t["updated"], t["deleted"], t["conflicts"]) == (0, 0, 0, 0), [c.as_dict() for p in again for c in p.changes]
    assert sheet_rows(tmp_path) == before  # the values Asana cannot hold as given did not echo back


def test_an_edit_in_asana_reaches_the_spreadsheet(tmp_path, emu):
    sync(make_hub(tmp_path, emu))
    kr = emu.goal("Raise eNPS from 21 to 35")
    kr["metric"]["current_number_value"] = 30
    kr["name"] = "Raise eNPS from 21 to 36"
    sync(make_hub(tmp_path, emu))
    row = next(r for r in sheet_rows(tmp_path) if r["Key result ID"] == "KR-9")
    assert row["Key result"] == "Raise eNPS from 21 to 36" and row["Current"] == "30"


def test_a_conflict_is_settled_by_the_policy(tmp_path, emu):
    sync(make_hub(tmp_path, emu))
    emu.goal("Raise eNPS from 21 to 35")["metric"]["current_number_value"] = 31
    rows = sheet_rows(tmp_path)
    for r in rows:
        if r["Key result ID"] == "KR-9":
            r["Current"] = "29"
    write_sheet(tmp_path / "okrs.csv", rows)
    hub = make_hub(tmp_path, emu)
    hub.config.sync["conflicts"] = {"prefer": "sheet"}
    hub = make_hub(tmp_path, emu)
    plans = sync(hub)
    conflicts = [c for p in plans for c in p.conflicts]
    assert conflicts and conflicts[0].field == "current"
    value = emu.goal("Raise eNPS from 21 to 35")["metric"]["current_number_value"]
    row = next(r for r in sheet_rows(tmp_path) if r["Key result ID"] == "KR-9")
    assert float(row["Current"]) == value  # one value won everywhere


def test_a_delete_in_asana_propagates_and_a_mass_delete_is_guarded(tmp_path, emu):
    sync(make_hub(tmp_path, emu))
    kr = emu.goal("Raise eNPS from 21 to 35")
    del emu.goals[kr["gid"]]  # deleted in Asana: its relationships go with it
    for rid in [r for r, rel in emu.relationships.items() if kr["gid"] in (rel["supporting"], rel["supported"])]:
        del emu.relationships[rid]
    sync(make_hub(tmp_path, emu))
    assert not [r for r in sheet_rows(tmp_path) if r["Key result ID"] == "KR-9"]
    emu.goals.clear()
    emu.relationships.clear()
    with pytest.raises(DeleteGuardError):
        sync(make_hub(tmp_path, emu))


def test_faults_do_not_duplicate_or_lose_anything(tmp_path, emu):
    emu.faults.inject("timeout", path="/api/1.0/batch", apply_then_fail=True)  # a create batch landed, answer lost
    emu.faults.inject("truncate", path="/api/1.0/batch", apply_then_fail=True)
    emu.faults.inject("503", path="/api/1.0/batch")
    emu.faults.inject("429", times=2)
    emu.faults.inject("reset", path="/api/1.0/goals", method="GET")
    plans = sync(make_hub(tmp_path, emu, fast_retries=True))
    assert emu.faults.pending() == 0 and not emu.errors
    names = [g["name"] for g in emu.goals.values()]
    assert len(names) == len(set(names)) == 13 + 39, "no goal twice, none missing"
    assert sum(p.counters.retried for p in plans) >= 3
    again = totals(sync(make_hub(tmp_path, emu)))
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)


def test_a_429_storm_is_waited_out_at_the_asked_pace(tmp_path, emu):
    emu.faults.rate, emu.faults.burst = 100, 20  # actions per second, as Asana counts them
    plans = sync(make_hub(tmp_path, emu, rate=115))  # a little faster than allowed
    assert len(emu.goals) == 52 and emu.count(status=429) >= 1
    assert sum(p.counters.retried for p in plans) >= 1
    hits = sorted(emu.log, key=lambda h: h.t)
    first = next(i for i, h in enumerate(hits) if h.status == 429)
    assert hits[first + 1].t - hits[first].t >= 0.9  # Retry-After: 1, and no worker sent in between


def test_an_unknown_period_is_a_clear_rejection(tmp_path, emu):
    emu.periods.clear()
    emu.add_period("Q2", "Q2 FY26", "2026-04-01", "2026-06-30")
    plans = sync(make_hub(tmp_path, emu))
    rejected = [str(r) for p in plans for r in p.rejected]
    assert rejected and "'2026-Q1'" in rejected[0] and "2026-Q2" in rejected[0] and "read-only" in rejected[0]


def test_a_row_deleted_from_the_sheet_deletes_the_goal_in_asana(tmp_path, emu):
    sync(make_hub(tmp_path, emu))
    rows = [r for r in sheet_rows(tmp_path) if r["Key result ID"] != "KR-9"]
    write_sheet(tmp_path / "okrs.csv", rows)
    sync(make_hub(tmp_path, emu))
    assert "Raise eNPS from 21 to 35" not in [g["name"] for g in emu.goals.values()]
    assert len(emu.goals) == 51


def test_a_status_update_posted_in_asana_is_a_check_in_of_its_kr(tmp_path, emu):
    sync(make_hub(tmp_path, emu))
    kr = emu.goal("Raise eNPS from 21 to 35")
    emu.updates["900"] = {"gid": "900", "parent": kr["gid"], "text": "Survey done: 27", "status_type": "at_risk",
                          "title": "", "created_at": "2026-02-01T09:00:00.000Z", "modified_at": "2026-02-01T09:00:00.000Z",
                          "author": next(g for g, u in emu.users.items() if u["email"] == "aisha.bello@example.com")}
    hub = make_hub(tmp_path, emu)
    sync(hub)
    check_ins = [f for _, kind, f in hub.store.entities() if kind == "check_in"]
    krs = {cid: f for cid, kind, f in hub.store.entities() if kind == "key_result"}
    assert len(check_ins) == 1 and check_ins[0]["note"] == "Survey done: 27" and check_ins[0]["status"] == "at_risk"
    assert check_ins[0]["author"] == "aisha.bello@example.com"
    assert krs[check_ins[0]["key_result_id"]]["title"] == "Raise eNPS from 21 to 35"
    again = totals(sync(make_hub(tmp_path, emu)))
    assert (again["created"], again["updated"], again["deleted"]) == (0, 0, 0)


def test_a_429_lowers_the_requests_in_flight_and_says_so(tmp_path, emu):
    # Asana publishes no concurrency limit: a 429 halves the workers for the rest of the run
    sync(make_hub(tmp_path, emu))
    emu.faults.inject("429", 2, method="POST", path="/api/1.0/batch")
    hub = make_hub(tmp_path, emu, fast_retries=True, concurrency=4)
    plans = sync(hub)  # the read meets both 429s
    assert hub.connector("asana").workers.limit == 1 and len(emu.goals) == 52
    notes = [n for p in plans for n in p.notes if "lowered its requests in flight" in n]
    assert notes == ["asana: Asana answered 429 (rate limited); okrsync lowered its requests in flight from 4 to 1 "
                     "for this run. If it keeps happening, set concurrency: 1"]


def test_workers_never_let_more_than_the_limit_through():
    import threading

    from okrsync.connectors.asana import Workers

    workers, busy, peak, lock = Workers(4), [0], [0], threading.Lock()
    together = threading.Barrier(4, timeout=5)

    def job(wait):
        with workers:
            with lock:
                busy[0] += 1
                peak[0] = max(peak[0], busy[0])
            wait()
            with lock:
                busy[0] -= 1

    def run(n, wait):
        threads = [threading.Thread(target=job, args=(wait,)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run(4, together.wait)  # four in flight at once: the barrier only opens for all four
    assert peak[0] == 4
    workers.lower()
    workers.lower()
    workers.lower()
    peak[0] = 0
    run(6, lambda: time.sleep(0.01))
    assert workers.limit == 1 and peak[0] == 1


def test_a_kr_half_made_by_a_killed_push_is_completed_not_created_again(tmp_path, emu, monkeypatch):
    """Asana takes a KR in two requests: the goal (with its metric), then the relationship to
    its objective. A run killed between them leaves a measured goal without a parent, which
    the next read takes for an objective. The hub must see its own open KR create in it and
    send the missing relationship, not a second KR (issue 19)."""
    from okrsync.connectors.asana import AsanaConnector

    real_apply = AsanaConnector._apply

    def killed_before_relationships(self, actions, result):
        real_apply(self, [a for a in actions if "SupportingRelationship" not in a[0].path], result)
        raise KeyboardInterrupt  # the process dies here: nothing after this line runs

    monkeypatch.setattr(AsanaConnector, "_apply", killed_before_relationships)
    for _ in range(2):  # killed again before the relationships the second run owes: linked, still half made
        with pytest.raises(KeyboardInterrupt):
            sync(make_hub(tmp_path, emu))
        assert len(emu.goals) == 13 + 39 and not emu.relationships  # every goal made, none related yet
    monkeypatch.setattr(AsanaConnector, "_apply", real_apply)
    hub = make_hub(tmp_path, emu)
    plans = sync(hub) + sync(hub)
    assert not [r for p in plans for r in p.rejected], [str(r) for p in plans for r in p.rejected]
    assert len(emu.goals) == 13 + 39, "a KR was created twice"
    assert sorted(g["name"] for g in emu.goals.values()) == sorted({g["name"] for g in emu.goals.values()})
    arr, co1 = emu.goal("Grow ARR from €8.4M to €10.2M"), emu.goal("Grow into a €12M ARR business")
    rels = {(r["supported"], r["supporting"]): r["weight"] for r in emu.relationships.values()}
    assert rels[(co1["gid"], arr["gid"])] == 0.4  # the relationship the kill cut off, sent now
    assert hub.store.count("objective") == 13 and hub.store.count("key_result") == 39
    assert hub.store.db.execute("select count(*) from intents where status = 'sent'").fetchone()[0] == 0
    quiet = sync(hub)
    assert sum(len(p.changes) for p in quiet) == 0, [c.as_dict() for p in quiet for c in p.changes]
