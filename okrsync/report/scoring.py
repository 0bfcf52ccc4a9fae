"""Weighted scores, must-have knock-outs, honest ranks and the sensitivity check.

How well a tool fits and how much is known about it are kept apart:

- ``fit``: Σ weight × value over the tool's *known* cells ÷ Σ weight of those cells: how
  well it fits as far as anyone knows (None when nothing weighted is known);
- ``coverage``: the share of the total weight whose cells are known (the evidence);
- ``low`` / ``high``: the score over *all* criteria if every unknown cell turned out a no,
  or a yes. The true score lies in this range.

A tool ranks above another only when its whole range is above the other's (``low`` >
the other's ``high``); otherwise the two are tied, and the unknown cells that could decide
between them (heaviest first) are the questions to ask the vendors. ``rank`` is one plus the
number of tools standing that are surely better, so tied tools share a rank.

A must-have a tool is known to lack knocks it out; a must-have whose cell is unknown is
*unresolved*: the tool stays in, flagged, until someone checks. A retired tool is always out.
A criterion that needs something the client profile does not say (company-size fit without
a size, cost without a budget) is not scored for anyone (``unscored``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalogue import Tool
from .profile import CRITERIA, Client, must_have, value

SENSITIVITY = 0.2  # each weight moved by ±20 %
QUESTIONS = 5  # deciding unknowns listed per tie


@dataclass
class Score:
    tool: Tool
    fit: float | None
    low: float
    high: float
    coverage: float  # share of the total weight on known cells
    values: dict[str, float | None]
    knockouts: list[str] = field(default_factory=list)  # must-haves it is known to lack
    unresolved: list[str] = field(default_factory=list)  # must-haves nobody knows about
    rank: int = 0
    ties: list[str] = field(default_factory=list)  # keys of the standing tools whose ranges overlap

    @property
    def knocked_out(self) -> bool:
        return bool(self.knockouts)

    def separated_from(self, other: Score) -> bool:
        return self.low > other.high + 1e-9 or other.low > self.high + 1e-9


def unscored(weights: dict[str, float], client: Client) -> dict[str, str]:
    """Criteria that cannot be judged for this client: {criterion: why}."""
    out = {}
    if weights.get("size_fit") and client.size_class is None:
        out["size_fit"] = "the client profile gives no size"
    if weights.get("cost") and client.budget_per_seat is None:
        out["cost"] = "the client profile gives no budget_per_seat"
    return out


def score_tools(tools: dict[str, Tool], weights: dict[str, float], client: Client | None = None) -> list[Score]:
    """Every tool scored and ranked: tools still in by rank, then fit, then coverage; then
    the knocked-out ones."""
    client = client or Client()
    weights = weights | dict.fromkeys(unscored(weights, client), 0.0)
    return rank([_score(tool, weights, client) for tool in tools.values()])


def rank(scores: list[Score]) -> list[Score]:
    standing = [s for s in scores if not s.knocked_out]
    for s in standing:
        s.rank = 1 + sum(o.low > s.high + 1e-9 for o in standing)
        s.ties = [o.tool.key for o in standing if o is not s and not s.separated_from(o)]
    for s in scores:
        if s.knocked_out:
            s.rank, s.ties = 0, []
    # within a rank, the middle of the range first: unknowns counted half-way, neither yes nor no
    return sorted(scores, key=lambda s: (s.knocked_out, s.rank, -round(s.low + s.high, 9), -(s.fit or 0.0),
                                         s.tool.name.lower()))


def _score(tool: Tool, weights: dict[str, float], client: Client) -> Score:
    values = {c: value(tool, c, client) for c in CRITERIA}
    s = Score(tool, *_totals(values, weights), values)
    if tool.cell("vendor_status").value == "retired":
        s.knockouts.append("the product is retired")
    for criterion, requirement in client.must_haves.items():
        outcome, why = must_have(tool, criterion, requirement, client)
        if outcome == "failed":
            s.knockouts.append(why)
        elif outcome == "unknown":
            s.unresolved.append(why)
    return s


def _totals(values: dict[str, float | None], weights: dict[str, float]) -> tuple[float | None, float, float, float]:
    """(fit, low, high, coverage)."""
    total = sum(weights.get(c, 0.0) for c in values)
    if total == 0:
        return None, 0.0, 0.0, 0.0
    known = sum(w for c, v in values.items() if v is not None and (w := weights.get(c, 0.0)))
    got = sum(weights.get(c, 0.0) * v for c, v in values.items() if v is not None)
    return (got / known if known else None), got / total, (got + total - known) / total, known / total


def questions(s: Score, weights: dict[str, float], limit: int = QUESTIONS) -> list[tuple[str, float]]:
    """The tool's unknown cells that could move it most, heaviest first: (criterion, weight).
    Answered, they narrow its range until it separates from the tools it ties with."""
    found = [(c, weights.get(c, 0.0)) for c, v in s.values.items() if v is None and weights.get(c, 0.0)]
    return sorted(found, key=lambda q: (-q[1], q[0]))[:limit]


@dataclass(frozen=True)
class Flip:
    criterion: str
    factor: float  # 0.8 or 1.2
    top: str  # the tool first in order after the change


def sensitivity(scores: list[Score], weights: dict[str, float]) -> list[Flip]:
    """Each weighted criterion moved by ±20 % alone: the changes that alter which tools
    share the top rank (or, among them, which comes first).

    An empty list means the top choice is stable. Knock-outs do not depend on weights, so
    only the tools still in are re-ranked.
    """
    standing = [s for s in scores if not s.knocked_out]
    if len(standing) < 2:
        return []
    top = _top(standing)
    flips = []
    for criterion, weight in weights.items():
        if not weight:
            continue
        for factor in (1 - SENSITIVITY, 1 + SENSITIVITY):
            moved = weights | {criterion: weight * factor}
            again = rank([Score(s.tool, *_totals(s.values, moved), s.values) for s in standing])
            if _top(again) != top:
                flips.append(Flip(criterion, factor, again[0].tool.key))
    return flips


def _top(ranked: list[Score]) -> tuple[str, ...]:
    return tuple(s.tool.key for s in ranked if s.rank == 1)[:1] + tuple(sorted(s.tool.key for s in ranked if s.rank == 1))
