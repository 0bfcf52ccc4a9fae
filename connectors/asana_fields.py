"""Asana goals ↔ okrsync records: the mapping (``mappings/vendors/asana.yaml``) applied both ways.

``AsanaMapping.load(overrides)`` merges an endpoint's ``mapping:`` section over the
shipped defaults. ``goal_data`` / ``metric`` / ``status`` build what a create or an edit
sends; ``read_goal`` turns a goal (as GET /goals answers it) back into canonical fields.
``Periods`` matches canonical period labels with Asana's read-only time periods.

Asana cannot hold every canonical value (a KR without a start, a boolean unit, a weight
above 1); ``remote_view`` says what a read will give back for what was written, so the
connector can remember the difference instead of reading it back as an edit.
Nothing here talks to the network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from okrsync.errors import MappingError
from okrsync.transforms import TransformError, parse_period, period_for_dates

from .common import merge, read_overrides, shipped

GOAL_STATUSES = ("green", "yellow", "red", "achieved", "partial", "missed", "dropped")
# a goal status update's status_type has the closed states' names, and words for the colours
UPDATE_STATUS = {"green": "on_track", "yellow": "at_risk", "red": "off_track"}
UNITS = {"number": "none", "percent": "percentage", "currency": "currency", "boolean": "none"}
GOAL_FIELDS = ("name", "notes", "due_on", "start_on", "owner", "owner.name", "time_period", "time_period.start_on",
               "time_period.end_on", "time_period.period", "time_period.display_name", "status", "metric",
               "metric.unit", "metric.currency_code", "metric.precision", "metric.initial_number_value",
               "metric.target_number_value", "metric.current_number_value", "metric.progress_source",
               "current_status_update")
HELD = {
    "objective": {"title", "description", "owner", "period", "parent_id", "status", "weight", "start", "due"},
    "key_result": {"objective_id", "title", "description", "owner", "unit", "currency", "start", "current", "target",
                   "weight", "status", "due"},
    "check_in": {"key_result_id", "at", "status", "note", "author"},
}
REFERENCE_FIELDS = {"objective_id", "parent_id", "key_result_id"}


@dataclass
class AsanaMapping:
    raw: dict[str, Any]

    @classmethod
    def load(cls, overrides: Any, base_dir: Path, where: str) -> AsanaMapping:
        overrides, where = read_overrides(overrides, base_dir, where)
        raw = merge(shipped("asana"), overrides, where)
        for status, value in raw["status"].items():
            if value is not None and value not in GOAL_STATUSES:
                raise MappingError(f"{where}.status.{status}: {value!r} is not an Asana goal status "
                                   f"({', '.join(GOAL_STATUSES)}, or null)")
        if raw["objective"]["progress_source"] not in ("subgoal_progress", "none"):
            raise MappingError(f"{where}.objective.progress_source: subgoal_progress or none")
        if raw["key_result"]["progress_source"] not in ("manual", "external"):
            raise MappingError(f"{where}.key_result.progress_source: manual or external")
        return cls(raw)

    def objective_metric(self) -> bool:
        return self.raw["objective"]["progress_source"] == "subgoal_progress"

    # ------------------------------------------------------------ writing

    def goal_data(self, kind: str, f: dict[str, Any], owner: str | None, period: str | None) -> dict[str, Any]:
        """The ``data`` of POST /goals or PUT /goals/{gid} (without workspace, team, status)."""
        due = f.get("due")
        data = {"name": f.get("title") or "", "notes": f.get("description") or "", "due_on": due,
                "owner": owner}
        if kind == "objective":
            data["start_on"] = f.get("start") if due else None  # Asana refuses a start without a due date
            data["time_period"] = period
        return data

    def status(self, value: str | None) -> str | None:
        return self.raw["status"].get(value) if value else None

    def metric(self, kind: str, f: dict[str, Any], custom_weight: bool = False) -> dict[str, Any] | None:
        """The ``data`` of POST /goals/{gid}/setMetric, which creates or replaces the metric.
        A ValueError says why a KR cannot be held (Asana needs target ≠ start)."""
        if kind == "objective":
            if not self.objective_metric():
                return None
            return {"unit": "percentage", "precision": 0, "initial_number_value": 0, "target_number_value": 1,
                    "progress_source": "subgoal_progress", "is_custom_weight": custom_weight}
        unit = f.get("unit") or "number"
        start = f.get("start")
        target = f.get("target")
        if start is None:
            start = 0.0
        if target is None:
            target = 1.0 if unit == "boolean" or start != 1 else 2.0
        current = f.get("current")
        if current is None:
            current = start
        if target == start:
            raise ValueError(f"Asana goal metrics need a target different from the start value ({target:g})")
        scale = Decimal(100) if unit == "percent" else Decimal(1)
        out = {"unit": UNITS.get(unit, "none"), "precision": min(6, max(_decimals(v) for v in (start, target, current))),
               "initial_number_value": _scaled(start, scale), "target_number_value": _scaled(target, scale),
               "current_number_value": _scaled(current, scale), "progress_source": self.raw["key_result"]["progress_source"]}
        if unit == "currency":
            if not f.get("currency"):
                raise ValueError("a currency KR needs its ISO 4217 currency code for Asana's metric")
            out["currency_code"] = f["currency"]
        return out

    # ------------------------------------------------------------ reading

    def read_goal(self, kind: str, goal: dict[str, Any], owner: str | None, period: str | None) -> dict[str, Any]:
        """Canonical fields of a goal (references and weight are the caller's)."""
        out: dict[str, Any] = {"title": goal.get("name") or "", "description": goal.get("notes") or None,
                               "owner": owner, "status": self.raw["read_status"].get(goal.get("status")),
                               "due": goal.get("due_on")}
        if kind == "objective":
            out["period"] = period
            out["start"] = goal.get("start_on")
            return out
        metric = goal.get("metric") or {}
        unit = {"percentage": "percent", "currency": "currency"}.get(metric.get("unit"), "number")
        scale = Decimal(100) if unit == "percent" else Decimal(1)
        out.update(unit=unit, currency=metric.get("currency_code") if unit == "currency" else None,
                   start=_unscaled(metric.get("initial_number_value"), scale),
                   target=_unscaled(metric.get("target_number_value"), scale),
                   current=_unscaled(metric.get("current_number_value"), scale))
        return out

    def remote_view(self, kind: str, f: dict[str, Any], owner_email: str | None, period: str | None,
                    weight: float | None) -> dict[str, Any]:
        """What reading the goal back will give for canonical fields ``f`` once written."""
        goal = {**self.goal_data(kind, f, None, None), "status": self.status(f.get("status")),
                "metric": self.metric(kind, f) if kind == "key_result" else None}
        if kind == "objective" and not self.objective_metric():
            goal["status"] = None
        out = self.read_goal(kind, goal, owner_email, period if kind == "objective" else None)
        out["weight"] = weight
        return out


def contribution(weight: float | None) -> float | None:
    """A canonical weight as Asana's contribution weight (0–1; above 1 is held as 1)."""
    if weight is None:
        return None
    return max(0.0, min(1.0, float(weight)))


def check_in_status(goal_status: str | None) -> str:
    """status_type of a status update for a canonical check-in status (required by Asana)."""
    return UPDATE_STATUS.get(goal_status or "green", goal_status or "on_track")


def read_check_in_status(mapping: AsanaMapping, status_type: str | None) -> str | None:
    colour = {v: k for k, v in UPDATE_STATUS.items()}.get(status_type, status_type)
    return mapping.raw["read_status"].get(colour)


def _decimals(value: float) -> int:
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _scaled(value: float, scale: Decimal) -> float:
    return float(Decimal(repr(float(value))) / scale)


def _unscaled(value: Any, scale: Decimal) -> float | None:
    if value is None:
        return None
    return float(Decimal(repr(float(value))) * scale)


# ---------------------------------------------------------------- time periods


@dataclass
class Periods:
    """Asana's time periods of a workspace, by canonical label."""

    by_label: dict[str, str] = field(default_factory=dict)  # canonical label → gid
    labels: dict[str, str] = field(default_factory=dict)  # gid → canonical label
    shown: dict[str, str] = field(default_factory=dict)  # gid → display name, for messages

    @classmethod
    def build(cls, periods: list[dict[str, Any]], options: dict[str, Any]) -> Periods:
        out = cls()
        names = {str(v): str(k) for k, v in (options.get("names") or {}).items()}  # display name or gid → label
        for p in periods:
            gid = p["gid"]
            label = names.get(gid) or names.get(p.get("display_name") or "") or _label(p, options)
            out.shown[gid] = p.get("display_name") or gid
            if label:
                out.labels[gid] = label
                out.by_label.setdefault(label, gid)
        return out

    def gid(self, label: str | None) -> str | None:
        """The Asana time period of a canonical label; KeyError naming the ones there are."""
        if not label:
            return None
        if label in self.by_label:
            return self.by_label[label]
        there = ", ".join(sorted(self.by_label)) or "none"
        raise KeyError(f"Asana has no time period for {label!r} (its periods: {there}); Asana's time periods are "
                       "read-only: add it in Asana's admin console, or name it under mapping.periods.names")

    def label(self, period: dict[str, Any] | None, options: dict[str, Any]) -> str | None:
        if not period:
            return None
        return self.labels.get(period.get("gid")) or _label(period, options) or period.get("display_name")


def _label(period: dict[str, Any], options: dict[str, Any]) -> str | None:
    """The canonical label of an Asana period: by its dates, else by its display name
    ("Q1 FY26") read with the fiscal-year settings, if the dates agree."""
    try:
        start, end = dt.date.fromisoformat(period["start_on"]), dt.date.fromisoformat(period["end_on"])
    except (KeyError, TypeError, ValueError):
        return None
    fiscal_start = int(options.get("fiscal_year_start") or 1)
    if fiscal_start == 1:
        found = period_for_dates(start, end)
        if found:
            return found
    try:
        parsed = parse_period(period.get("display_name"), fiscal_year_start=fiscal_start,
                              fiscal_year_naming=options.get("fiscal_year_naming") or "end")
    except (TransformError, ValueError):
        return None
    return parsed.label if parsed and (parsed.start, parsed.end) == (start, end) else None
