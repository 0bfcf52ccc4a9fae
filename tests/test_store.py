import os
import sqlite3

import pytest

import okrsync.config
from okrsync.connector import Connector, Cursor, Record
from okrsync.errors import RetryableError, StoreError
from okrsync.store import MIGRATIONS, SHARED, Link, Store, diff, dumps
from okrsync.sync import CURSOR_STREAM, Hub

from .helpers.records import as_read

TABLES = {"entities", "links", "changes", "runs", "cursors", "conflicts", "intents", "rejections"}


def table_names(store):
    return set(store.db.table_names())


def snapshot(store):
    """Everything a failed write must leave untouched."""
    return {
        "entities": store.db.execute("SELECT * FROM entities ORDER BY rowid").fetchall(),
        "changes": store.db.execute("SELECT * FROM changes ORDER BY id").fetchall(),
        "links": store.db.execute("SELECT * FROM links ORDER BY rowid").fetchall(),
        "cursors": store.db.execute("SELECT * FROM cursors ORDER BY rowid").fetchall(),
    }


# ------------------------------------------------------------------ opening

def test_migrations_create_every_table(store):
    assert table_names(store) >= TABLES
    applied = [m.name for m in MIGRATIONS.applied(store.db)]
    assert applied == ["m001_initial", "m002_digests", "m003_rejections", "m004_intents_by_record", "m005_link_keys",
                       "m006_partial_indexes", "m007_kept_index",
                       "m008_push_marks", "m009_shared_bases", "m010_settled_intents", "m011_levels_index",
                       "m012_change_actors", "m013_created_once", "m014_link_index",
                       "m015_compact_records", "m016_links_by_entity", "m017_rare_kind_index"]


def test_an_older_store_is_migrated_on_open(tmp_path):
    import sqlite_utils

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before="m002_digests")  # a store written by the first release
    old["entities"].insert({"id": "obj_1", "kind": "objective", "fields": '{"title":"A"}', "deleted": 0})
    old.close()
    store = Store(path)
    assert "digest" in store.db["entities"].columns_dict and "digest" in store.db["links"].columns_dict
    assert store.get("obj_1") == ("objective", as_read("objective", {"title": "A"}))
    store.close()


def written(path, fields=None) -> tuple[Store, str]:
    """A file store at ``path`` where a pull run wrote objective obj_1 (``fields``, else title
    A): (store, run id)."""
    store = Store(path)
    run = store.begin_run("pull")
    store.mutate(run, "sheet", "objective", "obj_1", fields or {"title": "A"})
    return store, run


def test_reopening_a_file_store_does_not_rerun_migrations(tmp_path):
    path = tmp_path / "okrsync.db"
    first, run = written(path)
    applied_at = [(m.name, m.applied_at) for m in MIGRATIONS.applied(first.db)]
    first.close()

    second = Store(path)  # a re-run of m001 would fail: "table entities already exists"
    assert [(m.name, m.applied_at) for m in MIGRATIONS.applied(second.db)] == applied_at
    assert MIGRATIONS.pending(second.db) == []
    assert second.get("obj_1") == ("objective", as_read("objective", {"title": "A"}))
    assert [r["id"] for r in second.runs()] == [run]
    second.close()


def test_file_store_uses_wal(tmp_path):
    s = Store(tmp_path / "okrsync.db")
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    s.close()


