"""Smartsheet migration benchmark: N objectives × 5 KRs from a CSV into the Smartsheet
emulator, hierarchical layout (KR rows indented under their objective row).

The emulator answers after ``--latency`` (20 ms) and enforces Smartsheet's documented
limit, 300 requests a minute per access token (5/s), as a token bucket holding one
second's worth (stricter than a per-minute window). ``--rate-scale`` runs the limit and
okrsync's pace that many times faster, so the benchmark takes seconds; the floor scales
with it. Then 1 % of the KRs change in the CSV and a second sync runs: one read, one
update of only their cells.

Figures: requests sent; the minimum the API allows for this layout (one read — a
migration must see what the sheet holds —, one request adding the columns, ⌈N/500⌉ for
the objective rows, and one per objective for its KR rows, as Smartsheet takes one
location, here one parentId, per request); the rate-limit floor (minimum / rate); 429s.
Targets: requests ≤ 1.1 × minimum, wall ≤ 1.2 × floor, no 429.

    python bench/smartsheet_bench.py [--objectives 100] [--rate-scale 4] [--latency 0.02]
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

from bench.google_sheets_bench import edit_csv, write_csv  # noqa: E402
from tests.emulators.smartsheet import Smartsheet  # noqa: E402

SHEET = 4583173393803140
RATE = 5.0  # 300 requests/min per access token (developers.smartsheet.com/blog/smartsheet-api-best-practices)
MAX_ROWS = 500  # rows per add request (API reference, "Limitations")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objectives", type=int, default=100)
    parser.add_argument("--rate-scale", type=float, default=4.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from okrsync.config import Config
    from okrsync.store import Store
    from okrsync.sync import Hub
    from connectors.smartsheet import SmartsheetConnector
    from connectors.spreadsheet import CsvConnector

    rate = RATE * args.rate_scale
    work = Path(tempfile.mkdtemp(prefix="smartsheet-bench-"))
    write_csv(work / "okrs.csv", args.objectives)
    with Smartsheet() as emu:
        emu.add_sheet(SHEET, "OKRs")
        emu.faults.latency, emu.faults.rate, emu.faults.burst = args.latency, rate, rate
        config = Config.of(work, {"sheet": {"type": "csv", "path": "okrs.csv"},
                                  "ss": {"type": "smartsheet", "sheet": str(SHEET), "url": emu.url + "/2.0",
                                         "token": "test-token", "layout": "hierarchical", "rate": rate}},
                           {"order": ["sheet", "ss"]})
        hub = Hub(config, Store(None), {"csv": CsvConnector, "smartsheet": SmartsheetConnector})
        start = time.perf_counter()
        run = hub.store.begin_run("migrate")
        hub.run(["sheet", "ss"], run)
        hub.store.finish_run(run, "ok", {})
        wall = time.perf_counter() - start
        sent, throttled = len(emu.log), emu.count(status=429)
        krs = sum(1 for r in emu.records(SHEET) if r.get("Key result ID"))
        edit_csv(work / "okrs.csv", every=100)
        emu.reset_log()
        start = time.perf_counter()
        run = hub.store.begin_run("sync")
        hub.run(["sheet", "ss"], run)
        hub.store.finish_run(run, "ok", {})
        update_wall = time.perf_counter() - start
        throttled += emu.count(status=429)
        update = [(h.method, len(h.json()) if h.method == "PUT" else 0) for h in emu.log]
        errors = list(emu.errors)
    minimum = 1 + 1 + math.ceil(args.objectives / MAX_ROWS) + args.objectives
    floor = minimum / rate
    ok = (sent <= 1.1 * minimum and wall <= 1.2 * floor and throttled == 0 and krs == 5 * args.objectives
          and not errors and update == [("GET", 0), ("PUT", 5 * args.objectives // 100)])
    print(f"Smartsheet migration (hierarchical): {args.objectives} objectives, {5 * args.objectives} KRs, "
          f"latency {args.latency * 1000:.0f} ms, limit {RATE:g} req/s × {args.rate_scale:g} = {rate:g} req/s")
    print(f"{'KR rows written':>22} {krs:>10}")
    print(f"{'requests sent':>22} {sent:>10}")
    print(f"{'minimum requests':>22} {minimum:>10}   (1 read + 1 columns + ⌈N/500⌉ objective adds + N KR adds)")
    print(f"{'requests / minimum':>22} {sent / minimum:>10.2f}   (target ≤ 1.10)")
    print(f"{'wall (s)':>22} {wall:>10.2f}")
    print(f"{'rate-limit floor (s)':>22} {floor:>10.2f}   (minimum / {rate:g} req/s)")
    print(f"{'wall / floor':>22} {wall / floor:>10.2f}   (target ≤ 1.20)")
    print(f"{'429 received':>22} {throttled:>10}   (target 0; both runs)")
    print(f"{'at the real limit':>22} {minimum / RATE:>10.1f} s  (floor at 5 req/s)")
    print(f"then 1 % of the KRs edited in the CSV ({update_wall:.2f} s): "
          + ", ".join(f"{m}" + (f" ({n} rows)" if m == "PUT" else "") for m, n in update))
    print("OK" if ok else "TARGET MISSED")
    if args.out:
        Path(args.out).write_text(json.dumps({
            "objectives": args.objectives, "krs": krs, "requests": sent, "min_requests": minimum,
            "wall_s": round(wall, 2), "floor_s": round(floor, 2), "wall_ratio": round(wall / floor, 3),
            "received_429": throttled, "update_wall_s": round(update_wall, 2), "update_requests": len(update),
            "rate_per_s": rate, "rate_scale": args.rate_scale, "latency_s": args.latency}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
