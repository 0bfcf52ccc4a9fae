"""Airtable (Web API v0): the spreadsheet connector's layouts over the tables of one
Airtable base: ``linked`` (one table per entity, ``tables:``), or one table for every row
(``table:``), ``flat`` (a record per KR, its objective's fields repeated) or
``hierarchical`` (objective records and KR records; a link of the table to itself is a KR
record's objective record).

A table's fields are the columns of the mapping (matched by name), its records the rows;
everything between cells and records is the CSV/XLSX code path (``spreadsheet`` reads,
``sheet_writer`` writes). This module only moves records:

- a read is one ``GET /v0/meta/bases/{baseId}/tables`` (every table's fields and types) and,
  per table in ``tables:``, ``GET /v0/{baseId}/{tableId}`` pages of 100 (``offset``). A
  record's id (``rec…``) is its record's id (in the mapping's id column, e.g. "Key result
  ID"); a link field to another table in ``tables:`` is that table's id column ("Objective
  ID" on a key result), a link of a table to itself its parent ("Parent objective ID").
  Airtable leaves empty fields out of a record: they read as blank cells. Values become
  plain cells: text, numbers (a percent field as Airtable stores it, 0.25 for 25 %),
  selects (multiple joined by ", "), dates, checkboxes, collaborators as e-mail addresses,
  links as record ids; lookups, rollups, formulas and counts as their values (read only).
  An expired ``offset`` (422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``) starts the listing
  again, once. In one table, no field holds the record id: rows are matched by the
  mapping's id columns (text fields okrsync fills); in the hierarchical layout records are
  listed parent first and a KR record's parent link wins over its objective id cell. A
  "Last modified by" field (type ``lastModifiedBy``) names who changed each record
  (``Record.actor``); without one, nobody.
- a write compares the rows ``sheet_writer`` made with the records read and sends only what
  differs, in batches of 10 records (Airtable's maximum): ``PATCH`` with the changed fields,
  ``POST`` for new records (their ``rec…`` ids then replace the ids the hub proposed, also
  in links written after them), ``DELETE ?records[]=…`` for deleted ones, and
  ``POST /v0/meta/bases/{baseId}/tables/{tableId}/fields`` for a field a value needs (text, or
  number when every value is one). Writes send ``typecast: true``: Airtable converts text to
  the field's type and adds select options it does not have yet. Creates are never re-sent
  after an unclear failure; only answers saying nothing was done are retried. Computed
  fields are never written: a change the hub has for one is rejected with the reason.
- row locking: Airtable keeps no version or edit time of a record (unless a field holds
  one). Before a write that changes or deletes records, okrsync lists the table again and
  compares each record it is about to write with what it read; a record changed meanwhile
  is not written, it is refused as stale (``Rejected(replan=True)``) and the hub reads
  again, merges and writes once more. Creates-only writes (a migration) skip the check.

The cursor is a digest of the cells read or written. Every request goes through
``okrsync.http.Api``, paced at ``rate`` (5/s by default: Airtable's limit per base); a 429
is retried after the wait Airtable documents (30 s) unless it says otherwise. Sources of
each fact: docs/connectors/airtable.md.
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
from .common import bearer, chunks, new_api
from .google_sheets import _same
from .remote_tables import Listed, Tables, link_header
from .spreadsheet import SpreadsheetConnector, service_options

RATE = 5.0  # requests/s per base (airtable.com/developers/web/api/rate-limits)
BATCH = 10  # records per create, update or delete request
PAGE_SIZE = 100  # records per listing page (the maximum)
WRITABLE = {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber", "number", "percent",
            "currency", "singleSelect", "multipleSelects", "date", "dateTime", "checkbox", "singleCollaborator",
            "multipleCollaborators", "multipleRecordLinks", "rating", "duration"}
NUMBERS = {"number", "percent", "currency", "rating", "duration"}
OPTIONS = service_options({
    "token": "an Airtable personal access token, e.g. {$env: AIRTABLE_TOKEN}",
    "base": "the base's id (appXXXXXXXXXXXXXX, from its URL)",
    "table": "flat and hierarchical layouts: the one table holding every row (its name or tblXXXX id)",
})
ADVICE = {401: "Airtable refused the token: create a personal access token (airtable.com/create/tokens)",
          403: "the token may not do this: give it the scopes data.records:read, data.records:write, "
               "schema.bases:read (and schema.bases:write to add fields) and access to the base",
          404: "no such base or table: check 'base:' (appXXXX in the base's URL) and the names in 'tables:'"}
_BASE = re.compile(r"\b(app[A-Za-z0-9]{14})\b")
_RECORD = re.compile(r"^rec[A-Za-z0-9]{14}$")


@remote_tables.table_service
class AirtableConnector(SpreadsheetConnector):
    name = "airtable"
    option_help = OPTIONS
    required_options = ("token", "base", "tables")
    description = ("Airtable bases: one table per entity (linked; a record's id is its record's id), or one "
                   "table for every row (flat, hierarchical: a link of the table to itself is a row's parent)")
    capabilities = dataclasses.replace(
        SpreadsheetConnector.capabilities,
        rate_limit="5 requests/s per base (airtable.com/developers/web/api/rate-limits); 429, then 30 s",
        unconfirmed=(
            # the field model documents precision as an option of number fields, not whether a
            # value written with more decimals is kept or rounded
            "a number field keeps a decimal value as written, whatever its precision option",
        ))
    advice = ADVICE  # what to do, by the status of a refusal

    def __init__(self, endpoint, options, context=None):
        where, layout = remote_tables.layout_of(self, endpoint, options, "table", "name or id",
                                                "{objective: Objectives, key_result: Key results}")
        found = _BASE.search(str(options.get("base") or ""))
        if not found:
            raise ConfigError(f"{where}: 'base:' needs the base id (appXXXXXXXXXXXXXX, in the base's URL)")
        super().__init__(endpoint, {**options, "layout": layout}, context)
        self.sheet = str(options["table"]) if layout != "linked" else None
        self.base = found.group(1)
        self.api = new_api(endpoint, options, where, url=options.get("url", "https://api.airtable.com"),
                           auth=bearer(options.get("token"), where), rate=float(options.get("rate", RATE)))
        self.api.client.event_hooks["response"].append(_documented_wait)
        self.remote = Tables(self._fetch)  # table name (as in tables:) → Listed, as last read or written
        self.created: dict[str, str] = {}  # id the hub proposed → record id, in the write under way
        self.rejected: list[Rejected] = []
        self.editor_fields: dict[str, str] = {}  # table id → its "Last modified by" field (editor)

    def doctor(self, kit) -> None:
        """The base, and each table of the endpoint in it."""
        answer = kit.call("reachable", {401: "Airtable refused the token: create a personal access token "
                                             "(airtable.com/create/tokens)",
                                        403: "give the token the scopes data.records:read/write and "
                                             "schema.bases:read, and access to this base",
                                        404: f"no base {self.base}: check base: (appXXXX in its URL)"},
                          lambda: self.api.call("GET", f"/v0/meta/bases/{self.base}/tables"))
        if answer is not None:
            tables = answer.get("tables") or []
            names = {t.get("name") for t in tables} | {t.get("id") for t in tables}
            for part, _, table in self.table_files():
                if table in names:
                    kit.add("reachable", "ok", f"{part} table {table!r} is in base {self.base}")
                else:
                    kit.add("reachable", "fail", f"base {self.base} has no table {table!r}",
                            "fix tables: (a table's name or tblXXXX id)")

    @classmethod
    def sandbox_options(cls, sandbox, options):
        """``sandbox: {tables: {objective: <name or id>, key_result: <name or id>}}`` (linked) or
        ``{table: <name or id>}``, and ``base:`` if the copies are in another base: copies of
        the endpoint's tables (same fields)."""
        return remote_tables.sandbox_options(sandbox, options, ("table", "tables"), also=("base",))

    def probe(self, sandbox, kit):
        """Writes a decimal and a decreasing KR (number fields), with due dates, linked to a
        long non-ASCII objective, reads them back and deletes them."""
        [decimals] = self.capabilities.unconfirmed
        return remote_tables.probe(self, kit, claims={
            decimals: remote_tables.NUMBER_ROWS,
            "a key result's link reads back as its objective": remote_tables.PARENT_ROWS})

    def _locate(self, options: dict[str, Any]) -> Path:
        return Path("airtable")  # stands for the base in messages: "airtable [Key results] row 7"

    # ------------------------------------------------------------ records in

    def _fetch(self) -> dict[str, Listed]:
        answer = self._call("GET", f"/v0/meta/bases/{self.base}/tables") or {}
        schema = {t.get("name"): t for t in answer.get("tables") or []}
        schema.update({t.get("id"): t for t in answer.get("tables") or []})
        named = {part: table for part, _, table in self.table_files()}
        missing = [n for n in named.values() if n not in schema]
        if missing:
            raise FatalError(f"base {self.base} has no table {missing[0]!r} (it has "
                             f"{', '.join(t.get('name', '?') for t in answer.get('tables') or [])}); fix "
                             f"'{'tables' if self.layout == 'linked' else 'table'}:'", endpoint=self.endpoint)
        ids = {part: schema[name]["id"] for part, name in named.items()}
        return {name: self._table(part, schema[name], ids) for part, name in named.items()}

    def _table(self, part: str, schema: dict[str, Any], ids: dict[str, str]) -> Listed:
        fields = {f["name"]: f for f in schema.get("fields") or []}
        linked = self.layout == "linked"
        # hierarchical: a link of the table to itself is a row's parent row
        parent = next((n for n, f in fields.items() if f.get("type") == "multipleRecordLinks"
                       and (f.get("options") or {}).get("linkedTableId") == schema["id"]), None) \
            if self.layout == "hierarchical" else None
        names = sorted((n for n in fields if n != parent),
                       key=lambda n: fields[n].get("id") != schema.get("primaryFieldId"))  # primary first
        header = [self.mapping.write_header(part, "id")] if linked else []
        # a "Last modified by" field (type lastModifiedBy: a collaborator {id, email, name}, read
        # only; airtable.com/developers/web/api/field-model#last-modified-by) names who last
        # changed a record: one watching every field (no referencedFieldIds) first
        watching = sorted((f for f in fields.values() if f.get("type") == "lastModifiedBy"),
                          key=lambda f: bool((f.get("options") or {}).get("referencedFieldIds")))
        if watching:
            self.editor_fields[schema["id"]] = watching[0]["name"]
        for n in names:
            to = next((p for p, t in ids.items() if (fields[n].get("options") or {}).get("linkedTableId") == t), None)
            header.append(link_header(self, part, to) if linked and fields[n].get("type") == "multipleRecordLinks"
                          and to else n)
        return Listed(fields, [None, *names] if linked else names, [header], parent=parent, id=schema["id"]).fill(
            self._records(schema["id"]), self._add_record, self)

    def _add_record(self, table: Listed, record: dict[str, Any]) -> None:
        """A record as a row of ``table`` (its cells in the columns' order, its parent record)."""
        values = record.get("fields", {})
        row = [record["id"] if n is None else _cell(table.schema[n], values.get(n)) for n in table.columns]
        parent = (values.get(table.parent) or [None])[0] if table.parent else None
        table.add(record["id"], row, parent, values.get(self.editor_fields.get(table.id, "")))

    @staticmethod
    def editor(user: Any) -> str | None:
        """A record's "Last modified by" collaborator as ``Record.actor``: name, else e-mail,
        else its id ("airtable user usr…")."""
        return remote_tables.person(user, "airtable")

    def edited_since(self, table: Listed) -> set[str]:
        """The records of a table changed since it was read: Airtable keeps no version of a
        record, so the table is listed again and each record compared with what was read."""
        return table.edited(table.again().fill(self._records(table.id), self._add_record))

    def _records(self, table: str) -> list[dict[str, Any]]:
        """Every record of a table; an expired offset starts the listing again, once."""
        def page(offset):
            query = {"pageSize": PAGE_SIZE, **({"offset": offset} if offset else {})}
            answer = self._call("GET", f"/v0/{self.base}/{table}", params=query) or {}
            return answer.get("records") or [], answer.get("offset")

        return remote_tables.listing(page, lambda e: "ITERATOR_NOT_AVAILABLE" in str(getattr(e, "body", "") or e))

    def table_exists(self, path: Path, sheet: str | None) -> bool:
        return True  # a table always has its fields: its header

    def save_tables(self, tables: list) -> None:
        for sheet, rows in tables:  # parents first: links to records created here resolve
            _Writer(self, self.remote[sheet.sheet], rows, sheet.part).send()


