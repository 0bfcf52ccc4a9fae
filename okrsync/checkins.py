"""Check-ins and a key result's current value are one truth.

The rule (docs/sync-engine.md, "Check-ins and current values"), applied by the hub after each pull, in
the same transaction as the pull:

- a KR's ``current`` — and its ``confidence`` and ``status`` where the check-in carries
  them — is the value of its **latest check-in by time** (``at``), whatever the order in
  which the source listed them; among check-ins with the same time the one recorded last
  wins (for one file: the lower row); a check-in without a value (a note alone) leaves the
  value to the latest one that has it;
- a ``current`` value **edited on an endpoint** after the KR's latest check-in wins, and is
  recorded as a check-in at the edit's time, so the rule above keeps holding. The edit's time
  is that of the last change of ``current`` in the change log: the tool's own update time of
  the record where it has one, else when okrsync recorded it. A KR's first value (its
  creation) is no edit: check-ins win over it;
- a check-in deleted at the source no longer counts: the KR takes the latest one left;
  with none left, its value stays as it was.

On a KR measured by levels (direction ``levels``) the level reached plays the part of the
value: ``level`` comes from the latest check-in that names one, and a level edited on an
endpoint after it is kept as a check-in the same way.

A KR with no check-in records keeps the value its source gives; each value a sync reads
is then a check-in of the change log (``report/history.py``), as before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import levels as ordinal
from .policy import _instant as when  # an ISO time or date as an aware UTC instant (naive: UTC)
from .store import Store, new_id

# KR field ← check-in field taken from the latest check-in when it holds one
_CARRIED = (("current", "value"), ("level", "level"), ("confidence", "confidence"), ("status", "status"))


@dataclass
class Settled:
    """What ``settle`` changed: KRs given their latest check-in's values, edits kept as check-ins."""

    from_check_ins: int = 0
    edits_kept: int = 0

    def notes(self, endpoint: str) -> list[str]:
        out = []
        if self.from_check_ins:
            out.append(f"{self.from_check_ins} key result(s) took current value (or level reached), confidence or status "
                       f"from their latest check-in (read from {endpoint})")
        if self.edits_kept:
            out.append(f"{self.edits_kept} current value(s) edited after the KR's latest check-in "
                       "were kept and recorded as check-ins")
        return out


def latest(check_ins: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The check-in that gives a KR its value: latest ``at``; on a tie, the one listed last.

    ``check_ins`` are in the order they were recorded; ones without a readable time never win.
    """
    best, best_at = None, None
    for c in check_ins:
        at = when(c.get("at"))
        if at is not None and (best_at is None or at >= best_at):
            best, best_at = c, at
    return best


def touched(store: Store, changes, into: dict[str, None] | None = None) -> dict[str, None]:
    """The KRs ``changes`` (a pull's ``Change``s) change, or whose check-ins they change, in
    order, added to ``into``: a pull applied in chunks (``Hub.pull``) settles them once, at its end."""
    into = {} if into is None else into
    for c in changes:
        if c.kind == "key_result" and c.fields is not None:
            into[c.canonical_id] = None
        elif c.kind == "check_in":
            fields = c.fields or (store.get_any(c.canonical_id) or (None, {}))[1]  # a deleted one: its last fields
            if fields.get("key_result_id"):
                into[fields["key_result_id"]] = None
    return into


def settle(store: Store, run_id: int, endpoint: str, changes=(), kr_ids: dict[str, None] | None = None) -> Settled:
    """Apply the rule to the KRs a pull from ``endpoint`` touched: ``changes`` are the
    pull's ``Change``s, already written (with its links: the tools' update times), or
    ``kr_ids`` what ``touched`` made of them."""
    done = Settled()
    krs = touched(store, changes) if kr_ids is None else kr_ids
    if not krs or not store.count("check_in"):
        return done  # a pull without check-ins anywhere (most imports) costs one count
    by_kr: dict[str, list[dict]] = {}
    for _, _, f in store.entities("check_in"):
        if f.get("key_result_id") in krs:
            by_kr.setdefault(f["key_result_id"], []).append(f)
    for kr_id in krs:
        check_ins = by_kr.get(kr_id)
        found = store.get(kr_id) if check_ins else None
        if found is None:
            continue
        kr = found[1]
        carried, measure, ci_measure = _CARRIED, "current", "value"
        if kr.get("direction") == "levels":  # the level, never a number; a tool holding it as 0..n gives numbers
            check_ins = [c if c.get("level") is not None else {**c, "level": ordinal.from_number(kr.get("levels"), c.get("value"))}
                         for c in check_ins]
            carried, measure, ci_measure = _CARRIED[1:], "level", "level"
        last = latest(check_ins)
        if last is None:
            continue
        edit = _last_edit(store, kr_id, measure) if kr.get(measure) is not None else None
        if edit is not None and edit[1] > when(last["at"]):
            if kr[measure] != last.get(ci_measure):
                store.mutate(run_id, edit[0], "check_in", new_id("check_in"),
                             {"key_result_id": kr_id, "at": edit[1].isoformat().replace("+00:00", "Z"),
                              ci_measure: kr[measure], "confidence": kr.get("confidence"),
                              "note": f"{'level reached' if measure == 'level' else 'current value'} edited on {edit[0]}"})
                done.edits_kept += 1
            continue
        new = dict(kr)
        for kr_field, ci_field in carried:  # each from the latest check-in that carries it (a note alone does not)
            source = last if last.get(ci_field) is not None else latest([c for c in check_ins if c.get(ci_field) is not None])
            if source is not None:
                new[kr_field] = source[ci_field]
        if new.get("level") is not None:  # "Target" in a check-in names the KR's "target"
            new["level"] = ordinal.canonical(new.get("levels"), new["level"])
        if new != kr:
            # change kind "check-in": the check-in is the event (reports count it once), and
            # _last_edit does not take this copy of its value for an edit of the KR
            # who: the check-in's own author, when it names one
            store.mutate(run_id, endpoint, "key_result", kr_id, new, old=kr, change="check-in", actor=last.get("author"))
            done.from_check_ins += 1
    return done


def _last_edit(store: Store, kr_id: str, measure: str = "current") -> tuple[str, dt.datetime] | None:
    """(endpoint, time) of the last edit of a KR's ``current`` (``level`` on a levels KR) read
    from an endpoint: the tool's update time of the record there, else when okrsync recorded it."""
    row = store.db.execute("SELECT origin, at FROM changes WHERE entity_id = ? AND field = ? "
                           "AND kind IN ('update', 'restore') ORDER BY id DESC LIMIT 1", [kr_id, measure]).fetchone()
    if row is None:
        return None
    return row[0], when(store.remote_updated(row[0], kr_id)) or when(row[1])
