"""The progress board: scores with Google's colour bands, trends, stale KRs, each owner's
check-in cadence and what changed since the last review; committed and aspirational
objectives apart.

Everything is as of a moment (``as_of``, default now), rebuilt from the change log and the
check-ins (``history``): objectives and KRs okrsync had recorded by then, with the values
they had then. A KR's *check-ins* are its check-in records and every logged change of its
``current`` or ``confidence`` (a sync that read a new value); the value okrsync first
recorded is not one. Its *trend* is its progress after each of them, starting from its start
value on the period's first day (the baseline). Its *age* is the days since its last
check-in, or, never checked in, since its period began (else since okrsync first recorded
it); it is *stale* when that age is more than ``stale_days``, so an owner whose KRs were
never checked in has them counted stale in the cadence table too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from .. import periods
from ..model import CONFIDENCE_SCALES, band, from_fields, objective_progress, progress, score
from ..names import Names
from ..store import Store
from ..views import _value  # the same "current / target" wording as `okrsync show`
from .history import Event, iso, kr_events, period_bounds, state_at

# Weekly check-ins are the common default (https://blog.weekdone.com/faqs/implementation-guide/weekdone-usage-flow/).
STALE_DAYS = 14  # two weekly check-ins missed
REVIEW_DAYS = 7  # a weekly review looks back one week (weekly check-ins, as above)
TYPES = ("committed", "aspirational", None)


@dataclass
class KRRow:
    id: str
    title: str
    owner: str | None
    value: str
    progress: float | None
    score: float | None
    band: str
    trend: list[tuple[str, float]]  # (ISO time, progress): the baseline, then after each value
    confidence: float | None  # the latest, on 0.0–1.0 whatever the tool's scale
    confidence_trend: list[tuple[str, float]]  # (ISO time, confidence 0.0–1.0)
    last_check_in: str | None  # None: never checked in
    days_since: int | None  # since the last check-in, else since age_from; None: its period has not begun
    age_from: str  # "check-in", "period start" or "first recorded"
    check_ins: int
    checked_in: bool
    stale: bool
    known_as: list[str] = field(default_factory=list)  # the ids its tools show (names.Names): "jira OKR-12"


@dataclass
class ObjectiveRow:
    id: str
    title: str
    owner: str | None
    team: str | None
    period: str | None
    type: str | None
    progress: float | None
    score: float | None
    band: str
    key_results: list[KRRow]
    known_as: list[str] = field(default_factory=list)


@dataclass
class Cadence:
    owner: str
    key_results: int
    check_ins: int
    never_checked_in: int
    mean_days_between: float | None
    last_check_in: str | None
    stale: int


@dataclass
class Change:
    """One KR's movement between two reviews."""

    id: str
    title: str
    before: str | None  # the value then; None: not recorded yet
    after: str
    score_before: float | None
    score_after: float | None
    confidence_before: float | None
    confidence_after: float | None
    check_ins: int
    who: list[str]  # the tools (endpoints) or authors the check-ins came from
    known_as: list[str] = field(default_factory=list)


@dataclass
class OwnerWeek:
    owner: str
    changed: list[Change]
    quiet: list[dict]  # KRs with no check-in since the last review (names.Names.record)


@dataclass
class Board:
    as_of: str
    stale_days: int
    team: str | None
    period: str | None
    sections: dict[str, list[ObjectiveRow]]  # "committed" / "aspirational" / "type not set"
    cadence: list[Cadence]
    bands: dict[str, int] = field(default_factory=dict)  # KRs per band
    since: str | None = None  # the last review: the weekly view covers (since, as_of]
    week: list[OwnerWeek] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the board leaves out, and why

    @property
    def stale(self) -> list[KRRow]:
        return [kr for rows in self.sections.values() for o in rows for kr in o.key_results if kr.stale]


