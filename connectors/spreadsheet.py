"""CSV, XLSX and Google Sheets endpoints, in the three layouts people really keep OKRs in.

- ``flat``: one row per KR, the objective's columns repeated on each row (a row without
  a KR is an objective of its own);
- ``hierarchical``: an objective row, then its KR rows with the objective cells left
  blank (or merged, in XLSX) — blank objective cells mean "the one above";
- ``linked``: one table per entity (files for CSV, sheets for XLSX) joined by id columns.

A mapping may name a ``row_type`` column ("Type: Objective / KR"): each row then holds the
one entity its type names, and other entities' id or title columns point at its parents.

Where rows come from and go to is a few methods (``_locate``, ``_rows``, ``table_exists``,
``save_tables``, ``fingerprint``, ``_updated``): files here, a Sheets range in
``google_sheets``; everything between cells and records is shared.

Reads stream row by row; a row that cannot be read is reported with file, sheet, row,
column and reason, and the others still import. Writes (``sheet_writer``) keep the file's
own columns and row order, replace it atomically and neutralise formula-like cells.
Without id columns, records are known by their titles (an objective by its title, a KR by
its objective and title); a title repeated with other values is another record ("~2").

Real files (docs/mappings.md, "Importing real spreadsheets"): the header row is found or set
(``header_row``, ``header_rows: 2``), values above it or the sheet name can be columns
(``table_values``), a workbook can be read sheet by sheet (``sheets``), lookup tables
give names (``lookups``), and ``sheet_checks`` says when a read looks wrong as a whole.
"""

from __future__ import annotations

import collections
import collections.abc
import dataclasses
import datetime as dt
import functools
import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from okrsync import tabular, unparsed
from okrsync import transforms as tf
from okrsync.config import check_options
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, MappingError
from okrsync.mapping import (
    MODEL_FIELDS,
    TITLED,
    CellError,
    Mapping,
    Table,
    json_value,
    lacking,
    nest_extra,
    settle_key_result,
    settle_record,
)
from okrsync.model import ENTITY_TYPES, KINDS, REFERENCES, as_fields, problems

from . import csv_patch, row_prints, sheet_checks, sheet_writer
from .common import API_OPTIONS
from .sheet_writer import derived_id, title_id

HEADER_SEARCH_ROWS = 10  # title rows above the header are common in hand-made sheets
# mapping options an endpoint may set over its mapping's (docs/mappings.md), for every spreadsheet
MAPPING_OPTIONS = {
    "percent_scale": "auto | percent | fraction: how percentages without a % sign read",
    "progress_scale": "auto | percent | fraction: how progress values read",
    "date_order": "ymd | dmy | mdy: how dates such as 03/04/2025 read",
    "fiscal_year_start": "1–12: the month the fiscal year starts, for labels such as FY25 Q1",
    "fiscal_year_naming": "end | start: whether FY25 is the year the fiscal year ends or starts in",
    "decimal": ", or .: the decimal mark of numbers",
    "expect": "the kinds this file is meant to hold, e.g. [objective, initiative]: no key results is then no problem",
}
OPTION_KEYS = tuple(MAPPING_OPTIONS)
SHEET_OPTIONS = {
    "layout": "flat | hierarchical | linked (default: the mapping's)",
    "mapping": "a shipped mapping's name (default spreadsheet) or the path of your own YAML file",
    "tables": "linked layout: entity → its table, e.g. {objective: Objectives, key_result: Key results}",
    "sheets": "XLSX and Google Sheets, flat or hierarchical: all, or a list of sheet names, each read with its own header",
    "header_row": "the row that holds the column names (default: found in the first 10 rows)",
    "header_rows": "2: the row above the header labels groups of columns (Q1 / Target)",
    "table_values": "columns taken from outside the table, e.g. {Team: sheet, Period: B2, Source: file}",
    "scoped_ids": "parts whose ids are unique only under their parent, e.g. [key_result] (O1/KR1)",
    "parent_from_id": "a KR's objective from its id, e.g. {key_result: '^(.*)\\.\\d+$'}",
    "lookups": "{field: {table: NAME, key: COLUMN, value: COLUMN or [COLUMNS]}}: a cell replaced from a lookup table",
    "period_from": "an objective's period built from several columns, e.g. '{Year} {Cycle}' or [Year, Quarter]",
    **MAPPING_OPTIONS,
}


def service_options(own: dict[str, str]) -> dict[str, str]:
    """The options of a spreadsheet connector over a service's API (Google Sheets, Graph,
    Smartsheet, Notion, Airtable): the API options but ``mapping`` (a sheet's is the
    spreadsheet mapping of SHEET_OPTIONS) and ``users`` (owners are e-mail cells), then the
    connector's ``own``, then SHEET_OPTIONS."""
    return {**{k: v for k, v in API_OPTIONS.items() if k not in ("mapping", "users")}, **own, **SHEET_OPTIONS}
# what a row lacking what its record needs is refused with (mapping.lacking), bar a title
_LACKING = {"objective": "key result has no objective (fill the objective column)",
            "key result and date": "a check-in needs a key result id and a date"}
# per kind, the title fields that stand for a reference ("objective_title" for objective_id)
_TITLE_REFS = {kind: {ref.removesuffix("_id") + "_title" for ref in REFERENCES.get(kind, {}) if ref.endswith("_id")}
               for kind in KINDS}
# the reference ``parent_from_id`` fills, per kind
_MAIN_PARENT = {"key_result": "objective_id", "objective": "parent_id", "initiative": "objective_id",
                "check_in": "key_result_id", "team": "parent_id"}
_REJECTED = "\0rejected"  # last_objective after an objective row that could not be read


