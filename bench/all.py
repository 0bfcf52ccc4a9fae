"""All benchmarks, one table: ``bench/run`` (full, well under an hour) or ``bench/run --quick``
(~3 minutes). Every figure also goes to ``bench/results/all.json``.

Per size (1,000 / 10,000 / 50,000 KRs; --quick: 1,000 / 5,000):
  import      CSV file → store, first import and unchanged re-import (import_bench.py, own process)
  hub sync    planning CSV ⇄ store ⇄ board CSV: first sync, no-op incremental plan (sync_bench.py)
API connectors (jira, asana, clickup, google-sheets, graph-excel), each into its emulator at 50 ms latency:
  measured on a fixed-size slice (the run's smallest size, at most 2,500 KRs), because a
  50,000-KR migration into Asana (1,500 actions/min) or ClickUp (1,000/min) takes hours at
  the vendor's limit. Asana and ClickUp run with the limit scaled (RATE_SCALE ×, on both the
  emulator and okrsync's pace: stated in the table); Jira (20/s) and Sheets (60/min) at their
  real limits. The throughput figure is wall ÷ rate-limit floor (minimum requests the API
  needs ÷ rate): scale-free, so it carries to any size; the table's row per size projects
  the wall at the *real* limit as floor(N) × that ratio, and says so.

    python bench/all.py [--quick] [--sizes 1000,10000] [--slice 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import import_bench  # noqa: E402

RATE_SCALE = 4.0
REAL_RATE = {"jira": 20.0, "asana": 25.0, "clickup": 1000 / 60, "google-sheets": 1.0,  # requests (actions) per second
             "graph-excel": 2.0}  # okrsync's own pace: Graph documents no fixed rate


def sh(*args: str) -> None:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    sys.stderr.write(proc.stdout[-2000:])
    if proc.returncode not in (0, 1):  # 1: a target missed, the figures are still there
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def vendor(name: str, objectives: int, tmp: Path) -> dict:
    out = tmp / f"{name}.json"
    t = time.perf_counter()
    if name == "jira":
        sh(str(HERE / "jira_bench.py"), "--objectives", str(objectives), "--out", str(out))
        r = json.loads(out.read_text())
        res = {"requests": r["requests"], "min_requests": r["min_requests"], "wall_s": r["seconds"], "floor_s": r["floor_s"],
               "received_429": r["throttled"], "peak_rss_mb": r["peak_rss_mb"], "quiet_requests": r["quiet_requests"],
               "quiet_s": r["quiet_s"], "scale": 1.0, "entities": r["issues"]}
    elif name == "asana":
        sh(str(HERE / "asana_bench.py"), "--objectives", str(objectives), "--rate-scale", str(RATE_SCALE), "--out", str(out))
        r = json.loads(out.read_text())["result"]
        res = {"requests": r["actions"], "http_requests": r["http_requests"], "min_requests": r["min_actions"],
               "wall_s": r["wall_s"], "floor_s": r["floor_s"], "received_429": r["received_429"],
               "peak_rss_mb": r["peak_rss_mb"], "scale": RATE_SCALE, "entities": r["objectives"] + r["krs"]}
    elif name == "clickup":
        sh(str(HERE / "clickup_bench.py"), "--objectives", str(objectives), "--rate-scale", str(RATE_SCALE), "--out", str(out))
        r = json.loads(out.read_text())["result"]
        res = {"requests": r["requests"], "min_requests": r["minimum"]["total"], "wall_s": r["wall_s"], "floor_s": r["floor_s"],
               "received_429": r["received_429"], "peak_rss_mb": r["peak_rss_mb"], "scale": RATE_SCALE,
               "entities": r["goals_created"] + r["targets_created"]}
    elif name == "graph-excel":  # the workbook range API (large workbooks), flat layout
        sh(str(HERE / "graph_bench.py"), "--objectives", str(objectives), "--latency", "0.05", "--out", str(out))
        r = json.loads(out.read_text())
        res = {"requests": r["requests"], "min_requests": r["minimum"], "wall_s": r["wall"], "floor_s": r["floor_s"],
               "received_429": r["received_429"], "peak_rss_mb": None, "scale": 1.0, "entities": objectives + r["made"],
               "update_requests": r["update_requests"], "update_s": r["update_wall_s"]}
    else:
        sh(str(HERE / "google_sheets_bench.py"), "--objectives", str(objectives), "--out", str(out))
        r = json.loads(out.read_text())
        res = {"requests": r["requests"], "min_requests": r["min_requests"], "wall_s": r["wall_s"], "floor_s": r["floor_s"],
               "received_429": r["received_429"], "peak_rss_mb": r["peak_rss_mb"], "scale": 1.0,
               "entities": objectives + r["krs"], "update_requests": r["update_requests"], "update_s": r["update_wall_s"]}
    res.update(objectives=objectives, krs=objectives * 5, ratio=round(res["wall_s"] / res["floor_s"], 3),
               per_entity=round(res["requests"] / max(1, res["entities"]), 3), bench_s=round(time.perf_counter() - t, 1))
    return res


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 and 5,000 KRs, a 500-KR slice (~3 min)")
    ap.add_argument("--sizes", help="comma-separated KR counts")
    ap.add_argument("--slice", type=int, help="objectives per API-connector run (× 5 KRs)")
    ap.add_argument("--out", default=str(HERE / "results" / "all.json"))
    args = ap.parse_args()
    sizes = [int(s) for s in (args.sizes or ("1000,5000" if args.quick else "1000,10000,50000")).split(",")]
    slice_obj = args.slice or (100 if args.quick else 500)
    mach = import_bench.machine()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="okrsync-bench-all-"))
    csv_sizes = ",".join(map(str, sizes))
    print(f"machine: {mach['nproc']} CPU(s), {mach['cpu']}, {mach['mem_gb']} GB RAM; Python {mach['python']}, "
          f"SQLite {mach['sqlite']}", flush=True)
    sh(str(HERE / "import_bench.py"), "--sizes", csv_sizes, "--formats", "csv", "--out", str(tmp / "import.json"))
    imports = {r["krs"]: r for r in json.loads((tmp / "import.json").read_text())["results"]}
    sh(str(HERE / "sync_bench.py"), "--sizes", csv_sizes)
    syncs = {r["krs"]: r for r in json.loads((HERE / "results" / "sync.json").read_text())["results"]}
    vendors = {}
    for name in ("jira", "asana", "clickup", "google-sheets", "graph-excel"):
        print(f"  {name}: {slice_obj:,} objectives, {slice_obj * 5:,} KRs …", file=sys.stderr, flush=True)
        vendors[name] = vendor(name, slice_obj, tmp)

    rows = []
    for n in sizes:
        imp, syn = imports.get(n, {}), syncs.get(n, {})
        row = {"krs": n,
               "import_s": imp.get("first", {}).get("seconds"), "reimport_s": imp.get("reimport_skip", {}).get("seconds"),
               "import_peak_mb": imp.get("peak_rss_mb"),
               "hub_first_sync_s": syn.get("first_sync", {}).get("seconds"),
               "noop_sync_s": syn.get("no_change_plan", {}).get("seconds"),
               "noop_changes": syn.get("no_change_plan", {}).get("changes"),
               "noop_peak_mb": syn.get("no_change_plan", {}).get("peak_rss_mb"), "api": {}}
        for name, v in vendors.items():
            per_kr_floor = v["floor_s"] * v["scale"] / v["krs"]  # seconds of floor per KR at the real limit
            row["api"][name] = {"projected_wall_s_at_real_limit": round(per_kr_floor * n * v["ratio"], 1),
                                "floor_s_at_real_limit": round(per_kr_floor * n, 1)}
        rows.append(row)

    # ---- the table
    def f(v, fmt="{:.2f}"):
        return "—" if v is None else fmt.format(v)

    print()
    print("Core (files and the hub; every figure measured at its size)")
    head = (f"{'KRs':>7}  {'CSV import s':>12}  {'re-import s':>11}  {'import MB':>9}  {'hub 1st sync s':>14}  "
            f"{'no-op sync s':>12}  {'no-op changes':>13}  {'no-op MB':>8}")
    print(head)
    for r in rows:
        print(f"{r['krs']:>7,}  {f(r['import_s']):>12}  {f(r['reimport_s']):>11}  {f(r['import_peak_mb'], '{:.0f}'):>9}  "
              f"{f(r['hub_first_sync_s']):>14}  {f(r['noop_sync_s']):>12}  {f(r['noop_changes'], '{}'):>13}  "
              f"{f(r['noop_peak_mb'], '{:.0f}'):>8}")
    print()
    print(f"API connectors: full sync of a {slice_obj * 5:,}-KR slice ({slice_obj:,} objectives) into each emulator, 50 ms latency")
    print(f"{'tool':<14} {'limit (as run)':>18} {'wall s':>8} {'floor s':>8} {'wall/floor':>10} {'requests':>9} {'minimum':>8} "
          f"{'req/entity':>10} {'429s':>5} {'peak MB':>7}  no-op sync")
    for name, v in vendors.items():
        real = REAL_RATE[name]
        limit = f"{real * 60:,.0f}/min" + (f" ×{v['scale']:g}" if v["scale"] != 1 else "")
        quiet = (f"{v['quiet_requests']} req, {v['quiet_s']:.2f} s" if "quiet_requests" in v else
                 f"1% edit: {v['update_requests']} req, {v['update_s']:.1f} s" if "update_requests" in v else "not measured")
        print(f"{name:<14} {limit:>18} {v['wall_s']:>8.1f} {v['floor_s']:>8.1f} {v['ratio']:>10.3f} {v['requests']:>9,} "
              f"{v['min_requests']:>8,} {v['per_entity']:>10.3f} {v['received_429']:>5} {f(v['peak_rss_mb'], '{:.0f}'):>7}  {quiet}")
    print()
    print("Projected full migration at the vendors' real limits (rate-limit floor × the measured wall/floor ratio):")
    print(f"{'KRs':>7}  " + "  ".join(f"{n:>16}" for n in vendors))
    for r in rows:
        print(f"{r['krs']:>7,}  " + "  ".join(f"{_dur(r['api'][n]['projected_wall_s_at_real_limit']):>16}" for n in vendors))
    print(f"(Asana and ClickUp were measured with the limit ×{RATE_SCALE:g}; wall/floor is a ratio, so it carries to the real limit. "
          "Asana counts batch actions, not HTTP requests. graph-excel's requests grow with ⌈rows/1,000⌉, not per KR: "
          "its projection overstates.)")
    total = time.perf_counter() - started
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": mach,
                               "sizes": sizes, "slice_objectives": slice_obj, "rate_scale": RATE_SCALE,
                               "real_rates_per_s": REAL_RATE, "rows": rows, "api": vendors,
                               "wall_s": round(total, 1)}, indent=2) + "\n")
    print(f"\nwall time {total:.0f} s; written {out}")
    return 0


def _dur(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.1f} min" if seconds < 7200 else f"{seconds / 3600:,.1f} h"


if __name__ == "__main__":
    sys.exit(main())
