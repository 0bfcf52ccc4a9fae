"""Google Sheets migration benchmark: N objectives × 5 KRs from a CSV into the Sheets emulator.

The emulator answers after ``--latency`` (50 ms) and enforces the documented quota, 60
requests per minute per user, as a token bucket refilled at 1 request/s holding a minute's
worth (60). The endpoint runs at its default ``rate`` (1/s), so it never leans on the burst.
Then 1 % of the KRs change in the CSV and a second sync runs: only their rows go out.

Figures: requests sent, the minimum the API allows (one batchGet — a migration must see
what the tab holds before writing over it — plus the writes the payload needs at Google's
recommended 2 MB per request), the rate-limit floor (minimum requests / rate), the ratios,
429s received, peak memory. Targets: requests ≤ 1.1 × minimum, wall ≤ 1.2 × floor, no 429.

    python bench/google_sheets_bench.py [--objectives 500] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import csv
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulators.google_sheets import GoogleSheets  # noqa: E402

SID = "1BenchBenchBenchBenchBenchBench0000"
RATE = 1.0  # requests/s: 60 per minute per user per project (developers.google.com/workspace/sheets/api/limits)
PAYLOAD = 2 * 1024 * 1024  # Google's recommended maximum payload per request


def write_csv(path: Path, objectives: int) -> None:
    header = ["Objective ID", "Objective", "Objective owner", "Period", "Key result ID", "Key result", "Owner",
              "Unit", "Start", "Current", "Target", "Weight", "Confidence", "Status", "Due"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for o in range(1, objectives + 1):
            for k in range(1, 6):
                w.writerow([f"O-{o}", f"Objective {o}: grow the business in region {o % 17}", f"owner{o % 40}@example.com",
                            "2026-Q1", f"KR-{o}-{k}", f"Key result {k} of objective {o}", f"kr{(o + k) % 60}@example.com",
                            "Percent" if k % 2 else "Number", 10 * k, 10 * k + o % 7, 100 * k, 0.2, 0.6,
                            "On track", "2026-03-31"])


def edit_csv(path: Path, every: int) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for i, row in enumerate(rows[1:]):
        if i % every == 0:
            row[9] = str(int(row[9]) + 1)  # Current
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objectives", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from okrsync.config import Config
    from okrsync.connectors.google_sheets import GoogleSheetsConnector
    from okrsync.connectors.spreadsheet import CsvConnector
    from okrsync.store import Store
    from okrsync.sync import Hub

    work = Path(tempfile.mkdtemp(prefix="gsheets-bench-"))
    write_csv(work / "okrs.csv", args.objectives)
    with GoogleSheets() as emu:
        emu.add_sheet(SID, "OKRs")
        # Google's quota is per minute: a bucket refilled at 1/s that holds a minute's worth
        emu.faults.latency, emu.faults.rate, emu.faults.burst = args.latency, RATE, 60
        config = Config.of(work, {"sheet": {"type": "csv", "path": "okrs.csv"},
                                  "gs": {"type": "google-sheets", "spreadsheet": SID, "sheet": "OKRs", "url": emu.url,
                                         "auth": {"bearer": "test-token"}}}, {"order": ["sheet", "gs"]})
        hub = Hub(config, Store(None), {"csv": CsvConnector, "google-sheets": GoogleSheetsConnector})
        start = time.perf_counter()
        run = hub.store.begin_run("migrate")
        hub.run(["sheet", "gs"], run)
        hub.store.finish_run(run, "ok", {})
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
        sent = len(emu.log)
        throttled = emu.count(status=429)
        written = sum(len(h.body) for h in emu.log if h.method == "POST")
        krs = sum(1 for r in emu.records(SID, "OKRs") if r.get("Key result ID"))
        # then 1 % of the KRs change in the CSV: only their rows go out, in one batchUpdate
        edit_csv(work / "okrs.csv", every=100)
        emu.reset_log()
        start = time.perf_counter()
        run = hub.store.begin_run("sync")
        hub.run(["sheet", "gs"], run)
        hub.store.finish_run(run, "ok", {})
        update_wall = time.perf_counter() - start
        throttled += emu.count(status=429)
        update = [(h.method, h.path.rsplit("/", 1)[-1], len(h.json()["data"]) if h.method == "POST" else 0, len(h.body))
                  for h in emu.log]
    minimum = 1 + max(1, math.ceil(written / PAYLOAD))
    floor = minimum / RATE
    ok = sent <= 1.1 * minimum and wall <= 1.2 * floor and throttled == 0 and krs == 5 * args.objectives
    print(f"Google Sheets migration: {args.objectives} objectives, {5 * args.objectives} KRs, "
          f"latency {args.latency * 1000:.0f} ms, quota {RATE:g} req/s")
    print(f"{'rows written':>22} {krs:>10}")
    print(f"{'payload (bytes)':>22} {written:>10,}")
    print(f"{'requests sent':>22} {sent:>10}")
    print(f"{'minimum requests':>22} {minimum:>10}   (1 batchGet + ⌈payload / 2 MB⌉ writes)")
    print(f"{'requests / minimum':>22} {sent / minimum:>10.2f}   (target ≤ 1.10)")
    print(f"{'wall (s)':>22} {wall:>10.2f}")
    print(f"{'rate-limit floor (s)':>22} {floor:>10.2f}   (minimum / {RATE:g} req/s)")
    print(f"{'wall / floor':>22} {wall / floor:>10.2f}   (target ≤ 1.20)")
    print(f"{'429 received':>22} {throttled:>10}   (target 0; both runs)")
    print(f"{'peak memory (MB)':>22} {peak / 1e6:>10.1f}   (peak RSS of the process, emulator included)")
    print(f"then 1 % of the KRs edited in the CSV ({update_wall:.2f} s): "
          + ", ".join(f"{m} {p}" + (f" ({n} ranges, {size:,} bytes)" if m == "POST" else "") for m, p, n, size in update))
    ok = ok and throttled == 0 and len(update) == 2 and update[1][2] == 5 * args.objectives // 100
    print("OK" if ok else "TARGET MISSED")
    if args.out:
        import json
        Path(args.out).write_text(json.dumps({
            "objectives": args.objectives, "krs": krs, "requests": sent, "min_requests": minimum, "wall_s": round(wall, 2),
            "floor_s": floor, "wall_ratio": round(wall / floor, 3), "received_429": throttled,
            "peak_rss_mb": round(peak / 1e6, 1), "update_wall_s": round(update_wall, 2), "update_requests": len(update),
            "rate_per_s": RATE, "latency_s": args.latency}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
