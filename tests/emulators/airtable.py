"""An Airtable Web API emulator: the metadata, list, create, update and delete methods
okrsync uses, over real HTTP.

Airtable publishes no OpenAPI description; request shapes follow the official client
(Airtable/airtable.js: ``records`` arrays, ``typecast``, ``records[]`` query for deletes,
``pageSize``/``offset``) and the Web API reference:

- ``GET /v0/meta/bases/{baseId}/tables``: tables with ``id``, ``name``, ``primaryFieldId``,
  ``fields`` [{id, name, type, options}]; ``POST …/tables/{tableId}/fields`` adds a field;
- ``GET /v0/{baseId}/{tableIdOrName}``: ``pageSize`` ≤ 100, ``offset`` from the last answer;
  empty fields left out of each record; page faults (repeat, skip, expire: 422
  ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``);
- ``POST`` / ``PATCH`` ``{records: [...], typecast}``: at most 10 records a request (else 422
  ``INVALID_RECORDS``); without ``typecast`` a select option that does not exist is refused
  (``INVALID_MULTIPLE_CHOICE_OPTIONS``), with it the option is added; computed fields are
  refused (``INVALID_VALUE_FOR_COLUMN``); links must name records of the linked table;
  collaborators by ``email`` or ``id``;
- a ``lastModifiedBy`` field (read only) holds the collaborator {id, email, name} who last
  changed the record: the person of ``edit(…, by=…)``, else the token's user (``writer``);
- ``DELETE ?records[]=…``: at most 10;
- errors ``{"error": {"type", "message"}}``; a 429 carries no ``Retry-After`` (Airtable
  documents a 30 s wait instead) unless the test sets ``retry_after_header``.
"""

from __future__ import annotations

import itertools
import random
import string
from typing import Any

from .server import Emulator, HttpError, PageExpired, route

BASE = r"/v0/(?P<base>app[A-Za-z0-9]{14})"
COMPUTED = {"formula", "rollup", "count", "multipleLookupValues", "autoNumber", "createdTime", "lastModifiedTime",
            "createdBy", "lastModifiedBy"}
TYPES = {429: "RATE_LIMIT_REACHED", 401: "AUTHENTICATION_REQUIRED", 403: "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
         404: "NOT_FOUND", 422: "INVALID_REQUEST_UNKNOWN", 500: "SERVER_ERROR", 502: "BAD_GATEWAY",
         503: "SERVICE_UNAVAILABLE"}


def _empty(value: Any) -> bool:
    """What Airtable leaves out of a record: no value, "", [], an unticked box (not 0)."""
    return value is None or value is False or (isinstance(value, (str, list)) and not value)


def _id(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=14))


