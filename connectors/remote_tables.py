"""What the connectors that keep OKR tables in a remote service share (Smartsheet sheets,
Notion databases): the tables read once per run, kept for the write of the same run, and
the cursor as a digest of their cells.

``Tables(fetch)``: ``fetch()`` returns {table id → an object with ``values`` (header, then
rows of cells) and ``updated`` (its newest edit time, ISO 8601, or None)}.

- ``read()`` fetches afresh (every read does); ``get()`` / ``tables[id]`` use what was read
  or written last, fetching only when nothing is kept (a write without a read before it);
  ``forget()`` drops it (after a write: a later write reads again);
- ``rows(path, sheet)``: a table's cells as the spreadsheet reader's raw rows;
- ``updated()``: the newest edit time of the tables kept (else the time of the read), for
  every record of the read;
- ``fingerprint(conn)``: the cursor, a digest of the cells (rows sorted, so a sort in the
  service is not a change), the options that shape a read (never the token) and the mapping;
  None when no table has a row.

The connectors' own methods that only hand over to this module are these functions, set
as class attributes (``_rows = remote_tables.rows``): ``call`` (``advised`` with the
class's ``advice``), ``take_counts``, ``read``, ``rows``, ``updated``, ``fingerprint``, and
``write``, which also hands the hub the ids a service gave to records
created (``conn.created``: id the hub proposed → the service's id) and the records it
refused (``conn.rejected``).

``listing(page, expired)``: every item of a paged listing, ``page(token) → (items, next
token or None)``; an item served twice is kept once, and a page token the service calls
expired (``expired(error)``) starts the listing again, once.

``link_header(conn, part, to)``: the column a link from a ``part`` table to the table of
``to`` stands for: ``to``'s id column, or the parent's for a link of a table to itself.

``advised(api, method, url, advice, **kwargs)``: ``api.call``, where a refusal whose status
has an entry in ``advice`` says what to do instead of the bare status.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterator

from okrsync import http, tabular
from okrsync.connector import WriteBatch, WriteResult
from okrsync.errors import FatalError

from .google_sheets import _canonical
from .spreadsheet import SpreadsheetConnector

NOT_SHAPING = ("token", "rate", "timeout", "attempts", "concurrency")


class Tables:
    def __init__(self, fetch: Callable[[], dict[str, Any]]):
        self._fetch = fetch
        self.kept: dict[str, Any] | None = None

    def read(self) -> dict[str, Any]:
        self.kept = self._fetch()
        return self.kept

    def get(self) -> dict[str, Any]:
        return self.kept if self.kept is not None else self.read()

    def __getitem__(self, ident: str) -> Any:
        return self.get()[ident]

    def forget(self) -> None:
        self.kept = None

    def rows(self, path: Path, sheet: str | None) -> Iterator[tabular.RawRow]:
        return tabular.iter_grid(self[sheet].values, file=str(path), sheet=sheet)

    def updated(self) -> str:
        stamps = [t.updated for t in (self.kept or {}).values() if t.updated]
        if stamps:
            return max(stamps)
        # no edit times (Airtable records): the read's own time stands for them, as for Sheets
        return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def fingerprint(self, conn) -> str | None:
        tables = self.get()
        if not any(len(t.values) > 1 for t in tables.values()):
            return None
        shaping = {k: v for k, v in conn.options.items() if k not in NOT_SHAPING}
        digest = hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode())
        digest.update(repr(conn.mapping).encode())
        for ident in sorted(tables):
            header, *rows = _canonical(tables[ident].values) or [[]]
            rows = [_trimmed(r) for r in rows]
            digest.update(json.dumps([ident, _trimmed(header), sorted(json.dumps(r, default=str) for r in rows if r)],
                                     default=str).encode())
        return digest.hexdigest()


def _trimmed(row: list) -> list:
    row = ["" if c is None else c for c in row]
    while row and row[-1] == "":
        row.pop()
    return row


def advised(api: http.Api, method: str, url: str, advice: dict[int, str], **kwargs: Any) -> Any:
    try:
        return api.call(method, url, **kwargs)
    except FatalError as e:
        said = advice.get(getattr(e, "status", None))
        if said is None:
            raise
        raise FatalError(f"{method} {url.split('?')[0]}: {said}", endpoint=api.endpoint) from None


def link_header(conn, part: str, to: str) -> str:
    """"Objective ID" for a key result's link to the objectives table; "Parent objective ID"
    for the objectives table's link to itself (the mapping's first names)."""
    return conn.mapping.write_header(part, "parent_id") if to == part else conn.mapping.write_header(to, "id")


def call(conn, method: str, url: str, **kwargs: Any) -> Any:
    return advised(conn.api, method, url, conn.advice, **kwargs)


def take_counts(conn) -> tuple[int, int]:
    return conn.api.take_counts()


def read(conn, cursor: str | None) -> Iterator:
    conn.remote.read()  # fresh every read; the write of this run starts from it
    yield from SpreadsheetConnector.read(conn, cursor)


def rows(conn, path: Path, sheet: str | None) -> Iterator[tabular.RawRow]:
    return conn.remote.rows(path, sheet)


def updated(conn) -> str:
    return conn.remote.updated()


def fingerprint(conn) -> str | None:
    return conn.remote.fingerprint(conn)


def write(conn, batch: WriteBatch) -> WriteResult:
    conn.created, conn.rejected = {}, []
    try:
        result = SpreadsheetConnector.write(conn, batch)
    finally:
        conn.remote.forget()  # kept only from a read to the write after it: later writes read afresh
    result.external_ids = {c: conn.created.get(ext, ext) for c, ext in result.external_ids.items()}
    result.rejected += conn.rejected
    return result


def listing(page: Callable[[str | None], tuple[list[dict[str, Any]], str | None]],
            expired: Callable[[FatalError], bool]) -> list[dict[str, Any]]:
    for attempt in (1, 2):
        items: list[dict[str, Any]] = []
        seen: set[Any] = set()
        token: str | None = None
        try:
            while True:
                got, token = page(token)
                items += [i for i in got if i.get("id") not in seen]
                seen |= {i.get("id") for i in got}
                if not token:
                    return items
        except FatalError as e:
            if attempt == 2 or not expired(e):
                raise
    raise AssertionError("unreachable")