def test_opening_a_file_that_is_not_a_database_names_the_path(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not a sqlite database, just some text\n" * 100)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(path) in str(info.value)
    assert "cannot open store" in str(info.value)


# ------------------------------------------------------------------ mutate and the change log

def test_mutate_logs_a_row_per_create_delete_and_changed_field(store):
    run = store.begin_run("pull")

    created = store.mutate(run, "sheet", "key_result", "kr_1", {"title": "Grow", "target": 100, "current": None})
    assert created == {"title": (None, "Grow"), "target": (None, 100)}  # a None field is no change
    assert store.get("kr_1") == ("key_result", as_read("key_result", {"title": "Grow", "target": 100, "current": None}))

    updated = store.mutate(run, "jira", "key_result", "kr_1", {"title": "Grow", "target": 120, "current": 70})
    assert updated == {"target": (100, 120), "current": (None, 70)}

    deleted = store.mutate(run, "cli", "key_result", "kr_1", None)
    assert deleted == {"title": ("Grow", None), "target": (120, None), "current": (70, None)}
    assert store.get("kr_1") is None
    assert store.count("key_result") == 0

    rows = [(r["run_id"], r["entity_id"], r["entity_kind"], r["field"], r["old"], r["new"], r["origin"], r["kind"])
            for r in store.changes()]
    # a create and a delete are one row holding the record; an update is a row per field
    assert rows == [
        (run, "kr_1", "key_result", "*", None, as_read("key_result", {"target": 100, "title": "Grow"}), "sheet", "create"),
        (run, "kr_1", "key_result", "current", None, 70, "jira", "update"),
        (run, "kr_1", "key_result", "target", 100, 120, "jira", "update"),
        (run, "kr_1", "key_result", "*", as_read("key_result", {"current": 70, "target": 120, "title": "Grow"}), None, "cli", "delete"),
    ]
    assert all(r["at"].endswith("Z") for r in store.changes())


def test_mutate_revives_a_deleted_entity_as_a_create(store):
    run = store.begin_run("pull")
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
    store.mutate(run, "sheet", "objective", "obj_1", None)
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
    assert store.get("obj_1") == ("objective", as_read("objective", {"title": "A"}))
    assert [r["kind"] for r in store.changes()] == ["create", "delete", "create"]


def test_unchanged_mutate_writes_nothing(store, monkeypatch):
    import okrsync.store as store_module

    run = store.begin_run("pull")
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "A", "owner": "ana"})
    before = snapshot(store)
    monkeypatch.setattr(store_module, "NOW", lambda: "2999-01-01T00:00:00.000Z")  # a write would show
    assert store.mutate(run, "sheet", "objective", "obj_1", {"owner": "ana", "title": "A"}) == {}
    assert store.mutate(run, "sheet", "objective", "obj_1", {"title": "A", "owner": "ana"},
                        old={"title": "A", "owner": "ana"}) == {}
    assert store.mutate(run, "sheet", "objective", "nope", None) == {}  # deleting nothing
    assert snapshot(store) == before


def test_mutate_with_explicit_change_kind(store):
    run = store.begin_run("revert")
    store.mutate(run, "cli", "objective", "obj_1", {"title": "A"})
    store.mutate(run, "cli", "objective", "obj_1", {"title": "B"}, change="revert")
    assert [r["kind"] for r in store.changes()] == ["create", "revert"]


def test_mutate_outside_atomic_commits_entity_and_change_rows_together(tmp_path):
    path = tmp_path / "okrsync.db"
    s, _ = written(path, {"title": "A", "owner": "ana"})
    assert not s.db.conn.in_transaction
    s.close()

    again = Store(path)
    assert again.get("obj_1") == ("objective", as_read("objective", {"title": "A", "owner": "ana"}))
    assert [(r["field"], r["new"]) for r in again.changes()] == [("*", as_read("objective", {"owner": "ana", "title": "A"}))]
    again.close()


def test_mutate_is_visible_to_another_connection(tmp_path):
    path = tmp_path / "okrsync.db"
    writer, _ = written(path)
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT count(*) FROM changes").fetchone()[0] == 1
    reader.close()
    writer.close()


def test_log_change_appends_without_touching_state(store):
    run = store.begin_run("sync")
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
    store.log_change(run, "jira", "objective", "obj_1", "title", "A", "B", "conflict")
    assert store.get("obj_1") == ("objective", as_read("objective", {"title": "A"}))
    assert store.changes()[-1] | {"id": None, "at": None} == {
        "id": None, "run_id": run, "at": None, "entity_id": "obj_1", "entity_kind": "objective", "field": "title",
        "old": "A", "new": "B", "origin": "jira", "kind": "conflict", "actor": None}


def test_the_actor_a_tool_names_is_kept_on_each_change_row(store):
    run = store.begin_run("pull")
    store.create_many(run, "jira", [("objective", "obj_1", {"title": "A"}), ("objective", "obj_2", {"title": "B"})],
                      {"obj_1": "Mia Chen"})
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "A2", "owner": "x@example.com"}, actor="Ola Berg")
    store.mutate(run, "sheet", "objective", "obj_2", {"title": "B2"})
    assert [(r["entity_id"], r["field"], r["actor"]) for r in store.changes()] == [
        ("obj_1", "*", "Mia Chen"), ("obj_2", "*", None),
        ("obj_1", "owner", "Ola Berg"), ("obj_1", "title", "Ola Berg"), ("obj_2", "title", None)]


