"""Writing CSV, XLSX and Google Sheets endpoints: the inverse of reading, through the same column bindings.

A write keeps what the file already has: its columns (names and order), its row order
(records already in it keep their place, new ones follow their kind), its delimiter. It
adds a column only for a value no column holds yet. A new file gets the mapping's columns:
ids first, then each field under the first name the mapping lists.

Records are known by their ids where a table has an id column (a record created here gets
its canonical id), else by ``derived_id``: titles under their parent's id. ``write`` reports
every external id that is new or changed (a renamed objective in a sheet without ids).
The rows it makes are stored by the connector's ``save_tables``: ``save_files`` here for
CSV and XLSX, changed ranges only for Google Sheets — unless a file okrsync wrote can be
patched instead: only its changed rows rendered (csv_patch.py, xlsx_patch.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from okrsync import levels, tabular
from okrsync import transforms as tf
from okrsync.connector import Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import FatalError, MappingError
from okrsync.mapping import MODEL_FIELDS, Table
from okrsync.model import ENTITY_TYPES, KINDS, REFERENCES

# sheet_style and xlsx_patch (openpyxl) are imported where a workbook is written: a CSV run never needs them
from . import csv_patch

_DATES = ("start", "due", "end")
SHEET_PER = {"period": "No period", "team": "No team"}  # sheet_per: the field → the sheet of objectives without one
_SHEET_TITLE_BAD = str.maketrans({c: "-" for c in "[]:*?/\\"})  # characters Excel refuses in a sheet's name
_NEW = "\0new"  # marks the copies of records created in this write
# A KR's direction "increase" and unit "number" are what a sheet without those columns reads as.
_DEFAULTS = {(kind, f.name): f.default for kind, cls in ENTITY_TYPES.items()
             for f in dataclasses.fields(cls) if f.default not in (None, dataclasses.MISSING)}


def title_id(title: str) -> str:
    """The external id of a record known only by its title (no id column)."""
    return tf.normalise_key(title)


def derived_id(kind: str, fields: dict[str, Any]) -> str:
    """Ids for rows without an id column: titles, under their parent's id (reading uses them too)."""
    title = title_id(str(fields.get("title") or ""))
    if kind == "objective":
        return title
    if kind == "key_result":
        return f"{fields.get('objective_id')}/{title}"
    if kind == "initiative":
        parent = fields.get("parent_id") or fields.get("key_result_id") or fields.get("objective_id") or ""
        return f"{parent}/{title}"
    if kind == "check_in":
        return f"{fields.get('key_result_id')}@{fields.get('at')}"
    return title


def row_parts(conn) -> list[str]:
    """The parts a flat or hierarchical file holds: the objective and the row entity
    (with a ``row_type`` column: the parts its types name)."""
    m = conn.mapping
    parts = m.row_parts() if m.row_type.get("column") else [m.row_entity]
    return list(dict.fromkeys([m.parts_of("objective")[0], *parts]))


@dataclass
class Existing:
    """What a table already holds, kept by a write: its header, its row order, the rows
    above its header, and rows whose own record could not be read (rejected ones, notes,
    totals) — each after the record it followed (None: first), so fixing them still works."""

    table: Table | None  # the header, bound; None for an empty table
    order: list[tuple[str, str]] = field(default_factory=list)  # (kind, id) of its records
    preamble: list[list] = field(default_factory=list)
    kept: list[tuple[tuple[str, str] | None, list]] = field(default_factory=list)
    records: dict[tuple[str, str], Record] = field(default_factory=dict)  # (kind, id) → the record as read


@dataclass
class _Sheet:
    """One table to write."""

    part: str  # linked: the table's part; otherwise the row entity
    path: Path
    sheet: str | None
    old: Existing
    records: list[Record] = field(default_factory=list)


def write(conn, batch: WriteBatch) -> WriteResult:
    """Write every record of the batch but the deleted ones; see the module docstring.
    A batch whose records in step load on demand (``WriteBatch.in_step``) is first tried as
    a patch with stand-ins for them (csv_patch.stand_ins); only where that cannot be made
    are they all loaded."""
    held = list(conn.tables) if conn.layout == "linked" else row_parts(conn)
    _check_writable(conn, held)
    sheets = [_existing(conn, part, path, sheet) for part, path, sheet in conn.table_files()]
    if batch.in_step is not None:
        stand_ins = csv_patch.stand_ins(conn, sheets, batch)
        if stand_ins is not None and (result := _write(conn, batch, sheets, held, stand_ins)) is not None:
            return result
        batch.in_step.records()  # every record in step, into batch.unchanged: a full write
    return _write(conn, batch, sheets, held, None)