def build(store: Store, *, team: str | None = None, period: str | None = None, as_of: dt.datetime | None = None,
          stale_days: int = STALE_DAYS, since: dt.datetime | None = None) -> Board:
    """Everything the board shows as of ``as_of`` (default now), as plain data (also the
    ``--json`` output). ``since`` is the last review (default a week before ``as_of``)."""
    now = dt.datetime.now(dt.UTC)
    as_of = as_of or now
    since = since or as_of - dt.timedelta(days=REVIEW_DAYS)
    events = kr_events(store, as_of)
    state, first_seen = state_at(store, as_of, _checked(events))
    earlier_events = kr_events(store, since)
    earlier = state_at(store, since, _checked(earlier_events))[0].get("key_result", {})
    krs_of: dict[str, list] = {}
    for i, f in state.get("key_result", {}).items():
        kr = _as_of(from_fields("key_result", i, f), events.get(i, []))
        krs_of.setdefault(kr.objective_id, []).append(kr)
    objectives = [from_fields("objective", i, f) for i, f in state.get("objective", {}).items()]
    objectives = [o for o in objectives if (team is None or o.team == team) and (period is None or periods.same(o.period, period, o.extra))]
    names = Names.of(store)  # every row names its record by title and the ids its tools show
    sections: dict[str, list[ObjectiveRow]] = {}
    week: dict[str, OwnerWeek] = {}
    for o in objectives:
        bounds = period_bounds(store, o.period, o.extra)
        krs = krs_of.get(o.id, [])
        rows = [_kr_row(kr, events.get(kr.id, []), bounds, first_seen.get(kr.id), as_of, stale_days, names.known_as(kr.id))
                for kr in krs]
        for kr, row in zip(krs, rows):
            _add_to_week(week, kr, row, earlier.get(kr.id), earlier_events.get(kr.id, []), events.get(kr.id, []), since)
        p = objective_progress(krs)
        s = None if p is None else round(p + 1e-9, 1)
        sections.setdefault(o.type or "type not set", []).append(
            ObjectiveRow(o.id, o.title, o.owner, o.team, o.period, o.type, p, s, band(s), rows, names.known_as(o.id)))
    ordered = {k: sections[k] for k in ("committed", "aspirational", "type not set") if k in sections}
    all_rows = [kr for rows in ordered.values() for o in rows for kr in o.key_results]
    bands = {b: sum(1 for kr in all_rows if kr.band == b) for b in ("green", "yellow", "red", "unknown")}
    return Board(iso(as_of), stale_days, team, period, ordered, _cadence(all_rows, events), bands, iso(since),
                 [week[k] for k in sorted(week)], _notes(store, state, as_of, now))


def _checked(events: dict[str, list[Event]]) -> set[str]:
    return {i for i, evs in events.items() if any(e.how == "check-in" for e in evs)}


def _as_of(kr, events: list[Event]):
    """The KR with the value and confidence of its latest event up to the board's moment."""
    value = next((e.value for e in reversed(events) if e.value is not None), None)
    conf = next((e.confidence for e in reversed(events) if e.confidence is not None), None)
    level = next((e.level for e in reversed(events) if e.level is not None), None)
    return dataclasses.replace(kr, current=value, confidence=conf, level=level)


def _kr_row(kr, events: list[Event], bounds, first_seen: dt.datetime | None, as_of: dt.datetime,
            stale_days: int, known_as: list[str]) -> KRRow:
    trend = []
    if bounds and kr.start is not None and (not events or events[0].at.date() > bounds[0]):
        base = progress(dataclasses.replace(kr, current=kr.start))
        if base is not None:
            trend.append((bounds[0].isoformat() + "T00:00:00Z", round(base, 3)))
    for e in events:
        if kr.direction == "levels":  # a level KR progresses by the level each event reached
            p = None if e.level is None else progress(dataclasses.replace(kr, level=e.level))
        else:
            p = None if e.value is None else progress(dataclasses.replace(kr, current=e.value))
        if p is not None:
            trend.append((iso(e.at), round(p, 3)))
    conf = [(iso(e.at), c) for e in events if (c := _confidence(e.confidence, kr.confidence_scale)) is not None]
    checks = [e for e in events if e.is_check_in]
    if checks:
        last, age_from = checks[-1].at, "check-in"
    elif bounds and bounds[0] <= as_of.date():
        last, age_from = dt.datetime.combine(bounds[0], dt.time(), dt.UTC), "period start"
    elif bounds:
        last, age_from = None, "period start"  # its period has not begun: nothing is due yet
    else:
        last, age_from = first_seen, "first recorded"
    days = None if last is None else max(0, (as_of - last).days)
    s = score(kr)
    return KRRow(kr.id, kr.title, kr.owner, _shown(kr), progress(kr), s, band(s),
                 trend, _confidence(kr.confidence, kr.confidence_scale), conf,
                 iso(checks[-1].at) if checks else None, days, age_from, len(checks), bool(checks),
                 days is not None and days > stale_days, known_as)


