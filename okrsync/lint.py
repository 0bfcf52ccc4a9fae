"""OKR quality rules over the store (``okrsync lint``).

Each rule has an id, a default severity and a one-line description (``RULES``). Severities
can be changed per run (``error``, ``warning`` or ``off``); an error-level finding makes
``okrsync lint`` exit with code 7. Counts guidance is inconsistent between sources
(whatmatters.com/faqs/how-many-okrs-to-have, whose archived versions say 5–7, then 5, then
2–3 objectives with 3–5 KRs; okrs.com/2015/04/how-many-okrs-should-you-really-have; Profit.co
caps at 7 KRs: profit.co/helpcenter/okr-super-user-guide), so "more than five KRs" is a
warning by default, not an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import periods
from .errors import ConfigError
from .model import NUMERIC_DIRECTIONS, alignment_cycles, from_fields, objective_progress
from .report.history import period_bounds
from .store import Store
from .transforms import normalise_key

SEVERITIES = ("error", "warning", "off")
MAX_KRS = 5  # "at most 5 objectives with 3–5 KRs" (whatmatters.com/faqs/how-many-okrs-to-have)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    description: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("kr-no-target", "error", "a key result without a measurable target"),
    Rule("kr-target-equals-start", "warning", "a key result whose target equals its start: it cannot progress (scored –)"),
    Rule("objective-no-krs", "warning", "an objective without key results"),
    Rule("objective-too-many-krs", "warning", f"an objective with more than {MAX_KRS} key results"),
    Rule("missing-owner", "warning", "an objective or key result without an owner"),
    Rule("duplicate-title", "warning", "two objectives in one period, or two KRs of one objective, with the same title"),
    Rule("alignment-cycle", "error", "objectives that (through their parents) contribute to themselves"),
    Rule("dates-outside-period", "warning", "an objective or key result whose own dates fall outside its period's dates"),
    Rule("committed-below-target", "warning", "a committed objective scoring below 1.0 after its period ended"),
    Rule("kr-orphan", "error", "a key result whose objective is not in the store (okrsync show lists them apart)"),
    Rule("empty-title", "error", "an objective, key result or initiative with an empty title"),
)}
TITLED = ("objective", "key_result", "initiative")


@dataclass(frozen=True)
class _Named:
    """What a finding names: a record's id and title (for records no entity type builds)."""

    id: str
    title: str


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    entity: str  # canonical id
    title: str
    message: str
    keys: list[str] = field(default_factory=list)  # what endpoints show it as ("jira OKR-12")


