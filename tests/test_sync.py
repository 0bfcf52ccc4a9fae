"""The two-way engine over in-memory endpoints: merges, conflicts, identity, deletes, crashes."""

import time

import pytest

from okrsync import views
from okrsync.errors import DeleteGuardError
from okrsync.store import Store

from .helpers import memory
from .helpers.memory import MemoryConnector, add, edit, find, make_hub
from .helpers.saas_e2e import sync

pytestmark = pytest.mark.usefixtures("fresh_world")


def change_rows(hub):
    return hub.store.db.execute("select count(*) from changes").fetchone()[0]


def seed(endpoint="a"):
    add(endpoint, "objective", "o1", title="Grow revenue", period="2026-Q1")
    add(endpoint, "key_result", "k1", objective_id="o1", title="Reach 5M ARR", start=3.0, current=3.5, target=5.0)


def seed_objective_with_krs(hub, count):
    """One objective with ``count`` KRs on endpoint a, synced everywhere."""
    add("a", "objective", "o1", title="O")
    for i in range(count):
        add("a", "key_result", f"k{i}", objective_id="o1", title=f"KR {i}")
    sync(hub)


def both_edit_current(hub, on_a, on_b):
    """Seed, sync, then change the KR's current value on both endpoints and sync again."""
    seed()
    sync(hub)
    [(kb, _)] = find("b", "key_result")
    edit("a", "key_result", "k1", current=on_a)
    edit("b", "key_result", kb, current=on_b)
    sync(hub)
    return kb


def test_sync_copies_to_every_endpoint_and_a_second_sync_writes_nothing(tmp_path):
    hub = make_hub(tmp_path)
    seed()
    sync(hub)
    [(obj_ext, obj)] = find("b", "objective")
    [(_, kr)] = find("b", "key_result")
    assert obj["title"] == "Grow revenue" and kr["objective_id"] == obj_ext and kr["current"] == 3.5
    rows, writes = change_rows(hub), len(MemoryConnector.writes)
    sync(hub)
    assert change_rows(hub) == rows and len(MemoryConnector.writes) == writes  # idempotent, no echo


def test_edits_on_both_sides_to_different_fields_merge(tmp_path):
    hub = make_hub(tmp_path)
    seed()
    sync(hub)
    [(kb, _)] = find("b", "key_result")
    edit("a", "key_result", "k1", current=4.0)
    edit("b", "key_result", kb, title="Reach 5M ARR (net)")
    sync(hub)
    for ep, ext in (("a", "k1"), ("b", kb)):
        record = memory.WORLD[ep][("key_result", ext)]
        assert (record["current"], record["title"]) == (4.0, "Reach 5M ARR (net)")
    assert not hub.store.conflicts()


@pytest.mark.parametrize("policy, winner", [
    ({"conflicts": {"prefer": "a"}}, 4.0),
    ({"conflicts": {"prefer": "b"}}, 4.5),
    ({"conflicts": "newest"}, 4.5),  # b's edit is later
    ({"conflicts": {"prefer": "a"}, "fields": {"current": "newest"}}, 4.5),
])
def test_conflict_policies_pick_a_winner_and_log_the_loser(tmp_path, policy, winner):
    hub = make_hub(tmp_path, sync={"order": ["a", "b"], **policy})
    kb = both_edit_current(hub, 4.0, 4.5)
    assert memory.WORLD["a"][("key_result", "k1")]["current"] == winner
    assert memory.WORLD["b"][("key_result", kb)]["current"] == winner
    losers = [r for r in hub.store.changes() if r["kind"] == "conflict"]
    assert len(losers) == 1 and losers[0]["field"] == "current"
    assert {losers[0]["old"], losers[0]["new"]} == {4.0, 4.5} and losers[0]["old"] == winner
    sync(hub)  # settled: nothing more to do
    assert len([r for r in hub.store.changes() if r["kind"] == "conflict"]) == 1


