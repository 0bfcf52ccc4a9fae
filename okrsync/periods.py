"""A period as people write it, and the dates beside it.

An objective's ``period`` holds the label exactly as its source wrote it ("Q3 2024",
"FY25 Q1", "2025 S1", "Rolling"). Where okrsync recognised the label (``transforms.
parse_period``, with the mapping's fiscal year) or a table gave its dates, the facts sit
beside it in the record's extra, namespace ``period``:

    extra.period.label   the label these facts are about ("Q3 2024")
    extra.period.key     the canonical label two spellings share ("2024-Q3")
    extra.period.start   first day, ISO ("2024-07-01")
    extra.period.end     last day, inclusive ("2024-09-30")

The facts count only while ``label`` is still the record's period (another tool may have
changed the period since): ``key`` and ``bounds`` check that. Reports and lint group and
filter by ``key`` and judge dates by ``bounds``, never by the label's spelling.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from . import transforms as tf

NS = "period"


def facts(label: str, key: str | None, start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    """The flat ``extra.period.*`` fields a record carries for its period."""
    out = {f"extra.{NS}.label": label}
    if key:
        out[f"extra.{NS}.key"] = key
    if start and end:
        out[f"extra.{NS}.start"], out[f"extra.{NS}.end"] = start.isoformat(), end.isoformat()
    return out


def settle(fields: dict[str, Any], extra: dict[str, Any]) -> None:
    """A parsed period (``PeriodLabel``) → its label as written in ``fields["period"]`` and
    its key and dates in ``extra`` (flat ``extra.period.*`` keys)."""
    value = fields.get("period")
    if value.__class__ is tf.PeriodLabel:
        written = value.text or value.label
        fields["period"] = written
        extra.update(facts(written, value.label, value.start, value.end))


def _own(label: str | None, extra: dict | None) -> dict:
    """The period facts of a record, if they are about its current label."""
    found = (extra or {}).get(NS) or {}
    return found if label and found.get("label") == label else {}


def key(label: str | None, extra: dict | None = None) -> str | None:
    """What two spellings of one period share: the record's own key, else the label's
    canonical form when it reads as a calendar period ("Q3 2024" → "2024-Q3"), else the
    label itself, trimmed."""
    if not label:
        return None
    return _own(label, extra).get("key") or _canonical(str(label))


@functools.lru_cache(maxsize=1024)  # a store holds few distinct labels, asked once per objective
def _canonical(label: str) -> str:
    try:
        parsed = tf.parse_period(label)
    except (tf.TransformError, ValueError):
        parsed = None
    return parsed.label if parsed else label.strip()


def bounds(label: str | None, extra: dict | None = None) -> tuple[dt.date, dt.date] | None:
    """(first day, last day) from the record's own facts, else the label read as calendar
    time; None for a label without dates ("Rolling")."""
    if not label:
        return None
    own = _own(label, extra)
    if own.get("start") and own.get("end"):
        return dt.date.fromisoformat(own["start"]), dt.date.fromisoformat(own["end"])
    try:
        parsed = tf.parse_period(label)
    except (tf.TransformError, ValueError):
        return None
    return (parsed.start, parsed.end) if parsed else None


def same(a: str | None, b: str | None, extra_a: dict | None = None) -> bool:
    """Whether two period labels name one period ("Q3 2024" and "2024-Q3")."""
    return key(a, extra_a) == key(b)
