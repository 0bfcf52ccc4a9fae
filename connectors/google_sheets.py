"""Google Sheets (API v4, values): the spreadsheet connector's layouts over a Sheets range.

Everything between cells and records is the CSV/XLSX code path (``spreadsheet`` reads,
``sheet_writer`` writes); this module only moves cells:

- a read is one ``values:batchGet`` of every tab the endpoint uses (whole tabs, numbers
  unformatted, dates as the sheet shows them), kept for the write of the same run;
- a write compares the rows ``sheet_writer`` made with the cells read and sends only the
  rows that differ: one ``values:batchUpdate`` for rows inside the tab's grid, and one
  ``values/{range}:append`` for rows added past it (a values write cannot grow the grid,
  an append can; rows added inside it go into the batchUpdate). ``RAW`` input, so
  nothing is parsed, and cells are neutralised as in files: okrsync never writes a formula.

Rows are known by the id columns of the mapping (a tab okrsync fills gets them), not by
their position, so rows sorted, inserted or moved between runs keep their links
(``hide_ids`` hides the id columns okrsync adds). The
Sheets API has no change feed: the cursor is a digest of the cells read or written.

Every request goes through ``okrsync.http.Api`` (paced at ``rate``, 1/s by default: the
documented 60 requests per minute per user; 429s and 5xx retried through the one policy).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from okrsync import http, tabular
from okrsync.errors import ConfigError, FatalError, RetryableError
from okrsync.mapping import Table

from .common import check_endpoint, new_api
from .spreadsheet import SpreadsheetConnector, service_options

# the one scope okrsync asks for; it grants no Drive call, so no file's lastModifyingUser: a
# change read from a sheet names nobody (docs/reports.md, "who made a change")
SCOPE = "https://www.googleapis.com/auth/spreadsheets"
MAX_CELL = 50_000  # characters in one cell (Google's "Files you can store in Google Drive")
OPTIONS = service_options({
    "spreadsheet": "the spreadsheet's id or URL (https://docs.google.com/spreadsheets/d/ID/edit)",
    "sheet": "the tab that holds the OKRs (flat and hierarchical layouts)",
    "auth": "{bearer: {$env: GOOGLE_TOKEN}} or {service_account: {$file: key.json}}",
    "hide_ids": "hide the id columns okrsync adds (default false)",
})
_ID = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)|^([A-Za-z0-9_-]{20,})$")
_CELL = re.compile(r"([A-Z]+)(\d+)$")


class GoogleSheetsConnector(SpreadsheetConnector):
    name = "google-sheets"
    option_help = OPTIONS
    required_options = ("spreadsheet", "auth")
    description = "Google Sheets (API v4): flat, hierarchical or linked (one tab per entity), as for CSV/XLSX"
    capabilities = dataclasses.replace(
        SpreadsheetConnector.capabilities,
        rate_limit="60 requests/min per user per project, 300/min per project (reads and writes counted "
                   "apart; developers.google.com/workspace/sheets/api/limits)")
    tabbed = True
    max_cell = MAX_CELL
    parent_ids_on_rows = True  # shared sheets get sorted: hierarchical KR rows name their objective
    absent = "is empty; a push fills it"
    vanished = ("is empty since the last run; restore it (File → Version history), or remove the endpoint "
                "from the config")

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)  # the spreadsheet connector checked the keys, not the required ones
        if self.layout != "linked" and not self.sheet and options.get("sheets") is None:
            raise ConfigError(f"{where}: name the tab that holds the OKRs, e.g. 'sheet: OKRs' (or 'sheets: all')")
        self.api = new_api(endpoint, options, where, url=options.get("url", "https://sheets.googleapis.com"),
                           auth=_auth(options["auth"], endpoint), rate=float(options.get("rate", 1.0)))
        self.base = f"/v4/spreadsheets/{self.spreadsheet}"
        self.grids: dict[str, _Grid] | None = None  # tab → cells, as last read or written
        self.hide_ids = bool(options.get("hide_ids", False))
        self.titles: list[str] | None = None  # the tabs, asked once per read when ``sheets:`` needs them

    def _locate(self, options: dict[str, Any]) -> Path:
        found = _ID.search(str(options.get("spreadsheet") or ""))
        if not found:
            raise ConfigError(f"endpoint {self.endpoint}: 'spreadsheet:' needs the spreadsheet's id or URL "
                              "(https://docs.google.com/spreadsheets/d/ID/edit)")
        self.spreadsheet = found.group(1) or found.group(2)
        return Path(f"spreadsheet {self.spreadsheet}")  # stands for the workbook in messages

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        """``Api.call``, with advice on the refusals a spreadsheet's sharing or tabs cause
        (any other refusal already carries Google's own message)."""
        try:
            return self.api.call(method, url, **kwargs)
        except FatalError as e:
            advice = _advice(e, self.spreadsheet)
            if advice is None:
                raise
            what = re.match(r".*? → \d+", str(e).removeprefix(f"{self.endpoint}: "))
            raise FatalError(f"{what.group(0) if what else 'request'}: {advice}", endpoint=self.endpoint) from None

    # ------------------------------------------------------------ cells in

    def doctor(self, kit) -> None:
        """The spreadsheet is readable by the account okrsync uses."""
        answer = kit.call("reachable", {404: "no spreadsheet with this id, or it is not shared with the "
                                             "account okrsync uses (share it with the service account's e-mail)",
                                        403: "share the spreadsheet with the account okrsync uses "
                                             "(the service account's client_email) as an editor"},
                          lambda: self._call("GET", self.base, params={"fields": "spreadsheetId"}))
        if answer is not None:
            kit.add("reachable", "ok", f"spreadsheet {answer.get('spreadsheetId', self.spreadsheet)} is readable")

    def read(self, cursor: str | None) -> Iterator:
        self.titles = None  # tabs may have been added or renamed since the last read
        self.grids = self._fetch()  # fresh every read; the write of this run starts from it
        yield from super().read(cursor)

    def sheet_names(self) -> list[str] | None:
        """The spreadsheet's tabs in order (``spreadsheets.get``, titles only), for ``sheets:``."""
        if self.titles is None:
            answer = self._call("GET", self.base, params={"fields": "sheets.properties.title"})
            self.titles = [s["properties"]["title"] for s in (answer or {}).get("sheets", [])
                           if isinstance(s, dict) and "title" in (s.get("properties") or {})]
        return self.titles

    def _fetch(self) -> dict[str, _Grid]:
        tabs = [sheet for _, _, sheet in self.table_files()]
        answer = self._call("GET", f"{self.base}/values:batchGet", params={
            "ranges": [_quote(t) for t in tabs], "majorDimension": "ROWS",
            # numbers as numbers (not "45%"), dates as the sheet shows them (not serial numbers)
            "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"})
        ranges = (answer or {}).get("valueRanges")
        if not isinstance(ranges, list) or len(ranges) != len(tabs):
            raise RetryableError("values:batchGet answered without a range per tab", endpoint=self.endpoint)
        return {tab: _Grid.of(r) for tab, r in zip(tabs, ranges)}

    def _grid(self, tab: str) -> _Grid:
        if self.grids is None:  # a write without a read before it
            self.grids = self._fetch()
        return self.grids[tab]

    def _rows(self, path: Path, sheet: str | None) -> Iterator[tabular.RawRow]:
        return tabular.iter_grid(self._grid(sheet).values, file=str(path), sheet=sheet)

    def table_exists(self, path: Path, sheet: str | None) -> bool:
        return bool(self._grid(sheet).values)

    def _updated(self) -> str:
        # the values API tells no modification time: the read's own time stands for it
        return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def fingerprint(self) -> str | None:
        grids = self.grids if self.grids is not None else self._fetch()
        if not any(g.values for g in grids.values()):
            return None
        # the options that shape how cells read (not the credentials: a token changes hourly)
        shaping = {k: v for k, v in self.options.items() if k not in ("auth", "rate", "timeout", "attempts")}
        digest = hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode())
        digest.update(repr(self.mapping).encode())
        for tab in sorted(grids):
            digest.update(json.dumps([tab, _canonical(grids[tab].values)], default=str).encode())
        return digest.hexdigest()

    # ------------------------------------------------------------ cells out

    def write(self, batch):
        try:
            return super().write(batch)  # its cursor is the digest of the cells just written
        finally:
            # Cells are kept only from a read to the write after it (seconds, in one run; the
            # values API has no conditional write to catch an edit made in between); any
            # later write reads afresh.
            self.grids = None

    def save_tables(self, tables: list) -> None:
        """Send the rows that differ from the cells read: see the module docstring."""
        data, appends = [], []
        for sheet, rows in tables:
            grid = self._grid(sheet.sheet)
            new = tabular.to_grid(rows)
            update, added = grid.changes(new, sheet.sheet)
            data += update
            if added:
                appends.append((sheet.sheet, added))
        if data:
            self._call("POST", f"{self.base}/values:batchUpdate", json={"valueInputOption": "RAW", "data": data})
        for tab, (start, rows) in appends:
            # an append is not replay-safe (a lost answer + a retry = the rows twice): only
            # "not done" answers are retried; otherwise the next run reads what landed
            self._call("POST", f"{self.base}/values/{quote(_a1(tab, 1, 1, start - 1 or 1, len(rows[0])), safe='')}:append",
                          params={"valueInputOption": "RAW", "insertDataOption": "OVERWRITE"},
                          json={"majorDimension": "ROWS", "values": rows}, replay_safe=False)
        for sheet, rows in tables:
            self.grids[sheet.sheet] = self._grid(sheet.sheet).after(tabular.to_grid(rows))
        if self.hide_ids:
            self._hide_ids({s.sheet: _id_columns(self, s, rows) for s, rows in tables if s.old.table is None})

    def _hide_ids(self, columns: dict[str, list[int]]) -> None:
        """Hide the id columns okrsync just added (tabs it filled): two requests, once per tab's
        life — the numeric sheet ids (``spreadsheets.get``), then one ``spreadsheets.batchUpdate``."""
        columns = {tab: found for tab, found in columns.items() if found}
        if not columns:
            return
        answer = self._call("GET", self.base, params={"fields": "sheets.properties(sheetId,title)"})
        ids = {s["properties"]["title"]: s["properties"]["sheetId"] for s in (answer or {}).get("sheets", [])}
        requests = [{"updateDimensionProperties": {
            "range": {"sheetId": ids[tab], "dimension": "COLUMNS", "startIndex": block[0], "endIndex": block[-1] + 1},
            "properties": {"hiddenByUser": True}, "fields": "hiddenByUser"}}
            for tab, found in columns.items() if tab in ids for block in _blocks(found)]
        if requests:
            self._call("POST", f"{self.base}:batchUpdate", json={"requests": requests})