def test_a_store_from_before_actors_keeps_its_changes_with_no_actor(tmp_path):
    import sqlite_utils

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before="m012_change_actors")
    old.execute("INSERT INTO runs (id, command, started) VALUES (1, 'pull', '2026-01-01T00:00:00Z')")
    old.execute("INSERT INTO changes (run_id, at, entity_id, entity_kind, field, old, new, origin, kind) "
                "VALUES (1, '2026-01-01T00:00:00.000Z', 'obj_1', 'objective', '*', NULL, '{\"title\":\"A\"}', 'sheet', 'create')")
    old.conn.commit()
    old.close()
    store = Store(path)
    assert [(r["origin"], r["actor"]) for r in store.changes()] == [("sheet", None)]
    store.close()


@pytest.mark.parametrize("sql", [
    "UPDATE changes SET new = '\"hacked\"'",
    "UPDATE changes SET origin = 'x' WHERE id = 1",
    "DELETE FROM changes",
    "DELETE FROM changes WHERE id = 1",
])
def test_change_log_is_append_only(store, sql):
    run = store.begin_run("pull")
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
    before = store.changes()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # IntegrityError is a DatabaseError
        store.db.execute(sql)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), store.atomic():
        store.db.execute(sql)
    assert store.changes() == before


def test_change_rows_must_belong_to_a_run_and_a_failed_log_write_keeps_no_entity(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.mutate(999, "sheet", "objective", "obj_1", {"title": "A"})
    assert store.get("obj_1") is None  # entity and change rows are written together or not at all
    assert store.changes() == []
    assert not store.db.conn.in_transaction


# ------------------------------------------------------------------ atomic

def test_failure_inside_atomic_leaves_nothing_behind(store):
    run = store.begin_run("pull")
    store.set_cursor("sheet", "records", "cursor-1", run)
    store.mutate(run, "sheet", "objective", "obj_0", {"title": "Kept"})
    store.set_link("sheet", "objective", "row-0", "obj_0", {"title": "Kept"}, run)
    before = snapshot(store)

    with pytest.raises(RuntimeError, match="boom"), store.atomic():
        store.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
        store.mutate(run, "sheet", "key_result", "kr_1", {"title": "K", "objective_id": "obj_1"})
        store.mutate(run, "sheet", "objective", "obj_0", {"title": "Renamed"})
        store.mutate(run, "sheet", "objective", "obj_0", None)
        store.set_link("sheet", "objective", "row-1", "obj_1", {"title": "A"}, run)
        store.set_link("sheet", "objective", "row-0", "obj_0", {"title": "Renamed"}, run)
        store.set_cursor("sheet", "records", "cursor-2", run)
        store.set_cursor("sheet", "other", "new-stream", run)
        store.log_change(run, "jira", "objective", "obj_1", "title", "A", "B", "conflict")
        assert store.get("obj_1") is not None  # visible inside the transaction
        raise RuntimeError("boom")

    assert snapshot(store) == before
    assert store.get("obj_1") is None and store.get("kr_1") is None
    assert store.get("obj_0") == ("objective", as_read("objective", {"title": "Kept"}))
    assert store.links("sheet") == {("objective", "row-0"): ("obj_0", dumps({"title": "Kept"}))}
    assert store.cursor("sheet", "records") == "cursor-1"
    assert store.cursor("sheet", "other") is None
    assert [r["entity_id"] for r in store.changes()] == ["obj_0"]


def test_failure_inside_atomic_on_a_file_store_after_earlier_writes(tmp_path):
    path = tmp_path / "okrsync.db"
    s = Store(path)
    run = s.begin_run("pull")
    s.mutate(run, "sheet", "objective", "obj_0", {"title": "Kept"})  # outside atomic
    with pytest.raises(RuntimeError), s.atomic():
        s.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
        s.set_cursor("sheet", "records", "c", run)
        raise RuntimeError("boom")
    s.close()
    s = Store(path)
    assert [id_ for id_, _, _ in s.entities()] == ["obj_0"]
    assert [r["entity_id"] for r in s.changes()] == ["obj_0"]
    assert s.cursor("sheet", "records") is None
    s.close()


def test_atomic_commits_on_success(tmp_path):
    path = tmp_path / "okrsync.db"
    s = Store(path)
    run = s.begin_run("pull")
    with s.atomic():
        s.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
        s.set_link("sheet", "objective", "row-1", "obj_1", {"title": "A"}, run)
        s.set_cursor("sheet", "records", "c1", run)
    s.close()
    s = Store(path)
    assert s.get("obj_1") == ("objective", as_read("objective", {"title": "A"}))
    assert s.links("sheet") == {("objective", "row-1"): ("obj_1", '{"title":"A"}')}
    assert s.cursor("sheet", "records") == "c1"
    assert len(s.changes()) == 1
    s.close()


# ------------------------------------------------------------------ runs

def test_begin_and_finish_run(store):
    first = store.begin_run("pull", dry_run=True)
    second = store.begin_run("push")
    assert second == first + 1
    running = {r["id"]: r for r in store.runs()}
    assert running[first]["status"] == "running" and running[first]["finished"] is None
    assert running[first]["dry_run"] == 1 and running[second]["dry_run"] == 0
    assert running[first]["counters"] == {}

    store.finish_run(first, "ok", {"created": 3, "updated": 1, "sheet": {"read": 4}})
    store.finish_run(second, "failed", {"created": 0}, error="sheet: 503")
    runs = store.runs()
    assert [r["id"] for r in runs] == [second, first]  # newest first
    done = {r["id"]: r for r in runs}
    assert done[first]["status"] == "ok"
    assert done[first]["counters"] == {"created": 3, "updated": 1, "sheet": {"read": 4}}
    assert done[first]["finished"] >= done[first]["started"]
    assert done[first]["command"] == "pull" and done[first]["error"] is None
    assert done[second]["status"] == "failed" and done[second]["error"] == "sheet: 503"
    assert len(store.runs(limit=1)) == 1


def test_begin_run_is_committed_at_once(tmp_path):
    path = tmp_path / "okrsync.db"
    s = Store(path)
    run = s.begin_run("pull")
    other = sqlite3.connect(path)
    assert other.execute("SELECT command, status FROM runs WHERE id = ?", [run]).fetchone() == ("pull", "running")
    other.close()
    s.close()


def test_begin_run_inside_a_failed_atomic_block_is_rolled_back(store):
    with pytest.raises(RuntimeError), store.atomic():
        store.begin_run("pull")
        raise RuntimeError("x")
    assert store.runs() == []


# ------------------------------------------------------------------ querying the change log

@pytest.fixture
def history(store, monkeypatch):
    """Three runs with known times: 2025-01-01, -02, -03."""
    times = iter(f"2025-01-0{day}T10:00:00.000Z" for day in (1, 1, 2, 2, 3, 3, 3))
    import okrsync.store as store_module

    monkeypatch.setattr(store_module, "NOW", lambda: next(times))
    r1 = store.begin_run("pull")
    store.mutate(r1, "sheet", "objective", "obj_1", {"title": "A"})
    r2 = store.begin_run("pull")
    store.mutate(r2, "sheet", "objective", "obj_1", {"title": "B", "owner": "ana"})
    r3 = store.begin_run("pull")
    store.mutate(r3, "jira", "objective", "obj_2", {"title": "C"})
    store.mutate(r3, "jira", "objective", "obj_1", {"title": "D", "owner": "ana"})
    return store, (r1, r2, r3)


def fields_of(rows):
    return [(r["entity_id"], r["field"], r["new"]) for r in rows]


def test_changes_all_oldest_first(history):
    store, _ = history
    assert fields_of(store.changes()) == [
        ("obj_1", "*", as_read("objective", {"title": "A"})), ("obj_1", "owner", "ana"), ("obj_1", "title", "B"),
        ("obj_2", "*", as_read("objective", {"title": "C"})), ("obj_1", "title", "D")]


def test_changes_since(history):
    store, _ = history
    assert fields_of(store.changes(since="2025-01-02T00:00:00Z")) == [
        ("obj_1", "owner", "ana"), ("obj_1", "title", "B"), ("obj_2", "*", as_read("objective", {"title": "C"})), ("obj_1", "title", "D")]
    assert fields_of(store.changes(since="2025-01-03T10:00:00.000Z")) == [
        ("obj_2", "*", as_read("objective", {"title": "C"})), ("obj_1", "title", "D")]
    assert store.changes(since="2025-02-01") == []


def test_changes_by_entity_and_run(history):
    store, (r1, r2, r3) = history
    assert fields_of(store.changes(entity="obj_2")) == [("obj_2", "*", as_read("objective", {"title": "C"}))]
    assert fields_of(store.changes(run=r2)) == [("obj_1", "owner", "ana"), ("obj_1", "title", "B")]
    assert fields_of(store.changes(run=r3, entity="obj_1")) == [("obj_1", "title", "D")]
    assert store.changes(entity="nope") == []
    assert store.changes(run=999) == []
    assert {r["old"] for r in store.changes(run=r3, entity="obj_1")} == {"B"}


def test_changes_limit_keeps_the_newest_oldest_first(history):
    store, (r1, _, _) = history
    assert fields_of(store.changes(limit=2)) == [("obj_2", "*", as_read("objective", {"title": "C"})), ("obj_1", "title", "D")]
    assert fields_of(store.changes(limit=2, entity="obj_1")) == [("obj_1", "title", "B"), ("obj_1", "title", "D")]
    assert fields_of(store.changes(limit=100, run=r1)) == [("obj_1", "*", as_read("objective", {"title": "A"}))]
    assert fields_of(store.changes(limit=1, since="2025-01-02")) == [("obj_1", "title", "D")]


def test_changes_round_trip_json_values(store):
    run = store.begin_run("pull")
    store.mutate(run, "key_result", "key_result", "kr_1", {"target": 1.5, "labels": ["a", "é"], "done": False, "n": 0})
    store.mutate(run, "key_result", "key_result", "kr_1", {"target": 2.5, "labels": ["b"], "done": True, "n": 0})
    created, *updated = store.changes()
    assert created["new"] == as_read("key_result", {"target": 1.5, "labels": ["a", "é"], "done": False, "n": 0})
    assert {r["field"]: (r["old"], r["new"]) for r in updated} == {
        "target": (1.5, 2.5), "labels": (["a", "é"], ["b"]), "done": (False, True)}


# ------------------------------------------------------------------ links, cursors, helpers

def test_links_and_cursors(store):
    run = store.begin_run("pull")
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "A"})
    store.set_link("sheet", "objective", "row-1", "obj_1", {"title": "A"}, run)
    store.set_link("sheet", "objective", "row-1", "obj_1", {"title": "B"}, run)  # upsert
    store.set_link("jira", "objective", "OKR-1", "obj_1", None, run)
    assert store.links("sheet") == {("objective", "row-1"): ("obj_1", '{"title":"B"}')}
    assert store.links("jira") == {("objective", "OKR-1"): ("obj_1", None)}
    store.drop_link("sheet", "objective", "row-1")
    assert store.links("sheet") == {}

    assert store.cursor("sheet", "records") is None
    store.set_cursor("sheet", "records", "a", run)
    store.set_cursor("sheet", "records", "b", run)
    assert store.cursor("sheet", "records") == "b"
    assert store.cursor("jira", "records") is None


