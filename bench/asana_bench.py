"""Asana migration benchmark: N objectives × 5 KRs from a spreadsheet into the Asana
emulator, at 50 ms latency and Asana's paid-plan rate limit (1,500 actions/min = 25/s).

Asana counts every action of a Batch API request against its rate limit ("a batch
request with five actions counts as five separate requests … the batch request itself
incurs no cost", developers.asana.com/docs/batch-requests), so the figures here count
*actions*: a request outside a batch is one action, a batch of n is n. HTTP requests
(batches of up to 10) are printed beside them.

The minimum is what the API needs for this data, whatever client sends it:
  per goal (objective or KR): POST /goals (no field of it takes a metric, status or parent);
  per KR: POST /goals/{gid}/setMetric (its start, current, target, unit);
  per objective with a status: setMetric too (Asana writes a status only on a goal with a metric);
  per goal with a status: PUT /goals/{gid} {status};
  per KR, and per objective aligned under another: POST …/addSupportingRelationship;
  lookups: one GET /goals (the first read finds the workspace empty), GET /time_periods,
  one GET /users/{email} per distinct owner.
okrsync also gives objectives *without* a status a roll-up metric (their progress from
their KRs, weighted); those actions are above the minimum and count against the target.
Floor = minimum actions / 25 per second.

    python bench/asana_bench.py [--objectives 500]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
import import_bench  # noqa: E402  (its data generator: the same rows as the import benchmark)

RATE = 1500 / 60  # Asana paid plan: 1,500 requests per minute, per token
LATENCY = 0.050
QUARTERS = [(f"Q{q}", f"Q{q} FY26", f"2026-{a}", f"2026-{b}") for q, (a, b) in import_bench.QUARTER.items()]


def actions_of(hit) -> int:
    if hit.method == "POST" and hit.path.endswith("/batch"):
        return len(hit.json()["data"]["actions"])
    return 1


def run(n_objectives: int, scale: float = 1.0) -> dict:
    rate = RATE * scale
    from okrsync import plugins
    from okrsync.config import Config
    from okrsync.connectors.asana_fields import AsanaMapping
    from okrsync.store import Store
    from okrsync.sync import Hub
    from tests.emulators.asana import TOKEN, AsanaEmulator

    with tempfile.TemporaryDirectory(prefix="okrsync-asana-bench-") as tmp:
        tmp = Path(tmp)
        import_bench.write_csv(tmp / "okrs.csv", n_objectives * 5)
        import csv
        with open(tmp / "okrs.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        emails = sorted({r["Objective owner"] for r in rows} | {r["Owner"] for r in rows})
        with AsanaEmulator(users=emails, periods=QUARTERS) as emu:
            emu.faults.latency = LATENCY
            emu.faults.rate, emu.faults.burst = rate, rate  # one second's worth: stricter than Asana's minute window
            cfg = Config.of(tmp, {
                "sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                "asana": {"type": "asana", "url": emu.url + "/api/1.0", "workspace": emu.workspace, "token": TOKEN,
                          **({"rate": rate} if scale != 1.0 else {})},
            }, {"order": ["sheet", "asana"]})
            hub = Hub(cfg, Store(tmp / "okrsync.db"), plugins.classes())
            run_id = hub.store.begin_run("sync")
            t = time.perf_counter()
            plans = hub.run(["sheet", "asana"], run_id)
            wall = time.perf_counter() - t
            hub.store.finish_run(run_id, "ok", {})
            log = list(emu.log)
            mapping = AsanaMapping.load(None, tmp, "bench")
            entities = [(kind, f) for _, kind, f in hub.store.entities()]
            goals = [(k, f) for k, f in entities if k in ("objective", "key_result")]
            owners = {f["owner"].casefold() for _, f in goals if f.get("owner")}
            minimum = (len(goals)
                       + sum(1 for k, f in goals if k == "key_result")
                       + sum(1 for k, f in goals if k == "objective" and mapping.status(f.get("status")))
                       + sum(1 for k, f in goals if mapping.status(f.get("status")))
                       + sum(1 for k, f in goals if (f.get("objective_id") if k == "key_result" else f.get("parent_id")))
                       + 2 + len(owners))
            rejected = [str(r) for p in plans for r in p.rejected]
            return {
                "objectives": sum(1 for k, _ in goals if k == "objective"),
                "krs": sum(1 for k, _ in goals if k == "key_result"),
                "goals_in_asana": len(emu.goals), "rejected": rejected[:5], "n_rejected": len(rejected),
                "wall_s": round(wall, 1), "http_requests": len(log), "actions": sum(actions_of(h) for h in log),
                "min_actions": minimum, "floor_s": round(minimum / rate, 1), "rate_per_s": rate, "rate_scale": scale,
                "received_429": sum(1 for h in log if h.status == 429),
                "emulator_errors": len(emu.errors),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/asana_bench.py")
    ap.add_argument("--objectives", type=int, default=500)
    ap.add_argument("--rate-scale", type=float, default=1.0, help="run Asana's limit (and okrsync's pace) this many times faster")
    ap.add_argument("--out", default=str(HERE / "results" / "asana.json"))
    args = ap.parse_args()
    r = run(args.objectives, args.rate_scale)
    req_ratio = r["actions"] / r["min_actions"]
    wall_ratio = r["wall_s"] / r["floor_s"]
    print(f"Asana migration: {r['objectives']:,} objectives, {r['krs']:,} KRs → {r['goals_in_asana']:,} goals "
          f"({r['n_rejected']} rejected) at {LATENCY * 1000:.0f} ms latency, {r['rate_per_s'] * 60:,.0f} actions/min"
          + (f" (Asana's {RATE * 60:,.0f}/min × {args.rate_scale:g})" if args.rate_scale != 1.0 else ""))
    print(f"{'wall s':>8}  {'floor s':>8}  {'wall/floor':>10}  {'actions':>8}  {'min':>8}  {'actions/min':>11}  "
          f"{'HTTP req':>8}  {'429s':>5}  {'peak MB':>7}")
    print(f"{r['wall_s']:>8.1f}  {r['floor_s']:>8.1f}  {wall_ratio:>10.3f}  {r['actions']:>8,}  {r['min_actions']:>8,}  "
          f"{req_ratio:>11.3f}  {r['http_requests']:>8,}  {r['received_429']:>5}  {r['peak_rss_mb']:>7.0f}")
    ok = req_ratio <= 1.1 and wall_ratio <= 1.2 and r["received_429"] == 0 and not r["n_rejected"] and not r["emulator_errors"]
    print("targets (actions ≤ 1.1 × min, wall ≤ 1.2 × floor, zero 429, nothing rejected):", "met" if ok else "MISSED")
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": import_bench.machine(), "result": r}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