class SpreadsheetConnector(Connector):
    """Shared by the CSV, XLSX and Google Sheets connectors; they differ only in where rows live."""

    suffixes: tuple[str, ...] = ()
    max_cell: int | None = None  # characters a cell holds, where the format has a limit
    # hierarchical KR rows also get their objective's id written (read either way), so a
    # sheet whose rows get sorted keeps its links; files keep the classic blank cells
    parent_ids_on_rows = False
    tabbed = False  # linked tables are tabs of one workbook (XLSX, Sheets), not files
    by_blocks = False  # a changed file re-maps only its changed blocks of rows (row_prints; local files)
    last_read: row_prints.Prints | None = None  # the last read's blocks: rows read and mapped (tests, bench)
    # csv_patch: (fingerprint, index) of what okrsync last wrote to the file; the index a scan
    # used instead of reading (the write may patch); the index the last write made; its rows' records
    index: tuple[str, csv_patch.Index | str] | None = None  # the index, or the cursor holding it
    patchable: csv_patch.Index | None = None
    written: csv_patch.Index | None = None
    row_keys: list | None = None
    # what a read says of a table that is not there: before any run / after one
    absent = "does not exist yet; a push creates it"
    vanished = "has disappeared since the last run; restore it, or remove the endpoint from the config"
    capabilities = Capabilities(
        kinds=("objective", "key_result", "initiative", "check_in"),
        kr_directions=("increase", "decrease", "stay_above", "stay_below", "range", "binary", "milestone", "levels"),
        kr_units=("number", "percent", "currency", "boolean"),
        alignment="single-parent", alignment_depth=None, weights=True, confidence=True,
        levels=True,  # the mapping's Levels and Level reached columns (text)
        check_ins="history", custom_fields=True, deletes=True, incremental=False, writes="snapshot",
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        # the config loader checked the keys already; endpoints built in code are checked here
        check_options(options, self.declared_options() or options, f"endpoint {endpoint}")
        self.path = self._locate(options)
        mapping = Mapping.load(options.get("mapping", "spreadsheet"), self.context.base_dir)
        self.mapping = mapping.with_options(**{k: options.get(k) for k in OPTION_KEYS})
        self.layout = options.get("layout", self.mapping.layout)
        if self.layout not in ("flat", "hierarchical", "linked"):
            raise ConfigError(f"endpoint {endpoint}: unknown layout {self.layout!r}; use flat, hierarchical or linked")
        self.sheet = options.get("sheet")
        sheets = options.get("sheets")
        if sheets is not None and not (sheets == "all" or isinstance(sheets, list) and all(isinstance(x, str) for x in sheets)):
            raise ConfigError(f"endpoint {endpoint}: sheets: give all, or a list of sheet names")
        if sheets is not None and (self.sheet or not self.tabbed or self.layout == "linked"):
            raise ConfigError(f"endpoint {endpoint}: sheets: is for a flat or hierarchical workbook (xlsx, Google "
                              "Sheets), without sheet: (one sheet) or tables: (linked)")
        self.tables: dict[str, str] = dict(options.get("tables") or {})
        self._check_options()
        # the board's sheets: one per objective's period or team (sheet_writer), all read back
        self.sheet_per = self._option("sheet_per")
        if self.sheet_per is not None and (self.sheet_per not in sheet_writer.SHEET_PER or self.name != "xlsx"
                                           or self.layout == "linked" or self.sheet or sheets is not None):
            raise ConfigError(f"endpoint {endpoint}: sheet_per: {self.sheet_per!r}; give period or team, for a flat or "
                              "hierarchical xlsx workbook without sheet: or sheets:")
        self.mapping.looked_up = frozenset(self._option("lookups") or {})  # read as text, parsed after the lookup
        scoped = self._option("scoped_ids") or []
        self._parent_rules = {}
        for part, pattern in (self._option("parent_from_id") or {}).items():
            kind = self.mapping.kind(part)
            try:
                self._parent_rules[kind] = re.compile(pattern)
            except (re.error, TypeError) as e:
                raise ConfigError(f"endpoint {endpoint}: parent_from_id.{part}: not a regular expression ({e})") from None
            if kind not in _MAIN_PARENT or self._parent_rules[kind].groups < 1:
                raise ConfigError(f"endpoint {endpoint}: parent_from_id.{part}: give a pattern whose first group is "
                                  f"the parent's id, for a part of kind {', '.join(_MAIN_PARENT)}")
        self._scoped = {self.mapping.kind(p) for p in ([scoped] if isinstance(scoped, str) else scoped)}
        if self.layout == "linked" and not self.tables:
            raise ConfigError(f"endpoint {endpoint}: a linked layout needs 'tables:' naming the "
                              f"{'sheet' if self.tabbed else 'file'} of each entity, e.g. "
                              "{objective: Objectives, key_result: Key results}")
        for part in self.tables:
            if self.mapping.kind(part) not in REFERENCES:
                raise ConfigError(f"endpoint {endpoint}: tables: {part!r} is not an entity part of the mapping "
                                  f"({', '.join(self.mapping.entities)})")

    def _locate(self, options: dict[str, Any]) -> Path:
        """The endpoint's file (or, for a remote workbook, a name standing for it in messages)."""
        if not options.get("path"):
            raise ConfigError(f"endpoint {self.endpoint}: a {self.name} endpoint needs 'path: FILE'")
        path = self.context.base_dir / Path(options["path"]).expanduser()
        if path.suffix.lower() not in self.suffixes:
            raise ConfigError(f"endpoint {self.endpoint}: path {options['path']!r} is not a {self.name} file "
                              f"({', '.join(self.suffixes)}); use type: {'xlsx' if self.name == 'csv' else 'csv'}?")
        return path

    # ------------------------------------------------------------ reading

    def doctor(self, kit) -> None:
        """Each table's file readable and writable (and its folder, which a save replaces it
        in), or, not there yet, creatable."""
        for _, path, _ in self.table_files():
            if path.exists():
                problems = [w for w, mode in (("read", os.R_OK), ("write", os.W_OK)) if not os.access(path, mode)]
                if not kit.writable(path.parent):
                    problems.append("replace (its folder is not writable)")
                if problems:
                    kit.add("file", "fail", f"{path}: cannot {' or '.join(problems)} it",
                            "give the user okrsync runs as read and write access to the file and its folder")
                else:
                    kit.add("file", "ok", f"{path}: readable and writable")
            elif kit.writable(path.parent):
                kit.add("file", "warn", f"{path}: not there yet; the first push creates it",
                        "fine for a new endpoint; if it was synced before, restore the file (the next run fails)")
            else:
                kit.add("file", "fail", f"{path}: missing, and its folder cannot be written",
                        "create the folder and give the user okrsync runs as write access, or fix path:")

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        fingerprint = self.fingerprint()
        if fingerprint is None and cursor is None:  # never read nor written: push creates it
            yield Note(f"{self.path.name} {self.absent}")
            yield Cursor(None, full_listing=False)
            return
        if fingerprint is None:  # we read or wrote it before: gone is not "everything deleted"
            raise FatalError(f"{self.path} {self.vanished}", endpoint=self.endpoint)
        if row_prints.fingerprint_of(cursor) == fingerprint:  # nothing changed since we last read or wrote it
            if self.by_blocks:  # local files: a push may patch what okrsync wrote there (csv_patch)
                self.index = (fingerprint, cursor)
            yield Cursor(cursor, full_listing=False)
            return
        _, prior = row_prints.split(cursor)
        prints = self._prints(prior)
        if prints is not None and prints.partial:
            # only the changed blocks' items: few, held until it is sure the partial read is exact
            items = list(self._read_file(fingerprint, prints))
            if prints.partial and not prints.collides():
                self.last_read = prints
                yield from items
                return
            prints = self._prints(None)  # a full read, which says what a partial one could not
        self.last_read = prints
        yield from self._read_file(fingerprint, prints)

    def _prints(self, prior: dict | None) -> row_prints.Prints | None:
        """Row fingerprints for this read (``row_prints``), where the file's shape allows them."""
        # a period made of several columns (period_from) shifts the cells the blocks are cut by: read whole
        if (not self.by_blocks or self.layout == "linked" or self._option("lookups") or self._option("period_from")
                or len(self.table_files()) != 1):
            return None
        return row_prints.Prints(prior, self._shape().hexdigest(), self._read_row)

    def _read_file(self, fingerprint: str, prints: row_prints.Prints | None) -> Iterator:
        state = _ReadState()
        state.prints = prints
        state.updated = self._updated()
        state.actor = self._actor()
        state.lookups = self._lookups()
        rejected = False
        for part, path, sheet in self.table_files():
            for item in self._read_table(part, path, sheet, state):
                rejected = rejected or isinstance(item, Rejected)
                yield item
        yield from state.flush()
        if prints is not None:
            prints.add_counts(state)
        kinds = [self.mapping.kind(p) for p in (self.tables if self.layout == "linked" else sheet_writer.row_parts(self))]
        problem = sheet_checks.shape_problem(self.mapping, kinds, state.made, state.kinds, state.names, state.rows)
        cursor = fingerprint
        if problem:
            yield Rejected(self.path.name, problem)
            cursor += "+unsettled"  # not a cursor that skips the next read: the problem is reported again
        elif prints is not None and prints.usable and not rejected and not state.renamed:
            cursor = row_prints.join(fingerprint, prints.state())  # the next read of a changed file maps only what changed
        if prints is not None and prints.partial:
            yield Cursor(cursor, full_listing=False, present=prints.present(kinds))
        else:
            yield Cursor(cursor, full_listing=True)

    def table_files(self) -> list[tuple[str, Path, str | None]]:
        """(part, file, sheet) of each table; linked tables parents first, so ids resolve."""
        if self.layout != "linked":
            return [(self.mapping.row_entity, self.path, sheet) for sheet in self.sheets()]
        parts = sorted(self.tables, key=lambda p: KINDS.index(self.mapping.kind(p)))
        if self.tabbed:
            return [(part, self.path, self.tables[part]) for part in parts]
        return [(part, self.path.parent / self.tables[part], None) for part in parts]

    def sheets(self) -> list[str | None]:
        """The sheets a flat or hierarchical workbook is read from: ``sheet:`` (one), or
        ``sheets: all`` / ``sheets: [A, B]`` (several, one per team or area, each with its
        own header); None is the first sheet."""
        wanted = "all" if self.sheet_per else self.options.get("sheets")
        if wanted is None or not self.tabbed:
            return [self.sheet]
        names = self.sheet_names()
        if names is None:
            return [None]
        if wanted == "all":
            return names
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise ConfigError(f"endpoint {self.endpoint}: sheets: no sheet {unknown[0]!r} in {self.path.name} "
                              f"(sheets: {', '.join(map(repr, names))})")
        return list(wanted)

    def sheet_names(self) -> list[str] | None:
        """The workbook's sheets in order (for ``sheets:``); None while it does not exist."""
        return tabular.list_sheets(self.path) if self.path.exists() else None

    def _updated(self) -> str:
        """A sheet has no per-row update times: its modification time stands for every row
        (what the `newest` conflict policy compares)."""
        return max(_mtime(path) for _, path, _ in self.table_files() if path.exists())

    def _actor(self) -> str | None:
        """Who last changed the file, when it says so (``Record.actor``): a CSV or a Sheets
        range read does not (None); an XLSX workbook names its last saver."""
        return None

    def _row_actor(self, row: tabular.RawRow) -> str | None:
        """Who last edited one row, where the tool keeps that per row (a Notion page, a
        Smartsheet row, an Airtable record): the ``Record.actor`` of the row's own record (not
        of an objective a flat row repeats); None where only the file says (``_actor``)."""
        return None

    def _rows(self, path: Path, sheet: str | None) -> Iterator[tabular.RawRow]:
        """The raw rows of one table, lazily (a generator the caller closes)."""
        return tabular.iter_rows(path, sheet=sheet, encoding=self.options.get("encoding"),
                                 delimiter=self.options.get("delimiter"))

    def _read_table(self, part: str, path: Path, sheet: str | None, state: _ReadState) -> Iterator:
        rows = self._rows(path, sheet)
        name = f"{path.name}{f' [{sheet}]' if sheet else ''}"
        try:
            header_row = self._option("header_row")
            head = list(itertools.islice(rows, max(HEADER_SEARCH_ROWS, int(header_row or 0))))
            if not head:
                yield Note(f"{name}: empty")
                return
            if self.name == "csv" and (delimiter := tabular.wrapped_lines([r.cells for r in head])):
                # every line one quoted cell: a standard reader sees one column named "ID,Objective,…"
                rows, head = tabular.unwrap_lines(rows, delimiter), list(tabular.unwrap_lines(iter(head), delimiter))
                yield Note(f"{name}: every line was wrapped in one pair of quotes; read the {delimiter!r}-separated "
                           "cells inside them")
            best = self._header(head, header_row, name)
            skipped = head.index(best)
            header = self._header_cells(head, skipped)
            values = self._table_values(head[:skipped], name, best.sheet or sheet)
            period = self._period_from(header, part, name)
            # a period built from several columns is read as a column of its own, first so that it
            # wins the period field over a source column the mapping also knows ("Cycle")
            table = Table(self.mapping, ([period.column] if period else []) + header + list(values), self.layout,
                          part, where=_where(best))
            if period and not any(c.index == 0 and c.field == "period" for b in table.bindings() for c in b.columns):
                raise MappingError(f"{name}: period_from: the mapping gives {part} rows no period field to fill")
            state.start_table((path, sheet), table, name)
            state.preamble = [[tabular.unneutralise(c) for c in r.cells] for r in head[:skipped]]
            if skipped or header_row:
                how = "set by header_row" if header_row else f"found here; {skipped} row(s) above it skipped"
                yield Note(f"{_where(best)}: header {how}")
            if table.unmapped:
                yield Note(f"{name}: columns kept in extra: {', '.join(table.unmapped)}")
            extra = list(values.values())
            state.shift = 1 if period else 0
            prints = state.prints
            if prints is not None:
                prints.start_table(table, [*(r.cells for r in head[:skipped + 1]), [str(v) for v in extra]],
                                   self._objective_columns(table))
            for row in itertools.chain(head[skipped + 1:], rows):
                if extra or period:
                    cells = row.cells
                    if extra:  # table-wide values (a year above the header, the sheet name) on every row
                        cells = cells[:len(header)] + [None] * (len(header) - len(cells[:len(header)])) + extra
                    if period:
                        cells = [period.value(row.cells)] + cells
                    row = tabular.RawRow(row.file, row.sheet, row.number, cells)
                if prints is None:
                    yield from self._read_row(table, row, state)
                else:
                    yield from prints.feed(row, state)
            if prints is not None:
                yield from prints.close(state)
            if state.ghosts:
                yield Note(sheet_checks.ghost_note(name, state.ghosts))
        except tabular.TableError as e:
            raise FatalError(str(e), endpoint=self.endpoint) from None
        except MappingError as e:
            raise MappingError(f"endpoint {self.endpoint}: {e}") from None
        finally:
            rows.close()

    def _objective_columns(self, table: Table) -> list[int] | None:
        """The columns that name a row's objective (a change of them starts a block of
        ``row_prints``); None where rows depend on more than their block: typed rows,
        parents named by their titles (found among all records read before)."""
        if table.typed:
            return None
        binding = table.binding(self.mapping.row_entity)
        if any(c.field and c.field.endswith("_title") for c in binding.columns):
            return None
        return [c.index for c in binding.columns
                if (c.part and self.mapping.kind(c.part) == "objective" and c.field in ("id", "title"))
                or c.field in ("objective_id",)]

    def _check_options(self) -> None:
        """The shapes of the options for real files, so a typo is a located config error, not a traceback."""
        shapes = {"header_row": (int, "a row number such as 3"), "header_rows": (int, "1 or 2"),
                  "table_values": (dict, "{Column: sheet, file or a cell such as B1}"),
                  "lookups": (dict, "{field: {table: NAME, key: COLUMN, value: COLUMN}}"),
                  "parent_from_id": (dict, "{key_result: PATTERN}"), "scoped_ids": (list, "a list of parts, e.g. [key_result]"),
                  "period_from": ((str, list), "a template such as '{Year} {Cycle}', or a list of columns")}
        for key, (kind, hint) in shapes.items():
            value = self._option(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)
                                      or kind is int and value < 1):
                where = "endpoint" if self.options.get(key) is not None else f"mapping {self.mapping.source}"
                raise ConfigError(f"endpoint {self.endpoint}: {key}: {value!r} in the {where}; give {hint}")

    def _lookups(self) -> dict[str, tuple[str, dict[str, dict[str, Any]]]]:
        """``lookups: {owner: {table: Users, key: email, value: [firstName, lastName]}}``: per field,
        the table (a sheet of this workbook, or a file beside this one) whose ``key`` column holds
        the field's cells and whose ``value`` column(s) replace them (a name for an e-mail).

        A lookup may fill more than its own field from the row it finds: ``fill: {team: Area}``
        (fields the record leaves empty), and for ``period``, ``start:`` / ``end:`` columns with
        the period's own dates (a quarter table). The cells are looked up before they are parsed
        (a quarter id "3" is not the year 3), and what the table gives is parsed as the field's
        cells are. Per field: (table, {key cell: {"value": joined text, field or start/end: cell}})."""
        found = {}
        for name, spec in (self._option("lookups") or {}).items():
            if not isinstance(spec, dict) or not {"table", "key", "value"} <= set(spec) or \
                    not isinstance(spec.get("fill") or {}, dict) or (set(spec) & {"start", "end"} and name != "period"):
                raise ConfigError(f"endpoint {self.endpoint}: lookups.{name}: give {{table: NAME, key: COLUMN, "
                                  "value: COLUMN or [COLUMNS]}, optionally fill: {FIELD: COLUMN} and, for period, "
                                  "start: COLUMN and end: COLUMN")
            table = str(spec["table"])
            path, sheet = (self.path, table) if self.tabbed else (self.path.parent / table, None)
            values = [spec["value"]] if isinstance(spec["value"], str) else list(spec["value"])
            more = {**(spec.get("fill") or {}), **{k: spec[k] for k in ("start", "end") if spec.get(k)}}
            rows = self._rows(path, sheet)
            try:
                header = [tf.normalise_key(c) for c in next(rows).cells]
                named = [spec["key"], *values, *more.values()]
                missing = [c for c in named if tf.normalise_key(c) not in header]
                if missing:
                    raise ConfigError(f"endpoint {self.endpoint}: lookups.{name}: no column {missing[0]!r} in {table}")
                at = [header.index(tf.normalise_key(c)) for c in named]
                key, joined, others = at[0], at[1:1 + len(values)], dict(zip(more, at[1 + len(values):]))
                cell = lambda r, i: r.cells[i] if i < len(r.cells) and r.cells[i] not in (None, "") else None  # noqa: E731
                found[name] = (table, {str(r.cells[key]).strip(): {
                    "value": " ".join(str(cell(r, i)).strip() for i in joined if cell(r, i) is not None),
                    **{k: cell(r, i) for k, i in others.items()}} for r in rows if cell(r, key) is not None})
            except (tabular.TableError, FileNotFoundError, StopIteration) as e:
                raise ConfigError(f"endpoint {self.endpoint}: lookups.{name}: cannot read {table} ({e or 'empty'})") from None
            finally:
                rows.close()
        return found

    def _option(self, key: str) -> Any:
        """An endpoint option, else the mapping's (``header_row``, ``table_values`` …)."""
        value = self.options.get(key)
        return self.mapping.options.get(key) if value is None else value

    def _header(self, head: list[tabular.RawRow], header_row: Any, name: str) -> tabular.RawRow:
        """The header row: the one ``header_row`` names, else the best-scoring of the first rows."""
        if header_row:
            found = next((r for r in head if r.number == int(header_row)), None)
            if found is None:
                raise MappingError(f"{name}: header_row {header_row} is empty or not among the first "
                                   f"{len(head)} rows; set it to the row holding the column names")
            return found
        scores = [self.mapping.score_header(r.cells) for r in head]
        best = head[scores.index(max(scores))]  # the first of equals
        if sheet_checks.form_problem([r.cells for r in head]):
            raise MappingError(f"{name}: this sheet is a form (label and value cells), not a table; okrsync reads "
                               "tables with a row of column names: copy the objectives into one (a row per objective "
                               "or key result), or point the endpoint at the sheet that holds such a table")
        return best

    def _header_cells(self, head: list[tabular.RawRow], index: int) -> list[Any]:
        """Column names; with ``header_rows: 2`` the row above labels groups of them ("Q1 / Target").
        A blank name takes the text of the cell above it, so no column is left unnamed."""
        cells = list(head[index].cells)
        upper = head[index - 1].cells if index and head[index - 1].number == head[index].number - 1 else []
        if int(self._option("header_rows") or 1) >= 2:
            if not upper:
                raise MappingError(f"{_where(head[index])}: header_rows 2, but the row above the header is empty")
            group = None
            cells += [None] * (len(upper) - len(cells))
            for i, cell in enumerate(cells):
                label = upper[i] if i < len(upper) else None
                group = label if label not in (None, "") else group  # a label covers the columns to its right
                if group not in (None, "") and cell not in (None, ""):
                    cells[i] = f"{group} / {cell}"
                elif cell in (None, ""):
                    cells[i] = group
            return cells
        return [upper[i] if c in (None, "") and i < len(upper) and upper[i] not in (None, "") else c
                for i, c in enumerate(cells)]

    def _period_from(self, header: list[Any], part: str, name: str) -> _PeriodFrom | None:
        """``period_from: "{Year} {Cycle}"`` (or ``[Year, Cycle]``, joined by a space): the
        period an objective's row gives in several columns, read as one label ("2025 S1" →
        2025-H1 with its dates). A linked table of another kind without those columns is
        left alone; any other table must have them all."""
        spec = self._option("period_from")
        if not spec:
            return None
        template = spec if isinstance(spec, str) else " ".join(f"{{{c}}}" for c in spec)
        wanted = re.findall(r"\{([^{}]+)\}", template)
        keys = [tf.normalise_key(c) for c in header]
        at = {c: keys.index(tf.normalise_key(c)) for c in wanted if tf.normalise_key(c) in keys}
        if not at and self.layout == "linked" and self.mapping.kind(part) != "objective":
            return None
        missing = [c for c in wanted if c not in at]
        if missing or not wanted:
            raise MappingError(f"{name}: period_from: no column {missing[0]!r} in this table's header" if missing else
                               f"{name}: period_from: name the columns in braces, e.g. '{{Year}} {{Cycle}}'")
        column = self.mapping.write_header(self.mapping.parts_of("objective")[0], "period")
        return _PeriodFrom(f"{template} / {column}", template, at)  # bound by its last part, as a two-row header's

    def _table_values(self, above: list[tabular.RawRow], name: str, sheet: str | None) -> dict[str, Any]:
        """``table_values: {Team: sheet, Year: B1}``: columns whose value is the same on every row,
        taken from the sheet's name, the file's name or a cell above the header."""
        found: dict[str, Any] = {}
        for column, source in (self._option("table_values") or {}).items():
            if source == "sheet":
                found[column] = sheet or Path(name).stem
            elif source == "file":
                found[column] = Path(name.split(" [")[0]).stem
            else:
                row, col = tabular.cell_ref(str(source))
                cells = next((r.cells for r in above if r.number == row), None)
                if row is None or cells is None or col > len(cells) or cells[col - 1] in (None, ""):
                    raise MappingError(f"{name}: table_values.{column}: {source!r} is not a filled cell above the "
                                       "header; give a cell such as B1, or sheet or file")
                found[column] = cells[col - 1]
        return found

    def _read_row(self, table: Table, row: tabular.RawRow, state: _ReadState) -> list:
        """What one row gives: records, notes, rejections, in order.

        Lists, not generators, from here down to ``_ReadState.add``: a row gives one or two
        items, and a generator per layer and row was ~10 % of a 50,000-KR import's read
        (issue 21); its consumer reads each row's items before the next row is read anyway."""
        built = state.built
        state.row_actor = self._row_actor(row)
        items = self._row_items(table, row, state)
        if state.kept is not None and state.built == built:  # a row its own record did not come from
            state.kept.append((state.last_key, [tabular.unneutralise(c) for c in row.cells]))
        return items

    def _row_items(self, table: Table, row: tabular.RawRow, state: _ReadState) -> list:
        where, width = _where(row), len(table.header)
        out: list = []
        cells = _unescaped(row.cells)
        overflow = {}
        if len(cells) > width and any(c not in (None, "") for c in cells[width:]):
            if self.name == "csv":
                return [Rejected(where, f"{len(cells)} cells for {width} columns; a cell may hold an unquoted delimiter")]
            # a workbook cell right of the header is data someone typed there: kept, and said so
            overflow = {f"column {tabular.column_letter(i + 1 - state.shift)}": json_value(v)
                        for i, v in enumerate(cells[width:], width) if v not in (None, "")}
            out.append(Note(f"{where}: cells right of the header kept in extra as {', '.join(overflow)}"))
            cells = cells[:width]
        if sheet_checks.is_ghost(cells, state.identity, state.mapped) and not overflow:
            state.ghosts.append(row.number)
            return out
        state.rows += 1
        part = table.row_part(cells)
        if part is None:
            column = self.mapping.row_type["column"]
            out.append(Rejected(f"{where}, column {column!r}", f"unknown row type; expected one of "
                                f"{', '.join(map(str, self.mapping.row_type.get('values', {})))}"))
            return out
        if len(cells) < width and self.name == "csv":
            realigned = table.realign(cells, part)
            rule = f"empty cells put back for {', '.join(self.mapping.short_rows.get(part, []))} (short_rows of {part} rows)"
            out.append(Note(f"{where}: {len(cells)} cells for {width} columns; "
                            f"{rule if realigned else 'missing cells read as empty'}"))
            cells = realigned or cells
        try:
            parsed = table.binding(part).parse(cells, self.endpoint)
            if self.layout == "hierarchical" and not table.typed:
                _parent_by_id(self.mapping, parsed, part)
            if not table.typed and self.layout != "linked" and not _named(parsed.get(part)):
                # No KR on this row: the row is its objective's own (hierarchical objective
                # rows, flat objectives without KRs yet), and its shared cells are the objective's.
                context = next((p for p in reversed(self.mapping.context_parts(part)) if _named(parsed.get(p))), None)
                if context:
                    part, parsed = context, table.binding(context).parse(cells, self.endpoint)
            if overflow:
                parsed.setdefault(part, {}).update({f"extra.{self.endpoint}.{k}": v for k, v in overflow.items()})
        except CellError as e:
            if self.layout == "hierarchical" and _names_objective(table, cells):
                state.last_objective = _REJECTED
            out.append(Rejected(f"{where}, column {e.column!r}", e.reason))
            return out
        self._row_records(table, parsed, part, where, state, out)
        return out

    def _row_records(self, table: Table, parsed: dict, part: str, where: str, state: _ReadState, out: list) -> None:
        """The records of one row, parents first, appended to ``out``; a rejected one stops
        the row (its children need it)."""
        order = self._record_order(tuple(parsed), part)
        row_ids: dict[str, str] = {}
        for p in order:
            repeat = state.context.get(p) if p != part else None
            # (Binding.parse hands over the very dict of the row above for equal cells: "is" first)
            if repeat is not None and (repeat[0] is parsed[p] or repeat[0] == parsed[p]) and repeat[1] == row_ids:
                # The cells of the context record on the row above (a flat sheet repeats its
                # objective on every KR row): the same record, already yielded there.
                kind, ext = repeat[2]
                row_ids[kind] = ext
                if kind == "objective":
                    state.last_objective = ext
                continue
            before = dict(row_ids) if p != part else None
            item = self._record(table, p, parsed[p], row_ids, state, where)
            if (isinstance(item, Record) and item.kind == "objective" and not tf.parse_text(parsed[p].get("id"))
                    and state.elsewhere(item)):
                # known by its title alone, met on another sheet with other values (the same title on
                # two teams' sheets): another objective, not a repeat of the first
                named = item.external_id
                item = state.distinct(item)
                state.renamed = state.renamed or item.external_id != named
            if before is not None:
                state.context.pop(p, None)
                if isinstance(item, Record) and not any(k.endswith("_title") for k in parsed[p]):
                    state.context[p] = (parsed[p], before, (item.kind, item.external_id))
            if item is None:
                continue
            if p == part and isinstance(item, Record) and item.kind != "objective" and not tf.parse_text(parsed[p].get("id")):
                named = item.external_id
                item = state.distinct(item)  # no id column: a repeated title is another record unless all else repeats
                state.renamed = state.renamed or item.external_id != named  # "~2" depends on rows far above
            if isinstance(item, Rejected):
                if self.mapping.kind(p) == "objective":
                    state.last_objective = _REJECTED  # the KR rows below belong to it, not to the one before
                out.append(item)
                return
            row_ids[item.kind] = item.external_id
            if p == part:  # the row's own record: a write puts the row back from it
                state.built, state.last_key = state.built + 1, (item.kind, item.external_id)
                if state.row_actor is not None:
                    item.actor = state.row_actor
            if item.kind == "objective":
                state.last_objective = item.external_id
            out += state.add(item, own=p == part)

    def _record_order(self, parts: tuple[str, ...], part: str) -> tuple[str, ...]:
        """A row's parts, parents first and the row's own part last among its kind
        (remembered: the same few row shapes repeat on every row)."""
        orders = self.__dict__.setdefault("_orders", {})
        order = orders.get((parts, part))
        if order is None:
            order = orders[(parts, part)] = tuple(sorted(parts, key=lambda p: (KINDS.index(self.mapping.kind(p)), p == part)))
        return order

    def _record(self, table: Table, part: str, fields: dict[str, Any], row_ids: dict[str, str],
                state: _ReadState, where: str) -> Record | Rejected | None:
        kind = self.mapping.kind(part)
        cells, fields, extra = fields, dict(fields), {}
        ext = tf.parse_text(fields.pop("id", None))
        refs = REFERENCES.get(kind, {})
        titles = _TITLE_REFS.get(kind, frozenset())  # objective_title for objective_id …: a set test, not string work per field
        # set tests in C first: most records name no parent by title and have no extras
        for name in [n for n in fields if n in titles] if not titles.isdisjoint(fields) else ():
            ref, title = name.removesuffix("_title") + "_id", fields.pop(name)
            fields.setdefault(ref, state.find_title(refs[ref], str(title)) or title_id(str(title)))
        model = MODEL_FIELDS[kind]
        for name in [n for n in fields if n not in model] if not model.issuperset(fields) else ():  # extras, fields the model lacks
            extra[name if name.startswith("extra.") else f"extra.{self.endpoint}.{name}"] = json_value(fields.pop(name))
        self._fill_references(kind, fields, row_ids, state)
        for name in [n for n in state.lookups if fields.get(n) is not None] if state.lookups else ():
            if error := self._look_up(kind, name, fields, extra, state, where):
                return Rejected(where, error)
        rule = self._parent_rules.get(kind)
        if rule and ext and not fields.get(_MAIN_PARENT[kind]) and (m := rule.fullmatch(ext)):
            fields[_MAIN_PARENT[kind]] = m.group(1)  # "2022-Q1-CI-1.1" → its objective "2022-Q1-CI-1"
        if ext and kind in self._scoped:  # "KR1" under every objective: unique only with its parent's id
            parent = next((fields.get(r) for r in ("parent_id", "key_result_id", "objective_id") if fields.get(r)), None)
            ext = f"{parent}/{ext}" if parent else ext
        gap = lacking(kind, fields)
        if gap == "title":  # a row without a title and without anything else is no record at all
            content = any(not k.startswith("extra.") for k in cells if k != "id")  # asked only here: rare
            return Rejected(where, f"{kind.replace('_', ' ')} has no title") if ext or content else None
        if kind == "key_result" and fields.get("objective_id") == _REJECTED:
            return Rejected(where, "its objective (above) could not be read")
        if gap:
            return Rejected(where, _LACKING[gap])
        if kind == "key_result":
            settle_key_result(fields)
        settle_record(fields, extra, self.endpoint)
        ext = ext or derived_id(kind, fields)
        nested = nest_extra(extra)
        entity = ENTITY_TYPES[kind](id=ext, extra=nested, **fields)
        found = problems(entity)
        errors = [p for p in found if p.severity == "error"] if found else found  # most records: none
        if errors:
            column = table.binding(part).header_for(part, errors[0].field)
            return Rejected(f"{where}, column {column!r}" if column else where,
                            "; ".join(f"{p.field}: {p.message}" for p in errors))
        if kind in TITLED:
            state.remember_title(kind, entity.title, ext)
        if found:  # shown with the record, once
            state.warnings = state.warnings + [Note(f"{where}: {p}") for p in found]
        return Record(kind, ext, as_fields(kind, fields, nested), where=where, updated=state.updated, actor=state.actor)

    def _look_up(self, kind: str, name: str, fields: dict[str, Any], extra: dict[str, Any], state: _ReadState,
                 where: str) -> str | None:
        """A looked-up cell (read as text, see ``Mapping.looked_up``) replaced by what its lookup
        table's row gives, then parsed as the field's cells are; the row's other columns fill
        the fields the lookup names (a period's dates among them). Returns why the record is
        rejected, when a value from the table does not read and the mapping says ``strict_values``."""
        table, values = state.lookups[name]
        cell = fields[name]
        row = values.get(str(cell).strip())
        if row is None:  # said, not guessed: the cell stays as it was
            state.warnings.append(Note(f"{where}: {name} {cell!r} is not in {table}; kept as it is"))
        row = row or {"value": cell}
        for field_name, value in [(name, row["value"] or cell)] + [(f, v) for f, v in row.items() if f not in
                                                                 ("value", "start", "end") and v is not None]:
            if field_name != name and fields.get(field_name) is not None:
                continue  # the row's own cell wins over the table's
            try:
                fields[field_name] = self.mapping.parse_value(kind, field_name, None, value)
            except tf.TransformError as e:
                if self.mapping.strict_values:
                    return f"{field_name} {value!r} from {table}: {e}"
                fields.pop(field_name, None)
                unparsed.keep(extra, self.endpoint, field_name, value, f"from {table}: {e}")
        period = fields.get("period") if name == "period" else None
        if period is not None and (row.get("start") is not None or row.get("end") is not None):
            order = self.mapping.options.get("date_order", "ymd")
            try:
                start, end = (tf.parse_date(row.get(k), order=order) for k in ("start", "end"))
            except tf.TransformError as e:
                state.warnings.append(Note(f"{where}: period {cell!r}: the dates in {table} do not read ({e}); "
                                           "the period is kept without them"))
                return None
            label = period.text or period.label if isinstance(period, tf.PeriodLabel) else str(period)
            key = period.label if isinstance(period, tf.PeriodLabel) else label
            if start and end:  # the table's own dates are the facts, whatever the label would say
                fields["period"] = tf.PeriodLabel(key, start, end, "table", text=label)
        return None

    def _fill_references(self, kind: str, fields: dict[str, Any], row_ids: dict[str, str], state: _ReadState) -> None:
        """References a row implies: its objective and KR, an activity's initiative."""
        if kind == "initiative" and not fields.get("parent_id") and row_ids.get("initiative"):
            fields["parent_id"] = row_ids["initiative"]  # an activity points at its initiative only
        if not (kind == "initiative" and fields.get("parent_id")):
            for ref, target in REFERENCES.get(kind, {}).items():
                if ref not in fields and ref != "parent_id" and target in row_ids:
                    fields[ref] = row_ids[target]
        if kind == "key_result" and not fields.get("objective_id") and self.layout == "hierarchical":
            fields["objective_id"] = state.last_objective

    # ------------------------------------------------------------ writing

    def table_exists(self, path: Path, sheet: str | None) -> bool:
        if not path.exists():
            return False
        return not (sheet and self.name == "xlsx" and sheet not in tabular.list_sheets(path))

    def save_tables(self, tables: list[tuple[sheet_writer._Sheet, list[list]]]) -> None:
        """Store the tables a write made: every row of each, the header among them."""
        sheet_writer.save_files(self, tables)

    def scan(self, part: str, path: Path, sheet: str | None) -> sheet_writer.Existing:
        """What an existing table holds besides records: see ``sheet_writer.Existing``.
        A file still as okrsync wrote it is not read: its index says (csv_patch); the
        records as read are then read only if the writer asks for them (a value it cannot write)."""
        self.patchable = None
        index = self._written(part) if path == self.path else None
        if index is not None:
            table = Table(self.mapping, index.header, self.layout, part, where=path.name)
            for p in sheet_writer.row_parts(self):
                table.binding(p)  # the bindings a read makes: the writer asks them which columns hold ids
            self.patchable = index
            records = _Later(lambda: self._scan(part, path, sheet).records)
            return sheet_writer.Existing(table, index.order(), index.preamble, [], records)
        return self._scan(part, path, sheet)

    def _scan(self, part: str, path: Path, sheet: str | None) -> sheet_writer.Existing:
        state = _ReadState()
        state.kept = []
        read = [r for r in self._read_table(part, path, sheet, state) if isinstance(r, Record)]
        read += state.flush()
        return sheet_writer.Existing(state.tables.get((path, sheet)), [(r.kind, r.external_id) for r in read],
                                     state.preamble, state.kept, {(r.kind, r.external_id): r for r in read})

    def _written(self, part: str) -> csv_patch.Index | None:
        """The index of what okrsync last wrote to the file, if the file is still that."""
        if self.index is None or self.fingerprint() != self.index[0]:
            return None
        index = self.index[1]
        if isinstance(index, str):  # the cursor, parsed only now that a push needs it
            state = row_prints.split(index)[1] or {}
            index = csv_patch.Index.load(state["write"]) if "write" in state else None
        return index if index is not None and index.part == part else None

    def fields(self, kind: str) -> set[str] | None:
        parts = self.tables if self.layout == "linked" else sheet_writer.row_parts(self)
        if kind not in (self.mapping.kind(p) for p in parts):
            return set()
        names: set[str] = set(REFERENCES.get(kind, {}))
        for part in self.mapping.parts_of(kind):
            names |= set(self.mapping.written_fields(part)) - {"id"}
        return names | {f"extra.{self.endpoint}"}

    def write(self, batch: WriteBatch) -> WriteResult:
        self.written = self.row_keys = None
        try:
            result = sheet_writer.write(self, batch)
        except tabular.TableError as e:
            raise FatalError(str(e), endpoint=self.endpoint) from None
        except OSError as e:
            raise FatalError(f"cannot write {self.path}: {e.strerror}", endpoint=self.endpoint) from None
        result.cursor = self.fingerprint()
        if self.written is not None and result.cursor:  # the next push patches this file if it is still the same
            result.cursor = row_prints.join(result.cursor, {"v": row_prints.VERSION, "write": self.written.dump()})
        self.index = (result.cursor.split(row_prints.SEPARATOR)[0], self.written) if self.written else None
        return result

    def _shape(self):
        """A digest of the options and the mapping that shape how the file(s) read."""
        digest = hashlib.sha256(json.dumps(self.options, sort_keys=True, default=str).encode())
        digest.update(repr(self.mapping).encode())
        return digest

    def fingerprint(self) -> str | None:
        """A digest of the file(s), the options and the mapping that shape how they read."""
        digest = self._shape()
        for _, path, _ in self.table_files():
            try:
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
            except FileNotFoundError:
                return None
        return digest.hexdigest()


