"""What the connectors that keep OKR tables in a remote service share (Smartsheet sheets,
Notion databases, Airtable tables): the tables read once per run, kept for the write of
the same run, and the cursor as a digest of their cells.

``Tables(fetch)``: ``fetch()`` returns {table id → an object with ``values`` (header, then
rows of cells) and ``updated`` (its newest edit time, ISO 8601, or None)}.

- ``read()`` fetches afresh (every read does); ``get()`` / ``tables[id]`` use what was read
  or written last, fetching only when nothing is kept (a write without a read before it);
  ``forget()`` drops it (after a write: a later write reads again);
- ``rows(path, sheet)``: a table's cells as the spreadsheet reader's raw rows;
- ``updated()``: the newest edit time of the tables kept (else the time of the read), for
  every record of the read;
- who last edited a row: a kept table's ``editors`` (record id → the editor as the service
  gives it, in the listing okrsync reads anyway) and ``ids`` (per row), turned into
  ``Record.actor`` by ``row_actor`` through the connector's ``editor(given)`` (``person``: a
  name, else an e-mail, else the id marked as one);
- ``fingerprint(conn)``: the cursor, a digest of the cells (rows sorted, so a sort in the
  service is not a change), the options that shape a read (never the token) and the mapping;
  None when no table has a row.

The connectors' own methods that only hand over to this module are these functions, set
on the class by the decorator ``@table_service`` (``_rows = remote_tables.rows``, with
``tabbed`` and ``parent_ids_on_rows``): ``call`` (``advised`` with the class's ``advice``),
``take_counts``, ``read``, ``rows``, ``updated``, ``fingerprint``, ``row_actor`` and ``write``, which also
hands the hub the ids a service gave to records created (``conn.created``: id the hub
proposed → the service's id) and the records it refused (``conn.rejected``).

``layout_of(conn, endpoint, options, single, named, example)``: the endpoint's options
checked and its layout, or a ConfigError saying which tables to give.

Notion and Airtable keep each table as a ``Listed`` (schema, columns, cells, record ids and
parents, what a write checks is unchanged): ``fill(records, add, conn)`` reads records into
it (parent first in the hierarchical layout), ``again()`` is an empty copy to list the table
into again, ``edited(now)`` the records changed between the two. On a write,
``field_values(conn, names, schema, cells, ident, new, value, writable, noun)`` is what is
sent for a row's cells (computed fields refused, a value the service cannot hold rejected
with the reason) and ``linked_ids(conn, text, valid, refusal)`` the records a link cell names.

``listing(page, expired)``: every item of a paged listing, ``page(token) → (items, next
token or None)``; an item served twice is kept once, and a page token the service calls
expired (``expired(error)``) starts the listing again, once.

``link_header(conn, part, to)``: the column a link from a ``part`` table to the table of
``to`` stands for: ``to``'s id column, or the parent's for a link of a table to itself.

``advised(api, method, url, advice, **kwargs)``: ``api.call``, where a refusal whose status
has an entry in ``advice`` says what to do instead of the bare status.

One table holding every entity (flat and hierarchical layouts), whose rows a service keys
by its own ids (Smartsheet row ids, Notion page ids, Airtable record ids), not the hub's:

- ``bound(conn, part, header)``: (index, kind, field) of each header cell the mapping reads;
- ``match(bound, old, new)``: which row read (index) each new row rewrites, by the
  mapping's id columns, deepest kind first (a KR row by its KR's id), so a sort in the tool
  or a KR moved to another objective is the same row;
- ``row_parents(rows, bound)``: in the hierarchical layout, each KR row's objective row
  (the nearest row above it that holds no KR): the parent a service's row hierarchy or
  parent relation gets;
- ``follow_parents(conn, values, parents)``: the reverse on a read: a row whose parent (in
  the tool) is another row takes that row's objective id, whatever its own id cell says;
- ``parent_first(ids, parents)``: rows reordered so each follows its parent (the order
  the hierarchical reader needs), for services whose listings have an order of their own;
  ``in_hierarchy(conn, ids, parents, values)`` does both: reorders, then follows parents.

``okrsync doctor --probe`` (the connectors' ``probe`` and ``sandbox_options`` hand over here):

- ``sandbox_options(sandbox, options, places)``: the sandbox names a copy of the endpoint's
  tables in the connector's own option names; never the endpoint's own (exit 2);
- ``probe(conn, kit, checks, claims)``: ``probe_values()`` (a 2,500-character non-ASCII
  description, a decimal and a decreasing KR with due dates) through ``kit.round_trip``;
  ``checks`` look at the rows as the service holds them (``raw_cells``; ``numbers_kept``:
  numbers not turned into text); ``claims`` sum rows up into one verdict each;
- ``gone_after_delete(kit, claim)``: no deleted record listed any more, nothing left.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from okrsync import http, tabular
from okrsync.config import check_options
from okrsync.connector import Cursor, Note, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, MappingError
from okrsync.mapping import Table
from okrsync.model import KINDS

from .google_sheets import _canonical, _same_row
from .spreadsheet import SpreadsheetConnector

NOT_SHAPING = ("token", "rate", "timeout", "attempts", "concurrency")


def table_service(cls: type) -> type:
    """Class decorator of a spreadsheet connector over a service's tables (Smartsheet, Notion,
    Airtable): linked tables are the service's tables, named in ``tables:`` (``tabbed``);
    hierarchical KR rows name their objective, as the service's order of rows is not the
    sheet's (``parent_ids_on_rows``); and the methods that only hand over to this module
    (``_call``, ``take_counts``, ``read``, ``_rows``, ``_updated``, ``fingerprint``, ``write``,
    ``_row_actor``) are its functions. The class gives ``advice``, ``remote`` (a ``Tables``),
    ``api``, ``created``, ``rejected`` and ``editor(given)`` (a row's editor as the service
    gives it → ``Record.actor``)."""
    cls.tabbed = cls.parent_ids_on_rows = True
    cls._call, cls.take_counts, cls.read, cls._rows = call, take_counts, read, rows
    cls._updated, cls.fingerprint, cls.write = updated, fingerprint, write
    cls._row_actor = row_actor
    return cls


@dataclasses.dataclass
class Listed:
    """One table of a service as last read: its schema, and its records' ids and cells in order."""

    schema: dict[str, dict[str, Any]]  # field (property) name → its schema: type, link target
    columns: list[str | None]  # the field behind each grid column (None: the record id column)
    values: list[list]  # header, then one row of cells per record
    ids: list[str] = dataclasses.field(default_factory=list)  # the record (page) of each row
    updated: str | None = None  # the newest edit time of its records, where the service keeps one
    parent: str | None = None  # hierarchical: the link of the table to itself, a row's parent row
    parents: list[str | None] = dataclasses.field(default_factory=list)  # per record: its parent record
    stored: list[list] | None = None  # the cells as stored, where following parents changed one
    seen: dict[str, Any] = dataclasses.field(default_factory=dict)  # record id → what a write checks is unchanged
    id: str = ""  # the table's own id, where the service's URLs name it so (Airtable's tbl…)
    editors: dict[str, Any] = dataclasses.field(default_factory=dict)  # record id → its last editor (row_actor)

    def add(self, ident: str, row: list, parent: str | None, editor: Any = None) -> None:
        """A record as a row (its cells in the columns' order) under its parent record, and
        its last editor as the service gives it, where it does (``row_actor``)."""
        if editor:
            self.editors[ident] = editor
        self.ids.append(ident)
        self.parents.append(parent)
        self.values.append(row)
        self.seen[ident] = (list(row), parent)  # as the service has it (following parents changes values)

    def again(self) -> Listed:
        """An empty listing of the same table (same columns and header), to list it again into."""
        return Listed(self.schema, self.columns, [self.values[0]], parent=self.parent, id=self.id)

    def fill(self, records: list[dict[str, Any]], add: Callable[[Listed, dict[str, Any]], None],
             conn=None) -> Listed:
        """This listing with ``records`` added as rows (``add(self, record)``); given ``conn``,
        in the hierarchical layout, then listed parent first and KR rows given their parent
        row's objective id (``in_hierarchy``)."""
        for record in records:
            add(self, record)
        if conn is not None and conn.layout == "hierarchical":
            self.ids, self.parents, self.values, self.stored = in_hierarchy(conn, self.ids, self.parents, self.values)
        return self

    def edited(self, now: Listed, kept: Callable[[list], list] = list) -> set[str]:
        """The records listed both here and in ``now`` (the same table listed again) whose
        cells (those ``kept``) or parent differ."""
        return {ident for ident, (row, parent) in now.seen.items() if ident in self.seen
                and not (_same_row(kept(row), kept(self.seen[ident][0])) and parent == self.seen[ident][1])}


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
        return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

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
    conn.said = {}  # what this read learnt of the service itself (``say``), said once, before its cursor
    for item in SpreadsheetConnector.read(conn, cursor):
        if isinstance(item, Cursor):
            yield from map(Note, conn.said)
        yield item


