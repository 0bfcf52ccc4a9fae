"""The store as it was on a date, rebuilt from the append-only change log and check-ins.

- ``state_at(store, when)``: every entity's fields as the change log had them at ``when``
  (records created later are absent, records deleted by then are gone), and when each one
  was first recorded;
- ``kr_events(store, when)``: per KR, its values and confidences over time up to ``when``:
  the value recorded with it, every logged change of ``current``/``confidence`` (a sync that
  read a new value from a tool) and every check-in, by the check-in's own date.

A check-in's date is the tool's, so a check-in imported today but dated in March counts in
March. A change-log row's date is when okrsync recorded it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from .. import periods
from ..store import ALL, CHANGE_LOG, Store, load_record


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    how: str  # "created" (the value okrsync first recorded), "update" (a sync read a new value), "check-in"
    value: float | None
    confidence: float | None
    who: str | None  # the endpoint that brought it, or the check-in's author
    level: str | None = None  # the level reached, on a KR measured by levels

    @property
    def is_check_in(self) -> bool:
        return self.how != "created"


def state_at(store: Store, when: dt.datetime, checked: set[str] = frozenset()) -> tuple[dict[str, dict[str, dict]], dict[str, dt.datetime]]:
    """({kind: {id: fields}} as of ``when``, {id: first recorded}) from the change log.

    A KR in ``checked`` (it has a check-in dated by ``when``) that okrsync recorded only
    later is there with the fields it was first recorded with, and so is its objective:
    the tool knew it then, even if okrsync did not.
    """
    fields: dict[str, dict] = {}
    kinds: dict[str, str] = {}
    first: dict[str, dt.datetime] = {}
    first_fields: dict[str, tuple[str, dict]] = {}
    for row in store.db.query(f"SELECT entity_id, entity_kind, at, field, new FROM {CHANGE_LOG} WHERE kind != 'conflict' ORDER BY id"):
        at = parse(row["at"])
        i = row["entity_id"]
        first.setdefault(i, at)
        new = None if row["new"] is None else (load_record(row["entity_kind"], row["new"]) if row["field"] == ALL
                                               else json.loads(row["new"]))
        if at > when:
            if row["field"] == ALL and new is not None and i not in first_fields:
                first_fields[i] = (row["entity_kind"], new)
            continue
        kinds[i] = row["entity_kind"]
        if row["field"] == ALL:
            if new is None:
                fields.pop(i, None)  # deleted or archived by then
            else:
                fields[i] = dict(new)
        elif i in fields:
            if new is None:
                fields[i].pop(row["field"], None)
            else:
                fields[i][row["field"]] = new
    for i in checked:
        if i not in fields and i not in kinds and i in first_fields:
            kinds[i], fields[i] = first_fields[i][0], dict(first_fields[i][1])
            parent = fields[i].get("objective_id")
            if parent not in fields and parent not in kinds and parent in first_fields:
                kinds[parent], fields[parent] = first_fields[parent][0], dict(first_fields[parent][1])
    out: dict[str, dict[str, dict]] = {}
    for i, f in fields.items():
        out.setdefault(kinds[i], {})[i] = f
    return out, first


def kr_events(store: Store, when: dt.datetime) -> dict[str, list[Event]]:
    """KR id → its events up to ``when``, oldest first."""
    out: dict[str, list[Event]] = {}
    for row in store.db.query(f"SELECT entity_id, at, field, new, origin FROM {CHANGE_LOG} WHERE entity_kind = 'key_result' "
                              "AND field IN (?, 'current', 'confidence', 'level') AND kind IN ('create', 'update', 'revert') "
                              "ORDER BY id", [ALL]):
        at = parse(row["at"])
        if at > when:
            continue
        new = None if row["new"] is None else json.loads(row["new"])
        events = out.setdefault(row["entity_id"], [])
        if row["field"] == ALL:
            if new is not None and not events:
                events.append(Event(at, "created", new.get("current"), new.get("confidence"), row["origin"],
                                    new.get("level")))
        else:
            # a value and a confidence written together are one check-in, whichever row comes first
            same = events[-1] if events and events[-1].at == at and events[-1].how == "update" else None
            value = new if row["field"] == "current" else (same.value if same else None)
            confidence = new if row["field"] == "confidence" else (same.confidence if same else None)
            level = new if row["field"] == "level" else (same.level if same else None)
            event = Event(at, "update", value, confidence, row["origin"], level)
            if value is None and confidence is None and level is None:
                continue  # a value cleared is no check-in
            if same:
                events[-1] = event
            else:
                events.append(event)
    for _, _, f in store.entities("check_in"):
        at = parse(f["at"])
        if at <= when:
            out.setdefault(f["key_result_id"], []).append(
                Event(at, "check-in", f.get("value"), f.get("confidence"), f.get("author"), f.get("level")))
    for kr_id, events in out.items():
        events.sort(key=lambda e: e.at)
        out[kr_id] = [e for n, e in enumerate(events) if not (n and _repeats(events[n - 1], e))]
    return out


def _repeats(before: Event, event: Event) -> bool:
    """A sync that reads back the value a check-in already gave is not a new check-in."""
    return (event.how == "update" and event.value == before.value
            and event.confidence in (None, before.confidence) and event.level in (None, before.level))


def period_bounds(store: Store, label: str | None, extra: dict | None = None) -> tuple[dt.date, dt.date] | None:
    """(first day, last day) of a period: its Period record, else the dates an objective's
    source gave for it (``extra``, see okrsync/periods.py; without ``extra``, any objective's
    with this label or key: a fiscal "FY25 Q1" or a cycle from a joined table), else the
    label read as calendar time."""
    if not label:
        return None
    found = store.get(label)
    if found and found[0] == "period":
        return dt.date.fromisoformat(found[1]["start"]), dt.date.fromisoformat(found[1]["end"])
    if extra is None:
        for _, _, f in store.entities("objective"):
            extra = periods.nested(f)
            if f.get("period") and extra[periods.NS] and label in (f["period"], periods.key(f["period"], extra)):
                found = periods.bounds(f["period"], extra)
                if found:
                    return found
        extra = None
    return periods.bounds(label, extra)


def end_of_day(day: dt.date) -> dt.datetime:
    """A date given on the command line means the whole of that day (UTC)."""
    return dt.datetime.combine(day, dt.time.max, dt.UTC)


def parse(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
