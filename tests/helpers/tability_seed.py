"""The Tability emulator seeded from the bundled example sheet, as a user would have built it."""

import csv
from pathlib import Path

from ..emulators.tability import TabilityEmulator
from .saas_e2e import EXAMPLE

COLOUR = lambda confidence: "green" if confidence >= 0.7 else "yellow" if confidence >= 0.4 else "red"  # noqa: E731


def _num(text):
    return float(text) if text else None


def seed_from_example(emu: TabilityEmulator, path: Path = EXAMPLE) -> dict[str, str]:
    """The example sheet as a user would have built it in Tability: one plan per period,
    its objectives, their KRs as outcomes with one check-in each. Returns KR id → outcome id."""
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    plan = emu.add_plan("Company OKRs 2026 Q1", "2026-01-01", "2026-03-31")
    objectives, outcomes = {}, {}
    for row in rows:
        if row["Objective ID"] not in objectives:
            objectives[row["Objective ID"]] = emu.add_objective(plan, row["Objective"], row["Objective description"])
        fmt = {"Percent": "_number_%", "Currency": "$_number_" if row["Currency"] == "USD" else "€_number_"}.get(row["Unit"], "_number_")
        out = emu.add_outcome(objectives[row["Objective ID"]], row["Key result"], start=_num(row["Start"]),
                              target=_num(row["Target"] or row["Range high"]), score_format=fmt, weight=float(row["Weight"] or 1),
                              owner=row["Owner"])
        if row["Current"]:
            emu.add_check_in(out, float(row["Current"]), confidence=COLOUR(float(row["Confidence"] or 0.5)),
                             author=row["Owner"], date="2026-02-01")
        outcomes[row["Key result ID"]] = out
    return outcomes
