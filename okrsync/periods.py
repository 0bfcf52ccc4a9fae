"""A period as people write it, and the dates beside it.

An objective's ``period`` holds the label exactly as its source wrote it ("Q3 2024",
"FY25 Q1", "2025 S1", "Rolling"). Where okrsync recognised the label (``transforms.
parse_period``, with the mapping's fiscal year) or a table gave its dates, the facts sit
beside it in the record's extra, namespace ``period``, one set per endpoint that read them
(as ``unparsed`` keeps its reasons: the hub keeps them in that endpoint's view, and no
writer puts them in a column):

    extra.period.<endpoint>:label   the label these facts are about ("Q3 2024")
    extra.period.<endpoint>:key     the canonical label two spellings share ("2024-Q3")
    extra.period.<endpoint>:start   first day, ISO ("2024-07-01")
    extra.period.<endpoint>:end     last day, inclusive ("2024-09-30")

Facts count only while their label is still the record's period (another tool may have
changed the period since): ``key`` and ``bounds`` check that. Reports and lint group and
filter by ``key`` and judge dates by ``bounds``, never by the label's spelling.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from typing import Any

from . import transforms as tf
from .model import iso_date

NS = "period"


def prefix(endpoint: str) -> str:
    """Field-name prefix of an endpoint's period facts (the hub keeps these in its view)."""
    return f"extra.{NS}.{endpoint}:"


def facts(endpoint: str, label: str, key: str | None, start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    """The flat ``extra.period.<endpoint>:*`` fields a record carries for its period."""
    at = prefix(endpoint)
    # names and dates as one string each, shared by every record of a big import (issue 21)
    out = {sys.intern(f"{at}label"): label}
    if key:
        out[sys.intern(f"{at}key")] = key
    if start and end:
        out[sys.intern(f"{at}start")], out[sys.intern(f"{at}end")] = iso_date(start), iso_date(end)
    return out


def settle(fields: dict[str, Any], extra: dict[str, Any], endpoint: str) -> None:
    """A parsed period (``PeriodLabel``) → its label as written in ``fields["period"]`` and
    its key and dates in ``extra`` (flat ``extra.period.<endpoint>:*`` keys)."""
    value = fields.get("period")
    if value.__class__ is tf.PeriodLabel:
        written = value.text or value.label
        fields["period"] = written
        extra.update(facts(endpoint, written, value.label, value.start, value.end))


def without(fields: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """A record's fields without the period facts ``endpoint`` gave: what a base okrsync
    wrote there holds (a write sends the label; the dates come with the next read)."""
    at = prefix(endpoint)
    return {k: v for k, v in fields.items() if not k.startswith(at)} if any(k.startswith(at) for k in fields) else fields


def nested(fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A stored record's flat fields → the ``{"period": {...}}`` extra the functions below read."""
    start = f"extra.{NS}."
    return {NS: {k[len(start):]: v for k, v in fields.items() if k.startswith(start)}}


def _own(label: str | None, extra: dict | None) -> dict:
    """The period facts of a record that are about its current label (of the first endpoint
    that gave such), as {"key", "start", "end"}."""
    found = (extra or {}).get(NS) or {}
    if not label or not found:
        return {}
    for name, value in found.items():
        endpoint, _, what = name.rpartition(":")
        if what == "label" and value == label:
            return {k: found.get(f"{endpoint}:{k}") for k in ("key", "start", "end")}
    return {}


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
