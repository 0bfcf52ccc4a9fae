"""Notion databases (REST API, ``Notion-Version: 2022-06-28``): the spreadsheet connector's
layouts over Notion databases: ``linked`` (one database per entity, ``tables:``), or one
database for every row (``database:``), ``flat`` (a page per KR, its objective's
properties repeated) or ``hierarchical`` (objective pages and KR pages; a relation of the
database to itself, Notion's sub-items, is a KR page's objective page).

A database's properties are the columns of the mapping (matched by name), its pages the
rows: everything between cells and records is the CSV/XLSX code path (``spreadsheet``
reads, ``sheet_writer`` writes). This module only moves pages:

- a read is ``GET /v1/databases/{id}`` (the properties and their types) and
  ``POST /v1/databases/{id}/query`` pages of 100 (``start_cursor`` / ``has_more`` /
  ``next_cursor``) for each database in ``tables:``. A page's id is its record's id (in the
  id column of the mapping, e.g. "Key result ID"); a relation property to another table's
  database is that table's id column ("Objective ID" on a key result), a relation of a
  database to itself its parent ("Parent objective ID"). Property values become plain
  cells: rich text and titles as their plain text, select/status as the option name,
  multi-select joined by ", ", people as e-mail addresses, dates as their start, numbers,
  checkboxes; rollups and formulas as their computed value (read only). An expired cursor
  starts the listing again, once. In one database, no property holds the page id: rows
  are matched by the mapping's id columns (text properties okrsync fills), and in the
  hierarchical layout pages are listed parent first and a KR page's parent relation wins
  over its objective id cell (as Smartsheet's indent does). A page's ``last_edited_by`` (a
  user id) is who changed its record (``Record.actor``), named from ``GET /v1/users``, listed
  once a run and only when a read makes records (by id when that list is refused).
- a write compares the rows ``sheet_writer`` made with the pages read and sends only what
  differs: ``PATCH /v1/pages/{id}`` with the changed properties, ``POST /v1/pages`` for a new
  record (its page id then replaces the id the hub proposed, also in relations written
  after it), ``PATCH …{archived: true}`` for a deleted one (Notion's trash: restorable), and
  ``PATCH /v1/databases/{id}`` adding a property a value needs (text, or number when every
  value is one). Creates are never re-sent after an unclear failure (a lost answer and a
  retry would create twice): only answers saying nothing was done are retried.
  Text is sent as plain text (no formatting, split in 2,000-character pieces); rollups,
  formulas and other computed properties are never written: a change the hub has for
  one is rejected with the reason, on every run it is pending.
- row locking: Notion has no conditional write. Before a write that changes or archives
  pages, okrsync lists the pages edited since its read (``filter`` on ``last_edited_time``
  ``on_or_after`` the newest edit read: one query, usually one page) and compares them with
  what it read; a page edited meanwhile is not written, its record is refused as stale
  (``Rejected(replan=True)``) and the hub reads again, merges and writes once more. The
  window left is the time between that query and the PATCH (milliseconds).

The cursor is a digest of the cells read or written. Every request goes through
``okrsync.http.Api``, paced at ``rate`` (3/s by default: Notion's average limit); 429s
honour ``Retry-After``. Sources of each fact: docs/connectors/notion.md.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from okrsync import tabular
from okrsync import transforms as tf
from okrsync.connector import Rejected
from okrsync.errors import ConfigError, FatalError, RetryableError

from . import remote_tables
from .common import bearer, new_api, parallel
from .google_sheets import _same
from .remote_tables import Listed, Tables, link_header
from .spreadsheet import SpreadsheetConnector, service_options

VERSION = "2022-06-28"  # the Notion-Version okrsync is written against (databases, not data sources)
RATE = 3.0  # "an average of three requests per second" (developers.notion.com/reference/request-limits)
PAGE_SIZE = 100  # the query's maximum page_size
TEXT_PIECE = 2000  # characters in one rich text object (request limits)
WRITABLE = {"title", "rich_text", "number", "select", "status", "multi_select", "date", "people", "relation",
            "checkbox", "url", "email", "phone_number"}
OPTIONS = service_options({
    "token": "a Notion integration token, e.g. {$env: NOTION_TOKEN}",
    "concurrency": "requests in flight at once (default 1: Notion allows about 3 a second)",
    "database": "flat and hierarchical layouts: the one database holding every row (its id, from its URL)",
})
ADVICE = {401: "Notion refused the token: use the integration's secret (notion.so/my-integrations)",
          404: "no such database or page, or it is not shared with the integration: open it in Notion → ⋯ → "
               "Connections → add the integration"}
_UUID = re.compile(r"([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})", re.I)


@remote_tables.table_service
class NotionConnector(SpreadsheetConnector):
    name = "notion"
    option_help = OPTIONS
    required_options = ("token", "tables")
    description = ("Notion databases: one per entity (linked; a page's id is its record's id), or one for "
                   "every row (flat, hierarchical: a relation to itself is a row's parent)")
    capabilities = dataclasses.replace(
        SpreadsheetConnector.capabilities,
        rate_limit="3 requests/s average per integration (developers.notion.com/reference/request-limits); "
                   "429 with Retry-After",
        unconfirmed=(
            # the 2,000-character limit is sourced; that the pieces read back as one text is not
            "text longer than 2,000 characters, sent as several rich text objects, reads back whole as plain text",
            "archived pages are left out of database queries (okrsync takes a page it no longer lists as deleted)",
        ))
    advice = ADVICE  # what to do, by the status of a refusal

    def __init__(self, endpoint, options, context=None):
        where, layout = remote_tables.layout_of(self, endpoint, options, "database", "id",
                                                "{objective: <id from its URL>, key_result: <id>}")
        super().__init__(endpoint, {**options, "layout": layout}, context)
        named = {**self.tables, **({"database": options["database"]} if layout != "linked" else {})}
        for part, ident in named.items():
            found = _UUID.search(str(ident))
            if not found:
                key = "database" if part == "database" else f"tables.{part}"
                raise ConfigError(f"{where}: {key}: {ident!r} is not a database id; copy it from the "
                                  "database's URL (notion.so/…/<32 hex digits>?v=…)")
            if part == "database":
                self.sheet = "-".join(found.groups()).lower()
            else:
                self.tables[part] = "-".join(found.groups()).lower()
        self.api = new_api(endpoint, options, where, url=options.get("url", "https://api.notion.com"),
                           auth=bearer(options.get("token"), where), rate=float(options.get("rate", RATE)),
                           headers={"Notion-Version": VERSION})
        self.workers = int(options.get("concurrency", 1))
        self.remote = Tables(self._fetch)  # database id → Listed, as last read or written
        self.created: dict[str, str] = {}  # id the hub proposed → page id, in the write under way
        self.rejected: list[Rejected] = []
        self._people: tuple[dict, dict] | None = None  # the workspace's users by id, ids by e-mail (once)
        self._names_refused = False  # GET /v1/users answered 403 (no "read user information"): editors by id

    def doctor(self, kit) -> None:
        """Each database shared with the integration."""
        for part, _, database in self.table_files():
            answer = kit.call("reachable", {401: "Notion refused the token: use the integration's secret "
                                                 "(notion.so/my-integrations)",
                                            404: f"database {database} ({part}) is not shared with the "
                                                 "integration: open it → ⋯ → Connections → add it"},
                              lambda database=database: self.api.call("GET", f"/v1/databases/{database}"))
            if answer is not None:
                kit.add("reachable", "ok", f"{part} database {database} is readable "
                        f"({len(answer.get('properties') or {})} properties)")

    @classmethod
    def sandbox_options(cls, sandbox, options):
        """``sandbox: {tables: {objective: <id>, key_result: <id>}}`` (linked) or ``{database:
        <id>}``: copies of the endpoint's databases (same properties), shared with the integration."""
        return remote_tables.sandbox_options(sandbox, options, ("database", "tables"))

    def probe(self, sandbox, kit):
        """Writes a long non-ASCII description (past 2,000 characters: several rich text
        pieces), a decimal and a decreasing KR with due dates related to their objective,
        reads them back, archives them and checks they are no longer listed."""
        text, archived = self.capabilities.unconfirmed
        rows = remote_tables.probe(self, kit, claims={
            text: ("objective description",),
            "a key result's relation reads back as its objective": remote_tables.PARENT_ROWS})
        return rows + remote_tables.gone_after_delete(kit, archived)

    def _locate(self, options: dict[str, Any]) -> Path:
        return Path("notion")  # stands for the workspace in messages: "notion [<database id>] row 7"

    # ------------------------------------------------------------ pages in

    def _fetch(self) -> dict[str, Listed]:
        ids = [sheet for _, _, sheet in self.table_files()]
        return dict(zip(ids, parallel(self._database, ids, self.workers)))

    def _database(self, ident: str) -> Listed:
        schema = self._call("GET", f"/v1/databases/{ident}")
        properties = (schema or {}).get("properties")
        if not isinstance(properties, dict):
            raise RetryableError(f"GET /v1/databases/{ident} answered without properties", endpoint=self.endpoint)
        linked = self.layout == "linked"
        part = next(p for p, d in self.tables.items() if d == ident) if linked else self.mapping.row_entity
        # hierarchical: a relation of the database to itself (Notion's sub-items) is a row's parent row
        parent = next((n for n, p in properties.items() if _targets(p, ident)), None) \
            if self.layout == "hierarchical" else None
        names = sorted((n for n in properties if n != parent),
                       key=lambda n: (properties[n].get("type") != "title", n))
        header = [self.mapping.write_header(part, "id")] if linked else []
        header += [self._property_header(part, n, properties[n]) for n in names]
        pages = self._pages(ident)
        edited = max((p.get("last_edited_time") or "" for p in pages), default="") or None
        return Listed(properties, [None, *names] if linked else names, [header], updated=edited,
                      parent=parent).fill(pages, self._add_page, self)

    def _add_page(self, db: Listed, page: dict[str, Any]) -> None:
        """A page as a row of ``db`` (its cells in the columns' order, its parent page)."""
        values = page.get("properties", {})
        row = [page["id"] if n is None else _cell(values.get(n)) for n in db.columns]
        parent = next(iter(_cell(values.get(db.parent)).split(", ")), "") or None if db.parent else None
        # last_edited_by: a partial user, {object, id} (developers.notion.com/reference/page; changelog
        # "Created by and last edited by properties in Block, Page and Database objects", 2022-02)
        db.add(page["id"], row, parent, (page.get("last_edited_by") or {}).get("id"))

    def edited_since(self, ident: str, db: Listed) -> set[str]:
        """The pages of a database edited since it was read: listed again (only pages edited on
        or after the newest edit read: Notion keeps edit times to the minute, so cells are
        compared too) and compared with what the read saw, computed properties aside."""
        if not db.updated:
            return set()
        since = {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": db.updated}}
        now = db.again().fill(self._pages(ident, since), self._add_page)
        # a computed value (a rollup over pages this very write archived) is no edit of the page
        typed = [n is None or db.schema[n].get("type") in WRITABLE for n in db.columns]

        def edits(row: list) -> list:
            return [c for c, keep in zip(row, typed) if keep]

        return db.edited(now, edits)

    def _property_header(self, part: str, name: str, schema: dict[str, Any]) -> str:
        """A relation to a database in ``tables:`` is that table's id column (or, to its
        own database, its parent's); any other property keeps its name."""
        if schema.get("type") != "relation":
            return name
        to = next((p for p, d in self.tables.items() if _targets(schema, d)), None)
        return name if to is None else link_header(self, part, to)

    def _pages(self, ident: str, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every page of a database (or those the filter ``where`` keeps), in Notion's order;
        an expired cursor restarts once."""
        def page(cursor):
            body = {"page_size": PAGE_SIZE, **({"start_cursor": cursor} if cursor else {}),
                    **({"filter": where} if where else {})}
            answer = self._call("POST", f"/v1/databases/{ident}/query", json=body) or {}
            return answer.get("results") or [], answer.get("next_cursor") if answer.get("has_more") else None

        return remote_tables.listing(page, lambda e: getattr(e, "status", None) == 400
                                     and "start_cursor" in str(getattr(e, "body", "") or e))

    def table_exists(self, path: Path, sheet: str | None) -> bool:
        return True  # a database always has its properties: its header

    def save_tables(self, tables: list) -> None:
        for sheet, rows in tables:  # parents first: relations to pages created here resolve
            _Writer(self, sheet.sheet, self.remote[sheet.sheet], rows, sheet.part).send()

    def users(self) -> dict[str, str]:
        """E-mail → user id of the workspace's people."""
        return self._workspace_users()[1]

    def editor(self, ident: str) -> str | None:
        """A page's last editor (a user id, all Notion's page gives) as ``Record.actor``: the
        user's name from the workspace's users, else their id ("notion user …"). Asked only
        when a read makes records (an unchanged database makes none), so at most one listing
        of users a run, never a request per page."""
        user = {}
        if not self._names_refused:
            try:
                user = self._workspace_users()[0].get(ident) or {}
            except FatalError as e:  # 403: the integration may not read user information; ids say who
                if getattr(e, "status", None) != 403:
                    raise
                self._names_refused = True
        if self._names_refused:
            remote_tables.say(self, "Notion refused the list of users (403): who changed a page shows as the "
                              "editor's user id; give the integration the \"Read user information\" capability "
                              "to see names")
        return remote_tables.person({"id": ident, "name": user.get("name"),
                                     "email": (user.get("person") or {}).get("email")}, "notion")

    def _workspace_users(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """The workspace's users, people and bots (``GET /v1/users``, paged), listed once: by
        id, and the people's ids by e-mail."""
        if self._people is None:
            by_id, query = {}, {"page_size": PAGE_SIZE}
            while True:
                answer = self._call("GET", "/v1/users", params=query) or {}
                by_id.update((u["id"], u) for u in answer.get("results") or [] if isinstance(u, dict) and u.get("id"))
                if not answer.get("has_more"):
                    break
                query = {"page_size": PAGE_SIZE, "start_cursor": answer.get("next_cursor")}
            emails = {u["person"]["email"].lower(): i for i, u in by_id.items() if (u.get("person") or {}).get("email")}
            self._people = (by_id, emails)
        return self._people


class _Writer:
    """The requests that turn one database's pages into ``rows`` (header first)."""

    def __init__(self, conn: NotionConnector, ident: str, db: Listed, rows: list[list], part: str):
        self.conn, self.ident, self.db = conn, ident, db
        self.header, self.rows = [str(h) for h in rows[0]], [list(r) for r in rows[1:]]
        self.names = dict(zip(db.values[0], db.columns))  # grid header → property (None: page id)
        self.linked = conn.layout == "linked"
        self.bound = [] if self.linked else remote_tables.bound(conn, part, self.header)

    def send(self) -> None:
        self._add_properties()
        stored = self.db.stored or self.db.values
        before = {h: i for i, h in enumerate(stored[0])}
        if self.linked:  # a row is its page: the id column holds the page id
            at = {pid: j for j, pid in enumerate(self.db.ids)}
            matched = {i: at[str(row[0])] for i, row in enumerate(self.rows) if row and str(row[0]) in at}
        else:  # a row is the page that held the same record (by the mapping's id columns)
            matched = remote_tables.match(self.bound, self.db.values[1:], self.rows)
        parents = remote_tables.row_parents(self.rows, self.bound) if self.db.parent else {}
        planned = {i: self.db.ids[j] for i, j in matched.items()}  # a page made here: not yet known
        writes = {i for i, j in matched.items()
                  if self._changed(self.rows[i], stored[1 + j], before) or self._moved(i, j, parents, planned)}
        kept = set(matched.values())
        gone = [j for j in range(len(self.db.ids)) if j not in kept]
        # a page edited in Notion since the read is not overwritten: its record is refused as
        # stale, and the hub reads it again, merges and writes once more
        edited = self.conn.edited_since(self.ident, self.db) if writes or gone else set()
        page_of: dict[int, str] = {}  # row index → its page (read, or created here)
        later = []
        # a relation to a page of this database created in this write (a parent objective
        # listed after its child) is set once every page here exists
        own = {h for h, n in self.names.items() if n and _targets(self.db.schema[n], self.ident)}
        for i, row in enumerate(self.rows):
            ident = self._key(row)
            if i in matched:
                pid = page_of[i] = self.db.ids[matched[i]]
                if i not in writes:
                    continue
                if pid in edited:
                    self._stale(ident, pid)
                    continue
                was = stored[1 + matched[i]]
                changed = {h: v for h, v in zip(self.header, row) if not _same(v, was[before[h]] if h in before
                                                                                 and before[h] < len(was) else "")}
                properties = self._written(changed, ident)
                if properties is not None and self._moved(i, matched[i], parents, page_of):
                    properties[self.db.parent] = {"relation": [{"id": page_of[parents[i]]}]}
                if properties:
                    self.conn._call("PATCH", f"/v1/pages/{pid}", json={"properties": properties})
            elif ident or not self.linked:
                cells = dict(zip(self.header, row))
                deferred = {h: cells.pop(h) for h in own if cells.get(h) not in (None, "")}
                properties = self._written(cells, ident, new=True)
                if properties is None:
                    continue
                if parents.get(i) is not None and parents[i] in page_of:
                    properties[self.db.parent] = {"relation": [{"id": page_of[parents[i]]}]}
                if deferred:
                    later.append((ident, deferred))
                page = self.conn._call("POST", "/v1/pages", replay_safe=False,
                                       json={"parent": {"database_id": self.ident}, "properties": properties})
                if not isinstance(page, dict) or not page.get("id"):
                    raise RetryableError("POST /v1/pages answered without the new page's id", endpoint=self.conn.endpoint)
                page_of[i] = page["id"]
                if self.linked:
                    self.conn.created[ident] = page["id"]
        for ident, cells in later:
            if ident in self.conn.created:
                properties = self._written(cells, ident)
                if properties:
                    self.conn._call("PATCH", f"/v1/pages/{self.conn.created[ident]}", json={"properties": properties})
        for j in gone:
            pid = self.db.ids[j]
            if pid in edited:
                self._stale(self._key(self.db.values[1 + j]), pid)
            else:
                self.conn._call("PATCH", f"/v1/pages/{pid}", json={"archived": True})

    def _key(self, row: list) -> str:
        """The record a row is refused as: its page id (linked), else its deepest record's id."""
        if self.linked:
            return str(row[0]) if row else ""
        return remote_tables.row_key(self.bound, row)

    def _changed(self, row: list, was: list, before: dict[str, int]) -> bool:
        return any(not _same(v, was[before[h]] if h in before and before[h] < len(was) else "")
                   for h, v in zip(self.header, row) if self.names.get(h) is not None)

    def _moved(self, i: int, j: int, parents: dict[int, int | None], page_of: dict[int, str]) -> bool:
        """A KR row (read as page ``j``) whose objective row is another page than its parent
        relation names (``page_of``: row → page, where known; a page still to be made differs)."""
        return parents.get(i) is not None and page_of.get(parents[i]) != self.db.parents[j]

    def _stale(self, ident: str, page: str) -> None:
        self.conn.rejected.append(Rejected(ident or page, f"page {page} was edited in Notion after okrsync read it: "
                                           "not overwritten; read again and merged", replan=True))

    def _add_properties(self) -> None:
        """Properties for the columns the writer added (a value no property held)."""
        missing = [h for h in self.header[1:] if h not in self.names]
        if not missing:
            return
        at = {h: i for i, h in enumerate(self.header)}
        schema = {}
        for name in missing:
            values = [r[at[name]] for r in self.rows if at[name] < len(r) and r[at[name]] not in (None, "")]
            numeric = values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            schema[name] = {"number": {}} if numeric else {"rich_text": {}}
        answer = self.conn._call("PATCH", f"/v1/databases/{self.ident}", json={"properties": schema})
        properties = (answer or {}).get("properties") or {}
        for name in missing:
            if name not in properties:
                raise RetryableError(f"PATCH /v1/databases/{self.ident} did not add property {name!r}",
                                     endpoint=self.conn.endpoint)
            self.db.schema[name] = properties[name]
            self.names[name] = name

    def _written(self, cells: dict[str, Any], ident: str, new: bool = False) -> dict[str, Any] | None:
        return remote_tables.field_values(self.conn, self.names, self.db.schema, cells, ident, new, self._value, WRITABLE,
                                          "property")

    def _value(self, kind: str, value: Any) -> dict[str, Any]:
        value = tabular.unneutralise(value) if isinstance(value, str) else value  # Notion runs no formulas
        blank = value in (None, "")
        text = "" if blank else str(value)
        if kind in ("title", "rich_text"):
            return {kind: [{"type": "text", "text": {"content": text[i:i + TEXT_PIECE]}}
                           for i in range(0, len(text), TEXT_PIECE)]}
        if kind == "number":
            return {"number": None if blank else _number(value)}
        if kind in ("select", "status"):
            return {kind: None if blank else {"name": text.replace(",", " ")}}  # a comma ends an option name
        if kind == "multi_select":
            return {kind: [{"name": n.strip()} for n in text.split(",") if n.strip()]}
        if kind == "date":
            return {"date": None if blank else {"start": text}}
        if kind == "checkbox":
            return {"checkbox": bool(value) and text.lower() not in ("false", "0", "no")}
        if kind == "people":
            users, found = self.conn.users(), []
            for email in [e.strip() for e in text.split(",") if e.strip()]:
                if email.lower() not in users:
                    raise ValueError(f"{email!r} is no person in the Notion workspace (people are written by "
                                     "e-mail); invite them, or map the field to a text property")
                found.append({"object": "user", "id": users[email.lower()]})
            return {"people": found}
        if kind == "relation":
            ids = remote_tables.linked_ids(self.conn, text, _UUID.fullmatch, "is not a Notion page (a relation holds "
                                           "pages of the related database): is the related record in it?")
            return {"relation": [{"id": i} for i in ids]}
        return {kind: None if blank else text}  # url, email, phone_number


def _targets(schema: dict[str, Any], ident: str) -> bool:
    """Whether a property is a relation to database ``ident``."""
    target = (schema.get("relation") or {}).get("database_id", "") if schema.get("type") == "relation" else ""
    return target.replace("-", "") == ident.replace("-", "")


def _cell(prop: dict[str, Any] | None) -> Any:
    """A property value as a plain cell."""
    if not isinstance(prop, dict):
        return ""
    kind = prop.get("type")
    value = prop.get(kind)
    if kind in ("title", "rich_text"):
        return "".join(t.get("plain_text") or (t.get("text") or {}).get("content", "") for t in value or [])
    if kind in ("select", "status"):
        return (value or {}).get("name", "")
    if kind == "multi_select":
        return ", ".join(o.get("name", "") for o in value or [])
    if kind == "date":
        return (value or {}).get("start", "")
    if kind == "people":
        return ", ".join((p.get("person") or {}).get("email") or p.get("name") or p.get("id", "") for p in value or [])
    if kind == "relation":
        return ", ".join(r.get("id", "") for r in value or [])
    if kind in ("rollup", "formula"):
        inner = value or {}
        shown = inner.get(inner.get("type"))
        if isinstance(shown, list):  # a rollup of values: each as a cell, joined
            return ", ".join(str(_cell(v)) for v in shown)
        return (shown or {}).get("start", "") if inner.get("type") == "date" else ("" if shown is None else shown)
    if kind == "unique_id":
        return f"{(value or {}).get('prefix') or ''}{'-' if (value or {}).get('prefix') else ''}{(value or {}).get('number', '')}"
    if kind in ("created_by", "last_edited_by"):
        return (value or {}).get("person", {}).get("email") or (value or {}).get("name", "")
    if kind == "files":
        return ", ".join(f.get("name", "") for f in value or [])
    return "" if value is None else value  # number, checkbox, url, email, phone_number, times


def _number(value: Any) -> float:
    try:
        return tf.parse_number(value)
    except tf.TransformError:
        raise ValueError(f"{value!r} is not a number, and the property is a number property") from None