class _Later(collections.abc.Mapping):
    """A mapping made on first use (the records of a file okrsync wrote, read only if needed)."""

    def __init__(self, make):
        self._make, self._made = make, None

    def _get(self) -> dict:
        if self._made is None:
            self._made = self._make()
        return self._made

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())
@dataclasses.dataclass(frozen=True)
class _PeriodFrom:
    """A period label made of several cells of a row (``period_from``)."""

    column: str  # the header of the made column: the mapping's period column name, with the template
    template: str  # "{Year} {Cycle}"
    at: dict[str, int]  # column named in the template → its index in the row

    def value(self, cells: list[Any]) -> str | None:
        """The row's label, "2025 S1"; None when one of its cells is blank (no period given)."""
        parts = {c: tf.parse_text(cells[i]) if i < len(cells) else None for c, i in self.at.items()}
        if any(v is None for v in parts.values()):
            return None
        return re.sub(r"\{([^{}]+)\}", lambda m: parts[m.group(1)], self.template)


def _mtime(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_HASHED = object()  # in a ``_ReadState.seen`` entry: the record's values kept as their hash


class _ReadState:
    """What a read remembers across rows and tables."""

    def __init__(self):
        self.last_objective: str | None = None
        self.context: dict[str, tuple] = {}  # part → (cells parsed, row ids before, (kind, id)) of the last context record
        self.updated: str | None = None
        self.actor: str | None = None  # who last saved the file, when it says (SpreadsheetConnector._actor)
        self.row_actor: str | None = None  # who last edited the current row, when the tool says (_row_actor)
        # (kind, id) → (where, the table it was first read from, field names, *values): one
        # flat tuple per record read, held until the read ends. Names and values, not the fields
        # dict: the hub makes its own dict of most records (canonical ids in references), and
        # two dicts per record were a third of a 200,000-KR import's peak (issue 21)
        self.seen: dict[tuple[str, str], tuple] = {}
        self._shapes: dict[tuple, tuple] = {}  # field names → themselves: one tuple per shape of record
        self.titles: dict[str, dict[str, str]] = {}  # kind → title → id, for references by title
        self._folded: dict[str, dict[str, str]] | None = None  # the same by normalise_key, made on first need
        self.tables: dict[tuple[Path, str | None], Table] = {}
        self.warnings: list[Note] = []
        self.held: set[tuple[str, str]] = set()  # keys of the records in ``waiting``: seen, not yielded yet
        self.waiting: dict[tuple[str, str], list[tuple[int, Record]]] = {}  # parent key → records read before it
        self.built, self.last_key = 0, None  # rows' own records made so far, and the last one's (kind, id)
        self.preamble: list[list] = []  # rows above the header
        self.kept: list[tuple[tuple[str, str] | None, list]] | None = None  # for a write: rows to keep as they are
        self.made: collections.Counter = collections.Counter()  # records made by rows of their own, per kind
        self.names: list[tuple[str, Table]] = []  # (name, table) of each table read
        self.ghosts: list[int] = []  # rows of the current table skipped as holding no record
        self.rows = 0  # rows read, ghost rows aside
        self.kinds: collections.Counter = collections.Counter()  # every record read, per kind
        self.lookups: dict[str, tuple[str, dict[str, str]]] = {}  # field → (table, cell → joined value)
        self.identity: list[int] = []  # the current table's id and title columns
        self.mapped: set[int] = set()  # the current table's columns read into a field
        self.prints: row_prints.Prints | None = None  # a read by blocks of rows (row_prints)
        self.log: list[tuple[str, str]] | None = None  # (kind, id) of the records the current block makes
        self.renamed = False  # a repeated title got "~2": ids depend on rows far apart, no block state kept
        self.shift = 0  # cells put before the file's own on each row (a period made by period_from)

    def start_table(self, key: tuple, table: Table, name: str) -> None:
        """A new table (file or sheet): nothing carries over from the one before but records."""
        self.tables[key] = table
        self.names.append((name, table))
        self.last_objective, self.context, self.ghosts = None, {}, []
        self.identity = sheet_checks.identity_columns(table)
        self.mapped = {c.index for b in table.bindings() for c in b.columns if c.field}

    def remember_title(self, kind: str, title: str, ext: str) -> None:
        self.titles.setdefault(kind, {}).setdefault(title, ext)
        if self._folded is not None:
            self._folded.setdefault(kind, {}).setdefault(tf.normalise_key(title), ext)

    def find_title(self, kind: str, title: str) -> str | None:
        """The id of the first record of ``kind`` with this title (case, spaces and punctuation aside)."""
        if (found := self.titles.get(kind, {}).get(title)) is not None:
            return found
        if self._folded is None:
            self._folded = {}
            for k, titles in self.titles.items():
                for t, ext in titles.items():
                    self._folded.setdefault(k, {}).setdefault(tf.normalise_key(t), ext)
        return self._folded.get(kind, {}).get(tf.normalise_key(title))

    def elsewhere(self, record: Record) -> bool:
        """Whether a record of this id came from another table (file or sheet) than the current one."""
        seen = self.seen.get((record.kind, record.external_id))
        return seen is not None and seen[1] is not None and seen[1] != (self.names[-1][0] if self.names else None)

    @staticmethod
    def fields_of(seen: tuple) -> dict[str, Any] | None:
        """The fields of a record as ``seen`` keeps them (made again: asked for repeats only);
        None when it keeps only their hash (``_packed``)."""
        return None if seen[3:4] == (_HASHED,) else dict(zip(seen[2], seen[3:]))

    @staticmethod
    def _packed(record: Record, own: bool) -> tuple:
        """What ``seen`` keeps of a record's values. A row's own record other than an objective
        is only ever compared whole with a repeat (the same row again, or a duplicate): its
        values' hash, not the values (~400 bytes a KR of a 200,000-KR first import). Objectives
        and context records, repeated on many rows, keep their values to say which differ."""
        if own and record.kind != "objective":
            try:
                return _HASHED, hash(tuple(record.fields.values()))
            except TypeError:  # a value that cannot be hashed (a list in an extra): kept
                pass
        return tuple(record.fields.values())

    def same(self, seen: tuple, fields: dict[str, Any]) -> bool:
        """Whether ``fields`` are the ones ``seen`` keeps."""
        if seen[3:4] != (_HASHED,):
            return self.fields_of(seen) == fields
        try:
            return seen[2] == tuple(fields) and seen[4] == hash(tuple(fields.values()))
        except TypeError:
            return False

    def distinct(self, record: Record) -> Record:
        """A record known by its title alone, under an id of its own when an earlier row of the
        same title holds other values (two tasks both called "Kick-off"): "kick-off~2"."""
        ext, n = record.external_id, 1
        while (seen := self.seen.get((record.kind, ext))) is not None and not self.same(seen, record.fields):
            n += 1
            ext = f"{record.external_id}~{n}"
        return record if n == 1 else dataclasses.replace(record, external_id=ext)

    def add(self, record: Record, *, own: bool) -> list[Record | Rejected | Note]:
        """A record once (with the notes made while reading it); a repeat of the row's own
        entity is an error, of its context (the objective on every KR row) expected, and
        noted only if it differs."""
        key = (record.kind, record.external_id)
        seen = self.seen.get(key)
        warnings, self.warnings = self.warnings, []
        if self.log is not None:  # every record the block makes, repeats too (row_prints: a repeat in
            self.log.append(key)  # an unchanged block and a changed one is for a full read to judge)
        if seen is None:
            names = tuple(record.fields)
            self.seen[key] = (record.where, self.names[-1][0] if self.names else None, self._shapes.setdefault(names, names),
                              *self._packed(record, own))
            self.kinds[record.kind] += 1
            if own:
                self.made[record.kind] += 1
            return self._emit(record, warnings)  # a list of its own: self.warnings is a new one
        if own and self.same(seen, record.fields):
            return [Note(f"{record.where}: repeats {seen[0]} exactly ({record.kind.replace('_', ' ')} "
                         f"{record.external_id!r}); read as one record")]
        if own and record.kind != "objective":
            return [Rejected(record.where, f"duplicate {record.kind.replace('_', ' ')} {record.external_id!r} "
                                           f"(first at {seen[0]})")]
        if (first := self.fields_of(seen)) is None:  # a row's own record met again as another row's context
            if not self.same(seen, record.fields):
                return [Note(f"{record.where}: {record.kind.replace('_', ' ')} {record.external_id!r} repeats with "
                             f"other values than {seen[0]}; kept the first")]
            return []
        differ = sorted(k for k, v in record.fields.items() if v is not None and v != first.get(k))
        if differ:
            return [Note(f"{record.where}: {record.kind.replace('_', ' ')} {record.external_id!r} repeats with "
                         f"other {', '.join(differ)} than {seen[0]}; kept the first")]
        return []

    def _emit(self, record: Record, out: list) -> list[Record]:
        """A record, and then the ones that waited for it, appended to ``out``; held while a
        parent it points at has not come yet (the hub needs parents first)."""
        if not self.waiting and self._missing(record) is None:
            # nothing held back and nothing missing (a sheet in order: nearly every record);
            # the same as the loop below, without a stack and a lookup per record
            out.append(record)
            return out
        stack = [record]
        while stack:
            r = stack.pop()
            missing = self._missing(r)
            if missing:
                self.waiting.setdefault(missing, []).append((len(self.seen), r))
                self.held.add((r.kind, r.external_id))
                continue
            self.held.discard((r.kind, r.external_id))
            out.append(r)
            stack.extend(w for _, w in reversed(self.waiting.pop((r.kind, r.external_id), [])))
        return out

    def _missing(self, record: Record) -> tuple[str, str] | None:
        for ref, target in REFERENCES.get(record.kind, {}).items():
            value = record.fields.get(ref)
            # yielded: read (every record read is in ``seen``) and not waiting itself
            if value is not None and target != "*" and ((key := (target, value)) not in self.seen or key in self.held):
                return key
        return None

    def flush(self) -> Iterator[Record]:
        """At the end: records still waiting, in file order (the hub reports what they point at)."""
        rest = sorted((w for waiting in self.waiting.values() for w in waiting), key=lambda w: w[0])
        self.waiting, self.held = {}, set()
        yield from (r for _, r in rest)


def _parent_by_id(mapping: Mapping, parsed: dict[str, dict], part: str) -> None:
    """On a hierarchical KR row, objective cells holding nothing but an id name the KR's
    objective (not an objective of its own): the KR belongs to it wherever the row is."""
    if mapping.kind(part) != "key_result" or not _named(parsed.get(part)):
        return
    for p in [p for p in parsed if p != part and mapping.kind(p) == "objective"]:
        filled = {k for k, v in parsed[p].items() if v not in (None, "")}
        if filled == {"id"}:
            parsed[part].setdefault("objective_id", parsed.pop(p)["id"])


def _names_objective(table: Table, cells: list[Any]) -> bool:
    """Whether a row fills an objective's id or title cell (it is, or starts, an objective)."""
    return any(c.part and table.mapping.kind(c.part) == "objective" and c.field in ("id", "title")
               and c.index < len(cells) and cells[c.index] not in (None, "")
               for b in table.bindings() for c in b.columns)


def _unescaped(cells: list[Any]) -> list[Any]:
    """The cells with neutralised text ("'=…") restored; not copied when no cell holds a
    quote at all (most rows: one C-level scan instead of a check per cell). Nothing
    downstream changes the list in place."""
    try:
        if "'" not in "".join(cells):
            return cells
    except TypeError:  # XLSX rows hold numbers, dates and None too
        pass
    # only text starting with "'" can be an escaped cell: skip the call for the rest
    return [tabular.unneutralise(c) if c.__class__ is str and c[:1] == "'" else c for c in cells]


def _named(fields: dict[str, Any] | None) -> bool:
    # both keys spelled out rather than any() over a generator: called for every row read
    return bool(fields) and (fields.get("title") not in (None, "") or fields.get("id") not in (None, ""))


def _where(row: tabular.RawRow) -> str:
    return f"{_file_name(row.file)}{f' [{row.sheet}]' if row.sheet else ''} row {row.number}"


@functools.lru_cache(maxsize=64)
def _file_name(file: str) -> str:
    return Path(file).name  # a Path per row was 5% of a CSV import


class CsvConnector(SpreadsheetConnector):
    name = "csv"
    description = "CSV files (, ; or tab), flat, hierarchical or linked (one file per entity)"
    option_help = {"path": "the CSV file (linked layout: the folder's tables are named relative to it)",
                   "encoding": "the file's encoding (default: UTF-8 with or without BOM, else cp1252)",
                   "delimiter": "the field separator (default: found from the file, else ,)", **SHEET_OPTIONS}
    required_options = ("path",)
    suffixes = (".csv", ".tsv", ".txt")
    by_blocks = True
    in_step_on_demand = True  # a patch (csv_patch) loads only the records of the rows it renders


class XlsxConnector(SpreadsheetConnector):
    name = "xlsx"
    description = "Excel workbooks, flat, hierarchical (merged cells too) or linked (one sheet per entity)"
    option_help = {"path": "the workbook (.xlsx or .xlsm)", "sheet": "the sheet that holds the OKRs (default: the first)",
                   "sheet_per": "period | team: a push writes one sheet per objective's period or team (also a "
                                "mapping option); every sheet is read back",
                   **SHEET_OPTIONS}
    required_options = ("path",)
    suffixes = (".xlsx", ".xlsm")
    tabbed = True
    by_blocks = True
    max_cell = 32_767  # Excel's limit; openpyxl writes more, but what reads it back (Excel, openpyxl) cuts it
    in_step_on_demand = True  # a patch (xlsx_patch) loads only the records of the rows it renders or that set widths

    def _actor(self) -> str | None:
        """The workbook's last saver (``docProps/core.xml`` lastModifiedBy): every change a
        read finds in it is put down to them, the only person the file names."""
        return tabular.last_modified_by(self.path)
