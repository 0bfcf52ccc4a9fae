"""The hub: three-way, field-level sync between endpoints and the canonical store.

Star topology: every endpoint is compared with the canonical model, never with another
endpoint. For each record an endpoint holds, the store keeps a *base snapshot*: the fields
that endpoint last agreed with. A read then tells apart

- what the endpoint changed (read ≠ base) from
- what changed elsewhere (canonical ≠ base);

both changed to different values is a *conflict*, settled by the policy (``policy.py``);
the losing value is written to the change log. A push writes only what differs from the
endpoint's base and records the new base, so the hub's own writes are never read back as
news (no echoes).

``plan_pull`` / ``plan_push`` read but write nothing; ``apply_pull`` writes the store in one
transaction (entities, change log, conflicts, links, cursor); ``pull`` does both in that one
transaction, a first import chunk by chunk so its memory stays bounded; ``apply_push``
records write intents, writes the endpoint, then records links and bases in one transaction.
Deletes come from full listings, follow the endpoint's ``deletes`` policy and are guarded
against mass loss.

The hub orchestrates; each rule lives in its own module, read top to bottom:

- ``plan.py``      what a pull or push would do (``Plan``, ``Change``, ``Conflict``, ``Counters``)
- ``merge.py``     the three-way merge of one record (pure: fields in, decision out)
- ``identity.py``  which canonical record an unlinked record is (first contact, interrupted creates)
- ``guard.py``     the delete guard (``max_ratio``, the empty listing, ``--allow-mass-delete``)
- ``store.py``     every SQL statement; ``Link`` is what an endpoint's record agrees with
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from . import checkins, guard, periods, unparsed
from . import levels as ordinal
from . import policy as policy_mod
from .connector import Connector, Context, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from .errors import OkrsyncError
from .identity import Matcher, near  # noqa: F401 - near: part of this module's API (tests)
from .mapping import declared_zone
from .merge import merge
from .model import REFERENCES
from .names import Names
from .plan import LISTED, Change, Conflict, Counters, Plan  # noqa: F401 - Counters: part of this module's API (cli)
from .store import Link, Store, diff, dumps, load_record, new_id, record_json

CURSOR_STREAM = "records"
# records a first import plans before it writes them and lets them go (``Hub.pull``): 10,000
# KRs' plan is ~25 MB, and a chunk's fixed cost (a few statements) is lost in its inserts
CHUNK = 10_000


class _Links:
    """An endpoint's links as one pull consults them: (kind, ext) → (canonical id, base JSON).

    Looked up one by one while the read hands over few records (a changed file read by its
    changed rows: 12,000 of a 200,000-KR sheet's), all loaded at once when it hands over
    many; the ids alone (``ids``: deletes, kinds, first contact) load without the bases.
    Loading every base of a 200,000-KR endpoint for the few records read was 0.7 s."""

    def __init__(self, store: Store, endpoint: str):
        self.store, self.endpoint = store, endpoint
        self._all: dict[tuple[str, str], tuple[str, str | None]] | None = None
        self._asked: dict[tuple[str, str], tuple[str, str | None] | None] = {}

    def get(self, key: tuple[str, str], default=None):
        if self._all is not None:
            return self._all.get(key, default)
        if key not in self.ids:  # not linked: nothing to ask the store
            return default
        if key not in self._asked:
            if len(self._asked) >= max(_FEW, len(self.ids) // 10):  # many records read: one query for all
                self._all = self.store.links(self.endpoint)
                return self._all.get(key, default)
            self._asked[key] = self.store.link(self.endpoint, *key)
        found = self._asked[key]
        return default if found is None else found

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self.ids

    def __getitem__(self, key: tuple[str, str]) -> tuple[str, str | None]:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __bool__(self) -> bool:
        return bool(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def ids(self) -> dict[tuple[str, str], str]:
        """(kind, ext) → canonical id of every link."""
        return self.store.link_ids(self.endpoint)


class _Reading:
    """What planning one pull consults, record after record. The endpoint's links (and what
    is built from them) load on first use: an endpoint whose connector says "unchanged"
    reads no record and so loads none (~1 s of a no-change sync at 50,000 KRs)."""

    def __init__(self, store: Store, conn: Connector):
        self.store, self.conn = store, conn
        self.links = _Links(store, conn.endpoint)

    @cached_property
    def linked_now(self) -> dict[tuple[str, str], str]:
        """(kind, ext) → canonical id of the records this read links."""
        return {}

    def get(self, key: tuple[str, str], default: str | None = None) -> str | None:
        """(kind, ext) → canonical id, linked before or by this read (as ``_to_canonical`` asks
        a dict: no copy of every link is made for the few records a changed file hands over)."""
        if key in self.linked_now:
            return self.linked_now[key]
        return self.links.ids.get(key, default)

    @cached_property
    def kinds_of(self) -> dict[str, str]:
        """External id → the kind it is linked as."""
        return {ext: kind for kind, ext in self.links.ids}

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher(self.store, set(self.links.ids.values()), self.store.open_intents(self.conn.endpoint),
                       holds_id=self.conn.capabilities.holds_id)

    @cached_property
    def all_new(self) -> bool:
        """Nothing a record read could already be: no link, no open create, an empty hub (a
        first import into a new store). Every record read is then created as it is."""
        return not self.links and self.matcher.nothing_to_match

    @cached_property
    def waiting(self) -> set[tuple[str, str]]:
        """(entity, field) of conflicts left to the user."""
        return self.store.open_conflict_fields()

    def take(self, key: tuple[str, str], cid: str) -> None:
        """This read links the record ``key`` to ``cid``: no other record read may be it."""
        self.linked_now[key] = cid
        self.matcher.take(cid)


_FEW = 1000  # records a push looks at, below which it looks their ids up one by one
# per kind: (reference field, the kinds it may point at) (REFERENCES, "*" spelled out)
_TARGETS = {kind: [(ref, ("objective", "key_result") if target == "*" else (target,)) for ref, target in refs.items()]
            for kind, refs in REFERENCES.items()}


@dataclass
class _Chunked:
    """A pull written chunk by chunk as it is read (``Hub.pull``): how much of its plan is written."""

    run_id: int
    on: bool = True  # False once the read shows it is no first import: planned whole, written at the end
    written: int = 0  # chunks written
    changes: int = 0  # of plan.changes, written (those still there: the first LISTED, for the printout)
    conflicts: int = 0  # of plan.conflicts, written
    touched: dict[str, None] = field(default_factory=dict)  # KRs whose check-ins settle once, at the end
    # the store's indexes dropped from the first chunk to the last (Store.drop_indexes): each
    # chunk after the first would otherwise insert into them at random places
    indexes: list[tuple[str, str]] = field(default_factory=list)
    # every record read was new to an empty hub (_Reading.all_new): no parent can be deleted
    fresh: bool = False


class _ExternalIds:
    """Canonical id → the endpoint's id, looked up as a push asks: one that sends a few
    changes does not load the ids of all the endpoint's links (60,000 at 50,000 KRs)."""

    def __init__(self, store: Store, endpoint: str):
        self.store, self.endpoint = store, endpoint
        self.known: dict[str, str | None] = {}  # None: not linked there

    def __contains__(self, cid: str) -> bool:
        if cid not in self.known:
            self.known[cid] = self.store.external_id(self.endpoint, cid)
        return self.known[cid] is not None

    def __getitem__(self, cid: str) -> str:
        if cid not in self:
            raise KeyError(cid)
        return self.known[cid]


