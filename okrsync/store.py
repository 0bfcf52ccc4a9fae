"""The store: one SQLite file (WAL) holding the hub's whole state.

Tables (created by ``MIGRATIONS``):

- ``entities``  current canonical state: id, kind, fields (JSON, from ``model.to_fields``,
                 None values left out: ``record_json``; read with ``load_record``)
- ``links``     (endpoint, kind, external id) ↔ canonical id, with ``base``: the fields
                 this endpoint last agreed with (JSON), which three-way merging needs;
                 ``key``: the id people see there when it is not the external id (OKR-12)
- ``changes``   the append-only change log: run, time, entity, field, old, new, origin,
                 kind (create / update / delete / conflict / revert), actor (who made the
                 change, when the tool says so: ``Record.actor``; m012); triggers refuse
                 UPDATE and DELETE on it. Read it through the ``change_log`` view: a
                 bulk create's row keeps its record once, in ``entities`` or (once the
                 entity changed) ``created_records`` (m013_created_once)
- ``runs``      one row per command that writes, with status and per-endpoint counters
- ``cursors``   per endpoint and stream: where the next incremental read starts
- ``conflicts`` field values two endpoints changed differently (settled by the engine)
- ``intents``   a remote create recorded before it is sent, so a crash never duplicates
- ``rejections`` records an endpoint's read or write refused, open until a run reads or
                 writes them fine (or they are gone): where, the record when known, the
                 reason, the first and the last run that saw them

``Store.mutate`` is the one way canonical state changes: it writes the entity and its
change rows together. Callers group a run's writes, links and cursor moves in
``with store.atomic():`` so a failure leaves nothing half-written and advances no cursor.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import hashlib
import json
import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils
from sqlite_utils import Migrations

from . import storefile
from .errors import StoreError

MIGRATIONS = Migrations("okrsync")
NOW = lambda: dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")  # noqa: E731


def local_user() -> str | None:
    """The OS account running okrsync (``getpass.getuser``): who made the changes a command
    makes itself (a revert, a conflict's resolution); None when the OS does not say."""
    try:
        return getpass.getuser() or None
    except (OSError, KeyError, ImportError):  # no login name in the environment nor the user database
        return None


_ID_PREFIX = {"objective": "obj", "key_result": "kr", "initiative": "ini", "check_in": "chk",
              "person": "per", "team": "team", "period": "per", "alignment": "aln"}


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["entities"].create({"id": str, "kind": str, "fields": str, "deleted": int, "updated": str}, pk="id",
                          not_null={"kind", "fields"}, defaults={"deleted": 0})
    db["entities"].create_index(["kind"])
    db["links"].create({"endpoint": str, "kind": str, "external_id": str, "canonical_id": str, "base": str,
                        "remote_updated": str, "run_id": int}, pk=("endpoint", "kind", "external_id"),
                       not_null={"canonical_id"})
    db["links"].create_index(["endpoint", "canonical_id"], unique=True)
    db["runs"].create({"id": int, "command": str, "started": str, "finished": str, "status": str,
                       "dry_run": int, "counters": str, "error": str}, pk="id")
    db["changes"].create({"id": int, "run_id": int, "at": str, "entity_id": str, "entity_kind": str,
                          "field": str, "old": str, "new": str, "origin": str, "kind": str}, pk="id",
                         foreign_keys=[("run_id", "runs", "id")])
    db["changes"].create_index(["entity_id"])
    db["changes"].create_index(["run_id"])
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""CREATE TRIGGER changes_no_{op.lower()} BEFORE {op} ON changes
                       BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END""")
    db["cursors"].create({"endpoint": str, "stream": str, "value": str, "run_id": int, "updated": str},
                         pk=("endpoint", "stream"))
    db["conflicts"].create({"id": int, "run_id": int, "entity_id": str, "field": str, "base": str,
                            "candidates": str, "status": str, "resolution": str, "created": str,
                            "resolved": str}, pk="id")
    db["intents"].create({"id": int, "run_id": int, "endpoint": str, "kind": str, "canonical_id": str,
                          "payload": str, "status": str, "external_id": str, "created": str}, pk="id")


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@MIGRATIONS()
def m002_digests(db: sqlite_utils.Database) -> None:
    # entities.digest: a hash of the fields; links.digest: the entity's digest when this
    # endpoint last held exactly its projection. Equal digests: nothing to push, no decode.
    db["entities"].add_column("digest", str)
    db["links"].add_column("digest", str)


@MIGRATIONS()
def m003_rejections(db: sqlite_utils.Database) -> None:
    # one row per place an endpoint's pull or push (step) refused; "location" is the
    # Rejected's where (file, sheet, row, or the tool's id), "record" its kind and id when known
    db["rejections"].create({"endpoint": str, "step": str, "location": str, "record": str, "reason": str,
                             "first_run": int, "last_run": int}, pk=("endpoint", "step", "location"))


@MIGRATIONS()
def m004_intents_by_record(db: sqlite_utils.Database) -> None:
    # a push records the tool's answer per created record, and a pull settles them: looked
    # up by (endpoint, canonical id), a 50,000-record push stays linear
    db["intents"].create_index(["endpoint", "canonical_id"])


@MIGRATIONS()
def m005_link_keys(db: sqlite_utils.Database) -> None:
    # links.key: the id people see a record by in the tool (Jira's OKR-12) when the
    # external id is another (Jira's 10042); shown and searchable, never used to link
    db["links"].add_column("key", str)
    db["links"].create_index(["endpoint", "external_id"])  # set_keys finds a link without its kind


@MIGRATIONS()
def m006_partial_indexes(db: sqlite_utils.Database) -> None:
    # Every run looks for the few creates still open ('sent') and the few entities deleted:
    # small indexes of just those, so a quiet run does not visit every intent ever sent or
    # every link (60,000 of each after a 50,000-KR first push)
    db.execute("CREATE INDEX IF NOT EXISTS idx_intents_open ON intents (endpoint, canonical_id) WHERE status = 'sent'")
    db.execute("CREATE INDEX IF NOT EXISTS idx_entities_deleted ON entities (id) WHERE deleted = 1")


KEPT_IN_BASE = """base LIKE '%"extra.unparsed.%'"""  # a base holding a cell kept as text (unparsed.py)


@MIGRATIONS()
def m007_kept_index(db: sqlite_utils.Database) -> None:
    # Every pull counts the cells kept as text from the link bases (unparsed.in_links): the
    # few links whose base holds one, indexed, so a quiet run does not read every base.
    # A query uses it when its WHERE holds KEPT_IN_BASE word for word.
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_links_kept ON links (endpoint) WHERE {KEPT_IN_BASE}")


@MIGRATIONS()
def m008_push_marks(db: sqlite_utils.Database) -> None:
    # push_marks: per endpoint, the last change row a push that left every live record in
    # step there had seen. The next push then looks only at entities with later change rows
    # and links whose digest is NULL (not in step: a small index), not at all 60,000 of each.
    # A link dropped or moved to another entity makes a record the mark vouched for unlinked
    # there: the trigger (dropped) or set_links (moved: an UPDATE trigger on links would slow
    # every upsert of a 50,000-link write by a second) drop the mark; the next push looks at
    # everything again.
    db["push_marks"].create({"endpoint": str, "change_id": int}, pk="endpoint")
    db.execute("CREATE INDEX IF NOT EXISTS idx_links_unsettled ON links (endpoint) WHERE digest IS NULL")
    db.execute("CREATE INDEX IF NOT EXISTS idx_entities_gone ON entities (id) WHERE deleted != 0")
    db.execute("CREATE TRIGGER links_dropped_unmark AFTER DELETE ON links "
               "BEGIN DELETE FROM push_marks WHERE endpoint = old.endpoint; END")


SHARED = "="  # links.base: the same JSON as the entity's fields, not stored twice (m009_shared_bases)
KEPT_IN_FIELDS = KEPT_IN_BASE.replace("base", "fields", 1)
# a link's base as JSON text, in a query over ``links``
BASE_TEXT = f"CASE links.base WHEN '{SHARED}' THEN (SELECT e.fields FROM entities e WHERE e.id = links.canonical_id) ELSE links.base END"


@MIGRATIONS()
def m009_shared_bases(db: sqlite_utils.Database) -> None:
    # A link's base is most often the entity's fields as they are (every record an import or
    # a pull creates): stored once, in entities, the base holding SHARED. Before an entity's
    # fields change, the trigger gives the bases that share them their own copy of the old
    # JSON, so a base always says what the endpoint last agreed with.
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_links_shared ON links (canonical_id) WHERE base = '{SHARED}'")
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_entities_kept ON entities (id) WHERE {KEPT_IN_FIELDS}")
    db.execute(f"CREATE TRIGGER entities_unshare_bases BEFORE UPDATE OF fields ON entities "
               f"WHEN old.fields IS NOT new.fields BEGIN "
               f"UPDATE links SET base = old.fields WHERE canonical_id = old.id AND base = '{SHARED}'; END")
    db.execute(f"UPDATE links SET base = '{SHARED}' WHERE base = (SELECT e.fields FROM entities e WHERE e.id = links.canonical_id)")


@MIGRATIONS()
def m010_settled_intents(db: sqlite_utils.Database) -> None:
    # the fields sent with a create recognise a copy an interrupted push left unlinked; once
    # linked ('done') they are a spare copy of the record (a 50,000-KR first push: 32 MB)
    db.execute("UPDATE intents SET payload = NULL WHERE status = 'done'")


# key results measured by levels (okrsync/levels.py): a push to a tool without levels names
# them every run, so finding them must not read every KR (a partial expression index)
LEVELS_KRS = "kind = 'key_result' AND deleted = 0 AND json_extract(fields, '$.direction') = 'levels'"


@MIGRATIONS()
def m011_levels_index(db: sqlite_utils.Database) -> None:
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_entities_levels ON entities (id) WHERE {LEVELS_KRS}")


@MIGRATIONS()
def m012_change_actors(db: sqlite_utils.Database) -> None:
    # who made a change, as the tool names them (``Record.actor``); NULL: the tool does not say
    db.execute("ALTER TABLE changes ADD COLUMN actor TEXT")


AS_CREATED = "="  # changes.new of a create: the record is the entity's fields as created (m013_created_once)
# changes as written, with each create's record read back where it is kept: every reader of
# change rows' values (Store.changes, reports) reads this view, not the table
CHANGE_LOG = "change_log"


@MIGRATIONS()
def m013_created_once(db: sqlite_utils.Database) -> None:
    # A first import's create rows held each record's JSON a second time (24 MB of a 50,000-KR
    # store). Such a row now holds AS_CREATED: the record is the entity's fields as long as
    # they are unchanged, and before they first change the trigger keeps that JSON in
    # created_records (append-only like the log), so the log still tells every record as it
    # was created. Rows written before this migration keep their JSON.
    db["created_records"].create({"entity_id": str, "record": str}, pk="entity_id", not_null={"record"})
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""CREATE TRIGGER created_records_no_{op.lower()} BEFORE {op} ON created_records
                       BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END""")
    db.execute(f"CREATE TRIGGER entities_keep_created BEFORE UPDATE OF fields ON entities "
               f"WHEN old.fields IS NOT new.fields AND EXISTS (SELECT 1 FROM changes c WHERE c.entity_id = old.id "
               f"AND c.new = '{AS_CREATED}') BEGIN "
               f"INSERT INTO created_records (entity_id, record) SELECT old.id, old.fields WHERE NOT EXISTS "
               # not INSERT OR IGNORE: an upsert's own conflict policy would override it
               f"(SELECT 1 FROM created_records r WHERE r.entity_id = old.id); END")
    db.execute(f"CREATE VIEW {CHANGE_LOG} AS SELECT id, run_id, at, entity_id, entity_kind, field, old, "
               f"CASE new WHEN '{AS_CREATED}' THEN coalesce("
               f"(SELECT r.record FROM created_records r WHERE r.entity_id = changes.entity_id), "
               f"(SELECT e.fields FROM entities e WHERE e.id = changes.entity_id)) ELSE new END AS new, "
               f"origin, kind, actor FROM changes")


