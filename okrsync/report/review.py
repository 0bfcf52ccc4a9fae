"""The quarter review pack (``okrsync report review --period P``), for the workshop that
closes a period: the progress board as of the period's last day (or now, if it has not
ended), plus what the workshop discusses:

- per objective and KR the final score and band, the trajectory over the period and the
  confidence over time (from check-ins, see ``progress``);
- what changed during the period, from the change log: when, which record and field, old
  and new value, which tool (endpoint) it came from and who made it when the tool says so
  (``changes.actor``, see ``Record.actor``; "–" otherwise); check-ins with their author;
- KRs with no check-in, or stale at the end;
- objectives whose KRs disagree (one green, one red): the average hides a problem;
- candidates to carry over: KRs of aspirational objectives below green (they may roll over),
  and KRs of committed objectives below 1.0 (a shortfall to discuss before carrying).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from .. import periods, unparsed
from ..errors import ConfigError
from ..store import ALL, CHANGE_LOG, Store
from . import progress
from .history import end_of_day, iso, parse, period_bounds

MAX_CHANGES = 300  # rows of the change table; the count says how many more there were


@dataclass
class ChangeRow:
    at: str
    record: str  # the objective's or KR's title (a check-in: its KR's)
    kind: str  # objective, key_result, check_in
    change: str  # create, update, delete, …
    field: str
    old: str | None
    new: str | None
    origin: str  # the endpoint (tool) it came from; "–" when the log does not say
    id: str = ""  # the record's canonical id (a check-in: its KR's)
    known_as: list[str] = field(default_factory=list)  # the ids its tools show (names.Names)
    who: str = "–"  # who made it, as the tool names them; "–": the tool does not say


@dataclass
class Carry:
    id: str
    title: str
    objective: str
    score: float | None
    reason: str
    known_as: list[str] = field(default_factory=list)
    objective_id: str = ""
    objective_known_as: list[str] = field(default_factory=list)


@dataclass
class Review:
    period: str
    start: str
    end: str
    board: progress.Board
    changes: list[ChangeRow]
    changes_total: int
    disagree: list[dict]  # {objective, green, red}: each record as names.Names.record gives it
    carry: list[Carry]
    unchecked: list[progress.KRRow]  # never checked in, or stale at the end
    notes: list[str] = field(default_factory=list)


def build(store: Store, period: str, *, stale_days: int = progress.STALE_DAYS, now: dt.datetime | None = None) -> Review:
    """The review pack of ``period`` as plain data. ConfigError when the period is unknown."""
    bounds = period_bounds(store, period)
    if bounds is None:
        raise ConfigError(f"--period {period}: not a period okrsync knows (a Period record or a label such as 2026-Q1)")
    now = now or dt.datetime.now(dt.UTC)
    start = dt.datetime.combine(bounds[0], dt.time(), dt.UTC)
    end = min(end_of_day(bounds[1]), now)
    # Final scores are the latest values okrsync has: reviews are often held (and their last
    # values imported) after the period ends. Staleness is judged on the period's last day.
    board = progress.build(store, period=period, stale_days=stale_days, since=start, as_of=now)
    notes = list(board.notes)
    if end < end_of_day(bounds[1]):
        notes.insert(0, f"{period} has not ended: these are the scores on {end.date()}, not final ones")
    objectives = [o for rows in board.sections.values() for o in rows]
    late = store.db.execute("SELECT count(*) FROM changes WHERE at > ? AND entity_kind IN ('objective', 'key_result')",
                            [iso(end).replace("Z", ".999Z")]).fetchone()[0]
    if late and end == end_of_day(bounds[1]):
        notes.append(f"{late} changes okrsync recorded after {period} ended are in these scores (the latest values "
                     f"count as final); 'what changed' lists the period itself")
    rows, total = _changes(store, objectives, start, end)
    disagree = [{"objective": _named(o), "green": [_named(k) for k in o.key_results if k.band == "green"],
                 "red": [_named(k) for k in o.key_results if k.band == "red"]} for o in objectives
                if {"green", "red"} <= {k.band for k in o.key_results}]
    unchecked = [kr for o in objectives for kr in o.key_results if _unchecked(kr, end, stale_days)]
    return Review(period, bounds[0].isoformat(), bounds[1].isoformat(), board, rows, total, disagree,
                  _carry(objectives), unchecked, notes)


def _named(row: progress.ObjectiveRow | progress.KRRow) -> dict:
    return {"id": row.id, "title": row.title, "known_as": row.known_as}


def _unchecked(kr: progress.KRRow, end: dt.datetime, stale_days: int) -> bool:
    """Never checked in, or its last check-in more than ``stale_days`` before the period's end."""
    return kr.last_check_in is None or (end - parse(kr.last_check_in)).days > stale_days


