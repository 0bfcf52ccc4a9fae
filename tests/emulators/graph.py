"""A Microsoft Graph (v1.0) emulator for Excel workbooks in a drive, and the Microsoft
login endpoints msal uses, over real HTTP.

Graph (OpenAPI: microsoftgraph/msgraph-metadata; the driveItem pages of the v1.0 reference):

- ``GET /v1.0/drives/{drive}/items/{item}`` or ``…/root:/{path}:``: the driveItem (``id``,
  ``name``, ``eTag``, ``cTag``, ``size``, ``file``, ``lastModifiedDateTime``, ``lastModifiedBy``
  once someone saved it: an identitySet, ``user`` for a person, ``application`` for an upload);
- ``GET …/content``: 302 to a pre-authenticated download URL (``/download/{token}``), which
  answers the bytes and must be fetched without the Authorization header;
- ``PUT …/content`` with ``If-Match``: 412 ``resourceModified`` when the eTag is not the
  current one, else the new bytes and a new eTag;
- the workbook API on the same bytes (sessionless: every change is saved, a new eTag):
  ``GET …/workbook/worksheets/{name}/usedRange(valuesOnly=true)`` answers a workbookRange
  (``address`` ``'Sheet'!A1:Y40``, ``rowIndex``, ``columnIndex``, ``rowCount``,
  ``columnCount``, ``values``); ``PATCH …/worksheets/{name}/range(address='A5:Y9')`` with
  ``{"values": [[…]]}`` sets those cells (400 ``InvalidArgument`` when the values' shape is
  not the address's); a text starting with ``=`` would become a formula, as in Excel:
  ``formulas`` counts them (okrsync must send none); unknown worksheet: 404
  ``ItemNotFound``;
- errors ``{"error": {"code", "message"}}``; 429 and 503 with ``Retry-After``.

Fault switches besides the base's: ``save_after_download(fn)`` — someone saves the workbook
(``fn(bytes) → bytes``) right after okrsync's next download or used-range read: its eTag
changes under it.

Login (``/{tenant}/v2.0/.well-known/openid-configuration``, ``POST /{tenant}/oauth2/v2.0/token``):
client credentials (``client_secret``) and ``refresh_token`` grants; tokens it issues are
the ones Graph accepts. ``issued`` counts them.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import openpyxl
from openpyxl.utils import column_index_from_string, get_column_letter

from .server import Emulator, HttpError, route

LOGIN = "https://login.microsoftonline.com"
ITEM = r"/v1.0/drives/(?P<drive>[^/]+)/(?:items/(?P<item>[^/:]+)|root:/(?P<path>[^:]+):)"


class Graph(Emulator):
    def __init__(self, tokens: set[str] | None = None) -> None:
        super().__init__()
        self.tokens = tokens if tokens is not None else {"graph-test-token"}
        self.apps: dict[str, str] = {}  # client_id → secret
        self.refresh_tokens: set[str] = set()
        self.issued = 0
        self.files: dict[tuple[str, str], dict[str, Any]] = {}  # (drive, item id) → {"name", "data", "version"}
        self.downloads: dict[str, tuple[str, str]] = {}
        self.auth_on_download: list[bool] = []  # whether each download request carried a token
        self._after_download: Callable[[bytes], bytes] | None = None
        self.formulas = 0  # cells written through the range API that Excel would run as formulas
        # a contradicting behaviour (the workbookRange reference types values as numbers where
        # cells hold numbers; a probe must catch it): usedRange answers numbers as text
        self.numbers_as_text = False

    # -- test helpers ------------------------------------------------------------------

    def add_file(self, drive: str, item: str, name: str, data: bytes) -> None:
        with self.lock:
            self.files[(drive, item)] = {"name": name, "data": data, "version": 1}

    def data(self, drive: str, item: str) -> bytes:
        return _bytes(self.files[(drive, item)])

    def save(self, drive: str, item: str, data: bytes, by: str | None = None) -> None:
        """A person (``by``, a display name) saves the workbook in Excel: new bytes, new eTag."""
        with self.lock:
            entry = self.files[(drive, item)]
            entry["data"], entry["version"], entry["book"] = data, entry["version"] + 1, None
            entry["by"] = {"user": {"id": f"user-{by}", "displayName": by}} if by else None

    def save_after_download(self, fn: Callable[[bytes], bytes]) -> None:
        self._after_download = fn

    # -- vendor dialect ----------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        return True  # per route: login and download URLs take no token

    def error_body(self, status: int, message: str) -> Any:
        code = {400: "InvalidArgument", 401: "InvalidAuthenticationToken", 404: "itemNotFound", 412: "resourceModified",
                429: "TooManyRequests", 503: "serviceNotAvailable"}.get(status, "generalException")
        return {"error": {"code": code, "message": message}}

    def check_spec(self, req, status: int, body: Any) -> None:
        """As the base's, but an upload's body is a workbook, not JSON: paths and answers are checked."""
        self.spec.request(req.method, req.path, None, {})
        if status < 500 and status != 429:
            self.spec.response(req.method, req.path, status, body)

    def _need_token(self, req) -> None:
        value = req.headers.get("Authorization") or ""
        if not (value.startswith("Bearer ") and value[7:] in self.tokens):
            raise HttpError(401, "Access token is empty or invalid.")

    def _file(self, req) -> tuple[tuple[str, str], dict[str, Any]]:
        drive, item, path = unquote(req.params["drive"]), req.params.get("item"), req.params.get("path")
        if path:
            found = [k for k, f in self.files.items() if k[0] == drive and f["name"] == unquote(path).rsplit("/", 1)[-1]]
            key = found[0] if found else None
        else:
            key = (drive, item) if (drive, item) in self.files else None
        if key is None:
            raise HttpError(404, "The resource could not be found.")
        return key, self.files[key]

    def _item(self, key: tuple[str, str], entry: dict[str, Any]) -> dict[str, Any]:
        return {"id": key[1], "name": entry["name"], "eTag": f'"{{{key[1]}}},{entry["version"]}"',
                "cTag": f'"c:{{{key[1]}}},{entry["version"]}"', "size": len(entry["data"]) if entry["data"] is not None else entry["size"],
                "file": {"mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
                "lastModifiedDateTime": f"2026-01-01T00:{entry['version'] % 60:02d}:00Z",
                **({"lastModifiedBy": entry["by"]} if entry.get("by") else {})}

    # -- Graph -------------------------------------------------------------------------

    @route("GET", ITEM)
    def get_item(self, req):
        self._need_token(req)
        key, entry = self._file(req)
        return 200, self._item(key, entry)

    @route("GET", ITEM + "/content")
    def content(self, req):
        self._need_token(req)
        key, _ = self._file(req)
        token = secrets.token_urlsafe(8)
        self.downloads[token] = key
        # another origin than Graph (localhost, not 127.0.0.1), as a real download URL is
        return 302, None, {"Location": f"{self.url.replace('127.0.0.1', 'localhost')}/download/{token}"}

    @route("PUT", ITEM + "/content")
    def upload(self, req):
        self._need_token(req)
        key, entry = self._file(req)
        wanted = req.headers.get("If-Match")
        if wanted and wanted != self._item(key, entry)["eTag"]:
            raise HttpError(412, "ETag does not match current item's value")
        entry["data"], entry["version"], entry["book"] = req.body, entry["version"] + 1, None
        entry["by"] = {"application": {"id": "app-okrsync", "displayName": "okrsync"}}  # an app-only sign-in's upload
        return 200, self._item(key, entry)

    @route("GET", ITEM + r"/workbook/worksheets/(?P<sheet>[^/]+)/usedRange(?:\(valuesOnly=(?:true|false)\))?")
    def used_range(self, req):
        self._need_token(req)
        key, entry = self._file(req)
        name, ws = self._sheet(entry, req)
        rows = [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]
        top, left = ws.min_row, ws.min_column
        rows = [r[left - 1:] for r in rows] or [[""]]
        width = max(len(r) for r in rows)
        values = [r + [""] * (width - len(r)) for r in rows]
        if self.numbers_as_text:
            values = [[f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in r]
                      for r in values]
        address = f"'{name}'!{get_column_letter(left)}{top}:{get_column_letter(left + width - 1)}{top + len(values) - 1}"
        if self._after_download:
            fn, self._after_download = self._after_download, None
            self.save(*key, fn(_bytes(entry)))
        return 200, {"@odata.type": "#microsoft.graph.workbookRange", "address": address, "addressLocal": address,
                     "rowIndex": top - 1, "columnIndex": left - 1, "rowCount": len(values), "columnCount": width,
                     "values": values}

    @route("PATCH", ITEM + r"/workbook/worksheets/(?P<sheet>[^/]+)/range\(address='(?P<address>[^']+)'\)")
    def update_range(self, req):
        self._need_token(req)
        key, entry = self._file(req)
        found = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", unquote(req.params["address"]))
        values = (req.json() or {}).get("values")
        if not found or not isinstance(values, list):
            raise HttpError(400, "The argument is invalid or missing or has an incorrect format.")
        left, top = column_index_from_string(found[1]), int(found[2])
        right, bottom = column_index_from_string(found[3]), int(found[4])
        if len(values) != bottom - top + 1 or any(len(r) != right - left + 1 for r in values):
            raise HttpError(400, "The number of rows or columns in the input array doesn't match the size or "
                                 "dimensions of the range.")
        name, ws = self._sheet(entry, req)
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                self.formulas += isinstance(value, str) and value.startswith("=")
                ws.cell(top + r, left + c).value = None if value == "" else value
        entry["size"] = len(entry["data"]) if entry["data"] is not None else entry["size"]  # about the same
        entry["data"], entry["version"] = None, entry["version"] + 1  # saved: serialised when next asked for
        return 200, {"@odata.type": "#microsoft.graph.workbookRange", "address": f"'{name}'!{found[0]}",
                     "rowCount": len(values), "columnCount": right - left + 1}

    def _sheet(self, entry: dict[str, Any], req):
        if entry.get("book") is None:  # kept parsed between workbook API calls, as Excel's own session is
            entry["book"] = openpyxl.load_workbook(io.BytesIO(entry["data"]))
        wb, name = entry["book"], unquote(req.params["sheet"])
        if name not in wb.sheetnames:
            raise HttpError(404, f"The requested resource doesn't exist. (worksheet {name!r})")
        return name, wb[name]

    def _respond(self, req):  # the download URL answers bytes, not JSON
        if req.path.startswith("/download/"):
            return self._download(req)
        return super()._respond(req)

    def _download(self, req):
        key = self.downloads.pop(req.path.rsplit("/", 1)[-1], None)
        self.auth_on_download.append(bool(req.headers.get("Authorization")))
        if key is None:
            return 404, self.error_body(404, "expired"), {}
        data = _bytes(self.files[key])
        if self._after_download:
            fn, self._after_download = self._after_download, None
            self.save(*key, fn(data))
        return 200, data, {"Content-Type": "application/octet-stream"}

    # -- login -------------------------------------------------------------------------

    @route("GET", r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration")
    def openid(self, req):
        base = f"{LOGIN}/{req.params['tenant']}"
        return 200, {"token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                     "issuer": f"{LOGIN}/{req.params['tenant']}/v2.0", "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode"}

    @route("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token")
    def token(self, req):
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        grant = form.get("grant_type")
        ok = (grant == "client_credentials" and self.apps.get(form.get("client_id")) == form.get("client_secret")) or \
             (grant == "refresh_token" and form.get("refresh_token") in self.refresh_tokens)
        if not ok:
            raise HttpError(400, "bad credentials", body={"error": "invalid_client" if grant == "client_credentials"
                                                          else "invalid_grant",
                                                          "error_description": "AADSTS7000215: Invalid client secret "
                                                                               "provided."})
        token = "graph-" + secrets.token_urlsafe(12)
        self.tokens.add(token)
        self.issued += 1
        answer = {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
        if grant == "refresh_token":
            answer.update({"refresh_token": form["refresh_token"], "scope": "Files.ReadWrite"})
        return 200, answer


def _bytes(entry: dict[str, Any]) -> bytes:
    """A file's bytes; after workbook API writes, the kept workbook saved."""
    if entry.get("data") is None:
        out = io.BytesIO()
        entry["book"].save(out)
        entry["data"] = out.getvalue()
    return entry["data"]