def _write(conn, batch: WriteBatch, sheets: list[_Sheet], held: list[str],
           stand_ins: list[Record] | None) -> WriteResult | None:
    """``write`` with the records in step given (``batch.unchanged``) or stood in for; None
    (nothing written) when stand-ins were given and a patch cannot be made."""
    result = WriteResult()
    deleted = {(r.kind, r.external_id) for r in batch.deletes}
    creates = {id(r) for r in batch.creates}
    # Copies: the hub compares the ids it sent with the ones reported back.
    records = [dataclasses.replace(r, fields=dict(r.fields), where=_NEW if id(r) in creates else r.where)
               for r in (*batch.unchanged, *batch.updates, *batch.creates)
               if (r.kind, r.external_id) not in deleted and _part_of(conn, r, held)]
    records += stand_ins or ()  # made for this write: no copies; none is deleted; the sort below places them
    position = {key: i for s in sheets for i, key in enumerate(s.old.order)}
    records.sort(key=lambda r: (KINDS.index(r.kind), position.get((r.kind, r.external_id), math.inf)))
    origin = {id(r): (r.kind, r.external_id) for r in records}  # before ids change: anchors of kept rows
    ids = {p: _has_ids(conn, sheets, p) for p in held}
    _assign_ids(conn, records, ids, result)
    records = _writable(conn, records, sheets, origin, result)
    for s in sheets:
        s.records = [r for r in records if conn.layout != "linked" or _part_of(conn, r, held) == s.part]
    if conn.layout == "linked":
        tables = [(s, _table_rows(conn, s, [(s.part, r, None) for r in s.records], records, origin)) for s in sheets]
    elif getattr(conn, "sheet_per", None):
        plan = _sheet_plan(conn, sheets[0].records, result)
        tables = [(s, _table_rows(conn, s, rows, records, origin)) for s, rows in _per_sheet(conn, sheets, plan, records)]
    else:
        plan = _sheet_plan(conn, sheets[0].records, result)
        load = batch.in_step.records if stand_ins is not None else None
        if conn.name == "csv" and csv_patch.patch(conn, sheets[0], plan, records, batch, origin, load):
            return result  # only the changed rows rendered, the rest copied (csv_patch)
        if conn.name == "xlsx":
            from . import xlsx_patch

            if xlsx_patch.patch(conn, sheets[0], plan, records, batch, origin, load):
                return result  # the sheet's changed rows rendered, the rest of the package copied (xlsx_patch)
        if stand_ins is not None:
            return None
        tables = [(sheets[0], _table_rows(conn, sheets[0], plan, records, origin))]
        if not sheets[0].old.kept:  # the rows' records, for the index a file write keeps (csv_patch)
            conn.row_keys = [((r.kind, r.external_id), (c.kind, c.external_id) if c else None) for _, r, c in plan]
    conn.save_tables(tables)
    return result


def _per_sheet(conn, sheets: list[_Sheet], plan: list, records: list[Record]) -> list[tuple[_Sheet, list]]:
    """``sheet_per: period | team``: the plan's rows split into one sheet per objective's
    period or team (KRs with their objective), sheets in name order, objectives without one
    last. A sheet that exists keeps its header and rows it could not read; a new one takes
    the first sheet's header, so all look alike. A sheet left with no record is dropped,
    unless it holds rows okrsync could not read (they stay, under its header)."""
    field_name, missing = conn.sheet_per, SHEET_PER[conn.sheet_per]
    titles: dict[str, str] = {}  # Excel's sheet names are case-insensitive: 2026-q1 joins 2026-Q1
    # every objective, not only those with a row of their own (flat KR rows carry theirs)
    group = {r.external_id: titles.setdefault((t := _sheet_title(r.fields.get(field_name), missing)).casefold(), t)
             for r in records if r.kind == "objective"}
    rows: dict[str, list] = {}
    for entry in plan:
        _, record, _ = entry
        key = record.external_id if record.kind == "objective" else record.fields.get("objective_id")
        rows.setdefault(group.get(key, missing), []).append(entry)
    old = {(s.sheet or "").casefold(): s for s in sheets}
    template = next((s.old.table for s in sheets if s.old.table is not None), None)
    out = []
    for title in sorted(rows, key=lambda t: (t == missing, t.casefold())):
        s = old.pop(title.casefold(), None) or _Sheet(sheets[0].part, conn.path, title, Existing(template))
        out.append((s, rows[title]))
    return out + [(s, []) for s in old.values() if s.old.kept and s.sheet]