class _InStep:
    """``WriteBatch.in_step``: the records an endpoint holds as they are, loaded as its
    writer asks. Every record, when asked for, joins ``batch.unchanged``, whose links the
    push records (a writer may rename them); a patch asks for a few and renames none."""

    def __init__(self, hub: Hub, conn: Connector, batch: WriteBatch):
        self.hub, self.conn, self.batch = hub, conn, batch

    def keys(self) -> set[tuple[str, str]]:
        return {k for k in self.hub.store.in_step_keys(self.conn.endpoint) if self.hub._fields(self.conn, k[0]) != set()}

    def records(self, keys: Iterable[tuple[str, str]] | None = None) -> list[Record]:
        records = self.hub._in_step_records(self.conn, keys)
        if keys is None:
            self.batch.unchanged.extend(records)
        return records


@dataclass
class _Outgoing:
    """What planning one push consults, record after record."""

    conn: Connector
    pending: dict[str, str]  # creates of unknown outcome (they may have landed): at most once
    unlisted: set[str]  # created by us, not in the last read's listing yet: a write would be blind
    by_cid: _ExternalIds | dict[str, str]  # canonical id → the endpoint's id
    waiting: set[tuple[str, str]]  # (entity, field) of conflicts left to the user
    held: set[str] = field(default_factory=set)  # creates not sent: held, or waiting for a held parent
    hints: dict[str, str] | None = None  # ids other endpoints use (made once, on the first create)
    waiting_listing: int = 0  # updates and deletes waiting for the listing to show their record


