"""Smartsheet (REST API 2.0): the spreadsheet connector's layouts over Smartsheet sheets.

A sheet's columns are the columns of the mapping (matched by title), its rows the rows:
everything between cells and records is the CSV/XLSX code path (``spreadsheet`` reads,
``sheet_writer`` writes), as for Google Sheets. This module only moves rows:

- a read is one ``GET /sheets/{sheetId}?include=writerInfo`` per sheet the endpoint uses
  (``sheet:``, or one per entity with ``layout: linked`` and ``tables:``): the column titles
  are the header, each row's cell ``value`` its cells, in the sheet's order, and its
  ``modifiedBy`` who changed the record the row holds (``Record.actor``). Smartsheet keeps a child row
  right under its parent, so the indented rows of a hierarchical sheet read as the
  hierarchical layout does (a KR row under its objective row); and in that layout a row's
  ``parentId`` is authoritative: a KR row moved under another objective (indented there
  in the app) takes that objective's id, whatever its own id cell still says.
- a write compares the rows ``sheet_writer`` made with the rows read, matched by the
  mapping's id columns (not by position), and sends only what differs: missing columns in
  one ``POST …/columns``; changed cells in one ``PUT …/rows``; new rows in one
  ``POST …/rows`` (top level, ``toBottom``) and, in the hierarchical layout, one per parent
  for new KR rows (``parentId`` + ``toBottom``: Smartsheet takes one location per request);
  KR rows whose objective changed are moved under it (``PUT`` with ``parentId``, one per
  parent); rows no longer written go in one ``DELETE …/rows?ids=…``. Row locking: before
  a write that changes, moves or deletes rows, the sheet is read again (one ``GET``) and a
  row whose cells, parent or ``modifiedAt`` changed since the read is not written: its
  record is refused as stale (``Rejected(replan=True)``) and the hub reads again, merges
  and writes once more. Adds and column
  creations are never re-sent blindly (a lost answer and a retry would add twice): only
  answers saying the work was not done are retried; the next run reads what landed.
  Cells are neutralised as in files (``tabular.to_grid``), and okrsync never sets a cell's
  ``formula``.

The cursor is a digest of the cells read or written (rows in sorted order: a sort in the
app changes nothing okrsync reads). Every request goes through ``okrsync.http.Api``,
paced at ``rate`` (5/s by default: 300 requests a minute per access token); 429s (error
4003) and 5xx are retried through the one policy. Sources of each fact:
docs/connectors/smartsheet.md.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from okrsync import tabular
from okrsync.connector import Rejected
from okrsync.errors import ConfigError, RetryableError

from . import remote_tables
from .common import bearer, check_options, new_api
from .google_sheets import _same, _same_row
from .remote_tables import Tables, bound, filled, kr_columns, match, row_parents
from .spreadsheet import SpreadsheetConnector, service_options

RATE = 5.0  # 300 requests/min per access token (developers.smartsheet.com/blog/smartsheet-api-best-practices)
MAX_ROWS = 500  # rows per add/update request ("limit your request to 500 rows at a time", API reference)
MAX_CELL = 4000  # "No cell can contain more than 4,000 characters" (API reference, Limitations)
OPTIONS = service_options({
    "token": "a Smartsheet API access token, e.g. {$env: SMARTSHEET_TOKEN}",
    "sheet": "the sheet's id (flat and hierarchical layouts)",
})
ADVICE = {401: "the access token was refused: generate a new one (Account → Personal settings → API access) and "
                "point 'token:' at it",
           403: "the token's user cannot edit this sheet: share it with them as Editor or higher",
           404: "no such sheet: check the id (File → Properties → Sheet ID) and that it is shared with the token's user"}
_SHEET_ID = re.compile(r"^\s*(\d{1,20})\s*$")


@dataclasses.dataclass
class _Sheet:
    """One sheet as last read: its columns, and its rows' ids, parents and cells in order."""

    name: str
    updated: str | None  # the sheet's modifiedAt
    columns: list[dict[str, Any]]  # {id, title, type, primary}, in column order
    row_ids: list[int]
    parents: list[int | None]
    values: list[list]  # header (the column titles), then one list of cells per row, as read
    cells: list[list] | None = None  # the same as stored, where following parents changed a cell
    seen: dict[int, Any] = dataclasses.field(default_factory=dict)  # row id → what a write checks is unchanged
    editors: dict[int, Any] = dataclasses.field(default_factory=dict)  # row id → its modifiedBy (remote_tables.row_actor)

    @property
    def ids(self) -> list[int]:
        return self.row_ids

    @classmethod
    def of(cls, answer: Any) -> _Sheet:
        columns = sorted(answer.get("columns") or [], key=lambda c: c.get("index", 0))
        where = {c["id"]: i for i, c in enumerate(columns)}
        ids, parents, rows, seen, editors = [], [], [], {}, {}
        for row in answer.get("rows") or []:
            cells = [""] * len(columns)
            for cell in row.get("cells") or []:
                if cell.get("columnId") in where and cell.get("value") is not None:
                    cells[where[cell["columnId"]]] = cell["value"]
            ids.append(row["id"])
            parents.append(row.get("parentId"))
            rows.append(cells)
            seen[row["id"]] = (list(cells), row.get("parentId"), row.get("modifiedAt"))
            if row.get("modifiedBy"):
                editors[row["id"]] = row["modifiedBy"]
        return cls(str(answer.get("name") or ""), answer.get("modifiedAt"), columns, ids, parents,
                   [[c.get("title", "") for c in columns], *rows], seen=seen, editors=editors)