def _sheet_title(value: Any, missing: str) -> str:
    """A period or team as a sheet's name: Excel's rules (at most 31 characters, none of []:*?/\\)."""
    text = " ".join(str(value or "").translate(_SHEET_TITLE_BAD).split()).strip("'")
    return text[:31] or missing


def _check_writable(conn, held: list[str]) -> None:
    """Refuse writes that would lose what the file holds: rows of other entities, macros."""
    others = [p for p in held if conn.mapping.kind(p) not in ("objective", "key_result")]
    if conn.layout != "linked" and others:
        raise FatalError(f"{conn.path.name}: writing {', '.join(others)} rows into a flat or hierarchical sheet "
                         "is not supported (use a linked layout)", endpoint=conn.endpoint)
    used = {k: conn.options.get(k) or conn.mapping.options.get(k) for k in ("sheets", "table_values", "header_rows", "period_from")}
    read_only = [k for k, v in used.items() if v and v != 1]
    if read_only:  # a sheet read with these cannot be put back as it was: refuse rather than rewrite it
        raise FatalError(f"{conn.path.name}: okrsync reads but does not write a workbook mapped with "
                         f"{', '.join(read_only)}; pull from it, push to another file", endpoint=conn.endpoint)
    if conn.path.suffix.lower() == ".xlsm":
        raise FatalError(f"{conn.path.name}: okrsync does not write macro workbooks (the macros would be lost); "
                         "push to an .xlsx file", endpoint=conn.endpoint)


def _existing(conn, part: str, path: Path, sheet: str | None) -> _Sheet:
    if not conn.table_exists(path, sheet):
        return _Sheet(part, path, sheet, Existing(None))
    try:
        return _Sheet(part, path, sheet, conn.scan(part, path, sheet))
    except (MappingError, FatalError) as e:
        raise FatalError(f"{path.name} exists but okrsync cannot read it ({e}); not overwriting it",
                         endpoint=conn.endpoint) from None


def _part_of(conn, record: Record, held: list[str]) -> str | None:
    """The part a record is written as; of two parts of one kind, a child (parent_id set) is the later."""
    parts = _parts_of_kind(conn, tuple(held)).get(record.kind, ())
    if len(parts) > 1 and record.fields.get("parent_id") and record.kind == "initiative":
        return parts[-1]
    return parts[0] if parts else None


def _parts_of_kind(conn, held: tuple[str, ...]) -> dict[str, list[str]]:
    """kind → its parts among ``held``; asked per record (60,000 at 50,000 KRs), made once per write."""
    known = getattr(conn, "_write_parts", None)
    if known is None or known[0] != held or known[1] is not conn.mapping:
        parts: dict[str, list[str]] = {}
        for p in held:
            parts.setdefault(conn.mapping.kind(p), []).append(p)
        known = conn._write_parts = (held, conn.mapping, parts)
    return known[2]


def _has_ids(conn, sheets: list[_Sheet], part: str) -> bool:
    tables = [s.old.table for s in sheets if s.old.table is not None and (conn.layout != "linked" or s.part == part)]
    if not tables:
        return True  # files okrsync creates get id columns
    return any(c.part == part and c.field == "id" for t in tables for b in t.bindings() for c in b.columns)


