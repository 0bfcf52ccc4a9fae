"""The OKR tool catalogue (``catalogue.yaml``, package data) as plain data.

A ``Tool`` has ``Cell``s: a value, the source that says so (a URL and the date it was
read), and a confidence (``confirmed``, ``unverified``, ``unknown``). A source is the
vendor's page, a review site or a probe on a client's account, never okrsync's own docs. A
field a tool does not list is unknown, never false: the report shows it as unknown and
scores it as neither yes nor no. ``FIELDS`` is the
vocabulary of every field; ``CAPABILITY_FIELDS`` says which catalogue fields correspond to
which ``okrsync.connector.Capabilities`` fields, so a connector can be checked against its
tool (``disagreements``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import load_yaml, where
from ..connector import Capabilities
from ..errors import ConfigError
from ..model import DIRECTIONS, UNITS

PATH = Path(__file__).with_name("catalogue.yaml")
CONFIDENCES = ("confirmed", "unverified", "unknown")
LEVELS = {
    "alignment": ("none", "single-parent", "multi-parent"),
    "check_ins": ("none", "latest", "history"),
    "api": ("none", "read", "read-write"),
}


@dataclass(frozen=True)
class Field:
    kind: str  # level | bool | list | limit | rate | text
    label: str
    choices: tuple[str, ...] = ()  # for level and list fields; empty: any


FIELDS: dict[str, Field] = {
    "alignment": Field("level", "alignment parents", LEVELS["alignment"]),
    "cascading": Field("bool", "multi-level cascading"),
    "kr_types": Field("list", "KR types", DIRECTIONS),
    "kr_units": Field("list", "KR units", UNITS),
    "initiatives": Field("bool", "initiatives"),
    "weights": Field("bool", "KR weights"),
    "confidence": Field("bool", "confidence values"),
    "status": Field("bool", "status / health"),
    "check_ins": Field("level", "check-in history", LEVELS["check_ins"]),
    "custom_fields": Field("bool", "custom fields"),
    "max_krs_per_objective": Field("limit", "max KRs per objective"),
    "rate_limit": Field("rate", "API rate limit"),
    "api": Field("level", "public API", LEVELS["api"]),
    "webhooks": Field("bool", "webhooks (outbound)"),
    "import_export": Field("bool", "import / export"),
    "integration_jira": Field("bool", "Jira integration"),
    "integration_slack": Field("bool", "Slack integration"),
    "integration_teams": Field("bool", "Teams integration"),
    "integration_spreadsheets": Field("bool", "spreadsheet integration"),
    "sso": Field("bool", "SSO (SAML)"),
    "scim": Field("bool", "SCIM provisioning"),
    "data_residency": Field("list", "data-residency regions"),
    "security_certifications": Field("list", "security certifications"),
    "governance": Field("bool", "governance (rules, required fields)"),
    # true when the client's own people can read the OKRs without a full paid seat; free seats
    # for outside guests only (Jira, Asana) do not count
    "view_only_seats": Field("bool", "view-only seats"),
    "price_per_seat": Field("text", "list price per seat and month"),
    "size_fit": Field("list", "company sizes it suits", ("startup", "scaleup", "corporation")),
    "vendor_status": Field("text", "vendor status"),
}

# catalogue field → the Capabilities field it corresponds to. "initiatives" is the
# presence of "initiative" in Capabilities.kinds; the others are the same name's value.
CAPABILITY_FIELDS: dict[str, str] = {
    "alignment": "alignment",
    "kr_types": "kr_directions",
    "kr_units": "kr_units",
    "initiatives": "kinds",
    "weights": "weights",
    "confidence": "confidence",
    "check_ins": "check_ins",
    "custom_fields": "custom_fields",
    "max_krs_per_objective": "max_krs_per_objective",
    "rate_limit": "rate_limit",
}


@dataclass(frozen=True)
class Cell:
    value: Any  # None when unknown
    source: str | None  # a URL
    confidence: str = "unknown"
    note: str | None = None
    read: str | None = None  # ISO date the source was read (see catalogue.yaml)

    @property
    def known(self) -> bool:
        return self.confidence != "unknown"


@dataclass(frozen=True)
class Tool:
    key: str  # the connector name, where okrsync has a connector for the tool
    name: str
    checked: str  # where unknown cells were looked for
    cells: dict[str, Cell] = field(default_factory=dict)
    connectors: tuple[str, ...] = ()  # connector names besides the key (spreadsheet: csv, xlsx)
    checked_read: str | None = None  # when ``checked`` was read

    def cell(self, name: str) -> Cell:
        """The cell, or an unknown one pointing at the place looked."""
        return self.cells.get(name) or Cell(None, self.checked, "unknown", read=self.checked_read)


@lru_cache(maxsize=4)
def load(path: Path = PATH) -> dict[str, Tool]:
    """The catalogue by tool key. Raises ConfigError naming file, line and key."""
    raw = load_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("tools"), dict):
        raise ConfigError(f"{path}: expected 'sources' and 'tools' mappings")
    sources = {key: _source_entry(entry, where(path, raw["sources"], key))
               for key, entry in (raw.get("sources") or {}).items()}
    tools = {}
    for key, entry in raw["tools"].items():
        loc = where(path, raw["tools"], key)
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ConfigError(f"{loc}: a tool needs a name and cells")
        checked, read = _source(entry.get("checked"), sources, f"{loc}.checked")
        cells = {}
        for name, spec in (entry.get("cells") or {}).items():
            cells[name] = _cell(spec, sources, f"{where(path, entry['cells'], name)} ({key})", name)
        tools[str(key)] = Tool(str(key), entry["name"], checked, cells, tuple(entry.get("connectors") or ()), read)
    return tools


RECHECK_DAYS = 365  # a source read longer ago is due for re-checking


def due(tools: dict[str, Tool], today: dt.date | None = None) -> list[tuple[str, str, str]]:
    """Known cells whose source was read more than ``RECHECK_DAYS`` ago: (tool, field, read)."""
    limit = ((today or dt.date.today()) - dt.timedelta(days=RECHECK_DAYS)).isoformat()
    return [(t.key, name, c.read) for t in tools.values() for name, c in t.cells.items()
            if c.known and c.read and c.read < limit]


def for_connector(name: str, tools: dict[str, Tool] | None = None) -> Tool | None:
    """The catalogue entry of a connector: keyed by its name, or listing it in ``connectors``."""
    tools = load() if tools is None else tools
    return tools.get(name) or next((t for t in tools.values() if name in t.connectors), None)


def _source_entry(entry: Any, loc: str) -> tuple[str, str]:
    """A ``sources`` entry, {url, read[, via]}, as (url, ISO date read)."""
    if not isinstance(entry, dict) or set(entry) - {"url", "read", "via"}:
        raise ConfigError(f"{loc}: a source is {{url: https://…, read: YYYY-MM-DD}} (optionally via: where it came from)")
    url, read = entry.get("url"), entry.get("read")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ConfigError(f"{loc}: url: expected the page's https:// address, got {url!r}"
                          + ("; okrsync's own docs are no source for a tool" if str(url).startswith("repo:") else ""))
    try:
        read = (read if isinstance(read, dt.date) else dt.date.fromisoformat(str(read))).isoformat()
    except ValueError:
        raise ConfigError(f"{loc}: read: expected the date the page was read (YYYY-MM-DD), got {read!r}") from None
    return url, read


def _source(ref: Any, sources: dict, loc: str) -> tuple[str, str]:
    if not isinstance(ref, str) or ref not in sources:
        raise ConfigError(f"{loc}: {ref!r} is not a key of sources (add it there with its url and the date read)")
    return sources[ref]


def _cell(spec: Any, sources: dict, loc: str, name: str) -> Cell:
    if name not in FIELDS:
        raise ConfigError(f"{loc}: unknown field; use one of {', '.join(FIELDS)}")
    if not isinstance(spec, list) or len(spec) not in (3, 4):
        raise ConfigError(f"{loc}: a cell is [value, source, confidence] or [value, source, confidence, note]")
    value, ref, confidence = spec[:3]
    if confidence not in CONFIDENCES:
        raise ConfigError(f"{loc}: confidence {confidence!r}; use one of {', '.join(CONFIDENCES)}")
    if (value is None) != (confidence == "unknown"):
        raise ConfigError(f"{loc}: an unknown cell has the value null, and only an unknown cell has it")
    if value is not None:
        value = _checked_value(FIELDS[name], value, loc)
    url, read = _source(ref, sources, loc)
    return Cell(value, url, confidence, spec[3] if len(spec) == 4 else None, read)


def _checked_value(f: Field, value: Any, loc: str) -> Any:
    if f.kind == "bool" and not isinstance(value, bool):
        raise ConfigError(f"{loc}: expected true or false, got {value!r}")
    if f.kind == "level" and value not in f.choices:
        raise ConfigError(f"{loc}: {value!r}; use one of {', '.join(f.choices)}")
    if f.kind == "list":
        if not isinstance(value, list):
            raise ConfigError(f"{loc}: expected a list, got {value!r}")
        bad = [v for v in value if f.choices and v not in f.choices]
        if bad:
            raise ConfigError(f"{loc}: {', '.join(map(str, bad))} not in {', '.join(f.choices)}")
        return tuple(value)
    if f.kind == "limit":  # "none" is a documented absence of a limit, not an unknown
        if value == "none":
            return "none"
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{loc}: expected a positive whole number or none, got {value!r}")
    if f.kind == "rate" and value != "none" and per_second(value) is None:
        raise ConfigError(f"{loc}: expected a rate such as 60/min, 5/s or none, got {value!r}")
    return value


_SECONDS = {"s": 1, "sec": 1, "min": 60, "h": 3600, "hour": 3600}


def per_second(rate: str | None) -> float | None:
    """"60/min" → 1.0, "5/s" → 5.0; None for anything else (unknown, "none")."""
    if not isinstance(rate, str) or "/" not in rate:
        return None
    count, _, unit = rate.partition("/")
    try:
        return float(count) / _SECONDS[unit.strip()]
    except (ValueError, KeyError):
        return None


# ------------------------------------------------------------------ connectors vs the catalogue


def capability_value(caps: Capabilities, field_name: str) -> Any:
    """A Capabilities value in the catalogue's vocabulary (for comparison and reports)."""
    value = getattr(caps, CAPABILITY_FIELDS[field_name])
    if field_name == "initiatives":
        return "initiative" in value
    if field_name in ("kr_types", "kr_units"):
        return tuple(value)
    if field_name in ("max_krs_per_objective", "rate_limit") and value is None:
        return "none"
    return value


def disagreements(tool: Tool, caps: Capabilities) -> list[str]:
    """Where a connector claims more than its tool's known cells allow.

    A connector may hold less than its tool (it need not map everything), never more:
    levels and booleans may not exceed the tool's, lists must be subsets, and a limit or
    rate limit must be the tool's. Unknown cells are not compared.
    """
    found = []
    for name in CAPABILITY_FIELDS:
        cell = tool.cell(name)
        if not cell.known:
            continue
        ours, theirs = capability_value(caps, name), cell.value
        kind = FIELDS[name].kind
        if kind == "level":
            order = FIELDS[name].choices
            bad = order.index(ours) > order.index(theirs)
        elif kind == "bool":
            bad = ours and not theirs
        elif kind == "list":
            bad = not set(ours) <= set(theirs)
        elif name == "rate_limit":  # prose on both sides: the catalogue's figures must be the connector's
            bad = not set(_figures(theirs)) <= set(_figures(ours))
        else:
            bad = ours != theirs
        if bad:
            found.append(f"{name}: connector says {ours!r}, the catalogue ({cell.source}) says {theirs!r}")
    return found


def _figures(text: Any) -> list[str]:
    return [f.replace(",", "") for f in re.findall(r"\d[\d,]*", str(text))]