@remote_tables.table_service  # linked tables are sheets, named by id; KR rows name their objective
class SmartsheetConnector(SpreadsheetConnector):
    name = "smartsheet"
    option_help = OPTIONS
    required_options = ("token",)
    description = "Smartsheet (API 2.0): flat, hierarchical (indented rows) or linked (one sheet per entity)"
    capabilities = dataclasses.replace(
        SpreadsheetConnector.capabilities,
        rate_limit="300 requests/min per access token (developers.smartsheet.com); 429 errorCode 4003")
    advice = ADVICE  # what to do, by the status of a refusal
    max_cell = MAX_CELL
    absent = "has no rows; a push fills it"
    vanished = "has no rows since the last run; restore them (File → Activity log), or remove the endpoint"

    def __init__(self, endpoint, options, context=None):
        where = f"endpoint {endpoint}"
        check_options(options, self.declared_options(), where)
        super().__init__(endpoint, options, context)
        for sheet in ([self.sheet] if self.layout != "linked" else list(self.tables.values())):
            if not _SHEET_ID.match(str(sheet or "")):
                raise ConfigError(f"{where}: {sheet!r} is not a sheet id; give the number shown under File → "
                                  "Properties → Sheet ID, e.g. sheet: 4583173393803140")
        self.sheet = str(self.sheet).strip() if self.sheet else None
        self.tables = {part: str(sheet).strip() for part, sheet in self.tables.items()}
        self.api = new_api(endpoint, options, where, url=options.get("url", "https://api.smartsheet.com/2.0"),
                           auth=bearer(options.get("token"), where), rate=float(options.get("rate", RATE)))
        self.remote = Tables(self._fetch)  # sheet id → _Sheet, as last read or written

    def doctor(self, kit) -> None:
        """Each sheet of the endpoint readable by the token, once each."""
        for sheet in dict.fromkeys(s for _, _, s in self.table_files()):
            answer = kit.call("reachable", {401: "Smartsheet refused the token: generate one under Account "
                                                 "→ Personal settings → API access",
                                            404: f"no sheet {sheet}, or it is not shared with the token's "
                                                 "user: check the id (File → Properties)"},
                              lambda sheet=sheet: self.api.call("GET", f"/sheets/{sheet}", params={"rowNumbers": "1"}))
            if answer is not None:
                kit.add("reachable", "ok", f"sheet {sheet} ({answer.get('name', '?')}) is readable, access "
                        f"{answer.get('accessLevel', 'unknown')}")

    @classmethod
    def sandbox_options(cls, sandbox, options):
        """``sandbox: {sheet: <id>}`` (or ``{tables: {…}}`` for the linked layout): a copy of the
        endpoint's sheet (File → Save as new), emptied."""
        return remote_tables.sandbox_options(sandbox, options, ("sheet", "tables"))

    def probe(self, sandbox, kit):
        """Writes a decimal and a decreasing KR with due dates under a long non-ASCII
        objective, checks (hierarchical layout) that the KR rows were added under the
        objective's row (``parentId``) and that numbers come back as numbers, reads the
        records back and deletes the rows."""
        def checks(reader, made):
            return remote_tables.numbers_kept(reader, made) + [self._probe_parents(reader, made)]

        return remote_tables.probe(self, kit, checks, claims={
            "a key result reads back under its objective": remote_tables.PARENT_ROWS})

    def _probe_parents(self, reader: SmartsheetConnector, made: dict[str, str]):
        """Whether each KR row made by the probe is a child of the objective's row."""
        from okrsync import probe as p
        from okrsync.connector import ProbeResult

        claim = "a row added with parentId is a child of that row (the hierarchical layout's KR rows)"
        if self.layout != "hierarchical":
            return ProbeResult(claim, p.UNTESTABLE, f"the endpoint's layout ({self.layout}) adds no child rows")
        sheet = reader.remote[self.sheet]
        ids = [str(made.get(k, "")) for k in ("probe-objective", "probe-kr-decimal", "probe-kr-decreasing")]
        rows = {i: [str(c) for c in cells] for i, cells in zip(sheet.row_ids, sheet.values[1:])}
        objective = [i for i, cells in rows.items() if ids[0] in cells and not {*ids[1:]} & {*cells}]
        krs = [i for i, cells in rows.items() if {*ids[1:]} & {*cells}]
        if len(objective) != 1 or len(krs) != 2:
            return ProbeResult(claim, p.UNTESTABLE, "the probe's rows were not found in the sandbox sheet")
        parents = [sheet.parents[sheet.row_ids.index(i)] for i in krs]
        if parents != objective * 2:
            return ProbeResult(claim, p.CONTRADICTED, f"the key result rows' parentId read back {parents}, not the "
                                                      f"objective's row {objective[0]}")
        return ProbeResult(claim, p.CONFIRMED, "2 key result rows under their objective's row")

    def _locate(self, options: dict[str, Any]) -> Path:
        return Path("smartsheet")  # stands for the account in messages: "smartsheet [sheet id] row 7"

    # ------------------------------------------------------------ rows in

    def _ids(self) -> list[str]:
        return [sheet for _, _, sheet in self.table_files()]

    def _fetch(self) -> dict[str, _Sheet]:
        sheets = {}
        for sid in self._ids():
            # writerInfo: each row's modifiedBy, "the last person to modify this row" (MiniUser:
            # name, email; spec Row.modifiedBy and GET /sheets/{sheetId} ``include``), for Record.actor
            answer = self._call("GET", f"/sheets/{sid}", params={"include": "writerInfo"})
            if not isinstance(answer, dict) or not isinstance(answer.get("columns"), list):
                raise RetryableError(f"GET /sheets/{sid} answered without the sheet's columns", endpoint=self.endpoint)
            sheets[sid] = _Sheet.of(answer)
            if self.layout == "hierarchical":
                self._follow_parents(sheets[sid])
        return sheets

    @staticmethod
    def editor(user: dict[str, Any]) -> str | None:
        """A row's ``modifiedBy`` as ``Record.actor``: the name, else the e-mail."""
        return remote_tables.person(user, "smartsheet")

    def _follow_parents(self, sheet: _Sheet) -> None:
        """A row indented under another takes that row's objective id (its parentId is what
        the app shows; the id cell may be stale after a drag)."""
        at = {rid: i for i, rid in enumerate(sheet.row_ids)}
        sheet.cells = remote_tables.follow_parents(self, sheet.values, [at.get(p) for p in sheet.parents])

    def edited_since(self, sid: str, sheet: _Sheet) -> set[int]:
        """The rows of a sheet changed since it was read (their cells, parent or ``modifiedAt``):
        the sheet read again (one request) and compared with what was read."""
        now = self._call("GET", f"/sheets/{sid}")
        if not isinstance(now, dict) or not isinstance(now.get("columns"), list):
            raise RetryableError(f"GET /sheets/{sid} answered without the sheet's columns", endpoint=self.endpoint)
        rows = _Sheet.of(now).seen
        return {rid for rid, (cells, parent, modified) in sheet.seen.items() if rid in rows and not (
            _same_row(cells, rows[rid][0]) and parent == rows[rid][1] and modified == rows[rid][2])}

    def table_exists(self, path: Path, sheet: str | None) -> bool:
        return len(self.remote[sheet].values) > 1

    def save_tables(self, tables: list) -> None:
        """Send what differs from the rows read: see the module docstring."""
        after = {}
        for sheet, rows in tables:
            grid = tabular.to_grid(rows)
            _Plan(self, sheet.sheet, self.remote[sheet.sheet], grid, bound(self, sheet.part, rows[0])).send()
            # rows refused as stale keep what Smartsheet has: the next read sees them as they are
            after[sheet.sheet] = grid
        self.remote.kept = {sid: dataclasses.replace(s, values=after[sid], cells=None) if sid in after else s
                            for sid, s in self.remote.get().items()}