@dataclasses.dataclass
class _Grid:
    """A tab's cells as read (trailing blanks dropped, as the API sends them) and its grid size."""

    values: list[list]
    rows: int | None = None  # the tab's grid, from the range the API answers with ("OKRs!A1:Z1000")
    columns: int | None = None

    @classmethod
    def of(cls, value_range: dict[str, Any]) -> _Grid:
        found = _CELL.search(str(value_range.get("range") or "").rsplit(":", 1)[-1])
        rows, columns = tabular.cell_ref(found.group(0)) if found else (None, None)
        return cls([list(r) for r in value_range.get("values") or []], rows, columns)

    def changes(self, new: list[list], tab: str) -> tuple[list[dict], tuple[int, list[list]] | None]:
        """(ValueRanges for ``values:batchUpdate``, (first row, rows) for an append or None).

        Rows that differ, in blocks of neighbours. Rows added past the old cells go into
        the batchUpdate too when they fit the grid (one request for every tab), else all
        of them into an append, which grows the grid."""
        old = self.values
        changed = [i for i in range(max(len(old), len(new))) if not _same_row(_at(old, i), _at(new, i))]
        added = [i for i in changed if i >= len(old)]
        tail = None
        if added and not all(i < (self.rows or len(old)) and len(new[i]) <= (self.columns or len(new[i])) for i in added):
            tail = (len(old) + 1, [_pad(r, max(map(len, new[len(old):]))) for r in new[len(old):]])
            changed = [i for i in changed if i < len(old)]
        # a table wider than the grid is refused by the API as a whole ("exceeds grid limits")
        width = max([0, *(max(len(_at(old, i)), len(_at(new, i))) for i in changed)])
        data = [{"range": _a1(tab, block[0] + 1, 1, block[-1] + 1, width), "majorDimension": "ROWS",
                 "values": [_pad(_at(new, i), width) for i in block]} for block in _blocks(changed)]
        return data, tail

    def after(self, new: list[list]) -> _Grid:
        """The grid once ``new`` is written: as the API would send it back."""
        values = [list(r) for r in new]
        for r in values:
            while r and r[-1] in ("", None):
                r.pop()
        while values and not values[-1]:
            values.pop()
        rows = max(self.rows or 0, len(values)) or None
        columns = max([self.columns or 0, *map(len, values)]) or None
        return _Grid(values, rows, columns)