class Hub:
    """Connects the configured endpoints with one store."""

    def __init__(self, config, store: Store, connectors: Mapping[str, type[Connector]], *, strict: bool = False,
                 allow_mass_delete: bool = False):
        self.config = config
        self.store = store
        self.classes = connectors
        self.strict = strict
        self.allow_mass_delete = allow_mass_delete
        self.policy = policy_mod.from_config(config)
        self._instances: dict[str, Connector] = {}
        self._allowed: dict[tuple[str, str], set[str] | None] = {}
        self.clock, self.sleep = time.time, time.sleep  # tests hand in a fake clock
        self._unlisted: dict[str, set[str]] = {}  # endpoint → Plan.unlisted of its last pull
        self.chunk = CHUNK  # records a first import plans per chunk (``pull``; tests make it tiny)
        self.every_change = False  # a chunked pull holds every change, not the first LISTED (--json lists all)

    def connector(self, name: str) -> Connector:
        if name not in self._instances:
            endpoint = self.config.endpoint(name)
            cls = self.classes[endpoint.type]
            self._instances[name] = cls(name, endpoint.options, Context(base_dir=self.config.base_dir, strict=self.strict))
        return self._instances[name]

    def close(self) -> None:
        """Close every connector this hub built (their HTTP clients); the hub is done."""
        instances, self._instances = list(self._instances.values()), {}
        for conn in instances:
            conn.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fields(self, conn: Connector, kind: str) -> set[str] | None:
        key = (conn.endpoint, kind)
        if key not in self._allowed:
            self._allowed[key] = conn.fields(kind)
        return self._allowed[key]

    def run(self, names: list[str], run_id: int, *, pull: bool = True, push: bool = True,
            write_remote: bool = True, progress=None, plans: list[Plan] | None = None) -> list[Plan]:
        """One run: apply resolved conflicts, pull each endpoint, then push to each.

        Each endpoint's pull is one transaction; ``write_remote=False`` plans pushes
        without sending them (dry runs). ``progress(label)`` may return a context manager
        shown around each step. Returns the plans in order, appended to ``plans`` if given
        (so a caller still has those of the steps before a failure).
        """
        plans = [] if plans is None else plans
        step = progress or (lambda label: nullcontext())
        if pull and push:
            self.apply_resolutions(run_id)
        for name in names if pull else ():
            with step(f"pull {name}"):
                self.pull(name, run_id, plans)
        for name in names if push else ():
            with step(f"push {name}"):
                plan = self.plan_push(name)
                plans.append(plan)
                if write_remote:
                    self.apply_push(plan, run_id)
            if write_remote and any(r.replan for r in plan.rejected):
                self._replan(name, plan, run_id, step, plans)
        return plans

    def _replan(self, name: str, refused: Plan, run_id: int, step, plans: list[Plan]) -> None:
        """Records the endpoint refused because they changed there meanwhile: read it again
        (its edits merge as usual) and push anew, once; what then goes through is no longer
        a rejection of this run."""
        stale = [r for r in refused.rejected if r.replan]
        with step(f"pull {name}"):
            self.pull(name, run_id, plans)
        with step(f"push {name}"):
            again = self.plan_push(name)
            plans.append(again)
            self.apply_push(again, run_id)
        still = {r.where for r in again.rejected}
        cleared = [r for r in stale if r.where not in still]
        refused.rejected = [r for r in refused.rejected if r not in cleared]
        refused.counters.rejected -= len(cleared)
        if cleared:
            refused.notes.append(f"{len(cleared)} record(s) changed on {name} while okrsync wrote them: "
                                 "read again, merged and written in the same run")

    # ------------------------------------------------------------ pull

    def pull(self, endpoint: str, run_id: int, plans: list[Plan] | None = None) -> Plan:
        """Read ``endpoint`` and write what it changes to the store, all or nothing: ``plan_pull``
        and ``apply_pull`` in one transaction. The plan is returned, and appended to ``plans``
        once it is made.

        A first import (the endpoint has no links yet: nothing to delete, no base to merge
        against) is planned and written ``self.chunk`` records at a time inside that one
        transaction, so its memory does not grow with the read (a failure in any chunk rolls
        back every chunk before it). What carries over from chunk to chunk is small: the read's
        (kind, external id) → canonical id, which parents, repeats and titles resolve against.
        The plan then keeps its counters, rejections, notes and conflicts whole, but only the
        first ``LISTED`` changes (``Plan.released`` counts the rest), unless ``every_change``.
        A read of fewer records than a chunk, or of an endpoint with links, is planned whole.
        """
        with self.store.atomic():  # plan_pull and apply_pull collect less often themselves
            chunked = _Chunked(run_id)
            plan = self.plan_pull(endpoint, chunked)
            if plans is not None:
                plans.append(plan)
            self.apply_pull(plan, run_id, chunked)
        return plan

    def plan_pull(self, endpoint: str, chunked: _Chunked | None = None) -> Plan:
        """Read an endpoint and work out what the store must change. Writes nothing, unless
        ``pull`` hands in ``chunked``: then a first import writes its plan chunk by chunk.

        Raises DeleteGuardError when the read would delete too much.
        """
        conn = self.connector(endpoint)
        plan = Plan(endpoint, "pull")
        if waited := self._await_listing(conn):
            plan.notes.append(f"waited {waited:.1f} s for {endpoint}'s listing (it may lag "
                              f"{conn.capabilities.listing_lag:g} s) to show creates of unknown outcome")
        plan.read_at = self.clock()
        plan.read_from = self.store.cursor_set(endpoint, CURSOR_STREAM)
        reading = _Reading(self.store, conn)
        with _fewer_collections():
            self._read_into(reading, plan, chunked)
        plan.counters.rejected = len(plan.rejected)
        plan.counters.requests, plan.counters.retried = conn.take_counts()
        if lag := conn.capabilities.listing_lag:  # our own creates the listing does not show yet
            young = self.store.created_since(endpoint, _iso(plan.read_at - lag))
            plan.unlisted = {cid for key, cid in reading.links.ids.items() if cid in young and key not in plan.seen}
        if plan.cursor and (plan.cursor.full_listing or plan.cursor.present is not None):
            self._plan_deletes(conn, reading.links, plan)
        if not (plan.cursor and plan.cursor.full_listing):
            self._still_rejected(plan)
            self._still_kept(plan)
        if (zone := declared_zone(conn)) and any(kind == "check_in" for kind, _ in plan.seen):
            plan.notes.append(f"check-in times without an offset read as {zone} (the mapping's timezone option)")
        return plan

    def _still_kept(self, plan: Plan) -> None:
        """Cells kept as text (unparsed.py) in records this read did not see again count as
        their last read left them, so every run says so; ``--strict`` rejects their records."""
        for kind, ext, column, reason in unparsed.in_links(self.store, plan.endpoint, skip=plan.seen):
            if self.strict:
                plan.rejected.append(Rejected(f"{kind} {ext}, column {column!r}", reason, record=f"{kind} {ext}"))
                plan.counters.rejected += 1
            else:
                plan.counters.kept += 1

    def _still_rejected(self, plan: Plan) -> None:
        """A read that did not see every record (nothing changed, or an incremental read)
        says nothing of places rejected before: they stay rejected, unless read fine now."""
        now = {r.where for r in plan.rejected}
        read = {f"{kind} {ext}" for kind, ext in plan.seen}
        for row in self.store.rejections([plan.endpoint], "pull"):
            if row["where"] not in now and row["record"] not in read:
                plan.rejected.append(Rejected(row["where"], row["reason"], record=row["record"] or ""))
                plan.counters.rejected += 1

    def _await_listing(self, conn: Connector) -> float:
        """Creates of unknown outcome younger than the tool's listing lag may have landed
        without showing yet: wait out the rest of the lag (at most the lag) before reading.
        Returns the seconds waited."""
        lag = conn.capabilities.listing_lag
        pending = self.store.pending_creates(conn.endpoint) if lag else {}
        wait = min(lag, _seconds(max(pending.values())) + lag - self.clock()) if pending else 0.0
        if wait > 0:
            self.sleep(wait)
        return max(wait, 0.0)

    def _read_into(self, reading: _Reading, plan: Plan, chunked: _Chunked | None = None) -> None:
        for item in reading.conn.read(self.store.cursor(plan.endpoint, CURSOR_STREAM)):
            if isinstance(item, Record):
                plan.counters.read += 1
                if item.key:
                    plan.keys[item.external_id] = item.key
                self._plan_record(reading, item, plan)
                if chunked is not None and chunked.on and len(plan.links) >= self.chunk:
                    # links: deletes and merges need the whole read, planned before anything is written
                    chunked.on = not reading.links
                    if chunked.on:
                        # first contact must not index this read's own records, written from now on
                        reading.matcher.ready()
                        chunked.fresh = reading.all_new
                        self._write_chunk(plan, chunked)
            elif isinstance(item, Rejected):
                plan.rejected.append(item)
            elif isinstance(item, Note):
                plan.notes.append(item.message)
            elif isinstance(item, Cursor):
                plan.cursor = item

    @staticmethod
    def _reject(plan: Plan, record: Record, reason: str, *, where: str = "", named: bool = True) -> None:
        """Reject a record read (``named``: the rejection names it, so reading it fine again clears it)."""
        plan.rejected.append(Rejected(where or record.where or record.external_id, reason,
                                      record=f"{record.kind} {record.external_id}" if named else ""))

    def _plan_record(self, reading: _Reading, record: Record, plan: Plan) -> None:
        """One record read: rejected, unchanged, or merged into the hub as the record it is."""
        key = (record.kind, record.external_id)  # one tuple for plan.seen and the read's link (issue 21)
        if key in plan.seen:
            return self._reject(plan, record, f"{record.kind} {record.external_id!r} read twice")
        plan.seen.add(key)
        fields = self._read_fields(reading, record, plan)
        if fields is not None and reading.all_new:  # what _own_kind and _identify find then, asked of nothing
            return self._create(reading, record, fields, plan, key)
        taken = self._own_kind(reading, record, fields, plan) if fields is not None else None
        if taken is None:
            return
        record, fields, sent = taken
        found = self._identify(reading, record, fields, sent, plan, key if record.kind == key[0] else None)
        if found is not None:
            cid, base = found
            self._merge(reading, record, cid, base, fields, plan)

    def _read_fields(self, reading: _Reading, record: Record, plan: Plan) -> dict[str, Any] | None:
        """The record's fields in canonical terms and as far as the endpoint holds them;
        None (rejected) when a reference points nowhere, or, ``--strict``, a cell was kept as text."""
        try:
            fields = self._to_canonical(record, reading, plan.referenced)
        except KeyError as e:
            return self._reject(plan, record, str(e.args[0]))
        fields = project(fields, self._fields(reading.conn, record.kind), plan.endpoint)
        kept = unparsed.in_record(fields, plan.endpoint)
        if kept and self.strict:  # --strict: a cell that does not convert rejects its record again
            where = f"{record.where or record.external_id}, column {kept[0][0]!r}"
            return self._reject(plan, record, kept[0][1], where=where)
        plan.counters.kept += len(kept)
        return fields

    def _own_kind(self, reading: _Reading, record: Record, fields: dict, plan: Plan) -> tuple | None:
        """(record, fields, interrupted create or None) as the kind the record is; None when
        it reads as another kind than it is linked as (rejected)."""
        if (record.kind, record.external_id) in reading.links:
            return record, fields, None
        half = self._half_made(reading, record, fields, plan)
        if half is not None:  # read as the kind okrsync made it: the push sends the parent it lacks
            plan.seen.add((half[0].kind, record.external_id))
            return half
        if (was := reading.kinds_of.get(record.external_id)) and was != record.kind:
            # the same record of the tool, now read as another kind: a partial read (a parent
            # not listed) more likely than a real change; taking it would duplicate the record
            return self._reject(plan, record, f"reads as a {record.kind.replace('_', ' ')} but is linked as a "
                                f"{was.replace('_', ' ')}; not taken (was part of the listing missing?); if it "
                                "really changed, delete and re-create it")
        return record, fields, None

    @staticmethod
    def _half_made(reading: _Reading, record: Record, fields: dict, plan: Plan) -> tuple | None:
        """A record a tool takes in several requests, read before the last one landed (Asana:
        a KR's goal made, its relationship to the objective not yet), has no parent and reads
        as another kind (an objective). Read as the kind okrsync made it, its parent blank so
        the push sends it: (record, fields, (canonical id, fields sent) or None) when it is
        linked as that kind without a parent already, or is an open create of that kind (the
        same title and the fields it holds as sent); else None."""
        for ref in REFERENCES.get(record.kind, ()):  # a loop, not any() over a generator: once per record read
            if fields.get(ref):
                return None  # it has a parent: not half made
        was = reading.kinds_of.get(record.external_id)
        if was and was != record.kind:
            base = load_record(was, reading.links[(was, record.external_id)][1] or "{}")
            if any(base.get(ref) for ref in REFERENCES.get(was, {})):
                return None  # it had a parent: a partial read, not a half-made record
            kind, shape, sent = was, base, None
        elif was or not (found := reading.matcher.half_made(record.kind, fields)):
            return None
        else:
            kind, cid, shape = found
            sent = (cid, shape)
        refs = REFERENCES.get(kind, {})
        return replace(record, kind=kind), {k: None if k in refs else fields.get(k) for k in shape}, sent

    def _identify(self, reading: _Reading, record: Record, fields: dict, sent, plan: Plan,
                  key: tuple[str, str] | None = None) -> tuple[str, dict] | None:
        """(canonical id, base) of the record to merge: linked, an interrupted create, or met
        for the first time; None when nothing is left to merge (unchanged, new, rejected).
        ``key``: the record's (kind, external id), when the caller made it already."""
        key = key or (record.kind, record.external_id)
        if key in reading.links:
            cid, base_json = reading.links[key]
            # a period's dates this read adds to a base okrsync wrote are no edit (periods.py)
            if base_json == record_json(fields) or base_json == record_json(periods.without(fields, plan.endpoint)):
                plan.counters.unchanged += 1
                return None
            return cid, load_record(record.kind, base_json) if base_json else {}
        if sent is None:
            sent = reading.matcher.sent(record.kind, record.external_id, fields, record.canonical_id)
        if sent is not None:
            return self._interrupted_create(reading, record, fields, sent, plan)
        return self._first_contact(reading, record, fields, plan, key)

    def _interrupted_create(self, reading: _Reading, record: Record, fields: dict, sent, plan: Plan) -> tuple | None:
        """A copy an interrupted push created: what it sent is the base, so edits made since
        (here or elsewhere, renames and deletes too) merge as usual. One of several creates
        of unknown outcome: never guessed, reported, and none of them is sent again."""
        if isinstance(sent, list):
            plan.held.update(sent)
            titles = ", ".join(repr(reading.matcher.title(c)) for c in sent[:5])
            return self._reject(plan, record, named=False, reason=(
                f"may be okrsync's interrupted create of any of {len(sent)} {record.kind.replace('_', ' ')}s "
                f"({titles}), changed since; not taken, and those creates are not sent again: rename it back "
                "to the title it was created with to say which, or delete it in the tool to have okrsync create it anew"))
        cid, base = sent
        # a value sent that the copy lacks was not written yet (a tool that takes a record
        # in several requests, Asana's status update, died between them), not cleared by
        # someone: the base takes the copy's blank, so the push writes the value again
        # instead of the blank flowing back as an edit made there
        base = {k: None if v is not None and fields.get(k) is None else v for k, v in base.items()}
        reading.take((record.kind, record.external_id), cid)
        if dumps(base) == dumps(fields) and self.store.get(cid) is None:
            plan.links.append(Link(record.kind, record.external_id, cid, fields, record.updated, False))
            plan.counters.unchanged += 1  # deleted in the hub since: the push deletes the copy
            return None
        return cid, base

    def _first_contact(self, reading: _Reading, record: Record, fields: dict, plan: Plan, key: tuple[str, str]) -> tuple | None:
        """An unlinked record no push sent: the canonical record it already is (every
        difference then a conflict), or a new one; several candidates are reported, not guessed."""
        found = reading.matcher.match(record.kind, record.external_id, fields, record.canonical_id)
        if isinstance(found, list):
            return self._reject(plan, record, f"matches {len(found)} existing {record.kind.replace('_', ' ')}s "
                                f"({', '.join(found[:5])}); give the records ids, or make their titles distinct, to say which")
        if found is not None:
            reading.take(key, found)
            return found, {}
        return self._create(reading, record, fields, plan, key)

    @staticmethod
    def _create(reading: _Reading, record: Record, fields: dict, plan: Plan, key: tuple[str, str]) -> None:
        """A record read that is none the hub holds: created as it is, linked in step."""
        cid = new_id(record.kind)
        reading.take(key, cid)
        plan.changes.append(Change("create", record.kind, cid, record.external_id, fields, actor=record.actor))
        plan.counters.created += 1
        plan.links.append(Link(record.kind, record.external_id, cid, fields, record.updated, True))

    def _merge(self, reading: _Reading, record: Record, cid: str, base: dict, fields: dict, plan: Plan) -> None:
        """Three-way merge of one record (``merge.py``): the endpoint's edits, the hub's, the policy."""
        if fields.get("period") != base.get("period") and periods.same(fields.get("period"), base.get("period")):
            # the tool's spelling of the same period (Jira's okr-2026-Q1 for "Q1 2026") is no edit
            fields = {**fields, "period": base.get("period")}
        current = self.store.get_any(cid)
        old = current[1] if current and current[2] == 0 else {}
        if not old and self._stays_gone(record, cid, base, fields, current, plan):
            return
        # deleted or archived in the hub but edited here: the edit wins, the record returns
        origins: dict[str, str | None] = {}
        waiting = {name for c, name in reading.waiting if c == cid} if reading.waiting else ()
        # a levels KR on a tool without levels is held there as numbers: merge against those
        numeric = old.get("direction") == "levels" and not reading.conn.capabilities.levels
        held = ordinal.as_numeric(old) if numeric else old
        merged = merge(base, fields, held, lambda name: self._decide(record, cid, name, plan, origins), waiting)
        result = merged.fields
        if numeric:  # the tool's edits of the numbers, read back as the level reached
            result, said = ordinal.read_back(old, {**old, **diff_values(held, result)}, plan.endpoint)
            plan.notes += said
        for c in merged.contested:
            plan.conflicts.append(Conflict(cid, record.kind, c.field, c.base, c.theirs, c.ours, plan.endpoint,
                                           origins[c.field], c.decision, str(self.policy.rule(c.field))))
        plan.counters.conflicts += len(merged.contested)
        if change := diff(old, result):
            plan.changes.append(Change("update" if old else "restore", record.kind, cid, record.external_id,
                                       result, change, record.actor))
            plan.counters.updated += 1
        else:
            plan.counters.unchanged += 1
        in_step = not diff(project(held_as(result, numeric), self._fields(reading.conn, record.kind), plan.endpoint),
                           merged.base)
        plan.links.append(Link(record.kind, record.external_id, cid, merged.base, record.updated, in_step))

    def _stays_gone(self, record: Record, cid: str, base: dict, fields: dict, current, plan: Plan) -> bool:
        """A record the hub holds no more stays gone when the endpoint did not edit it (the
        push deletes it there), or when its edit lost to the delete (``delete-wins``)."""
        if not diff(base, fields):
            plan.counters.unchanged += 1
            return True
        if current and self._edit_against_delete(record.kind, cid, fields, plan, deleted_here=False):
            # the delete stands: linked (a copy an interrupted push left may not be yet),
            # so the push deletes it here too
            plan.links.append(Link(record.kind, record.external_id, cid, fields, record.updated, False))
            plan.counters.unchanged += 1
            return True
        return False

    def _decide(self, record: Record, cid: str, name: str, plan: Plan, origins: dict[str, str | None]) -> str:
        """The policy's decision on a field both sides changed; ``origins`` notes where the hub's value came from."""
        origin = self.store.last_change(cid, name)
        origins[name] = ours_from = origin[0] if origin else None
        ours_time = self.store.remote_updated(ours_from, cid) if ours_from else None
        return self.policy.decide(name, plan.endpoint, record.updated, ours_from, ours_time)

    def _plan_deletes(self, conn: Connector, links, plan: Plan) -> None:
        """Linked records the read no longer shows: deleted, archived or ignored per the
        endpoint's ``deletes`` option; never from a read that rejected rows or looks cut
        short, and never beyond the delete guard (``guard.py``)."""
        missing = self._missing(links, plan)
        if not missing:
            return
        gone = {ext for (_, ext), _ in missing}
        # a row we could not read may be one of the "missing" ones; a rejection naming a record
        # (a value the tool truncated, of a record read whole) says which it is not
        if any(not r.record or r.record.split(" ", 1)[-1] in gone for r in plan.rejected):
            plan.notes.append(f"{len(missing)} linked record(s) not found, but rows were rejected: "
                              "deletes are not taken from this read")
            return
        present = plan.cursor.present
        listed = plan.seen or any(present.values()) if present else plan.seen
        guard.check(plan.endpoint, len(missing), len(links), listed=bool(listed),
                    max_ratio=self.policy.max_delete_ratio, allow=self.allow_mass_delete)
        pointed_at = [key for key, _ in missing if key in plan.referenced]
        if pointed_at:  # records read point at records the listing left out: it is incomplete
            plan.notes.append(f"{len(missing)} linked record(s) not found, but records read still point at "
                              f"{len(pointed_at)} of them (e.g. {pointed_at[0][1]}): the listing looks incomplete, "
                              "so no deletes are taken from it")
            return
        rule = conn.options.get("deletes", "propagate")
        kept = set() if rule == "ignore" else self._edited_since(conn, links, missing, plan)
        for (kind, ext), cid in missing:
            plan.unlinks.append((kind, ext))
            if rule == "ignore" or cid in kept:  # the record is written back to the endpoint on the next push
                continue
            plan.changes.append(Change("delete" if rule == "propagate" else "archive", kind, cid, ext, None))
            plan.counters.deleted += 1

    @staticmethod
    def _missing(links, plan: Plan) -> list[tuple[tuple[str, str], str]]:
        """(key, canonical id) of linked records the read judges gone: not in a full listing,
        or not among the ids an id listing gives for their kind; not those our own creates a
        lagging listing does not show yet."""
        present, full = plan.cursor.present, plan.cursor.full_listing
        return [(key, cid) for key, cid in links.ids.items()
                if key not in plan.seen and cid not in plan.unlisted
                and (full or (key[0] in present and key[1] not in present[key[0]]))]

    def _edited_since(self, conn: Connector, links, missing: list, plan: Plan) -> set[str]:
        """Records deleted on this endpoint that changed elsewhere after it last agreed on
        them: the policy decides; returns those kept (with the parents they need), which
        the next push restores here."""
        kept: set[str] = set()
        for (kind, ext), cid in missing:
            current = self.store.get(cid)
            base = load_record(kind, links[(kind, ext)][1] or "{}")
            if (current and diff(base, project(current[1], self._fields(conn, kind), plan.endpoint))
                    and not self._edit_against_delete(kind, cid, current[1], plan, deleted_here=True)):
                kept.add(cid)
        return self._with_parents(kept, {cid for _, cid in missing})

    def _with_parents(self, kept: set[str], gone: set[str]) -> set[str]:
        """``kept`` and the parents among ``gone`` they need (a kept KR needs its objective)."""
        kept, todo = set(kept), list(kept)
        while todo:
            found = self.store.get(todo.pop())
            for ref in REFERENCES.get(found[0], {}) if found else ():
                if (parent := found[1].get(ref)) in gone and parent not in kept:
                    kept.add(parent)
                    todo.append(parent)
        return kept


    def _edit_against_delete(self, kind: str, cid: str, fields: dict, plan: Plan, *, deleted_here: bool) -> bool:
        """A delete and an edit made after the last agreed state meet: report and log the
        loser (a conflict on the whole record, field ``*``); True when the delete wins."""
        delete_wins = self.policy.deletes_when_edited == "delete-wins"
        title = fields.get("title") or cid
        other = self.store.last_change(cid, None if deleted_here else "*")  # the edit's origin, or the delete's
        other = other[0] if other else None
        if deleted_here:  # the endpoint read deleted it; the hub holds the edit
            theirs, ours, decision = None, fields, "theirs" if delete_wins else "ours"
        else:  # the hub holds the delete; the endpoint read holds the edit
            theirs, ours, decision = fields, None, "ours" if delete_wins else "theirs"
        plan.conflicts.append(Conflict(cid, kind, "*", None, theirs, ours, plan.endpoint, other, decision,
                                       self.policy.deletes_when_edited))
        plan.counters.conflicts += 1
        where = f"{kind.replace('_', ' ')} {title!r} ({cid})"
        if delete_wins:
            plan.notes.append(f"edit lost to a delete: {where} was edited and deleted since the last sync; it stays "
                              "deleted everywhere (sync.deletes.when_edited: delete-wins); the edit is in the change log")
        else:
            plan.notes.append(f"delete lost to an edit: {where} was deleted on {plan.endpoint if deleted_here else other} "
                              "but edited since the last sync; it is kept and restored where it was deleted "
                              "(sync.deletes.when_edited: edit-wins)")
        return delete_wins

    def _to_canonical(self, record: Record, by_ext, referenced: set | None = None) -> dict[str, Any]:
        """Swap the endpoint's ids in reference fields for canonical ids (a new dict if any);
        ``by_ext`` answers ``get((kind, ext))`` (a dict, or a pull's ``_Reading``);
        ``referenced`` collects what the record points at."""
        swaps = {}
        for ref, targets in _TARGETS.get(record.kind, ()):
            value = record.fields.get(ref)
            if value is None:
                continue
            cid = None
            for t in reversed(targets):  # plain loops, not generators: once per record read
                if referenced is not None:
                    referenced.add((t, value))
                cid = by_ext.get((t, value), cid)  # the first target that has it wins
            if cid is None:
                raise KeyError(f"{ref} points at {value!r}, which is not a known {' or '.join(targets)} of this endpoint")
            swaps[ref] = cid
        return {**record.fields, **swaps} if swaps else record.fields

    def _updated_to_base(self, plan: Plan) -> set[str]:
        """Entities this pull updates to exactly the endpoint's record (its edit taken whole):
        their new base is the entity's new fields, shared. Their shared bases are set aside
        first, so the update does not copy the old fields there only to be overwritten."""
        updated = {c.canonical_id: c.fields for c in plan.changes if c.op == "update" and c.fields is not None}
        ids = {link.canonical_id for link in plan.links if link.canonical_id in updated and isinstance(link.base, dict)
               and record_json(link.base) == record_json(updated[link.canonical_id])}
        self.store.set_bases_aside(plan.endpoint, ids)
        return ids

    def apply_pull(self, plan: Plan, run_id: int, chunked: _Chunked | None = None) -> None:
        """Write a pull plan: entities, change log, conflicts, links and cursor, all or nothing
        (``chunked``: the last chunk of a plan ``pull`` wrote chunk by chunk)."""
        self._check_strict(plan)
        self._unlisted[plan.endpoint] = plan.unlisted
        # _fewer_collections: the bulk insert builds 100,000s of row tuples next to the plan's
        # records; default thresholds spent ~10 % of a 50,000-KR apply in the cyclic collector
        with _fewer_collections(), self.store.atomic():
            krs = None
            if chunked is not None and chunked.on and chunked.written:
                self._write_chunk(plan, chunked)
                self.store.restore_indexes(chunked.indexes)  # before anything asks them
                krs = chunked.touched
            else:
                self._write_changes(plan, run_id)
            self.store.set_rejections(plan.endpoint, "pull", _places(plan.rejected), run_id)
            self._settle_creates(plan)
            # a KR's current value is its latest check-in (checkins.py): one truth after every pull
            plan.notes += checkins.settle(self.store, run_id, plan.endpoint, plan.changes, krs).notes(plan.endpoint)
            if plan.cursor is not None:
                self.store.set_cursor(plan.endpoint, CURSOR_STREAM, plan.cursor.value, run_id)

    def _write_chunk(self, plan: Plan, chunked: _Chunked) -> None:
        """Write what ``plan`` holds beyond ``chunked``'s marks, then let it go: the links and keys,
        every change but the first ``LISTED`` of the plan (counted in ``released``)."""
        part = Plan(plan.endpoint, "pull", changes=plan.changes[chunked.changes:], conflicts=plan.conflicts[chunked.conflicts:],
                    links=plan.links, keys=plan.keys, counters=plan.counters)
        if not chunked.written:
            chunked.indexes = self.store.drop_indexes("entities", "changes", "links")
        self._write_changes(part, chunked.run_id, revive=not chunked.fresh)
        checkins.touched(self.store, part.changes, chunked.touched)
        keep = len(part.changes) if self.every_change else max(0, LISTED - chunked.changes)
        for c in part.changes[keep:]:
            plan.released[c.op] = plan.released.get(c.op, 0) + 1
        plan.changes[chunked.changes:] = part.changes[:keep]
        plan.links, plan.keys = [], {}
        chunked.changes, chunked.conflicts, chunked.written = len(plan.changes), len(plan.conflicts), chunked.written + 1

    def _write_changes(self, plan: Plan, run_id: int, *, revive: bool = True) -> None:
        """The records of a pull plan: entities, change log, conflicts, links and keys, unlinks,
        parents revived and check-ins buried (the rest of a pull is written once, ``apply_pull``)."""
        with self.store.atomic():
            created = {c.canonical_id for c in plan.changes if c.op == "create"}
            shared = created | self._updated_to_base(plan)
            digests = self.store.create_many(run_id, plan.endpoint,
                                             ((c.kind, c.canonical_id, c.fields) for c in plan.changes if c.op == "create"),
                                             {c.canonical_id: c.actor for c in plan.changes if c.actor})
            # updates in batches (their diffs are the plan's), each where it stands among the
            # other changes: the change log keeps the plan's order
            for op, run in itertools.groupby((c for c in plan.changes if c.op != "create"), key=lambda c: c.op):
                if op == "update":
                    self.store.update_many(run_id, plan.endpoint,
                                           ((c.kind, c.canonical_id, c.fields, c.changed, c.actor) for c in run))
                    continue
                for c in run:
                    if op in ("delete", "archive"):
                        self.store.mutate(run_id, plan.endpoint, c.kind, c.canonical_id, None, change=op)
                    else:
                        self.store.mutate(run_id, plan.endpoint, c.kind, c.canonical_id, c.fields, actor=c.actor)
            for k in plan.conflicts:
                self._record_conflict(k, run_id)
            # a new record's base is its fields: the entity's JSON, not stored again; so is
            # the base of a record updated to what this endpoint holds
            self.store.set_links(plan.endpoint, run_id, plan.links, shared, digests)
            self.store.set_keys(plan.endpoint, plan.keys)
            for kind, ext in plan.unlinks:
                self.store.drop_link(plan.endpoint, kind, ext)
            if revive:  # (not for a read into an empty hub: nothing there can be deleted)
                self._revive_parents(plan, run_id)
            self._bury_check_ins(plan, run_id)

    def _settle_creates(self, plan: Plan) -> None:
        """Creates of unknown outcome this read linked are done; those a read that could see
        them, made after the tool's listing lag, did not find did not land: the push may send
        them again. A read that can see a create is a full listing, or an incremental one from
        a cursor stored before the create was sent. A read that rejected rows, or saw a record
        that may be one of them, settles nothing: they stay open (held, reported)."""
        self.store.settle_intents(plan.endpoint)
        if plan.cursor is None or plan.rejected:
            return
        lag = self.connector(plan.endpoint).capabilities.listing_lag
        since = None if plan.cursor.full_listing or plan.read_from is None else _seconds(plan.read_from)
        self.store.absent_intents(plan.endpoint, [cid for cid, at in self.store.pending_creates(plan.endpoint).items()
                                                  if cid not in plan.held and _seconds(at) + lag <= plan.read_at
                                                  and (since is None or since <= _seconds(at))])

    def _revive_parents(self, plan: Plan, run_id: int) -> None:
        """New work beats a delete: a live record under a deleted parent (a KR made in one
        tool while another deleted its objective) brings the parent back, as an edit does.
        A check-in is no such work: it goes with its KR (``_bury_check_ins``)."""
        suspects, seen = self._orphaned_parents(plan), set()
        while suspects:
            cid = suspects.pop()
            if cid in seen:
                continue
            seen.add(cid)
            found = self.store.get_any(cid)
            if found and found[2] == 1:
                self.store.mutate(run_id, plan.endpoint, found[0], cid, found[1], change="restore")
                suspects += [v for ref in REFERENCES.get(found[0], {}) if isinstance(v := found[1].get(ref), str)]

    def _orphaned_parents(self, plan: Plan) -> list[str]:
        """Parents that may be deleted under live records: those the plan's new or changed
        records point at, and, when it deletes, those deleted with live records under them."""
        written = {c.canonical_id for c in plan.changes if c.fields}  # alive: no need to look
        suspects = list({v for c in plan.changes if c.fields and c.kind != "check_in" for ref in REFERENCES.get(c.kind, {})
                         if isinstance(v := c.fields.get(ref), str) and v not in written})
        deleted = {c.canonical_id for c in plan.changes if c.op == "delete"}
        if deleted:
            suspects += [v for _, kind, f in self.store.entities() if kind != "check_in" for ref in REFERENCES.get(kind, {})
                         if (v := f.get(ref)) in deleted]
        return suspects

    def _bury_check_ins(self, plan: Plan, run_id: int) -> None:
        """A KR's check-ins are deleted with it: the hub keeps those of tools that hold them,
        and a delete read from a tool that holds none must not leave them behind (nor bring
        the KR back as if they were edits). A KR an edit kept, or new work revived, is live:
        its check-ins stay. The deletes are added to the plan, so the summary counts them."""
        if not any(c.kind == "check_in" or (c.op == "delete" and c.kind == "key_result") for c in plan.changes):
            return
        for cid, fields in self.store.orphans("check_in", "key_result_id"):
            self.store.mutate(run_id, plan.endpoint, "check_in", cid, None, old=fields)
            plan.changes.append(Change("delete", "check_in", cid, None, None))
            plan.counters.deleted += 1

    def _record_conflict(self, k: Conflict, run_id: int) -> None:
        """Keep the losing value in the change log; queue manual ones for the user."""
        if k.decision == "manual":
            self.store.add_conflict(run_id, k.entity_id, k.field, k.base,
                                    {k.endpoint: k.theirs, k.ours_origin or "hub": k.ours})
            self.store.log_change(run_id, k.endpoint, k.kind, k.entity_id, k.field, k.ours, k.theirs, "conflict")
        elif k.decision == "theirs":  # the hub's value lost: old = the winner, new = the loser
            self.store.log_change(run_id, k.ours_origin or "hub", k.kind, k.entity_id, k.field, k.theirs, k.ours, "conflict")
        else:
            self.store.log_change(run_id, k.endpoint, k.kind, k.entity_id, k.field, k.ours, k.theirs, "conflict")

    def apply_resolutions(self, run_id: int) -> int:
        """Apply conflicts the user resolved since the last run; returns how many."""
        done = 0
        with self.store.atomic():
            for c in self.store.conflicts("resolved"):
                current = self.store.get(c["entity_id"])
                if current is not None:
                    kind, fields = current
                    self.store.mutate(run_id, f"resolution:{c['resolution']['from']}", kind, c["entity_id"],
                                      {**fields, c["field"]: c["resolution"]["value"]}, actor=c["resolution"].get("by"))
                    for endpoint, value in c["candidates"].items():
                        # the endpoint's edit has been seen: its next read is no news, and
                        # the push writes the resolution to it
                        self.store.update_base(endpoint, c["entity_id"], c["field"], value)
                self.store.conflict_applied(c["id"])
                done += 1
        return done

    # ------------------------------------------------------------ push

    def plan_push(self, endpoint: str) -> Plan:
        """Compare the canonical state with what the endpoint last agreed with."""
        conn = self.connector(endpoint)
        plan = Plan(endpoint, "push", batch=WriteBatch())
        # since the endpoint's push mark, only records changed after it can be out of step
        mark, plan.push_mark = self.store.push_mark(endpoint), self.store.last_change_id()
        plan.counters.unchanged = self.store.in_step(endpoint, count=True, mark=mark)
        candidates = list(self.store.push_candidates(endpoint, mark))  # the rest is in step: not even read
        out = _Outgoing(conn, self.store.pending_creates(endpoint), self._unlisted.get(endpoint, set()),
                        # a few: looked up one by one; many (a first push): all at once
                        _ExternalIds(self.store, endpoint) if len(candidates) < _FEW else self.store.external_ids(endpoint),
                        self.store.open_conflict_fields())
        for cid, kind, fields in candidates:
            allowed = self._fields(conn, kind)
            if allowed == set() or kind in conn.capabilities.read_only:
                continue
            projected = project(self._held(conn, kind, fields), allowed, endpoint)
            if cid in out.by_cid:
                self._push_update(out, plan, cid, kind, projected)
            else:
                self._push_create(out, plan, cid, kind, projected, fields.get("title"))
        self._push_deletes(out, plan)
        if (not conn.capabilities.levels and self._fields(conn, "key_result") != set()
                and (krs := self.store.key_results_by_levels())):  # named by title and the tools' ids
            plan.notes += ordinal.held_as_numbers(endpoint, krs, Names.of(self.store).label)
        if out.waiting_listing or plan.rejected:  # records left out: a later push must look at them again
            plan.push_mark = None
        if out.waiting_listing:
            plan.notes.append(f"{out.waiting_listing} record(s) okrsync created on {endpoint} are not in its listing yet "
                              f"(it may lag {conn.capabilities.listing_lag:g} s): their updates and deletes wait for a "
                              "run whose read shows them, so an edit made there meanwhile is not overwritten")
        return plan

    @staticmethod
    def _held(conn: Connector, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``fields`` as ``conn`` can hold them: a KR measured by levels becomes a numeric KR
        0..n on a tool without levels (``levels.as_numeric``; every push notes it)."""
        return held_as(fields, kind == "key_result" and not conn.capabilities.levels)

    def _push_update(self, out: _Outgoing, plan: Plan, cid: str, kind: str, projected: dict) -> None:
        """A linked record: an update of what differs from the endpoint's base, or in step."""
        if cid in out.unlisted:
            out.waiting_listing += 1
            return
        ext = out.by_cid[cid]
        base_json = self.store.base(plan.endpoint, cid)
        base = load_record(kind, base_json) if base_json else {}
        if waits := [n for n in projected if (cid, n) in out.waiting]:  # a copy: project() may share the record's dict
            projected = {**projected, **{name: base.get(name) for name in waits}}  # neither side is overwritten while it waits
        outgoing = Record(kind, ext, self._to_external(projected, out.by_cid), canonical_id=cid)
        if base_json == record_json(projected) or not diff(base, projected):
            plan.batch.unchanged.append(outgoing)
            plan.counters.unchanged += 1
            return
        plan.changes.append(Change("update", kind, cid, ext, projected, diff(base, projected)))
        plan.batch.updates.append(outgoing)
        plan.counters.updated += 1

    def _push_create(self, out: _Outgoing, plan: Plan, cid: str, kind: str, projected: dict, title) -> None:
        """A record the endpoint lacks: a create, unless an earlier create of it (or of its
        parent) has an unknown outcome (at most once: held and reported)."""
        waits = next((v for ref in REFERENCES.get(kind, {}) if (v := projected.get(ref)) in out.held), None)
        if cid in out.pending or waits:
            out.held.add(cid)
            why = (f"an earlier create of it on {plan.endpoint} has an unknown outcome (its run died or the answer "
                   f"was lost); not sent again until a read of {plan.endpoint} that can see it shows whether it landed "
                   "(the next sync settles it)") if cid in out.pending else f"waits for {waits}, whose create is held"
            plan.rejected.append(Rejected(f"{kind.replace('_', ' ')} {cid} ({title!r})", why))
            plan.counters.rejected += 1
            return
        if out.hints is None:
            out.hints = self._id_hints(plan.endpoint)
        plan.changes.append(Change("create", kind, cid, None, projected))
        plan.batch.creates.append(Record(kind, out.hints.get(cid, cid), self._to_external(projected, out.by_cid),
                                         canonical_id=cid))
        plan.counters.created += 1

    def _push_deletes(self, out: _Outgoing, plan: Plan) -> None:
        """Linked records deleted in the hub: deleted on the endpoint (not read-only kinds)."""
        for kind, ext, cid in self.store.deleted_links(plan.endpoint):
            if self._fields(out.conn, kind) == set() or kind in out.conn.capabilities.read_only:
                continue
            if cid in out.unlisted:
                out.waiting_listing += 1
                continue
            plan.changes.append(Change("delete", kind, cid, ext, None))
            plan.batch.deletes.append(Record(kind, ext, {}, canonical_id=cid))
            plan.counters.deleted += 1

    def _id_hints(self, endpoint: str) -> dict[str, str]:
        """For creates: the id another endpoint already uses (earliest in ``sync.order``), so
        "CO-1" in the planning sheet is "CO-1" on the board too. A connector takes the hint
        only where the id is free; ids made from titles (spaces, "/") are not hints."""
        rank = {name: i for i, name in enumerate(self.policy.order)}
        hints: dict[str, tuple[int, str]] = {}
        for other, _, ext, cid in self.store.all_links(besides=endpoint):
            if any(c.isspace() for c in ext) or "/" in ext:
                continue
            r = rank.get(other, len(rank))
            if cid not in hints or r < hints[cid][0]:
                hints[cid] = (r, ext)
        return {cid: ext for cid, (_, ext) in hints.items()}

    @staticmethod
    def _to_external(fields: dict[str, Any], by_cid: dict[str, str] | _ExternalIds) -> dict[str, Any]:
        """Swap canonical ids in reference fields for the endpoint's ids (new records keep theirs)."""
        swaps = {name: by_cid[value] for name, value in fields.items()
                 if name.endswith("_id") and isinstance(value, str) and value in by_cid}
        return {**fields, **swaps} if swaps else fields  # shared when nothing changes: big plans stay small

    def apply_push(self, plan: Plan, run_id: int) -> None:
        """Record intents, write the endpoint, then record what it now agrees with."""
        agreed = [r.canonical_id for r in plan.batch.unchanged]
        with self.store.atomic():
            self.store.settle_intents(plan.endpoint)  # those the pulls have linked since
        if not plan.batch:
            with self.store.atomic():
                self.store.mark_in_step(plan.endpoint, agreed)  # compared equal: skip them next time
                self._set_push_mark(plan)
            # a refused write is planned again (no link or base moved): sending nothing, nothing is refused
            self.store.set_rejections(plan.endpoint, "push", (), run_id)
            return
        conn = self.connector(plan.endpoint)
        if conn.capabilities.writes == "snapshot" and conn.in_step_on_demand:
            plan.batch.in_step = _InStep(self, conn, plan.batch)  # a patch loads few of them
        elif conn.capabilities.writes == "snapshot":  # it rewrites everything: give it the records in step too
            plan.batch.unchanged.extend(self._in_step_records(conn))
        with self.store.atomic():  # committed before the remote sees anything
            sent = {c.canonical_id: c.fields for c in plan.changes if c.op == "create"}
            self.store.add_intents(run_id, plan.endpoint,
                                   [(r.kind, r.canonical_id, sent.get(r.canonical_id)) for r in plan.batch.creates],
                                   at=_iso(self.clock()))
        plan.batch.cursor = self.store.cursor(plan.endpoint, CURSOR_STREAM)
        result = conn.write(plan.batch)
        if plan.batch.creates:
            self.store.answer_intents(plan.endpoint, result.external_ids)
        self._count_write(conn, plan, result)
        self._record_push(plan, result, run_id, agreed)

    def _in_step_records(self, conn: Connector, keys: Iterable[tuple[str, str]] | None = None) -> list[Record]:
        """The records an endpoint holds as they are, as a snapshot writer is given them
        (every one, or those of the (kind, external id) keys given)."""
        if keys is None:
            by_cid, rows = self.store.external_ids(conn.endpoint), self.store.in_step(conn.endpoint)
        else:
            by_cid, rows = _ExternalIds(self.store, conn.endpoint), self.store.in_step_of(conn.endpoint, keys)
        return [Record(kind, by_cid[cid], self._to_external(project(self._held(conn, kind, fields), self._fields(conn, kind),
                                                                   conn.endpoint), by_cid), canonical_id=cid)
                for cid, kind, fields in rows if self._fields(conn, kind) != set()]

    @staticmethod
    def _count_write(conn: Connector, plan: Plan, result: WriteResult) -> None:
        """Requests, retries and refusals of a write, into the plan."""
        requests, retried = conn.take_counts()
        plan.counters.requests += max(requests, result.requests)
        plan.counters.retried += retried
        plan.rejected.extend(result.rejected)
        plan.counters.rejected += len(result.rejected)

    def _record_push(self, plan: Plan, result: WriteResult, run_id: int, agreed: list[str]) -> None:
        """What the endpoint agrees with now, in one transaction: links and bases, keys,
        deletes, intents settled or refused, rejections and the cursor after our write."""
        rejected = {r.where for r in result.rejected}
        refused = [r.canonical_id for r in plan.batch.creates if r.canonical_id in rejected or r.external_id in rejected]
        plan.counters.created -= len(refused)  # planned, but not made
        with self.store.atomic():
            self.store.set_links(plan.endpoint, run_id, self._pushed_links(plan, result, rejected))
            self.store.set_keys(plan.endpoint, result.keys)
            for record in plan.batch.deletes:
                if record.external_id not in rejected:
                    self.store.drop_link(plan.endpoint, record.kind, record.external_id)
            self.store.mark_in_step(plan.endpoint, agreed)
            self.store.refuse_intents(plan.endpoint, refused)
            self.store.settle_intents(plan.endpoint)
            self.store.set_rejections(plan.endpoint, "push", _places(result.rejected), run_id)
            if result.cursor is not None:
                self.store.set_cursor(plan.endpoint, CURSOR_STREAM, result.cursor, run_id)
            self._set_push_mark(plan)

    def _set_push_mark(self, plan: Plan) -> None:
        """The endpoint holds every live record as the hub does, up to the plan's last change
        row: its next push looks only at what changes after (``Store.push_mark``)."""
        if plan.push_mark is not None and not plan.rejected:
            self.store.set_push_mark(plan.endpoint, plan.push_mark)

    def _pushed_links(self, plan: Plan, result: WriteResult, rejected: set[str]) -> list[Link]:
        """Links of the records written (their base: the fields sent) and of those a tool
        keyed by title renamed (the link moves; base and update time stay)."""
        fields_of = {c.canonical_id: c.fields for c in plan.changes if c.fields is not None}
        created = {r.canonical_id for r in plan.batch.creates}  # not linked there: nothing to look up
        links = []
        for record in (*plan.batch.creates, *plan.batch.updates, *plan.batch.unchanged):
            cid = record.canonical_id
            ext = result.external_ids.get(cid, record.external_id)
            if record.external_id in rejected or cid in rejected or (cid not in fields_of and ext == record.external_id):
                continue
            if ext != record.external_id:  # a title-keyed tool renamed it: move the link
                self.store.unlink(plan.endpoint, cid)
            base_json, updated = (None, None) if cid in created else self.store.link_base(plan.endpoint, cid)
            base = fields_of.get(cid)
            # the remote update time stays: it says when the endpoint's own values were made
            links.append(Link(record.kind, ext, cid, load_record(record.kind, base_json or "{}") if base is None else base, updated,
                              base is not None))
        return links

    def _check_strict(self, plan: Plan) -> None:
        if self.strict and plan.rejected:
            shown = "\n  ".join(str(r) for r in plan.rejected[:20])
            more = f"\n  … and {len(plan.rejected) - 20} more" if len(plan.rejected) > 20 else ""
            raise OkrsyncError(f"{plan.endpoint}: {len(plan.rejected)} record(s) could not be read "
                               f"(--strict stops the run; nothing was written):\n  {shown}{more}")


def _places(rejected: Iterable[Rejected]) -> list[tuple[str, str, str]]:
    """(where, record, reason) of rejections, as the store keeps them."""
    return [(r.where, r.record, r.reason) for r in rejected]


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@contextmanager
def _fewer_collections():
    """A big read allocates hundreds of thousands of small acyclic dicts that the plan keeps;
    the cyclic collector's full passes over that growing heap cost ~10 % of a 50,000-row
    import. Collect less often while reading and applying (garbage cycles are rare here)."""
    old = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*old)


