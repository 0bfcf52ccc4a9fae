"""The progress board: scores with Google's colour bands, trends from the change log, stale
KRs and each owner's check-in cadence; committed and aspirational objectives apart.

A KR's *check-ins* are its check-in records and every logged change of its ``current``
value; its trend is its progress after each of them. A KR is *stale* when its last
check-in (or, never checked in, its creation) is more than ``stale_days`` old.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field

from ..model import band, from_fields, objective_progress, progress, score
from ..store import Store
from ..transforms import TransformError, parse_period
from ..views import _value  # the same "current / target" wording as `okrsync show`

STALE_DAYS = 14  # two weekly check-ins missed (weekly is the common default: anchors §4)
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
    trend: list[tuple[str, float]]  # (ISO time, progress)
    last_check_in: str | None
    days_since: int | None
    checked_in: bool  # False: never checked in since it was created
    stale: bool


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


@dataclass
class Cadence:
    owner: str
    key_results: int
    check_ins: int
    mean_days_between: float | None
    stale: int


@dataclass
class Board:
    as_of: str
    stale_days: int
    team: str | None
    period: str | None
    sections: dict[str, list[ObjectiveRow]]  # "committed" / "aspirational" / "type not set"
    cadence: list[Cadence]
    bands: dict[str, int] = field(default_factory=dict)  # KRs per band

    @property
    def stale(self) -> list[KRRow]:
        return [kr for rows in self.sections.values() for o in rows for kr in o.key_results if kr.stale]


def build(store: Store, *, team: str | None = None, period: str | None = None,
          as_of: dt.datetime | None = None, stale_days: int = STALE_DAYS) -> Board:
    """Everything the board shows, as plain data (also the ``--json`` output)."""
    as_of = as_of or dt.datetime.now(dt.timezone.utc)
    objectives = [from_fields("objective", i, f) for i, _, f in store.entities("objective")]
    objectives = [o for o in objectives if (team is None or o.team == team) and (period is None or o.period == period)]
    krs_of: dict[str, list] = {}
    for i, _, f in store.entities("key_result"):
        kr = from_fields("key_result", i, f)
        krs_of.setdefault(kr.objective_id, []).append(kr)
    events = _check_ins(store)
    sections: dict[str, list[ObjectiveRow]] = {}
    for o in objectives:
        krs = krs_of.get(o.id, [])
        rows = [_kr_row(kr, events.get(kr.id, []), as_of, stale_days) for kr in krs]
        p = objective_progress(krs)
        s = None if p is None else round(p + 1e-9, 1)
        sections.setdefault(o.type or "type not set", []).append(
            ObjectiveRow(o.id, o.title, o.owner, o.team, o.period, o.type, p, s, band(s), rows))
    ordered = {k: sections[k] for k in ("committed", "aspirational", "type not set") if k in sections}
    all_rows = [kr for rows in ordered.values() for o in rows for kr in o.key_results]
    bands = {b: sum(1 for kr in all_rows if kr.band == b) for b in ("green", "yellow", "red", "unknown")}
    return Board(_iso(as_of), stale_days, team, period, ordered, _cadence(all_rows, events), bands)


def _check_ins(store: Store) -> dict[str, list[tuple[str, float | None, str]]]:
    """KR id → [(time, value, how)] oldest first: creation, check-ins and logged updates."""
    out: dict[str, list] = {}
    for row in store.db.query("SELECT entity_id, at, field, new, kind FROM changes WHERE entity_kind = 'key_result' "
                              "AND field IN ('*', 'current') AND kind IN ('create', 'update') ORDER BY id"):
        new = json.loads(row["new"]) if row["new"] is not None else None
        if row["field"] == "*":
            out.setdefault(row["entity_id"], []).append((row["at"], (new or {}).get("current"), "created"))
        else:
            out.setdefault(row["entity_id"], []).append((row["at"], new, "update"))
    for i, _, f in store.entities("check_in"):
        out.setdefault(f["key_result_id"], []).append((f["at"], f.get("value"), "check-in"))
    for rows in out.values():
        rows.sort(key=lambda r: r[0])
    return out


def _kr_row(kr, events: list, as_of: dt.datetime, stale_days: int) -> KRRow:
    trend = []
    for at, value, _ in events:
        if value is not None:
            p = progress(dataclasses.replace(kr, current=value))
            if p is not None:
                trend.append((at, round(p, 3)))
    checks = [at for at, _, how in events if how != "created"]
    last = checks[-1] if checks else (events[0][0] if events else None)
    days = None if last is None else (as_of - _parse(last)).days
    p = progress(kr)
    s = score(kr)
    value = _value({"unit": kr.unit, "currency": kr.currency, "direction": kr.direction, "current": kr.current,
                    "target": kr.target, "range_low": kr.range_low, "range_high": kr.range_high})
    return KRRow(kr.id, kr.title, kr.owner, value, p, s, band(s), trend, last, days, bool(checks),
                 days is not None and days > stale_days)


def _cadence(rows: list[KRRow], events: dict[str, list]) -> list[Cadence]:
    by_owner: dict[str, list[KRRow]] = {}
    for kr in rows:
        by_owner.setdefault(kr.owner or "(no owner)", []).append(kr)
    out = []
    for owner, krs in sorted(by_owner.items()):
        times = sorted(_parse(at) for kr in krs for at, _, how in events.get(kr.id, []) if how != "created")
        gaps = [(b - a).total_seconds() / 86400 for a, b in zip(times, times[1:])]
        out.append(Cadence(owner, len(krs), len(times), round(sum(gaps) / len(gaps), 1) if gaps else None,
                           sum(kr.stale for kr in krs)))
    return out


def period_end(store: Store, label: str | None) -> dt.date | None:
    """The last day of a period: its Period record, else the label read as calendar time."""
    if not label:
        return None
    found = store.get(label)
    if found and found[0] == "period":
        return dt.date.fromisoformat(found[1]["end"])
    try:
        parsed = parse_period(label)
    except TransformError:
        return None
    return parsed.end if parsed else None


def _parse(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
