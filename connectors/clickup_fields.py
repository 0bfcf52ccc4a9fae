"""ClickUp goals and targets ↔ okrsync records: the mapping (``mappings/vendors/clickup.yaml``) both ways.

``ClickUpMapping.load(overrides)`` merges an endpoint's ``mapping:`` section (or a YAML file
it names) over the shipped defaults. ``objective`` / ``key_result`` read a goal or a target
into canonical fields; ``goal_body`` / ``target_body`` build what a create or an edit sends.
Dates are ClickUp's unix milliseconds, read and written as calendar days in ``zone``.
Nothing here talks to the network.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from okrsync.errors import ConfigError, MappingError
from okrsync.transforms import TransformError, parse_period, period_for_dates

from .common import merge, read_overrides, shipped

CURRENCY = re.compile(r"^[A-Z]{3}$")
TARGET_TYPES = ("number", "currency", "boolean", "percentage", "automatic")  # the spec's list
UNITS = ("number", "percent", "currency", "boolean")
CREATED_NOTE = "Created Key Result"  # the note of a target's first action (the spec's example)


@dataclass
class ClickUpMapping:
    raw: dict[str, Any]
    zone: dt.tzinfo = dt.UTC

    @classmethod
    def load(cls, overrides: Any, base_dir: Path, where: str, zone: dt.tzinfo = dt.UTC) -> ClickUpMapping:
        overrides, where = read_overrides(overrides, base_dir, where)
        raw = merge(shipped("clickup"), overrides, where)
        for unit, kind in raw["types"].items():
            if unit not in UNITS or kind not in TARGET_TYPES[:4]:
                raise MappingError(f"{where}.types.{unit}: {kind!r} — map {', '.join(UNITS)} to one of "
                                   f"{', '.join(TARGET_TYPES[:4])} (automatic targets cannot be created from values)")
        for kind, unit in raw["read_types"].items():
            if unit not in UNITS:
                raise MappingError(f"{where}.read_types.{kind}: {unit!r} is not one of {', '.join(UNITS)}")
        if not str(raw.get("note") or "").strip():
            raise MappingError(f"{where}.note: ClickUp requires a note on every target update; give one")
        return cls(raw, zone)

    # ------------------------------------------------------------ dates

    def day(self, millis: Any) -> str | None:
        """ClickUp's unix milliseconds (a string in responses) as an ISO calendar day."""
        if millis in (None, ""):
            return None
        return dt.datetime.fromtimestamp(int(millis) / 1000, self.zone).date().isoformat()

    def millis(self, day: str) -> int:
        """An ISO day as unix milliseconds: that day's midnight in the endpoint's time zone."""
        start = dt.datetime.combine(dt.date.fromisoformat(str(day)[:10]), dt.time(), self.zone)
        return int(start.timestamp() * 1000)

    # ------------------------------------------------------------ reading

    def objective(self, goal: dict[str, Any], people: Callable[[Any], str | None] | None = None) -> dict[str, Any]:
        """Canonical fields of a goal. ClickUp has no period: the connector overlays the one
        okrsync wrote; without that, it is the quarter the due date closes, if it closes one."""
        due = self.day(goal.get("due_date"))
        return {"title": goal.get("name") or "", "description": goal.get("description") or None,
                "owner": _email(goal.get("owners"), people), "due": due, "period": _quarter_ending(due)}

    def key_result(self, target: dict[str, Any], goal_id: str, endpoint: str,
                   people: Callable[[Any], str | None] | None = None) -> dict[str, Any]:
        """Canonical fields of a target. Raises ValueError on a type or value okrsync can't read.
        ``people`` gives the e-mail of an owner that comes as a bare user id."""
        kind = target.get("type")
        if kind not in self.raw["read_types"]:
            raise ValueError(f"target type {kind!r} is not one okrsync knows ({', '.join(self.raw['read_types'])})")
        unit, label = self.raw["read_types"][kind], target.get("unit") or ""
        currency = self._currency(label) if unit == "currency" else None
        out = {"title": target.get("name") or "", "objective_id": goal_id, "owner": _email(target.get("owners"), people),
               "unit": unit, "currency": currency, "start": _number(target.get("steps_start"), "steps_start"),
               "target": _number(target.get("steps_end"), "steps_end"),
               "current": _number(target.get("steps_current"), "steps_current")}
        # what the canonical model has no place for, kept so a round trip loses nothing
        out[f"extra.{endpoint}.unit"] = label if unit == "number" and label else None
        out[f"extra.{endpoint}.type"] = kind if kind == "automatic" else None
        return out

    def _currency(self, label: str) -> str | None:
        label = label.strip()
        if CURRENCY.match(label.upper()):
            return label.upper()
        return self.raw["currency_symbols"].get(label)

    def check_in(self, target: dict[str, Any]) -> dict[str, Any] | None:
        """The target's latest action as a check-in, or None when it is not one a person made
        (the creation, or okrsync's own update). Its value is the target's current value: the
        latest action is what set it."""
        action = target.get("last_action") or {}
        if not action.get("id") or action.get("note") in (CREATED_NOTE, self.raw["note"]):
            return None
        at = action.get("date_modified")
        return {"at": dt.datetime.fromtimestamp(int(at) / 1000, dt.UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z") if at else None,
                "value": _number(target.get("steps_current"), "steps_current"), "note": action.get("note") or None,
                "userid": action.get("userid")}

    # ------------------------------------------------------------ writing

    def due(self, fields: dict[str, Any]) -> int:
        """``due_date`` of a goal: its due day, else (if allowed) its period's last day.
        Raises ValueError when there is neither: ClickUp will not create a goal without one."""
        if fields.get("due"):
            return self.millis(fields["due"])
        period = fields.get("period")
        if period and self.raw["goal"]["due_from_period"]:
            try:
                label = parse_period(period)
            except TransformError:
                label = None
            if label is not None:
                return self.millis(label.end.isoformat())
        raise ValueError("ClickUp needs a due date for a goal: give the objective a due date or a period "
                         "such as 2026-Q1")

    def goal_body(self, fields: dict[str, Any], owners: list[int], *, color: str | None = None,
                  remove: list[int] | None = None) -> dict[str, Any]:
        """CreateGoal body, or with ``remove`` given, UpdateGoal's (every key is required in both)."""
        body: dict[str, Any] = {"name": fields.get("title") or "", "due_date": self.due(fields),
                                "description": fields.get("description") or ""}
        if remove is None:
            body.update(multiple_owners=True, owners=owners)
        else:
            body.update(rem_owners=remove, add_owners=owners)
        body["color"] = color or self.raw["goal"]["color"]
        return body

    def target_body(self, fields: dict[str, Any], owners: list[int], endpoint: str) -> dict[str, Any]:
        """CreateKeyResult body (the edit takes the same keys plus steps_current and note)."""
        unit = fields.get("unit") or "number"
        if unit not in self.raw["types"]:
            raise ValueError(f"unit {unit!r} has no ClickUp target type in the mapping")
        kind = self.raw["types"][unit]
        start, end = fields.get("start"), fields.get("target")
        if kind == "boolean":
            start, end = 0 if start is None else start, 1 if end is None else end
        if end is None:
            raise ValueError("ClickUp needs a target value (steps_end) for a key result; one without a target "
                             "(such as a range) is not sent")
        label = {"percentage": "%", "currency": fields.get("currency") or "", "boolean": ""}.get(
            kind, fields.get(f"extra.{endpoint}.unit") or "")
        return {"name": fields.get("title") or "", "owners": owners, "type": kind,
                "steps_start": _json_number(0 if start is None else start), "steps_end": _json_number(end),
                "unit": label, "task_ids": [], "list_ids": []}

    def filled(self, fields: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Canonical fields a body had to fill in (ClickUp requires them), as a read shows them:
        read back unchanged, they are reported empty again, so a default never looks like an edit."""
        out: dict[str, Any] = {}
        if "due_date" in body and not fields.get("due"):
            out["due"] = self.day(body["due_date"])
        if "steps_start" in body:
            for name, key in (("start", "steps_start"), ("target", "steps_end")):
                if fields.get(name) is None:
                    out[name] = float(body[key])
            if fields.get("current") is None:  # a new target's current value is its start
                out["current"] = float(body.get("steps_current", body["steps_start"]))
        return out

    def update_body(self, fields: dict[str, Any], owners: list[int], endpoint: str) -> dict[str, Any]:
        """EditKeyResult body: the create keys (the spec's prose allows them) and the required
        ``steps_current`` and ``note``."""
        body = self.target_body(fields, owners, endpoint)
        del body["task_ids"], body["list_ids"]  # links to tasks are ClickUp's own: left alone
        current = fields.get("current")
        body["steps_current"] = _json_number(body["steps_start"] if current is None else current)
        body["note"] = self.raw["note"]
        return body


def _quarter_ending(day: str | None) -> str | None:
    if not day:
        return None
    end = dt.date.fromisoformat(day)
    return period_for_dates(dt.date(end.year, (end.month - 1) // 3 * 3 + 1, 1), end)


def _email(owners: Any, people: Callable[[Any], str | None] | None = None) -> str | None:
    """The first owner's e-mail (canonical records have one owner; ClickUp allows several).
    Owners come as user objects (third-party clients' models) or as user ids (the spec's
    listing types them as strings); ``people`` turns an id into an e-mail."""
    for owner in owners or []:
        if isinstance(owner, dict) and (owner.get("email") or owner.get("username")):
            return owner.get("email") or owner.get("username")
        if not isinstance(owner, dict) and people is not None:
            found = people(owner)
            if found:
                return found
    return None


def _number(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} holds {value!r}, not a number")
    try:
        return float(value)  # responses carry numbers, or numbers as strings (steps_* in last_action)
    except (TypeError, ValueError):
        raise ValueError(f"{name} holds {value!r}, not a number") from None


def _json_number(value: float) -> int | float:
    """Whole numbers as JSON integers (the spec types steps_* as int32); fractions as they are.
    UNCONFIRMED: that ClickUp keeps fractions — its spec says integer, its responses carry
    ``*_float`` companions. The connector reads every fraction it wrote back and reports a
    value kept otherwise as a loss (``ClickUpConnector._verify_steps``)."""
    number = float(value)
    return int(number) if number.is_integer() else number


def zone(name: str | None, where: str) -> dt.tzinfo:
    if not name:
        return dt.UTC
    try:
        return ZoneInfo(str(name))
    except (KeyError, ValueError):
        raise ConfigError(f"{where}: timezone {name!r} is not an IANA zone name such as Europe/Berlin") from None