@MIGRATIONS()
def m014_link_index(db: sqlite_utils.Database) -> None:
    # links (endpoint, external_id) served set_keys alone, which finds a link by its primary
    # key instead (the endpoint's few kinds): 2 MB of a 50,000-KR store, and one index less
    # to write per link
    db.execute("DROP INDEX IF EXISTS idx_links_endpoint_external_id")


@MIGRATIONS()
def m015_compact_records(db: sqlite_utils.Database) -> None:
    # Records' JSON leaves out None fields (record_json; a third of a 50,000-KR store's JSON)
    # and digests are 12 bytes, not 24 hex characters. Entities and link bases are written
    # anew and digests recomputed over the new text: a link in step with its entity (the
    # same digest) stays in step, and a base equal to its entity's fields is shared. The
    # change log and created_records are append-only: their rows keep the JSON they hold,
    # which load_record reads alike. Re-encoding is no change of the record, so the
    # entities' triggers (unshare bases, keep the record as created) are off meanwhile.
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'entities' ORDER BY rowid").fetchall()
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    texts = [(id_, record_json(json.loads(text)), old)
             for id_, text, old in db.execute("SELECT id, fields, digest FROM entities").fetchall()]
    rows = [(id_, text, digest(text), old) for id_, text, old in texts]
    db.conn.executemany("UPDATE entities SET fields = ?2, digest = ?3 WHERE id = ?1", [row[:3] for row in rows])
    db.execute("CREATE TEMP TABLE m015_digests (id TEXT PRIMARY KEY, new BLOB, old TEXT)")
    db.conn.executemany("INSERT INTO m015_digests (id, new, old) VALUES (?, ?, ?)", [(i, d, o) for i, _, d, o in rows])
    db.execute("UPDATE links SET digest = (SELECT m.new FROM m015_digests m WHERE m.id = links.canonical_id) "
               "WHERE digest = (SELECT m.old FROM m015_digests m WHERE m.id = links.canonical_id)")
    db.execute("DROP TABLE m015_digests")
    bases = db.execute(f"SELECT rowid, base FROM links WHERE base IS NOT NULL AND base != '{SHARED}'").fetchall()
    db.conn.executemany("UPDATE links SET base = ? WHERE rowid = ?",
                        [(record_json(json.loads(base)), rowid) for rowid, base in bases])
    db.execute(f"UPDATE links SET base = '{SHARED}' WHERE base != '{SHARED}' "
               "AND base = (SELECT e.fields FROM entities e WHERE e.id = links.canonical_id)")
    for _, sql in triggers:
        db.execute(sql)