def test_same_value_on_both_sides_is_not_a_conflict(tmp_path):
    hub = make_hub(tmp_path, sync={"order": ["a", "b"], "conflicts": "manual"})
    both_edit_current(hub, 4.0, 4.0)
    assert not hub.store.conflicts() and not [r for r in hub.store.changes() if r["kind"] == "conflict"]


def test_manual_conflict_waits_then_resolution_is_applied_everywhere(tmp_path):
    hub = make_hub(tmp_path, sync={"order": ["a", "b"], "conflicts": "manual"})
    kb = both_edit_current(hub, 4.0, 4.5)
    sync(hub)  # still waiting: neither side overwritten, no second conflict queued
    assert memory.WORLD["a"][("key_result", "k1")]["current"] == 4.0
    assert memory.WORLD["b"][("key_result", kb)]["current"] == 4.5
    [conflict] = hub.store.conflicts("open")
    assert conflict["field"] == "current" and conflict["candidates"]["b"] == 4.5
    hub.store.resolve_conflict(conflict["id"], conflict["candidates"]["b"], "b")
    sync(hub)
    assert memory.WORLD["a"][("key_result", "k1")]["current"] == 4.5
    assert memory.WORLD["b"][("key_result", kb)]["current"] == 4.5
    assert hub.store.conflicts("open") == [] and hub.store.conflicts("applied")
    rows = change_rows(hub)
    sync(hub)
    assert change_rows(hub) == rows


def test_first_contact_links_by_title_instead_of_duplicating(tmp_path):
    hub = make_hub(tmp_path)
    seed("a")
    add("b", "objective", "X-1", title="  GROW   revenue! ", period="2026-Q1")
    add("b", "key_result", "X-2", objective_id="X-1", title="reach 5m arr", current=3.5)
    sync(hub)
    assert hub.store.count("objective") == 1 and hub.store.count("key_result") == 1
    assert len(find("b", "objective")) == 1 and len(find("a", "key_result")) == 1


def test_first_contact_ambiguous_match_is_reported_not_guessed(tmp_path):
    hub = make_hub(tmp_path)
    add("a", "objective", "o1", title="Grow revenue", period="2026-Q1")
    add("a", "objective", "o2", title="Grow Revenue", period="2026-Q1")
    sync(hub, push=False)
    add("b", "objective", "x", title="grow revenue", period="2026-Q1")
    plans = sync(hub)
    rejected = [str(r) for p in plans for r in p.rejected]
    assert any("matches 2 existing objectives" in r for r in rejected)
    assert hub.store.count("objective") == 2


def test_delete_propagates_under_the_guard_share(tmp_path):
    hub = make_hub(tmp_path)
    seed_objective_with_krs(hub, 8)
    del memory.WORLD["a"][("key_result", "k3")]
    sync(hub)
    assert len(find("b", "key_result")) == 7 and hub.store.count("key_result") == 7
    assert any(r["kind"] == "delete" and r["origin"] == "a" for r in hub.store.changes())


def test_mass_delete_guard_stops_before_writing(tmp_path):
    hub = make_hub(tmp_path)
    seed_objective_with_krs(hub, 4)
    rows = change_rows(hub)
    for i in range(3):
        del memory.WORLD["a"][("key_result", f"k{i}")]
    with pytest.raises(DeleteGuardError, match="would delete 3 of its 5 linked records"):
        sync(hub)
    assert change_rows(hub) == rows and len(find("b", "key_result")) == 4
    memory.WORLD["a"].clear()
    with pytest.raises(DeleteGuardError, match="listed no records at all"):
        sync(hub)
    hub.allow_mass_delete = True
    sync(hub)
    assert find("b", "key_result") == [] and hub.store.count() == 0


def test_delete_policy_ignore_writes_the_record_back(tmp_path):
    hub = make_hub(tmp_path, options={"a": {"deletes": "ignore"}})
    seed_objective_with_krs(hub, 5)
    del memory.WORLD["a"][("key_result", "k0")]
    sync(hub)
    assert len(find("a", "key_result", title="KR 0")) == 1 and len(find("b", "key_result")) == 5