def say(conn, message: str) -> None:
    """A note of this read on the service itself (e.g. a list it may not read), given once
    with the read's notes however often it is said."""
    conn.said.setdefault(message, None)


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


def row_actor(conn, row: tabular.RawRow) -> str | None:
    """Who last edited the record on ``row`` (``SpreadsheetConnector._row_actor``): the
    editor the listing gave for it (``editors``: record id → as the service gives it; rows
    are numbered from the header, row 1), named by ``conn.editor(given)``. No request per
    record: the listing okrsync reads anyway says it."""
    table = conn.remote[row.sheet]
    at = row.number - 2
    given = table.editors.get(table.ids[at]) if 0 <= at < len(table.ids) else None
    return conn.editor(given) if given else None


def person(user: dict[str, Any], service: str) -> str | None:
    """A user as ``Record.actor`` names them: display name, else e-mail, else the id marked
    as one ("notion user 1a2b…"); None for no user."""
    if not isinstance(user, dict):
        return None
    ident = user.get("id")
    return user.get("name") or user.get("email") or (f"{service} user {ident}" if ident else None)


def field_values(conn, names: dict[str, str | None], schema: dict[str, dict[str, Any]], cells: dict[str, Any],
                 ident: str, new: bool, value: Callable[[str, Any], Any], writable: set[str],
                 noun: str) -> dict[str, Any] | None:
    """What a write sends for ``cells`` (grid header → value) of the record ``ident``: field
    name (``names``: header → field; None, the record id column, is left out) → ``value(kind,
    cell)``. A field of a kind not in ``writable`` is computed by the service: never written,
    and a change to it on a record read is rejected with the reason. A value ``value`` refuses
    (ValueError) rejects the record: None for a new one (it is not created), {} for one read
    (nothing of it is written). ``noun``: what the service calls a field ("property")."""
    tool = conn.name.title()  # "Airtable", "Notion": the service as its users name it
    out = {}
    for header, cell in cells.items():
        name = names.get(header)
        if name is None:
            continue  # the record id column
        kind = schema[name].get("type")
        if kind not in writable:
            if not new:
                conn.rejected.append(Rejected(ident, f"{noun} {name!r}: is a {kind} {noun}, computed by {tool}: okrsync "
                                              f"does not write it; change its inputs in {tool}, or map the field to "
                                              f"another {noun}"))
            continue
        try:
            out[name] = value(kind, cell)
        except ValueError as e:
            conn.rejected.append(Rejected(ident, f"{noun} {name!r}: {e}"))
            return None if new else {}
    return out