class _Writer:
    """The requests that turn one table's records into ``rows`` (header first)."""

    def __init__(self, conn: AirtableConnector, table: Listed, rows: list[list], part: str):
        self.conn, self.table = conn, table
        self.url = f"/v0/{conn.base}/{table.id}"
        self.header, self.rows = [str(h) for h in rows[0]], [list(r) for r in rows[1:]]
        self.names = dict(zip(table.values[0], table.columns))  # grid header → field (None: record id)
        self.linked = conn.layout == "linked"
        self.bound = [] if self.linked else remote_tables.bound(conn, part, self.header)
        self.idents = {i: self._key(row) for i, row in enumerate(self.rows)}  # row → the record it is refused as
        self.made: dict[int, str] = {}  # row → the record created for it

    def send(self) -> None:
        self._add_fields()
        records, stored = self.table.ids, self.table.stored or self.table.values
        before = {h: i for i, h in enumerate(stored[0])}
        if self.linked:  # a row is its record: the id column holds the record id
            at = {rid: j for j, rid in enumerate(records)}
            matched = {i: at[str(row[0])] for i, row in enumerate(self.rows) if row and str(row[0]) in at}
        else:  # a row is the record that held the same record of the hub (by the mapping's id columns)
            matched = remote_tables.match(self.bound, self.table.values[1:], self.rows)
        parents = remote_tables.row_parents(self.rows, self.bound) if self.table.parent else {}
        own = {h for h, n in self.names.items()
               if n and (self.table.schema[n].get("options") or {}).get("linkedTableId") == self.table.id}
        updates, creates, later = {}, [], []
        for i, row in enumerate(self.rows):
            ident, cells = self.idents[i], dict(zip(self.header, row))
            if i in matched:
                was = stored[1 + matched[i]]
                changed = {h: v for h, v in cells.items()
                           if not _same(v, was[before[h]] if h in before and before[h] < len(was) else "")}
                fields = self._written(changed, ident)
                if fields:
                    updates[i] = fields
            elif ident or not self.linked:
                deferred = {h: cells.pop(h) for h in own if cells.get(h) not in (None, "")}
                fields = self._written(cells, ident, new=True)
                if fields is not None:
                    creates.append((i, fields))
                    if deferred:
                        later.append((i, deferred))
        gone = [j for j in range(len(records)) if j not in set(matched.values())]
        moved = {i for i, j in matched.items() if parents.get(i) is not None
                 and (parents[i] not in matched or records[matched[parents[i]]] != self.table.parents[j])}
        # a record changed in Airtable since the read is not overwritten: refused as stale,
        # and the hub reads it again, merges and writes once more
        edited = self.conn.edited_since(self.table) if updates or gone or moved else set()
        for i in [i for i in {*updates, *moved} if records[matched[i]] in edited]:
            self._stale(self.idents[i], records[matched[i]])
            updates.pop(i, None)
            moved.discard(i)
        self._batches("POST", [(i, {"fields": f}) for i, f in creates if parents.get(i) is None])
        record_of = {**{i: records[j] for i, j in matched.items()}, **self.made}
        for i in moved:  # a KR row under another objective row: its parent link follows
            if parents[i] in record_of:
                updates.setdefault(i, {})[self.table.parent] = [record_of[parents[i]]]
        self._batches("PATCH", [(i, {"id": records[matched[i]], "fields": f}) for i, f in updates.items()])
        children = [(i, f) for i, f in creates if parents.get(i) is not None]
        for i, fields in children:  # KR rows made under their objective row's record
            if parents[i] in record_of:
                fields[self.table.parent] = [record_of[parents[i]]]
        self._batches("POST", [(i, {"fields": f}) for i, f in children])
        links = [(i, {"id": self.made[i], "fields": self._written(c, self.idents[i])}) for i, c in later if i in self.made]
        self._batches("PATCH", [(i, u) for i, u in links if u["fields"]])
        for j in [j for j in gone if records[j] in edited]:
            self._stale(self._key(self.table.values[1 + j]), records[j])
        for part in chunks([records[j] for j in gone if records[j] not in edited], BATCH):
            self.conn._call("DELETE", self.url, params={"records[]": part})

    def _key(self, row: list) -> str:
        """The record a row is refused as: its record id (linked), else its deepest record's id."""
        if self.linked:
            return str(row[0]) if row else ""
        return remote_tables.row_key(self.bound, row)

    def _stale(self, ident: str, record: str) -> None:
        self.conn.rejected.append(Rejected(ident or record, f"record {record} was changed in Airtable after okrsync "
                                           "read it: not overwritten; read again and merged", replan=True))

    def _batches(self, method: str, items: list[tuple[int, dict[str, Any]]]) -> None:
        """Records in batches of 10. A batch Airtable refuses as invalid (422: nothing of it
        was written) is sent again one record at a time, so only the records at fault are
        rejected, with Airtable's reason. Creates are never re-sent after an unclear failure."""
        for part in chunks(items, BATCH):
            try:
                self._batch(method, part)
            except FatalError as e:
                if getattr(e, "status", None) != 422:
                    raise
                if len(part) == 1:
                    self.conn.rejected.append(Rejected(self.idents[part[0][0]], _said(e)))
                    continue
                self._batches_alone(method, part)

    def _batches_alone(self, method: str, part: list[tuple[int, dict[str, Any]]]) -> None:
        for item in part:
            try:
                self._batch(method, [item])
            except FatalError as e:
                if getattr(e, "status", None) != 422:
                    raise
                self.conn.rejected.append(Rejected(self.idents[item[0]], _said(e)))

    def _batch(self, method: str, part: list[tuple[int, dict[str, Any]]]) -> None:
        answer = self.conn._call(method, self.url, replay_safe=method != "POST",
                                 json={"records": [body for _, body in part], "typecast": True})
        if method == "POST":
            made = (answer or {}).get("records") or []
            if len(made) != len(part):
                raise RetryableError(f"POST {self.url} answered {len(made)} records for {len(part)}",
                                     endpoint=self.conn.endpoint)
            self.made.update({i: r["id"] for (i, _), r in zip(part, made)})
            if self.linked:  # the record id is the record's id: the hub's proposed one is replaced
                self.conn.created.update({self.idents[i]: r["id"] for (i, _), r in zip(part, made)})

    def _add_fields(self) -> None:
        """Fields for the columns the writer added (a value no field held)."""
        at = {h: i for i, h in enumerate(self.header)}
        for name in [h for h in self.header[1:] if h not in self.names]:
            values = [r[at[name]] for r in self.rows if at[name] < len(r) and r[at[name]] not in (None, "")]
            numeric = values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            spec = {"name": name, "type": "number", "options": {"precision": 8}} if numeric else \
                {"name": name, "type": "singleLineText"}
            made = self.conn._call("POST", f"/v0/meta/bases/{self.conn.base}/tables/{self.table.id}/fields",
                                   json=spec, replay_safe=False)
            if not isinstance(made, dict) or not made.get("id"):
                raise RetryableError(f"adding field {name!r} answered without its id", endpoint=self.conn.endpoint)
            self.table.schema[name] = made
            self.names[name] = name

    def _written(self, cells: dict[str, Any], ident: str, new: bool = False) -> dict[str, Any] | None:
        return remote_tables.field_values(self.conn, self.names, self.table.schema, cells, ident, new, self._value, WRITABLE,
                                          "field")

    def _value(self, kind: str, value: Any) -> Any:
        value = tabular.unneutralise(value) if isinstance(value, str) else value  # Airtable runs no formulas
        if value in (None, ""):
            return [] if kind in ("multipleSelects", "multipleCollaborators", "multipleRecordLinks") else \
                False if kind == "checkbox" else None
        text = str(value)
        if kind in NUMBERS:
            try:
                return tf.parse_number(value)
            except tf.TransformError:
                raise ValueError(f"{value!r} is not a number, and the field is a {kind} field") from None
        if kind == "checkbox":
            return bool(value) and text.lower() not in ("false", "0", "no")
        if kind == "multipleSelects":
            return [n.strip() for n in text.split(",") if n.strip()]
        if kind == "singleCollaborator":
            return {"email": text.split(",")[0].strip()}
        if kind == "multipleCollaborators":
            return [{"email": e.strip()} for e in text.split(",") if e.strip()]
        if kind == "multipleRecordLinks":
            return remote_tables.linked_ids(self.conn, text, _RECORD.match, "is not an Airtable record (a link holds "
                                            "records of the linked table): is the linked record in it?")
        return text


def _said(error: FatalError) -> str:
    """Airtable's own reason for refusing a record (its error message), else the error."""
    body = getattr(error, "body", None)
    said = body.get("error") if isinstance(body, dict) else None
    if isinstance(said, dict) and said.get("message"):
        return f"Airtable refused it: {said['message']} ({said.get('type', 'error')})"
    return str(error)


def _documented_wait(response) -> None:
    """A 429 without ``Retry-After`` waits the 30 s Airtable's docs ask for, not less (the one
    retry policy honours the header)."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = "30"


def _cell(field: dict[str, Any], value: Any) -> Any:
    """A field value as a plain cell (Airtable leaves empty fields out: None)."""
    if value is None:
        return False if field.get("type") == "checkbox" else ""
    if isinstance(value, dict):  # a collaborator, or a computed value in an object
        return value.get("email") or value.get("name") or value.get("id") or ""
    if isinstance(value, list):
        return ", ".join(str(_cell({}, v)) for v in value)
    return value