def _shown(kr) -> str:
    if kr.direction == "levels":  # the level reached, not "value / target"
        return "no level yet" if kr.level is None else _value({"direction": "levels", "unit": None, "currency": None,
                                                               "levels": kr.levels, "level": kr.level})
    if kr.current is None and kr.direction != "binary":
        return "no value yet"
    return _value({"unit": kr.unit, "currency": kr.currency, "direction": kr.direction, "current": kr.current,
                   "target": kr.target, "range_low": kr.range_low, "range_high": kr.range_high})


def _confidence(value: float | None, scale: str | None) -> float | None:
    if value is None:
        return None
    lo, hi = CONFIDENCE_SCALES.get(scale or "0-1", (0.0, 1.0))
    return round(min(1.0, max(0.0, (value - lo) / (hi - lo))), 3)


def _cadence(rows: list[KRRow], events: dict[str, list[Event]]) -> list[Cadence]:
    by_owner: dict[str, list[KRRow]] = {}
    for kr in rows:
        by_owner.setdefault(kr.owner or "(no owner)", []).append(kr)
    out = []
    for owner, krs in sorted(by_owner.items()):
        times = sorted(e.at for kr in krs for e in events.get(kr.id, []) if e.is_check_in)
        gaps = [(b - a).total_seconds() / 86400 for a, b in zip(times, times[1:])]
        out.append(Cadence(owner, len(krs), len(times), sum(not kr.checked_in for kr in krs),
                           round(sum(gaps) / len(gaps), 1) if gaps else None, iso(times[-1]) if times else None,
                           sum(kr.stale for kr in krs)))
    return out


def _add_to_week(week: dict[str, OwnerWeek], kr, row: KRRow, before: dict | None, before_events: list[Event],
                 events: list[Event], since: dt.datetime) -> None:
    owner = kr.owner or "(no owner)"
    entry = week.setdefault(owner, OwnerWeek(owner, [], []))
    fresh = [e for e in events if e.is_check_in and e.at > since]
    if not fresh and before is not None:
        entry.quiet.append({"id": kr.id, "title": kr.title, "known_as": row.known_as})
        return
    old = None if before is None else _as_of(from_fields("key_result", kr.id, before), before_events)
    entry.changed.append(Change(kr.id, kr.title, None if old is None else _shown(old), row.value,
                                None if old is None else score(old), row.score,
                                None if old is None else _confidence(old.confidence, old.confidence_scale), row.confidence,
                                len(fresh), sorted({e.who for e in fresh if e.who}), row.known_as))


def _notes(store: Store, state: dict, as_of: dt.datetime, now: dt.datetime) -> list[str]:
    """Records the board leaves out because okrsync recorded them after ``as_of``."""
    if as_of >= now:
        return []
    notes = []
    for kind, label in (("objective", "objectives"), ("key_result", "key results")):
        later = sum(1 for i, _, _ in store.entities(kind) if i not in state.get(kind, {}))
        if later:
            notes.append(f"{later} {label} okrsync recorded after {as_of.date()} are not on this board "
                         f"(it shows what was known then)")
    return notes
