"""ClickUp migration benchmark: N objectives × 5 KRs from a CSV into the ClickUp emulator.

The emulator (tests/emulators/clickup.py) answers after ``--latency`` seconds and enforces
the plan's documented rate limit as a token bucket (one second's worth of burst: stricter
than ClickUp's per-minute window). The connector is configured with the same ``plan`` and
so paces itself to it. One ``sync`` (sheet → hub → ClickUp) is timed.

The minimum the API allows: ClickUp has no bulk create, so one ``POST`` per goal and one per
target; a target's current value is not part of its create, so each KR whose current value
differs from its start needs one ``PUT`` more. The rate-limit floor is that minimum divided
by the plan's rate.

    python bench/clickup_bench.py                    # 500 objectives, 2,500 KRs, Business Plus
    python bench/clickup_bench.py --objectives 50 --plan enterprise
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
import import_bench  # noqa: E402  (its data generator: the rows every benchmark uses)

from okrsync import plugins  # noqa: E402
from okrsync.config import Config  # noqa: E402
from okrsync.connectors.clickup import PLANS  # noqa: E402
from okrsync.store import Store  # noqa: E402
from okrsync.sync import Hub  # noqa: E402
from tests.emulators.clickup import ClickUpEmulator  # noqa: E402

KRS_PER_OBJECTIVE = 5
TOKEN = "pk_183_BENCH"


def number(text: str) -> float | None:
    text = (text or "").replace("%", "").replace(",", "").strip()
    return float(text) if text else None


def minimum_requests(sheet: Path) -> dict:
    """What the API needs at least for this sheet: creates, plus a PUT per KR whose current ≠ start."""
    with open(sheet, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    goals = len({r["Objective ID"] for r in rows})
    krs = [r for r in rows if r["Key result ID"]]
    moved = sum(1 for r in krs if number(r["Current"]) is not None and number(r["Current"]) != (number(r["Start"]) or 0))
    return {"goals": goals, "targets": len(krs), "current_updates": moved, "total": goals + len(krs) + moved}


def run(objectives: int, plan: str, latency: float, concurrency: int, scale: float = 1.0) -> dict:
    per_minute = PLANS[plan] * scale
    with tempfile.TemporaryDirectory(prefix="okrsync-clickup-bench-") as tmp:
        work = Path(tmp)
        import_bench.write_csv(work / "okrs.csv", objectives * KRS_PER_OBJECTIVE)
        need = minimum_requests(work / "okrs.csv")
        with open(work / "okrs.csv", newline="", encoding="utf-8") as f:
            emails = {r[k] for r in csv.DictReader(f) for k in ("Objective owner", "Owner") if r[k]}
        with ClickUpEmulator(token=TOKEN, limit_per_minute=per_minute) as emu:
            for email in sorted(emails):
                emu.add_member(email)
            cfg = Config.of(work, {
                "sheet": {"type": "csv", "path": "okrs.csv"},
                "cu": {"type": "clickup", "url": emu.url + "/api", "team_id": emu.team_id, "auth": {"token": TOKEN},
                       "plan": plan, "concurrency": concurrency,
                       **({"rate": per_minute / 60} if scale != 1.0 else {})}}, {"order": ["sheet", "cu"]})
            hub = Hub(cfg, Store(work / "okrsync.db"), plugins.classes())
            emu.faults.latency = latency
            emu.faults.rate = emu.faults.burst = per_minute / 60
            run_id = hub.store.begin_run("sync")
            t = time.perf_counter()
            plans = hub.run(["sheet", "cu"], run_id)
            wall = time.perf_counter() - t
            hub.store.finish_run(run_id, "ok", {})
            rejected = [str(r) for p in plans for r in p.rejected]
            sent = emu.count()
            result = {
                "objectives": objectives, "krs": objectives * KRS_PER_OBJECTIVE, "plan": plan,
                "rate_per_minute": per_minute, "rate_scale": scale, "latency_s": latency, "concurrency": concurrency,
                "goals_created": len(emu.goals), "targets_created": len(emu.targets),
                "requests": sent, "by_kind": {m: emu.count(m) for m in ("GET", "POST", "PUT", "DELETE")},
                "minimum": need, "floor_s": need["total"] / (per_minute / 60), "wall_s": wall,
                "received_429": emu.count(status=429), "rejected": rejected[:5], "rejected_count": len(rejected),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
    result["requests_ratio"] = result["requests"] / need["total"]
    result["wall_ratio"] = result["wall_s"] / result["floor_s"]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/clickup_bench.py")
    ap.add_argument("--objectives", type=int, default=500)
    ap.add_argument("--plan", default="business_plus", choices=sorted(PLANS))
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--rate-scale", type=float, default=1.0, help="run the plan's limit (and okrsync's pace) this many times faster")
    ap.add_argument("--out", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    r = run(args.objectives, args.plan, args.latency, args.concurrency, args.rate_scale)
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": import_bench.machine(), "result": r}, indent=2))
    if args.json:
        print(json.dumps(r, indent=2))
    need = r["minimum"]
    print(f"ClickUp migration: {r['objectives']:,} objectives, {r['krs']:,} KRs → emulator "
          f"({r['latency_s'] * 1000:.0f} ms latency, {r['plan']} {r['rate_per_minute']:,}/min, concurrency {r['concurrency']})")
    print(f"  created            {r['goals_created']:,} goals, {r['targets_created']:,} targets; rejected {r['rejected_count']}")
    print(f"  requests sent      {r['requests']:,}  ({', '.join(f'{k} {v:,}' for k, v in r['by_kind'].items() if v)})")
    print(f"  minimum (API)      {need['total']:,}  = {need['goals']:,} goal creates + {need['targets']:,} target creates "
          f"+ {need['current_updates']:,} current-value PUTs (no bulk endpoint)")
    print(f"  requests / minimum {r['requests_ratio']:.3f}   (target ≤ 1.10)")
    print(f"  rate-limit floor   {r['floor_s']:.1f} s  (minimum ÷ {r['rate_per_minute']:,}/min)")
    print(f"  wall               {r['wall_s']:.1f} s")
    print(f"  wall / floor       {r['wall_ratio']:.3f}   (target ≤ 1.20)")
    print(f"  429 received       {r['received_429']}   (target 0)")
    print(f"  peak RSS           {r['peak_rss_mb']:.0f} MB (benchmark process, emulator included)")
    ok = r["requests_ratio"] <= 1.1 and r["wall_ratio"] <= 1.2 and r["received_429"] == 0 and not r["rejected_count"]
    print("  targets            " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
