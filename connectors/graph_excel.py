"""Excel workbooks in OneDrive or SharePoint, through Microsoft Graph (v1.0): the XLSX
connector's layouts over a workbook okrsync downloads, and uploads again when it writes.

- a read is ``GET /drives/{drive}/items/{item}`` (its ``eTag`` and edit time) and
  ``GET …/content`` (Graph answers 302 to a pre-authenticated download URL, followed
  without the token): the workbook is kept in a private temporary folder and read by the
  XLSX code path (``spreadsheet``), every layout and mapping included.
- a write makes the new workbook with the XLSX writer and uploads it with
  ``PUT …/content`` and ``If-Match: <eTag read>``. If the workbook changed in OneDrive
  since (412 Precondition Failed: someone saved it meanwhile), nothing is overwritten: the
  write is refused as stale (``Rejected(replan=True)``), and the hub reads the workbook
  again, merges that edit with its own changes and writes once more in the same run.
  Uploads are ``PUT`` of the whole file: replay-safe, so every failure is retried.
- credentials through msal (Microsoft's authentication library): ``auth: {tenant,
  client_id, client_secret}`` for an app (client credentials, application permission
  ``Files.ReadWrite.All`` or ``Sites.Selected``), ``auth: {tenant, client_id,
  refresh_token}`` for a user (delegated ``Files.ReadWrite``), or ``auth: {bearer: …}`` for
  a token obtained elsewhere; secrets from ``$env``/``$file``, never in messages. msal's
  own requests go through httpx (``_MsalHttp``), https only.
- throttling: Graph answers 429 (and 503) with ``Retry-After``, which the one retry policy
  honours; requests are paced at ``rate`` (default 2/s: Graph documents no fixed OneDrive
  rate, only that it throttles).

Large workbooks (``mode: range``, or ``mode: auto`` — the default — above ``max_mb``,
default 100) are never downloaded: the workbook API reads each sheet okrsync uses with
``GET …/workbook/worksheets/{name}/usedRange(valuesOnly=true)`` (the cells, and where they
start) and writes only the rows that differ, with ``PATCH …/worksheets/{name}/range(address=
'A5:Y9')`` and ``{"values": …}``, one request per block of adjacent changed rows (at most
``RANGE_ROWS`` rows each). The other sheets, formatting and formulas of the workbook stay
as they are. The workbook API takes no ``If-Match``: right before the first ``PATCH`` the
item's eTag is read again, and a workbook saved since okrsync's read is refused as stale,
as for an upload (read again, merged, written once more). What is left is the time between
that check and the writes (milliseconds), which Graph gives no way to close. Text that
Excel would run as a formula is neutralised (``'=…``), as in files.

Sources of each fact: docs/connectors/graph-excel.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from okrsync import http, tabular
from okrsync.connector import Rejected, WriteResult
from okrsync.errors import ConfigError, FatalError, RetryableError

from . import remote_tables
from .common import check_options, new_api
from .google_sheets import _at, _blocks, _pad, _same_row
from .remote_tables import advised
from .spreadsheet import SpreadsheetConnector, service_options

GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
SCOPES = {"app": ["https://graph.microsoft.com/.default"], "user": ["Files.ReadWrite"]}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# rows per range PATCH: write large ranges in row blocks (learn.microsoft.com/office/dev/add-ins/excel/
# excel-add-ins-ranges-large); 1,000 is okrsync's choice, under the 5k-20k rows suggested for reads
RANGE_ROWS = 1000
OPTIONS = service_options({
    "auth": "{tenant, client_id, client_secret: {$env: …}} (an app) or {tenant, client_id, refresh_token: {$env: …}} (a user)",
    "drive": "the drive's id (OneDrive or a SharePoint document library)",
    "item": "the workbook's drive item id (or give file:)",
    "file": "the workbook's path in the drive, e.g. /OKRs/2026.xlsx (or give item:)",
    "sheet": "the sheet that holds the OKRs (flat and hierarchical layouts)",
    "login_url": "the Microsoft identity platform's URL, for a national cloud or a test server",
    "max_mb": "workbooks larger than this many MB (default 100) go through the workbook range API (mode: auto)",
    "mode": "auto (default: download up to max_mb, range API above) | file (download and upload whole) | range "
            "(the workbook API: usedRange reads, range PATCH writes)",
})
ADVICE = {401: "Graph refused the token: check auth: (tenant, client_id, the secret or refresh token)",
          403: "the app or user may not write this file: grant Files.ReadWrite.All (app) or Files.ReadWrite "
               "(delegated), or share the file with the user",
          404: "no such drive or item: check drive: and item: (or file:), and that the app can see the drive"}


class _Stale(Exception):
    """The workbook changed in OneDrive between our read and our upload (412)."""


class GraphExcelConnector(SpreadsheetConnector):
    name = "graph-excel"
    option_help = OPTIONS
    required_options = ("auth",)
    description = "Excel workbooks in OneDrive / SharePoint (Microsoft Graph): flat, hierarchical or linked, as for XLSX"
    capabilities = dataclasses.replace(
        SpreadsheetConnector.capabilities,
        rate_limit="throttled by Graph (429/503 with Retry-After; no fixed OneDrive rate documented)")
    suffixes = (".xlsx",)
    tabbed = True

    def __init__(self, endpoint, options, context=None):
        where = f"endpoint {endpoint}"
        check_options(options, self.declared_options(), where)
        if not options.get("drive") or not (options.get("item") or options.get("file")):
            raise ConfigError(f"{where}: a graph-excel endpoint needs 'drive:' (the drive id) and 'item:' (the "
                              "workbook's item id) or 'file:' (its path in the drive, e.g. /OKRs/okrs.xlsx)")
        self._tmp = tempfile.TemporaryDirectory(prefix="okrsync-graph-")  # the downloaded workbook, ours only
        self.folder = Path(self._tmp.name)
        super().__init__(endpoint, options, context)
        self.drive = str(options["drive"])
        self.item = (f"/drives/{quote(self.drive, safe='!')}/items/{quote(str(options['item']))}" if options.get("item") else
                     f"/drives/{quote(self.drive, safe='!')}/root:/{quote(str(options['file']).strip('/'))}:")
        self.auth = _auth(options.get("auth"), options, where)
        self.api = new_api(endpoint, options, where, url=options.get("url", GRAPH), auth=self.auth,
                           rate=float(options.get("rate", 2.0)))
        self.max_bytes = float(options.get("max_mb", 100)) * 1024 * 1024
        self.mode = str(options.get("mode", "auto"))
        if self.mode not in ("auto", "file", "range"):
            raise ConfigError(f"{where}: mode: {self.mode!r}: give auto, file or range")
        self.grids: dict[str | None, _Grid] | None = None  # range API: each sheet as read (None: downloaded)
        self.etag: str | None = None
        self.modified: str | None = None
        self.saved_by: str | None = None  # the person who last saved the workbook, when Graph names one (_actor)
        self.label: str | None = None  # the workbook's name in OneDrive, once read

    def close(self) -> None:
        """Graph's client, msal's sign-in client, and the downloaded workbook's folder."""
        super().close()
        if isinstance(self.auth, _Msal):
            self.auth.http.close()
        self._tmp.cleanup()

    @classmethod
    def sandbox_options(cls, sandbox, options):
        """``sandbox: {item: <id>}`` or ``{file: /path/in/the/drive.xlsx}`` (and ``drive:``,
        ``sheet:`` or ``tables:`` where the copy differs): a copy of the endpoint's workbook."""
        return remote_tables.sandbox_options(sandbox, options, ("item", "file"), also=("drive", "sheet", "tables"),
                                             either=True)

    def probe(self, sandbox, kit):
        """Writes a decimal and a decreasing KR with due dates under a long non-ASCII
        objective (an upload against the eTag read, or range writes), checks that numbers
        come back as numbers, reads the records back and deletes them."""
        return remote_tables.probe(self, kit, remote_tables.numbers_kept, claims={
            "a key result reads back under its objective": remote_tables.PARENT_ROWS})

    def _locate(self, options: dict[str, Any]) -> Path:
        return self.folder / "workbook.xlsx"

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    # ------------------------------------------------------------ the workbook in

    def doctor(self, kit) -> None:
        """The workbook readable by the sign-in."""
        answer = kit.call("reachable", {401: "Graph refused the sign-in or token: check auth: (tenant, "
                                             "client_id, the secret or refresh token)",
                                        403: "grant Files.ReadWrite.All (app) or Files.ReadWrite (user), or "
                                             "share the file",
                                        404: "no such drive or item: check drive: and item: (or file:)"},
                          lambda: self.api.call("GET", self.item, params={"$select": "name,eTag,size"}))
        if answer is not None:
            kit.add("reachable", "ok", f"workbook {answer.get('name', self.item)} is readable "
                    f"({int(answer.get('size') or 0) // 1024} kB)")

    def read(self, cursor: str | None):
        self._download()  # fresh every read; the write of this run uploads against its eTag
        yield from super().read(cursor)

    def _download(self) -> None:
        meta = self._meta()
        if "file" not in meta:
            raise FatalError(f"{meta.get('name', self.item)} is a folder, not a workbook: point item:/file: at the "
                             ".xlsx file", endpoint=self.endpoint)
        large = float(meta.get("size") or 0) > self.max_bytes
        if self.mode == "range" or self.mode == "auto" and large:
            self.grids = {sheet: self._used_range(sheet) for _, _, sheet in self.table_files()}
        elif large:
            raise FatalError(f"{meta.get('name')}: {int(meta['size']) // 2**20} MB, more than max_mb "
                             f"({self.max_bytes / 2**20:g}); use mode: auto or range (the workbook API), or raise "
                             "max_mb", endpoint=self.endpoint)
        else:
            self.grids = None
            self.path.write_bytes(self._content())
        self.etag, self.modified, self.label = meta["eTag"], meta.get("lastModifiedDateTime"), meta.get("name")
        # who saved it last (driveItem lastModifiedBy, an identitySet: learn.microsoft.com/graph/api/
        # resources/driveitem): a person only, not an app (okrsync's own app-only upload)
        saver = meta.get("lastModifiedBy") if isinstance(meta.get("lastModifiedBy"), dict) else {}
        user = saver.get("user") if isinstance(saver.get("user"), dict) else {}
        self.saved_by = user.get("displayName") or user.get("id")

    def _meta(self) -> dict[str, Any]:
        meta = advised(self.api, "GET", self.item, ADVICE,
                       params={"$select": "id,name,eTag,lastModifiedDateTime,lastModifiedBy,size,file"})
        if not isinstance(meta, dict) or not meta.get("eTag"):
            raise RetryableError(f"GET {self.item} answered without the item's eTag", endpoint=self.endpoint)
        return meta

    def _sheet_url(self, sheet: str | None) -> str:
        if not sheet:
            raise ConfigError(f"endpoint {self.endpoint}: the workbook range API needs the sheet's name: give "
                              "sheet: (or tables: for the linked layout)")
        return f"{self.item}/workbook/worksheets/{quote(sheet, safe='')}"

    def _used_range(self, sheet: str | None) -> _Grid:
        """A sheet's cells through the workbook API (``usedRange``: from its first used cell)."""
        url = f"{self._sheet_url(sheet)}/usedRange(valuesOnly=true)"
        answer = advised(self.api, "GET", url, {404: f"the workbook has no sheet {sheet!r}: check sheet: / tables:"})
        values = (answer or {}).get("values")
        if not isinstance(values, list):
            raise RetryableError(f"GET {url} answered without the range's values", endpoint=self.endpoint)
        top, left = int(answer.get("rowIndex") or 0), int(answer.get("columnIndex") or 0)
        return _Grid([list(r) for r in values], top, left)

    def _content(self) -> bytes:
        """The file's bytes: ``…/content`` redirects to a download URL (no token sent there)."""
        for attempt in http.retrying(attempts=self.api.attempts, sleep=self.api.sleep):
            with attempt:
                self.api._before()
                try:
                    answer = http.check(self.api.client.get(f"{self.item}/content", follow_redirects=True),
                                        self.endpoint)
                except httpx.TransportError as e:
                    raise RetryableError(f"GET {self.item}/content: {type(e).__name__} (network)",
                                         endpoint=self.endpoint) from None
                if answer.content[:2] != b"PK":
                    raise RetryableError(f"GET {self.item}/content: not a whole .xlsx file", endpoint=self.endpoint)
                return answer.content
        raise AssertionError("unreachable")

    def _updated(self) -> str:
        return self.modified or super()._updated()

    def _actor(self) -> str | None:
        """The workbook's last saver, as the driveItem read anyway names them (``_download``)."""
        return self.saved_by

    def _rows(self, path: Path, sheet: str | None):
        if self.grids is None:
            return super()._rows(path, sheet)
        grid = self.grids[sheet]  # numbered as in Excel: the rows above the used range are blank
        return tabular.iter_grid([[]] * grid.top + grid.values, file=str(path), sheet=sheet)

    def table_exists(self, path: Path, sheet: str | None) -> bool:
        if self.grids is not None:
            return any(c not in (None, "") for row in self.grids[sheet].values for c in row)
        return path.exists() and not (sheet and sheet not in tabular.list_sheets(path))

    def fingerprint(self) -> str | None:
        """The workbook's cells (range API) or bytes, and what shapes a read (not the credentials)."""
        if self.grids is not None:
            data = json.dumps([[s, g.top, g.left, g.values] for s, g in self.grids.items()], default=str).encode()
        elif self.path.exists():
            data = self.path.read_bytes()
        else:
            data = b""
        if not data or self.grids is not None and not any(self.table_exists(self.path, s) for s in self.grids):
            return None
        shaping = {k: v for k, v in self.options.items() if k not in ("auth", "rate", "timeout", "attempts")}
        digest = hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode())
        digest.update(repr(self.mapping).encode())
        digest.update(data)
        return digest.hexdigest()

    # ------------------------------------------------------------ the workbook out

    def write(self, batch):
        try:
            return super().write(batch)
        except _Stale:
            # every record of the batch is refused as stale (by its id, so the hub keeps no
            # trace of a write that did not happen): the hub reads the workbook again and
            # writes once more
            name = self.label or "the workbook"
            why = (f"{name} was saved in OneDrive/SharePoint after okrsync read it (its eTag changed): nothing "
                   "overwritten; read again and merged")
            records = [*batch.creates, *batch.updates, *batch.deletes]
            return WriteResult(rejected=[Rejected(r.canonical_id or r.external_id, why, replan=True) for r in records])

    def save_tables(self, tables: list) -> None:
        """The new workbook, made by the XLSX writer and uploaded against the eTag read; or,
        through the range API, the rows that differ, after checking the eTag read."""
        if self.grids is not None:
            return self._save_ranges(tables)
        sheets = {(s.sheet or _first_sheet(self.path)): (rows[0], rows[1:]) for s, rows in tables}
        others = [n for n in tabular.list_sheets(self.path) if n not in sheets] if self.path.exists() else []
        if others:
            raise FatalError(f"{self.label}: also has sheet(s) {', '.join(others)} that okrsync would not keep; "
                             "give this endpoint a workbook of its own", endpoint=self.endpoint)
        tabular.write_xlsx(self.path, sheets)
        try:
            item = self.api.call("PUT", f"{self.item}/content", content=self.path.read_bytes(),
                                 headers={"Content-Type": XLSX, **({"If-Match": self.etag} if self.etag else {})})
        except FatalError as e:
            if getattr(e, "status", None) == 412:
                raise _Stale() from None
            raise
        self.etag, self.modified = (item or {}).get("eTag", self.etag), (item or {}).get("lastModifiedDateTime")


    def _save_ranges(self, tables: list) -> None:
        plans = []
        for sheet, rows in tables:
            grid, new = self.grids[sheet.sheet], tabular.to_grid(rows)  # no text becomes a formula
            old = grid.values if self.table_exists(self.path, sheet.sheet) else []
            changed = [i for i in range(max(len(old), len(new))) if not _same_row(_at(old, i), _at(new, i))]
            plans.append((sheet.sheet, grid, old, new, changed))
        if not any(changed for *_, changed in plans):
            return
        if self._meta()["eTag"] != self.etag:  # saved since our read: nothing is written
            raise _Stale()
        for name, grid, old, new, changed in plans:
            for block in (b[n:n + RANGE_ROWS] for b in _blocks(changed) for n in range(0, len(b), RANGE_ROWS)):
                width = max(max(len(_at(old, i)), len(_at(new, i))) for i in block)
                values = [_pad(_at(new, i), width) for i in block]
                first, last = grid.top + block[0] + 1, grid.top + block[-1] + 1
                address = f"{tabular.column_letter(grid.left + 1)}{first}:{tabular.column_letter(grid.left + width)}{last}"
                self.api.call("PATCH", f"{self._sheet_url(name)}/range(address='{address}')", json={"values": values})
            self.grids[name] = _Grid(new, grid.top if old else 0, grid.left if old else 0)
        # our own writes made a new eTag: a second write needs a read first (the hub's replan reads)


