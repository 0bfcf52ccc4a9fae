"""What a pull or a push of one endpoint would do: the plan the hub (``sync.py``) makes,
a dry run prints, and ``apply_pull`` / ``apply_push`` carry out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .connector import Cursor, Rejected, WriteBatch
from .store import Link, diff

LISTED = 20  # changes of one plan a person is shown (views.py); a pull applied in chunks holds no more


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


@dataclass(slots=True)  # one per record read: 100,000s in a big import
class Change:
    """One planned canonical or remote change (one per record of an import: it names its
    record by kind and ids, not by where it was read; the read's rejections say where)."""

    op: str  # create | update | delete | archive
    kind: str
    canonical_id: str
    external_id: str | None
    fields: dict[str, Any] | None  # the new fields (canonical terms); None for deletes
    changed: dict[str, tuple[Any, Any]] | None = None  # {field: (old, new)}; None: every field of a create
    actor: str | None = None  # who made it in the tool the pull read (``Record.actor``)

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
    links: list[Link] = field(default_factory=list)  # what each record read or written now agrees with
    unlinks: list[tuple[str, str]] = field(default_factory=list)  # (kind, ext) no longer on the endpoint
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cursor: Cursor | None = None
    counters: Counters = field(default_factory=Counters)
    batch: WriteBatch | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)  # (kind, external id) read
    referenced: set[tuple[str, str]] = field(default_factory=set)  # (kind, external id) records read point at
    read_at: float = 0.0  # when the read began (the hub's clock): what a lagging listing can show
    read_from: str | None = None  # when the cursor the read started from was stored (None: a first read)
    held: set[str] = field(default_factory=set)  # creates of unknown outcome a record read may be
    unlisted: set[str] = field(default_factory=set)  # created by us within the listing lag, not read yet
    keys: dict[str, str] = field(default_factory=dict)  # external id → the key people see it by
    # a push: the last change row it saw, when it plans every record there is to send (none
    # held or waiting); written as the endpoint's push mark once the endpoint took it all
    push_mark: int | None = None
    # a pull applied in chunks (``Hub.pull``): changes written and let go, per op, beyond the
    # first ``LISTED`` that ``changes`` still holds
    released: dict[str, int] = field(default_factory=dict)

    def ops(self) -> dict[str, int]:
        """How many changes of each op (create, update …) the plan makes, released ones too."""
        ops = dict(self.released)
        for c in self.changes:
            ops[c.op] = ops.get(c.op, 0) + 1
        return ops

    def as_dict(self) -> dict[str, Any]:
        out = {"endpoint": self.endpoint, "direction": self.direction,
               "changes": [c.as_dict() for c in self.changes],
               "conflicts": [c.as_dict() for c in self.conflicts],
               "rejected": [str(r) for r in self.rejected], "notes": self.notes,
               "counters": self.counters.__dict__}
        if self.released:  # "changes" lists the first ones only: say how many more there were
            out["changes_not_listed"] = dict(self.released)
        return out
