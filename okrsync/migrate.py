"""Moving every OKR from one tool to another: plan, resumable execution, verification.

A migration is the sync engine run one way: pull the source, pull the target (to find
what an earlier, interrupted attempt already put there), then push to the target in
slices, parents first, each slice committed before the next is sent. Nothing is ever
written to the source. Because every create is recorded as an intent before it is sent,
and connectors store the canonical id in the remote record where the tool can hold one,
a migration killed at any point (SIGKILL included) is finished by running it again,
without a duplicate.

``plan(hub, source, target)`` says what would happen: counts per kind, what the target
cannot hold (the capability losses, from the target's declared fields and capabilities — a
KR measured by levels is written to a tool without levels as a numeric one — and, where the
tool catalogue knows it, the tool-fit analysis), owners, and an estimate of the time the
target's rate limit sets. ``execute`` does it; ``verify`` reads the target back and
compares it with the hub field by field: every difference is either a declared loss or
flagged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import periods, probe
from .connector import Record, WriteBatch
from .errors import ConfigError
from .model import KINDS
from .store import diff
from .sync import Hub, Plan, project

SLICE = 500  # records a push step sends before the next is planned (progress, and less to redo)


@dataclass
class MigrationPlan:
    source: str
    target: str
    counts: dict[str, int]  # records the hub holds, per kind
    creates: dict[str, int]
    updates: dict[str, int]
    losses: list[dict[str, Any]]  # {"what", "count", "examples"}: what the target cannot hold
    owners: dict[str, str]  # owner → how the target will find them
    rate: float | None  # the target's requests per second, as configured
    estimate_s: float | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Verification:
    checked: int = 0
    matched: int = 0
    missing: list[str] = field(default_factory=list)  # in the hub, not on the target
    unexpected: list[str] = field(default_factory=list)  # on the target, unknown to the hub
    differences: list[dict[str, Any]] = field(default_factory=list)  # flagged: not a declared loss
    explained: Counter = field(default_factory=Counter)  # field → values the target does not hold

    @property
    def ok(self) -> bool:
        return not (self.missing or self.differences)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "matched": self.matched, "missing": self.missing,
                "unexpected": self.unexpected, "differences": self.differences, "explained": dict(self.explained)}


def plan(hub: Hub, source: str, target: str, run_id: int, users: dict[str, str] | None = None) -> MigrationPlan:
    """Pull the source and the target into the hub (the caller decides whether that is kept:
    a dry run rolls it back) and work out the push. Nothing is written to either tool."""
    for name in (source, target):
        hub.pull(name, run_id)
    conn = hub.connector(target)
    push = hub.plan_push(target)
    entities = list(hub.store.entities())
    counts = Counter(kind for _, kind, _ in entities)
    creates = Counter(c.kind for c in push.changes if c.op == "create")
    updates = Counter(c.kind for c in push.changes if c.op == "update")
    losses = _losses(hub, conn, target, entities) + conn.migration_risks(entities)
    owners = {}
    for owner in sorted({f.get("owner") for _, _, f in entities if f.get("owner")}):
        owners[owner] = f"users map → {users[owner]}" if users and owner in users else "by e-mail"
    api = getattr(conn, "api", None)
    interval = getattr(getattr(api, "pacer", None), "interval", 0.0)
    rate = 1 / interval if interval else None
    writes = sum(creates.values()) + sum(updates.values())
    estimate = writes / rate if rate else None
    notes = list(push.notes)
    notes += probe.fact_notes(hub.store, target, conn.capabilities.unconfirmed)
    if rate:
        notes.append(f"estimate: at most {writes} write requests at {rate:g}/s; connectors with bulk "
                     "endpoints need far fewer")
    return MigrationPlan(source, target, dict(counts), dict(creates), dict(updates), losses, owners, rate,
                         estimate, notes)


def _losses(hub: Hub, conn, target: str, entities) -> list[dict[str, Any]]:
    """Values the hub holds that the target has no place for."""
    lost: dict[str, list[str]] = {}
    for cid, kind, fields in entities:
        allowed = hub._fields(conn, kind)
        if kind in conn.capabilities.read_only or allowed == set():
            lost.setdefault(f"{kind.replace('_', ' ')}s (not held)", []).append(cid)
            continue
        if kind == "key_result" and fields.get("direction") == "levels" and not conn.capabilities.levels:
            # written another way, not dropped (levels.as_numeric): the loss is the kind of KR
            lost.setdefault("key results measured by levels (written as numeric KRs from 0 to the number of levels: "
                            "current = the level reached, the levels listed in the description)", []).append(cid)
            fields = hub._held(conn, kind, fields)
        if allowed is None:
            continue
        for name, value in fields.items():
            if value not in (None, "", [], {}) and name not in allowed and not name.startswith("extra."):
                lost.setdefault(f"{kind.replace('_', ' ')} {name}", []).append(cid)
    return [{"what": what, "count": len(ids), "examples": ids[:3]} for what, ids in sorted(lost.items())]


def execute(hub: Hub, target: str, run_id: int, progress: Callable[[int, int], None] | None = None) -> list[Plan]:
    """Push everything to the target, a slice at a time, parents before children; each slice
    is planned after the one before is recorded, so its references are the target's ids."""
    plans: list[Plan] = []
    total: int | None = None
    done = 0
    while True:
        full = hub.plan_push(target)
        if total is None:
            total = len(full.batch.creates) + len(full.batch.updates) + len(full.batch.deletes)
        step = _slice(full)
        if step is None:
            return plans
        hub.apply_push(step, run_id)
        plans.append(step)
        sent = len(step.batch.creates) + len(step.batch.updates) + len(step.batch.deletes)
        done += sent
        if progress:
            progress(done, max(total, done))
        if step.rejected and len(step.rejected) >= sent:
            return plans  # nothing of this slice was taken: planning it again would loop