def _assign_ids(conn, records: list[Record], ids: dict[str, bool], result: WriteResult) -> None:
    """External ids, parents first: kept, a create's canonical id, or derived from titles."""
    held = list(ids)
    renamed: dict[tuple[str, str], str] = {}  # (kind, old id or canonical id) → the id written
    taken = {(r.kind, r.external_id) for r in records if r.where != _NEW}
    for r in records:
        refs = REFERENCES.get(r.kind, {})
        swaps = {k: new for k, v in r.fields.items()
                 if k in refs and isinstance(v, str) and (new := renamed.get((refs[k], v), v)) != v}
        if swaps:  # only records pointing at a renamed one get new fields (60,000 copies at 50,000 KRs otherwise)
            r.fields = {**r.fields, **swaps}
        created = r.where == _NEW
        if ids[_part_of(conn, r, held)]:
            ext = r.external_id
            if created:  # the hub's hint (another endpoint's id) where it is free, else the canonical id
                ext = r.external_id if r.external_id and (r.kind, r.external_id) not in taken else r.canonical_id
                taken.add((r.kind, ext))
        else:
            ext = derived_id(r.kind, r.fields)
        if ext != r.external_id or created:
            result.external_ids[r.canonical_id or r.external_id] = ext
        renamed[(r.kind, r.external_id)] = ext
        if r.canonical_id:
            renamed[(r.kind, r.canonical_id)] = ext
        r.external_id = ext


def _writable(conn, records: list[Record], sheets: list[_Sheet], origin: dict, result: WriteResult) -> list[Record]:
    """The records to write. A value a cell cannot hold (control characters in XLSX, text
    longer than ``conn.max_cell``: Excel's 32,767, Google's 50,000) is never cut: its whole
    record is rejected, naming the field and the length, and the table keeps what it held
    (the record as read; a new record is left out). The whole record, not the one cell:
    the hub agrees with an endpoint record by record, so a half-written record would have
    its other fields read back as edits made there."""
    old = None  # made on first need: a file okrsync wrote was not read (csv_patch), and is only now
    out = []
    for r in records:
        why = _unwritable(conn, r)
        if why is None:
            out.append(r)
            continue
        old = {key: r for s in sheets for key, r in s.old.records.items()} if old is None else old
        key = origin[id(r)]
        result.rejected.append(Rejected(r.canonical_id or r.external_id, f"{conn.path.name}: {why}; the record is not "
                                        f"written ({'its row keeps what it held' if key in old else 'not added'}); "
                                        "fix it where it was written", record=f"{r.kind} {key[1]}"))
        if r.where != _NEW and key in old:
            kept = dataclasses.replace(old[key], fields=dict(old[key].fields))
            origin[id(kept)] = key
            out.append(kept)
    return out


def _illegal_characters():
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE


def _unwritable(conn, record: Record) -> str | None:
    """Why one of a record's values cannot go in a cell, or None."""
    limit = conn.max_cell
    for name, value in sorted(record.fields.items()):
        if not isinstance(value, str):
            continue
        if conn.name == "xlsx" and _illegal_characters().search(value):
            return f"{record.kind.replace('_', ' ')} {record.external_id}, {name}: holds a control character an xlsx cell cannot"
        if limit and len(value) > limit:
            return (f"{record.kind.replace('_', ' ')} {record.external_id}, {name}: {len(value):,} characters, "
                    f"more than a cell holds here ({limit:,})")
    return None


def _sheet_plan(conn, records: list[Record], result: WriteResult) -> list[tuple[str, Record, Record | None]]:
    """(part, record, context) per row: flat KR rows repeat their objective; hierarchical
    and typed sheets give the objective a row of its own and leave it out of the KR rows."""
    m = conn.mapping
    obj_part, kr_part = m.parts_of("objective")[0], m.row_entity
    own_row = conn.layout == "hierarchical" or bool(m.row_type.get("column"))
    krs_of: dict[str, list[Record]] = {}
    for r in records:
        if r.kind == "key_result":
            krs_of.setdefault(r.fields.get("objective_id"), []).append(r)
    plan = []
    for obj in (r for r in records if r.kind == "objective"):
        children = krs_of.pop(obj.external_id, [])
        if own_row or not children:
            plan.append((obj_part, obj, None))
        plan.extend((kr_part, kr, None if own_row else obj) for kr in children)
    for krs in krs_of.values():
        result.rejected.extend(Rejected(kr.canonical_id or kr.external_id, "its objective is not in this sheet") for kr in krs)
    return plan