def linked_ids(conn, text: str, valid: Callable[[str], Any], refusal: str) -> list[str]:
    """The records a link cell names (ids separated by commas), an id the hub proposed for a
    record created in this write replaced by the service's (``conn.created``); a ValueError
    ``"'<id>' <refusal>"`` for an id that is not ``valid`` (no record of the service)."""
    ids = [conn.created.get(i.strip(), i.strip()) for i in text.split(",") if i.strip()]
    bad = [i for i in ids if not valid(i)]
    if bad:
        raise ValueError(f"{bad[0]!r} {refusal}")
    return ids


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


def bound(conn, part: str, header: list) -> list[tuple[int, str, str]]:
    """(index, kind, field) of each header cell the mapping reads into a field."""
    table = Table(conn.mapping, header, conn.layout, part)
    return sorted({(c.index, conn.mapping.kind(c.part), c.field) for b in table.bindings() for c in b.columns
                   if c.part and c.field})


def kr_columns(columns: list[tuple[int, str, str]]) -> list[int]:
    """The columns a KR row fills (its KR's id or title): a hierarchical table's child rows."""
    return [i for i, kind, name in columns if kind == "key_result" and name in ("id", "title")]


def filled(row: list, columns: list[int]) -> bool:
    return any(c < len(row) and row[c] not in (None, "") for c in columns)


