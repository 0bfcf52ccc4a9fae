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

``plan_pull`` / ``plan_push`` read but write nothing (a dry run prints them);
``apply_pull`` writes the store in one transaction (entities, change log, conflicts, links,
cursor); ``apply_push`` records write intents, writes the endpoint, then records links and
bases in one transaction. First contact links records that exist on both sides (by id,
then by normalised title + period + parent) instead of duplicating them. Deletes come from
full listings, follow the endpoint's ``deletes`` policy and are guarded against mass loss.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import checkins, periods, unparsed
from . import policy as policy_mod
from .connector import Connector, Context, Cursor, Note, Record, Rejected, WriteBatch
from .errors import DeleteGuardError, OkrsyncError
from .mapping import declared_zone
from .model import REFERENCES
from .store import Store, diff, dumps, new_id
from .transforms import normalise_key

CURSOR_STREAM = "records"


@dataclass
class Counters:
    read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    conflicts: int = 0
    rejected: int = 0
    retried: int = 0  # requests sent again after a 429, 5xx or timeout (HTTP connectors)
    requests: int = 0
    kept: int = 0  # cells kept as text (unparsed.py), counted on every pull from the link bases

    def add(self, other: Counters) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Change:
    """One planned canonical or remote change."""

    op: str  # create | update | delete | archive
    kind: str
    canonical_id: str
    external_id: str | None
    fields: dict[str, Any] | None  # the new fields (canonical terms); None for deletes
    changed: dict[str, tuple[Any, Any]] | None = None  # {field: (old, new)}; None: every field of a create
    where: str = ""

    @property
    def diff(self) -> dict[str, tuple[Any, Any]]:
        """What changes, field by field (made on demand for creates: imports hold thousands)."""
        if self.changed is None:
            return diff({}, self.fields) if self.fields else {}
        return self.changed

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "kind": self.kind, "id": self.canonical_id, "external_id": self.external_id,
                "changes": {k: {"old": o, "new": n} for k, (o, n) in sorted(self.diff.items())}}


@dataclass
class Conflict:
    """One field both sides changed differently, and how the policy settled it."""

    entity_id: str
    kind: str
    field: str
    base: Any
    theirs: Any  # the value the endpoint being read holds
    ours: Any  # the value the hub holds
    endpoint: str
    ours_origin: str | None
    decision: str  # theirs | ours | manual
    rule: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.entity_id, "kind": self.kind, "field": self.field, "base": self.base,
                "theirs": self.theirs, "ours": self.ours, "endpoint": self.endpoint,
                "ours_from": self.ours_origin, "decision": self.decision, "rule": self.rule}


@dataclass
class Plan:
    """What a pull or push of one endpoint would do."""

    endpoint: str
    direction: str  # pull | push
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # kind, ext, canonical id, base, remote update time, in step (base = the entity's projection)
    links: list[tuple[str, str, str, dict, str | None, bool]] = field(default_factory=list)
    unlinks: list[tuple[str, str]] = field(default_factory=list)  # (kind, ext) no longer on the endpoint
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cursor: Cursor | None = None
    counters: Counters = field(default_factory=Counters)
    batch: WriteBatch | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)  # (kind, external id) read
    referenced: set[tuple[str, str]] = field(default_factory=set)  # (kind, external id) records read point at
    kinds_of: dict[str, str] = field(default_factory=dict)  # external id → the kind it is linked as
    read_at: float = 0.0  # when the read began (the hub's clock): what a lagging listing can show
    read_from: str | None = None  # when the cursor the read started from was stored (None: a first read)
    held: set[str] = field(default_factory=set)  # creates of unknown outcome a record read may be
    unlisted: set[str] = field(default_factory=set)  # created by us within the listing lag, not read yet
    keys: dict[str, str] = field(default_factory=dict)  # external id → the key people see it by

    def as_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "direction": self.direction,
                "changes": [c.as_dict() for c in self.changes],
                "conflicts": [c.as_dict() for c in self.conflicts],
                "rejected": [str(r) for r in self.rejected], "notes": self.notes,
                "counters": self.counters.__dict__}


