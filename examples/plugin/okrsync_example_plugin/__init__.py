"""An example okrsync connector plugin: OKRs kept in a JSON Lines file, one record a line.

    {"kind": "objective", "id": "CO-1", "title": "Grow into a €12M ARR business", "period": "2026-Q1"}
    {"kind": "key_result", "id": "KR-1", "objective_id": "CO-1", "title": "Grow ARR", "current": 9050000.0}

An endpoint ``type: example-jsonl`` with ``path: okrs.jsonl`` syncs both ways like any other.
It is small on purpose: a connector is a ``Connector`` subclass with a ``name``, its
``capabilities``, its options, and ``read``/``write``; one hook registers it. Everything a
connector may do is in the docstrings of ``okrsync.connector`` and ``okrsync.hookspecs``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from okrsync import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult, hookimpl
from okrsync.documents import write_atomic  # temp file, then rename: a reader sees the old file or the new
from okrsync.errors import ConfigError

# the canonical fields this file keeps: the hub compares and writes only these
FIELDS = {
    "objective": {"title", "owner", "period"},
    "key_result": {"objective_id", "title", "owner", "unit", "start", "current", "target"},
}


class JsonLinesConnector(Connector):
    name = "example-jsonl"
    description = "OKRs in a JSON Lines file, one record a line (the example plugin)"
    capabilities = Capabilities(kinds=("objective", "key_result"), kr_units=("number", "percent", "currency"),
                                writes="snapshot")  # every write rewrites the whole file
    option_help = {"path": "the JSON Lines file (created by the first push)"}
    required_options = ("path",)

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        if not options.get("path"):
            raise ConfigError(f"endpoint {endpoint}: give path: FILE.jsonl")
        self.path = self.context.base_dir / Path(options["path"]).expanduser()

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        """Every record of the file (objectives before key results), then a full-listing cursor."""
        if not self.path.exists():
            # not there yet: say so, and claim no full listing, so nothing is taken as deleted
            yield Note(f"{self.path.name} does not exist yet; a push creates it")
            yield Cursor(None, full_listing=False)
            return
        records = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{self.path.name} line {number}"
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                kind, ident = item.pop("kind"), str(item.pop("id"))
            except (ValueError, KeyError, AttributeError, TypeError) as e:
                # one bad line rejects its record alone; the rest is read
                yield Rejected(where, f"not a record with kind and id: {e}")
                continue
            if kind not in FIELDS:
                yield Rejected(where, f"unknown kind {kind!r}; use objective or key_result")
                continue
            records.append(Record(kind, ident, {k: v for k, v in item.items() if k in FIELDS[kind]}, where=where))
        yield from sorted(records, key=lambda r: r.kind != "objective")  # parents first, as read() must
        yield Cursor(None, full_listing=True)

    def write(self, batch: WriteBatch) -> WriteResult:
        """The whole file again: the records kept, then the new ones (ids as the hub hints them)."""
        gone = {(r.kind, r.external_id) for r in batch.deletes}
        kept = {(r.kind, r.external_id): dict(r.fields) for r in (*batch.unchanged, *batch.updates)
                if (r.kind, r.external_id) not in gone}
        result = WriteResult()
        for r in batch.creates:
            # the hub suggests the id another endpoint uses (KR-1 stays KR-1) unless it is taken here
            ident = r.external_id if (r.kind, r.external_id) not in kept else r.canonical_id
            kept[(r.kind, ident)] = dict(r.fields)
            result.external_ids[r.canonical_id] = ident
        for fields in kept.values():  # a KR created with its objective names the objective's canonical id
            if fields.get("objective_id") in result.external_ids:
                fields["objective_id"] = result.external_ids[fields["objective_id"]]
        lines = [json.dumps({"kind": kind, "id": ident, **fields}, ensure_ascii=False, default=str)
                 for (kind, ident), fields in sorted(kept.items(), key=lambda kv: kv[0][0] != "objective")]
        write_atomic(self.path, "".join(line + "\n" for line in lines))
        return result

    def fields(self, kind: str) -> set[str] | None:
        return FIELDS.get(kind, set())



@hookimpl
def register_connectors(register):
    register(JsonLinesConnector)