def _id_columns(conn, sheet, rows: list[list]) -> list[int]:
    """Indexes of the columns holding records' own ids in a table's header row."""
    table = Table(conn.mapping, rows[0], conn.layout, sheet.part, where=sheet.sheet)
    return sorted({c.index for b in table.bindings() for c in b.columns if c.field == "id"})


def _advice(error: FatalError, spreadsheet: str) -> str | None:
    """What a refused request means and what to do, with Google's own message; None where
    there is nothing to add (or no answer: the token request)."""
    body = getattr(error, "body", None)
    said = str(body["error"].get("message") or "") if isinstance(body, dict) and isinstance(body.get("error"), dict) else ""
    status = getattr(error, "status", None)
    if status == 401:
        return ("the token was refused (a bearer token lives one hour; for scheduled runs use "
                "auth: {service_account: {$file: key.json}})")
    if status == 403:
        return (f"no access to spreadsheet {spreadsheet}: share it (as an editor) with the service account's "
                "e-mail or the token's user, and enable the Google Sheets API in the Cloud project"
                + (f" — Google said: {said[:200]}" if said else ""))
    if status == 404:
        return f"no spreadsheet {spreadsheet}: check the id in its URL (…/spreadsheets/d/ID/edit)"
    if status == 400 and "exceeds grid limits" in said:
        return (f"{said[:200]} — the table is wider than the tab: add columns to it (right-click a column → "
                "Insert 1 right) and run again; nothing was written")
    if status == 400 and "parse range" in said:
        return f"{said[:200]} — does the tab exist? Tab names are matched exactly ('sheet:' / 'tables:')"
    return None