def severities(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The default severities with ``overrides`` ({rule id: level}) applied; checked."""
    levels = {r.id: r.severity for r in RULES.values()}
    for rule, level in (overrides or {}).items():
        if rule not in RULES:
            raise ConfigError(f"--severity: unknown rule {rule!r}; rules: {', '.join(RULES)}")
        if level not in SEVERITIES:
            raise ConfigError(f"--severity {rule}: unknown level {level!r}; use error, warning or off")
        levels[rule] = level
    return levels


@dataclass(frozen=True)
class _Scope:
    """What every rule reads: the objectives linted, their KRs, the store and today."""

    store: Store
    objectives: list
    krs_of: dict[str, list]  # objective id → its key results
    today: dt.date


def lint(store: Store, levels: dict[str, str] | None = None, *, period: str | None = None,
         today: dt.date | None = None) -> list[Finding]:
    """Every finding of every rule not switched off, in rule order. ``period`` narrows the
    objective rules to its objectives; orphans and empty titles are looked for in the whole
    store (an orphan belongs to no period)."""
    levels = levels or severities()
    scope = _scope(store, period, today or dt.date.today())
    found: list[Finding] = []
    keys = store.keys()

    def report(rule: str, entity, message: str) -> None:
        if levels[rule] != "off":
            found.append(Finding(rule, levels[rule], entity.id, entity.title, message, keys.get(entity.id, [])))

    for check, rules in _CHECKS:
        if any(levels[r] != "off" for r in rules):  # a rule switched off costs no reads
            check(scope, report)
    return found


def _scope(store: Store, period: str | None, today: dt.date) -> _Scope:
    objectives = [from_fields("objective", i, f) for i, _, f in store.entities("objective")]
    if period:
        objectives = [o for o in objectives if periods.same(o.period, period, o.extra)]
    krs_of: dict[str, list] = {o.id: [] for o in objectives}
    for i, _, f in store.entities("key_result"):
        if f.get("objective_id") in krs_of:
            krs_of[f["objective_id"]].append(from_fields("key_result", i, f))
    return _Scope(store, objectives, krs_of, today)


def _kr_targets(scope: _Scope, report) -> None:
    """kr-no-target and kr-target-equals-start (one KR breaks at most one of them)."""
    for o in scope.objectives:
        for kr in scope.krs_of[o.id]:
            if not _measurable(kr):
                report("kr-no-target", kr, f"{kr.direction} KR without " + {"range": "range bounds", "levels": "named levels"}.get(
                    kr.direction, "a target"))
            elif kr.direction in NUMERIC_DIRECTIONS and kr.start is not None and kr.target == kr.start:
                report("kr-target-equals-start", kr, f"target equals start ({kr.start:g}); set another target, "
                       "or use direction stay_above/stay_below")


def _kr_counts(scope: _Scope, report) -> None:
    """objective-no-krs and objective-too-many-krs."""
    for o in scope.objectives:
        count = len(scope.krs_of[o.id])
        if not count:
            report("objective-no-krs", o, "no key results")
        elif count > MAX_KRS:
            report("objective-too-many-krs", o, f"{count} key results (more than {MAX_KRS})")


def _missing_owners(scope: _Scope, report) -> None:
    for o in scope.objectives:
        if not o.owner:
            report("missing-owner", o, "objective without an owner")
        for kr in scope.krs_of[o.id]:
            if not kr.owner:
                report("missing-owner", kr, f"key result of {o.title!r} without an owner")


def _alignment_cycles(scope: _Scope, report) -> None:
    edges = [(o.id, o.parent_id) for o in scope.objectives if o.parent_id]
    edges += [(f["child_id"], f["parent_id"]) for _, _, f in scope.store.entities("alignment")]
    titles = {o.id: o for o in scope.objectives}
    for cycle in alignment_cycles(edges):
        if cycle[0] in titles:
            report("alignment-cycle", titles[cycle[0]], " → ".join(titles[c].title if c in titles else c for c in cycle))


def _committed_below_target(scope: _Scope, report) -> None:
    for o in scope.objectives:
        end = (period_bounds(scope.store, o.period, o.extra) or (None, None))[1] or o.due
        if o.type == "committed" and end and end < scope.today:
            p = objective_progress(scope.krs_of[o.id])
            if p is not None and round(p + 1e-9, 1) < 1.0:
                report("committed-below-target", o, f"scored {round(p + 1e-9, 1):.1f} by {end} (committed OKRs are expected at 1.0)")


def _dates_outside_periods(scope: _Scope, report) -> None:
    """Record dates the period contradicts are kept as given (never rewritten): said here."""
    for o in scope.objectives:
        bounds = period_bounds(scope.store, o.period, o.extra)
        if bounds is None:  # no period, or a label without dates ("Rolling")
            continue
        first, last = bounds
        for entity, dates in [(o, (("start", o.start), ("due", o.due)))] + [(kr, (("due", kr.due),)) for kr in scope.krs_of[o.id]]:
            outside = [f"{name} {day}" for name, day in dates if day is not None and not first <= day <= last]
            if outside:
                report("dates-outside-period", entity, f"{', '.join(outside)} outside period {o.period} "
                       f"({first} – {last}); fix the date or the period")


def _orphans(scope: _Scope, report) -> None:
    live = {i for i, _, _ in scope.store.entities("objective")}
    for i, _, f in scope.store.entities("key_result"):
        if f.get("objective_id") not in live:
            ref = f.get("objective_id")
            report("kr-orphan", _Named(i, f.get("title") or ""),
                   f"its objective {ref} is not in the store" if ref else "key result without an objective")


def _untitled(scope: _Scope, report) -> None:
    for kind in TITLED:
        for i, _, f in scope.store.entities(kind):
            if not str(f.get("title") or "").strip():
                report("empty-title", _Named(i, ""), f"{kind.replace('_', ' ')} with an empty title: give it one where it was written")


def _measurable(kr) -> bool:
    if kr.direction == "binary":
        return True
    if kr.direction == "range":
        return kr.range_low is not None and kr.range_high is not None
    if kr.direction == "levels":  # measured by its named levels, not by a number (okrsync.levels)
        return bool(kr.levels)
    return kr.target is not None


def _duplicates(scope: _Scope, report) -> None:
    seen: dict[tuple, str] = {}
    for o in scope.objectives:
        key = ("objective", periods.key(o.period, o.extra), normalise_key(o.title))
        if key in seen:
            report("duplicate-title", o, f"same title as objective {seen[key]} in {o.period or 'no period'}")
        seen.setdefault(key, o.id)
        for kr in scope.krs_of[o.id]:
            key = ("kr", o.id, normalise_key(kr.title))
            if key in seen:
                report("duplicate-title", kr, f"same title as key result {seen[key]} of {o.title!r}")
            seen.setdefault(key, kr.id)


# The rule functions in the order their findings are listed (each reports the RULES ids it
# names; tests/test_lint_rules.py checks that together they cover RULES exactly).
_CHECKS = (
    (_kr_targets, ("kr-no-target", "kr-target-equals-start")),
    (_kr_counts, ("objective-no-krs", "objective-too-many-krs")),
    (_missing_owners, ("missing-owner",)),
    (_duplicates, ("duplicate-title",)),
    (_alignment_cycles, ("alignment-cycle",)),
    (_orphans, ("kr-orphan",)),
    (_untitled, ("empty-title",)),
    (_dates_outside_periods, ("dates-outside-period",)),
    (_committed_below_target, ("committed-below-target",)),
)