class _Plan:
    """The requests that turn one sheet's rows into ``grid`` (header first)."""

    def __init__(self, conn: SmartsheetConnector, sid: str, old: _Sheet, grid: list[list],
                 bound: list[tuple[int, str, str]]):
        self.conn, self.old, self.grid, self.sid = conn, old, grid, sid
        self.stored = old.cells or old.values
        self.base = f"/sheets/{sid}"
        self.bound = bound
        # a row filling a KR's id or title is a KR row: in the hierarchical layout, a child row
        self.kr_columns = kr_columns(bound)

    def send(self) -> None:
        columns = self._columns()
        new_rows = self.grid[1:]
        matched = self._match(new_rows)
        kr_columns = self.kr_columns if self.conn.layout == "hierarchical" else []
        updates, adds, deletes = [], [], set(self.old.row_ids) - {rid for rid in matched.values()}
        for i, row in enumerate(new_rows):
            rid = matched.get(i)
            if rid is None:
                adds.append(i)
                continue
            old = self.stored[self.old.row_ids.index(rid) + 1]
            cells = [{"columnId": columns[c], "value": _value(v)} for c, v in enumerate(row)
                     if c < len(columns) and not _same(v, old[c] if c < len(old) else "")]
            if cells:
                updates.append({"id": rid, "cells": cells})
        # a row edited in Smartsheet since the read is not overwritten (nor deleted, nor
        # moved): its record is refused as stale, and the hub reads again, merges and writes
        self.stale = self.conn.edited_since(self.sid, self.old) if updates or deletes or (kr_columns and matched) \
            else set()
        written = {u["id"] for u in updates}
        for i, rid in matched.items():  # changed here, or a KR row that may move
            if rid in self.stale and (rid in written or filled(new_rows[i], kr_columns)):
                self._refuse(remote_tables.row_key(self.bound, new_rows[i]), rid)
        for rid in deletes & self.stale:
            self._refuse(remote_tables.row_key(self.bound, self.old.values[self.old.row_ids.index(rid) + 1]), rid)
        updates = [u for u in updates if u["id"] not in self.stale]
        deletes -= self.stale
        for part in _slices(updates):
            self.conn._call("PUT", f"{self.base}/rows", json=part)
        ids = dict(matched)  # new row index → row id, for parents
        top = [i for i in adds if not filled(new_rows[i], kr_columns)]
        self._add(top, {"toBottom": True}, columns, ids)
        if kr_columns:  # KR rows under their objective row (the nearest row above that is not a KR)
            parent = row_parents(new_rows, self.bound)
            children: dict[int, list[int]] = {}
            for i in adds:
                if i not in top and parent.get(i) is not None:
                    children.setdefault(parent[i], []).append(i)
                elif i not in top:
                    self._add([i], {"toBottom": True}, columns, ids)
            for p, rows in children.items():
                self._add(rows, {"parentId": ids[p], "toBottom": True}, columns, ids)
            self._move(new_rows, parent, matched, ids, kr_columns)
        if deletes:
            order = [rid for rid in self.old.row_ids if rid in deletes]
            for part in _slices(order, 400):  # ids travel in the URL: keep it short
                self.conn._call("DELETE", f"{self.base}/rows", params={"ids": ",".join(map(str, part)),
                                                                       "ignoreRowsNotFound": "true"})

    def _refuse(self, ident: str, rid: int) -> None:
        self.conn.rejected.append(Rejected(ident or str(rid), f"row {rid} of sheet {self.sid} was edited in Smartsheet "
                                           "after okrsync read it: not overwritten; read again and merged", replan=True))

    def _columns(self) -> list[int]:
        """Column ids in the grid's header order; missing columns added (text/number)."""
        by_title = {c.get("title"): c["id"] for c in self.old.columns}
        header = [str(t) for t in self.grid[0]]
        missing = [t for t in header if t not in by_title]
        if missing:
            # one common index for them all ("you cannot designate multiple index locations")
            body = [{"title": t, "type": "TEXT_NUMBER", "index": len(self.old.columns)} for t in missing]
            answer = self.conn._call("POST", f"{self.base}/columns", json=body, replay_safe=False)
            made = (answer or {}).get("result") or []
            made = made if isinstance(made, list) else [made]
            for column in made:
                by_title[column.get("title")] = column.get("id")
            if any(by_title.get(t) is None for t in missing):
                raise RetryableError(f"POST {self.base}/columns answered without the new columns' ids",
                                     endpoint=self.conn.endpoint)
        return [by_title[t] for t in header]

    def _match(self, rows: list[list]) -> dict[int, int]:
        """New row index → the id of the row read that holds the same record (``match``)."""
        return {i: self.old.row_ids[j] for i, j in match(self.bound, self.old.values[1:], rows).items()}

    def _add(self, rows: list[int], location: dict[str, Any], columns: list[int], ids: dict[int, int]) -> None:
        for part in _slices(rows):
            body = [{**location, "cells": [{"columnId": columns[c], "value": _value(v)}
                                           for c, v in enumerate(self.grid[1 + i]) if v not in (None, "")]}
                    for i in part]
            answer = self.conn._call("POST", f"{self.base}/rows", json=body, replay_safe=False)
            made = (answer or {}).get("result") or []
            made = made if isinstance(made, list) else [made]
            if len(made) != len(part):
                raise RetryableError(f"POST {self.base}/rows answered {len(made)} rows for {len(part)}",
                                     endpoint=self.conn.endpoint)
            ids.update({i: r["id"] for i, r in zip(part, made)})

    def _move(self, rows, parent, matched, ids, kr_columns) -> None:
        """Rows read under another parent than the one their objective's row is now."""
        was = dict(zip(self.old.row_ids, self.old.parents))
        moves: dict[int, list[int]] = {}
        for i, rid in matched.items():
            if filled(rows[i], kr_columns) and parent.get(i) is not None and ids.get(parent[i]) != was.get(rid) \
                    and rid not in self.stale:
                moves.setdefault(ids[parent[i]], []).append(rid)
        for target, rids in moves.items():
            for part in _slices(rids):
                self.conn._call("PUT", f"{self.base}/rows", json=[{"id": r, "parentId": target, "toBottom": True}
                                                                  for r in part])


def _value(v: Any) -> Any:
    """A cell as Smartsheet takes it: "" clears; numbers, booleans and text as they are."""
    return "" if v is None else v


def _slices(items: list, size: int = MAX_ROWS) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
