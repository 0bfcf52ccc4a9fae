"""Weighted scores, must-have knock-outs and the sensitivity check.

Unknown cells are never counted as yes or no: each tool gets a *proven* score (what its
sources show: Σ weight × value over known cells, divided by Σ weight of all criteria) and a
*possible* score (the same if every unknown cell turned out a yes). Tools are ranked by the
proven score; the gap to the possible score is shown beside it, and ``coverage`` says how
much of the weight the sources cover.

A must-have a tool is known to lack knocks it out; a must-have whose cell is unknown is
*unresolved*: the tool stays in, flagged, until someone checks. A retired tool is always out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalogue import Tool
from .profile import CRITERIA, Client, must_have, value

SENSITIVITY = 0.2  # each weight moved by ±20 %


@dataclass
class Score:
    tool: Tool
    proven: float
    possible: float
    coverage: float  # share of the total weight on known cells
    values: dict[str, float | None]
    knockouts: list[str] = field(default_factory=list)  # must-haves it is known to lack
    unresolved: list[str] = field(default_factory=list)  # must-haves nobody knows about

    @property
    def knocked_out(self) -> bool:
        return bool(self.knockouts)


def score_tools(tools: dict[str, Tool], weights: dict[str, float], client: Client | None = None) -> list[Score]:
    """Every tool scored and ranked: tools still in by proven then possible score, then the
    knocked-out ones."""
    client = client or Client()
    scores = [_score(tool, weights, client) for tool in tools.values()]
    return rank(scores)


def rank(scores: list[Score]) -> list[Score]:
    return sorted(scores, key=lambda s: (s.knocked_out, -round(s.proven, 9), -round(s.possible, 9), s.tool.name.lower()))


def _score(tool: Tool, weights: dict[str, float], client: Client) -> Score:
    values = {c: value(tool, c, client) for c in CRITERIA}
    proven, possible, coverage = _totals(values, weights)
    s = Score(tool, proven, possible, coverage, values)
    if tool.cell("vendor_status").value == "retired":
        s.knockouts.append("the product is retired")
    for criterion, requirement in client.must_haves.items():
        outcome, why = must_have(tool, criterion, requirement, client)
        if outcome == "failed":
            s.knockouts.append(why)
        elif outcome == "unknown":
            s.unresolved.append(why)
    return s


def _totals(values: dict[str, float | None], weights: dict[str, float]) -> tuple[float, float, float]:
    total = sum(weights.get(c, 0.0) for c in values)
    if total == 0:
        return 0.0, 0.0, 0.0
    known = sum(w for c, v in values.items() if v is not None and (w := weights.get(c, 0.0)))
    proven = sum(weights.get(c, 0.0) * v for c, v in values.items() if v is not None)
    unknown = total - known
    return proven / total, (proven + unknown) / total, known / total


@dataclass(frozen=True)
class Flip:
    criterion: str
    factor: float  # 0.8 or 1.2
    top: str  # the tool on top after the change


def sensitivity(scores: list[Score], weights: dict[str, float]) -> list[Flip]:
    """Each weighted criterion moved by ±20 % alone: the changes that put another tool on top.

    An empty list means the top choice is stable. Knock-outs do not depend on weights, so
    only the tools still in are re-ranked.
    """
    standing = [s for s in scores if not s.knocked_out]
    if len(standing) < 2:
        return []
    top = standing[0].tool.key
    flips = []
    for criterion, weight in weights.items():
        if not weight:
            continue
        for factor in (1 - SENSITIVITY, 1 + SENSITIVITY):
            moved = weights | {criterion: weight * factor}
            again = []
            for s in standing:
                proven, possible, coverage = _totals(s.values, moved)
                again.append(Score(s.tool, proven, possible, coverage, s.values))
            new_top = rank(again)[0].tool.key
            if new_top != top:
                flips.append(Flip(criterion, factor, new_top))
    return flips