@dataclasses.dataclass
class _Grid:
    """A sheet read through the range API: its used cells, and the (0-based) row and
    column of the first."""

    values: list[list]
    top: int
    left: int


def _first_sheet(path: Path) -> str:
    return tabular.list_sheets(path)[0] if path.exists() else "OKRs"


# ------------------------------------------------------------ credentials

def _auth(auth: Any, options: dict[str, Any], where: str) -> httpx.Auth:
    where = f"{where}: auth"
    if isinstance(auth, dict) and auth.get("bearer"):
        return http.BearerAuth(str(auth["bearer"]))
    if not isinstance(auth, dict) or not auth.get("tenant") or not auth.get("client_id") or not (
            auth.get("client_secret") or auth.get("refresh_token")):
        raise ConfigError(f"{where}: give {{tenant, client_id, client_secret: {{$env: …}}}} (an app), {{tenant, "
                          "client_id, refresh_token: {$env: …}} (a user), or {bearer: {$env: …}}")
    login = http.check_url(str(options.get("login_url", LOGIN)), f"{where}: login_url")
    return _Msal(auth, login, where)


class _Msal(httpx.Auth):
    """A Graph token from msal, renewed when msal says it expired; one fresh token and one
    retry after a 401."""

    def __init__(self, auth: dict[str, Any], login: str, where: str):
        try:
            import msal
        except ImportError:
            raise ConfigError(f"{where}: app and user sign-in need msal: pip install 'okrsync[microsoft]'") from None
        authority = f"{LOGIN}/{auth['tenant']}"
        client = self.http = _MsalHttp(login)
        self.where = where
        self.cached: tuple[str, float] | None = None  # a user's token and when to renew it
        if auth.get("client_secret"):
            self.kind = "app"
            self.app = msal.ConfidentialClientApplication(str(auth["client_id"]), client_credential=str(auth["client_secret"]),
                                                          authority=authority, http_client=client,
                                                          instance_discovery=False)
        else:
            self.kind = "user"
            self.app = msal.PublicClientApplication(str(auth["client_id"]), authority=authority, http_client=client,
                                                    instance_discovery=False)
            self.refresh_token = str(auth["refresh_token"])

    def _token(self) -> str:
        if self.kind == "app":  # msal keeps the token until it expires
            answer = self.app.acquire_token_for_client(scopes=SCOPES["app"])
        elif self.cached and self.cached[1] > time.monotonic():
            return self.cached[0]
        else:  # a refresh-token grant leaves no account in msal's cache: kept here instead
            answer = self.app.acquire_token_by_refresh_token(self.refresh_token, scopes=SCOPES["user"])
            if answer and "access_token" in answer:
                self.cached = (answer["access_token"], time.monotonic() + float(answer.get("expires_in", 300)) - 60)
        if not answer or "access_token" not in answer:
            said = (answer or {}).get("error_description") or (answer or {}).get("error") or "no answer"
            raise FatalError(f"{self.where}: Microsoft sign-in refused ({str(said).splitlines()[0][:200]}); check "
                             "tenant, client_id and the secret or refresh token")
        return answer["access_token"]

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self._token()}"
        response = yield request
        if response.status_code == 401:  # revoked early: one fresh token, one retry
            if self.kind == "app":
                self.app.remove_tokens_for_client()
            self.cached = None
            request.headers["Authorization"] = f"Bearer {self._token()}"
            yield request

    def __repr__(self) -> str:  # never a secret or token
        return f"_Msal({self.kind}, ***)"


class _MsalHttp:
    """msal's http_client over httpx: its requests to the Microsoft login go to ``login``
    (the same, unless a test points it at a loopback emulator)."""

    def __init__(self, login: str):
        self.login = login
        self.client = httpx.Client(timeout=30.0, headers={"User-Agent": http.USER_AGENT})

    def _url(self, url: str) -> str:
        return self.login + url[len(LOGIN):] if url.startswith(LOGIN) else url

    def get(self, url, params=None, headers=None, **kwargs):
        return self.client.get(self._url(url), params=params, headers=headers, timeout=kwargs.get("timeout") or 30.0)

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        return self.client.post(self._url(url), params=params, data=data, headers=headers,
                                timeout=kwargs.get("timeout") or 30.0)

    def close(self) -> None:
        self.client.close()
