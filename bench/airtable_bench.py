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
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import saas_migration  # noqa: E402
from bench.google_sheets_bench import write_csv  # noqa: E402
from tests.emulators.airtable import Airtable  # noqa: E402

RATE = 5.0  # requests/s per base (airtable.com/developers/web/api/rate-limits)
BATCH = 10


def main() -> int:
    args = saas_migration.options(__doc__, objectives=100, rate_scale=2.0)
    from connectors.airtable import AirtableConnector
    from connectors.spreadsheet import CsvConnector
    from okrsync.config import Config
    from okrsync.store import Store
    from okrsync.sync import Hub

    rate = RATE * args.rate_scale
    work = Path(tempfile.mkdtemp(prefix="airtable-bench-"))
    write_csv(work / "okrs.csv", args.objectives)
    with Airtable(token="pat_bench") as emu:
        for email in [f"owner{n}@example.com" for n in range(40)] + [f"kr{n}@example.com" for n in range(60)]:
            emu.add_user(email)
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
        emu.faults.latency, emu.faults.rate, emu.faults.burst = args.latency, rate, rate
        config = Config.of(work, {"sheet": {"type": "csv", "path": "okrs.csv"},
                                  "airtable": {"type": "airtable", "url": emu.url, "token": "pat_bench", "rate": rate,
                                               "base": emu.base,
                                               "tables": {"objective": "Objectives", "key_result": "Key results"}}},
                           {"order": ["sheet", "airtable"]})
        wall = saas_migration.migrate(Hub(config, Store(None), {"csv": CsvConnector, "airtable": AirtableConnector}),
                                      ["sheet", "airtable"])
        minimum = 1 + 2 + math.ceil(args.objectives / BATCH) + math.ceil(5 * args.objectives / BATCH)
        figures = {"objectives": args.objectives, "made": len(emu.rows(krs)), "expected": 5 * args.objectives,
                   "requests": len(emu.log), "minimum": minimum, "wall": wall, "received_429": emu.count(status=429),
                   "rate_scale": args.rate_scale, "latency_s": args.latency}
        errors = list(emu.errors)
    return saas_migration.report(
        f"Airtable migration: {args.objectives} objectives, {5 * args.objectives} KRs, latency "
        f"{args.latency * 1000:.0f} ms, limit {RATE:g} req/s × {args.rate_scale:g} = {rate:g} req/s", figures,
        "schema + 1 page per table + creates in tens", rate, RATE, args.out, extra_ok=not errors)


if __name__ == "__main__":
    sys.exit(main())
