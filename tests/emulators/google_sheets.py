"""A Google Sheets API v4 emulator: the values methods okrsync uses, over real HTTP.

State: spreadsheets → tabs → a grid (row and column counts, 1000 × 26 for a new tab as
in the Sheets UI) of cells. Faithful to the discovery document
(tests/specs/google-sheets-v4.discovery.json) and the values guide where it matters:

- ``values:batchGet``: a ``ValueRange`` per requested range, whose ``range`` is the whole
  range asked for (a whole tab: ``OKRs!A1:Z1000``) while ``values`` leave out trailing
  empty rows and cells; ``UNFORMATTED_VALUE`` answers numbers as numbers,
  ``FORMATTED_VALUE`` (the default) as text, ``FORMULA`` formulas as their text.
- ``values:batchUpdate``: all or nothing; ``RAW`` stores text as given, ``USER_ENTERED``
  parses it as the UI does (``=…`` becomes a formula — counted in ``formulas_made`` — a
  leading ``'`` forces text, numbers become numbers); ``null`` cells are skipped and ``""``
  clears; a range past the grid is refused with the message users report
  ("exceeds grid limits" — not in the docs).
- ``values/{range}:append``: writes after the last row holding a value (the emulator's
  simple reading of "find a table"), growing the grid; ``OVERWRITE`` and ``INSERT_ROWS``.
- errors in Google's shape ``{"error": {"code", "message", "status"}}``; 429 without
  ``Retry-After`` (Google documents exponential back-off, not a header).

``GoogleTokens`` is the OAuth token endpoint a service account's JWT is exchanged at.
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from .server import Emulator, HttpError, route

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}
SID = r"/v4/spreadsheets/(?P<sid>[A-Za-z0-9_-]+)"


@dataclass(frozen=True)
class Formula:
    text: str


@dataclass
class Tab:
    rows: list[list[Any]] = field(default_factory=list)  # cells; None = empty
    row_count: int = 1000
    column_count: int = 26
    sheet_id: int = 0
    hidden_columns: set[int] = field(default_factory=set)  # 0-based

    def cell(self, r: int, c: int) -> Any:
        return self.rows[r][c] if r < len(self.rows) and c < len(self.rows[r]) else None

    def put(self, r: int, c: int, value: Any) -> None:
        while len(self.rows) <= r:
            self.rows.append([])
        row = self.rows[r]
        while len(row) <= c:
            row.append(None)
        row[c] = value

    def last_row(self) -> int:
        """1-based number of the last row holding a value (0: none)."""
        return max((i + 1 for i, row in enumerate(self.rows) if any(v not in (None, "") for v in row)), default=0)


class GoogleSheets(Emulator):
    def __init__(self, tokens: set[str] | None = None) -> None:
        super().__init__()
        self.tokens = tokens if tokens is not None else {"test-token"}
        self.spreadsheets: dict[str, dict[str, Tab]] = {}
        self.formulas_made = 0

    # -- test helpers ------------------------------------------------------------------

    def add_sheet(self, sid: str, tab: str, rows: list[list[Any]] | None = None, *, row_count: int = 1000,
                  column_count: int = 26) -> Tab:
        with self.lock:
            made = Tab([list(r) for r in rows or []], max(row_count, len(rows or [])),
                       max([column_count, *map(len, rows or [])]), sheet_id=len(self.spreadsheets.get(sid, {})) * 1000 + 7)
            self.spreadsheets.setdefault(sid, {})[tab] = made
            return made

    def values(self, sid: str, tab: str) -> list[list[Any]]:
        """The tab's cells as a batchGet (UNFORMATTED_VALUE) would answer them."""
        with self.lock:
            return _trimmed(self.spreadsheets[sid][tab].rows)

    def records(self, sid: str, tab: str) -> list[dict[str, Any]]:
        """Rows below the first as {header: value} (empty cells left out)."""
        header, *rest = self.values(sid, tab)
        return [{h: v for h, v in zip(header, row) if v not in (None, "")} for row in rest]

    def edit(self, sid: str, tab: str, match: dict[str, Any], **changes: Any) -> None:
        """Set cells (by header) of the one row whose cells equal ``match``, as a person would."""
        with self.lock:
            t = self.spreadsheets[sid][tab]
            header = t.rows[0]
            rows = [r for r in t.rows[1:] if all(t_value(r, header, k) == v for k, v in match.items())]
            assert len(rows) == 1, f"{len(rows)} rows match {match}"
            for name, value in changes.items():
                rows[0][header.index(name)] = value

    def delete_rows(self, sid: str, tab: str, match: dict[str, Any]) -> int:
        with self.lock:
            t = self.spreadsheets[sid][tab]
            header = t.rows[0]
            keep = [t.rows[0]] + [r for r in t.rows[1:] if not all(t_value(r, header, k) == v for k, v in match.items())]
            gone = len(t.rows) - len(keep)
            t.rows = keep
            return gone

    def sort(self, sid: str, tab: str, column: str, reverse: bool = False) -> None:
        """Data → Sort range (header row kept): whole rows move, as in the UI."""
        with self.lock:
            t = self.spreadsheets[sid][tab]
            header, body = t.rows[0], [r for r in t.rows[1:]]
            body.sort(key=lambda r: str(t_value(r, header, column) or ""), reverse=reverse)
            t.rows = [header, *body]

    def insert_row(self, sid: str, tab: str, at: int, cells: list[Any]) -> None:
        """Insert 1 row above row ``at`` (1-based) holding ``cells``."""
        with self.lock:
            t = self.spreadsheets[sid][tab]
            t.rows.insert(at - 1, list(cells))
            t.row_count += 1

    # -- dialect -------------------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        value = headers.get("Authorization") or ""
        return value.startswith("Bearer ") and value[7:] in self.tokens

    def error_body(self, status: int, message: str) -> Any:
        if status == 429:
            message = ("Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per "
                       "user' of service 'sheets.googleapis.com' for consumer 'project_number:1'.")
        return {"error": {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}}

    def rate_limit_headers(self, wait: int) -> dict[str, str]:
        return {}  # Sheets documents exponential back-off, no Retry-After

    # -- routes --------------------------------------------------------------------------

    def _tabs(self, sid: str) -> dict[str, Tab]:
        if sid not in self.spreadsheets:
            raise HttpError(404, "Requested entity was not found.")
        return self.spreadsheets[sid]

    def _range(self, sid: str, text: str) -> tuple[str, Tab, int, int, int, int]:
        """(tab name, tab, first row, first column, last row, last column), 1-based."""
        tab_name, cells = _split(text)
        tabs = self._tabs(sid)
        if tab_name is None:
            tab_name = next(iter(tabs))
        if tab_name not in tabs:
            raise HttpError(400, f"Unable to parse range: {text}")
        tab = tabs[tab_name]
        if not cells:
            return tab_name, tab, 1, 1, tab.row_count, tab.column_count
        try:
            first, _, last = cells.partition(":")
            c1, r1 = _cell(first)
            c2, r2 = _cell(last) if last else (c1, r1)
        except ValueError:
            raise HttpError(400, f"Unable to parse range: {text}") from None
        return tab_name, tab, r1 or 1, c1 or 1, r2 or tab.row_count, c2 or tab.column_count

    @route("GET", SID)
    def get(self, req):
        """spreadsheets.get: properties only (the emulator keeps no formats or grid data)."""
        sid = req.params["sid"]
        sheets = [{"properties": {"sheetId": t.sheet_id, "title": name, "index": i, "sheetType": "GRID",
                                  "gridProperties": {"rowCount": t.row_count, "columnCount": t.column_count}}}
                  for i, (name, t) in enumerate(self._tabs(sid).items())]
        return 200, {"spreadsheetId": sid, "properties": {"title": "OKRs"}, "sheets": sheets}

    @route("POST", SID + r":batchUpdate")
    def structural_update(self, req):
        """spreadsheets.batchUpdate: only ``updateDimensionProperties`` (hiding columns); all or nothing."""
        sid, body = req.params["sid"], req.json()
        by_id = {t.sheet_id: t for t in self._tabs(sid).values()}
        changes = []
        for i, request in enumerate(body.get("requests", [])):
            update = request.get("updateDimensionProperties")
            if not update or update.get("range", {}).get("sheetId") not in by_id:
                raise HttpError(400, f"Invalid requests[{i}]: not supported by the emulator, or no such sheet")
            r = update["range"]
            changes.append((by_id[r["sheetId"]], r["dimension"], range(r.get("startIndex", 0), r["endIndex"]),
                            update["properties"].get("hiddenByUser", False)))
        for tab, dimension, indexes, hidden in changes:
            if dimension == "COLUMNS":
                (tab.hidden_columns.update if hidden else tab.hidden_columns.difference_update)(indexes)
        return 200, {"spreadsheetId": sid, "replies": [{} for _ in changes]}

    @route("GET", SID + r"/values:batchGet")
    def batch_get(self, req):
        sid = req.params["sid"]
        render = req.arg("valueRenderOption", "FORMATTED_VALUE")
        out = []
        for text in req.query.get("ranges", []):
            name, tab, r1, c1, r2, c2 = self._range(sid, text)
            rows = [[_render(tab.cell(r, c), render) for c in range(c1 - 1, c2)] for r in range(r1 - 1, min(r2, len(tab.rows)))]
            answer = {"range": _a1(name, r1, c1, r2, c2), "majorDimension": "ROWS"}
            if _trimmed(rows):
                answer["values"] = _trimmed(rows)
            out.append(answer)
        return 200, {"spreadsheetId": sid, "valueRanges": out}

    @route("POST", SID + r"/values:batchUpdate")
    def batch_update(self, req):
        sid, body = req.params["sid"], req.json()
        option = _input_option(body.get("valueInputOption"))
        plans = []
        for vr in body.get("data", []):  # all checked before any is applied: all or nothing
            name, tab, r1, c1, r2, c2 = self._range(sid, vr.get("range", ""))
            values = vr.get("values") or []
            if r2 > tab.row_count or c2 > tab.column_count:
                raise HttpError(400, f"Range ({vr['range']}) exceeds grid limits. Max rows: {tab.row_count}, "
                                     f"max columns: {tab.column_count}")
            if len(values) > r2 - r1 + 1 or any(len(row) > c2 - c1 + 1 for row in values):
                raise HttpError(400, f"Requested writing within range [{vr['range']}], but tried writing outside it")
            plans.append((name, tab, r1, c1, values))
        responses = [self._put(sid, option, *plan) for plan in plans]
        return 200, {"spreadsheetId": sid, "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                     "totalUpdatedColumns": max((r["updatedColumns"] for r in responses), default=0),
                     "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                     "totalUpdatedSheets": len({p[0] for p in plans}), "responses": responses}

    @route("POST", SID + r"/values/(?P<range>[^/]+):append")
    def append(self, req):
        sid, body = req.params["sid"], req.json()
        option = _input_option(req.arg("valueInputOption"))
        name, tab, r1, c1, r2, c2 = self._range(sid, unquote(req.params["range"]))
        values = body.get("values") or []
        last = tab.last_row()
        start = max(last + 1, r1)
        if req.arg("insertDataOption", "OVERWRITE") == "INSERT_ROWS":
            for _ in values:
                tab.rows.insert(start - 1, [])
        inserted = len(values) if req.arg("insertDataOption") == "INSERT_ROWS" else 0
        tab.row_count = max(tab.row_count + inserted, start + len(values) - 1)  # the grid grows to fit
        tab.column_count = max([tab.column_count, *(c1 + len(v) - 1 for v in values)])
        answer = {"spreadsheetId": sid, "updates": self._put(sid, option, name, tab, start, c1, values)}
        if last >= r1:
            answer["tableRange"] = _a1(name, r1, c1, last, max(len(r) for r in tab.rows[r1 - 1:last]) or c1)
        return 200, answer

    def _put(self, sid: str, option: str, name: str, tab: Tab, r1: int, c1: int, values: list[list]) -> dict:
        cells = 0
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                if value is None:
                    continue  # null: skipped, the cell keeps its value
                tab.put(r1 - 1 + i, c1 - 1 + j, self._input(value, option))
                cells += 1
        width = max(map(len, values), default=0)
        return {"spreadsheetId": sid, "updatedRange": _a1(name, r1, c1, r1 + len(values) - 1, c1 + width - 1),
                "updatedRows": len(values), "updatedColumns": width, "updatedCells": cells}

    def _input(self, value: Any, option: str) -> Any:
        if value == "":
            return None
        if option == "RAW" or not isinstance(value, str):
            return value
        if value.startswith("'"):
            return value[1:]
        if value.startswith("="):
            self.formulas_made += 1
            return Formula(value)
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number


class GoogleTokens(Emulator):
    """The OAuth 2.0 token endpoint (``token_uri`` of a service-account key): takes a signed
    JWT (grant ``urn:ietf:params:oauth:grant-type:jwt-bearer``), answers an access token the
    ``GoogleSheets`` emulator sharing ``tokens`` accepts."""

    def __init__(self, tokens: set[str], public_keys: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.tokens = tokens
        self.public_keys = public_keys or {}  # client e-mail → cryptography public key
        self.issued = 0
        self._serial = itertools.count(1)

    def error_body(self, status: int, message: str) -> Any:
        return {"error": "invalid_grant", "error_description": message}

    @route("POST", r"/token")
    def token(self, req):
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise HttpError(400, "unsupported grant_type", body={"error": "unsupported_grant_type"})
        try:
            head, payload, signature = form["assertion"].split(".")
            claims = json.loads(_unb64(payload))
        except (KeyError, ValueError):
            raise HttpError(400, "Invalid JWT.") from None
        key = self.public_keys.get(claims.get("iss"))
        if key is None or not _verified(key, f"{head}.{payload}".encode(), _unb64(signature)):
            raise HttpError(400, "Invalid JWT Signature.")
        # google-auth signs for Google's token endpoint whatever token_uri says, and Google checks that
        if claims.get("aud") != "https://oauth2.googleapis.com/token" or "spreadsheets" not in claims.get("scope", ""):
            raise HttpError(400, "Invalid JWT: audience or scope")
        token = f"ya29.emulated-{next(self._serial)}"
        self.tokens.add(token)
        self.issued += 1
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}


def _verified(key: Any, data: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def t_value(row: list, header: list, name: str) -> Any:
    i = header.index(name)
    return row[i] if i < len(row) else None


def _input_option(option: str | None) -> str:
    """A write's valueInputOption, which Google requires (no default): RAW or USER_ENTERED."""
    if option not in ("RAW", "USER_ENTERED"):
        raise HttpError(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
    return option


def _render(value: Any, option: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, Formula):
        return value.text if option == "FORMULA" else "#NAME?"
    if option == "UNFORMATTED_VALUE":
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _trimmed(rows: list[list]) -> list[list]:
    out = []
    for row in rows:
        row = ["" if v is None else (v.text if isinstance(v, Formula) else v) for v in row]
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def _split(text: str) -> tuple[str | None, str]:
    """A1 notation: ("tab", "A1:B2"), quotes undone; no "!" names a tab alone, unless it looks like cells."""
    if text.startswith("'"):
        end, i = None, 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    i += 2
                    continue
                end = i
                break
            i += 1
        if end is None:
            raise HttpError(400, f"Unable to parse range: {text}")
        return text[1:end].replace("''", "'"), text[end + 2:] if text[end + 1:end + 2] == "!" else ""
    if "!" in text:
        tab, _, cells = text.rpartition("!")
        return tab, cells
    try:
        first, _, last = text.partition(":")
        _cell(first), last and _cell(last)
        return None, text
    except ValueError:
        return text, ""


def _cell(ref: str) -> tuple[int | None, int | None]:
    letters = ref.rstrip("0123456789")
    digits = ref[len(letters):]
    if not letters.isalpha() and letters or not (letters or digits) or (letters and not letters.isupper()):
        raise ValueError(ref)
    column = 0
    for ch in letters:
        column = column * 26 + ord(ch) - 64
    return column or None, int(digits) if digits else None


def _a1(tab: str, r1: int, c1: int, r2: int, c2: int) -> str:
    name = tab if tab.replace("_", "").isalnum() else "'" + tab.replace("'", "''") + "'"
    return f"{name}!{_letters(c1)}{r1}:{_letters(c2)}{r2}"


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out
