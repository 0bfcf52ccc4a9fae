"""Patching a CSV file okrsync wrote, instead of re-reading and rewriting all of it.

Every flat or hierarchical CSV write okrsync makes keeps an ``Index``: the rows above the
header and the header, then per data row the record(s) it holds and its length in bytes.
The index rides in the endpoint's cursor with the file's fingerprint (row_prints.join), so
the next run knows, without reading the file, what it holds — when the file is still the
one okrsync wrote (the fingerprint matches at the pull before the push).

A push to such a file then (``patch``):
- takes the table's header, row order and rows above the header from the index instead of
  reading and mapping the file again (``existing``);
- renders only the rows of records created or updated, or whose objective or other parent
  (titles written on the row) was; copies every other row as the bytes it already was;
- leaves out the rows of deleted records, and puts new rows where a full write puts them.

An XLSX write keeps the same index without byte lengths: the next push takes the header and
row order from it instead of reading the workbook, and patches the sheet's rows (xlsx_patch.py).

A CSV patch writes the whole file, atomically, as before: the saving is in reading, mapping and
rendering. It does not patch (a full write follows) when the file changed since okrsync
wrote it, when rows not made by records were kept (notes, totals, rejected rows), when a
new value needs a new column, or when a record's id changed. Test: a patched file is byte
for byte the file a full write makes (tests/test_csv_patch.py).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from okrsync import tabular
from okrsync.connector import Record
from okrsync.model import KINDS, REFERENCES

Key = tuple[str, str]
STAND_IN = "\0stand-in"  # Record.where of stand_ins


@dataclass
class Index:
    """What okrsync last wrote to one CSV table."""

    part: str
    header: list[str]
    preamble: list[list]  # rows above the header, as cells
    head: int  # bytes before the first data row (BOM, rows above the header, the header)
    rows: list[tuple[Key, Key | None]] = field(default_factory=list)  # per data row: its record, its context
    sizes: list[int] = field(default_factory=list)  # per data row: bytes
    rendered: int = 0  # rows this write rendered from records (not kept; tests, bench)

    def dump(self) -> dict:
        return {"part": self.part, "header": self.header, "preamble": self.preamble, "head": self.head,
                "rows": [[KINDS.index(k[0]), k[1], *((KINDS.index(c[0]), c[1]) if c else ())] for k, c in self.rows],
                "sizes": self.sizes}

    @classmethod
    def load(cls, raw: dict) -> Index:
        rows = [((KINDS[r[0]], r[1]), (KINDS[r[2]], r[3]) if len(r) > 2 else None) for r in raw["rows"]]
        return cls(raw["part"], raw["header"], raw["preamble"], raw["head"], rows, raw["sizes"])

    def order(self) -> list[Key]:
        """The records in the order a read yields them (a row's context, then its own)."""
        seen: dict[Key, None] = {}
        for own, context in self.rows:
            if context:
                seen.setdefault(context)
            seen.setdefault(own)
        return list(seen)


def write(path, rows: Iterable[tuple[Key | None, Key | None, Any]], *, delimiter: str, bom: bool,
          part: str, header: list[str], preamble: list[list]) -> Index:
    """Write a CSV file atomically from (record, context, cells or bytes as they were) per
    row — the rows above the header and the header with record None — and return its index.
    Cells are formatted as ``tabular.write_csv`` formats them (neutralised, the same writer)."""
    index = Index(part, header, preamble, 0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    with tabular._atomic_file(path, "wb") as fh:
        done = 0
        if bom:  # utf-8-sig, as write_csv's text file writes it
            fh.write(codecs.BOM_UTF8)
            done = len(codecs.BOM_UTF8)
        for own, context, cells in rows:
            if isinstance(cells, (bytes, memoryview)):
                data = cells
            else:
                index.rendered += own is not None
                buffer.seek(0)
                buffer.truncate()
                writer.writerow(tabular.to_grid([cells])[0])
                data = buffer.getvalue().encode("utf-8")
            fh.write(data)
            done += len(data)
            if own is None:
                index.head = done
            else:
                index.rows.append((own, context))
                index.sizes.append(len(data))
    return index


def old_rows(path, index: Index) -> tuple[memoryview, dict[Key, tuple[int, int]]]:
    """The file as written, and per record its row's (start, end) in it."""
    data = memoryview(path.read_bytes())
    spans, at = {}, index.head
    for (own, _), size in zip(index.rows, index.sizes):
        spans[own] = (at, at + size)
        at += size
    return data, spans


def _stood_in(plan: list, dirty: list[bool], origin: dict, load) -> bool:
    """Swap the stand-ins of rows to render for their records (loaded), in place; False
    when one is no longer in step (a full write then says what it is)."""
    wanted = {(x.kind, x.external_id) for (_, record, context), again in zip(plan, dirty) if again
              for x in (record, context) if x is not None and x.where == STAND_IN}
    if not wanted:
        return True
    real = {(r.kind, r.external_id): r for r in load(wanted)}
    if len(real) != len(wanted):
        return False
    for i, ((part, record, context), again) in enumerate(zip(plan, dirty)):
        if again:
            record, context = (real.get((x.kind, x.external_id), x) if x is not None and x.where == STAND_IN else x
                               for x in (record, context))
            plan[i] = (part, record, context)
            origin.setdefault(id(record), (record.kind, record.external_id))
            if context is not None:
                origin.setdefault(id(context), (context.kind, context.external_id))
    return True


def dirty_rows(plan: list, changed: set[Key], origin: dict) -> list[bool]:
    """Per plan entry (part, record, context): whether its row must be rendered anew — its
    record was created or updated, or its context (a flat row's objective) or a record it
    points at (a parent whose title the row may show) was."""
    out = []
    for _, record, context in plan:
        mine = origin[id(record)]
        dirty = mine in changed or (context is not None and origin[id(context)] in changed)
        if not dirty:
            refs = REFERENCES.get(record.kind, {})
            dirty = any((target, record.fields.get(ref)) in changed for ref, target in refs.items()
                        if record.fields.get(ref) is not None)
        out.append(dirty)
    return out


def stand_ins(conn, sheets: list, batch) -> list | None:
    """For a patch of a CSV (or XLSX: xlsx_patch) table okrsync wrote, with the records in step loaded on demand
    (``WriteBatch.in_step``): a stand-in per such record, holding only what placing its row
    needs (its kind, id and objective, which the index holds), in the index's order; the
    patch loads the few whose rows it renders. None where a patch cannot be made or could
    need more of every record: ids made from titles, a parent's title shown on rows, or
    the records in step and given not being exactly the file's (a full write then)."""
    from . import sheet_writer as sw

    index = conn.patchable
    if (conn.name not in ("csv", "xlsx") or conn.layout == "linked" or getattr(conn, "sheet_per", None) or len(sheets) != 1
            or index is None or sheets[0].old.kept or sheets[0].path != conn.path):
        return None
    if not all(sw._has_ids(conn, sheets, p) for p in sw.row_parts(conn)) or any(
            c.field and c.field.endswith("_title") for b in sheets[0].old.table.bindings() for c in b.columns):
        return None
    given = {(r.kind, r.external_id) for r in (*batch.unchanged, *batch.updates)}
    deleted = {(r.kind, r.external_id) for r in batch.deletes}
    in_step = batch.in_step.keys()
    order = index.order()
    if set(order) - deleted != in_step | given:
        return None
    objective_of = {}  # a KR row's objective: its context (flat), else the objective row above it
    objective = None
    for (kind, ext), context in index.rows:
        objective = context[1] if context else ext if kind == "objective" else objective
        if kind == "key_result":
            objective_of[ext] = objective
    return [Record(kind, ext, {"objective_id": objective_of[ext]} if kind == "key_result" else {}, where=STAND_IN)
            for kind, ext in order if (kind, ext) in in_step and (kind, ext) not in given]


def patch(conn, sheet, plan: list, records: list, batch, origin: dict, load=None) -> bool:
    """Write a flat or hierarchical CSV table by patching the file okrsync last wrote
    (module docstring); False, having written nothing, where only a full write is right.
    ``load(keys)`` gives the records of ``stand_ins`` whose rows are rendered."""
    from . import sheet_writer as sw  # the writer's own row rendering (it imports this module)

    index = conn.patchable
    if index is None or sheet.old.kept or sheet.path != conn.path:
        return False
    if any(r.where != sw._NEW and (r.kind, r.external_id) != origin[id(r)] for r in records):
        return False  # an id changed (a title-derived one): rows pointing at it change too
    changed = {origin[id(r)] for r in records if r.where == sw._NEW}
    changed |= {(r.kind, r.external_id) for r in batch.updates}
    data, spans = old_rows(conn.path, index)
    # rendered: rows of changed records, and rows the file lacks (a flat objective whose last KR went)
    dirty = [again or origin[id(entry[1])] not in spans for entry, again in zip(plan, dirty_rows(plan, changed, origin))]
    if load is not None and not _stood_in(plan, dirty, origin, load):
        return False
    table = sw._bind(conn, sheet, index.header)
    if sw._missing_columns(conn, table, [e for e, d in zip(plan, dirty) if d]):
        return False  # a value needs a new column: every row gets wider
    # parents' titles shown on rows; stand-ins have none, and are made only where no row shows one
    titles = {(r.kind, r.external_id): r.fields.get("title") for r in records if r.where != STAND_IN}

    def rows():
        yield None, None, data[:index.head]
        for (part, record, context), again in zip(plan, dirty):
            own = (record.kind, record.external_id)
            ctx = (context.kind, context.external_id) if context is not None else None
            if again:
                yield own, ctx, sw._row(conn, table, part, record, context, titles)
            else:
                start, end = spans[origin[id(record)]]
                yield own, ctx, data[start:end]

    delimiter, _ = sw._csv_dialect(conn, conn.path)
    conn.written = write(conn.path, rows(), delimiter=delimiter, bom=False, part=index.part,
                         header=index.header, preamble=index.preamble)
    return True
