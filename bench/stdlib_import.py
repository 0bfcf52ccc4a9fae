"""The reference for a first import: a plain standard-library script that writes the same
tables okrsync's store does (entities, links with their base, one change row per record,
a run), from the same flat CSV, with the same indexes, in one transaction.

It does what any importer must — parse every row, make an objective once and a record per
KR with typed values (numbers, percentages as fractions), JSON the fields, hash them — and
nothing okrsync adds (mapping by column names, validation, messages, merge, conflicts).
The issue's target: okrsync's first import ≤ 2× this script's time.

    python bench/stdlib_import.py FILE.csv STORE.db     # prints {"seconds": …, "records": …}
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import sys
import time
import uuid

SCHEMA = """
CREATE TABLE entities (id TEXT PRIMARY KEY, kind TEXT NOT NULL, fields TEXT NOT NULL, deleted INTEGER DEFAULT 0,
                       updated TEXT, digest TEXT);
CREATE INDEX idx_entities_kind ON entities (kind);
CREATE TABLE links (endpoint TEXT, kind TEXT, external_id TEXT, canonical_id TEXT NOT NULL, base TEXT,
                    remote_updated TEXT, run_id INTEGER, digest TEXT, key TEXT, PRIMARY KEY (endpoint, kind, external_id));
CREATE UNIQUE INDEX idx_links_canonical ON links (endpoint, canonical_id);
CREATE INDEX idx_links_external ON links (endpoint, external_id);
CREATE TABLE runs (id INTEGER PRIMARY KEY, command TEXT, started TEXT, finished TEXT, status TEXT, dry_run INTEGER,
                   counters TEXT, error TEXT);
CREATE TABLE changes (id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id), at TEXT, entity_id TEXT,
                      entity_kind TEXT, field TEXT, old TEXT, new TEXT, origin TEXT, kind TEXT);
CREATE INDEX idx_changes_entity ON changes (entity_id);
CREATE INDEX idx_changes_run ON changes (run_id);
"""
OBJECTIVE = {"Objective": "title", "Objective description": "description", "Objective owner": "owner",
             "Team": "team", "Period": "period", "Objective status": "status", "Objective start": "start",
             "Objective due": "due"}
KEY_RESULT = {"Key result": "title", "Key result description": "description", "Owner": "owner", "Direction": "direction",
              "Unit": "unit", "Currency": "currency", "Start": "start", "Current": "current", "Target": "target",
              "Status": "status", "Due": "due", "Confidence": "confidence", "Weight": "weight"}
NUMBERS = {"start", "current", "target", "confidence", "weight"}


def value(name: str, cell: str, numbers: bool = False):
    if cell == "":
        return None
    if numbers and name in NUMBERS:
        return float(cell[:-1]) / 100 if cell.endswith("%") else float(cell)
    return cell.strip().lower() if name in ("direction", "unit", "status") else cell


def main(src: str, dst: str) -> dict:
    t = time.perf_counter()
    db = sqlite3.connect(dst)
    db.executescript(SCHEMA)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
    with db, open(src, newline="", encoding="utf-8") as f:
        run = db.execute("INSERT INTO runs (command, started, status) VALUES ('pull', ?, 'running')", [now]).lastrowid
        rows = csv.reader(f)
        header = next(rows)
        at = {h: i for i, h in enumerate(header)}
        objectives: dict[str, str] = {}
        entities, links, changes = [], [], []

        def add(kind: str, ext: str, fields: dict) -> str:
            cid = f"{kind[:3]}_{uuid.uuid4().hex[:12]}"
            text = dumps(fields)
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            entities.append((cid, kind, text, now, digest))
            links.append(("sheet", kind, ext, cid, text, now, run, digest))
            changes.append((run, now, cid, kind, None, None, text, "sheet", "create"))
            return cid

        for cells in rows:
            oid = cells[at["Objective ID"]]
            if oid not in objectives:
                objectives[oid] = add("objective", oid, {f: value(f, cells[at[h]]) for h, f in OBJECTIVE.items() if h in at})
            fields = {f: value(f, cells[at[h]], True) for h, f in KEY_RESULT.items() if h in at}
            fields["objective_id"] = objectives[oid]
            add("key_result", cells[at["Key result ID"]], fields)
        db.executemany("INSERT INTO entities (id, kind, fields, updated, digest) VALUES (?, ?, ?, ?, ?)", entities)
        db.executemany("INSERT INTO links (endpoint, kind, external_id, canonical_id, base, remote_updated, run_id, digest)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", links)
        db.executemany("INSERT INTO changes (run_id, at, entity_id, entity_kind, field, old, new, origin, kind)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", changes)
        db.execute("UPDATE runs SET finished = ?, status = 'ok' WHERE id = ?", [now, run])
    db.close()
    return {"seconds": round(time.perf_counter() - t, 3), "records": len(entities)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
