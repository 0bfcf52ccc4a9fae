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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import saas_migration  # noqa: E402
from tests.emulators.notion import Notion  # noqa: E402

RATE = 3.0  # average requests/s per integration (developers.notion.com/reference/request-limits)


def main() -> int:
    args, rate, work = saas_migration.start(__doc__, "notion", RATE, objectives=20, rate_scale=10.0)
    from okrsync.connectors.notion import NotionConnector

    with Notion(token="secret_bench") as emu:
        saas_migration.people(emu)
        objectives = emu.add_database("Objectives", {"Objective": {"type": "title"}, "Objective owner": {"type": "people"},
                                                     "Period": {"type": "select"}})
        krs = emu.add_database("Key results", {
            "Key result": {"type": "title"}, "Objective": {"type": "relation", "database_id": objectives},
            "Owner": {"type": "people"}, "Unit": {"type": "select"}, "Start": {"type": "number"},
            "Current": {"type": "number"}, "Target": {"type": "number"}, "Weight": {"type": "number"},
            "Confidence": {"type": "number"}, "Status": {"type": "status"}, "Due": {"type": "date"}})
        _, wall = saas_migration.migrated(work, emu, args, rate, "notion", {
            "type": "notion", "url": emu.url, "token": "secret_bench", "rate": rate,
            "tables": {"objective": objectives, "key_result": krs}}, {"notion": NotionConnector})
        figures = saas_migration.figures(args, emu, len(emu.rows(krs)), 2 * 2 + 1 + 6 * args.objectives, wall)
        errors = list(emu.errors)
    return saas_migration.report(
        saas_migration.headline("Notion migration", args, rate, RATE), figures,
        "2 × (schema + query) + 1 user listing + 1 per page", rate, RATE, args.out, extra_ok=not errors)


if __name__ == "__main__":
    sys.exit(main())
