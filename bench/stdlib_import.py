"""The reference for a first import: a plain standard-library script that writes the same
tables okrsync's first import writes, from the same flat CSV, in one transaction.

"The same tables" is checked, not assumed: tests/test_bench_reference.py runs this script
and a small okrsync import and compares their ``sqlite_master`` (every table the import
writes a row to, its columns, and every index on it, partial ones with their WHERE), so
this file cannot drift from the store's migrations. What it writes, as okrsync does:

- ``runs``      a row committed before the import (``begin_run``), finished after it
- ``entities``  one row per objective and per KR: the fields as compact canonical JSON
                (sorted keys, no None values), typed (numbers, choices normalised, the
                period's facts), a 12-byte BLAKE2b digest of that text
- ``links``     (endpoint, kind, external id) → entity, the base shared with the entity
                (``=``), the entity's digest (in step), the file's modification time
- ``changes``   one create row per record, its record read back from the entity (``=``)
- ``cursors``   the file's fingerprint (SHA-256 of the options and the bytes) and, per
                objective's block of rows, a digest of its raw cells and the records it
                made, compressed (row fingerprints of the next read)

in a WAL database with foreign keys on, like the store. It does what any importer must and
nothing okrsync adds (mapping by column names, validation, messages, merge, conflicts,
migrations). The issue's target: okrsync's first import ≤ 2× this script's time.

    python bench/stdlib_import.py FILE.csv STORE.db     # prints {"seconds": …, "cpu_s": …, "records": …}
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import json
import os
import sqlite3
import sys
import time
import zlib

ENDPOINT = "bench-sheet"  # import_bench.py's endpoint: the period facts are named after it
# The store's tables and indexes as its migrations leave them (okrsync/store.py m001–m017),
# only those a first import writes to.
SCHEMA = """
CREATE TABLE entities (id TEXT PRIMARY KEY, kind TEXT NOT NULL, fields TEXT NOT NULL, deleted INTEGER DEFAULT 0,
                       updated TEXT, digest TEXT);
CREATE INDEX idx_entities_deleted ON entities (id) WHERE deleted = 1;
CREATE INDEX idx_entities_gone ON entities (id) WHERE deleted != 0;
CREATE INDEX idx_entities_kept ON entities (id) WHERE fields LIKE '%"extra.unparsed.%';
CREATE INDEX idx_entities_levels ON entities (id)
    WHERE kind = 'key_result' AND deleted = 0 AND json_extract(fields, '$.direction') = 'levels';
CREATE INDEX idx_entities_rare ON entities (kind) WHERE kind NOT IN ('objective', 'key_result');
CREATE TABLE links (endpoint TEXT, kind TEXT, external_id TEXT, canonical_id TEXT NOT NULL, base TEXT,
                    remote_updated TEXT, run_id INTEGER, digest TEXT, key TEXT,
                    PRIMARY KEY (endpoint, kind, external_id));
CREATE INDEX idx_links_kept ON links (endpoint) WHERE base LIKE '%"extra.unparsed.%';
CREATE INDEX idx_links_unsettled ON links (endpoint) WHERE digest IS NULL;
CREATE UNIQUE INDEX idx_links_canonical_id_endpoint ON links (canonical_id, endpoint);
CREATE TABLE runs (id INTEGER PRIMARY KEY, command TEXT, started TEXT, finished TEXT, status TEXT, dry_run INTEGER,
                   counters TEXT, error TEXT);
CREATE TABLE changes (id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id), at TEXT, entity_id TEXT,
                      entity_kind TEXT, field TEXT, old TEXT, new TEXT, origin TEXT, kind TEXT, actor TEXT);
CREATE INDEX idx_changes_entity_id ON changes (entity_id);
CREATE INDEX idx_changes_run_id ON changes (run_id);
CREATE TABLE cursors (endpoint TEXT, stream TEXT, value TEXT, run_id INTEGER, updated TEXT,
                      PRIMARY KEY (endpoint, stream));
"""
OBJECTIVE = {"Objective": "title", "Objective description": "description", "Objective owner": "owner",
             "Team": "team", "Period": "period", "Objective type": "type", "Objective status": "status",
             "Objective weight": "weight", "Objective start": "start", "Objective due": "due"}
KEY_RESULT = {"Key result": "title", "Key result description": "description", "Owner": "owner", "Direction": "direction",
              "Unit": "unit", "Currency": "currency", "Start": "start", "Current": "current", "Target": "target",
              "Range low": "range_low", "Range high": "range_high", "Weight": "weight", "Confidence": "confidence",
              "Confidence scale": "confidence_scale", "Status": "status", "Due": "due"}
NUMBERS = {"start", "current", "target", "confidence", "weight", "range_low", "range_high", "confidence_scale"}
CHOICES = {"direction", "unit", "status", "type"}


def value(name: str, cell: str, numbers: set[str]):
    if cell == "":
        return None
    if name in numbers:
        return float(cell[:-1]) if cell.endswith("%") else float(cell)
    return cell.strip().lower().replace(" ", "_") if name in CHOICES else cell


def period_facts(fields: dict) -> dict:
    """The period's facts as okrsync keeps them beside the period (okrsync/periods.py)."""
    if not fields.get("period"):
        return {}
    prefix = f"extra.period.{ENDPOINT}:"
    return {prefix + "key": fields["period"], prefix + "label": fields["period"],
            prefix + "start": fields.get("start"), prefix + "end": fields.get("due")}