def _at(rows: list[list], i: int) -> list:
    return rows[i] if i < len(rows) else []


def _pad(row: list, width: int) -> list:
    return [*row, *[""] * (width - len(row))]


def _same_row(a: list, b: list) -> bool:
    width = max(len(a), len(b))
    return all(_same(x, y) for x, y in zip(_pad(a, width), _pad(b, width)))


def _same(a: Any, b: Any) -> bool:
    """Cells hold the same value: blank is blank, 5 is 5.0, text is text."""
    a, b = ("" if a is None else a), ("" if b is None else b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def _canonical(values: list[list]) -> list[list]:
    """Cells as compared in a digest: 5.0 and 5 alike (the API answers doubles)."""
    return [[int(c) if isinstance(c, float) and c.is_integer() else c for c in r] for r in values]


def _blocks(indexes: list[int]) -> Iterator[list[int]]:
    block: list[int] = []
    for i in indexes:
        if block and i != block[-1] + 1:
            yield block
            block = []
        block.append(i)
    if block:
        yield block


def _quote(tab: str) -> str:
    """A tab name as A1 notation wants it: quoted, quotes doubled (always safe, never wrong)."""
    return "'" + tab.replace("'", "''") + "'"


def _a1(tab: str, row1: int, col1: int, row2: int, col2: int) -> str:
    return f"{_quote(tab)}!{tabular.column_letter(col1)}{row1}:{tabular.column_letter(max(col1, col2))}{row2}"


# ------------------------------------------------------------ credentials

def _auth(auth: Any, endpoint: str) -> httpx.Auth:
    where = f"endpoint {endpoint}"
    if isinstance(auth, dict) and auth.get("bearer"):
        return http.BearerAuth(str(auth["bearer"]))
    if isinstance(auth, dict) and auth.get("service_account"):
        return _ServiceAccount(auth["service_account"], endpoint)
    raise ConfigError(f"{where}: auth: give {{bearer: …}} (an OAuth access token with the spreadsheets scope) or "
                      "{service_account: {$file: key.json}} (a service-account key; share the sheet with its e-mail)")


class _ServiceAccount(httpx.Auth):
    """A service account's bearer token from google-auth: a JWT signed with the key is
    exchanged at the key's ``token_uri`` (over httpx), and again before it expires."""

    def __init__(self, key: Any, endpoint: str):
        self.endpoint, where = endpoint, f"endpoint {endpoint}: auth.service_account"
        try:
            from google.auth.exceptions import GoogleAuthError
            from google.oauth2 import service_account
        except ImportError:
            raise ConfigError(f"{where}: service accounts need the google-auth library: "
                              "pip install 'okrsync[google]'") from None
        try:
            info = json.loads(key) if isinstance(key, str) else dict(key)
            self.credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
            http.check_url(info["token_uri"], f"{where}: token_uri")
        except (ValueError, KeyError, TypeError, GoogleAuthError) as e:  # never quote the key itself
            raise ConfigError(f"{where}: not a usable service-account key JSON ({type(e).__name__}"
                              f"{': missing ' + str(e) if isinstance(e, KeyError) else ''}); download a new "
                              "key in the Google Cloud console (IAM → Service accounts → Keys)") from None

    def auth_flow(self, request):
        if not self.credentials.valid:
            self._refresh()
        request.headers["Authorization"] = f"Bearer {self.credentials.token}"
        response = yield request
        if response.status_code == 401:  # revoked or expired early: one fresh token, one retry
            self._refresh()
            request.headers["Authorization"] = f"Bearer {self.credentials.token}"
            yield request

    def _refresh(self) -> None:
        from google.auth import exceptions

        try:
            with httpx.Client(timeout=30.0, headers={"User-Agent": http.USER_AGENT}) as client:
                self.credentials.refresh(_TokenRequest(client))
        except exceptions.TransportError as e:
            raise RetryableError(f"the service account's token request failed ({e})", endpoint=self.endpoint) from None
        except exceptions.RefreshError as e:
            raise FatalError(f"auth.service_account: Google refused the token request ({_first(e)}); check the "
                             "key is current (not deleted in IAM) and the Sheets API is enabled for its project",
                             endpoint=self.endpoint) from None

    def __repr__(self) -> str:  # never the key or the token
        return "_ServiceAccount(***)"


def _first(error: Exception) -> str:
    return str(error.args[0] if error.args else error)[:200]


class _TokenRequest:
    """google-auth's transport interface over httpx (so no second HTTP library is needed)."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        from google.auth import exceptions
        from google.auth.transport import Response

        http.check_url(url, "service account token_uri")
        try:
            answer = self.client.request(method, url, content=body, headers=headers, timeout=timeout or 30.0)
        except httpx.HTTPError as e:
            raise exceptions.TransportError(type(e).__name__) from None

        class _Answer(Response):
            status, headers, data = answer.status_code, dict(answer.headers), answer.content

        return _Answer()
