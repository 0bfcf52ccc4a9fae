"""Scoring criteria, weight presets and the client profile file.

The criteria follow a buyers' checklist ("24 questions to ask before buying a dedicated OKRs
tool", https://kamalsetup.eckerson.com/articles/24-questions-to-ask-before-buying-a-dedicated-okrs-tool)
and Perdoo's buyer's guide (https://tools.perdoo.com/okr-software-buyers-guide).

A criterion reads one catalogue field and values it 0.0–1.0, or None when the cell is
unknown. Presets weigh the criteria 0–5 the way each kind of company buys:

- ``startup``: agility, low cost, quick and frequent check-ins, flat collaboration (Slack,
  spreadsheets), an easy way in and out; little need for cascading or SSO;
- ``corporation``: multi-level cascading and alignment, governance, SSO/SCIM, security
  certifications, data residency, an API and predictable reporting (check-in history);
- ``scaleup``: in between.

A client profile (YAML) names the company's size, IT landscape, must-haves, budget per
seat and weight overrides; mistakes are ``ConfigError``s naming file, line and key.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import LineDict, load_yaml, where
from ..errors import ConfigError
from ..model import DIRECTIONS
from .catalogue import FIELDS, LEVELS, Tool


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    field: str  # the catalogue field it reads


CRITERIA: dict[str, Criterion] = {c.id: c for c in (
    Criterion("alignment", "alignment (parents per objective)", "alignment"),
    Criterion("cascading", "multi-level cascading", "cascading"),
    Criterion("kr_types", "KR types", "kr_types"),
    Criterion("weights", "weights and grading", "weights"),
    Criterion("check_ins", "check-ins and history", "check_ins"),
    Criterion("confidence", "confidence values", "confidence"),
    Criterion("status", "status / health", "status"),
    Criterion("initiatives", "initiatives", "initiatives"),
    Criterion("custom_fields", "custom fields", "custom_fields"),
    Criterion("api", "public API", "api"),
    Criterion("webhooks", "webhooks", "webhooks"),
    Criterion("import_export", "import / export", "import_export"),
    Criterion("jira", "Jira integration", "integration_jira"),
    Criterion("slack", "Slack integration", "integration_slack"),
    Criterion("teams", "Teams integration", "integration_teams"),
    Criterion("spreadsheets", "spreadsheet integration", "integration_spreadsheets"),
    Criterion("sso", "SSO", "sso"),
    Criterion("scim", "SCIM provisioning", "scim"),
    Criterion("data_residency", "data residency", "data_residency"),
    Criterion("security", "security certifications", "security_certifications"),
    Criterion("governance", "governance", "governance"),
    Criterion("licensing", "view-only seats", "view_only_seats"),
    Criterion("cost", "cost per seat within budget", "price_per_seat"),
    Criterion("size_fit", "company-size fit", "size_fit"),
)}
INTEGRATIONS = ("jira", "slack", "teams", "spreadsheets")

_W = {  # criterion: (startup, scaleup, corporation)
    "alignment": (1, 3, 5), "cascading": (1, 3, 5), "kr_types": (3, 3, 3), "weights": (1, 2, 3),
    "check_ins": (5, 4, 4), "confidence": (3, 3, 2), "status": (2, 2, 3), "initiatives": (2, 3, 3),
    "custom_fields": (1, 2, 3), "api": (3, 3, 4), "webhooks": (2, 2, 3), "import_export": (4, 3, 3),
    "jira": (2, 3, 3), "slack": (4, 3, 2), "teams": (1, 2, 4), "spreadsheets": (3, 2, 2),
    "sso": (1, 3, 5), "scim": (0, 2, 4), "data_residency": (0, 2, 5), "security": (1, 3, 5),
    "governance": (0, 2, 4), "licensing": (3, 2, 3), "cost": (5, 3, 1), "size_fit": (3, 3, 3),
}
PRESETS: dict[str, dict[str, float]] = {
    name: {c: float(w[i]) for c, w in _W.items()} for i, name in enumerate(("startup", "scaleup", "corporation"))
}


def size_class(people: int) -> str:
    """Below 100 a start-up, below 1,000 a scale-up, else a corporation: spreadsheets do below
    ~100 people, a tool is "critical at 1000+" (BetterWorks' founder, in the checklist above)."""
    return "startup" if people < 100 else "scaleup" if people < 1000 else "corporation"


@dataclass
class Client:
    """What the client file says; every field optional."""

    name: str | None = None  # the report's title says "for" it
    date: str | None = None  # ISO date the report is dated (default: the day it is made)
    size: int | None = None  # people
    preset: str | None = None
    it_landscape: tuple[str, ...] = ()
    must_haves: dict[str, Any] = field(default_factory=dict)  # criterion → requirement (True: has it at all)
    budget_per_seat: float | None = None
    currency: str | None = None
    weights: dict[str, float] = field(default_factory=dict)
    source: str = ""  # the file, for the report

    @property
    def size_class(self) -> str | None:
        return None if self.size is None else size_class(self.size)


def weights_for(preset: str, client: Client) -> dict[str, float]:
    """The preset's weights, fitted to the client's IT landscape, then its overrides.

    With a landscape, integrations the client does not use weigh nothing and those it uses
    weigh at least 3.
    """
    weights = dict(PRESETS[preset])
    if client.it_landscape:
        for c in INTEGRATIONS:
            weights[c] = max(weights[c], 3.0) if c in client.it_landscape else 0.0
    weights.update(client.weights)
    return weights


def value(tool: Tool, criterion: str, client: Client | None = None) -> float | None:
    """How well a tool meets a criterion, 0.0–1.0; None when its cell is unknown."""
    crit = CRITERIA[criterion]
    cell = tool.cell(crit.field)
    if not cell.known:
        return None
    v = cell.value
    kind = FIELDS[crit.field].kind
    if kind == "level":
        levels = LEVELS[crit.field]
        return levels.index(v) / (len(levels) - 1)
    if kind == "bool":
        return 1.0 if v else 0.0
    if criterion == "kr_types":
        return len(set(v) & set(DIRECTIONS)) / len(DIRECTIONS)
    if criterion == "size_fit":
        wanted = client.size_class if client else None
        return None if wanted is None else float(wanted in v)
    if criterion == "cost":
        budget = client.budget_per_seat if client else None
        return None if budget is None or not isinstance(v, (int, float)) else float(v <= budget)
    return 1.0 if v else 0.0  # lists: regions, certifications


def must_have(tool: Tool, criterion: str, requirement: Any, client: Client | None = None) -> tuple[str, str]:
    """("met" | "failed" | "unknown", why) for one must-have on one tool."""
    crit = CRITERIA[criterion]
    cell = tool.cell(crit.field)
    if not cell.known:
        return "unknown", f"{crit.label}: not known ({cell.source})"
    v = cell.value
    if requirement is True:
        ok = (value(tool, criterion, client) or 0) > 0
        return ("met" if ok else "failed"), f"{crit.label}: {_show(v)}"
    if FIELDS[crit.field].kind == "level":
        levels = LEVELS[crit.field]
        ok = levels.index(v) >= levels.index(requirement)
        return ("met" if ok else "failed"), f"{crit.label}: {v}, needs {requirement}"
    wanted = requirement if isinstance(requirement, list) else [requirement]
    missing = [w for w in wanted if w not in v]
    return ("failed" if missing else "met"), f"{crit.label}: {_show(v)}" + (f", lacks {', '.join(missing)}" if missing else "")


def _show(v: Any) -> str:
    return ", ".join(map(str, v)) if isinstance(v, tuple) else str(v).lower() if isinstance(v, bool) else str(v)


# ------------------------------------------------------------------ the client file

CLIENT_KEYS = ("name", "date", "size", "preset", "it_landscape", "must_haves", "budget_per_seat", "currency", "weights")


def load_client(path: str | Path) -> Client:
    """Read and check a client profile YAML; errors name the file, the line and the key."""
    path = Path(path)
    raw = load_yaml(path)
    if raw is None:
        return Client(source=str(path))
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a client profile is a mapping, e.g. size: 1200")
    for key in raw:
        if key not in CLIENT_KEYS:
            raise ConfigError(f"{where(path, raw, key)}: unknown key{_hint(key, CLIENT_KEYS)}")
    client = Client(source=str(path))
    if "name" in raw:
        client.name = str(raw["name"])
    if "date" in raw:
        client.date = _date(path, raw, "date")
    if "size" in raw:
        client.size = _number(path, raw, "size", whole=True)
    if "preset" in raw:
        client.preset = _choice(path, raw, "preset", raw["preset"], PRESETS)
    if "it_landscape" in raw:
        items = _list(path, raw, "it_landscape")
        client.it_landscape = tuple(_choice(path, raw, "it_landscape", i, INTEGRATIONS) for i in items)
    if "budget_per_seat" in raw:
        client.budget_per_seat = _number(path, raw, "budget_per_seat")
    if "currency" in raw:
        client.currency = str(raw["currency"])
    if "weights" in raw:
        weights = raw["weights"]
        if not isinstance(weights, dict):
            raise ConfigError(f"{where(path, raw, 'weights')}: a mapping of criterion: weight, e.g. weights: {{sso: 5}}")
        for key in weights:
            _choice(path, weights, key, key, CRITERIA)
            client.weights[key] = _number(path, weights, key)
    if "must_haves" in raw:
        for item in _list(path, raw, "must_haves"):
            criterion, requirement = _must_have(path, raw, item)
            client.must_haves[criterion] = requirement
    return client


def _must_have(path: Path, raw: LineDict, item: Any) -> tuple[str, Any]:
    """``sso`` (has it at all) or ``{api: read-write}`` / ``{data_residency: eu}`` / ``{kr_types: [range]}``."""
    if isinstance(item, str):
        return _choice(path, raw, "must_haves", item, CRITERIA), True
    if not (isinstance(item, dict) and len(item) == 1):
        raise ConfigError(f"{where(path, raw, 'must_haves')}: each must-have is a criterion (sso) or one "
                          f"criterion: requirement pair (api: read-write), got {item!r}")
    (criterion, requirement), = item.items()
    _choice(path, item, criterion, criterion, CRITERIA)
    f = FIELDS[CRITERIA[criterion].field]
    loc = where(path, item, criterion)
    if f.kind == "level":
        if requirement not in f.choices:
            raise ConfigError(f"{loc}: {requirement!r}; use one of {', '.join(f.choices)}")
    elif f.kind == "list":
        wanted = requirement if isinstance(requirement, list) else [requirement]
        bad = [w for w in wanted if not isinstance(w, str) or (f.choices and w not in f.choices)]
        if bad:
            raise ConfigError(f"{loc}: {bad[0]!r}" + (f"; use one of {', '.join(f.choices)}" if f.choices else "; expected a name"))
    elif requirement is not True:
        raise ConfigError(f"{loc}: {criterion} is yes or no; write it alone (- {criterion})")
    return criterion, requirement


def _hint(word: Any, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; use one of {', '.join(choices)}"


def _choice(path: Path, raw: Any, key: str, value: Any, choices) -> str:
    if value not in choices:
        raise ConfigError(f"{where(path, raw, key)}: {value!r} is not known{_hint(value, choices)}")
    return value


def _list(path: Path, raw: Any, key: str) -> list:
    if not isinstance(raw[key], list):
        raise ConfigError(f"{where(path, raw, key)}: expected a list, e.g. {key}: [a, b]")
    return raw[key]


def _date(path: Path, raw: Any, key: str) -> str:
    v = raw[key]
    try:
        return (v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))).isoformat()
    except ValueError:
        raise ConfigError(f"{where(path, raw, key)}: expected a date such as 2026-03-31, got {v!r}") from None


def _number(path: Path, raw: Any, key: str, *, whole: bool = False) -> Any:
    v = raw[key]
    ok = isinstance(v, int) if whole else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or v < 0:
        raise ConfigError(f"{where(path, raw, key)}: expected a {'whole ' if whole else ''}number ≥ 0, got {v!r}")
    return v
