"""An in-memory endpoint for engine tests: a dict of records per endpoint name.

It behaves like a record-based tool: ids it makes up itself, an update time per record,
per-record creates/updates/deletes, a full listing on every read. ``fail_after`` makes a
write raise after that many records (a crash in the middle of a push); ``lose_answer`` makes
it raise after doing all its work (the answer lost on the way back). ``holds_id`` keeps the
canonical id in each record it creates and reads it back (as Jira's issue property does);
``lag`` hides a created record from listings for that many seconds of the fake clock
``clock()``, which ``sleep()`` advances (hand both to the hub). ``make_hub`` builds a hub of
memory endpoints; the fixture ``fresh_world`` (offered by tests/conftest.py, used by the
engine's test modules) empties the world and resets the switches around each test.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from okrsync.config import Config
from okrsync.connector import Capabilities, Connector, Cursor, Record, Rejected, WriteBatch, WriteResult
from okrsync.store import Store
from okrsync.sync import Hub

WORLD: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}  # endpoint → (kind, id) → fields (+ "_updated")
CLOCK = itertools.count(1)
_IDS = itertools.count(1)
TIME = [0.0]  # the fake clock, in seconds


def clock() -> float:
    return TIME[0]


def sleep(seconds: float) -> None:
    TIME[0] += seconds


def now() -> str:
    return f"2026-01-01T00:00:00.{next(CLOCK):06d}Z"  # strictly increasing ISO 8601 instants


class MemoryConnector(Connector):
    name = "memory"
    fail_after: int | None = None
    lose_answer: bool = False
    holds_id: bool = False
    lag: float = 0.0
    incremental: bool = False  # reads say they are not full listings (no deletes taken from them)
    refuse: set[str] = set()  # titles of records whose create the tool refuses
    writes: list[tuple[str, str, str]] = []  # (endpoint, op, id): every remote write made
    check_ins: set[str] = set()  # endpoints that hold check-ins too

    @property
    def capabilities(self) -> Capabilities:  # per test: holds_id and lag are switched on by some
        return Capabilities(kinds=("objective", "key_result"), writes="records", holds_id=self.holds_id,
                            listing_lag=self.lag)

    @property
    def records(self) -> dict[tuple[str, str], dict[str, Any]]:
        return WORLD.setdefault(self.endpoint, {})

    def read(self, cursor):
        # parents first, as the contract says
        for (kind, ext), fields in sorted(self.records.items(), key=lambda kv: kv[0][0] != "objective"):
            if fields.get("_visible", 0.0) > clock():
                continue  # not in listings yet
            yield Record(kind, ext, {k: v for k, v in fields.items() if not k.startswith("_")}, updated=fields["_updated"],
                         canonical_id=fields.get("_cid"))
        yield Cursor(None, full_listing=not self.incremental)

    def fields(self, kind):
        if kind == "check_in" and self.endpoint in self.check_ins:
            return None
        if kind not in ("objective", "key_result"):
            return set()
        return None

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        new_ids: dict[str, str] = {}
        count = 0

        def step(op, ident):
            nonlocal count
            if self.fail_after is not None and count >= self.fail_after:
                raise RuntimeError("simulated crash during push")
            count += 1
            MemoryConnector.writes.append((self.endpoint, op, ident))

        for r in batch.creates:
            if r.fields.get("title") in self.refuse:
                result.rejected.append(Rejected(r.canonical_id, "refused by the tool"))
                continue
            step("create", r.canonical_id)
            ext = f"{self.endpoint}-{next(_IDS)}"
            fields = {k: (new_ids.get(v, v) if k.endswith("_id") else v) for k, v in r.fields.items()}
            self.records[(r.kind, ext)] = {**fields, "_updated": now(), "_visible": clock() + self.lag,
                                           "_made_for": r.canonical_id,  # bookkeeping for tests, never read
                                           **({"_cid": r.canonical_id} if self.holds_id else {})}
            new_ids[r.canonical_id] = ext
            result.external_ids[r.canonical_id] = ext
        for r in batch.updates:
            step("update", r.external_id)
            if (r.kind, r.external_id) not in self.records:
                result.rejected.append(Rejected(r.external_id, "not found"))
                continue
            fields = {k: (new_ids.get(v, v) if k.endswith("_id") else v) for k, v in r.fields.items()}
            kept = {k: v for k, v in self.records[(r.kind, r.external_id)].items() if k in ("_cid", "_visible", "_made_for")}
            self.records[(r.kind, r.external_id)] = {**fields, **kept, "_updated": now()}
        for r in batch.deletes:
            step("delete", r.external_id)
            self.records.pop((r.kind, r.external_id), None)
        result.requests = count
        if self.lose_answer:
            raise RuntimeError("simulated lost answer: the work was done")
        return result


def edit(endpoint: str, kind: str, ext: str, **fields) -> None:
    """An edit made in the tool itself (bumps its update time)."""
    record = WORLD[endpoint][(kind, ext)]
    record.update(fields)
    record["_updated"] = now()


def add(endpoint: str, kind: str, ext: str, **fields) -> None:
    WORLD.setdefault(endpoint, {})[(kind, ext)] = {**fields, "_updated": now()}


def find(endpoint: str, kind: str, **match) -> list[tuple[str, dict]]:
    return [(ext, f) for (k, ext), f in WORLD.get(endpoint, {}).items()
            if k == kind and all(f.get(n) == v for n, v in match.items())]


def make_hub(tmp_path, names=("a", "b"), sync=None, options=None, store=None, **kw) -> Hub:
    """A hub of memory endpoints ``names`` (synced in that order unless ``sync`` says), each
    with its ``options``, on the fake clock; ``kw`` goes to ``Hub``."""
    cfg = Config.of(tmp_path, {n: {"type": "memory", **(options or {}).get(n, {})} for n in names},
                    sync or {"order": list(names)})
    hub = Hub(cfg, store or Store(None), {"memory": MemoryConnector}, **kw)
    hub.clock, hub.sleep = clock, sleep  # the fake clock: listing lags pass at once
    return hub


@pytest.fixture
def fresh_world():
    """An empty world, no switch on and the fake clock at 0 for the test; emptied after it."""
    WORLD.clear()
    MemoryConnector.writes = []
    MemoryConnector.fail_after = None
    MemoryConnector.refuse = set()
    MemoryConnector.lose_answer = MemoryConnector.holds_id = False
    MemoryConnector.lag = 0.0
    MemoryConnector.check_ins = set()
    TIME[0] = 0.0
    yield
    WORLD.clear()
    MemoryConnector.lose_answer = MemoryConnector.holds_id = MemoryConnector.incremental = False
    MemoryConnector.lag = 0.0
