"""Notion migration benchmark: N objectives × 5 KRs from a CSV into two Notion databases
(objectives; key results related to them) in the Notion emulator.

The emulator answers after ``--latency`` (20 ms) and enforces Notion's documented limit,
an average of three requests a second per integration, as a token bucket holding one
second's worth. ``--rate-scale`` runs the limit and okrsync's pace that many times faster,
so the benchmark takes seconds; the floor scales with it.

Figures: requests sent; the minimum the API allows (per database one schema read and one
query — a migration must see what is there —, one user listing for the people properties,
and one create per page: Notion has no batch create); the rate-limit floor (minimum /
rate); 429s. Targets: requests ≤ 1.1 × minimum, wall ≤ 1.2 × floor, no 429.

    python bench/notion_bench.py [--objectives 20] [--rate-scale 10] [--latency 0.02]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import saas_migration  # noqa: E402
from bench.google_sheets_bench import write_csv  # noqa: E402
from tests.emulators.notion import Notion  # noqa: E402

RATE = 3.0  # average requests/s per integration (developers.notion.com/reference/request-limits)


def main() -> int:
    args = saas_migration.options(__doc__, objectives=20, rate_scale=10.0)
    from connectors.notion import NotionConnector
    from connectors.spreadsheet import CsvConnector
    from okrsync.config import Config
    from okrsync.store import Store
    from okrsync.sync import Hub

    rate = RATE * args.rate_scale
    work = Path(tempfile.mkdtemp(prefix="notion-bench-"))
    write_csv(work / "okrs.csv", args.objectives)
    with Notion(token="secret_bench") as emu:
        for email in [f"owner{n}@example.com" for n in range(40)] + [f"kr{n}@example.com" for n in range(60)]:
            emu.add_user(email)
        objectives = emu.add_database("Objectives", {"Objective": {"type": "title"}, "Objective owner": {"type": "people"},
                                                     "Period": {"type": "select"}})
        krs = emu.add_database("Key results", {
            "Key result": {"type": "title"}, "Objective": {"type": "relation", "database_id": objectives},
            "Owner": {"type": "people"}, "Unit": {"type": "select"}, "Start": {"type": "number"},
            "Current": {"type": "number"}, "Target": {"type": "number"}, "Weight": {"type": "number"},
            "Confidence": {"type": "number"}, "Status": {"type": "status"}, "Due": {"type": "date"}})
        emu.faults.latency, emu.faults.rate, emu.faults.burst = args.latency, rate, rate
        config = Config.of(work, {"sheet": {"type": "csv", "path": "okrs.csv"},
                                  "notion": {"type": "notion", "url": emu.url, "token": "secret_bench", "rate": rate,
                                             "tables": {"objective": objectives, "key_result": krs}}},
                           {"order": ["sheet", "notion"]})
        wall = saas_migration.migrate(Hub(config, Store(None), {"csv": CsvConnector, "notion": NotionConnector}),
                                      ["sheet", "notion"])
        figures = {"objectives": args.objectives, "made": len(emu.rows(krs)), "expected": 5 * args.objectives,
                   "requests": len(emu.log), "minimum": 2 * 2 + 1 + 6 * args.objectives, "wall": wall,
                   "received_429": emu.count(status=429), "rate_scale": args.rate_scale, "latency_s": args.latency}
        errors = list(emu.errors)
    return saas_migration.report(
        f"Notion migration: {args.objectives} objectives, {5 * args.objectives} KRs, latency {args.latency * 1000:.0f} ms, "
        f"limit {RATE:g} req/s × {args.rate_scale:g} = {rate:g} req/s", figures,
        "2 × (schema + query) + 1 user listing + 1 per page", rate, RATE, args.out, extra_ok=not errors)


if __name__ == "__main__":
    sys.exit(main())
