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

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.google_sheets_bench import write_csv  # noqa: E402
from tests.emulators.airtable import Airtable  # noqa: E402

RATE = 5.0  # requests/s per base (airtable.com/developers/web/api/rate-limits)
BATCH = 10


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objectives", type=int, default=100)
    parser.add_argument("--rate-scale", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from okrsync.config import Config
    from okrsync.store import Store
    from okrsync.sync import Hub
    from connectors.airtable import AirtableConnector
    from connectors.spreadsheet import CsvConnector

    rate = RATE * args.rate_scale
    work = Path(tempfile.mkdtemp(prefix="airtable-bench-"))
    write_csv(work / "okrs.csv", args.objectives)
    with Airtable(token="pat_bench") as emu:
        for n in range(40):
            emu.add_user(f"owner{n}@example.com")
        for n in range(60):
            emu.add_user(f"kr{n}@example.com")
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
        hub = Hub(config, Store(None), {"csv": CsvConnector, "airtable": AirtableConnector})
        start = time.perf_counter()
        run = hub.store.begin_run("migrate")
        hub.run(["sheet", "airtable"], run)
        hub.store.finish_run(run, "ok", {})
        wall = time.perf_counter() - start
        sent, throttled = len(emu.log), emu.count(status=429)
        made = len(emu.rows(krs))
        errors = list(emu.errors)
    minimum = 1 + 2 + math.ceil(args.objectives / BATCH) + math.ceil(5 * args.objectives / BATCH)
    floor = minimum / rate
    ok = sent <= 1.1 * minimum and wall <= 1.2 * floor and throttled == 0 and made == 5 * args.objectives and not errors
    print(f"Airtable migration: {args.objectives} objectives, {5 * args.objectives} KRs, latency "
          f"{args.latency * 1000:.0f} ms, limit {RATE:g} req/s × {args.rate_scale:g} = {rate:g} req/s")
    print(f"{'KR records made':>22} {made:>10}")
    print(f"{'requests sent':>22} {sent:>10}")
    print(f"{'minimum requests':>22} {minimum:>10}   (schema + 1 page per table + creates in tens)")
    print(f"{'requests / minimum':>22} {sent / minimum:>10.2f}   (target ≤ 1.10)")
    print(f"{'wall (s)':>22} {wall:>10.2f}")
    print(f"{'rate-limit floor (s)':>22} {floor:>10.2f}   (minimum / {rate:g} req/s)")
    print(f"{'wall / floor':>22} {wall / floor:>10.2f}   (target ≤ 1.20)")
    print(f"{'429 received':>22} {throttled:>10}   (target 0)")
    print(f"{'at the real limit':>22} {minimum / RATE:>10.1f} s  (floor at 5 req/s)")
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