class Airtable(Emulator):
    def __init__(self, token: str = "pat_test") -> None:
        super().__init__()
        self.token = token
        self.base = _id("app")
        self.tables: dict[str, dict[str, Any]] = {}  # table id → {"name", "fields": [...], "primaryFieldId"}
        self.records: dict[str, dict[str, Any]] = {}  # table id → {record id: {"fields": {...}, "createdTime"}}
        self.users = {}  # e-mail → collaborator {id, email, name}
        self.writer = {"id": _id("usr"), "email": "okrsync@example.com", "name": "okrsync service"}  # the token's user
        self.retry_after_header = False
        # a contradicting behaviour (no source says Airtable does it; a probe must catch it): a
        # number field keeps a value rounded to its precision option
        self.round_to_precision = False
        self._offsets: dict[str, tuple[str, int]] = {}
        self._n = itertools.count(1)

    # -- test helpers ------------------------------------------------------------------

    def add_table(self, name: str, fields: dict[str, dict[str, Any]]) -> str:
        """A table with fields {name: {"type": …, "options": …}}; the first is the primary field."""
        ident = _id("tbl")
        with self.lock:
            made = [{"id": _id("fld"), "name": n, "type": f["type"], **({"options": f["options"]} if "options" in f else {})}
                    for n, f in fields.items()]
            self.tables[ident] = {"id": ident, "name": name, "primaryFieldId": made[0]["id"], "fields": made}
            self.records[ident] = {}
        return ident

    def add_user(self, email: str, name: str | None = None) -> dict[str, str]:
        self.users[email] = {"id": _id("usr"), "email": email, "name": name or email.split("@")[0]}
        return self.users[email]

    def rows(self, table: str) -> list[dict[str, Any]]:
        with self.lock:
            return [{"id": r, **self._out_fields(table, rec["fields"])} for r, rec in self.records[table].items()]

    def record_where(self, table: str, **match: Any) -> str:
        [found] = [r["id"] for r in self.rows(table) if all(r.get(k) == v for k, v in match.items())]
        return found

    def edit(self, table: str, record: str, by: dict[str, str] | None = None, **fields: Any) -> None:
        """Change fields of a record as the collaborator ``by`` (from ``add_user``) in the app."""
        with self.lock:
            self.records[table][record]["fields"].update(fields)
            self.records[table][record]["by"] = by or self.writer

    def delete(self, table: str, record: str) -> None:
        with self.lock:
            del self.records[table][record]

    # -- vendor dialect ----------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        return (headers.get("Authorization") or "") == f"Bearer {self.token}"

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"type": TYPES.get(status, "SERVER_ERROR"), "message": message}}

    def rate_limit_headers(self, wait: int) -> dict[str, str]:
        return {"Retry-After": str(wait)} if self.retry_after_header else {}

    def _error(self, status: int, kind: str, message: str) -> HttpError:
        return HttpError(status, message, body={"error": {"type": kind, "message": message}})

    # -- routes ------------------------------------------------------------------------

    @route("GET", r"/v0/meta/bases/(?P<base>app[A-Za-z0-9]{14})/tables")
    def schema(self, req):
        self._base(req)
        return 200, {"tables": [dict(t, fields=[dict(f) for f in t["fields"]]) for t in self.tables.values()]}

    @route("POST", r"/v0/meta/bases/(?P<base>app[A-Za-z0-9]{14})/tables/(?P<table>tbl[A-Za-z0-9]{14})/fields")
    def add_field(self, req):
        self._base(req)
        table = self._table(req.params["table"])
        spec = req.json()
        if spec.get("name") in {f["name"] for f in table["fields"]}:
            raise self._error(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", "Field names must be unique")
        if spec.get("type") == "number" and "precision" not in (spec.get("options") or {}):
            raise self._error(422, "INVALID_FIELD_TYPE_OPTIONS_FOR_CREATE", "number fields need options.precision")
        made = {"id": _id("fld"), "name": spec["name"], "type": spec["type"],
                **({"options": spec["options"]} if spec.get("options") else {})}
        table["fields"].append(made)
        return 200, made

    @route("GET", BASE + r"/(?P<table>[^/]+)")
    def list_records(self, req):
        self._base(req)
        table = self._table(req.params["table"])
        size = int(req.arg("pageSize", "100"))
        if not 1 <= size <= 100:
            raise self._error(422, "INVALID_REQUEST_UNKNOWN", "pageSize must be between 1 and 100")
        ids = list(self.records[table["id"]])
        start = 0
        if req.arg("offset"):
            found = self._offsets.get(req.arg("offset"))
            if found is None or found[0] != table["id"]:
                raise self._error(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "Iterator not available")
            start = found[1]
        try:
            start = self.faults.page(start, size)
        except PageExpired:
            raise self._error(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "Iterator not available") from None
        chunk = ids[start:start + size]
        out = {"records": [self._record_out(table["id"], r) for r in chunk]}
        if start + size < len(ids):
            token = f"itr{next(self._n)}/rec{start + size}"
            self._offsets[token] = (table["id"], start + size)
            out["offset"] = token
        return 200, out

    @route("POST", BASE + r"/(?P<table>[^/]+)")
    def create(self, req):
        self._base(req)
        table, body = self._table(req.params["table"]), self._body(req, {"records", "typecast", "returnFieldsByFieldId"})
        made = []
        for item in body["records"]:
            if set(item) - {"fields"}:
                raise self._error(422, "INVALID_RECORDS", "a record to create holds only fields")
            ident = _id("rec")
            self.records[table["id"]][ident] = {"fields": self._fields(table, item.get("fields") or {},
                                                                       body.get("typecast")),
                                                "createdTime": "2026-01-01T00:00:00.000Z", "by": self.writer}
            made.append(self._record_out(table["id"], ident))
        return 200, {"records": made}

    @route("PATCH", BASE + r"/(?P<table>[^/]+)")
    def update(self, req):
        self._base(req)
        table, body = self._table(req.params["table"]), self._body(req, {"records", "typecast", "performUpsert",
                                                                         "returnFieldsByFieldId"})
        known = self.records[table["id"]]
        if any(r.get("id") not in known for r in body["records"]):
            raise self._error(404, "NOT_FOUND", "Could not find a record to update")
        for item in body["records"]:
            known[item["id"]]["fields"].update(self._fields(table, item.get("fields") or {}, body.get("typecast")))
            known[item["id"]]["fields"] = {k: v for k, v in known[item["id"]]["fields"].items() if not _empty(v)}
            known[item["id"]]["by"] = self.writer
        return 200, {"records": [self._record_out(table["id"], r["id"]) for r in body["records"]]}

    @route("DELETE", BASE + r"/(?P<table>[^/]+)")
    def delete_records(self, req):
        self._base(req)
        table = self._table(req.params["table"])
        ids = req.query.get("records[]", [])
        if not 1 <= len(ids) <= 10:
            raise self._error(422, "INVALID_RECORDS", "delete 1 to 10 records a request")
        known = self.records[table["id"]]
        if any(i not in known for i in ids):
            raise self._error(404, "NOT_FOUND", "Could not find a record to delete")
        for i in ids:
            del known[i]
        return 200, {"records": [{"id": i, "deleted": True} for i in ids]}

    # -- internals ---------------------------------------------------------------------

    def _base(self, req) -> None:
        if req.params["base"] != self.base:
            raise self._error(404, "NOT_FOUND", "Could not find what you are looking for")

    def _table(self, ident: str) -> dict[str, Any]:
        from urllib.parse import unquote

        ident = unquote(ident)
        table = self.tables.get(ident) or next((t for t in self.tables.values() if t["name"] == ident), None)
        if table is None:
            raise self._error(404, "TABLE_NOT_FOUND", f"Could not find table {ident} in application {self.base}")
        return table

    def _body(self, req, allowed: set[str]) -> dict[str, Any]:
        body = req.json()
        stray = sorted(set(body) - allowed)
        if stray:
            raise self._error(422, "INVALID_REQUEST_UNKNOWN", f"Invalid request: parameter validation failed. "
                                                              f"Check your request data: unknown {stray[0]}")
        records = body.get("records")
        if not isinstance(records, list) or not 1 <= len(records) <= 10:
            raise self._error(422, "INVALID_RECORDS", "records must be an array of 1 to 10 records")
        return body

    def _fields(self, table: dict[str, Any], values: dict[str, Any], typecast: bool) -> dict[str, Any]:
        by_name = {f["name"]: f for f in table["fields"]}
        out = {}
        for name, value in values.items():
            field = by_name.get(name)
            if field is None:
                raise self._error(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')
            kind = field["type"]
            if kind in COMPUTED:
                raise self._error(422, "INVALID_VALUE_FOR_COLUMN", f'Field "{name}" cannot accept a value because '
                                                                   "the field is computed")
            if kind in ("singleSelect", "multipleSelects") and value not in (None, []):
                choices = field.setdefault("options", {}).setdefault("choices", [])
                for option in value if isinstance(value, list) else [value]:
                    if option not in [c["name"] for c in choices]:
                        if not typecast:
                            raise self._error(422, "INVALID_MULTIPLE_CHOICE_OPTIONS",
                                              f'Insufficient permissions to create new select option ""{option}""')
                        choices.append({"id": _id("sel"), "name": option})
            elif kind in ("number", "percent", "currency") and value is not None and not isinstance(value, (int, float)):
                raise self._error(422, "INVALID_VALUE_FOR_COLUMN", f'Field "{name}" cannot accept the provided value')
            elif kind == "number" and value is not None and self.round_to_precision:
                value = round(value, int((field.get("options") or {}).get("precision", 0)))
            elif kind == "multipleRecordLinks":
                linked = self.records[field["options"]["linkedTableId"]]
                if any(r not in linked for r in value):
                    raise self._error(422, "ROW_DOES_NOT_EXIST", f"Record ID {value[0]} does not exist")
            elif kind in ("singleCollaborator", "multipleCollaborators") and value:
                people = value if isinstance(value, list) else [value]
                if any(p.get("email") not in self.users for p in people):
                    raise self._error(422, "INVALID_COLLABORATOR", f'Field "{name}": no such collaborator')
                found = [self.users[p["email"]] for p in people]
                value = found if isinstance(value, list) else found[0]
            out[name] = value
        return out

    def _out_fields(self, table: str, fields: dict[str, Any], by: dict[str, str] | None = None) -> dict[str, Any]:
        out = {k: v for k, v in fields.items() if not _empty(v)}  # empty fields left out
        for field in self.tables[table]["fields"]:
            if field["type"] == "count":  # count of the links in another field of this record
                out[field["name"]] = len(fields.get(field["options"]["fieldName"]) or [])
            elif field["type"] == "lastModifiedBy" and by:
                out[field["name"]] = dict(by)
        return out

    def _record_out(self, table: str, ident: str) -> dict[str, Any]:
        rec = self.records[table][ident]
        return {"id": ident, "createdTime": rec["createdTime"],
                "fields": self._out_fields(table, rec["fields"], rec.get("by"))}