def test_entities_and_count(store):
    run = store.begin_run("pull")
    store.mutate(run, "s", "objective", "obj_1", {"title": "A"})
    store.mutate(run, "s", "key_result", "kr_1", {"title": "K"})
    store.mutate(run, "s", "objective", "obj_2", {"title": "B"})
    store.mutate(run, "s", "objective", "obj_1", None)
    assert [(i, k) for i, k, _ in store.entities()] == [("kr_1", "key_result"), ("obj_2", "objective")]
    assert [i for i, _, _ in store.entities("objective")] == ["obj_2"]
    assert store.count() == 2 and store.count("objective") == 1 and store.count("team") == 0


def test_diff_and_dumps():
    assert diff({"a": 1, "b": None}, {"a": 1, "c": 2}) == {"c": (None, 2)}
    assert diff(None, None) == {}
    assert dumps({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


# ------------------------------------------------------------------ the hub rolls back too

def hub_config(tmp_path):
    return okrsync.config.Config.of(tmp_path, {"fake": {"type": "fake"}})


class FailingReadConnector(Connector):
    name = "fake"

    def read(self, cursor):
        yield Record("objective", "O-1", {"title": "One"}, where="row 1")
        yield Record("key_result", "KR-1", {"title": "K", "objective_id": "O-1", "target": 10}, where="row 2")
        raise RetryableError("503 Service Unavailable", endpoint=self.endpoint)


class GoodReadConnector(Connector):
    name = "fake"

    def read(self, cursor):
        yield Record("objective", "O-1", {"title": "One"}, where="row 1")
        yield Record("key_result", "KR-1", {"title": "K", "objective_id": "O-1", "target": 10}, where="row 2")
        yield Record("objective", "O-2", {"title": "Two"}, where="row 3")
        yield Cursor("v2", full_listing=True)


def test_hub_read_failure_midway_writes_nothing(tmp_path, store):
    store.set_cursor("fake", CURSOR_STREAM, "v1", store.begin_run("pull"))
    before = snapshot(store)
    hub = Hub(hub_config(tmp_path), store, {"fake": FailingReadConnector})
    with pytest.raises(RetryableError, match="fake: 503"):
        hub.plan_pull("fake")
    assert snapshot(store) == before
    assert store.count() == 0
    assert store.changes() == []
    assert store.links("fake") == {}
    assert store.cursor("fake", CURSOR_STREAM) == "v1"


def test_hub_store_failure_midway_rolls_back(tmp_path, store, monkeypatch):
    old_run = store.begin_run("pull")
    store.set_cursor("fake", CURSOR_STREAM, "v1", old_run)
    hub = Hub(hub_config(tmp_path), store, {"fake": GoodReadConnector})
    plan = hub.plan_pull("fake")
    assert plan.counters.created == 3 and plan.cursor == Cursor("v2", True)
    before = snapshot(store)

    def broken_set_cursor(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "set_cursor", broken_set_cursor)
    run = store.begin_run("pull")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        hub.apply_pull(plan, run)
    assert snapshot(store) == before
    assert store.count() == 0
    assert store.changes() == []
    assert store.links("fake") == {}
    assert store.cursor("fake", CURSOR_STREAM) == "v1"

    # the same plan applies cleanly once the store works again
    monkeypatch.undo()
    hub.apply_pull(plan, run)
    assert store.count() == 3
    assert store.cursor("fake", CURSOR_STREAM) == "v2"
    kr_id = next(i for i, k, _ in store.entities("key_result"))
    obj_id = store.links("fake")[("objective", "O-1")][0]
    assert store.get(kr_id)[1]["objective_id"] == obj_id
    assert {r["origin"] for r in store.changes(run=run)} == {"fake"}


def test_hub_store_failure_in_a_file_store_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "okrsync.db"
    store = Store(path)
    hub = Hub(hub_config(tmp_path), store, {"fake": GoodReadConnector})
    plan = hub.plan_pull("fake")
    run = store.begin_run("pull")
    monkeypatch.setattr(store, "set_cursor", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        hub.apply_pull(plan, run)
    store.close()
    again = Store(path)
    assert again.count() == 0 and again.changes() == [] and again.links("fake") == {}
    again.close()


def test_keys_people_see_are_kept_with_links_and_resolve_to_the_record(store):
    store.set_links("jira", 1, [Link("objective", "10042", "obj_1", {}, None, False)])
    store.set_links("sheet", 1, [Link("objective", "CO-1", "obj_1", {}, None, False),
                                 Link("objective", "CO-2", "obj_2", {}, None, False)])
    store.set_links("other", 1, [Link("objective", "CO-2", "obj_3", {}, None, False)])
    store.set_keys("jira", {"10042": "OKR-12"})
    assert store.keys() == {"obj_1": ["jira OKR-12"]}
    assert [store.resolve(r) for r in ("OKR-12", "okr-12", "10042", "CO-1", "obj_9")] == [
        "obj_1", "obj_1", "obj_1", "obj_1", "obj_9"]
    with pytest.raises(StoreError, match=r"'CO-2' names 2 records on different endpoints \(obj_2, obj_3\)"):
        store.resolve("CO-2")


def test_keys_find_links_of_every_kind_by_their_primary_key(tmp_path):
    import sqlite_utils

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before="m014_link_index")
    assert "idx_links_endpoint_external_id" in {i.name for i in old["links"].indexes}
    old.close()
    store = Store(path)
    assert "idx_links_endpoint_external_id" not in {i.name for i in store.db["links"].indexes}  # dropped on open
    store.set_keys("jira", {"10042": "OKR-12"})  # no links there yet: nothing to set
    store.set_links("jira", 1, [Link("objective", "10042", "obj_1", {}, None, False),
                                Link("key_result", "10043", "kr_1", {}, None, False)])
    store.set_keys("jira", {"10042": "OKR-12", "10043": "OKR-13", "10044": "OKR-14"})
    sql = "EXPLAIN QUERY PLAN UPDATE links SET key = 'k' WHERE endpoint = 'jira' AND kind IN ('a', 'b') AND external_id = 'x'"
    assert "sqlite_autoindex_links_1 (endpoint=? AND kind=? AND external_id=?)" in str(store.db.execute(sql).fetchall())
    assert store.keys() == {"obj_1": ["jira OKR-12"], "kr_1": ["jira OKR-13"]}
    store.close()


def test_links_are_found_by_entity_through_one_index(tmp_path):
    import sqlite_utils

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before="m016_links_by_entity")
    assert {"idx_links_shared", "idx_links_endpoint_canonical_id"} <= {i.name for i in old["links"].indexes}
    old.close()
    store = Store(path)
    indexes = {i.name: i for i in store.db["links"].indexes}
    assert not {"idx_links_shared", "idx_links_endpoint_canonical_id"} & indexes.keys()  # dropped on open
    assert indexes["idx_links_canonical_id_endpoint"].unique
    plan = lambda sql: str(store.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())  # noqa: E731
    # one endpoint's link of an entity (link_base, mark_in_step, pushes' joins), and an entity's
    # shared bases, which entities_unshare_bases copies before its fields change
    by_entity = "idx_links_canonical_id_endpoint (canonical_id=? AND endpoint=?)"
    assert by_entity in plan("SELECT base FROM links WHERE endpoint = 'a' AND canonical_id = 'x'")
    assert "idx_links_canonical_id_endpoint (canonical_id=?)" in plan(
        "UPDATE links SET base = 'b' WHERE canonical_id = 'x' AND base = '='")
    assert by_entity in plan("SELECT e.id FROM entities e LEFT JOIN links l ON l.endpoint = 'a' AND l.canonical_id = e.id")
    # an endpoint's links, by their primary key
    assert "sqlite_autoindex_links_1 (endpoint=?)" in plan("SELECT canonical_id, external_id FROM links WHERE endpoint = 'a'")
    run = store.begin_run("pull")
    store.create_many(run, "sheet", [("objective", "obj_1", {"title": "A"})])
    store.set_links("sheet", run, [Link("objective", "O-1", "obj_1", SHARED, None, True)])
    store.mutate(run, "sheet", "objective", "obj_1", {"title": "B"})
    assert store.base("sheet", "obj_1") == '{"title":"A"}'  # unshared through the index
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        store.set_links("sheet", run, [Link("objective", "O-2", "obj_1", None, None, False)])
    store.close()


def test_the_few_entities_of_a_rare_kind_are_found_through_their_own_index(store):
    run = store.begin_run("pull")
    store.create_many(run, "sheet", [("objective", "obj_1", {"title": "A"}), ("key_result", "kr_1", {"title": "K"}),
                                     ("key_result", "kr_2", {"title": "L"}),
                                     ("check_in", "chk_1", {"key_result_id": "kr_1", "at": "2026-01-01T00:00:00Z"}),
                                     ("check_in", "chk_2", {"key_result_id": "kr_2", "at": "2026-01-02T00:00:00Z"})])
    store.mutate(run, "sheet", "key_result", "kr_2", None)
    indexes = {i.name for i in store.db["entities"].indexes}
    assert "idx_entities_rare" in indexes and "idx_entities_kind" not in indexes
    assert [store.count(k) for k in ("objective", "key_result", "check_in", "initiative")] == [1, 1, 2, 0]
    assert [i for i, _, _ in store.entities("check_in")] == ["chk_1", "chk_2"]
    assert [i for i, _, _ in store.entities("key_result")] == ["kr_1"]
    assert [i for i, _ in store.orphans("check_in", "key_result_id")] == ["chk_2"]  # its KR deleted
    # what every pull that changes something asks (checkins.settle, Hub._bury_check_ins)
    traced = []
    store.db.conn.set_trace_callback(traced.append)
    store.count("check_in"), list(store.entities("check_in")), store.orphans("check_in", "key_result_id")
    store.db.conn.set_trace_callback(None)
    assert len(traced) == 3
    for sql in traced:
        plan = str(store.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
        assert "USING INDEX idx_entities_rare (kind=?)" in plan, sql


def _indexes(store) -> list:
    return store.db.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall()


def test_a_bulk_create_into_empty_tables_builds_their_indexes_after_the_rows(tmp_path):
    store = Store(tmp_path / "okrsync.db")
    before = _indexes(store)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    run = store.begin_run("pull")
    with store.atomic():
        store.create_many(run, "sheet", [("objective", f"obj_{i:012x}", {"title": f"O{i}"}) for i in range(3)])
        store.set_links("sheet", run, [Link("objective", f"O{i}", f"obj_{i:012x}", None, None) for i in range(3)],
                        shared={f"obj_{i:012x}" for i in range(3)})
    store.db.conn.set_trace_callback(None)
    # the same indexes as before, each dropped and built again once: 5 of entities, 2 of changes, 3 of links
    assert _indexes(store) == before
    dropped = [s for s in statements if s.startswith("DROP INDEX")]
    assert len(dropped) == 10 and len([s for s in statements if s.startswith("CREATE ") and " INDEX " in s]) == 10
    assert store.db.execute("SELECT count(*) FROM links WHERE base = ? AND digest IS NOT NULL", [SHARED]).fetchone() == (3,)
    # tables that hold rows keep their indexes while rows are added
    statements.clear()
    store.db.conn.set_trace_callback(statements.append)
    store.create_many(run, "sheet", [("objective", "obj_00000000000a", {"title": "later"})])
    store.db.conn.set_trace_callback(None)
    assert not [s for s in statements if s.startswith("DROP INDEX")]


def test_a_bulk_create_that_fails_leaves_the_indexes_and_no_rows(tmp_path):
    store = Store(tmp_path / "okrsync.db")
    before = _indexes(store)
    run = store.begin_run("pull")
    with pytest.raises(sqlite3.IntegrityError), store.atomic():
        store.create_many(run, "sheet", [("objective", "obj_1", {"title": "a"})])
        # two links of one entity on one endpoint: the UNIQUE index, built after the rows, refuses them
        store.set_links("sheet", run, [Link("objective", "O1", "obj_1", None, None), Link("objective", "O2", "obj_1", None, None)])
    assert _indexes(store) == before
    assert store.db.execute("SELECT (SELECT count(*) FROM entities) + (SELECT count(*) FROM links)").fetchone() == (0,)


def test_new_ids_are_random_unique_and_never_shared_with_a_forked_child():
    """Drawn in batches (issue 21), still 48 random bits each; a child forked mid-batch
    draws its own, so two processes never hand out the same id."""
    import re

    from okrsync.store import new_id

    ids = [new_id("key_result") for _ in range(10_000)]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"kr_[0-9a-f]{12}", i) for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, to the parent
        os.write(write, new_id("objective").encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    theirs = os.read(read, 100).decode()
    assert theirs.startswith("obj_") and theirs[4:] != new_id("objective")[4:]


def test_a_new_store_takes_bigger_pages_and_an_existing_one_keeps_its_own(tmp_path):
    from okrsync.store import PAGE_BYTES

    new = Store(tmp_path / "new.db")
    assert new.db.execute("PRAGMA page_size").fetchone()[0] == PAGE_BYTES
    new.close()
    old = sqlite3.connect(tmp_path / "old.db")  # a store made before: SQLite's default pages
    old.execute("PRAGMA page_size = 4096")
    old.execute("PRAGMA journal_mode = wal")
    old.close()
    store = Store(tmp_path / "old.db")
    run = store.begin_run("pull")
    store.create_many(run, "sheet", [("objective", "obj_1", {"title": "A"})])
    assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert store.get("obj_1")[1]["title"] == "A"


def test_update_many_writes_what_mutate_writes(tmp_path):
    """A pull's updates go in batches (issue 21): the same entities and change rows as one
    ``mutate`` per record, and a record whose diff is empty writes nothing."""
    from okrsync.store import diff

    def rows(store):
        return ([tuple(r) for r in store.db.execute("SELECT id, kind, fields, deleted, digest FROM entities ORDER BY id")],
                [tuple(r) for r in store.db.execute(
                    "SELECT run_id, entity_id, entity_kind, field, old, new, origin, kind, actor FROM changes ORDER BY id")])

    before = {"obj_1": ("objective", {"title": "Grow", "status": "on_track"}),
              "kr_1": ("key_result", {"title": "ARR", "objective_id": "obj_1", "start": 1.0, "target": 2.0}),
              "kr_2": ("key_result", {"title": "NPS", "objective_id": "obj_1", "target": 50.0})}
    after = {"obj_1": {"title": "Grow revenue", "status": "at_risk"},
             "kr_1": {"title": "ARR", "objective_id": "obj_1", "start": 1.0, "target": 3.0, "current": 1.5},
             "kr_2": {"title": "NPS", "objective_id": "obj_1", "target": 50.0}}
    stores = []
    for name in ("one", "many"):
        store = Store(tmp_path / f"{name}.db")
        run = store.begin_run("pull")
        store.create_many(run, "sheet", [(k, i, f) for i, (k, f) in before.items()])
        olds = {i: store.get(i)[1] for i in before}
        if name == "one":
            for i, fields in after.items():
                store.mutate(run, "sheet", before[i][0], i, fields, actor="ana")
        else:
            store.update_many(run, "sheet", [(before[i][0], i, f, diff(olds[i], f), "ana") for i, f in after.items()])
        stores.append(rows(store))
    assert stores[0] == stores[1]
    assert [r[3] for r in stores[1][1][3:]] == ["status", "title", "current", "target"]