def match(columns: list[tuple[int, str, str]], old: list[list], new: list[list]) -> dict[int, int]:
    """New row index → the index of the row read (``old``, rows only) that holds the same
    record: by the id columns; rows without ids pair with the old id-less rows left over, in
    order, when they are the same cells (a note, a total okrsync rewrites unchanged)."""
    ids = sorted((i, kind) for i, kind, name in columns if name == "id")
    keys = [i for i, kind in sorted(ids, key=lambda ik: -KINDS.index(ik[1]))]

    def key(row):
        return next(((c, str(row[c])) for c in keys if c < len(row) and row[c] not in (None, "")), None)

    by_key: dict[Any, list[int]] = {}
    for j, row in enumerate(old):
        k = key(row)
        if k is not None:
            by_key.setdefault(k, []).append(j)
    matched, loose = {}, []
    for i, row in enumerate(new):
        k = key(row)
        if k is not None and by_key.get(k):
            matched[i] = by_key[k].pop(0)
        else:
            loose.append(i)
    taken = set(matched.values())
    spare = [j for j, row in enumerate(old) if j not in taken and key(row) is None]
    for i, j in zip([i for i in loose if key(new[i]) is None], spare):
        if _same_row(new[i], old[j]):
            matched[i] = j
    return matched


def row_key(columns: list[tuple[int, str, str]], row: list) -> str:
    """The id a rejection of a row names: its deepest record's id (a KR row's KR id)."""
    ids = sorted(((i, kind) for i, kind, name in columns if name == "id"), key=lambda ik: -KINDS.index(ik[1]))
    return next((str(row[i]) for i, _ in ids if i < len(row) and row[i] not in (None, "")), "")


def row_parents(rows: list[list], columns: list[tuple[int, str, str]]) -> dict[int, int | None]:
    """Row index → the index of its parent row (hierarchical: a KR row's objective row, the
    nearest row above that holds no KR); None for a top-level row."""
    krs = kr_columns(columns)
    parent: dict[int, int | None] = {}
    top: int | None = None
    for i, row in enumerate(rows):
        if filled(row, krs):
            parent[i] = top
        else:
            parent[i], top = None, i
    return parent


def follow_parents(conn, values: list[list], parents: list[int | None]) -> list[list] | None:
    """A KR row whose parent row (``parents[i]``: an index among the rows, or None) is
    another takes that row's objective id (the tool's hierarchy is what people see; an id
    cell may be stale after a drag). Returns the rows as stored (a copy), when a cell changed."""
    try:
        columns = bound(conn, conn.mapping.row_entity, values[0]) if len(values) > 1 else []
    except MappingError:
        return None  # a header that does not bind: the read itself says so, located
    found = [i for i, kind, name in columns if kind == "objective" and name == "id"]
    if not found:
        return None
    column, stored, krs = found[0], [list(r) for r in values], kr_columns(columns)
    for i, parent in enumerate(parents):
        row = values[i + 1]
        if parent is not None and column < len(row) and filled(row, krs):
            above = values[parent + 1]
            if column < len(above) and above[column] not in (None, ""):
                row[column] = above[column]
    return stored if stored != values else None


def in_hierarchy(conn, ids: list[str], parents: list[str | None], values: list[list]):
    """Rows (``values``: header first; ``ids`` and ``parents`` per row) listed parent first
    and KR rows given their parent row's objective id: ``(ids, parents, values, stored)``,
    ``stored`` being the cells as the service has them where following parents changed one."""
    order = parent_first(ids, parents)
    ids, parents = [ids[i] for i in order], [parents[i] for i in order]
    values = [values[0], *(values[1 + i] for i in order)]
    at = {ident: i for i, ident in enumerate(ids)}
    return ids, parents, values, follow_parents(conn, values, [at.get(p) for p in parents])


