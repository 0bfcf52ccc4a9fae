"""CSV and XLSX endpoints, in the three layouts people really keep OKRs in.

- ``flat``: one row per KR, the objective's columns repeated on each row;
- ``hierarchical``: an objective row, then its KR rows with the objective cells left
  blank (or merged, in XLSX) — blank objective cells mean "the one above"; a ``row_type``
  column in the mapping ("Type: Objective / KR") is honoured too;
- ``linked``: one table per entity (files for CSV, sheets for XLSX) joined by id columns.

Reads stream row by row; a row that cannot be read is reported with file, sheet, row,
column and reason, and the others still import. Writes replace the file atomically with
formula-like cells neutralised (``okrsync.tabular``). Without id columns, records are
known by their titles (an objective by its title, a KR by its objective and title).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from okrsync import hookimpl
from okrsync import tabular
from okrsync import transforms as tf
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, MappingError
from okrsync.mapping import Binding, Mapping, settle_key_result
from okrsync.model import ENTITY_TYPES, KINDS, REFERENCES, problems, to_fields

HEADER_SEARCH_ROWS = 10  # title rows above the header are common in hand-made sheets
TITLED = ("objective", "key_result", "initiative")
OPTION_KEYS = ("percent_scale", "progress_scale", "date_order", "fiscal_year_start", "fiscal_year_naming", "decimal")


class SpreadsheetConnector(Connector):
    """Shared by the CSV and XLSX connectors; they differ only in file format."""

    suffixes: tuple[str, ...] = ()
    capabilities = Capabilities(
        kinds=("objective", "key_result", "initiative", "check_in"),
        kr_directions=("increase", "decrease", "stay_above", "stay_below", "range", "binary", "milestone"),
        kr_units=("number", "percent", "currency", "boolean"),
        alignment="single-parent", alignment_depth=None, weights=True, confidence=True,
        check_ins="history", custom_fields=True, deletes=True, incremental=False, writes="snapshot",
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        if not options.get("path"):
            raise ConfigError(f"endpoint {endpoint}: a {self.name} endpoint needs 'path: FILE'")
        self.path = self.context.base_dir / Path(options["path"]).expanduser()
        if self.path.suffix.lower() not in self.suffixes:
            raise ConfigError(f"endpoint {endpoint}: path {options['path']!r} is not a {self.name} file "
                              f"({', '.join(self.suffixes)}); use type: {'xlsx' if self.name == 'csv' else 'csv'}?")
        mapping = Mapping.load(options.get("mapping", "spreadsheet"), self.context.base_dir)
        self.mapping = mapping.with_options(**{k: options.get(k) for k in OPTION_KEYS})
        self.layout = options.get("layout", self.mapping.layout)
        if self.layout not in ("flat", "hierarchical", "linked"):
            raise ConfigError(f"endpoint {endpoint}: unknown layout {self.layout!r}; use flat, hierarchical or linked")
        self.sheet = options.get("sheet")
        self.tables: dict[str, str] = options.get("tables") or {}
        if self.layout == "linked" and not self.tables:
            raise ConfigError(f"endpoint {endpoint}: a linked layout needs 'tables:' naming the "
                              f"{'sheet' if self.name == 'xlsx' else 'file'} of each entity, e.g. "
                              "{objective: Objectives, key_result: Key results}")

    # ------------------------------------------------------------ reading

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        fingerprint = self.fingerprint()
        if fingerprint is None and cursor is None:  # never read nor written: push creates it
            yield Note(f"{self.path.name} does not exist yet; a push creates it")
            yield Cursor(None, full_listing=False)
            return
        if fingerprint is None:  # we read or wrote it before: gone is not "everything deleted"
            raise FatalError(f"{self.path} has disappeared since the last run; restore it, or remove the "
                             f"endpoint from the config", endpoint=self.endpoint)
        if cursor == fingerprint:  # nothing changed since we last read or wrote it
            yield Cursor(cursor, full_listing=False)
            return
        state = _RowState()
        for part, path, sheet in self._tables():
            yield from self._read_table(part, path, sheet, state)
        yield Cursor(fingerprint, full_listing=True)

    def _tables(self) -> list[tuple[str, Path, str | None]]:
        if self.layout != "linked":
            return [(self.mapping.row_entity, self.path, self.sheet)]
        if self.name == "xlsx":
            return [(part, self.path, sheet) for part, sheet in self.tables.items()]
        return [(part, self.path.parent / name, None) for part, name in self.tables.items()]

    def _parts(self, part: str) -> tuple[str, ...]:
        if self.layout == "linked":
            return (part,)
        rest = [p for p in self.mapping.entities if p != part and self.mapping.kinds.get(p, p) != "check_in"]
        return (part, *rest)

    def _read_table(self, part: str, path: Path, sheet: str | None, state: _RowState) -> Iterator:
        rows = tabular.iter_rows(path, sheet=sheet, encoding=self.options.get("encoding"),
                                 delimiter=self.options.get("delimiter"))
        parts = self._parts(part)
        head: list[tabular.RawRow] = []
        try:
            for row in rows:
                head.append(row)
                if len(head) >= HEADER_SEARCH_ROWS:
                    break
            if not head:
                yield Note(f"{path.name}: empty")
                return
            best = max(head, key=lambda r: self.mapping.score_header(r.cells, parts))
            binding = self.mapping.bind(best.cells, parts, where=_where(best))
            if best.number != head[0].number:
                yield Note(f"{_where(best)}: header found here; {head.index(best)} row(s) above it skipped")
            if binding.unmapped:
                yield Note(f"{path.name}{f' [{sheet}]' if sheet else ''}: columns kept in extra: {', '.join(binding.unmapped)}")
            width = len(best.cells)
            for row in [*head[head.index(best) + 1:], *rows]:
                if len(row.cells) > width and any(c not in (None, "") for c in row.cells[width:]):
                    yield Rejected(_where(row), f"{len(row.cells)} cells for {width} columns; "
                                                f"a cell may hold an unquoted delimiter")
                    continue
                if len(row.cells) < width and self.name == "csv":
                    yield Note(f"{_where(row)}: {len(row.cells)} cells for {width} columns; missing cells read as empty")
                yield from self._row_records(binding, row, state)
        except tabular.TableError as e:
            raise FatalError(str(e), endpoint=self.endpoint) from None
        except MappingError as e:
            raise MappingError(f"endpoint {self.endpoint}: {e}") from None
        finally:
            rows.close()

    def _row_records(self, binding: Binding, row: tabular.RawRow, state: _RowState) -> Iterator:
        where = _where(row)
        cells = [tabular.unneutralise(c) for c in row.cells]
        part = binding.row_part(cells)
        if part is None:
            yield Rejected(where, f"unknown row type; expected one of {', '.join(self.mapping.row_type.get('values', {}))}")
            return
        try:
            parsed = binding.parse(cells, part, self.endpoint, where)
        except tf.TransformError as e:
            yield Rejected(where, str(e).removeprefix(where + ", "))
            return
        own = parsed.get(part, {})
        if self.layout == "hierarchical" and part not in ("objective",) and not (own.get("title") or own.get("id")):
            # An objective row in a hierarchical sheet: its shared columns are the objective's.
            obj = parsed.setdefault("objective", {})
            for name, value in parsed.pop(part, {}).items():
                obj.setdefault(name, value)
        row_ids: dict[str, str] = {}
        order = sorted(parsed, key=lambda p: KINDS.index(self.mapping.kinds.get(p, p)))
        for p in order:
            record = self._record(self.mapping.kinds.get(p, p), parsed[p], row_ids, state, where)
            if isinstance(record, Record):
                row_ids.setdefault(record.kind, record.external_id)
                if record.kind == "objective":
                    state.last_objective = record.external_id
                seen = state.seen.get((record.kind, record.external_id))
                if seen is None:
                    state.seen[(record.kind, record.external_id)] = (where, record.fields)
                    yield record
                elif record.kind == "objective" and seen[1] != record.fields:
                    differ = sorted(k for k in record.fields if record.fields[k] != seen[1].get(k) and record.fields[k] is not None)
                    if differ:
                        yield Note(f"{where}: objective {record.external_id!r} repeats with other {', '.join(differ)} "
                                   f"than {seen[0]}; kept the first")
                elif record.kind != "objective":
                    yield Rejected(where, f"duplicate {record.kind.replace('_', ' ')} {record.external_id!r} (first at {seen[0]})")
            elif record is not None:
                yield record

    def _record(self, kind: str, fields: dict[str, Any], row_ids: dict[str, str], state: _RowState,
                where: str) -> Record | Rejected | None:
        fields = dict(fields)
        ext = fields.pop("id", None)
        refs = REFERENCES.get(kind, {})
        for name in [n for n in fields if n.endswith("_title")]:
            title = fields.pop(name)
            ref = name.removesuffix("_title") + "_id"
            if ref in refs and ref not in fields:
                fields[ref] = title_id(str(title))
        for ref, target in refs.items():
            if ref not in fields and target in row_ids and not (ref == "parent_id" and kind != "initiative"):
                fields[ref] = row_ids[target]
        if kind == "key_result" and "objective_id" not in fields and self.layout == "hierarchical":
            fields["objective_id"] = state.last_objective
        if kind == "initiative" and row_ids.get("initiative") and "parent_id" not in fields:
            fields["parent_id"] = row_ids["initiative"]
        for name, value in fields.items():
            if isinstance(value, tf.PeriodLabel):
                fields[name] = value.label
            elif isinstance(value, float) and name == "id":
                fields[name] = tf.parse_text(value)
        if ext is not None:
            ext = tf.parse_text(ext)
        if kind in TITLED and not fields.get("title"):
            return None if not ext and not any(not k.startswith("extra.") for k in fields) else \
                Rejected(where, f"{kind.replace('_', ' ')} has no title")
        if kind == "key_result":
            if not fields.get("objective_id"):
                return Rejected(where, "key result has no objective (fill the objective column)")
            settle_key_result(fields)
        if kind == "check_in" and not (fields.get("key_result_id") and fields.get("at")):
            return Rejected(where, "a check-in needs a key result id and a date")
        ext = ext or derived_id(kind, fields)
        extra: dict[str, dict[str, Any]] = {}
        for name in [n for n in fields if n.startswith("extra.")]:
            _, ns, col = name.split(".", 2)
            extra.setdefault(ns, {})[col] = fields.pop(name)
        try:
            entity = ENTITY_TYPES[kind](id=ext, extra=extra, **fields)
        except TypeError as e:
            return Rejected(where, f"cannot build a {kind}: {e}")
        errors = [p for p in problems(entity) if p.severity == "error"]
        if errors:
            return Rejected(where, "; ".join(f"{p.field}: {p.message}" for p in errors))
        return Record(kind, ext, to_fields(entity), where=where)

    # ------------------------------------------------------------ writing

    def fields(self, kind: str) -> set[str] | None:
        if self.layout != "linked" and kind not in ("objective", "key_result"):
            return set()
        if self.layout == "linked" and kind not in (self.mapping.kinds.get(p, p) for p in self.tables):
            return set()
        names: set[str] = set(REFERENCES.get(kind, {}))
        for part in self.mapping.parts_of(kind):
            names |= set(self.mapping.written_fields(part)) - {"id"}
        return names | {f"extra.{self.endpoint}"}

    def write(self, batch: WriteBatch) -> WriteResult:
        deleted = {(r.kind, r.external_id) for r in batch.deletes}
        records = [r for r in (*batch.unchanged, *batch.updates, *batch.creates) if (r.kind, r.external_id) not in deleted]
        with_ids = not self.path.exists() or self._has_id_columns()
        result = WriteResult()
        new_ids: dict[str, str] = {}  # canonical id → external id, for records created here
        for r in records:
            if not with_ids:
                ext = derived_id(r.kind, _translate(r.fields, new_ids))
            else:
                ext = r.external_id if r.external_id and r.canonical_id is None else (r.canonical_id or r.external_id)
            if r.canonical_id:
                new_ids[r.canonical_id] = ext
            if ext != r.external_id or r.canonical_id:
                result.external_ids[r.canonical_id or r.external_id] = ext
            r.external_id = ext
            r.fields = _translate(r.fields, new_ids)
        by_kind: dict[str, list[Record]] = {}
        for r in records:
            by_kind.setdefault(r.kind, []).append(r)
        try:
            if self.layout == "linked":
                self._write_linked(by_kind, with_ids)
            else:
                header, rows = self._flat_rows(by_kind, with_ids)
                tabular.write_table(self.path, header, rows)
        except tabular.TableError as e:
            raise FatalError(str(e), endpoint=self.endpoint) from None
        except OSError as e:
            raise FatalError(f"cannot write {self.path}: {e.strerror}", endpoint=self.endpoint) from None
        result.cursor = self.fingerprint()
        return result

    def _has_id_columns(self) -> bool:
        try:
            for part, path, sheet in self._tables():
                if not path.exists():
                    return True
                rows = tabular.iter_rows(path, sheet=sheet)
                try:
                    head = [r for _, r in zip(range(HEADER_SEARCH_ROWS), rows)]
                finally:
                    rows.close()
                parts = self._parts(part)
                best = max(head, key=lambda r: self.mapping.score_header(r.cells, parts), default=None)
                if best is None:
                    return True
                binding = self.mapping.bind(best.cells, parts)
                if not any(c.field == "id" for c in binding.columns):
                    return False
        except (tabular.TableError, MappingError):
            return True
        return True

    def _columns(self, part: str, with_ids: bool, extra_from: list[Record], *, refs: bool) -> list[tuple[str, str]]:
        kind = self.mapping.kinds.get(part, part)
        names = [f for f in self.mapping.written_fields(part) if (with_ids or f != "id")]
        if with_ids and "id" not in names:
            names.insert(0, "id")
        if refs:
            names += [ref for ref in REFERENCES.get(kind, {}) if ref not in names and with_ids and ref != "child_id"]
        cols = [(part, n) for n in names]
        prefix = f"extra.{self.endpoint}."
        seen: dict[str, None] = {}
        for r in extra_from:
            for key in r.fields:
                if key.startswith(prefix) and r.fields[key] is not None:
                    seen.setdefault(key)
        return cols + [(part, key) for key in seen]

    def _flat_rows(self, by_kind: dict[str, list[Record]], with_ids: bool) -> tuple[list[str], Iterator[list]]:
        objectives = by_kind.get("objective", [])
        krs = by_kind.get("key_result", [])
        obj_cols = [c for c in self._columns("objective", with_ids, objectives, refs=False) if c[1] != "parent_id" or with_ids]
        kr_cols = self._columns(self.mapping.row_entity, with_ids, krs, refs=False)
        header = [self._header(p, n) for p, n in obj_cols + kr_cols]
        krs_of: dict[str | None, list[Record]] = {}
        for kr in krs:
            krs_of.setdefault(kr.fields.get("objective_id"), []).append(kr)
        hierarchical = self.layout == "hierarchical"

        def rows() -> Iterator[list]:
            blank = [None] * len(obj_cols)
            for obj in objectives:
                obj_cells = [self._cell(obj, n) for _, n in obj_cols]
                children = krs_of.get(obj.external_id, [])
                if hierarchical or not children:
                    yield obj_cells + [None] * len(kr_cols)
                for kr in children:
                    yield (blank if hierarchical else obj_cells) + [self._cell(kr, n) for _, n in kr_cols]

        return header, rows()

    def _write_linked(self, by_kind: dict[str, list[Record]], with_ids: bool) -> None:
        sheets = {}
        for part, table in self.tables.items():
            records = by_kind.get(self.mapping.kinds.get(part, part), [])
            cols = self._columns(part, True, records, refs=True)
            header = [self._header(p, n) for p, n in cols]
            sheets[table] = (header, [[self._cell(r, n) for _, n in cols] for r in records])
        if self.name == "xlsx":
            tabular.write_xlsx(self.path, sheets)
        else:
            for table, (header, rows) in sheets.items():
                tabular.write_csv(self.path.parent / table, header, rows)

    def _header(self, part: str, name: str) -> str:
        if name.startswith("extra."):
            return name.split(".", 2)[2]
        if name.endswith("_id") and name != "id" and name not in self.mapping.entities.get(part, {}):
            target = REFERENCES[self.mapping.kinds.get(part, part)][name]
            return self.mapping.write_header(self.mapping.parts_of(target)[0], "id")
        return self.mapping.write_header(part, name)

    def _cell(self, record: Record, name: str) -> Any:
        value = record.external_id if name == "id" else record.fields.get(name)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        return self.mapping.render_value(name, value)

    def fingerprint(self) -> str | None:
        """A digest of the file(s) and the options that shape how they read."""
        digest = hashlib.sha256(json.dumps(self.options, sort_keys=True, default=str).encode())
        for _, path, _ in self._tables():
            try:
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
            except FileNotFoundError:
                return None
        return digest.hexdigest()


class _RowState:
    """What a read remembers across rows: the objective above, and records already seen."""

    def __init__(self):
        self.last_objective: str | None = None
        self.seen: dict[tuple[str, str], tuple[str, dict]] = {}


def title_id(title: str) -> str:
    """The external id of a record known only by its title (no id column)."""
    return tf.normalise_key(title)


def derived_id(kind: str, fields: dict[str, Any]) -> str:
    """Ids for rows without an id column: titles, under their parent's id."""
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


def _translate(fields: dict[str, Any], new_ids: dict[str, str]) -> dict[str, Any]:
    """Point references at records created in the same write to their new external ids."""
    if not any(isinstance(v, str) and v in new_ids for v in fields.values()):
        return fields
    return {k: (new_ids.get(v, v) if k.endswith("_id") and isinstance(v, str) else v) for k, v in fields.items()}


def _where(row: tabular.RawRow) -> str:
    return f"{Path(row.file).name}{f' [{row.sheet}]' if row.sheet else ''} row {row.number}"


class CsvConnector(SpreadsheetConnector):
    name = "csv"
    description = "CSV files (, ; or tab), flat, hierarchical or linked (one file per entity)"
    suffixes = (".csv", ".tsv", ".txt")


class XlsxConnector(SpreadsheetConnector):
    name = "xlsx"
    description = "Excel workbooks, flat, hierarchical (merged cells too) or linked (one sheet per entity)"
    suffixes = (".xlsx", ".xlsm")


@hookimpl
def register_connectors(register):
    register(CsvConnector)
    register(XlsxConnector)
