"""Airtable migration benchmark: N objectives × 5 KRs from a CSV into two Airtable tables
(objectives; key results linked to them) in the Airtable emulator.

The emulator answers after ``--latency`` (20 ms) and enforces Airtable's documented limit,
5 requests a second per base, as a token bucket holding one second's worth.
``--rate-scale`` runs the limit and okrsync's pace that many times faster; the floor scales
with it.

Figures: requests sent; the minimum the API allows (the base's schema, one listing page per
table — a migration must see what is there —, and the creates in batches of 10 records,
Airtable's maximum); the rate-limit floor (minimum / rate); 429s. Targets: requests ≤ 1.1 ×
minimum, wall ≤ 1.2 × floor, no 429.

    python bench/airtable_bench.py [--objectives 100] [--rate-scale 2] [--latency 0.02]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import saas_migration  # noqa: E402
from tests.emulators.airtable import Airtable  # noqa: E402

RATE = 5.0  # requests/s per base (airtable.com/developers/web/api/rate-limits)
BATCH = 10


def main() -> int:
    args, rate, work = saas_migration.start(__doc__, "airtable", RATE, objectives=100, rate_scale=2.0)
    from okrsync.connectors.airtable import AirtableConnector

    with Airtable(token="pat_bench") as emu:
        saas_migration.people(emu)
        objectives = emu.add_table("Objectives", {"Objective": {"type": "singleLineText"},
                                                  "Objective owner": {"type": "singleCollaborator"},
                                                  "Period": {"type": "singleSelect"}})
        number = {"type": "number", "options": {"precision": 2}}
        krs = emu.add_table("Key results", {
            "Key result": {"type": "singleLineText"},
            "Objective": {"type": "multipleRecordLinks", "options": {"linkedTableId": objectives}},
            "Owner": {"type": "singleCollaborator"}, "Unit": {"type": "singleSelect"}, "Start": number,
            "Current": number, "Target": number, "Weight": number, "Confidence": number,
            "Status": {"type": "singleSelect"}, "Due": {"type": "date"}})
        _, wall = saas_migration.migrated(work, emu, args, rate, "airtable", {
            "type": "airtable", "url": emu.url, "token": "pat_bench", "rate": rate, "base": emu.base,
            "tables": {"objective": "Objectives", "key_result": "Key results"}}, {"airtable": AirtableConnector})
        minimum = 1 + 2 + math.ceil(args.objectives / BATCH) + math.ceil(5 * args.objectives / BATCH)
        figures = saas_migration.figures(args, emu, len(emu.rows(krs)), minimum, wall)
        errors = list(emu.errors)
    return saas_migration.report(
        saas_migration.headline("Airtable migration", args, rate, RATE), figures,
        "schema + 1 page per table + creates in tens", rate, RATE, args.out, extra_ok=not errors)


if __name__ == "__main__":
    sys.exit(main())
