"""A Smartsheet API 2.0 emulator: the sheet, row and column methods okrsync uses, over real HTTP.

State: sheets → columns (ids, titles, types, one primary) and rows in display order, each
with an id, an optional ``parentId`` and cells by column id. Faithful to the official
OpenAPI description (tests/specs/smartsheet-2.0.trimmed.openapi.json) where it matters:

- ``GET /sheets/{sheetId}``: ``columns`` (``index``, ``title``, ``type``, ``primary``) and
  ``rows`` in display order (a child right under its parent and its earlier siblings),
  each with ``rowNumber``, ``parentId`` when indented, and ``cells`` holding ``value``
  only where the cell has one; with ``include=writerInfo``, each row's ``createdBy`` and
  ``modifiedBy`` (MiniUser: ``name`` and ``email``): the person whose ``edit(…, by=…)``
  changed it last, else the token's user (``writer``: okrsync's own writes);
- ``POST /sheets/{sheetId}/rows``: one row or a list, all with the same location
  (``toBottom``, ``toTop``, ``parentId`` + ``toBottom``; else error 1123); cells need a
  known ``columnId``; strict values (a DATE cell takes an ISO date, a CHECKBOX a boolean:
  else error 1042); answers the Result object with the new rows (their ids);
- ``PUT /sheets/{sheetId}/rows``: cells of existing rows (unknown row: error 1006) and
  moves (``parentId`` + ``toBottom``: the row and its children go under the new parent);
- ``DELETE /sheets/{sheetId}/rows?ids=…``: the rows and their children;
  ``ignoreRowsNotFound=true`` skips unknown ids, else nothing is deleted (404, 1006);
- ``POST /sheets/{sheetId}/columns``: new columns, several at one common ``index`` (the
  reference: "you cannot designate multiple index locations"); a title in use: error 1059;
- errors in Smartsheet's shape ``{"errorCode", "message", "refId"}``; a 429 is errorCode
  4003 ("Rate limit exceeded."), as the reference documents; its ``Retry-After`` header is
  the emulator base's (Smartsheet does not document one).

``version`` goes up by one on every change, as the sheet's does.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from .server import Emulator, HttpError, route

SID = r"/2.0/sheets/(?P<sid>\d+)"
CODES = {400: 1008, 401: 1002, 403: 1004, 404: 1006, 405: 1122, 429: 4003, 500: 4000, 502: 4002, 503: 4001}


@dataclass
class Row:
    id: int
    cells: dict[int, Any] = field(default_factory=dict)  # column id → value
    parent: int | None = None
    modified: str = ""
    modified_by: dict[str, str] | None = None  # MiniUser {name, email}; None: the token's user (``writer``)


@dataclass
class Sheet:
    id: int
    name: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)  # display order
    version: int = 1
    modified: str = ""


class Smartsheet(Emulator):
    def __init__(self, tokens: set[str] | None = None) -> None:
        super().__init__()
        self.tokens = tokens if tokens is not None else {"test-token"}
        self.sheets: dict[int, Sheet] = {}
        self._ids = itertools.count(7_000_000_000_001, 7919)
        # a contradicting behaviour (the reference says otherwise; a probe must catch it): rows
        # added with a parentId land at the top level
        self.drop_parent_id = False
        self.writer = {"name": "okrsync service", "email": "okrsync@example.com"}  # the token's user

    # -- test helpers ------------------------------------------------------------------

    def add_sheet(self, sid: int, name: str = "OKRs", columns: list[str] | None = None,
                  types: dict[str, str] | None = None) -> Sheet:
        """A sheet with these column titles (the first is the primary column); by default the
        columns a new sheet has in the app."""
        with self.lock:
            sheet = self.sheets[sid] = Sheet(sid, name, modified=_now())
            for i, title in enumerate(columns or ["Primary Column", "Column2", "Column3"]):
                sheet.columns.append({"id": next(self._ids), "index": i, "title": title,
                                      "type": (types or {}).get(title, "TEXT_NUMBER"), "primary": i == 0})
            return sheet

    def records(self, sid: int) -> list[dict[str, Any]]:
        """Each row as {column title: value}, in display order (blank cells left out)."""
        with self.lock:
            sheet = self.sheets[sid]
            titles = {c["id"]: c["title"] for c in sheet.columns}
            return [{titles[c]: v for c, v in r.cells.items() if v not in (None, "")} for r in sheet.rows]

    def row(self, sid: int, match: dict[str, Any]) -> Row:
        [found] = self._find(self.sheets[sid], match)
        return found

    def edit(self, sid: int, match: dict[str, Any], by: dict[str, str] | None = None, **values: Any) -> None:
        """Change the cells (by column title) of the one row whose cells equal ``match``, as
        the person ``by`` ({name, email}) in the app (else the token's user)."""
        with self.lock:
            sheet = self.sheets[sid]
            row = self.row(sid, match)
            by_title = {c["title"]: c["id"] for c in sheet.columns}
            for title, value in values.items():
                row.cells[by_title[title]] = value
            row.modified, row.modified_by = _now(), by
            self._changed(sheet)

    def delete_rows(self, sid: int, match: dict[str, Any]) -> int:
        with self.lock:
            sheet = self.sheets[sid]
            gone = {r.id for r in self._find(sheet, match)}
            return self._delete(sheet, gone)

    def indent(self, sid: int, match: dict[str, Any], under: dict[str, Any]) -> None:
        """Drag a row (and its children) under another row, as a person does in the app."""
        with self.lock:
            sheet = self.sheets[sid]
            self._move(sheet, self.row(sid, match).id, self.row(sid, under).id)
            self._changed(sheet)

    def sort(self, sid: int, title: str, reverse: bool = False) -> None:
        """Sort the top-level rows by a column, each with its children (as the app does)."""
        with self.lock:
            sheet = self.sheets[sid]
            column = next(c["id"] for c in sheet.columns if c["title"] == title)
            blocks = [[r, *self._descendants(sheet, r.id)] for r in sheet.rows if r.parent is None]
            blocks.sort(key=lambda b: str(b[0].cells.get(column, "")), reverse=reverse)
            sheet.rows = [r for b in blocks for r in b]
            self._changed(sheet)

    # -- vendor dialect ----------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        value = headers.get("Authorization") or ""
        return value.startswith("Bearer ") and value[7:] in self.tokens

    def error_body(self, status: int, message: str) -> Any:
        return {"errorCode": CODES.get(status, 1000), "message": "Rate limit exceeded." if status == 429 else message,
                "refId": "emu1x2y3z"}

    # -- routes ------------------------------------------------------------------------

    @route("GET", SID)
    def get_sheet(self, req):
        sheet = self._sheet(req)
        rows = [{"id": r.id, "rowNumber": n, **({"parentId": r.parent} if r.parent else {}), "expanded": True,
                 "modifiedAt": r.modified, "cells": [{"columnId": c["id"], **self._value(r, c)} for c in sheet.columns],
                 **({"createdBy": self.writer, "modifiedBy": r.modified_by or self.writer}
                    if "writerInfo" in req.args("include") else {})}
                for n, r in enumerate(sheet.rows, 1)]
        return 200, {"id": sheet.id, "name": sheet.name, "version": sheet.version, "totalRowCount": len(rows),
                     "accessLevel": "EDITOR", "modifiedAt": sheet.modified, "columns": sheet.columns, "rows": rows}

    @route("POST", SID + "/rows")
    def add_rows(self, req):
        sheet, rows = self._sheet(req), _many(req.json())
        locations = {tuple(sorted((k, v) for k, v in r.items() if k in ("toBottom", "toTop", "parentId", "siblingId",
                                                                        "above"))) for r in rows}
        if len(locations) != 1 or not next(iter(locations)):
            raise self._error(400, 1123, "Specifying multiple row locations is not yet supported. Each row must use "
                                         "the same row location attribute and value (toBottom, toTop, parentId, "
                                         "siblingId, above).")
        location = dict(next(iter(locations)))
        parent = None if self.drop_parent_id else location.get("parentId")
        if parent is not None and not any(r.id == parent for r in sheet.rows):
            raise self._error(404, 1006, "Not Found")
        made = [Row(next(self._ids), self._cells(sheet, r.get("cells") or []), parent, _now()) for r in rows]
        for row in made:
            self._place(sheet, row, parent, top=bool(location.get("toTop")))
        self._changed(sheet)
        return 200, self._result(sheet, [self._row_out(sheet, r) for r in made])

    @route("PUT", SID + "/rows")
    def update_rows(self, req):
        sheet, rows = self._sheet(req), _many(req.json())
        known = {r.id: r for r in sheet.rows}
        missing = [r.get("id") for r in rows if r.get("id") not in known]
        if missing:
            raise self._error(404, 1006, f"Not Found: row {missing[0]}")
        for r in rows:
            row = known[r["id"]]
            row.cells.update(self._cells(sheet, r.get("cells") or []))
            row.modified, row.modified_by = _now(), None
            if "parentId" in r:
                self._move(sheet, row.id, r["parentId"])
        self._changed(sheet)
        return 200, self._result(sheet, [self._row_out(sheet, known[r["id"]]) for r in rows])

    @route("DELETE", SID + "/rows")
    def delete(self, req):
        sheet = self._sheet(req)
        ids = {int(i) for i in (req.arg("ids") or "").split(",") if i.strip()}
        known = {r.id for r in sheet.rows}
        if ids - known and req.arg("ignoreRowsNotFound") != "true":
            raise self._error(404, 1006, "Not Found")
        gone = [r.id for r in sheet.rows if r.id in ids or any(a in ids for a in self._ancestors(sheet, r))]
        self._delete(sheet, ids & known)
        return 200, self._result(sheet, gone)

    @route("POST", SID + "/columns")
    def add_columns(self, req):
        sheet, columns = self._sheet(req), _many(req.json())
        titles = {c["title"] for c in sheet.columns}
        if len({c.get("index") for c in columns}) > 1:
            raise self._error(400, 1008, "When creating more than one column at a time, you cannot designate "
                                         "multiple index locations.")
        made = []
        for c in columns:
            if c.get("title") in titles or not c.get("title"):
                raise self._error(400, 1059, "Column titles must be unique.")
            titles.add(c["title"])
            made.append({"id": next(self._ids), "index": int(c.get("index", len(sheet.columns))), "title": c["title"],
                         "type": c.get("type", "TEXT_NUMBER"), "primary": False})
        for n, column in enumerate(made):  # from the common index on, in the order given
            sheet.columns.insert(min(column["index"] + n, len(sheet.columns)), column)
        for i, column in enumerate(sheet.columns):
            column["index"] = i
        self._changed(sheet)
        return 200, self._result(sheet, [dict(c) for c in made])

    # -- internals ---------------------------------------------------------------------

    def _sheet(self, req) -> Sheet:
        sheet = self.sheets.get(int(req.params["sid"]))
        if sheet is None:
            raise self._error(404, 1006, "Not Found")
        return sheet

    def _error(self, status: int, code: int, message: str) -> HttpError:
        return HttpError(status, message, body={"errorCode": code, "message": message, "refId": "emu1x2y3z"})

    def _cells(self, sheet: Sheet, cells: list[dict[str, Any]]) -> dict[int, Any]:
        types = {c["id"]: c["type"] for c in sheet.columns}
        out = {}
        for cell in cells:
            column = cell.get("columnId")
            if column not in types:
                raise self._error(400, 1036, f"The columnId {column} is invalid.")
            if "formula" in cell:
                raise self._error(400, 1008, "okrsync must never send a formula")  # the tests' tripwire
            value = cell.get("value")
            if value not in (None, "") and cell.get("strict", True) and not _fits(types[column], value):
                raise self._error(400, 1042, f"The cell value in column {column} did not conform to the strict "
                                             "requirements for type " + types[column] + ".")
            out[column] = value
        return out

    def _value(self, row: Row, column: dict[str, Any]) -> dict[str, Any]:
        value = row.cells.get(column["id"])
        if value in (None, ""):
            return {}
        shown = {} if column["type"] in ("DATE", "CHECKBOX") else {"displayValue": str(value)}
        return {"value": value, **shown}

    def _row_out(self, sheet: Sheet, row: Row) -> dict[str, Any]:
        return {"id": row.id, "sheetId": sheet.id, "rowNumber": sheet.rows.index(row) + 1,
                **({"parentId": row.parent} if row.parent else {}),
                "cells": [{"columnId": c["id"], **self._value(row, c)} for c in sheet.columns]}

    def _result(self, sheet: Sheet, result: Any) -> dict[str, Any]:
        return {"message": "SUCCESS", "resultCode": 0, "version": sheet.version, "result": result}

    def _descendants(self, sheet: Sheet, rid: int) -> list[Row]:
        out, ids = [], {rid}
        for r in sheet.rows:  # display order: descendants follow their ancestor
            if r.parent in ids:
                out.append(r)
                ids.add(r.id)
        return out

    def _ancestors(self, sheet: Sheet, row: Row) -> list[int]:
        by_id, out, parent = {r.id: r for r in sheet.rows}, [], row.parent
        while parent is not None and parent in by_id:
            out.append(parent)
            parent = by_id[parent].parent
        return out

    def _place(self, sheet: Sheet, row: Row, parent: int | None, top: bool = False) -> None:
        row.parent = parent
        if parent is None:
            sheet.rows.insert(0, row) if top else sheet.rows.append(row)
            return
        at = next(i for i, r in enumerate(sheet.rows) if r.id == parent)
        block = self._descendants(sheet, parent)
        sheet.rows.insert(at + 1 + (0 if top else len(block)), row)

    def _move(self, sheet: Sheet, rid: int, parent: int | None) -> None:
        row = next(r for r in sheet.rows if r.id == rid)
        block = [row, *self._descendants(sheet, rid)]
        sheet.rows = [r for r in sheet.rows if r not in block]
        self._place(sheet, row, parent)
        at = sheet.rows.index(row)
        sheet.rows[at + 1:at + 1] = block[1:]

    def _delete(self, sheet: Sheet, ids: set[int]) -> int:
        gone = {r.id for r in sheet.rows if r.id in ids or any(a in ids for a in self._ancestors(sheet, r))}
        sheet.rows = [r for r in sheet.rows if r.id not in gone]
        if gone:
            self._changed(sheet)
        return len(gone)

    def _find(self, sheet: Sheet, match: dict[str, Any]) -> list[Row]:
        by_title = {c["title"]: c["id"] for c in sheet.columns}
        return [r for r in sheet.rows if all(r.cells.get(by_title[t]) == v for t, v in match.items())]

    def _changed(self, sheet: Sheet) -> None:
        sheet.version += 1
        sheet.modified = _now()


def _many(body: Any) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(i, dict) for i in items):
        raise HttpError(400, "Unable to parse request.", body={"errorCode": 1008, "message": "Unable to parse request."})
    return items


def _fits(kind: str, value: Any) -> bool:
    if kind == "DATE":
        try:
            dt.date.fromisoformat(str(value))
            return isinstance(value, str)
        except ValueError:
            return False
    if kind == "CHECKBOX":
        return isinstance(value, bool)
    return isinstance(value, (str, int, float, bool))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
