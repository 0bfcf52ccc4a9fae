"""Conflict and delete policies, read from the ``sync:`` section of the config.

A conflict is one field that two sides changed to different values since the base (the
value that endpoint last agreed with). A policy names who wins:

- ``prefer: ENDPOINT`` — that endpoint's value wins; against any other endpoint the value
  already in the hub stays.
- ``newest`` — the value with the later update time, by the tools' own clocks (a record's
  ``updated``; a file's modification time). Tie-break, also when a side has no time: the
  endpoint earlier in ``sync.order`` wins, and the value already in the hub wins over an
  endpoint outside the order.
- ``manual`` — neither side is overwritten; the conflict waits in the queue
  (``okrsync conflicts``) and its resolution is applied on the next sync.

``sync.conflicts`` sets the policy for every field, ``sync.fields`` overrides it per field:

    sync:
      conflicts: newest
      fields: {current: {prefer: jira-prod}, title: manual}
      deletes: {max_ratio: 0.25, when_edited: edit-wins}

``sync.deletes.when_edited`` settles a delete against an edit made elsewhere after the last
sync (the last state both sides agreed on), whatever order the endpoints are read in:
``edit-wins`` (default) keeps the record and restores it where it was deleted;
``delete-wins`` deletes it everywhere. Either way the loser is reported in the run summary
and kept in the change log (a conflict on field ``*``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

DELETE_POLICIES = ("propagate", "archive", "ignore")
WHEN_EDITED = ("edit-wins", "delete-wins")


@dataclass(frozen=True)
class Rule:
    kind: str  # prefer | newest | manual
    endpoint: str | None = None

    def __str__(self) -> str:
        return f"prefer {self.endpoint}" if self.kind == "prefer" else self.kind


@dataclass
class Policy:
    default: Rule = field(default_factory=lambda: Rule("newest"))
    fields: dict[str, Rule] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    max_delete_ratio: float = 0.25
    deletes_when_edited: str = "edit-wins"  # or delete-wins

    def rule(self, name: str) -> Rule:
        return self.fields.get(name, self.default)

    def for_move(self, source: str, target: str) -> None:
        """Make this the policy of a migration: the source is the truth for every field, so
        whatever the target holds that differs is overwritten, never a conflict."""
        self.default, self.fields, self.order = Rule("prefer", source), {}, [source, target]

    def decide(self, name: str, endpoint: str, theirs_time: str | None, ours_origin: str | None,
               ours_time: str | None) -> str:
        """Who wins a conflict on ``name``: "theirs" (the endpoint being read), "ours"
        (the value the hub holds, set from ``ours_origin``) or "manual"."""
        rule = self.rule(name)
        if rule.kind == "manual":
            return "manual"
        if rule.kind == "prefer":
            return "theirs" if rule.endpoint == endpoint else "ours"
        theirs_at, ours_at = _instant(theirs_time), _instant(ours_time)
        if theirs_at and ours_at and theirs_at != ours_at:
            return "theirs" if theirs_at > ours_at else "ours"
        return "theirs" if self._rank(endpoint) < self._rank(ours_origin) else "ours"

    def _rank(self, endpoint: str | None) -> int:
        return self.order.index(endpoint) if endpoint in self.order else len(self.order)


def _instant(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time as an aware instant: tools write them with different precision and
    offsets, so comparing the strings would be wrong."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _rule(raw: Any, where: str, endpoints: set[str]) -> Rule:
    if raw in ("newest", "manual"):
        return Rule(raw)
    if isinstance(raw, dict) and set(raw) == {"prefer"}:
        if raw["prefer"] not in endpoints:
            raise ConfigError(f"{where}: prefer names unknown endpoint {raw['prefer']!r} (configured: {', '.join(sorted(endpoints))})")
        return Rule("prefer", raw["prefer"])
    raise ConfigError(f"{where}: a conflict policy is newest, manual or {{prefer: ENDPOINT}}; got {raw!r}")


def from_config(cfg) -> Policy:
    """The policy of a loaded ``okrsync.config.Config`` (checked, with located errors)."""
    sync, endpoints = cfg.sync, cfg.endpoints
    names = set(endpoints)
    where = f"{cfg.path}: sync"
    policy = Policy(order=list(sync.get("order") or []))
    if "conflicts" in sync:
        policy.default = _rule(sync["conflicts"], f"{where}.conflicts", names)
    for name, raw in (sync.get("fields") or {}).items():
        policy.fields[name] = _rule(raw, f"{where}.fields.{name}", names)
    deletes = sync.get("deletes") or {}
    ratio = deletes.get("max_ratio", 0.25) if isinstance(deletes, dict) else None
    if not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
        raise ConfigError(f"{where}.deletes.max_ratio: a share between 0 and 1 (default 0.25); got {ratio!r}")
    policy.max_delete_ratio = float(ratio)
    when = deletes.get("when_edited", "edit-wins")
    if when not in WHEN_EDITED:
        raise ConfigError(f"{where}.deletes.when_edited: {' or '.join(WHEN_EDITED)} (default edit-wins); got {when!r}")
    policy.deletes_when_edited = when
    for ep in endpoints.values():
        value = ep.section.get("deletes", "propagate")  # never a secret: other endpoints' secrets stay unread
        if value not in DELETE_POLICIES:
            raise ConfigError(f"{ep.where}.deletes: {value!r} is not one of {', '.join(DELETE_POLICIES)}")
    return policy