def test_delete_policy_archive_keeps_other_copies(tmp_path):
    hub = make_hub(tmp_path, options={"a": {"deletes": "archive"}})
    seed_objective_with_krs(hub, 5)
    del memory.WORLD["a"][("key_result", "k0")]
    sync(hub)
    assert hub.store.count("key_result") == 4 and len(find("b", "key_result")) == 5
    assert len(find("a", "key_result")) == 4


def test_edit_beats_delete_elsewhere(tmp_path):
    hub = make_hub(tmp_path)
    seed_objective_with_krs(hub, 5)
    [(kb, _)] = find("b", "key_result", title="KR 0")
    del memory.WORLD["a"][("key_result", "k0")]
    edit("b", "key_result", kb, current=9.0)
    sync(hub)
    assert hub.store.count("key_result") == 5
    assert find("a", "key_result", title="KR 0")[0][1]["current"] == 9.0


@pytest.mark.parametrize("fail_after", [0, 1])
def test_crash_during_push_then_rerun_leaves_no_duplicate(tmp_path, fail_after):
    store = Store(tmp_path / "s.db")
    hub = make_hub(tmp_path, store=store)
    seed()
    MemoryConnector.fail_after = fail_after
    with pytest.raises(RuntimeError, match="simulated crash"):
        sync(hub)
    MemoryConnector.fail_after = None
    sync(make_hub(tmp_path, store=store))
    assert len(find("b", "objective")) == 1 and len(find("b", "key_result")) == 1
    assert store.count() == 2
    assert store.db.execute("select count(*) from intents where status = 'sent'").fetchone()[0] == 0
    rows = change_rows(hub)
    sync(make_hub(tmp_path, store=store))
    assert change_rows(hub) == rows


