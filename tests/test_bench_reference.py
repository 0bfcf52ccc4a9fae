"""The first-import benchmark's reference (bench/stdlib_import.py, issue 21) writes what
okrsync's first import writes: the same tables, columns and indexes, and the same records.
A store migration that adds, drops or changes an index or a column fails this test until
the reference follows it, so "≤ 2× the reference" keeps measuring like against like."""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

from okrsync.config import Config
from okrsync.connectors.spreadsheet import CsvConnector
from okrsync.store import Store
from okrsync.sync import Hub

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
try:
    import import_bench
    import stdlib_import
finally:
    sys.path.remove(str(BENCH))

OBJECTIVES = 12


def schema(db: sqlite3.Connection, tables: set[str]) -> set[tuple[str, str, str, str | None]]:
    """(type, name, table, SQL with quotes and layout left out) of the tables and their indexes."""
    def plain(sql: str | None) -> str | None:
        if sql is None:  # a primary key's own index
            return None
        sql = re.sub(r"\s+", " ", sql.replace('"', ""))
        return re.sub(r"\s*([(),])\s*", r"\1", sql).strip()

    return {(kind, name, table, plain(sql)) for kind, name, table, sql in db.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'index')") if table in tables}


def written(db: sqlite3.Connection) -> set[str]:
    """Tables holding a row; sqlite-utils' own list of migrations applied is not the import's."""
    names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n for n in names if n != "_sqlite_migrations" and db.execute(f"SELECT 1 FROM [{n}] LIMIT 1").fetchone()}


def records(db: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """{(kind, external id): the entity's JSON with its canonical ids as ID}."""
    return {(kind, ext): re.sub(r'"(obj|kr)_[0-9a-f]{12}"', '"ID"', fields) for kind, ext, fields in db.execute(
        "SELECT l.kind, l.external_id, e.fields FROM links l JOIN entities e ON e.id = l.canonical_id")}


def test_the_reference_writes_the_tables_and_records_of_a_first_import(tmp_path):
    data = tmp_path / "okrs.csv"
    import_bench.write_csv(data, OBJECTIVES * import_bench.KRS_PER_OBJECTIVE)
    store = Store(tmp_path / "okrsync.db")
    hub = Hub(Config.of(tmp_path, {import_bench.ENDPOINT: {"type": "csv", "path": "okrs.csv", "layout": "flat"}}),
              store, {"csv": CsvConnector})
    run = store.begin_run("pull")
    plan = hub.plan_pull(import_bench.ENDPOINT)
    hub.apply_pull(plan, run)
    store.finish_run(run, "ok", {})
    store.close()
    result = stdlib_import.main(str(data), str(tmp_path / "reference.db"))

    ours, ref = sqlite3.connect(tmp_path / "okrsync.db"), sqlite3.connect(tmp_path / "reference.db")
    tables = written(ours)
    assert tables == {"entities", "links", "changes", "runs", "cursors"}
    assert written(ref) == tables
    assert schema(ref, tables) == schema(ours, tables)
    assert ref.execute("PRAGMA journal_mode").fetchone() == ours.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # the same rows: 12 objectives and 60 KRs, each record's JSON alike but for its ids
    assert result["records"] == OBJECTIVES * (1 + import_bench.KRS_PER_OBJECTIVE)
    for table in ("entities", "links", "changes"):
        assert ref.execute(f"SELECT count(*) FROM {table}").fetchone() == ours.execute(f"SELECT count(*) FROM {table}").fetchone() \
            == (result["records"],)
    assert records(ref) == records(ours)
    shared = "SELECT count(*) FROM links l JOIN entities e ON e.id = l.canonical_id WHERE l.base = '=' AND l.digest = e.digest"
    assert ref.execute(shared).fetchone() == ours.execute(shared).fetchone() == (result["records"],)
    created = "SELECT count(*) FROM changes WHERE field = '*' AND new = '=' AND kind = 'create'"
    assert ref.execute(created).fetchone() == ours.execute(created).fetchone() == (result["records"],)