def _table_rows(conn, sheet: _Sheet, plan: list, everything: list[Record], origin: dict) -> list[list]:
    """All rows of one table: rows above the header, the header (the file's own, widened
    as needed), then a row per plan entry with the kept rows after their anchors."""
    titles = {(r.kind, r.external_id): r.fields.get("title") for r in everything}
    header = list(sheet.old.table.header) if sheet.old.table else _default_header(conn, sheet)
    table = _bind(conn, sheet, header)
    wider = _missing_columns(conn, table, plan)
    if wider:
        table = _bind(conn, sheet, header + wider)
    kept: dict[tuple[str, str] | None, list[list]] = {}
    for anchor, cells in sheet.old.kept:
        kept.setdefault(anchor, []).append(cells)
    rows = [*sheet.old.preamble, ["" if h is None else str(h) for h in table.header], *kept.pop(None, [])]
    for part, record, context in plan:
        rows.append(_row(conn, table, part, record, context, titles))
        rows.extend(kept.pop(origin[id(record)], []))
    return rows + [cells for rest in kept.values() for cells in rest]


def _bind(conn, sheet: _Sheet, header: list) -> Table:
    return Table(conn.mapping, header, conn.layout, sheet.part, where=sheet.path.name)


def _default_header(conn, sheet: _Sheet) -> list[str]:
    m = conn.mapping
    parts = [sheet.part] if conn.layout == "linked" else row_parts(conn)
    header = [m.row_type["column"]] if m.row_type.get("column") and conn.layout != "linked" else []
    for part in parts:
        refs = [r for r in REFERENCES.get(m.kind(part), {}) if conn.layout == "linked" and r != "child_id"]
        names = ["id", *(r for r in refs if r not in m.entities.get(part, {})), *(f for f in m.written_fields(part) if f != "id")]
        header += [_column_name(conn, part, f) for f in names]
    return list(dict.fromkeys(header))


def _missing_columns(conn, table: Table, plan: list) -> list[str]:
    """Columns to add so that every value of the plan's records has one."""
    prefix, added = f"extra.{conn.endpoint}.", {}
    # A KR row's objective is the one on the row (flat) or above it (hierarchical).
    implied = ("objective_id",) if conn.layout == "hierarchical" or not (table.typed or conn.layout == "linked") else ()
    for part, record, context in plan:
        binding = table.binding(part)
        pairs = [(part, record)] + ([(conn.mapping.parts_of(context.kind)[0], context)] if context else [])
        for p, rec in pairs:
            have = {(c.field if c.field in MODEL_FIELDS[rec.kind] else prefix + c.field)
                    for c in binding.columns if c.part == p and c.field}
            if p == part:
                have |= {f"{prefix}{c.header}" for c in binding.columns if c.field is None}
            held = conn.fields(rec.kind) or set()
            for name, value in rec.fields.items():
                if value is None or name in have or name in implied or _DEFAULTS.get((rec.kind, name)) == value:
                    continue
                if name.startswith(prefix) and p == part:
                    added.setdefault(name[len(prefix):])
                elif name in held:
                    added.setdefault(_column_name(conn, p, name))
    return [h for h in added if tf.normalise_key(h) not in {tf.normalise_key(x) for x in table.header if x}]


def _column_name(conn, part: str, name: str) -> str:
    """A reference not declared on the part is written under its target's id column."""
    m = conn.mapping
    target = REFERENCES.get(m.kind(part), {}).get(name)
    if target and name not in m.entities.get(part, {}):
        return m.write_header(m.parts_of(target)[0], "id")
    return m.write_header(part, name)


def _row(conn, table: Table, part: str, record: Record, context: Record | None, titles: dict) -> list:
    row: list[Any] = [None] * len(table.header)
    type_cell = next((k for k, p in (conn.mapping.row_type.get("values") or {}).items() if p == part), None)
    for c in table.binding(part).columns:
        if c.field == "__row_type__":
            value = type_cell
        elif c.field is None:
            value = record.fields.get(f"extra.{conn.endpoint}.{c.header}")
        elif c.part == part:
            value = _value(conn, record, c.field, titles)
            if value is None:  # a cell read kept as text (okrsync/unparsed.py) goes back as it was
                value = record.fields.get(f"extra.{conn.endpoint}.{c.header}")
        elif context is not None and conn.mapping.kind(c.part) == context.kind:
            value = _value(conn, context, c.field, titles)
        elif c.field == "id" and conn.parent_ids_on_rows and conn.layout == "hierarchical" and not table.typed \
                and record.kind == "key_result" and conn.mapping.kind(c.part) == "objective":
            value = record.fields.get("objective_id")  # its objective, on its own row too
        else:
            continue
        row[c.index] = _cell(conn, c.field, value)
    return row