def test_crash_after_remote_write_before_links_are_recorded(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.db")
    hub = make_hub(tmp_path, store=store)
    seed()
    original = store.mark_in_step

    def crash_in_link_transaction(endpoint, ids):
        if endpoint == "b":  # b got the records; the transaction recording the links dies
            raise RuntimeError("simulated crash after write")
        return original(endpoint, ids)

    monkeypatch.setattr(store, "mark_in_step", crash_in_link_transaction)
    with pytest.raises(RuntimeError):
        sync(hub)
    monkeypatch.setattr(store, "mark_in_step", original)
    assert len(find("b", "objective")) == 1  # the remote got it; the hub did not record the link
    assert store.links("b") == {}
    plans = sync(make_hub(tmp_path, store=store))
    assert len(find("b", "objective")) == 1 and len(find("b", "key_result")) == 1
    assert store.count() == 2
    assert not [p for p in plans if p.direction == "push" and p.counters.created]


def test_revert_undoes_a_run_and_the_next_sync_pushes_it(tmp_path):
    from okrsync.revert import revert_run

    hub = make_hub(tmp_path)
    seed()
    sync(hub)
    edit("a", "key_result", "k1", current=4.2)
    sync(hub)
    edited_run = max(r["run_id"] for r in hub.store.changes() if r["field"] == "current")
    run = hub.store.begin_run("revert")
    count, notes = revert_run(hub.store, edited_run, run)
    assert count == 1 and notes == []
    sync(hub)
    [(kb, kr)] = find("b", "key_result")
    assert kr["current"] == 3.5 and memory.WORLD["a"][("key_result", "k1")]["current"] == 3.5


def test_revert_of_a_create_and_of_a_delete(tmp_path):
    from okrsync.revert import revert_run

    hub = make_hub(tmp_path, sync={"order": ["a", "b"], "deletes": {"max_ratio": 1.0}})
    seed()
    sync(hub)
    add("a", "key_result", "k2", objective_id="o1", title="New KR", current=1.0)
    sync(hub)
    created_run = hub.store.runs(1)[0]["id"]
    del memory.WORLD["a"][("key_result", "k1")]
    sync(hub)
    deleted_run = hub.store.runs(1)[0]["id"]
    assert [f["title"] for _, f in find("b", "key_result")] == ["New KR"]
    count, notes = revert_run(hub.store, created_run, hub.store.begin_run("revert"))
    assert (count, notes) == (1, [])
    count, notes = revert_run(hub.store, deleted_run, hub.store.begin_run("revert"))
    assert (count, notes) == (1, [])
    sync(hub)
    assert [f["title"] for _, f in find("a", "key_result")] == ["Reach 5M ARR"]
    assert [f["title"] for _, f in find("b", "key_result")] == ["Reach 5M ARR"]


def test_a_create_the_tool_refuses_is_not_counted_nor_taken_for_an_interrupted_run(tmp_path):
    add("a", "objective", "O-1", title="Fine")
    add("a", "objective", "O-2", title="Refused")
    MemoryConnector.refuse = {"Refused"}
    hub = make_hub(tmp_path)
    push_b = [p for p in sync(hub) if p.endpoint == "b" and p.direction == "push"][0]
    assert push_b.counters.created == 1 and push_b.counters.rejected == 1
    again = [p for p in sync(hub) if p.endpoint == "b" and p.direction == "push"][0]
    assert not any("interrupted" in n for n in again.notes)  # refused, not lost in transit
    statuses = dict(hub.store.db.execute("SELECT status, count(*) FROM intents GROUP BY status").fetchall())
    assert statuses.get("sent", 0) == 0 and statuses["refused"] == 2


def test_a_record_deleted_in_the_hub_stays_deleted_when_an_endpoint_reads_it_back_unchanged(tmp_path):
    add("a", "objective", "O-1", title="Keep")
    add("a", "objective", "O-2", title="Drop")
    hub = make_hub(tmp_path, allow_mass_delete=True)
    sync(hub)
    [(ext_b, _)] = find("b", "objective", title="Drop")
    memory.WORLD["b"][("objective", ext_b)]["description"] = None  # the tool spells "no value" its own way
    [(cid,)] = hub.store.db.execute("SELECT canonical_id FROM links WHERE endpoint = 'a' AND external_id = 'O-2'")
    memory.WORLD["a"].pop(("objective", "O-2"))  # deleted where it was made
    sync(hub)
    assert hub.store.get(cid) is None and not find("b", "objective", title="Drop")


def test_a_listing_whose_records_point_at_records_it_left_out_takes_no_deletes(tmp_path):
    add("a", "objective", "O-1", title="Parent")
    add("a", "key_result", "K-1", title="Child", objective_id="O-1")
    hub = make_hub(tmp_path, allow_mass_delete=True)
    sync(hub)
    memory.WORLD["a"].pop(("objective", "O-1"))  # a page lost: the KR still names its objective
    pull_a = sync(hub)[0]
    assert pull_a.counters.deleted == 0 and any("incomplete" in n for n in pull_a.notes)
    assert hub.store.count("objective") == 1


def test_a_record_read_as_another_kind_than_it_is_linked_as_is_rejected_not_duplicated(tmp_path):
    add("a", "objective", "O-1", title="Parent")
    add("a", "key_result", "K-1", title="Child", objective_id="O-1")
    hub = make_hub(tmp_path)
    sync(hub)
    fields = memory.WORLD["a"].pop(("key_result", "K-1"))
    memory.WORLD["a"][("objective", "K-1")] = {"title": "Child", "_updated": fields["_updated"]}
    pull_a = sync(hub)[0]
    assert "linked as a key result" in str(pull_a.rejected[0]) and hub.store.count("objective") == 1


# ------------------------------------------------------------------ issue 19: the holes, one test each


def _crash_push(hub, **switches):
    """A sync whose push dies: ``fail_after`` (before a write) or ``lose_answer`` (after)."""
    for name, value in switches.items():
        setattr(MemoryConnector, name, value)
    with pytest.raises(RuntimeError, match="simulated"):
        sync(hub)
    for name in switches:
        setattr(MemoryConnector, name, None if name == "fail_after" else False)


def _sent_intents(hub):
    return hub.store.db.execute("select count(*) from intents where status = 'sent'").fetchone()[0]


@pytest.mark.parametrize("holds_id", [True, False])
def test_a_create_renamed_and_edited_on_the_target_after_a_crash_is_not_duplicated(tmp_path, holds_id):
    MemoryConnector.holds_id = holds_id
    hub = make_hub(tmp_path)
    add("a", "objective", "o1", title="Grow revenue", period="2026-Q1", status="on_track", owner="ana@example.com",
        description="Grow ARR in the mid-market")
    add("a", "key_result", "k1", objective_id="o1", title="Reach 5M ARR", current=3.5)
    _crash_push(hub, fail_after=1)  # b got the objective; the hub never linked it
    [(ob, _)] = find("b", "objective")
    edit("b", "objective", ob, title="Grow revenue fast", status="at_risk")  # renamed and edited there
    plans = sync(hub) + sync(hub)
    # by the id the record carries, or (a tool that cannot hold it) by the place and the fields
    # sent, two of which changed: linked, its edits merged, nothing created twice
    assert [f["title"] for _, f in find("a", "objective")] == ["Grow revenue fast"]
    assert find("a", "objective")[0][1]["status"] == "at_risk"
    assert len(find("b", "objective")) == 1 and len(find("b", "key_result")) == 1
    assert hub.store.count() == 2 and _sent_intents(hub) == 0
    assert not [r for p in plans for r in p.rejected]


def test_a_copy_that_may_be_any_of_two_interrupted_creates_is_a_conflict_not_a_create(tmp_path):
    hub = make_hub(tmp_path)
    add("a", "objective", "o1", title="O", period="2026-Q1")
    add("a", "key_result", "k1", objective_id="o1", title="KR A", current=1.0, target=2.0)
    add("a", "key_result", "k2", objective_id="o1", title="KR B", current=1.0, target=2.0)
    _crash_push(hub, fail_after=2)  # b got the objective and KR A, unlinked
    [(kb, _)] = find("b", "key_result")
    edit("b", "key_result", kb, title="KR C")  # as close to KR A as to KR B now
    for _ in range(2):  # reported on every run until someone settles it
        plans = sync(hub)
        rejected = [str(r) for p in plans for r in p.rejected]
        assert sum("may be okrsync's interrupted create of any of 2 key results" in r for r in rejected) == 1, rejected
        assert sum("unknown outcome" in r for r in rejected) == 2, rejected  # neither KR sent again
        assert len(find("b", "key_result")) == 1 and hub.store.count("key_result") == 2
    edit("b", "key_result", kb, title="KR A")  # settled by hand: it is KR A
    plans = sync(hub)
    assert not [r for p in plans for r in p.rejected]
    assert sorted(f["title"] for _, f in find("b", "key_result")) == ["KR A", "KR B"]
    assert _sent_intents(hub) == 0


def test_a_create_renamed_on_the_target_after_a_crash_is_matched_by_the_fields_sent(tmp_path):
    hub = make_hub(tmp_path)  # a tool that cannot hold the id: the sent fields, all but the title
    seed()
    _crash_push(hub, fail_after=1)
    [(ob, _)] = find("b", "objective")
    edit("b", "objective", ob, title="Grow revenue fast")
    sync(hub)
    sync(hub)
    assert [f["title"] for _, f in find("a", "objective")] == ["Grow revenue fast"]
    assert len(find("b", "objective")) == 1 and len(find("b", "key_result")) == 1
    assert hub.store.count() == 2 and _sent_intents(hub) == 0


def test_a_create_whose_answer_was_lost_is_matched_on_the_returned_id_when_recorded(tmp_path, monkeypatch):
    hub = make_hub(tmp_path)
    seed()
    original = hub.store.set_links

    def crash_in_link_transaction(endpoint, run_id, links, *shared):
        if endpoint == "b" and links:
            raise RuntimeError("simulated crash after the answer")
        return original(endpoint, run_id, links, *shared)

    monkeypatch.setattr(hub.store, "set_links", crash_in_link_transaction)
    with pytest.raises(RuntimeError):
        sync(hub)
    monkeypatch.setattr(hub.store, "set_links", original)
    recorded = dict(hub.store.db.execute("select canonical_id, external_id from intents where endpoint = 'b'"))
    assert len(recorded) == 2 and all(recorded.values())  # the answer's ids, kept before the links
    [(ob, _)] = find("b", "objective")
    [(kb, _)] = find("b", "key_result")
    edit("b", "objective", ob, title="Renamed", period="2026-Q2")  # nothing left of what was sent
    edit("b", "key_result", kb, title="Renamed KR", current=4.0)
    sync(hub)
    assert hub.store.count() == 2 and _sent_intents(hub) == 0
    assert [f["title"] for _, f in find("a", "objective")] == ["Renamed"]
    assert [f["current"] for _, f in find("a", "key_result")] == [4.0]


def test_a_lost_answer_and_a_lagging_listing_do_not_create_twice(tmp_path):
    MemoryConnector.lag = 30.0  # the tool's listing shows a new record 30 s after its create
    hub = make_hub(tmp_path)
    seed()
    _crash_push(hub, lose_answer=True)  # b did the work; the answer never came
    assert len(find("b", "objective")) == 1
    memory.TIME[0] += 10  # the rerun starts 10 s later: the hub waits the other 20 before reading b
    plans = sync(hub)
    assert len(find("b", "objective")) == 1 and len(find("b", "key_result")) == 1
    assert memory.TIME[0] == pytest.approx(30.0)
    assert "waited 20.0 s for b's listing (it may lag 30 s) to show creates of unknown outcome" in plans[1].notes
    assert _sent_intents(hub) == 0 and not [r for p in plans for r in p.rejected]
    assert hub.store.count() == 2


def test_a_create_of_unknown_outcome_is_held_and_reported_until_a_read_can_see_it(tmp_path):
    hub = make_hub(tmp_path)
    seed()
    _crash_push(hub, lose_answer=True)
    del memory.WORLD["b"][next(iter(k for k in memory.WORLD["b"] if k[0] == "key_result"))]  # only the objective landed
    run = hub.store.begin_run("push")
    plans = hub.run(["a", "b"], run, pull=False)  # a push alone reads nothing: it may not send again
    assert len(find("b", "objective")) == 1 and find("b", "key_result") == []
    held = [str(r) for p in plans for r in p.rejected]
    assert len(held) == 2 and all("unknown outcome" in r for r in held), held
    assert _sent_intents(hub) == 2
    shown = {e["name"]: e["unknown_creates"] for e in views.status(hub.config, hub.store)["endpoints"]}
    assert shown == {"a": 0, "b": 2}  # okrsync status says so too
    plans = sync(hub)  # its read settles them: the objective landed, the KR did not and is sent now
    assert len(find("b", "objective")) == 1 and len(find("b", "key_result")) == 1
    assert _sent_intents(hub) == 0 and not [r for p in plans for r in p.rejected]


def delete_on_a_edit_on_b(hub):
    """KR 0 deleted on a, edited on b since the last sync; one sync; its plans. After it,
    a further sync writes nothing."""
    seed_objective_with_krs(hub, 5)
    [(kb, _)] = find("b", "key_result", title="KR 0")
    del memory.WORLD["a"][("key_result", "k0")]
    edit("b", "key_result", kb, current=9.0)
    plans = sync(hub)
    rows = change_rows(hub)
    sync(hub)
    assert change_rows(hub) == rows
    return plans


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_an_edit_beats_a_delete_in_either_pull_order(tmp_path, order):
    hub = make_hub(tmp_path, names=order)
    plans = delete_on_a_edit_on_b(hub)
    assert hub.store.count("key_result") == 5
    assert [f["current"] for _, f in find("a", "key_result", title="KR 0")] == [9.0]  # restored where deleted
    assert [f["current"] for _, f in find("b", "key_result", title="KR 0")] == [9.0]
    notes = [n for p in plans for n in p.notes]
    assert any("delete lost to an edit" in n for n in notes), notes
    lost = [r for r in hub.store.changes() if r["kind"] == "conflict" and r["field"] == "*"]
    assert len(lost) == 1 and lost[0]["origin"] == "a" and lost[0]["new"] is None


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_delete_wins_policy_keeps_the_delete_in_either_pull_order(tmp_path, order):
    hub = make_hub(tmp_path, names=order, sync={"order": list(order), "deletes": {"when_edited": "delete-wins"}})
    plans = delete_on_a_edit_on_b(hub)
    assert hub.store.count("key_result") == 4
    assert find("a", "key_result", title="KR 0") == [] and find("b", "key_result", title="KR 0") == []
    notes = [n for p in plans for n in p.notes]
    assert any("edit lost to a delete" in n for n in notes), notes
    lost = [r for r in hub.store.changes() if r["kind"] == "conflict" and r["field"] == "*"]
    assert len(lost) == 1 and lost[0]["origin"] == "b" and lost[0]["new"]["current"] == 9.0


def test_delete_guard_takes_exactly_max_ratio_and_stops_one_more(tmp_path):
    hub = make_hub(tmp_path)
    seed_objective_with_krs(hub, 7)  # 8 linked records on a; 25 % of them: 2
    del memory.WORLD["a"][("key_result", "k0")]
    del memory.WORLD["a"][("key_result", "k1")]
    sync(hub)
    assert hub.store.count("key_result") == 5 and len(find("b", "key_result")) == 5
    for i in (2, 3):  # 2 of the 6 left: 33 %
        del memory.WORLD["a"][("key_result", f"k{i}")]
    rows = change_rows(hub)
    with pytest.raises(DeleteGuardError, match=r"would delete 2 of its 6 linked records \(more than 25%\)"):
        sync(hub)
    assert change_rows(hub) == rows and len(find("b", "key_result")) == 5


def test_delete_guard_stops_an_empty_listing_even_at_max_ratio_one(tmp_path):
    hub = make_hub(tmp_path, sync={"order": ["a", "b"], "deletes": {"max_ratio": 1.0}})
    seed_objective_with_krs(hub, 1)
    memory.WORLD["a"].clear()
    rows = change_rows(hub)
    with pytest.raises(DeleteGuardError, match="listed no records at all"):
        sync(hub)
    assert change_rows(hub) == rows and len(find("b", "key_result")) == 1


@pytest.mark.parametrize("gone", ["all", "half"])
def test_allow_mass_delete_lets_both_guards_pass(tmp_path, gone):
    hub = make_hub(tmp_path, allow_mass_delete=True)
    seed_objective_with_krs(hub, 3)
    if gone == "all":
        memory.WORLD["a"].clear()
    else:
        for i in (0, 1):
            del memory.WORLD["a"][("key_result", f"k{i}")]
    sync(hub)
    assert hub.store.count() == (0 if gone == "all" else 2)
    assert len(find("b", "key_result")) == (0 if gone == "all" else 1)


def test_records_just_created_by_a_push_missing_from_a_lagging_listing_are_not_deleted(tmp_path):
    MemoryConnector.lag = 30.0
    hub = make_hub(tmp_path)
    seed_objective_with_krs(hub, 3)  # b got 4 records; its listing shows them 30 s later
    plans = sync(hub)
    assert len(find("b", "key_result")) == 3 and hub.store.count() == 4
    assert not [c for p in plans for c in p.changes] and not [r for p in plans for r in p.rejected]
    memory.TIME[0] += 30
    rows, writes = change_rows(hub), len(MemoryConnector.writes)
    sync(hub)  # listed now: in step, nothing to do
    assert change_rows(hub) == rows and len(MemoryConnector.writes) == writes


def test_an_incremental_read_from_a_cursor_older_than_a_lost_create_settles_it(tmp_path):
    MemoryConnector.incremental = True  # no read is a full listing
    hub = make_hub(tmp_path)
    hub.clock = time.time  # intents and cursors on one clock
    seed()
    sync(hub)
    add("a", "key_result", "k2", objective_id="o1", title="Reach 6M ARR", current=1.0)
    _crash_push(hub, fail_after=0)  # b's cursor was stored by its pull, before the create was sent
    plans = sync(hub)  # b's read from that cursor would show the KR had it landed: it did not
    assert [f["title"] for _, f in find("b", "key_result", title="Reach 6M ARR")] == ["Reach 6M ARR"]
    assert _sent_intents(hub) == 0 and not [r for p in plans for r in p.rejected]


def test_deletes_when_edited_takes_edit_wins_or_delete_wins_only(tmp_path):
    from okrsync.errors import ConfigError

    assert make_hub(tmp_path).policy.deletes_when_edited == "edit-wins"  # the default
    with pytest.raises(ConfigError, match=r"sync.deletes.when_edited: edit-wins or delete-wins .*got 'newest'"):
        make_hub(tmp_path, sync={"deletes": {"when_edited": "newest"}})


def test_a_kr_deleted_in_a_tool_without_check_ins_takes_its_check_ins_along(tmp_path):
    """Check-ins the hub keeps (from a tool that holds them) are not edits of their KR: a delete
    in a tool that holds no check-ins deletes the KR and its check-ins, everywhere."""
    MemoryConnector.check_ins = {"a"}
    seed()
    add("a", "key_result", "k2", objective_id="o1", title="Cut churn", start=5.0, target=3.0)
    add("a", "check_in", "c1", key_result_id="k1", at="2026-01-31T00:00:00Z", value=3.5)
    add("a", "check_in", "c2", key_result_id="k1", at="2026-02-28T00:00:00Z", value=4.0)
    add("a", "check_in", "c3", key_result_id="k2", at="2026-02-28T00:00:00Z", value=4.5)
    hub = make_hub(tmp_path, sync={"order": ["a", "b"], "deletes": {"max_ratio": 0.5}})
    sync(hub)
    assert hub.store.count("check_in") == 3 and not find("b", "check_in")
    [kb] = [ext for ext, f in find("b", "key_result") if f["title"] == "Reach 5M ARR"]
    del memory.WORLD["b"][("key_result", kb)]
    plans = sync(hub) + sync(hub)
    assert [f["title"] for _, f in find("a", "key_result")] == ["Cut churn"]  # deleted in a too, not revived
    assert [f["title"] for _, f in find("b", "key_result")] == ["Cut churn"]
    assert hub.store.count("key_result") == 1
    assert [f["key_result_id"] for _, _, f in hub.store.entities("check_in")] == [hub.store.resolve("k2")]
    assert [ext for ext, _ in find("a", "check_in")] == ["c3"]
    assert not [c for p in plans for c in p.conflicts]  # a check-in is no edit beating the delete


def test_a_kr_edited_while_deleted_elsewhere_keeps_its_check_ins(tmp_path):
    MemoryConnector.check_ins = {"a"}
    seed()
    add("a", "check_in", "c1", key_result_id="k1", at="2026-01-31T00:00:00Z", value=3.5)
    hub = make_hub(tmp_path, sync={"order": ["a", "b"], "deletes": {"max_ratio": 1.0}})
    sync(hub)
    [(kb, _)] = find("b", "key_result")
    del memory.WORLD["b"][("key_result", kb)]
    edit("a", "key_result", "k1", title="Reach 6M ARR")  # a real edit beats the delete
    sync(hub)
    sync(hub)
    assert [f["title"] for _, f in find("b", "key_result")] == ["Reach 6M ARR"]
    assert hub.store.count("key_result") == 1 and hub.store.count("check_in") == 1
    assert [ext for ext, _ in find("a", "check_in")] == ["c1"]