def parent_first(ids: list[str], parents: list[str | None]) -> list[int]:
    """Row indexes in listing order, each row's children (rows whose parent is its id)
    right after it; a row whose parent is not listed is a top-level row."""
    known = set(ids)
    children: dict[str, list[int]] = {}
    for i, parent in enumerate(parents):
        if parent in known and parent != ids[i]:
            children.setdefault(parent, []).append(i)
    order: list[int] = []
    seen: set[int] = set()

    def visit(i: int) -> None:
        if i in seen:
            return
        seen.add(i)
        order.append(i)
        for child in children.get(ids[i], []):
            visit(child)

    for i, parent in enumerate(parents):
        if parent not in known or parent == ids[i]:
            visit(i)
    for i in range(len(ids)):  # rows in a cycle of parents: in listing order, not lost
        visit(i)
    return order


# ------------------------------------------------------------ okrsync doctor --probe

def sandbox_options(sandbox: dict[str, Any], options: dict[str, Any], places: tuple[str, ...],
                    also: tuple[str, ...] = (), either: bool = False) -> dict[str, Any]:
    """``Connector.sandbox_options`` for a table connector: the sandbox names its own place in
    the connector's option names (``places``: a database, a table, a sheet, ``tables:``;
    ``also``: what it may change besides, a base, a drive). It gives each place key the
    endpoint sets (``either``: one of them, a workbook's item or file, the others then
    unset), and none may be the endpoint's own: the probe writes there."""
    where = "sandbox"
    used = [k for k in places if options.get(k)] or [places[0]]
    missing = [] if either and any(sandbox.get(k) for k in places) else [k for k in used if not sandbox.get(k)]
    if missing:
        raise ConfigError(f"{where}: give {missing[0]}: as the endpoint does, naming a copy made for the probe (it "
                          f"creates and deletes throwaway records there), e.g. sandbox: {{{missing[0]}: …}}")

    def named(value: Any) -> set[str]:
        return {str(v) for v in value.values()} if isinstance(value, dict) else {str(value)}

    same = [k for k in places if sandbox.get(k) and options.get(k) and named(sandbox[k]) & named(options[k])]
    if same:
        raise ConfigError(f"{where}: {same[0]}: names the endpoint's own {same[0]}; the probe writes in the sandbox, "
                          "so give a copy made for it (duplicate it, empty it, and point sandbox at the copy)")
    return {**({k: None for k in places} if either else {}), **{k: sandbox[k] for k in (*places, *also) if k in sandbox}}


# the probe's rows that say whether each KR read back under its objective (a KR whose link
# was dropped is not read at all: a KR needs its objective)
PARENT_ROWS = ("reads back the key result", "key result (decimal) objective_id", "key result (decreasing) objective_id")
NUMBER_ROWS = ("key result (decimal) start", "key result (decimal) target", "key result (decimal) current")