class Hub:
    """Connects the configured endpoints with one store."""

    def __init__(self, config, store: Store, connectors: dict[str, type[Connector]], *, strict: bool = False,
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

    def connector(self, name: str) -> Connector:
        if name not in self._instances:
            endpoint = self.config.endpoint(name)
            cls = self.classes[endpoint.type]
            self._instances[name] = cls(name, endpoint.options, Context(base_dir=self.config.base_dir, strict=self.strict))
        return self._instances[name]

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
                plan = self.plan_pull(name)
                plans.append(plan)
                self.apply_pull(plan, run_id)
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
            plan = self.plan_pull(name)
            plans.append(plan)
            self.apply_pull(plan, run_id)
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

    def plan_pull(self, endpoint: str) -> Plan:
        """Read an endpoint and work out what the store must change. Writes nothing.

        Raises DeleteGuardError when the read would delete too much.
        """
        conn = self.connector(endpoint)
        plan = Plan(endpoint, "pull")
        if waited := self._await_listing(conn):
            plan.notes.append(f"waited {waited:.1f} s for {endpoint}'s listing (it may lag "
                              f"{conn.capabilities.listing_lag:g} s) to show creates of unknown outcome")
        plan.read_at = self.clock()
        plan.read_from = self.store.cursor_set(endpoint, CURSOR_STREAM)
        links = self.store.links(endpoint)
        by_ext = {key: cid for key, (cid, _) in links.items()}
        matcher = _Matcher(self.store, {cid for cid, _ in links.values()}, self.store.open_intents(endpoint),
                           holds_id=conn.capabilities.holds_id)
        plan.kinds_of = {ext: kind for kind, ext in links}
        waiting = self.store.open_conflict_fields()
        with _fewer_collections():
            self._read_into(conn, plan, links, by_ext, matcher, waiting)
        plan.counters.rejected = len(plan.rejected)
        plan.counters.requests, plan.counters.retried = conn.take_counts()
        if lag := conn.capabilities.listing_lag:  # our own creates the listing does not show yet
            young = self.store.created_since(endpoint, _iso(plan.read_at - lag))
            plan.unlisted = {cid for key, (cid, _) in links.items() if cid in young and key not in plan.seen}
        if plan.cursor and (plan.cursor.full_listing or plan.cursor.present is not None):
            self._plan_deletes(conn, links, plan)
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

    def _read_into(self, conn: Connector, plan: Plan, links, by_ext, matcher: _Matcher, waiting) -> None:
        for item in conn.read(self.store.cursor(plan.endpoint, CURSOR_STREAM)):
            if isinstance(item, Record):
                plan.counters.read += 1
                if item.key:
                    plan.keys[item.external_id] = item.key
                self._plan_record(conn, item, links, by_ext, matcher, waiting, plan)
            elif isinstance(item, Rejected):
                plan.rejected.append(item)
            elif isinstance(item, Note):
                plan.notes.append(item.message)
            elif isinstance(item, Cursor):
                plan.cursor = item

    def _plan_record(self, conn: Connector, record: Record, links, by_ext, matcher: _Matcher, waiting, plan: Plan) -> None:
        key = (record.kind, record.external_id)
        if key in plan.seen:
            plan.rejected.append(Rejected(record.where or record.external_id, f"{record.kind} {record.external_id!r} read twice",
                                          record=f"{record.kind} {record.external_id}"))
            return
        plan.seen.add(key)
        if key not in links and (was := plan.kinds_of.get(record.external_id)) and was != record.kind:
            # the same record of the tool, now read as another kind: a partial read (a parent
            # not listed) more likely than a real change; taking it would duplicate the record
            plan.rejected.append(Rejected(record.where or record.external_id,
                f"reads as a {record.kind.replace('_', ' ')} but is linked as a {was.replace('_', ' ')}; "
                "not taken (was part of the listing missing?); if it really changed, delete and re-create it",
                record=f"{record.kind} {record.external_id}"))
            return
        try:
            fields = self._to_canonical(record, by_ext, plan.referenced)
        except KeyError as e:
            plan.rejected.append(Rejected(record.where or record.external_id, str(e.args[0]),
                                          record=f"{record.kind} {record.external_id}"))
            return
        fields = project(fields, self._fields(conn, record.kind), plan.endpoint)
        kept = unparsed.in_record(fields, plan.endpoint)
        if kept and self.strict:  # --strict: a cell that does not convert rejects its record again
            plan.rejected.append(Rejected(f"{record.where or record.external_id}, column {kept[0][0]!r}", kept[0][1],
                                          record=f"{record.kind} {record.external_id}"))
            return
        plan.counters.kept += len(kept)
        if key in links:
            cid, base_json = links[key]
            # a period's dates this read adds to a base okrsync wrote are no edit (periods.py)
            if base_json == dumps(fields) or base_json == dumps(periods.without(fields, plan.endpoint)):
                plan.counters.unchanged += 1
                return
            base = json.loads(base_json) if base_json else {}
        elif (sent := matcher.sent(record.kind, record.external_id, fields, record.canonical_id)) is not None:
            if isinstance(sent, list):  # one of several creates of unknown outcome: never guess
                plan.held.update(sent)
                titles = ", ".join(repr(matcher.title(c)) for c in sent[:5])
                plan.rejected.append(Rejected(record.where or record.external_id,
                    f"may be okrsync's interrupted create of any of {len(sent)} {record.kind.replace('_', ' ')}s "
                    f"({titles}), changed since; not taken, and those creates are not sent again: rename it back "
                    "to the title it was created with to say which, or delete it in the tool to have okrsync create it anew"))
                return
            # a copy an interrupted push created: what it sent is the base, so edits made
            # since (here or elsewhere, renames and deletes too) merge as usual
            cid, base = sent
            # a value sent that the copy lacks was not written yet (a tool that takes a record
            # in several requests, Asana's status update, died between them), not cleared by
            # someone: the base takes the copy's blank, so the push writes the value again
            # instead of the blank flowing back as an edit made there
            base = {k: None if v is not None and fields.get(k) is None else v for k, v in base.items()}
            by_ext[key] = cid
            matcher.taken.add(cid)
            if dumps(base) == dumps(fields) and self.store.get(cid) is None:
                plan.links.append((record.kind, record.external_id, cid, fields, record.updated, False))
                plan.counters.unchanged += 1  # deleted in the hub since: the push deletes the copy
                return
        else:
            found = matcher.match(record.kind, record.external_id, fields, record.canonical_id)
            if isinstance(found, list):
                plan.rejected.append(Rejected(record.where or record.external_id,
                    f"matches {len(found)} existing {record.kind.replace('_', ' ')}s ({', '.join(found[:5])}); "
                    "give the records ids, or make their titles distinct, to say which",
                    record=f"{record.kind} {record.external_id}"))
                return
            if found is None:
                cid = new_id(record.kind)
                by_ext[key] = cid
                matcher.taken.add(cid)
                plan.changes.append(Change("create", record.kind, cid, record.external_id, fields, where=record.where))
                plan.counters.created += 1
                plan.links.append((record.kind, record.external_id, cid, fields, record.updated, True))
                return
            cid, base = found, {}  # first contact: both sides hold it; every difference is a conflict
            by_ext[key] = cid
            matcher.taken.add(cid)
        self._merge(record, cid, base, fields, waiting, plan, self._fields(conn, record.kind))

    def _merge(self, record: Record, cid: str, base: dict, fields: dict, waiting, plan: Plan,
               allowed: set[str] | None) -> None:
        """Three-way merge of one record: the endpoint's edits, the hub's, the policy."""
        current = self.store.get_any(cid)
        old = current[1] if current and current[2] == 0 else {}
        if not old and not diff(base, fields):
            plan.counters.unchanged += 1  # gone from the hub, not edited here: the push deletes it
            return
        if not old and current:  # deleted elsewhere, edited here since this endpoint last agreed
            if self._edit_against_delete(record.kind, cid, fields, plan, deleted_here=False):
                # the delete stands: linked (a copy an interrupted push left may not be yet),
                # so the push deletes it here too
                plan.links.append((record.kind, record.external_id, cid, fields, record.updated, False))
                plan.counters.unchanged += 1
                return
        # deleted or archived in the hub but edited here: the edit wins, the record returns
        merged, new_base = (dict(old) if old else dict(fields)), dict(fields)
        for name, (was, theirs) in diff(base, fields).items():
            ours = old.get(name)
            if ours == theirs:
                continue  # same value on both sides: not a conflict
            if ours == was or not old:
                merged[name] = theirs  # only the endpoint changed it
                continue
            if (cid, name) in waiting:
                new_base[name] = was  # still waiting for the user: keep the endpoint's edit pending
                continue
            origin = self.store.last_change(cid, name)
            ours_from = origin[0] if origin else None
            ours_time = self.store.remote_updated(ours_from, cid) if ours_from else None
            decision = self.policy.decide(name, plan.endpoint, record.updated, ours_from, ours_time)
            plan.conflicts.append(Conflict(cid, record.kind, name, was, theirs, ours, plan.endpoint, ours_from,
                                           decision, str(self.policy.rule(name))))
            plan.counters.conflicts += 1
            if decision == "theirs":
                merged[name] = theirs
            elif decision == "manual":
                new_base[name] = was
        change = diff(old, merged)
        if change:
            plan.changes.append(Change("update" if old else "restore", record.kind, cid, record.external_id, merged,
                                       change, record.where))
            plan.counters.updated += 1
        else:
            plan.counters.unchanged += 1
        in_step = not diff(project(merged, allowed, plan.endpoint), new_base)
        plan.links.append((record.kind, record.external_id, cid, new_base, record.updated, in_step))

    def _plan_deletes(self, conn: Connector, links, plan: Plan) -> None:
        present = plan.cursor.present
        if plan.cursor.full_listing:
            missing = [(key, cid) for key, (cid, _) in links.items() if key not in plan.seen]
        else:  # an id listing judges only the kinds it lists
            missing = [(key, cid) for key, (cid, _) in links.items()
                       if key not in plan.seen and key[0] in present and key[1] not in present[key[0]]]
        missing = [(key, cid) for key, cid in missing if cid not in plan.unlisted]  # not listed yet: not deleted
        if not missing:
            return
        if plan.rejected:  # a row we could not read may be one of the "missing" ones
            plan.notes.append(f"{len(missing)} linked record(s) not found, but rows were rejected: "
                              "deletes are not taken from this read")
            return
        limit = self.policy.max_delete_ratio * len(links)
        listed = plan.seen or any(present.values()) if present else plan.seen
        if not self.allow_mass_delete and (not listed or len(missing) > limit):
            why = ("listed no records at all" if not listed else
                   f"would delete {len(missing)} of its {len(links)} linked records "
                   f"(more than {self.policy.max_delete_ratio:.0%})")
            raise DeleteGuardError(f"{plan.endpoint} {why}; stopped before writing anything. If that is "
                                   "right, run again with --allow-mass-delete (once), or raise sync.deletes.max_ratio")
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

    def _edited_since(self, conn: Connector, links, missing: list, plan: Plan) -> set[str]:
        """Records deleted on this endpoint that changed elsewhere after it last agreed on
        them: the policy decides; returns those kept (with the parents they need), which
        the next push restores here."""
        gone = {cid for _, cid in missing}
        kept: set[str] = set()
        for (kind, ext), cid in missing:
            current = self.store.get(cid)
            base = json.loads(links[(kind, ext)][1] or "{}")
            if current and diff(base, project(current[1], self._fields(conn, kind), plan.endpoint)):
                if not self._edit_against_delete(kind, cid, current[1], plan, deleted_here=True):
                    kept.add(cid)
        todo = list(kept)
        while todo:  # a kept KR needs its objective: restored with it
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

    def _to_canonical(self, record: Record, by_ext: dict, referenced: set | None = None) -> dict[str, Any]:
        """Swap the endpoint's ids in reference fields for canonical ids (a new dict if any);
        ``referenced`` collects what the record points at."""
        swaps = {}
        for ref, target in REFERENCES.get(record.kind, {}).items():
            value = record.fields.get(ref)
            if value is None:
                continue
            targets = ("objective", "key_result") if target == "*" else (target,)
            cid = None
            for t in reversed(targets):  # plain loops, not generators: once per record read
                if referenced is not None:
                    referenced.add((t, value))
                cid = by_ext.get((t, value), cid)  # the first target that has it wins
            if cid is None:
                raise KeyError(f"{ref} points at {value!r}, which is not a known {' or '.join(targets)} of this endpoint")
            swaps[ref] = cid
        return {**record.fields, **swaps} if swaps else record.fields

    def apply_pull(self, plan: Plan, run_id: int) -> None:
        """Write a pull plan: entities, change log, conflicts, links and cursor, all or nothing."""
        self._check_strict(plan)
        self._unlisted[plan.endpoint] = plan.unlisted
        # _fewer_collections: the bulk insert builds 100,000s of row tuples next to the plan's
        # records; default thresholds spent ~10 % of a 50,000-KR apply in the cyclic collector
        with _fewer_collections(), self.store.atomic():
            texts = self.store.create_many(run_id, plan.endpoint,
                                           ((c.kind, c.canonical_id, c.fields) for c in plan.changes if c.op == "create"))
            for c in plan.changes:
                if c.op in ("delete", "archive"):
                    self.store.mutate(run_id, plan.endpoint, c.kind, c.canonical_id, None, change=c.op)
                elif c.op != "create":
                    self.store.mutate(run_id, plan.endpoint, c.kind, c.canonical_id, c.fields)
            for k in plan.conflicts:
                self._record_conflict(k, run_id)
            # a new record's base is its fields: the entity's JSON text and digest serve again
            self.store.set_links(plan.endpoint, run_id, [(k, e, cid, texts[cid][0], u, texts[cid][1]) if cid in texts else (k, e, cid, b, u, s)
                                                         for k, e, cid, b, u, s in plan.links])
            self.store.set_keys(plan.endpoint, plan.keys)
            for kind, ext in plan.unlinks:
                self.store.drop_link(plan.endpoint, kind, ext)
            self.store.set_rejections(plan.endpoint, "pull", _places(plan.rejected), run_id)
            self._revive_parents(plan, run_id)
            self._settle_creates(plan)

            # a KR's current value is its latest check-in (checkins.py): one truth after every pull
            plan.notes += checkins.settle(self.store, run_id, plan.endpoint, plan.changes).notes(plan.endpoint)
            if plan.cursor is not None:
                self.store.set_cursor(plan.endpoint, CURSOR_STREAM, plan.cursor.value, run_id)

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
        tool while another deleted its objective) brings the parent back, as an edit does."""
        written = {c.canonical_id for c in plan.changes if c.fields}  # alive: no need to look
        suspects = list({v for c in plan.changes if c.fields for ref in REFERENCES.get(c.kind, {})
                         if isinstance(v := c.fields.get(ref), str) and v not in written})
        if any(c.op == "delete" for c in plan.changes):
            deleted = {c.canonical_id for c in plan.changes if c.op == "delete"}
            suspects += [v for _, kind, f in self.store.entities() for ref in REFERENCES.get(kind, {})
                         if (v := f.get(ref)) in deleted]
        seen: set[str] = set()
        while suspects:
            cid = suspects.pop()
            if cid in seen:
                continue
            seen.add(cid)
            found = self.store.get_any(cid)
            if found and found[2] == 1:
                self.store.mutate(run_id, plan.endpoint, found[0], cid, found[1], change="restore")
                suspects += [v for ref in REFERENCES.get(found[0], {}) if isinstance(v := found[1].get(ref), str)]

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
                                      {**fields, c["field"]: c["resolution"]["value"]})
                    for endpoint, value in c["candidates"].items():
                        # the endpoint's edit has been seen: its next read is no news, and
                        # the push writes the resolution to it
                        self.store.update_base(endpoint, c["entity_id"], c["field"], value)
                self.store.db["conflicts"].update(c["id"], {"status": "applied"})
                done += 1
        return done

    # ------------------------------------------------------------ push

    def plan_push(self, endpoint: str) -> Plan:
        """Compare the canonical state with what the endpoint last agreed with."""
        conn = self.connector(endpoint)
        plan = Plan(endpoint, "push", batch=WriteBatch())
        pending = self.store.pending_creates(endpoint)  # at most once: these may have landed
        held: set[str] = set()
        unlisted = self._unlisted.get(endpoint, set())  # its read could not see them: a write would be blind
        waiting_listing = 0
        plan.counters.unchanged = self.store.in_step(endpoint, count=True)
        candidates = list(self.store.push_candidates(endpoint))  # the rest is in step: not even read
        by_cid = self.store.external_ids(endpoint) if candidates else {}
        waiting = self.store.open_conflict_fields()
        hints: dict[str, str] | None = None
        for cid, kind, fields in candidates:
            allowed = self._fields(conn, kind)
            if allowed == set() or kind in conn.capabilities.read_only:
                continue
            projected = project(fields, allowed, endpoint)
            if cid in by_cid:
                if cid in unlisted:
                    waiting_listing += 1
                    continue
                ext = by_cid[cid]
                base_json = self.store.base(endpoint, cid)
                base = json.loads(base_json) if base_json else {}
                for name in [n for n in projected if (cid, n) in waiting]:
                    projected[name] = base.get(name)  # neither side is overwritten while it waits
                outgoing = Record(kind, ext, self._to_external(projected, by_cid), canonical_id=cid)
                if base_json == dumps(projected) or not diff(base, projected):
                    plan.batch.unchanged.append(outgoing)
                    plan.counters.unchanged += 1
                    continue
                plan.changes.append(Change("update", kind, cid, ext, projected, diff(base, projected)))
                plan.batch.updates.append(outgoing)
                plan.counters.updated += 1
            else:
                waits = next((v for ref in REFERENCES.get(kind, {}) if (v := projected.get(ref)) in held), None)
                if cid in pending or waits:
                    held.add(cid)
                    why = (f"an earlier create of it on {endpoint} has an unknown outcome (its run died or the answer "
                           f"was lost); not sent again until a read of {endpoint} that can see it shows whether it landed "
                           "(the next sync settles it)") if cid in pending else f"waits for {waits}, whose create is held"
                    plan.rejected.append(Rejected(f"{kind.replace('_', ' ')} {cid} ({fields.get('title')!r})", why))
                    plan.counters.rejected += 1
                    continue
                if hints is None:
                    hints = self._id_hints(endpoint)
                plan.changes.append(Change("create", kind, cid, None, projected))
                plan.batch.creates.append(Record(kind, hints.get(cid, cid), self._to_external(projected, by_cid),
                                                 canonical_id=cid))
                plan.counters.created += 1
        for kind, ext, cid in self.store.deleted_links(endpoint):
            if self._fields(conn, kind) == set() or kind in conn.capabilities.read_only:
                continue
            if cid in unlisted:
                waiting_listing += 1
                continue
            plan.changes.append(Change("delete", kind, cid, ext, None))
            plan.batch.deletes.append(Record(kind, ext, {}, canonical_id=cid))
            plan.counters.deleted += 1
        if waiting_listing:
            plan.notes.append(f"{waiting_listing} record(s) okrsync created on {endpoint} are not in its listing yet "
                              f"(it may lag {conn.capabilities.listing_lag:g} s): their updates and deletes wait for a "
                              "run whose read shows them, so an edit made there meanwhile is not overwritten")
        return plan

    def _id_hints(self, endpoint: str) -> dict[str, str]:
        """For creates: the id another endpoint already uses (earliest in ``sync.order``), so
        "CO-1" in the planning sheet is "CO-1" on the board too. A connector takes the hint
        only where the id is free; ids made from titles (spaces, "/") are not hints."""
        rank = {name: i for i, name in enumerate(self.policy.order)}
        hints: dict[str, tuple[int, str]] = {}
        for other, ext, cid in self.store.db.execute("SELECT endpoint, external_id, canonical_id FROM links WHERE endpoint != ?",
                                                     [endpoint]):
            if any(c.isspace() for c in ext) or "/" in ext:
                continue
            r = rank.get(other, len(rank))
            if cid not in hints or r < hints[cid][0]:
                hints[cid] = (r, ext)
        return {cid: ext for cid, (_, ext) in hints.items()}

    @staticmethod
    def _to_external(fields: dict[str, Any], by_cid: dict[str, str]) -> dict[str, Any]:
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
            self.store.mark_in_step(plan.endpoint, agreed)  # compared equal: skip them next time
            # a refused write is planned again (no link or base moved): sending nothing, nothing is refused
            self.store.set_rejections(plan.endpoint, "push", (), run_id)
            return
        conn = self.connector(plan.endpoint)
        if conn.capabilities.writes == "snapshot":  # it rewrites everything: give it the records in step too
            by_cid = self.store.external_ids(plan.endpoint)
            plan.batch.unchanged.extend(
                Record(kind, by_cid[cid], self._to_external(project(fields, self._fields(conn, kind), plan.endpoint), by_cid),
                       canonical_id=cid)
                for cid, kind, fields in self.store.in_step(plan.endpoint) if self._fields(conn, kind) != set())
        with self.store.atomic():  # committed before the remote sees anything
            sent = {c.canonical_id: c.fields for c in plan.changes if c.op == "create"}
            self.store.add_intents(run_id, plan.endpoint,
                                   [(r.kind, r.canonical_id, sent.get(r.canonical_id)) for r in plan.batch.creates],
                                   at=_iso(self.clock()))
        result = conn.write(plan.batch)
        if plan.batch.creates:
            self.store.answer_intents(plan.endpoint, result.external_ids)
        requests, retried = conn.take_counts()
        plan.counters.requests += max(requests, result.requests)
        plan.counters.retried += retried
        rejected = {r.where for r in result.rejected}
        plan.rejected.extend(result.rejected)
        plan.counters.rejected += len(result.rejected)
        refused = [r.canonical_id for r in plan.batch.creates if r.canonical_id in rejected or r.external_id in rejected]
        plan.counters.created -= len(refused)  # planned, but not made
        fields_of = {c.canonical_id: c.fields for c in plan.changes if c.fields is not None}
        known = {cid: (base, updated) for cid, base, updated in self.store.db.execute(
            "SELECT canonical_id, base, remote_updated FROM links WHERE endpoint = ?", [plan.endpoint])}
        links = []
        with self.store.atomic():
            for record in (*plan.batch.creates, *plan.batch.updates, *plan.batch.unchanged):
                cid = record.canonical_id
                if record.external_id in rejected or cid in rejected:
                    continue
                ext = result.external_ids.get(cid, record.external_id)
                if cid in fields_of or ext != record.external_id:
                    if ext != record.external_id:  # a title-keyed tool renamed it: move the link
                        self.store.db.execute("DELETE FROM links WHERE endpoint = ? AND canonical_id = ?", [plan.endpoint, cid])
                    base_json, updated = known.get(cid, (None, None))
                    base = fields_of.get(cid)
                    # the remote update time stays: it says when the endpoint's own values were made
                    links.append((record.kind, ext, cid, json.loads(base_json or "{}") if base is None else base, updated,
                                  base is not None))
            self.store.set_links(plan.endpoint, run_id, links)
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

    def _check_strict(self, plan: Plan) -> None:
        if self.strict and plan.rejected:
            shown = "\n  ".join(str(r) for r in plan.rejected[:20])
            more = f"\n  … and {len(plan.rejected) - 20} more" if len(plan.rejected) > 20 else ""
            raise OkrsyncError(f"{plan.endpoint}: {len(plan.rejected)} record(s) could not be read "
                               f"(--strict stops the run; nothing was written):\n  {shown}{more}")


class _Matcher:
    """First contact: find the canonical record an unlinked endpoint record already is.

    By id first (a hub-written id, or the same external id another endpoint uses), then by
    normalised title plus period (objectives) or parent (everything else). Records already
    linked to this endpoint are never candidates. Several candidates: the caller reports them.
    ``sent`` first tells whether the record is a create of an interrupted push.
    """

    def __init__(self, store: Store, taken: set[str], intents: Iterable[tuple[str, str, dict, str | None]] = (),
                 holds_id: bool = False):
        self.store = store
        self.taken = taken
        self.holds_id = holds_id
        self._sent: list[tuple[str, str, dict]] = []  # (kind, canonical id, fields sent)
        self._by_cid: dict[str, dict] = {}
        self._by_answer: dict[tuple[str, str], str] = {}  # (kind, external id the tool answered) → canonical id
        for kind, cid, payload, ext in intents:
            self._sent.append((kind, cid, payload))
            self._by_cid[cid] = payload
            if ext:
                self._by_answer[(kind, ext)] = cid
        self._by_title: dict[tuple, list[str]] | None = None
        self._by_ext: dict[tuple[str, str], set[str]] | None = None

    def match(self, kind: str, external_id: str, fields: dict[str, Any], written_id: str | None = None) -> str | list[str] | None:
        """``written_id`` is a canonical id the endpoint kept for us (an issue property)."""
        if self._by_title is None:
            self._index()
        if not self._by_title and not self._by_ext:
            return None  # an empty hub (a first import): nothing to match
        for cid in filter(None, (written_id, external_id)):
            if cid not in self.taken:
                found = self.store.get_any(cid)
                if found and found[0] == kind and found[2] == 0:
                    return cid
        by_id = sorted(self._by_ext.get((kind, external_id), set()) - self.taken)
        if len(by_id) == 1:
            return by_id[0]
        candidates = [c for c in self._by_title.get(_title_key(kind, fields), []) if c not in self.taken]
        if len(candidates) == 1:
            return candidates[0]
        return candidates or None

    def sent(self, kind: str, external_id: str, fields: dict[str, Any],
             written_id: str | None = None) -> tuple[str, dict] | list[str] | None:
        """The create of an interrupted push this record is, as (canonical id, fields sent);
        the candidates when it may be any of several; None when it is none of them.

        Exactly by the canonical id the record carries, where the tool holds one (a record
        without one was not made by okrsync); else by the id the tool answered, if that was
        recorded; else by the fields sent: the same title and place, or ``near`` them."""
        if not self._sent:
            return None
        if written_id or self.holds_id:
            found = written_id in self._by_cid and written_id not in self.taken
            return (written_id, self._by_cid[written_id]) if found else None
        cid = self._by_answer.get((kind, external_id))
        if cid is not None and cid not in self.taken:
            return cid, self._by_cid[cid]
        key = _title_key(kind, fields)
        open_ = [(c, p) for k, c, p in self._sent if k == kind and c not in self.taken]
        found = [(c, p) for c, p in open_ if _title_key(kind, p) == key]
        if not found:  # changed where it landed: the same place, little else changed
            found = [(c, p) for c, p in open_ if near(kind, p, fields)]
        ids = list(dict.fromkeys(c for c, _ in found))
        if len(ids) > 1:
            return ids
        return found[0] if ids else None

    def title(self, cid: str) -> str:
        return (self._by_cid.get(cid) or {}).get("title") or cid

    def _index(self) -> None:
        self._by_title = {}
        for cid, kind, fields in self.store.entities():
            self._by_title.setdefault(_title_key(kind, fields), []).append(cid)
        self._by_ext = {}
        for kind, ext, cid in self.store.db.execute("SELECT kind, external_id, canonical_id FROM links"):
            self._by_ext.setdefault((kind, ext), set()).add(cid)


def _places(rejected: Iterable[Rejected]) -> list[tuple[str, str, str]]:
    """(where, record, reason) of rejections, as the store keeps them."""
    return [(r.where, r.record, r.reason) for r in rejected]

# a copy of an interrupted create changed on the tool in at most NEAR fields (its title and
# one more), keeping at least KEPT other fields as sent, is recognised by the fields sent
# where the tool cannot hold our id; a user's new record beside it rarely keeps that much
NEAR, KEPT = 2, 2


def near(kind: str, sent: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Whether a record read may be the create that sent ``sent``, changed since where it
    landed: the same place (period or parent), and only renamed, or at most ``NEAR`` fields
    changed with at least ``KEPT`` others (neither title nor place) unchanged."""
    changed = diff(sent, fields)
    if _title_key(kind, sent)[2] != _title_key(kind, fields)[2] or len(changed) > NEAR:
        return False
    if set(changed) <= {"title"}:
        return True
    place = {"period", *REFERENCES.get(kind, {})}
    return sum(1 for k, v in sent.items() if v is not None and k != "title" and k not in place
               and fields.get(k) == v) >= KEPT


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _title_key(kind: str, fields: dict[str, Any]) -> tuple:
    # a check-in has no title: a KR's check-ins are told apart by their time, not all one
    title = fields.get("at") or "" if kind == "check_in" else normalise_key(fields.get("title") or "")
    scope = periods.key(fields.get("period")) if kind == "objective" else next(  # "Q1 2026" is "2026-Q1"
        (fields.get(r) for r in REFERENCES.get(kind, {}) if fields.get(r)), None)
    return (kind, title, scope)


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
    """The part of a record an endpoint holds: its allowed fields and its own ``extra``."""
    # with why its cells were kept as text, and the dates it gave its periods
    own = (f"extra.{endpoint}.", unparsed.prefix(endpoint), periods.prefix(endpoint))
    if allowed is None:
        return {k: v for k, v in fields.items() if not k.startswith("extra.") or k.startswith(own)}
    if ALL_EXTRAS in allowed:
        return {k: v for k, v in fields.items() if k in allowed or k.startswith("extra.")}
    return {k: v for k, v in fields.items() if k in allowed or k.startswith(own)}


def ordered(endpoints: Iterable[str], order: list[str] | None) -> list[str]:
    names = list(endpoints)
    first = [n for n in (order or []) if n in names]
    return first + [n for n in names if n not in first]