def _slice(plan: Plan) -> Plan | None:
    """The first SLICE creates of the earliest kind that has any; then the rest at once."""
    batch = plan.batch
    if not batch:
        return None
    for kind in KINDS:
        creates = [r for r in batch.creates if r.kind == kind]
        if creates:
            take = creates[:SLICE]
            ids = {r.canonical_id for r in take}
            step = Plan(plan.endpoint, "push", [c for c in plan.changes if c.canonical_id in ids],
                        batch=WriteBatch(creates=take))
            step.counters.created = len(take)
            return step
    step = Plan(plan.endpoint, "push", [c for c in plan.changes if c.op != "create"],
                batch=WriteBatch(updates=batch.updates, deletes=batch.deletes, unchanged=batch.unchanged))
    step.counters.updated, step.counters.deleted = len(batch.updates), len(batch.deletes)
    return step


def verify(hub: Hub, target: str) -> Verification:
    """Read the target afresh and compare each record with the hub, field by field."""
    conn = hub.connector(target)
    links = hub.store.links(target)
    by_ext = {key: cid for key, (cid, _) in links.items()}
    result = Verification()
    seen: set[str] = set()
    for item in conn.read(None):
        if not isinstance(item, Record):
            continue
        cid = by_ext.get((item.kind, item.external_id))
        if cid is None:
            result.unexpected.append(f"{item.kind} {item.external_id}")
            continue
        seen.add(cid)
        current = hub.store.get(cid)
        if current is None:
            result.unexpected.append(f"{item.kind} {item.external_id} (deleted in the hub)")
            continue
        result.checked += 1
        try:
            theirs = hub._to_canonical(item, by_ext)
        except KeyError as e:
            result.differences.append({"id": cid, "field": "reference", "detail": str(e.args[0])})
            continue
        allowed = hub._fields(conn, item.kind)
        ours = project(hub._held(conn, item.kind, current[1]), allowed, target)
        # the dates a target's read gives its periods are no difference (okrsync/periods.py)
        flagged = {name: values for name, values in diff(ours, project(periods.without(theirs, target), allowed, target)).items()}
        for name in current[1]:
            # another source's period dates are no loss: the target holds the label they belong to
            if allowed is not None and name not in allowed and current[1][name] not in (None, "") \
                    and not name.startswith(f"extra.{periods.NS}."):
                result.explained[name] += 1
        if flagged:
            for name, (want, got) in sorted(flagged.items()):
                result.differences.append({"id": cid, "kind": item.kind, "field": name,
                                           "hub": want, "target": got})
        else:
            result.matched += 1
    for cid, kind, _ in hub.store.entities():
        if cid not in seen and kind not in conn.capabilities.read_only and hub._fields(conn, kind) != set():
            result.missing.append(f"{kind} {cid}")
    return result


def users_map(text: str, where: str) -> dict[str, str]:
    """A users map: YAML/JSON ``{email: target user}`` or CSV lines ``email,target user``."""
    text = text.strip()
    if not text:
        return {}
    if "," in text.splitlines()[0] and ":" not in text.splitlines()[0]:
        out = {}
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 2 or not all(parts):
                raise ConfigError(f"{where}: line {n}: expected 'email,target user', got {line!r}")
            if parts[0].lower() in ("email", "e-mail"):
                continue  # a header row
            out[parts[0].casefold()] = parts[1]
        return out
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
        raise ConfigError(f"{where}: a users map is 'email: target user' lines (YAML) or 'email,target user' (CSV)")
    return {str(k).casefold(): str(v) for k, v in data.items()}