def probe_values() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``probe.standard()``'s objective and KRs, with a description past Notion's 2,000
    characters of one rich text (non-ASCII, in pieces) and a due date on each KR."""
    from okrsync import probe as p

    objective, krs = p.standard()
    objective["description"] = (p.DESCRIPTION + " " + "Ünïcødé 目標 ✓ · " * 200)[:2499] + "."  # 2,500 characters
    for fields in krs.values():
        fields["due"] = objective["due"]
    return objective, krs


def probe(conn, kit, checks: Callable[[Any, dict[str, str]], list] | None = None,
          claims: dict[str, tuple[str, ...]] | None = None) -> list:
    """The probe of a table connector (its ``probe``): the throwaway objective and KRs of
    ``probe_values`` (the fields this endpoint's mapping holds) written to the sandbox, read
    back by a fresh connector, compared, deleted. ``checks(reader, made)``, given a fresh
    connector that has read the sandbox after the creates and canonical id → row id of what
    was made, adds rows on what the records do not show (a row's parent, a cell's type).
    ``claims``: each claim (every ``capabilities.unconfirmed`` entry among them) → the
    starts of the rows that decide it (``probe.summary``)."""
    from okrsync import probe as p

    def held(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        names = conn.fields(kind)
        return {k: v for k, v in fields.items() if names is None or k in names}

    def settle(made: dict[str, str]) -> list:
        if checks is None:
            return []
        reader = kit.fresh()
        list(reader.read(None))
        return checks(reader, made)

    objective, krs = probe_values()
    rows = kit.round_trip(held("objective", objective), {k: held("key_result", f) for k, f in krs.items()},
                          settle=settle)
    for claim, starts in (claims or {}).items():
        rows.append(p.summary(claim, rows, lambda r, starts=starts: r.claim.startswith(starts)))
    return rows


def raw_cells(conn, ident: str) -> list[Any]:
    """The cells of the sandbox's row holding ``ident`` (a record's id), as the service gave them."""
    for _, path, sheet in conn.table_files():
        for row in conn._rows(path, sheet):
            if ident in [str(c) for c in row.cells]:
                return list(row.cells)
    return []


def numbers_kept(reader, made: dict[str, str]) -> list:
    """A probe check: the decimal KR's numbers come back as numbers, not as text."""
    from okrsync import probe as p
    from okrsync.connector import ProbeResult

    _, krs = probe_values()
    want = {krs["decimal"][n] for n in ("start", "target", "current")}
    cells = raw_cells(reader, made.get("probe-kr-decimal", "probe-kr-decimal"))
    text = [c for c in cells if isinstance(c, str) and c.strip() in {f"{v:g}" for v in want} | {str(v) for v in want}]
    found = [c for c in cells if isinstance(c, (int, float)) and not isinstance(c, bool) and c in want]
    claim = "numbers written read back as numbers (not as text)"
    if text:
        return [ProbeResult(claim, p.CONTRADICTED, f"read back {', '.join(repr(c) for c in text)} as text")]
    if not cells:
        return [ProbeResult(claim, p.UNTESTABLE, "the decimal key result's row was not found in the sandbox")]
    return [ProbeResult(claim, p.CONFIRMED if len(found) == len(want) else p.UNTESTABLE,
                        "" if len(found) == len(want) else "the mapping writes fewer number columns")]


def gone_after_delete(kit, claim: str) -> list:
    """Probe checks after the round trip, from the sandbox's rows (those the read could not
    make a record of count too: a delete keeps those): ``claim``, no record the delete found
    is listed any more; and nothing the probe made is left."""
    from okrsync import probe as p
    from okrsync.connector import ProbeResult

    made = set(kit.ids.values())
    if not made:
        return [ProbeResult(claim, p.UNTESTABLE, "the probe made no record")]
    reader = kit.fresh()
    list(reader.read(None))
    left = sorted(ext for ext in made if raw_cells(reader, ext))
    deleted = {ext for _, ext in kit.seen} & made  # read back, so the delete found them
    rows = []
    for said, ids, advice in ((claim, sorted(deleted), ""), ("nothing the probe made is left in the sandbox",
                                                             sorted(made), " (delete them in the sandbox by hand)")):
        still = [ext for ext in ids if ext in left]
        rows.append(ProbeResult(said, p.CONTRADICTED, f"still listed after the delete: {', '.join(still)}{advice}")
                    if still else
                    ProbeResult(said, p.CONFIRMED, f"{len(ids)} deleted record(s) no longer listed") if ids else
                    ProbeResult(said, p.UNTESTABLE, "no record of the probe was read back, so none was deleted"))
    return rows


def layout_of(conn, endpoint: str, options: dict[str, Any], single: str, named: str, example: str) -> tuple[str, str]:
    """``("endpoint NAME", layout)`` for a table connector's options, checked first against
    what its class declares (``check_options``). The layout: linked with ``tables:`` (one
    table per entity), else flat (or the ``layout:`` given) with the one table the option
    ``single`` names ("database", "table"); a ConfigError when the table the layout needs is
    not given, saying how a table is ``named`` ("id") with ``example``, a ``tables:`` value."""
    where = f"endpoint {endpoint}"
    check_options(options, conn.declared_options(), where)
    layout = options.get("layout", "flat" if options.get(single) and not options.get("tables") else "linked")
    if layout == "linked" and not options.get("tables") or layout != "linked" and not options.get(single):
        raise ConfigError(f"{where}: a{'n' if conn.name[0] in 'aeiou' else ''} {conn.name} endpoint is one {single} "
                          f"per entity (give 'tables:' with each {single}'s {named}, e.g. {example}) or one {single} "
                          f"for every row (layout: flat or hierarchical, and '{single}: <{named}>')")
    return where, layout