@MIGRATIONS()
def m016_links_by_entity(db: sqlite_utils.Database) -> None:
    # links' unique (endpoint, canonical_id) turned round serves both the lookups of one
    # endpoint's link of an entity and the entities_unshare_bases trigger (an entity's
    # shared bases, found by canonical_id): idx_links_shared, 1.5 MB of a 50,000-KR store,
    # is one index less to keep and write. An endpoint's links alone are listed through
    # their primary key (endpoint, kind, external_id).
    db.execute("DROP INDEX IF EXISTS idx_links_shared")
    db.execute("DROP INDEX IF EXISTS idx_links_endpoint_canonical_id")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS idx_links_canonical_id_endpoint ON links (canonical_id, endpoint)")


# Objectives and key results are nearly every entity: a query for either reads the table
# anyway. The other kinds (check-ins, initiatives, alignments …) are few, and every pull that
# changes something looks for them (checkins.settle, orphans): m017_rare_kind_index indexes
# just those. A query uses it when its WHERE holds RARE_KINDS word for word (``_of_kind``).
BULK_KINDS = ("objective", "key_result")
RARE_KINDS = f"kind NOT IN {BULK_KINDS}"


@MIGRATIONS()
def m017_rare_kind_index(db: sqlite_utils.Database) -> None:
    # the index of every entity's kind (1.2 MB of a 50,000-KR store) served the few of a rare kind
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_entities_rare ON entities (kind) WHERE {RARE_KINDS}")
    db.execute("DROP INDEX IF EXISTS idx_entities_kind")


def _of_kind(kind: str, table: str = "") -> str:
    """WHERE terms for entities of ``kind`` (one ``?``): a rare kind's through idx_entities_rare."""
    term = f" AND {table}kind = ?"
    return term if kind in BULK_KINDS else f"{term} AND {table}{RARE_KINDS}"


# entities that may have left an endpoint's step since its push mark (?: the mark, the endpoint)
_SINCE_MARK = ("SELECT entity_id FROM changes WHERE id > ? "
               "UNION SELECT canonical_id FROM links WHERE endpoint = ? AND digest IS NULL")


@dataclass(slots=True)
class Link:
    """An endpoint's record tied to a canonical entity, with what the endpoint last agreed with."""

    kind: str
    external_id: str
    canonical_id: str
    base: dict | str | None  # the fields the endpoint last agreed with (JSON text allowed)
    updated: str | None  # the endpoint's own update time of the record
    # the base is exactly the entity's projection as it is now; a base that is the entity's
    # own JSON is handed in as SHARED (not stored twice), in step
    in_step: bool = False


def digest(text: str) -> bytes:
    """A record's digest: 12 bytes of BLAKE2b over its stored JSON (a BLOB: half the hex's
    size in every entity and link; m015_compact_records)."""
    return hashlib.blake2b(text.encode(), digest_size=12).digest()


def dumps(value: Any) -> str:
    """Canonical JSON: equal data gives equal text, so unchanged records compare as strings.

    One shared encoder: ``json.dumps`` with options builds a new one per call, which shows
    on imports that encode a million values.
    """
    return _ENCODER.encode(value)


def record_json(fields: dict[str, Any]) -> str:
    """A record's fields as the store keeps them (entities, link bases, a create's or delete's
    change row): canonical JSON (``dumps``) without the fields whose value is None.

    Every reader takes a missing field for None (``diff``, ``fields.get``), and ``record``
    gives a model kind's fields back as None: a 50,000-KR store is 5 MB smaller
    (m015_compact_records). Digests are over this text, so equal records hash alike
    whichever Nones they carried.
    """
    kept = {k: v for k, v in fields.items() if v is not None}
    if _orjson_writes_alike(kept.values()):
        try:
            return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # an int beyond 64 bits, a lone surrogate: written by json below
            pass
    return _ENCODER.encode(kept)


def _orjson_writes_alike(values: Iterable[Any]) -> bool:
    """Whether orjson writes these values exactly as ``dumps`` does: text, ints, booleans,
    and floats from 0.0001 to 10^16 (outside it Python writes ``1e+16`` and ``1e-05``,
    orjson ``1e16`` and ``1e-5``; NaN it writes as null). Lists and dicts go to json, whatever
    they hold. ``tests/test_record_json.py`` holds the two equal on this domain: stored
    texts and digests are the same whichever wrote them, so no record reads as changed.
    orjson is ~3.5× faster (a 50,000-KR first import encodes 60,000 records)."""
    for v in values:
        c = v.__class__
        if c is float:
            if not (1e-4 <= abs(v) < 1e16 or v == 0.0):  # NaN fails both tests
                return False
        elif c is not str and c is not int and c is not bool:
            return False
    return True


@functools.cache
def _none_names(kind: str) -> frozenset[str]:
    from .model import none_names  # not at import time: model imports unparsed, which imports the store

    return frozenset(none_names(kind))


def load_record(kind: str, text: str) -> dict[str, Any]:
    """A record's fields from the store's JSON (``record_json``, or the full JSON stores wrote
    before m015_compact_records): the model's fields of ``kind`` the text leaves out are
    None, and the keys in name order, as ``to_fields`` and the stored text had them."""
    fields = json.loads(text)
    names = _none_names(kind)
    if names and isinstance(fields, dict) and not names <= fields.keys():
        fields.update(dict.fromkeys(names - fields.keys()))
        fields = dict(sorted(fields.items()))
    return fields


ALL = "*"  # the field name of a change row that holds a whole record (a create or a delete)


def new_id(kind: str) -> str:
    """A new canonical id: the kind's prefix and 48 random bits, as ``secrets.token_hex(6)``
    gives them. The bits are drawn 4,096 ids at a time, not with a system call per id (about
    1 µs each here, 60 ms of a 50,000-KR import)."""
    global _tokens
    try:
        token = next(_tokens)  # a list iterator's next is atomic: threads never share a token
    except StopIteration:
        drawn = os.urandom(6 * 4096).hex()
        _tokens = iter([drawn[i:i + 12] for i in range(0, len(drawn), 12)])
        token = next(_tokens)
    return f"{_ID_PREFIX.get(kind, kind)}_{token}"


def _forget_tokens() -> None:
    global _tokens
    _tokens = iter(())


_tokens: Iterator[str] = iter(())
os.register_at_fork(after_in_child=_forget_tokens)  # a forked child draws its own, never its parent's


# an entity written whole, new or over its stored self (mutate, update_many)
_UPSERT_ENTITY = ("INSERT INTO entities (id, kind, fields, deleted, updated, digest) VALUES (?, ?, ?, 0, ?, ?) "
                  "ON CONFLICT(id) DO UPDATE SET fields = excluded.fields, deleted = 0, "
                  "updated = excluded.updated, digest = excluded.digest")
_INSERT_CHANGE = ("INSERT INTO changes (run_id, at, entity_id, entity_kind, field, old, new, origin, kind, actor) "
                  "VALUES (?,?,?,?,?,?,?,?,?,?)")


def _field_rows(changed: dict[str, tuple[Any, Any]]) -> list[tuple[str, str | None, str | None]]:
    """An update's change rows: (field, old JSON, new JSON) per changed field, by name."""
    return [(f, None if o is None else dumps(o), None if n is None else dumps(n)) for f, (o, n) in sorted(changed.items())]


def diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    """Fields whose value differs: {field: (old, new)}; a missing field counts as None."""
    old, new = old or {}, new or {}
    return {k: (old.get(k), new.get(k)) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


# SQLite's page cache per connection, in KiB (its default: 2,000). Measured on first imports
# (16 KiB pages): no gain at 50,000 KRs, 5 % at 200,000 (14.1 s against 14.9 s), where 32 MiB
# gained no more and cost 30 MB of peak. It takes memory only as pages are used.
CACHE_KIB = 8_192
# A new store's page size (SQLite's default: 4,096). A record's JSON is ~0.5 KB and a store
# holds tens of thousands: bigger pages mean fewer page splits and a shallower tree (a
# 50,000-KR first import ~5 % faster, its store 2 % smaller). An existing store keeps its own.
PAGE_BYTES = 16_384


class Store:
    """The hub's state in one SQLite file; ``Store(None)`` keeps it in memory (tests).

    A file that is missing or empty while signs say a store was there raises
    ``StoreLostError`` (exit 2) unless ``new`` (``okrsync --new-store``): see ``storefile``.
    """

    def __init__(self, path: str | os.PathLike | None, *, new: bool = False):
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            storefile.refuse_a_lost_store(self.path, new)
        try:
            if self.path is None:
                self.db = sqlite_utils.Database(memory=True)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # The store can hold client data: readable by its owner only.
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
                os.close(fd)
                self.db = sqlite_utils.Database(self.path)
                self.db.execute(f"PRAGMA page_size = {PAGE_BYTES}")  # before WAL: a new file takes it, others ignore it
                self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA busy_timeout = 5000")
            self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            MIGRATIONS.apply(self.db)
        except Exception as e:  # sqlite3.DatabaseError: not a database, locked, …
            raise StoreError(f"cannot open store {self.path or ':memory:'}: {e} (okrsync doctor checks the file "
                             "and says how to recover it)") from e
        if self.path is not None:
            storefile.mark(self.path)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """One transaction: everything in it is written, or nothing is."""
        with self.db.atomic():
            yield self

    # ------------------------------------------------------------ runs

    def begin_run(self, command: str, *, dry_run: bool = False) -> int:
        """Record the start of a run (committed at once, so a crash still shows it)."""
        with self.atomic():
            table = self.db["runs"].insert({"command": command, "started": NOW(), "status": "running",
                                            "dry_run": int(dry_run), "counters": "{}"})
        return table.last_pk

    def finish_run(self, run_id: int, status: str, counters: dict, error: str | None = None) -> None:
        with self.atomic():
            self.db["runs"].update(run_id, {"finished": NOW(), "status": status,
                                            "counters": dumps(counters), "error": error})

    def interrupt_runs(self) -> list[int]:
        """Mark runs still ``running`` as ``interrupted`` and return their ids. Call it holding
        the store's lock: then no run can be going on, so these were left by a process that died."""
        with self.atomic():
            ids = [i for (i,) in self.db.execute("SELECT id FROM runs WHERE status = 'running' ORDER BY id")]
            self.db.execute("UPDATE runs SET status = 'interrupted', error = ? WHERE status = 'running'",
                            ["its process died before the run finished (killed?)"])
        return ids

    def runs(self, limit: int = 20) -> list[dict]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]).fetchall()
        cols = [c.name for c in self.db["runs"].columns]
        return [dict(zip(cols, row)) | {"counters": json.loads(row[cols.index("counters")] or "{}")} for row in rows]

    # ------------------------------------------------------------ entities

    def get(self, entity_id: str) -> tuple[str, dict[str, Any]] | None:
        """(kind, fields) of a live entity, or None."""
        row = self.db.execute("SELECT kind, fields FROM entities WHERE id = ? AND deleted = 0", [entity_id]).fetchone()
        return (row[0], load_record(*row)) if row else None

    def get_any(self, entity_id: str) -> tuple[str, dict[str, Any], int] | None:
        """(kind, fields, deleted) including deleted (1) and archived (2) entities."""
        row = self.db.execute("SELECT kind, fields, deleted FROM entities WHERE id = ?", [entity_id]).fetchone()
        return (row[0], load_record(row[0], row[1]), row[2]) if row else None

    def entities(self, kind: str | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Live entities as (id, kind, fields), in insertion order."""
        sql = "SELECT id, kind, fields FROM entities WHERE deleted = 0"
        args: list = []
        if kind:
            sql += _of_kind(kind)
            args.append(kind)
        for id_, k, fields in self.db.execute(sql + " ORDER BY rowid", args):
            yield id_, k, load_record(k, fields)

    def orphans(self, kind: str, ref: str) -> list[tuple[str, dict[str, Any]]]:
        """Live entities of ``kind`` whose reference field ``ref`` points at a deleted (not
        an archived) entity, as (id, fields): check-ins of a deleted KR."""
        rows = self.db.execute("SELECT c.id, c.fields FROM entities c JOIN entities p ON p.id = json_extract(c.fields, ?) "
                               f"WHERE c.deleted = 0 AND p.deleted = 1{_of_kind(kind, 'c.')} ORDER BY c.rowid", [f"$.{ref}", kind])
        return [(id_, load_record(kind, fields)) for id_, fields in rows]

    def count(self, kind: str | None = None) -> int:
        """Live entities, of one kind or all."""
        sql = "SELECT count(*) FROM entities WHERE deleted = 0" + (_of_kind(kind) if kind else "")
        return self.db.execute(sql, [kind] if kind else []).fetchone()[0]

    def mutate(self, run_id: int, origin: str, kind: str, entity_id: str, fields: dict[str, Any] | None,
               *, old: dict[str, Any] | None = None, change: str | None = None, actor: str | None = None) -> dict[str, tuple]:
        """Set an entity's fields (``None`` deletes it) and log what changed.

        The only function that changes canonical state. An update logs one row per changed
        field; a create (or a return from deleted) logs one row with field ``*`` whose
        ``new`` is the record, and a delete one row ``*`` whose ``old`` is the record —
        the change log of a 50,000-KR import stays 50,000 rows, not 650,000. ``old`` may be passed when the
        caller already holds the current fields (saves a read on hot paths). ``actor`` is who
        made the change as the tool names them (None: unknown), kept on every row. Returns
        the diff it wrote; an empty diff writes nothing.
        """
        exists = old is not None
        if old is None:
            current = self.get(entity_id)
            exists = current is not None
            old = current[1] if current else {}
        changed = diff(old, fields if fields is not None else {})
        if fields is not None and exists and not changed:
            return {}
        if fields is None and not exists:
            return {}
        now = NOW()
        # The entity and its change rows are one write: committed together (or, inside an
        # outer ``atomic()``, rolled back with it). A bare ``conn.executemany`` would open an
        # implicit transaction nothing commits, losing the change rows on close.
        with self.atomic():
            if fields is None:
                # archived (2) stays out of every endpoint's way but is not deleted from them
                self.db.execute("UPDATE entities SET deleted = ?, updated = ? WHERE id = ?",
                                [2 if change == "archive" else 1, now, entity_id])
                kind_of_change = change or "delete"
            else:
                text = record_json(fields)
                self.db.execute(_UPSERT_ENTITY, [entity_id, kind, text, now, digest(text)])
                kind_of_change = change or ("update" if exists else "create")
            if fields is None:
                rows = [(ALL, record_json(old), None)]
            elif not exists:
                rows = [(ALL, None, text)]
            else:
                rows = _field_rows(changed)
            self.db.conn.executemany(_INSERT_CHANGE, [(run_id, now, entity_id, kind, f, o, n, origin, kind_of_change, actor)
                                                      for f, o, n in rows])
        return changed

    def update_many(self, run_id: int, origin: str,
                    items: Iterable[tuple[str, str, dict[str, Any], dict[str, tuple[Any, Any]], str | None]]) -> None:
        """``mutate`` for many updates of live entities at once: (kind, id, fields, changed,
        actor), ``changed`` being ``diff(current fields, fields)`` as the caller found it in
        this transaction (a pull's plan: ``Change.changed``). The same rows ``mutate`` writes,
        in two batched statements, without reading each entity back first (a 1 %-edited
        200,000-KR sheet: 2,000 updates)."""
        now = NOW()
        entities, rows = [], []
        for kind, entity_id, fields, changed, actor in items:
            if not changed:
                continue
            text = record_json(fields)
            entities.append((entity_id, kind, text, now, digest(text)))
            rows += [(run_id, now, entity_id, kind, f, o, n, origin, "update", actor) for f, o, n in _field_rows(changed)]
        with self.atomic():
            self.db.conn.executemany(_UPSERT_ENTITY, entities)
            self.db.conn.executemany(_INSERT_CHANGE, rows)

    def create_many(self, run_id: int, origin: str, items: Iterable[tuple[str, str, dict[str, Any]]],
                    actors: dict[str, str] | None = None) -> dict[str, bytes]:
        """``mutate`` for many new entities at once: (kind, id, fields), ids not in the store.

        The same rows ``mutate`` writes (one ``*`` row per record, its ``new`` read back from
        the entity: ``AS_CREATED``), in two batched statements: a 50,000-KR import is one
        pass, not 60,000 round trips. ``items`` is read once, as the rows are written, so
        the records' JSON is never all in memory (a 200,000-KR import: 90 MB). Links that
        agree with the new entities: ``Link(base=SHARED, in_step=True)``. ``actors``: {id: who
        made it}, for the records whose tool says so. Returns {id: digest} of the entities
        written, for ``set_links`` to put in their links without looking each one up.
        """
        now = NOW()
        made: list[tuple[str, str]] = []
        digests: dict[str, bytes] = {}

        def entities() -> Iterator[tuple]:
            for kind, entity_id, fields in items:
                made.append((kind, entity_id))
                text = record_json(fields)
                digests[entity_id] = d = digest(text)
                yield entity_id, kind, text, now, d

        with self.atomic(), self._bulk_load("entities", "changes"):
            self.db.conn.executemany("INSERT INTO entities (id, kind, fields, deleted, updated, digest) VALUES (?, ?, ?, 0, ?, ?)",
                                     entities())
            # the record is the entity's JSON: not written twice (m013_created_once)
            self.db.conn.executemany(_INSERT_CHANGE,
                                     ((run_id, now, entity_id, kind, ALL, None, AS_CREATED, origin, "create",
                                       actors.get(entity_id) if actors else None) for kind, entity_id in made))
        return digests

    @contextmanager
    def _bulk_load(self, *tables: str) -> Iterator[None]:
        """``drop_indexes`` of ``tables``, then ``restore_indexes`` once the rows are in."""
        saved = self.drop_indexes(*tables)
        yield
        self.restore_indexes(saved)

    def drop_indexes(self, *tables: str) -> list[tuple[str, str]]:
        """Inside a transaction, before a bulk load: the secondary indexes of those ``tables``
        that are empty (a first import's), dropped; returned for ``restore_indexes``.

        An index built in one pass over its sorted keys costs less than 60,000 inserts at
        random places of it (the ids are random). The indexes are the same afterwards, a
        UNIQUE one refusing duplicates then; DDL is transactional, so a failure in between
        rolls back to the indexes as they were. Meanwhile a query may only look rows up by
        their primary key (others scan the table)."""
        saved: list[tuple[str, str]] = []
        for table in tables:
            if self.db.execute(f"SELECT 1 FROM [{table}] LIMIT 1").fetchone() is None:
                saved += self.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                         "AND sql IS NOT NULL ORDER BY rowid", [table]).fetchall()
        for name, _ in saved:
            self.db.execute(f"DROP INDEX [{name}]")
        return saved

    def restore_indexes(self, saved: list[tuple[str, str]]) -> None:
        """The indexes ``drop_indexes`` dropped, built again."""
        for _, sql in saved:
            self.db.execute(sql)

    def log_change(self, run_id: int, origin: str, kind: str, entity_id: str, field: str, old: Any, new: Any,
                   change: str) -> None:
        """Append a change row that does not alter canonical state (a conflict's losing value)."""
        self.db.execute(
            "INSERT INTO changes (run_id, at, entity_id, entity_kind, field, old, new, origin, kind) VALUES (?,?,?,?,?,?,?,?,?)",
            [run_id, NOW(), entity_id, kind, field, dumps(old), dumps(new), origin, change])

    def last_change(self, entity_id: str, field: str | None) -> tuple[str, str] | None:
        """(origin, time) of the change that set a field's current value (``None``: any field)."""
        row = self.db.execute("SELECT origin, at FROM changes WHERE entity_id = ? AND (? IS NULL OR field = ?) "
                              "AND kind != 'conflict' ORDER BY id DESC LIMIT 1", [entity_id, field, field]).fetchone()
        return (row[0], row[1]) if row else None

    def changes(self, *, entity: str | None = None, since: str | None = None, run: int | None = None,
                limit: int | None = None) -> list[dict]:
        """Change-log rows, oldest first; ``since`` is an ISO time (UTC)."""
        where, args = [], []
        if entity:
            where.append("entity_id = ?")
            args.append(entity)
        if since:
            where.append("at >= ?")
            args.append(since)
        if run is not None:
            where.append("run_id = ?")
            args.append(run)
        sql = f"SELECT * FROM {CHANGE_LOG}" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        if limit:
            sql = f"SELECT * FROM ({sql[:-len(' ORDER BY id')]} ORDER BY id DESC LIMIT {int(limit)}) ORDER BY id"
        rows = []
        for row in self.db.query(sql, args):
            # a create's or delete's row holds a record: read as the entity's are
            load = functools.partial(load_record, row["entity_kind"]) if row["field"] == ALL else json.loads
            row["old"] = None if row["old"] is None else load(row["old"])
            row["new"] = None if row["new"] is None else load(row["new"])
            rows.append(row)
        return rows

    # ------------------------------------------------------------ links and cursors

    def links(self, endpoint: str) -> dict[tuple[str, str], tuple[str, str | None]]:
        """{(kind, external id): (canonical id, base JSON)} for one endpoint."""
        return {(k, ext): (cid, base) for k, ext, cid, base in self.db.execute(
            f"SELECT kind, external_id, canonical_id, {BASE_TEXT} FROM links WHERE endpoint = ?", [endpoint])}

    def link(self, endpoint: str, kind: str, external_id: str) -> tuple[str, str | None] | None:
        """(canonical id, base JSON) of one link, as ``links`` gives it, or None."""
        row = self.db.execute(f"SELECT canonical_id, {BASE_TEXT} FROM links WHERE endpoint = ? AND kind = ? "
                              "AND external_id = ?", [endpoint, kind, external_id]).fetchone()
        return (row[0], row[1]) if row else None

    def link_ids(self, endpoint: str) -> dict[tuple[str, str], str]:
        """{(kind, external id): canonical id} for one endpoint: ``links`` without the bases."""
        return {(k, ext): cid for k, ext, cid in self.db.execute(
            "SELECT kind, external_id, canonical_id FROM links WHERE endpoint = ?", [endpoint])}

    def set_links(self, endpoint: str, run_id: int, links: list[Link], shared: Collection[str] = (),
                  digests: Mapping[str, bytes] | None = None) -> None:
        """``set_link`` for many. A link whose canonical id is in ``shared`` agrees with its
        entity as it is now: written as ``Link(base=SHARED, in_step=True)``, without a copy of
        each such Link made first (a first import's 60,000). ``digests``: {id: the entity's
        digest as it is now} (``create_many``'s answer), taken as given instead of looked up
        per link."""
        digests = digests or {}
        with self.atomic(), self._bulk_load("links"):
            if self.push_mark(endpoint) is not None and self._moves(endpoint, links):
                self.db.execute("DELETE FROM push_marks WHERE endpoint = ?", [endpoint])
            # in step: the entity's digest as it is now, looked up as the link is written
            self.db.conn.executemany(
                "INSERT INTO links (endpoint, kind, external_id, canonical_id, base, remote_updated, run_id, digest) "
                "VALUES (?1,?2,?3,?4,?5,?6,?7,CASE ?8 WHEN 'now' THEN (SELECT e.digest FROM entities e WHERE e.id = ?4) "
                "ELSE ?8 END) ON CONFLICT(endpoint, kind, external_id) DO UPDATE SET "
                "canonical_id = excluded.canonical_id, base = excluded.base, remote_updated = excluded.remote_updated, "
                "run_id = excluded.run_id, digest = excluded.digest",
                ((endpoint, k.kind, k.external_id, k.canonical_id, SHARED, k.updated, run_id,
                  digests.get(k.canonical_id, "now"))
                 if k.canonical_id in shared else
                 (endpoint, k.kind, k.external_id, k.canonical_id,
                  k.base if k.base is None or isinstance(k.base, str) else record_json(k.base), k.updated, run_id,
                  "now" if k.in_step else None) for k in links))

    def set_bases_aside(self, endpoint: str, canonical_ids: Iterable[str]) -> None:
        """Before a pull updates these entities and then shares their bases again (``set_links``
        with SHARED): the endpoint's shared bases set to NULL, so the entity's update copies
        no old fields there (entities_unshare_bases). A copy would grow each link's row,
        split its page and be overwritten in the same transaction (1.8 MB of a 50,000-KR
        store after a 1 %-edit import)."""
        self.db.conn.executemany(f"UPDATE links SET base = NULL WHERE endpoint = ? AND canonical_id = ? AND base = '{SHARED}'",
                                 [(endpoint, cid) for cid in canonical_ids])

    def _moves(self, endpoint: str, links: list[Link]) -> bool:
        """Whether a link would point at another entity than it does: that one is left unlinked."""
        sql = "SELECT canonical_id FROM links WHERE endpoint = ? AND kind = ? AND external_id = ?"
        for k in links:
            row = self.db.execute(sql, [endpoint, k.kind, k.external_id]).fetchone()
            if row and row[0] != k.canonical_id:
                return True
        return False

    def set_keys(self, endpoint: str, keys: dict[str, str]) -> None:
        """Remember the keys people see linked records by: {external id: key} (Jira's OKR-12)."""
        if keys:
            # a link is found by its primary key, its kind one of the few the endpoint has
            # (m014_link_index: no index of external ids alone)
            kinds = [k for (k,) in self.db.execute("SELECT DISTINCT kind FROM links WHERE endpoint = ?", [endpoint])]
            self.db.conn.executemany(
                f"UPDATE links SET key = ? WHERE endpoint = ? AND kind IN ({', '.join('?' * len(kinds))}) "
                "AND external_id = ? AND key IS NOT ?", [(key, endpoint, *kinds, ext, key) for ext, key in keys.items()])

    def keys(self) -> dict[str, list[str]]:
        """Canonical id → the keys it is known by on endpoints that have them ("jira OKR-12")."""
        out: dict[str, list[str]] = {}
        for cid, endpoint, key in self.db.execute(
                "SELECT canonical_id, endpoint, key FROM links WHERE key IS NOT NULL ORDER BY endpoint"):
            out.setdefault(cid, []).append(f"{endpoint} {key}")
        return out

    def resolve(self, ref: str) -> str:
        """The canonical id ``ref`` names: itself, or the id or key (OKR-12) an endpoint knows a
        linked record by; StoreError when several records answer to it."""
        if self.get_any(ref) is not None:
            return ref
        found = sorted({cid for (cid,) in self.db.execute(
            "SELECT canonical_id FROM links WHERE external_id = ? OR key = ? COLLATE NOCASE", [ref, ref])})
        if len(found) > 1:
            raise StoreError(f"{ref!r} names {len(found)} records on different endpoints ({', '.join(found)}); "
                             "give the canonical id")
        return found[0] if found else ref

    def mark_in_step(self, endpoint: str, canonical_ids: Iterable[str]) -> None:
        """The endpoint holds these entities' projections as they are now (after a push)."""
        with self.atomic():
            self.db.conn.executemany(
                "UPDATE links SET digest = (SELECT e.digest FROM entities e WHERE e.id = links.canonical_id) "
                "WHERE endpoint = ? AND canonical_id = ?", [(endpoint, cid) for cid in canonical_ids])

    def push_candidates(self, endpoint: str, mark: int | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Live entities the endpoint may not hold as they are: unlinked, or changed since.
        With the endpoint's ``push_mark``, only those changed after it are looked at."""
        sql = ("SELECT e.id, e.kind, e.fields FROM entities e LEFT JOIN links l ON l.endpoint = ? AND l.canonical_id = e.id "
               "WHERE e.deleted = 0 AND (l.digest IS NULL OR l.digest != e.digest)")
        args: list = [endpoint]
        if mark is not None:
            sql += f" AND e.id IN ({_SINCE_MARK})"
            args += [mark, endpoint]
        for cid, kind, text in self.db.execute(sql + " ORDER BY e.rowid", args):
            yield cid, kind, load_record(kind, text)

    def push_mark(self, endpoint: str) -> int | None:
        """The last change row the endpoint's last push that left it wholly in step had seen:
        every live record linked there and not changed since is in step (``m008_push_marks``)."""
        row = self.db.execute("SELECT change_id FROM push_marks WHERE endpoint = ?", [endpoint]).fetchone()
        return row[0] if row else None

    def set_push_mark(self, endpoint: str, change_id: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO push_marks (endpoint, change_id) VALUES (?, ?)", [endpoint, change_id])

    def last_change_id(self) -> int:
        return self.db.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0]

    def in_step(self, endpoint: str, *, count: bool = False, mark: int | None = None):
        """Live entities the endpoint holds as they are (count, or (id, kind, fields) rows).
        A count with the endpoint's ``push_mark``: its links less those out of step, which
        can only be links not in step (NULL digest), of entities gone, or changed since."""
        sql = ("FROM entities e JOIN links l ON l.endpoint = ? AND l.canonical_id = e.id "
               "WHERE e.deleted = 0 AND l.digest = e.digest")
        if count and mark is not None:
            return self.db.execute(
                "SELECT (SELECT count(*) FROM links WHERE endpoint = ?1) - (SELECT count(*) FROM ("
                "SELECT canonical_id FROM links WHERE endpoint = ?1 AND digest IS NULL UNION "
                "SELECT l.canonical_id FROM entities e CROSS JOIN links l ON l.endpoint = ?1 AND l.canonical_id = e.id "
                "WHERE e.deleted != 0 UNION "
                "SELECT l.canonical_id FROM links l JOIN entities e ON e.id = l.canonical_id WHERE l.endpoint = ?1 "
                "AND l.canonical_id IN (SELECT entity_id FROM changes WHERE id > ?2) AND l.digest IS NOT e.digest))",
                [endpoint, mark]).fetchone()[0]
        if count:
            return self.db.execute("SELECT count(*) " + sql, [endpoint]).fetchone()[0]
        return ((cid, kind, load_record(kind, text)) for cid, kind, text in
                self.db.execute("SELECT e.id, e.kind, e.fields " + sql + " ORDER BY e.rowid", [endpoint]))

    def in_step_keys(self, endpoint: str) -> set[tuple[str, str]]:
        """(kind, external id) of what ``in_step`` gives, no entity's fields read."""
        return set(self.db.execute("SELECT l.kind, l.external_id FROM entities e JOIN links l ON l.endpoint = ? "
                                   "AND l.canonical_id = e.id WHERE e.deleted = 0 AND l.digest = e.digest", [endpoint]))

    def in_step_of(self, endpoint: str, keys: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str, dict]]:
        """``in_step`` rows of the given (kind, external id) keys only, each found by its link."""
        sql = ("SELECT e.id, e.kind, e.fields FROM links l JOIN entities e ON e.id = l.canonical_id "
               "WHERE l.endpoint = ? AND l.kind = ? AND l.external_id = ? AND e.deleted = 0 AND l.digest = e.digest")
        for kind, ext in keys:
            for cid, kind_, text in self.db.execute(sql, [endpoint, kind, ext]):
                yield cid, kind_, load_record(kind_, text)

    def key_results_by_levels(self) -> list[tuple[str, dict]]:
        """Live key results measured by levels, (id, fields), through ``idx_entities_levels``."""
        return [(cid, load_record("key_result", text)) for cid, text in
                self.db.execute(f"SELECT id, fields FROM entities INDEXED BY idx_entities_levels WHERE {LEVELS_KRS}")]

    def set_link(self, endpoint: str, kind: str, external_id: str, canonical_id: str, base: dict | None,
                 run_id: int, remote_updated: str | None = None) -> None:
        self.set_links(endpoint, run_id, [Link(kind, external_id, canonical_id, base, remote_updated, False)])

    def link_base(self, endpoint: str, canonical_id: str) -> tuple[str | None, str | None]:
        """(base JSON, remote update time) of one link; (None, None) when there is none."""
        row = self.db.execute(f"SELECT {BASE_TEXT}, remote_updated FROM links WHERE endpoint = ? AND canonical_id = ?",
                              [endpoint, canonical_id]).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def all_links(self, *, besides: str | None = None) -> Iterator[tuple[str, str, str, str]]:
        """(endpoint, kind, external id, canonical id) of every link, or of every endpoint ``besides`` one."""
        sql = "SELECT endpoint, kind, external_id, canonical_id FROM links"
        yield from self.db.execute(sql + (" WHERE endpoint != ?" if besides else ""), [besides] if besides else [])

    def unlink(self, endpoint: str, canonical_id: str) -> None:
        """Drop an endpoint's link to an entity, whatever its external id (a record renamed there)."""
        self.db.execute("DELETE FROM links WHERE endpoint = ? AND canonical_id = ?", [endpoint, canonical_id])

    def external_ids(self, endpoint: str) -> dict[str, str]:
        """{canonical id: external id} of one endpoint's links."""
        return dict(self.db.execute("SELECT canonical_id, external_id FROM links WHERE endpoint = ?", [endpoint]))

    def external_id(self, endpoint: str, canonical_id: str) -> str | None:
        """The endpoint's id of one entity, or None when it is not linked there."""
        row = self.db.execute("SELECT external_id FROM links WHERE endpoint = ? AND canonical_id = ?",
                              [endpoint, canonical_id]).fetchone()
        return row[0] if row else None

    def base(self, endpoint: str, canonical_id: str) -> str | None:
        """The base snapshot (JSON text) an endpoint last agreed with for one entity."""
        row = self.db.execute(f"SELECT {BASE_TEXT} FROM links WHERE endpoint = ? AND canonical_id = ?",
                              [endpoint, canonical_id]).fetchone()
        return row[0] if row else None

    def remote_updated(self, endpoint: str, canonical_id: str) -> str | None:
        row = self.db.execute("SELECT remote_updated FROM links WHERE endpoint = ? AND canonical_id = ?",
                              [endpoint, canonical_id]).fetchone()
        return row[0] if row else None

    def deleted_links(self, endpoint: str) -> list[tuple[str, str, str]]:
        """(kind, external id, canonical id) of this endpoint's records deleted in the hub."""
        # from the deleted entities (a small index) to their links, not through every link
        return self.db.execute("SELECT l.kind, l.external_id, l.canonical_id FROM entities e CROSS JOIN links l "
                               "ON l.endpoint = ? AND l.canonical_id = e.id WHERE e.deleted = 1 "
                               "ORDER BY l.external_id, l.rowid", [endpoint]).fetchall()  # the order it always had

    def update_base(self, endpoint: str, canonical_id: str, field: str, value: Any) -> None:
        """Set one field of an endpoint's base snapshot (a settled conflict's candidate)."""
        row = self.db.execute(f"SELECT {BASE_TEXT} FROM links WHERE endpoint = ? AND canonical_id = ?",
                              [endpoint, canonical_id]).fetchone()
        if row:
            base = json.loads(row[0] or "{}")
            base[field] = value
            self.db.execute("UPDATE links SET base = ?, digest = NULL WHERE endpoint = ? AND canonical_id = ?",
                            [record_json(base), endpoint, canonical_id])

    # ------------------------------------------------------------ rejections

    def set_rejections(self, endpoint: str, step: str, rejected: Iterable[tuple[str, str, str]], run_id: int) -> None:
        """What one endpoint's ``step`` (pull or push) refuses now, as (where, record, reason):
        a place refused before keeps its first run, one no longer refused is cleared (the
        row was fixed or removed). Several reasons for one place are joined."""
        now: dict[str, tuple[str, list[str]]] = {}
        for where, record, reason in rejected:
            entry = now.setdefault(where, (record, []))
            if reason not in entry[1]:
                entry[1].append(reason)
        first = dict(self.db.execute("SELECT location, first_run FROM rejections WHERE endpoint = ? AND step = ?",
                                     [endpoint, step]))
        with self.atomic():
            self.db.execute("DELETE FROM rejections WHERE endpoint = ? AND step = ?", [endpoint, step])
            self.db.conn.executemany(
                "INSERT INTO rejections (endpoint, step, location, record, reason, first_run, last_run) VALUES (?,?,?,?,?,?,?)",
                [(endpoint, step, where, record or None, "; ".join(reasons), first.get(where, run_id), run_id)
                 for where, (record, reasons) in now.items()])

    def rejections(self, endpoints: Iterable[str] | None = None, step: str | None = None) -> list[dict]:
        """Open rejections (of some endpoints, of one step), oldest first: endpoint, step,
        where, record, reason, first_run, last_run."""
        sql, args = "SELECT * FROM rejections WHERE 1", []
        if endpoints is not None:
            names = list(endpoints)
            sql += f" AND endpoint IN ({', '.join('?' * len(names))})"
            args += names
        if step:
            sql += " AND step = ?"
            args.append(step)
        return [{"endpoint": r["endpoint"], "step": r["step"], "where": r["location"], "record": r["record"],
                 "reason": r["reason"], "first_run": r["first_run"], "last_run": r["last_run"]}
                for r in self.db.query(sql + " ORDER BY first_run, rowid", args)]

    # ------------------------------------------------------------ conflicts and intents

    def add_conflict(self, run_id: int, entity_id: str, field: str, base: Any, candidates: dict[str, Any]) -> int:
        """Queue a conflict for the user (policy ``manual``). ``candidates``: {origin: value}."""
        return self.db["conflicts"].insert({"run_id": run_id, "entity_id": entity_id, "field": field, "base": dumps(base),
                                            "candidates": dumps(candidates), "status": "open", "created": NOW()}).last_pk

    def conflicts(self, status: str | None = None) -> list[dict]:
        rows = self.db.query("SELECT * FROM conflicts" + (" WHERE status = ?" if status else "") + " ORDER BY id",
                             [status] if status else [])
        return [r | {"base": json.loads(r["base"]), "candidates": json.loads(r["candidates"]),
                     "resolution": None if r["resolution"] is None else json.loads(r["resolution"])} for r in rows]

    def open_conflict_fields(self) -> set[tuple[str, str]]:
        return {(e, f) for e, f in self.db.execute("SELECT entity_id, field FROM conflicts WHERE status IN ('open', 'resolved')")}

    def conflict_applied(self, conflict_id: int) -> None:
        """A resolved conflict's value is in the hub now (status ``applied``)."""
        self.db["conflicts"].update(conflict_id, {"status": "applied"})

    def resolve_conflict(self, conflict_id: int, value: Any, taken_from: str) -> None:
        """Record the user's decision; the next sync applies it (status ``resolved`` → ``applied``)."""
        self.db["conflicts"].update(conflict_id, {"status": "resolved", "resolved": NOW(),
                                                  "resolution": dumps({"value": value, "from": taken_from,
                                                                       "by": local_user()})})

    def add_intents(self, run_id: int, endpoint: str, creates: list[tuple[str, str, dict | None]],
                    at: str | None = None) -> None:
        """Write-ahead: remote creates about to be sent, with the fields sent, committed before
        they are (the fields let the next pull recognise a copy an interrupted push left).
        ``at`` is when they are sent (the hub's clock): a listing may lag behind it."""
        now = at or NOW()
        with self.atomic():
            self.db.conn.executemany(
                "INSERT INTO intents (run_id, endpoint, kind, canonical_id, payload, status, created) VALUES (?, ?, ?, ?, ?, 'sent', ?)",
                [(run_id, endpoint, k, cid, None if fields is None else dumps(fields), now) for k, cid, fields in creates])

    def answer_intents(self, endpoint: str, external_ids: dict[str, str]) -> None:
        """Keep the ids the tool answered for creates ({canonical id: external id}), committed
        before the links are: a crash in between leaves an exact id to match the copy on."""
        with self.atomic():
            self.db.conn.executemany("UPDATE intents SET external_id = ? WHERE endpoint = ? AND status = 'sent' AND canonical_id = ?",
                                     [(ext, endpoint, cid) for cid, ext in external_ids.items()])

    def open_intents(self, endpoint: str) -> list[tuple[str, str, dict, str | None]]:
        """(kind, canonical id, fields sent, external id answered or None) of creates sent to
        ``endpoint`` and not yet linked."""
        return [(k, cid, json.loads(payload), ext) for k, cid, payload, ext in self.db.execute(
            "SELECT kind, canonical_id, payload, external_id FROM intents WHERE endpoint = ? AND status = 'sent' "
            "AND payload IS NOT NULL ORDER BY id", [endpoint])]

    def pending_creates(self, endpoint: str) -> dict[str, str]:
        """{canonical id: when sent} of creates whose outcome is unknown: sent to ``endpoint``
        by a run that died or lost the answer, not linked since, their entity still live."""
        # EXISTS, not IN (SELECT …): looked up per open intent instead of listing every link and entity
        return dict(self.db.execute(
            "SELECT i.canonical_id, max(i.created) FROM intents i WHERE i.endpoint = ? AND i.status = 'sent' "
            "AND NOT EXISTS (SELECT 1 FROM links l WHERE l.endpoint = i.endpoint AND l.canonical_id = i.canonical_id) "
            "AND EXISTS (SELECT 1 FROM entities e WHERE e.id = i.canonical_id AND e.deleted = 0) "
            "GROUP BY i.canonical_id", [endpoint]))

    def created_since(self, endpoint: str, since: str) -> set[str]:
        """Canonical ids of creates sent to ``endpoint`` after ``since`` (ISO): a lagging
        listing may not show them yet, so their absence is no delete."""
        return {cid for (cid,) in self.db.execute(
            "SELECT canonical_id FROM intents WHERE endpoint = ? AND status IN ('sent', 'done') AND created > ?",
            [endpoint, since])}

    def absent_intents(self, endpoint: str, canonical_ids: Iterable[str]) -> None:
        """Close intents a full read made after the listing lag did not find: they did not
        land, and the create may be sent again."""
        self.db.conn.executemany("UPDATE intents SET status = 'absent' WHERE endpoint = ? AND status = 'sent' AND canonical_id = ?",
                                 [(endpoint, cid) for cid in canonical_ids])

    def refuse_intents(self, endpoint: str, canonical_ids: list[str]) -> None:
        """Close the intents of creates the endpoint refused: nothing landed to look for."""
        self.db.conn.executemany("UPDATE intents SET status = 'refused' WHERE endpoint = ? AND status = 'sent' AND canonical_id = ?",
                            [(endpoint, cid) for cid in canonical_ids])

    def close_intents(self, endpoint: str, canonical_ids: list[str]) -> None:
        """Close intents whose remote record is gone again (``doctor --probe`` deleted it)."""
        with self.atomic():
            self.db.conn.executemany("UPDATE intents SET status = 'done' WHERE endpoint = ? AND status = 'sent' "
                                     "AND canonical_id = ?", [(endpoint, cid) for cid in canonical_ids])

    def settle_intents(self, endpoint: str) -> int:
        """Close intents whose record is linked now, or whose entity has left the hub;
        returns how many are still open. A linked create's fields sent are no longer needed
        (they only recognise a copy left unlinked): not kept, they were a copy of every record."""
        self.db.execute("UPDATE intents SET status = 'done', payload = NULL WHERE endpoint = ? AND status = 'sent' AND EXISTS (SELECT 1 "
                        "FROM links l WHERE l.endpoint = intents.endpoint AND l.canonical_id = intents.canonical_id)",
                        [endpoint])
        self.db.execute("UPDATE intents SET status = 'dropped' WHERE endpoint = ? AND status = 'sent' AND NOT EXISTS "
                        "(SELECT 1 FROM entities e WHERE e.id = intents.canonical_id AND e.deleted = 0)", [endpoint])
        return self.db.execute("SELECT count(*) FROM intents WHERE endpoint = ? AND status = 'sent'", [endpoint]).fetchone()[0]

    def drop_link(self, endpoint: str, kind: str, external_id: str) -> None:
        self.db.execute("DELETE FROM links WHERE endpoint = ? AND kind = ? AND external_id = ?", [endpoint, kind, external_id])

    def cursor(self, endpoint: str, stream: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE endpoint = ? AND stream = ?", [endpoint, stream]).fetchone()
        return row[0] if row else None

    def cursor_set(self, endpoint: str, stream: str) -> str | None:
        """When the cursor was last stored (ISO): a read from it shows what changed after."""
        row = self.db.execute("SELECT updated FROM cursors WHERE endpoint = ? AND stream = ?", [endpoint, stream]).fetchone()
        return row[0] if row else None

    def set_cursor(self, endpoint: str, stream: str, value: str | None, run_id: int) -> None:
        self.db["cursors"].upsert({"endpoint": endpoint, "stream": stream, "value": value, "run_id": run_id,
                                   "updated": NOW()}, pk=("endpoint", "stream"))
