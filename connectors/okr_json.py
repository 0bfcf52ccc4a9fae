"""The ``okr-json`` endpoint: an okr-json file (``okrsync.okrjson``), read and written.

It holds everything the canonical model has — every kind, direction and unit, check-in
history, alignments with weights — and every tool's ``extra``, so syncing through it
loses nothing. Reads check the file against the schema and the model: a record with a
problem is rejected alone with its JSON Pointer; a file that is not okr-json (or of a
newer version) fails the read. Writes rewrite the whole file atomically, records in the
order the file had them and new ones after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

from okrsync import documents, okrjson
from okrsync.config import check_options
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError
from okrsync.mapping import MODEL_FIELDS
from okrsync.model import DIRECTIONS, KINDS, REFERENCES, UNITS
from okrsync.sync import ALL_EXTRAS


class OkrJsonConnector(Connector):
    name = "okr-json"
    description = "An okr-json file: okrsync's open interchange format (every kind and field, two-way)"
    capabilities = Capabilities(
        kinds=KINDS, kr_directions=DIRECTIONS, kr_units=UNITS, alignment="multi-parent", alignment_depth=None,
        weights=True, confidence=True, check_ins="history", custom_fields=True, deletes=True, incremental=False,
        writes="snapshot", levels=True,
    )
    option_help = {"path": "the okr-json file (.json)"}
    required_options = ("path",)

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        check_options(options, self.declared_options(), f"endpoint {endpoint}")
        if not options.get("path"):
            raise ConfigError(f"endpoint {endpoint}: an okr-json endpoint needs 'path: FILE.json'")
        self.path = self.context.base_dir / Path(options["path"]).expanduser()
        if self.path.suffix.lower() != ".json":
            raise ConfigError(f"endpoint {endpoint}: path {options['path']!r} is not a .json file")

    def _fingerprint(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()[:32]
        except FileNotFoundError:
            return None

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        fingerprint = self._fingerprint()
        if fingerprint is None and cursor is None:
            yield Note(f"{self.path.name} does not exist yet; a push creates it")
            yield Cursor(None, full_listing=False)
            return
        if fingerprint is None:
            raise FatalError(f"{self.path} has disappeared since the last run; restore it, or remove the endpoint "
                             "from the config", endpoint=self.endpoint)
        if cursor == fingerprint:
            yield Cursor(cursor, full_listing=False)
            return
        try:
            doc = okrjson.load(self.path)
        except documents.DocumentError as e:
            raise FatalError(str(e), endpoint=self.endpoint) from None
        found = okrjson.check(doc)
        whole = [p for p in found if p.item is None]
        if whole:  # the document itself is wrong: reading some records of it would mislead
            shown = "; ".join(p.located(self.path.name) for p in whole[:10])
            raise FatalError(f"not a valid okr-json file: {shown}", endpoint=self.endpoint)
        for p in found:
            yield Rejected(f"{self.path.name}: {p.pointer}", p.message)
        updated = dt.datetime.fromtimestamp(self.path.stat().st_mtime, dt.UTC).isoformat().replace("+00:00", "Z")
        for kind, entity_id, fields, pointer in okrjson.entities(doc, {p.item for p in found}):
            yield Record(kind, entity_id, fields, updated=updated, where=f"{self.path.name}: {pointer}")
        yield Cursor(fingerprint, full_listing=True)

    def write(self, batch: WriteBatch) -> WriteResult:
        """The whole file again: kept records in their old order, then the new ones."""
        old = okrjson.load(self.path) if self.path.exists() else {}
        order = {(okrjson.KIND_OF[name], r.get("id")): i for name in okrjson.KIND_OF
                 for i, r in enumerate(old.get(name) or []) if isinstance(r, dict)}
        gone = {(r.kind, r.external_id) for r in batch.deletes}
        kept = [((r.kind, r.external_id), r.fields) for r in (*batch.unchanged, *batch.updates)
                if (r.kind, r.external_id) not in gone]
        taken = {key for key, _ in kept}
        result = WriteResult()
        for record in batch.creates:
            key = (record.kind, record.external_id)
            if key in taken:  # the id hinted by another endpoint is another record's here
                key = (record.kind, record.canonical_id)
            taken.add(key)
            result.external_ids[record.canonical_id] = key[1]
            kept.append((key, record.fields))
        # references to records created in this batch hold their canonical ids: use the file's
        renamed = {cid: ext for cid, ext in result.external_ids.items() if cid != ext}
        if renamed:
            kept = [(key, {**fields, **{ref: renamed[fields[ref]] for ref in REFERENCES.get(key[0], {})
                                        if fields.get(ref) in renamed}}) for key, fields in kept]
        kept.sort(key=lambda k: (KINDS.index(k[0][0]), order.get(k[0], len(order))))
        okrjson.dump(okrjson.document((kind, ext, fields) for (kind, ext), fields in kept), self.path)
        result.cursor = self._fingerprint()
        return result

    def fields(self, kind: str) -> set[str] | None:
        return (MODEL_FIELDS[kind] - {"id"}) | {ALL_EXTRAS}