def _carry(objectives: list[progress.ObjectiveRow]) -> list[Carry]:
    out = []
    for o in objectives:
        for kr in o.key_results:
            if o.type == "committed" and (kr.score is None or kr.score < 1.0):
                out.append(Carry(kr.id, kr.title, o.title, kr.score, "committed, below 1.0: discuss the shortfall before carrying it",
                                 kr.known_as, o.id, o.known_as))
            elif o.type != "committed" and (kr.score is None or kr.score < 0.7):
                kind = "aspirational" if o.type == "aspirational" else "type not set"
                out.append(Carry(kr.id, kr.title, o.title, kr.score, f"{kind}, below green: may roll over",
                                 kr.known_as, o.id, o.known_as))
    return out


def _changes(store: Store, objectives: list[progress.ObjectiveRow], start: dt.datetime,
             end: dt.datetime) -> tuple[list[ChangeRow], int]:
    """What changed to the period's objectives and KRs between ``start`` and ``end``: the
    change log's rows, and the check-ins dated then (by their own date, with their author
    and the tool okrsync first read them from), oldest first."""
    rows = {o.id: o for o in objectives} | {k.id: k for o in objectives for k in o.key_results}
    title = {i: r.title for i, r in rows.items()}
    found = []
    tools = dict(store.db.execute("SELECT entity_id, origin FROM changes WHERE entity_kind = 'check_in' "
                                  "AND kind = 'create' ORDER BY id DESC").fetchall())  # the first create wins
    for cid, _, f in store.entities("check_in"):
        if f.get("key_result_id") in title and start <= parse(f["at"]) <= end:
            new = ", ".join(([f"level {f['level']}"] if f.get("level") else []) +  # a levels KR's check-in: its level
                            [f"{k} {f[k]:g}" for k in ("value", "confidence") if isinstance(f.get(k), (int, float))])
            kr = rows[f["key_result_id"]]
            found.append(ChangeRow(iso(parse(f["at"])), kr.title, "check_in", "check-in",
                                   "level" if f.get("level") else "value",
                                   None, new or None, tools.get(cid) or "–", kr.id, kr.known_as, f.get("author") or "–"))
    lo, hi = iso(start).replace("Z", ".000Z"), iso(end).replace("Z", ".999Z")
    for row in store.db.query(f"SELECT at, entity_id, entity_kind, field, old, new, origin, kind, actor FROM {CHANGE_LOG} "
                              "WHERE at >= ? AND at <= ? AND entity_kind IN ('objective', 'key_result') "
                              "AND field NOT LIKE ? AND field NOT LIKE ? ORDER BY id", [lo, hi, *_NOTES]):
        if row["entity_id"] in title:
            found.append(ChangeRow(row["at"], title[row["entity_id"]], row["entity_kind"], row["kind"],
                                   "record" if row["field"] == ALL else row["field"], _short(row["old"]), _short(row["new"]),
                                   row["origin"], row["entity_id"], rows[row["entity_id"]].known_as, row["actor"] or "–"))
    found.sort(key=lambda r: parse(r.at))
    return found[:MAX_CHANGES], len(found)


# okrsync's own notes beside a record, not anyone's edit: a period label's key and dates as a
# tool's first read after a change gives them, and why a cell was kept as text
_NOTES = (f"extra.{periods.NS}.%", f"extra.{unparsed.NS}.%")


def _short(text: str | None, limit: int = 80) -> str | None:
    """A logged value as one short line (a whole record shows as its title or field count)."""
    if text is None:
        return None
    value = json.loads(text)
    if isinstance(value, dict):
        value = value.get("title") or f"{len(value)} fields"
    elif isinstance(value, float) and value.is_integer():
        value = int(value)  # a workbook's 9300000.0 reads as the 9300000 its cell shows
    shown = str(value)
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"
