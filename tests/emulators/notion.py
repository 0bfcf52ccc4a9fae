"""A Notion API emulator (``Notion-Version: 2022-06-28``): the database, page and user
methods okrsync uses, over real HTTP.

Notion publishes no OpenAPI description; request shapes follow the official SDK
(makenotion/notion-sdk-js ``src/api-endpoints.ts`` of the 2022-06-28 era): every body key
a method does not take is refused (``validation_error``), as are unknown properties and
values whose shape does not fit the property's type:

- ``GET /v1/databases/{id}``: ``properties`` {name: {id, name, type, <type>: {…}}};
  ``PATCH`` adds properties (``{"properties": {name: {"rich_text": {}}}}``);
- ``POST /v1/databases/{id}/query``: ``page_size`` ≤ 100, ``start_cursor`` from the last
  answer's ``next_cursor`` (``has_more``), ``filter`` by ``last_edited_time``
  ``on_or_after`` (the timestamp filter); archived pages are left out; page faults
  (repeat, skip, expire: 400 ``validation_error`` naming ``start_cursor``);
- ``POST /v1/pages`` (``parent.database_id``, ``properties``), ``PATCH /v1/pages/{id}``
  (``properties``, ``archived``); rollups, formulas and other computed properties are
  refused on write; rollups are computed on read (``count`` or ``sum`` of a relation's
  related property);
- ``GET /v1/users`` (paged; 403 ``restricted_resource`` with ``users_refused``), people and the integration's own bot user; a page's
  ``last_edited_by`` is a partial user ``{"object": "user", "id"}`` (the person who edited
  it with ``edit(…, by=…)``, else the bot: okrsync's writes);
- no ``Notion-Version`` header: 400 ``missing_version``; errors are
  ``{"object": "error", "status", "code", "message"}``; 429 is ``rate_limited`` with
  ``Retry-After``.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import uuid
from typing import Any

from .server import Emulator, HttpError, PageExpired, route

ID = r"(?P<id>[0-9a-f-]{32,36})"
CODES = {400: "validation_error", 401: "unauthorized", 404: "object_not_found", 409: "conflict_error",
         429: "rate_limited", 500: "internal_server_error", 502: "bad_gateway", 503: "service_unavailable"}
BODY = {  # bodyParams per method (notion-sdk-js src/api-endpoints.ts)
    "query": {"sorts", "filter", "start_cursor", "page_size", "archived", "filter_properties"},
    "create_page": {"parent", "properties", "icon", "cover", "content", "children"},
    "update_page": {"properties", "icon", "cover", "archived", "in_trash"},
    "update_database": {"title", "description", "icon", "cover", "properties", "is_inline", "archived"},
}
COMPUTED = {"rollup", "formula", "created_time", "created_by", "last_edited_time", "last_edited_by", "unique_id"}


class Notion(Emulator):
    def __init__(self, token: str = "secret_test") -> None:
        super().__init__()
        self.token = token
        self.databases: dict[str, dict[str, Any]] = {}  # id → {"title", "properties"}
        self.pages: dict[str, dict[str, Any]] = {}  # id → {"parent", "properties", "archived", "last_edited_time"}
        self.order: list[str] = []  # page ids in creation order (a query's order)
        self.bot = str(uuid.uuid4())  # the integration's own user: the last editor of what it writes
        self.users: list[dict[str, Any]] = [{"object": "user", "id": self.bot, "type": "bot", "name": "okrsync",
                                             "bot": {}}]
        self.versions: set[str] = set()  # Notion-Version headers seen
        self._clock = itertools.count()
        # contradicting behaviours (no source says Notion does these; a probe must catch them):
        # keep only the first 2,000 characters of a property's rich text; drop relations written;
        self.truncate_rich_text = False
        self.drop_relations = False
        self.list_archived = False  # queries list archived pages too
        self.users_refused = False  # GET /v1/users: 403 (an integration without "read user information")

    # -- test helpers ------------------------------------------------------------------

    def add_database(self, title: str, properties: dict[str, dict[str, Any]]) -> str:
        """A database with properties {name: {"type": …, …}}; returns its id."""
        ident = str(uuid.uuid4())
        with self.lock:
            self.databases[ident] = {"title": title, "properties": {
                n: {"id": base64.b32encode(n.encode()).decode()[:4].lower(), "name": n, "type": p["type"],
                    p["type"]: {k: v for k, v in p.items() if k != "type"}} for n, p in properties.items()}}
        return ident

    def add_user(self, email: str, name: str | None = None) -> str:
        ident = str(uuid.uuid4())
        self.users.append({"object": "user", "id": ident, "type": "person", "name": name or email.split("@")[0],
                           "person": {"email": email}})
        return ident

    def rows(self, database: str) -> list[dict[str, Any]]:
        """The live pages of a database as {property: plain value} (relations as page ids, people as e-mails)."""
        with self.lock:
            emails = {u["id"]: u["person"]["email"] for u in self.users if u["type"] == "person"}
            return [{"id": p, **{n: [emails.get(i, i) for i in _plain(v)] if v["type"] == "people" else _plain(v)
                                 for n, v in self._values(p).items()}}
                    for p in self.order if self.pages[p]["parent"] == self._key(database) and not self.pages[p]["archived"]]

    def page_where(self, database: str, **match: Any) -> str:
        [found] = [r["id"] for r in self.rows(database) if all(r.get(k) == v for k, v in match.items())]
        return found

    def edit(self, page: str, by: str | None = None, **values: Any) -> None:
        """Set properties of a page, from plain values (as a person editing in Notion: the user
        ``by``, an id from ``add_user``; else nobody named, the bot)."""
        with self.lock:
            self.pages[page]["last_edited_by"] = by or self.bot
            db = self.databases[self.pages[page]["parent"]]
            for name, value in values.items():
                self.pages[page]["properties"][name] = self._from_plain(db["properties"][name], value)
            self.pages[page]["last_edited_time"] = self._now()

    def archive(self, page: str) -> None:
        with self.lock:
            self.pages[page]["archived"] = True
            self.pages[page]["last_edited_by"] = self.bot
            self.pages[page]["last_edited_time"] = self._now()

    # -- vendor dialect ----------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        return (headers.get("Authorization") or "") == f"Bearer {self.token}"

    def error_body(self, status: int, message: str) -> Any:
        return {"object": "error", "status": status, "code": CODES.get(status, "internal_server_error"),
                "message": message}

    def _error(self, status: int, message: str, code: str | None = None) -> HttpError:
        body = {"object": "error", "status": status, "code": code or CODES[status], "message": message}
        return HttpError(status, message, body=body)

    def _check(self, req, method: str) -> dict[str, Any]:
        version = req.headers.get("Notion-Version")
        if not version:
            raise self._error(400, "Notion-Version header failed validation: Notion-Version header should be "
                                   "defined, instead was `undefined`.", "missing_version")
        self.versions.add(version)
        body = req.json() if req.body else {}
        stray = sorted(set(body) - BODY[method])
        if stray:
            raise self._error(400, f"body failed validation: {stray[0]} should be not present.")
        return body

    # -- routes ------------------------------------------------------------------------

    @route("GET", r"/v1/databases/" + ID)
    def get_database(self, req):
        if not req.headers.get("Notion-Version"):
            raise self._error(400, "Notion-Version header should be defined", "missing_version")
        db = self._database(req.params["id"])
        return 200, {"object": "database", "id": req.params["id"], "title": [_text(db["title"])],
                     "properties": db["properties"]}

    @route("PATCH", r"/v1/databases/" + ID)
    def update_database(self, req):
        body = self._check(req, "update_database")
        db = self._database(req.params["id"])
        for name, spec in (body.get("properties") or {}).items():
            [kind] = [k for k in spec if k != "name"] or ["rich_text"]
            db["properties"][name] = {"id": base64.b32encode(name.encode()).decode()[:4].lower(), "name": name,
                                      "type": kind, kind: spec.get(kind) or {}}
        return 200, {"object": "database", "id": req.params["id"], "properties": db["properties"]}

    @route("POST", r"/v1/databases/" + ID + "/query")
    def query(self, req):
        body = self._check(req, "query")
        ident = req.params["id"]
        self._database(ident)
        size = int(body.get("page_size", 100))
        if not 1 <= size <= 100:
            raise self._error(400, "body failed validation: body.page_size should be ≤ `100`.")
        live = [p for p in self.order if self.pages[p]["parent"] == ident
                and (self.list_archived or not self.pages[p]["archived"])]
        if body.get("filter"):  # the timestamp filter only (developers.notion.com/reference/post-database-query-filter)
            since = body["filter"].get("last_edited_time") or {}
            if body["filter"].get("timestamp") != "last_edited_time" or set(since) != {"on_or_after"}:
                raise self._error(400, "body failed validation: this emulator knows the last_edited_time "
                                       "on_or_after timestamp filter only.")
            live = [p for p in live if self.pages[p]["last_edited_time"] >= since["on_or_after"]]
        start = 0
        if body.get("start_cursor"):
            if body["start_cursor"] not in live:
                raise self._error(400, "body failed validation: body.start_cursor should be a valid uuid.")
            start = live.index(body["start_cursor"])
        try:
            start = self.faults.page(start, size)
        except PageExpired:
            raise self._error(400, "The start_cursor provided is invalid or has expired.") from None
        chunk = live[start:start + size]
        more = start + size < len(live)
        return 200, {"object": "list", "results": [self._page(p) for p in chunk], "has_more": more,
                     "next_cursor": live[start + size] if more else None, "type": "page_or_database",
                     "page_or_database": {}}

    @route("POST", r"/v1/pages")
    def create_page(self, req):
        body = self._check(req, "create_page")
        parent = (body.get("parent") or {}).get("database_id")
        if not parent:
            raise self._error(400, "body failed validation: body.parent.database_id should be defined.")
        db = self._database(parent)
        ident = str(uuid.uuid4())
        properties = self._write(db, body.get("properties") or {})
        self.pages[ident] = {"parent": self._key(parent), "properties": properties, "archived": False,
                             "last_edited_time": self._now(), "last_edited_by": self.bot}
        self.order.append(ident)
        return 200, self._page(ident)

    @route("PATCH", r"/v1/pages/" + ID)
    def update_page(self, req):
        body = self._check(req, "update_page")
        page = self.pages.get(req.params["id"])
        if page is None:
            raise self._error(404, f"Could not find page with ID: {req.params['id']}.")
        if page["archived"] and body.get("archived") is not False:
            raise self._error(400, "Can't edit block that is archived. You must unarchive the block before editing.")
        page["properties"].update(self._write(self.databases[page["parent"]], body.get("properties") or {}))
        if "archived" in body:
            page["archived"] = bool(body["archived"])
        page["last_edited_time"], page["last_edited_by"] = self._now(), self.bot
        return 200, self._page(req.params["id"])

    @route("GET", r"/v1/users")
    def list_users(self, req):
        if self.users_refused:
            raise self._error(403, "Insufficient permissions for this endpoint.", "restricted_resource")
        size = int(req.arg("page_size", "100"))
        start = int(req.arg("start_cursor") or 0)
        chunk = self.users[start:start + size]
        more = start + size < len(self.users)
        return 200, {"object": "list", "results": chunk, "has_more": more,
                     "next_cursor": str(start + size) if more else None}

    # -- internals ---------------------------------------------------------------------

    def _key(self, ident: str) -> str:
        return next((k for k in self.databases if k.replace("-", "") == ident.replace("-", "")), ident)

    def _database(self, ident: str) -> dict[str, Any]:
        db = self.databases.get(self._key(ident))
        if db is None:
            raise self._error(404, f"Could not find database with ID: {ident}. Make sure the relevant pages and "
                                   "databases are shared with your integration.")
        return db

    def _now(self) -> str:
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=next(self._clock))
        return base.strftime("%Y-%m-%dT%H:%M:00.000Z")

    def _write(self, db: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in values.items():
            schema = db["properties"].get(name)
            if schema is None:
                raise self._error(400, f"{name} is not a property that exists.")
            kind = schema["type"]
            if kind in COMPUTED:
                raise self._error(400, f"{name} is a {kind} property and cannot be updated.")
            if set(value) - {kind}:
                raise self._error(400, f"body failed validation: body.properties.{name}.{kind} should be defined, "
                                       f"instead was `undefined`.")
            inner = value[kind]
            if kind in ("title", "rich_text"):
                if not isinstance(inner, list) or any(len((t.get("text") or {}).get("content", "")) > 2000 for t in inner):
                    raise self._error(400, f"body failed validation: body.properties.{name}.{kind}[0].text.content."
                                           "length should be ≤ `2000`.")
            elif kind == "number" and inner is not None and not isinstance(inner, (int, float)):
                raise self._error(400, f"body failed validation: body.properties.{name}.number should be a number.")
            elif kind == "select" and inner is not None and "," in str(inner.get("name", "")):
                raise self._error(400, "Select option names cannot contain commas.")
            elif kind == "people":
                known = {u["id"] for u in self.users}
                if any(p.get("id") not in known for p in inner):
                    raise self._error(400, f"body failed validation: {name}: user not found.")
            elif kind == "relation":
                target = self._key(schema["relation"]["database_id"])
                for r in inner:
                    page = self.pages.get(r.get("id"))
                    if page is None or page["parent"] != target:
                        raise self._error(400, f"{name}: relation to a page not in the related database.")
            if kind in ("title", "rich_text") and self.truncate_rich_text:
                inner = [{"type": "text", "text": {"content": "".join(
                    (t.get("text") or {}).get("content", "") for t in inner)[:2000]}}]
            if kind == "relation" and self.drop_relations:
                inner = []
            out[name] = {"type": kind, kind: inner}
        return out

    def _values(self, ident: str) -> dict[str, Any]:
        """A page's properties, computed ones included (rollups: count or sum over a relation)."""
        page = self.pages[ident]
        db = self.databases[page["parent"]]
        values = {}
        for name, schema in db["properties"].items():
            kind = schema["type"]
            if kind == "rollup":
                values[name] = {"type": "rollup", "rollup": self._rollup(ident, schema["rollup"])}
            elif kind == "title" or kind in ("rich_text", "multi_select", "people", "relation"):
                values[name] = page["properties"].get(name, {"type": kind, kind: []})
            else:
                values[name] = page["properties"].get(name, {"type": kind, kind: None})
        return values

    def _rollup(self, ident: str, spec: dict[str, Any]) -> dict[str, Any]:
        """``count`` of, or ``sum`` of a number property over, the pages related to this one."""
        related = [r["id"] for r in (self.pages[ident]["properties"].get(spec["relation_property_name"]) or {})
                   .get("relation", []) if not self.pages[r["id"]]["archived"]]
        if spec.get("function") == "count":
            return {"type": "number", "number": len(related), "function": "count"}
        numbers = [((self.pages[r]["properties"].get(spec["rollup_property_name"]) or {}).get("number") or 0)
                   for r in related]
        return {"type": "number", "number": sum(numbers), "function": "sum"}

    def _page(self, ident: str) -> dict[str, Any]:
        page = self.pages[ident]
        return {"object": "page", "id": ident, "archived": page["archived"], "in_trash": page["archived"],
                "last_edited_time": page["last_edited_time"], "created_time": page["last_edited_time"],
                "last_edited_by": {"object": "user", "id": page["last_edited_by"]},
                "parent": {"type": "database_id", "database_id": page["parent"]},
                "properties": {n: self._out(v) for n, v in self._values(ident).items()}}

    def _out(self, value: dict[str, Any]) -> dict[str, Any]:
        kind = value["type"]
        inner = value[kind]
        if kind in ("title", "rich_text"):
            inner = [{**t, "plain_text": (t.get("text") or {}).get("content", ""), "annotations": {}} for t in inner]
        if kind == "people":
            users = {u["id"]: u for u in self.users}
            inner = [users.get(p["id"], p) for p in inner]
        return {"id": "x", "type": kind, kind: inner}

    def _from_plain(self, schema: dict[str, Any], value: Any) -> dict[str, Any]:
        kind = schema["type"]
        if kind in ("title", "rich_text"):
            return {"type": kind, kind: [{"type": "text", "text": {"content": str(value)}}]}
        if kind in ("select", "status"):
            return {"type": kind, kind: {"name": value} if value else None}
        if kind == "date":
            return {"type": kind, kind: {"start": value} if value else None}
        if kind == "people":
            users = {u["person"]["email"]: u["id"] for u in self.users}
            return {"type": kind, kind: [{"object": "user", "id": users[value]}] if value else []}
        if kind == "relation":
            return {"type": kind, kind: [{"id": value}] if value else []}
        return {"type": kind, kind: value}


def _text(content: str) -> dict[str, Any]:
    return {"type": "text", "text": {"content": content}, "plain_text": content}


def _plain(value: dict[str, Any]) -> Any:
    kind = value["type"]
    inner = value[kind]
    if kind in ("title", "rich_text"):
        return "".join((t.get("text") or {}).get("content", "") for t in inner)
    if kind in ("select", "status"):
        return inner["name"] if inner else None
    if kind == "date":
        return inner["start"] if inner else None
    if kind == "relation":
        return [r["id"] for r in inner]
    if kind == "people":
        return [p["id"] for p in inner]
    if kind == "rollup":
        return inner.get(inner.get("type"))
    return inner
