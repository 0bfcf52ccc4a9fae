"""The hub: pull endpoints into the canonical store and push it back out, plan then apply.

Star topology: every endpoint is compared with the canonical model, never with another
endpoint. For each endpoint the store keeps a *base snapshot* per record, the fields that
endpoint last agreed with, so a read tells apart what the endpoint changed (read ≠ base)
from what changed elsewhere (canonical ≠ base), and a push writes only what differs.

``plan_pull`` and ``plan_push`` have no side effects (a dry run prints them);
``apply_pull`` writes the store in one transaction (entities, change log, links, cursor),
``apply_push`` writes the endpoint, then records links and bases in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from .connector import Connector, Context, Cursor, Note, Record, Rejected, WriteBatch
from .errors import OkrsyncError
from .model import REFERENCES
from .store import Store, diff, dumps, new_id

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
    requests: int = 0

    def add(self, other: Counters) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Change:
    """One planned canonical or remote change."""

    op: str  # create | update | delete
    kind: str
    canonical_id: str
    external_id: str | None
    fields: dict[str, Any]  # the new fields (canonical terms)
    diff: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    where: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "kind": self.kind, "id": self.canonical_id, "external_id": self.external_id,
                "changes": {k: {"old": o, "new": n} for k, (o, n) in sorted(self.diff.items())}}


@dataclass
class Plan:
    """What a pull or push of one endpoint would do."""

    endpoint: str
    direction: str  # pull | push
    changes: list[Change] = field(default_factory=list)
    links: list[tuple[str, str, str, dict]] = field(default_factory=list)  # kind, ext, canonical id, base
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cursor: Cursor | None = None
    counters: Counters = field(default_factory=Counters)
    batch: WriteBatch | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)  # (kind, external id) read

    def as_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "direction": self.direction,
                "changes": [c.as_dict() for c in self.changes],
                "rejected": [str(r) for r in self.rejected], "notes": self.notes,
                "counters": self.counters.__dict__}


class Hub:
    """Connects the configured endpoints with one store."""

    def __init__(self, config, store: Store, connectors: dict[str, type[Connector]], *, strict: bool = False):
        self.config = config
        self.store = store
        self.classes = connectors
        self.strict = strict
        self._instances: dict[str, Connector] = {}
        self._allowed: dict[tuple[str, str], set[str] | None] = {}

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

    # ------------------------------------------------------------ pull

    def plan_pull(self, endpoint: str) -> Plan:
        """Read an endpoint and work out what the store must change. Writes nothing."""
        conn = self.connector(endpoint)
        plan = Plan(endpoint, "pull")
        links = self.store.links(endpoint)
        by_ext = {key: cid for key, (cid, _) in links.items()}
        for item in conn.read(self.store.cursor(endpoint, CURSOR_STREAM)):
            if isinstance(item, Record):
                plan.counters.read += 1
                self._plan_record(conn, item, links, by_ext, plan)
            elif isinstance(item, Rejected):
                plan.rejected.append(item)
            elif isinstance(item, Note):
                plan.notes.append(item.message)
            elif isinstance(item, Cursor):
                plan.cursor = item
        plan.counters.rejected = len(plan.rejected)
        if plan.cursor and plan.cursor.full_listing:
            missing = [key for key in links if key not in plan.seen]
            if missing:
                plan.notes.append(f"{len(missing)} linked record(s) are no longer in {endpoint}; "
                                  "deletes are not propagated by pull (see README: Deletes)")
        return plan

    def _plan_record(self, conn: Connector, record: Record, links, by_ext, plan: Plan) -> None:
        plan.seen.add((record.kind, record.external_id))
        try:
            fields = self._to_canonical(record, by_ext)
        except KeyError as e:
            plan.rejected.append(Rejected(record.where or record.external_id, str(e.args[0])))
            return
        fields = project(fields, self._fields(conn, record.kind), plan.endpoint)
        key = (record.kind, record.external_id)
        if key in links:
            cid, base_json = links[key]
            if base_json == dumps(fields):
                plan.counters.unchanged += 1
                return
            base = json.loads(base_json) if base_json else {}
            theirs = diff(base, fields)  # what this endpoint changed since it last agreed
            current = self.store.get(cid)
            old = current[1] if current else {}
            merged = {**old, **{f: fields.get(f) for f in theirs}}
            for f, (_, new) in theirs.items():
                if old.get(f) != base.get(f) and old.get(f) != new:
                    plan.counters.conflicts += 1  # settled by the engine's policy; pull: the endpoint wins
            change = diff(old, merged)
            if change:
                plan.changes.append(Change("update", record.kind, cid, record.external_id, merged, change, record.where))
                plan.counters.updated += 1
            else:
                plan.counters.unchanged += 1
        else:
            cid = new_id(record.kind)
            by_ext[key] = cid
            plan.changes.append(Change("create", record.kind, cid, record.external_id, fields, diff({}, fields), record.where))
            plan.counters.created += 1
        plan.links.append((record.kind, record.external_id, cid, fields))

    def _to_canonical(self, record: Record, by_ext: dict) -> dict[str, Any]:
        """Swap the endpoint's ids in reference fields for canonical ids."""
        fields = dict(record.fields)
        for ref, target in REFERENCES.get(record.kind, {}).items():
            value = fields.get(ref)
            if value is None:
                continue
            targets = ("objective", "key_result") if target == "*" else (target,)
            cid = next((by_ext[(t, value)] for t in targets if (t, value) in by_ext), None)
            if cid is None:
                raise KeyError(f"{ref} points at {value!r}, which is not a known {' or '.join(targets)} of this endpoint")
            fields[ref] = cid
        return fields

    def apply_pull(self, plan: Plan, run_id: int) -> None:
        """Write a pull plan: entities and change log, links and cursor, all or nothing."""
        self._check_strict(plan)
        with self.store.atomic():
            for c in plan.changes:
                self.store.mutate(run_id, plan.endpoint, c.kind, c.canonical_id, c.fields)
            for kind, ext, cid, base in plan.links:
                self.store.set_link(plan.endpoint, kind, ext, cid, base, run_id)
            if plan.cursor is not None:
                self.store.set_cursor(plan.endpoint, CURSOR_STREAM, plan.cursor.value, run_id)

    # ------------------------------------------------------------ push

    def plan_push(self, endpoint: str) -> Plan:
        """Compare the canonical state with what the endpoint last agreed with."""
        conn = self.connector(endpoint)
        plan = Plan(endpoint, "push", batch=WriteBatch())
        links = self.store.links(endpoint)
        by_cid = {cid: (kind, ext, base) for (kind, ext), (cid, base) in links.items()}
        for cid, kind, fields in self.store.entities():
            allowed = self._fields(conn, kind)
            if allowed == set():
                continue
            projected = project(fields, allowed, endpoint)
            if cid in by_cid:
                _, ext, base_json = by_cid[cid]
                outgoing = Record(kind, ext, self._to_external(projected, by_cid))
                if base_json == dumps(projected):
                    plan.batch.unchanged.append(outgoing)
                    plan.counters.unchanged += 1
                    continue
                base = json.loads(base_json) if base_json else {}
                plan.changes.append(Change("update", kind, cid, ext, projected, diff(base, projected)))
                plan.batch.updates.append(outgoing)
                plan.counters.updated += 1
            else:
                outgoing = Record(kind, cid, self._to_external(projected, by_cid), canonical_id=cid)
                plan.changes.append(Change("create", kind, cid, None, projected, diff({}, projected)))
                plan.batch.creates.append(outgoing)
                plan.counters.created += 1
            outgoing.canonical_id = cid
        return plan

    @staticmethod
    def _to_external(fields: dict[str, Any], by_cid: dict) -> dict[str, Any]:
        """Swap canonical ids in reference fields for the endpoint's ids (new records keep theirs)."""
        out = dict(fields)
        for name, value in fields.items():
            if name.endswith("_id") and isinstance(value, str) and value in by_cid:
                out[name] = by_cid[value][1]
        return out

    def apply_push(self, plan: Plan, run_id: int) -> None:
        """Write the endpoint, then record what it now agrees with."""
        if not plan.batch:
            return
        conn = self.connector(plan.endpoint)
        result = conn.write(plan.batch)
        plan.counters.requests += result.requests
        rejected = {r.where for r in result.rejected}
        plan.rejected.extend(result.rejected)
        plan.counters.rejected += len(result.rejected)
        fields_of = {c.canonical_id: c.fields for c in plan.changes}
        with self.store.atomic():
            for record in (*plan.batch.creates, *plan.batch.updates, *plan.batch.unchanged):
                cid = record.canonical_id
                if record.external_id in rejected or cid in rejected:
                    continue
                ext = result.external_ids.get(cid, record.external_id)
                if cid in fields_of or ext != record.external_id:
                    if ext != record.external_id and record in plan.batch.unchanged:
                        self.store.db.execute("DELETE FROM links WHERE endpoint = ? AND canonical_id = ?", [plan.endpoint, cid])
                    base = fields_of.get(cid)
                    if base is None:
                        current = self.store.get(cid)
                        base = project(current[1], self._fields(conn, record.kind), plan.endpoint) if current else {}
                    self.store.set_link(plan.endpoint, record.kind, ext, cid, base, run_id)
            if result.cursor is not None:
                self.store.set_cursor(plan.endpoint, CURSOR_STREAM, result.cursor, run_id)

    def _check_strict(self, plan: Plan) -> None:
        if self.strict and plan.rejected:
            shown = "\n  ".join(str(r) for r in plan.rejected[:20])
            more = f"\n  … and {len(plan.rejected) - 20} more" if len(plan.rejected) > 20 else ""
            raise OkrsyncError(f"{plan.endpoint}: {len(plan.rejected)} record(s) could not be read "
                               f"(--strict stops the run; nothing was written):\n  {shown}{more}")


def project(fields: dict[str, Any], allowed: set[str] | None, endpoint: str) -> dict[str, Any]:
    """The part of a record an endpoint holds: its allowed fields and its own ``extra``."""
    own = f"extra.{endpoint}."
    if allowed is None:
        return {k: v for k, v in fields.items() if not k.startswith("extra.") or k.startswith(own)}
    return {k: v for k, v in fields.items() if k in allowed or k.startswith(own)}


def ordered(endpoints: Iterable[str], order: list[str] | None) -> list[str]:
    names = list(endpoints)
    first = [n for n in (order or []) if n in names]
    return first + [n for n in names if n not in first]
