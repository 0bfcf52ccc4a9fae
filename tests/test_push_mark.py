"""Push marks (store m008_push_marks): after a push that left an endpoint wholly in step, the
next push looks only at what changed since, and plans exactly what a full look would."""

import pytest

from .helpers.memory import MemoryConnector, add, edit, find, make_hub
from .helpers.saas_e2e import sync

pytestmark = pytest.mark.usefixtures("fresh_world")


def _seeded(tmp_path, krs=5):
    hub = make_hub(tmp_path)
    add("a", "objective", "o1", title="O")
    for i in range(krs):
        add("a", "key_result", f"k{i}", objective_id="o1", title=f"KR {i}", current=float(i))
    sync(hub)
    return hub


def _looked_at(hub, endpoint, monkeypatch):
    """The candidates plan_push read from the store, and the plan."""
    seen, original = [], hub.store.push_candidates

    def spy(name, mark=None):
        for row in original(name, mark):
            seen.append(row[0])
            yield row
    monkeypatch.setattr(hub.store, "push_candidates", spy)
    plan = hub.plan_push(endpoint)
    monkeypatch.setattr(hub.store, "push_candidates", original)
    return seen, plan


def test_after_a_clean_push_only_records_changed_since_are_looked_at(tmp_path, monkeypatch):
    hub = _seeded(tmp_path)
    assert hub.store.push_mark("a") is not None and hub.store.push_mark("b") is not None
    edit("a", "key_result", "k2", current=9.0)
    hub.apply_pull(hub.plan_pull("a"), hub.store.begin_run("sync"))
    seen, plan = _looked_at(hub, "b", monkeypatch)
    [cid] = seen  # one of six records
    assert [(c.op, c.canonical_id, c.fields["current"]) for c in plan.changes] == [("update", cid, 9.0)]
    assert plan.counters.unchanged == 5 == hub.store.in_step("b", count=True)  # the full count agrees
    nothing, quiet = _looked_at(hub, "a", monkeypatch)  # a read the edit: in step with it already
    assert nothing == [] and quiet.changes == [] and quiet.counters.unchanged == 6


def test_a_link_dropped_drops_the_mark_and_the_record_is_created_again(tmp_path, monkeypatch):
    hub = _seeded(tmp_path)
    [(kr_on_b, _)] = find("b", "key_result", title="KR 3")
    cid = hub.store.db.execute("SELECT canonical_id FROM links WHERE endpoint = 'b' AND external_id = ?",
                               [kr_on_b]).fetchone()[0]
    hub.store.unlink("b", cid)  # e.g. a title-keyed tool renamed it: nothing in the change log says so
    assert hub.store.push_mark("b") is None and hub.store.push_mark("a") is not None
    seen, plan = _looked_at(hub, "b", monkeypatch)
    assert len(seen) == 1 and [(c.op, c.canonical_id) for c in plan.changes] == [("create", cid)]
    assert plan.counters.unchanged == 5


def test_a_refused_create_leaves_no_mark_and_is_sent_again(tmp_path, monkeypatch):
    hub = _seeded(tmp_path, krs=2)
    MemoryConnector.refuse = {"New KR"}
    add("a", "key_result", "k9", objective_id="o1", title="New KR")
    sync(hub)
    mark_b = hub.store.push_mark("b")
    [plan] = [p for p in sync(hub) if p.endpoint == "b" and p.direction == "push"]
    assert hub.store.push_mark("b") == mark_b  # not moved past the refused create
    assert plan.counters.created == 0 and plan.counters.rejected == 1  # planned again, refused again
    MemoryConnector.refuse = set()
    sync(hub)
    assert [f["title"] for _, f in find("b", "key_result")].count("New KR") == 1
    assert hub.store.push_mark("b") > mark_b


def test_a_store_without_marks_plans_the_same_as_one_with(tmp_path):
    """The mark is only a shortcut: dropping every mark changes no plan."""
    hub = _seeded(tmp_path)
    edit("a", "key_result", "k1", title="KR one")
    add("a", "key_result", "k7", objective_id="o1", title="KR 7")
    hub.apply_pull(hub.plan_pull("a"), hub.store.begin_run("sync"))
    with_mark = hub.plan_push("b")
    hub.store.db.execute("DELETE FROM push_marks")
    without = hub.plan_push("b")
    assert [c.as_dict() for c in with_mark.changes] == [c.as_dict() for c in without.changes]
    assert len(with_mark.changes) == 2 and with_mark.counters.unchanged == without.counters.unchanged == 5


def test_the_work_of_a_push_after_one_edit_does_not_grow_with_the_store(tmp_path):
    """SQLite's own instruction count: with the mark, the push planning after one edit is a
    small fraction of the same planning that must look at all 1,001 records."""
    hub = _seeded(tmp_path, krs=1000)
    edit("a", "key_result", "k500", current=-1.0)
    hub.apply_pull(hub.plan_pull("a"), hub.store.begin_run("sync"))
    steps = [0]

    def count():
        steps[0] += 1
        return 0
    hub.store.db.conn.set_progress_handler(count, 100)
    with_mark = hub.plan_push("b")
    marked, steps[0] = steps[0], 0
    hub.store.db.execute("DELETE FROM push_marks")
    without = hub.plan_push("b")
    hub.store.db.conn.set_progress_handler(None, 100)
    assert len(with_mark.changes) == len(without.changes) == 1
    assert with_mark.counters.unchanged == without.counters.unchanged == 1000
    assert marked * 10 < steps[0], (marked, steps[0])


def test_a_link_moved_to_another_entity_drops_the_mark(tmp_path):
    from okrsync.store import Link

    hub = _seeded(tmp_path, krs=2)
    [(kr_on_b, _)] = find("b", "key_result", title="KR 0")
    cids = dict(hub.store.db.execute("SELECT external_id, canonical_id FROM links WHERE endpoint = 'b'"))
    other = next(cid for ext, cid in cids.items() if ext != kr_on_b and cid.startswith("kr_"))
    run = hub.store.begin_run("sync")
    hub.store.set_links("b", run, [Link("key_result", kr_on_b, cids[kr_on_b], {}, None, False)])  # same entity
    assert hub.store.push_mark("b") is not None
    hub.store.unlink("b", other)
    hub.store.set_push_mark("b", 1)
    hub.store.set_links("b", run, [Link("key_result", kr_on_b, other, {}, None, False)])  # KR 0 left unlinked
    assert hub.store.push_mark("b") is None
    plan = hub.plan_push("b")
    assert [(c.op, c.canonical_id) for c in plan.changes if c.op == "create"] == [("create", cids[kr_on_b])]