ALL_EXTRAS = "extra.*"  # in a connector's fields(): it holds every tool's extra, not only its own (okr-json)


def project(fields: dict[str, Any], allowed: set[str] | None, endpoint: str) -> dict[str, Any]:
    """The part of a record an endpoint holds: its allowed fields and its own ``extra``.
    ``fields`` itself when it holds nothing else (never change the result in place)."""
    # with why its cells were kept as text, and the dates it gave its periods
    if allowed is not None and allowed.issuperset(fields):  # most records: every field allowed, one C-level test
        return fields
    own = (f"extra.{endpoint}.", unparsed.prefix(endpoint), periods.prefix(endpoint))
    if allowed is None:
        keep = lambda k: not k.startswith("extra.") or k.startswith(own)  # noqa: E731
    elif ALL_EXTRAS in allowed:
        keep = lambda k: k in allowed or k.startswith("extra.")  # noqa: E731
    else:
        keep = lambda k: k in allowed or k.startswith(own)  # noqa: E731
    # a pull projects every record read onto its own endpoint, which drops nothing: a copy
    # would hold each record's fields twice while the read lasts (56 MB at 100,000 KRs)
    if all(map(keep, fields)):
        return fields
    return {k: v for k, v in fields.items() if keep(k)}


def ordered(endpoints: Iterable[str], order: list[str] | None) -> list[str]:
    names = list(endpoints)
    first = [n for n in (order or []) if n in names]
    return first + [n for n in names if n not in first]


def held_as(fields: dict[str, Any], numeric: bool) -> dict[str, Any]:
    """A levels KR's fields as numbers (``levels.as_numeric``) when ``numeric``; anything else as it is."""
    return ordinal.as_numeric(fields) if numeric and fields.get("direction") == "levels" else fields


def diff_values(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``after`` whose value differs from ``before``'s."""
    return {k: v for k, v in after.items() if before.get(k) != v}