def main(src: str, dst: str) -> dict:
    t, cpu = time.perf_counter(), time.process_time()
    db = sqlite3.connect(dst)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    with db:
        db.executescript(SCHEMA)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    mtime = dt.datetime.fromtimestamp(os.stat(src).st_mtime, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
    with db:
        run = db.execute("INSERT INTO runs (command, started, status, dry_run, counters) VALUES ('pull', ?, 'running', 0, '{}')",
                         [now]).lastrowid
    fingerprint = hashlib.sha256(b"layout: flat")
    with open(src, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            fingerprint.update(chunk)
    with db, open(src, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows)
        at = {h: i for i, h in enumerate(header)}
        obj_cols = [(at[h], n) for h, n in OBJECTIVE.items() if h in at]
        kr_cols = [(at[h], n) for h, n in KEY_RESULT.items() if h in at]
        oid_at, kid_at, parent_at = at["Objective ID"], at["Key result ID"], at.get("Parent objective ID")
        objectives: dict[str, str] = {}
        entities, links, changes = [], [], []
        blocks: dict[str, list] = {}
        block, block_keys, block_oid = hashlib.blake2b(digest_size=16), [], None

        def tokens():  # random ids, as the store's (new_id): drawn 4,096 at a time
            while True:
                drawn = os.urandom(6 * 4096).hex()
                yield from [drawn[i:i + 12] for i in range(0, len(drawn), 12)]

        token = tokens().__next__

        def add(kind: str, ext: str, fields: dict) -> str:
            # where random ids land in the indexes costs alike
            cid = f"{'obj' if kind == 'objective' else 'kr'}_{token()}"
            text = encode({k: v for k, v in fields.items() if v is not None})
            digest = hashlib.blake2b(text.encode(), digest_size=12).digest()
            entities.append((cid, kind, text, now, digest))
            links.append((ENDPOINT, kind, ext, cid, "=", mtime, run, digest))
            changes.append((run, now, cid, kind, "*", None, "=", ENDPOINT, "create"))
            block_keys.append([0 if kind == "objective" else 1, ext])
            return cid

        def close_block() -> None:
            nonlocal block, block_keys
            if block_keys:
                kinds = {"key_result": len(block_keys) - 1, "objective": 1}
                blocks[block.hexdigest()] = [block_oid, block_oid, block_keys, kinds, kinds, len(block_keys) - 1]
            block, block_keys = hashlib.blake2b(digest_size=16), []

        for cells in rows:
            oid = cells[oid_at]
            if oid not in objectives:
                close_block()
                block_oid = oid
                fields = {n: value(n, cells[i], {"weight"}) for i, n in obj_cols}
                fields.update(period_facts(fields))
                parent = cells[parent_at] if parent_at is not None else ""
                fields["parent_id"] = objectives.get(parent) if parent else None
                objectives[oid] = add("objective", oid, fields)
            block.update("\x1f".join(cells).encode() + b"\x1e")
            fields = {n: value(n, cells[i], NUMBERS) for i, n in kr_cols}
            fields["objective_id"] = objectives[oid]
            add("key_result", cells[kid_at], fields)
        close_block()
        db.executemany("INSERT INTO entities (id, kind, fields, deleted, updated, digest) VALUES (?, ?, ?, 0, ?, ?)", entities)
        db.executemany("INSERT INTO links (endpoint, kind, external_id, canonical_id, base, remote_updated, run_id, digest)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", links)
        db.executemany("INSERT INTO changes (run_id, at, entity_id, entity_kind, field, old, new, origin, kind)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", changes)
        state = json.dumps({"v": 1, "blocks": blocks}, separators=(",", ":")).encode()
        cursor = f"{fingerprint.hexdigest()} {base64.b64encode(zlib.compress(state, 1)).decode()}"
        db.execute("INSERT INTO cursors (endpoint, stream, value, run_id, updated) VALUES (?, 'records', ?, ?, ?)",
                   [ENDPOINT, cursor, run, now])
    with db:
        db.execute("UPDATE runs SET finished = ?, status = 'ok', counters = ? WHERE id = ?",
                   [now, encode({ENDPOINT: {"pull": {"created": len(entities)}}}), run])
    # timed as import_bench.py times okrsync's run: the seconds up to the last commit, the CPU
    # after closing (the close writes the WAL back into the database file)
    seconds = time.perf_counter() - t
    db.close()
    return {"seconds": round(seconds, 3), "cpu_s": round(time.process_time() - cpu, 3), "records": len(entities)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
