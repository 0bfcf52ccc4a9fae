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

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.google_sheets_bench import write_csv  # noqa: E402
from tests.emulators.notion import Notion  # noqa: E402

RATE = 3.0  # average requests/s per integration (developers.notion.com/reference/request-limits)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objectives", type=int, default=20)
    parser.add_argument("--rate-scale", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from okrsync.config import Config
    from okrsync.store import Store
    from okrsync.sync import Hub
    from connectors.notion import NotionConnector
    from connectors.spreadsheet import CsvConnector

    rate = RATE * args.rate_scale
    work = Path(tempfile.mkdtemp(prefix="notion-bench-"))
    write_csv(work / "okrs.csv", args.objectives)
    with Notion(token="secret_bench") as emu:
        for n in range(40):
            emu.add_user(f"owner{n}@example.com")
        for n in range(60):
            emu.add_user(f"kr{n}@example.com")
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
        hub = Hub(config, Store(None), {"csv": CsvConnector, "notion": NotionConnector})
        start = time.perf_counter()
        run = hub.store.begin_run("migrate")
        hub.run(["sheet", "notion"], run)
        hub.store.finish_run(run, "ok", {})
        wall = time.perf_counter() - start
        sent, throttled = len(emu.log), emu.count(status=429)
        made = len(emu.rows(krs))
        errors = list(emu.errors)
    pages = 6 * args.objectives
    minimum = 2 * 2 + 1 + pages
    floor = minimum / rate
    ok = sent <= 1.1 * minimum and wall <= 1.2 * floor and throttled == 0 and made == 5 * args.objectives and not errors
    print(f"Notion migration: {args.objectives} objectives, {5 * args.objectives} KRs, latency "
          f"{args.latency * 1000:.0f} ms, limit {RATE:g} req/s × {args.rate_scale:g} = {rate:g} req/s")
    print(f"{'KR pages made':>22} {made:>10}")
    print(f"{'requests sent':>22} {sent:>10}")
    print(f"{'minimum requests':>22} {minimum:>10}   (2 × (schema + query) + 1 user listing + 1 per page)")
    print(f"{'requests / minimum':>22} {sent / minimum:>10.2f}   (target ≤ 1.10)")
    print(f"{'wall (s)':>22} {wall:>10.2f}")
    print(f"{'rate-limit floor (s)':>22} {floor:>10.2f}   (minimum / {rate:g} req/s)")
    print(f"{'wall / floor':>22} {wall / floor:>10.2f}   (target ≤ 1.20)")
    print(f"{'429 received':>22} {throttled:>10}   (target 0)")
    print(f"{'at the real limit':>22} {minimum / RATE:>10.1f} s  (floor at 3 req/s)")
    print("OK" if ok else "TARGET MISSED")
    if args.out:
        Path(args.out).write_text(json.dumps({
            "objectives": args.objectives, "krs": made, "requests": sent, "min_requests": minimum,
            "wall_s": round(wall, 2), "floor_s": round(floor, 2), "wall_ratio": round(wall / floor, 3),
            "received_429": throttled, "rate_per_s": rate, "rate_scale": args.rate_scale, "latency_s": args.latency},
            indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
