"""A record's JSON is not stored again where it is a copy: a link base equal to its entity's
fields (m009_shared_bases) still says what the endpoint last agreed with after the entity
changes; a linked create keeps no copy of the fields sent (m010_settled_intents); a bulk
create's change row reads its record back from the entity, or from created_records once the
entity changed (m013_created_once)."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from okrsync.store import ALL, AS_CREATED, MIGRATIONS, SHARED, Link, Store, dumps, load_record

from .helpers.clirun import CONFIG, run
from .helpers.real_files import REAL
from .helpers.records import as_read


def _raw_bases(store):
    return dict(store.db.execute("SELECT canonical_id, base FROM links ORDER BY rowid").fetchall())


def test_a_base_equal_to_the_entity_is_stored_once_and_read_whole():
    store = Store(None)
    run = store.begin_run("pull")
    store.create_many(run, "sheet", [("objective", "obj_1", {"title": "A"}), ("objective", "obj_2", {"title": "B"})])
    # a create's link: its base the entity's JSON (SHARED), in step
    store.set_links("sheet", run, [Link("objective", "O-1", "obj_1", SHARED, None, True),
                                   Link("objective", "O-2", "obj_2", {"title": "B", "period": "Q1"}, None, False)])
    assert _raw_bases(store) == {"obj_1": SHARED, "obj_2": dumps({"title": "B", "period": "Q1"})}
    # in step: the entity's digest, written with the link (a push then skips it)
    assert store.db.execute("SELECT l.external_id, l.digest IS e.digest FROM links l JOIN entities e "
                            "ON e.id = l.canonical_id ORDER BY l.rowid").fetchall() == [("O-1", 1), ("O-2", 0)]
    assert store.links("sheet") == {("objective", "O-1"): ("obj_1", '{"title":"A"}'),
                                    ("objective", "O-2"): ("obj_2", '{"period":"Q1","title":"B"}')}
    assert store.base("sheet", "obj_1") == '{"title":"A"}'
    assert store.link_base("sheet", "obj_1") == ('{"title":"A"}', None)
    assert store.link_base("board", "obj_1") == (None, None)


def test_changing_the_entity_gives_the_base_its_own_copy_of_what_was_agreed():
    store = Store(None)
    run = store.begin_run("pull")
    store.create_many(run, "sheet", [("key_result", "kr_1", {"title": "A", "current": 1})])
    for endpoint in ("sheet", "board"):
        store.set_links(endpoint, run, [Link("key_result", f"{endpoint}-1", "kr_1", SHARED, None, True)])
    store.mutate(run, "board", "key_result", "kr_1", {"title": "A", "current": 2})
    assert [b for (b,) in store.db.execute("SELECT base FROM links")] == ['{"current":1,"title":"A"}'] * 2  # own copies
    assert store.base("sheet", "kr_1") == store.base("board", "kr_1") == '{"current":1,"title":"A"}'
    store.update_base("board", "kr_1", "current", 2)  # a base of its own: changing the entity again keeps it
    store.mutate(run, "sheet", "key_result", "kr_1", {"title": "B", "current": 2})
    assert store.base("board", "kr_1") == '{"current":2,"title":"A"}' and store.base("sheet", "kr_1") == '{"current":1,"title":"A"}'


def test_kept_cells_are_counted_from_shared_bases_too():
    from okrsync import unparsed

    store = Store(None)
    run = store.begin_run("pull")
    fields = {"title": "A", "extra.sheet.due": "soon", "extra.unparsed.sheet:due": "not a date"}
    store.create_many(run, "sheet", [("objective", "obj_1", fields)])
    store.set_links("sheet", run, [Link("objective", "O-1", "obj_1", SHARED, None, True)])
    assert _raw_bases(store) == {"obj_1": SHARED}
    assert unparsed.in_links(store, "sheet") == [("objective", "O-1", "due", "not a date")]
    assert unparsed.in_links(store, "board") == []


def test_an_existing_store_shares_its_bases_on_open(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before="m009_shared_bases")
    old["entities"].insert({"id": "obj_1", "kind": "objective", "fields": '{"title":"A"}', "deleted": 0})
    for endpoint, base in (("sheet", '{"title":"A"}'), ("board", '{"title":"B"}')):
        old["links"].insert({"endpoint": endpoint, "kind": "objective", "external_id": "O-1", "canonical_id": "obj_1",
                             "base": base})
    old.close()
    store = Store(path)
    assert [b for (b,) in store.db.execute("SELECT base FROM links ORDER BY endpoint")] == ['{"title":"B"}', SHARED]
    assert store.base("sheet", "obj_1") == '{"title":"A"}' and store.base("board", "obj_1") == '{"title":"B"}'
    store.close()


def test_a_linked_create_keeps_no_copy_of_the_fields_sent():
    store = Store(None)
    run = store.begin_run("push")
    store.create_many(run, "sheet", [("objective", "obj_1", {"title": "A"}), ("objective", "obj_2", {"title": "B"})])
    store.add_intents(run, "board", [("objective", "obj_1", {"title": "A"}), ("objective", "obj_2", {"title": "B"})])
    store.set_links("board", run, [Link("objective", "B-1", "obj_1", {"title": "A"}, None, True)])
    assert store.settle_intents("board") == 1
    assert store.db.execute("SELECT canonical_id, status, payload FROM intents ORDER BY id").fetchall() == [
        ("obj_1", "done", None), ("obj_2", "sent", '{"title":"B"}')]
    assert [i[1] for i in store.open_intents("board")] == ["obj_2"]  # still recognisable if a copy turns up


def _replay(store):
    """The entities as the change log tells them (as tests/test_faults.py replays it)."""
    out = {}
    for row in store.changes():
        if row["field"] == ALL:
            out[row["entity_id"]] = row["new"]
        elif row["new"] is None:
            out[row["entity_id"]].pop(row["field"], None)
        else:
            out[row["entity_id"]][row["field"]] = row["new"]
    return out


def test_a_create_row_holds_its_record_once_and_the_log_still_replays():
    store = Store(None)
    run = store.begin_run("pull")
    store.create_many(run, "sheet", [("key_result", "kr_1", {"title": "A", "current": 1}),
                                     ("key_result", "kr_2", {"title": "B", "current": 5})])
    assert [n for (n,) in store.db.execute("SELECT new FROM changes ORDER BY id")] == [AS_CREATED, AS_CREATED]
    assert [r["new"] for r in store.changes()] == [as_read("key_result", {"current": 1, "title": "A"}),
                                                   as_read("key_result", {"current": 5, "title": "B"})]
    later = store.begin_run("pull")
    store.mutate(later, "board", "key_result", "kr_1", {"title": "A", "current": 2})
    store.mutate(later, "board", "key_result", "kr_1", {"title": "A2", "current": 3})
    store.mutate(later, "board", "key_result", "kr_2", None)
    store.mutate(later, "board", "key_result", "kr_2", {"title": "B", "current": 6})  # back from deleted
    # the record as created is kept once, before the entity's fields first changed
    assert store.db.execute("SELECT entity_id, record FROM created_records ORDER BY entity_id").fetchall() == [
        ("kr_1", '{"current":1,"title":"A"}'), ("kr_2", '{"current":5,"title":"B"}')]
    assert [(r["entity_id"], r["field"], r["new"]) for r in store.changes(run=run)] == [
        ("kr_1", "*", as_read("key_result", {"current": 1, "title": "A"})),
        ("kr_2", "*", as_read("key_result", {"current": 5, "title": "B"}))]
    assert _replay(store) == {cid: fields for cid, _, fields in store.entities()} == {
        "kr_1": as_read("key_result", {"title": "A2", "current": 3}), "kr_2": as_read("key_result", {"title": "B", "current": 6})}
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("UPDATE created_records SET record = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("DELETE FROM created_records")


def test_reports_read_a_create_row_from_the_entity():
    import datetime as dt

    from okrsync.report import history

    store = Store(None)
    run = store.begin_run("pull")
    store.create_many(run, "sheet", [("key_result", "kr_1", {"title": "A", "current": 1})])
    store.mutate(run, "sheet", "key_result", "kr_1", {"title": "A", "current": 4})
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    events = history.kr_events(store, soon)["kr_1"]
    assert [(e.how, e.value) for e in events] == [("created", 1), ("update", 4)]


def test_an_existing_store_keeps_its_create_rows_and_writes_new_ones_once(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before="m013_created_once")
    old.execute("INSERT INTO runs (id, command, status) VALUES (1, 'pull', 'ok')")
    old.execute("INSERT INTO entities (id, kind, fields, deleted) VALUES ('obj_1', 'objective', '{\"title\":\"A\"}', 0)")
    old.execute("INSERT INTO changes (run_id, entity_id, entity_kind, field, new, origin, kind) "
                "VALUES (1, 'obj_1', 'objective', '*', '{\"title\":\"A\"}', 'sheet', 'create')")
    old.conn.commit()
    old.close()
    store = Store(path)
    store.mutate(store.begin_run("pull"), "sheet", "objective", "obj_1", {"title": "B"})
    store.create_many(store.begin_run("pull"), "sheet", [("objective", "obj_2", {"title": "C"})])
    assert [n for (n,) in store.db.execute("SELECT new FROM changes WHERE field = '*' ORDER BY id")] == [
        '{"title":"A"}', AS_CREATED]
    assert store.db.execute("SELECT count(*) FROM created_records").fetchone()[0] == 0  # its row holds the record
    assert [(r["entity_id"], r["field"], r["new"]) for r in store.changes()] == [
        ("obj_1", "*", as_read("objective", {"title": "A"})), ("obj_1", "title", "B"),
        ("obj_2", "*", as_read("objective", {"title": "C"}))]
    store.close()


# a project (planning sheet → store → board) that okrsync synced at migration m014: a board
# edit, a KR deleted on the sheet, the store's JSON with its None fields and hex digests
M014_PROJECT = Path(__file__).parent / "fixtures" / "stores" / "m014_project"


def test_a_store_written_before_compact_records_is_upgraded_and_the_next_sync_is_quiet(tmp_path, monkeypatch):
    shutil.copytree(M014_PROJECT, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    db = sqlite3.connect("state/okrsync.db")
    before = db.execute("SELECT * FROM changes ORDER BY id").fetchall()
    old_text = dict(db.execute("SELECT id, fields FROM entities"))
    assert sum('":null' in t for t in old_text.values()) == 6 and len(before) == 8
    created = db.execute("SELECT * FROM created_records").fetchall()
    db.close()
    csv, board = (tmp_path / "okrs.csv").read_bytes(), (tmp_path / "out/board.xlsx").read_bytes()

    store = Store("state/okrsync.db")  # opened: m015_compact_records, m016_links_by_entity
    assert sorted(kind for _, kind, _ in store.entities()) == ["key_result"] * 3 + ["objective"] * 2
    texts = dict(store.db.execute("SELECT id, fields FROM entities"))
    assert not any('":null' in t for t in texts.values())
    assert sum(map(len, texts.values())) < 0.7 * sum(map(len, old_text.values()))
    assert {eid: store.get_any(eid)[1] for eid in texts} == {eid: load_record(k, t) for eid, k, t in store.db.execute(
        "SELECT id, kind, fields FROM entities")}
    assert all(json.loads(old_text[eid]) == store.get_any(eid)[1] for eid in texts)  # every field back, None too
    assert store.db.execute("SELECT count(*), sum(typeof(digest) = 'blob') FROM entities").fetchone() == (6, 6)
    # every link that was in step still is, and the sheet's bases equal to their entity are shared
    # (the one the board's edit pushed there too: it differed by its None fields only)
    assert store.db.execute("SELECT l.endpoint, count(*) FROM links l JOIN entities e ON e.id = l.canonical_id "
                            "WHERE l.digest = e.digest GROUP BY l.endpoint").fetchall() == [("board", 5), ("planning-sheet", 5)]
    assert [b for (b,) in store.db.execute("SELECT base FROM links WHERE endpoint = 'planning-sheet'")].count(SHARED) == 5
    assert store.db.execute("SELECT * FROM changes ORDER BY id").fetchall() == before  # the log as it was
    assert store.db.execute("SELECT * FROM created_records").fetchall() == created
    log = store.changes()
    assert [(r["kind"], r["field"]) for r in log] == [("create", ALL)] * 6 + [("delete", ALL), ("update", "current")]
    assert log[-2]["old"]["title"] and set(log[0]["new"]) == set(store.get_any(log[0]["entity_id"])[1])
    store.close()

    for forget in (False, True):  # as they are; then with the files' cursors gone: both read whole
        if forget:
            with sqlite3.connect("state/okrsync.db") as db:
                db.execute("DELETE FROM cursors")
        out = json.loads(run("--json", "sync").output)
        assert {k: out["totals"][k] for k in ("created", "updated", "deleted", "conflicts", "rejected")} == dict.fromkeys(
            ("created", "updated", "deleted", "conflicts", "rejected"), 0)
        assert out["totals"]["read"] == (10 if forget else 0)  # 5 records in each file
        db = sqlite3.connect("state/okrsync.db")
        assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == len(before)
        assert dict(db.execute("SELECT id, fields FROM entities")) == texts
        db.close()
        assert (tmp_path / "okrs.csv").read_bytes() == csv and (tmp_path / "out/board.xlsx").read_bytes() == board


def test_a_record_updated_to_what_the_endpoint_holds_keeps_sharing_its_base(tmp_path, monkeypatch):
    # the real planning sheet and the board of the m014 project, as a new project
    monkeypatch.chdir(tmp_path)
    shutil.copy(REAL / "flat_kr_rows_percent_words_product_ops_sandbox.csv", "okrs.csv")
    Path("okrsync.yaml").write_text(CONFIG)
    run("sync")
    text = Path("okrs.csv").read_text()
    Path("okrs.csv").write_text(text.replace("Reduce failed check ins,Check In Failed Count,2,2,1",
                                             "Reduce failed check ins,Check In Failed Count,2,3,1"))
    out = json.loads(run("--json", "sync").output)
    assert [e["counters"]["updated"] for e in out["endpoints"]] == [1, 0, 0, 1]  # pulled from the sheet, pushed to the board
    db = sqlite3.connect("state/okrsync.db")
    cid, fields, digest = db.execute("SELECT id, fields, digest FROM entities WHERE fields LIKE '%failed check ins%'").fetchone()
    assert json.loads(fields)["current"] == 3
    # the sheet's base is the entity's new fields, shared and in step; the board's, what was pushed
    assert db.execute("SELECT endpoint, base = ?, digest = ? FROM links WHERE canonical_id = ? ORDER BY endpoint",
                      [SHARED, digest, cid]).fetchall() == [("board", 0, 1), ("planning-sheet", 1, 1)]
    # the board's pull saw nothing new: no base of its own was copied
    assert db.execute("SELECT count(*) FROM links WHERE base IS NULL").fetchone()[0] == 0
    rows = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    db.close()
    out = json.loads(run("--json", "sync").output)
    assert out["totals"]["updated"] == out["totals"]["created"] == 0
    assert sqlite3.connect("state/okrsync.db").execute("SELECT count(*) FROM changes").fetchone()[0] == rows
