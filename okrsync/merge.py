"""The three-way merge of one record, field by field: fields in, decision out, no I/O.

The hub (``sync.py``) keeps, per endpoint and record, the *base*: the fields that endpoint
last agreed with. A read tells apart what the endpoint changed (its value ≠ base) from what
changed in the hub (the hub's value ≠ base). A field only one side changed takes that
side's value; both changed to the same value is no conflict; both changed to different
values is *contested*, and ``decide`` (the policy, ``policy.py``) settles it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from .store import diff


@dataclass
class Contested:
    """A field both sides changed to different values, and who won."""

    field: str
    base: Any  # the value both last agreed on
    theirs: Any  # the endpoint's
    ours: Any  # the hub's
    decision: str  # theirs | ours | manual


@dataclass
class Merged:
    fields: dict[str, Any]  # what the hub holds after the merge
    base: dict[str, Any]  # what the endpoint now agrees with (a field left to the user keeps its old base)
    contested: list[Contested] = field(default_factory=list)


def merge(base: dict[str, Any], theirs: dict[str, Any], ours: dict[str, Any],
          decide: Callable[[str], str], waiting: Collection[str] = ()) -> Merged:
    """Merge an endpoint's record (``theirs``) into the hub's (``ours``) over their ``base``.

    ``ours`` empty: the hub holds the record no more (deleted, archived): the endpoint's
    record is taken whole. ``decide(field)`` returns ``theirs``, ``ours`` or ``manual`` for a
    contested field (manual: the hub keeps its value, and the base its old one, so the
    endpoint's edit stays pending until the user resolves it). ``waiting``: fields whose
    earlier conflict still waits for the user; neither side moves and nothing is decided."""
    merged, new_base = dict(ours or theirs), dict(theirs)
    contested = []
    for name, (was, value) in diff(base, theirs).items():
        mine = ours.get(name)
        if mine == value:
            continue  # the same value on both sides: not a conflict
        if mine == was or not ours:
            merged[name] = value  # only the endpoint changed it
            continue
        if name in waiting:
            new_base[name] = was
            continue
        decision = decide(name)
        contested.append(Contested(name, was, value, mine, decision))
        if decision == "theirs":
            merged[name] = value
        elif decision == "manual":
            new_base[name] = was
    return Merged(merged, new_base, contested)