def _value(conn, record: Record, name: str, titles: dict) -> Any:
    if name == "id":
        return record.external_id
    refs = REFERENCES.get(record.kind, {})
    ref = name.removesuffix("_title") + "_id"
    if name.endswith("_title") and ref in refs:  # a parent named by its title, for people to read
        return titles.get((refs[ref], record.fields.get(ref)))
    if name in MODEL_FIELDS[record.kind]:
        return record.fields.get(name)
    return record.fields.get(f"extra.{conn.endpoint}.{name}")


def _cell(conn, name: str | None, value: Any) -> Any:
    """A value as the cell to write: whole numbers without ".0", vocabularies in their
    display form, JSON as text, dates as dates in XLSX, decimal commas where read so."""
    if value is None or isinstance(value, bool):
        return value
    if name == "levels" and isinstance(value, list):  # the cell form the levels column reads back
        return levels.text(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if name is None:  # an unmapped cell goes back as it came
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
        if conn.name == "csv" and conn.mapping.options.get("decimal") == ",":
            return format(Decimal(repr(value)), "f").replace(".", ",")
        return value
    if conn.name == "xlsx" and name in _DATES and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return conn.mapping.render_value(name, value)


def save_files(conn, tables: list[tuple[_Sheet, list[list]]]) -> None:
    """The file connectors' ``save_tables``: each table replaces its file (or sheet) atomically."""
    if conn.name == "xlsx":
        from . import sheet_style

        sheets = {(s.sheet or _first_sheet(s.path)): (rows[0], rows[1:]) for s, rows in tables}
        if conn.path.exists() and not getattr(conn, "sheet_per", None):  # sheet_per: every sheet is okrsync's
            others = [n for n in tabular.list_sheets(conn.path) if n not in sheets]
            if others:
                raise FatalError(f"{conn.path.name} also has sheet(s) {', '.join(others)} that okrsync would not keep; "
                                 "give this endpoint a workbook of its own", endpoint=conn.endpoint)
        styles = {(s.sheet or _first_sheet(s.path)): sheet_style.style(conn, rows, len(s.old.preamble), s.part)
                  for s, rows in tables}
        tabular.write_xlsx(conn.path, sheets, styles)
        keys = getattr(conn, "row_keys", None)
        if keys is not None and len(tables) == 1 and not tables[0][0].old.preamble:  # (cells above the
            s, rows = tables[0]  # header may be dates: not kept) the next push need not read it back (csv_patch)
            head = 0
            conn.written = csv_patch.Index(s.part, [str(h) for h in rows[head]], rows[:head], 0, list(keys))
            conn.written.rendered = len(keys)
        return
    for s, rows in tables:
        delimiter, encoding = _csv_dialect(conn, s.path)
        keys = getattr(conn, "row_keys", None)
        if keys is not None and len(tables) == 1:  # one table, every row a record's: write it with its index
            head = len(s.old.preamble) + 1
            conn.written = csv_patch.write(s.path, [*((None, None, r) for r in rows[:head]),
                                                    *((k, c, r) for (k, c), r in zip(keys, rows[head:]))],
                                           delimiter=delimiter, bom=encoding == "utf-8-sig", part=s.part,
                                           header=[str(h) for h in rows[head - 1]], preamble=rows[:head - 1])
            continue
        tabular.write_csv(s.path, rows[0], rows[1:], delimiter=delimiter, encoding=encoding)


def _first_sheet(path: Path) -> str:
    return tabular.list_sheets(path)[0] if path.exists() else "OKRs"


def _csv_dialect(conn, path: Path) -> tuple[str, str]:
    """Keep the file's delimiter; write UTF-8, with a BOM where the file had one or was not
    UTF-8 (Excel then reads it right)."""
    delimiter = conn.options.get("delimiter")
    encoding = "utf-8"
    if path.exists():
        found = tabular.sniff_encoding(path)
        encoding = "utf-8" if found == "utf-8" else "utf-8-sig"
        if delimiter is None:
            with open(path, encoding=found, newline="") as f:
                delimiter = tabular.sniff_delimiter(f.read(8192))
    return delimiter or ("\t" if path.suffix.lower() == ".tsv" else ","), encoding
