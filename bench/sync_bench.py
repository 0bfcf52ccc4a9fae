"""Sync-planning benchmark: a store of N KRs linked to two endpoints.

For each size, in fresh subprocesses (so peak memory is per case):
  1. first sync: planning sheet (CSV, flat) → store → board (hierarchical; CSV, or with
     ``--board xlsx`` the styled XLSX board issue 21 measured);
  2. plan of a no-change sync (pull both, push both; nothing written);
  3. a whole no-change `okrsync sync` through the CLI, and the CLI's start-up (`--help`), as CPU;
  4. plan + apply of a sync after 1 % of the KRs changed in the planning sheet (CPU, peak
     memory, and its ratio to the first sync: issue 21's targets).
Then the bundled example: a second sync must write nothing (change rows, file bytes).

    python bench/sync_bench.py [--sizes 1000,50000] [--board csv|xlsx]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import import_bench  # noqa: E402  (its data generator: the same rows as the import benchmark)

CONFIG = """store: okrsync.db
endpoints:
  sheet: {{type: csv, path: okrs.csv}}
  board: {{type: {board}, path: board.{board}, layout: hierarchical}}
sync: {{order: [sheet, board]}}
"""


def child(workdir: Path, step: str) -> dict:
    from okrsync import config, plugins
    from okrsync.store import Store
    from okrsync.sync import Hub

    cfg = config.load(workdir / "okrsync.yaml")
    store = Store(cfg.store)
    hub = Hub(cfg, store, plugins.classes())
    rows_before = store.db.execute("select count(*) from changes").fetchone()[0]
    t, cpu = time.perf_counter(), time.process_time()
    if step == "plan":
        plans = [hub.plan_pull("sheet"), hub.plan_pull("board"), hub.plan_push("sheet"), hub.plan_push("board")]
        planned = time.perf_counter() - t
        applied = 0.0
    else:
        run = store.begin_run("sync")
        plans = hub.run(["sheet", "board"], run, progress=None)
        planned = time.perf_counter() - t
        store.finish_run(run, "ok", {})
        applied = planned
    cpu = time.process_time() - cpu
    return {"seconds": round(planned, 3), "cpu_s": round(cpu, 3), "changes": sum(len(p.changes) for p in plans),
            "change_rows": store.db.execute("select count(*) from changes").fetchone()[0] - rows_before,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "applied": applied}


def run_child(workdir: Path, step: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(workdir), step], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout)


def cli_cpu(workdir: Path, *args: str) -> float:
    """CPU seconds (user + system) of one ``okrsync`` command in its own process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "okrsync", "-c", str(workdir / "okrsync.yaml"), *args],
                   check=True, capture_output=True, cwd=workdir)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3)


def example_quiet(tmp: Path) -> dict:
    root = HERE.parent
    work = tmp / "example"
    shutil.copytree(root / "examples", work / "examples")
    shutil.copy(root / "config.example.yaml", work / "config.example.yaml")
    cmd = [sys.executable, "-m", "okrsync", "-c", str(work / "config.example.yaml"), "--json", "sync"]
    subprocess.run(cmd, check=True, capture_output=True)
    before = {p: p.read_bytes() for p in (work / "examples/okrs.csv", work / "out/board.xlsx")}
    second = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    t = second["totals"]
    return {"second_sync_writes": t["created"] + t["updated"] + t["deleted"],
            "files_unchanged": all(p.read_bytes() == b for p, b in before.items())}


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/sync_bench.py")
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--board", choices=("csv", "xlsx"), default="csv", help="the board's file type")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1])))
        return 0
    results, ok = [], True
    with tempfile.TemporaryDirectory(prefix="okrsync-sync-bench-") as tmp:
        for n in map(int, args.sizes.split(",")):
            work = Path(tmp) / str(n)
            work.mkdir()
            (work / "okrsync.yaml").write_text(CONFIG.format(board=args.board))
            import_bench.write_csv(work / "okrs.csv", n)
            first = run_child(work, "sync")
            quiet = run_child(work, "plan")
            # a whole no-change `okrsync sync`, and the CLI's own start-up (`okrsync --help`), as CPU
            quiet_cli = {"sync_cpu_s": cli_cpu(work, "sync"), "startup_cpu_s": cli_cpu(work, "--help")}
            quiet_cli["above_startup_s"] = round(quiet_cli["sync_cpu_s"] - quiet_cli["startup_cpu_s"], 3)
            import_bench.edit_one_percent(work / "okrs.csv")
            edited = run_child(work, "sync")
            results.append({"krs": n, "first_sync": first, "no_change_plan": quiet, "no_change_cli": quiet_cli,
                            "one_percent_sync": edited,
                            "edit_vs_first": round(edited["cpu_s"] / first["cpu_s"], 3)})
        example = example_quiet(Path(tmp))
    print(f"board: {args.board}")
    print(f"{'KRs':>7}  {'first sync CPU s':>16}  {'1% edit sync CPU s':>18}  {'ratio':>5}  {'1% MB':>5}  "
          f"{'no-change plan s':>16}  {'plan MB':>7}  {'no-change CLI sync CPU s':>24}  {'1% changes':>10}")
    for r in results:
        q = r["no_change_cli"]
        print(f"{r['krs']:>7,}  {r['first_sync']['cpu_s']:>16.2f}  {r['one_percent_sync']['cpu_s']:>18.2f}  "
              f"{r['edit_vs_first']:>5.2f}  {r['one_percent_sync']['peak_rss_mb']:>5.0f}  "
              f"{r['no_change_plan']['seconds']:>16.2f}  {r['no_change_plan']['peak_rss_mb']:>7.0f}  "
              f"{q['sync_cpu_s']:>8.2f} ({q['above_startup_s']:+.2f} over start-up)  "
              f"{r['one_percent_sync']['changes']:>10,}")
        if r["krs"] >= 50_000:
            ok &= r["no_change_plan"]["seconds"] < 2 and r["no_change_plan"]["peak_rss_mb"] < 300
            # issue 21 (shown, not failing the run: several are still missed)
            for check, met, detail in [
                    ("1 %-edit sync ≤ 0.25× first sync", r["edit_vs_first"] <= 0.25, f"{r['edit_vs_first']:.2f}×"),
                    ("1 %-edit sync peak ≤ 200 MB", r["one_percent_sync"]["peak_rss_mb"] <= 200,
                     f"{r['one_percent_sync']['peak_rss_mb']:.0f} MB"),
                    ("no-change sync ≤ 0.3 s CPU over CLI start-up", q["above_startup_s"] <= 0.3,
                     f"{q['above_startup_s']:.2f} s")]:
                print(f"  [{'ok' if met else 'MISS'}] {r['krs']:,}: {check} ({detail})")
        ok &= r["no_change_plan"]["changes"] == 0
    print(f"bundled example, second sync: {example['second_sync_writes']} writes, files unchanged: {example['files_unchanged']}")
    ok &= example["second_sync_writes"] == 0 and example["files_unchanged"]
    print("targets (50k no-change plan < 2 s and < 300 MB; example quiet):", "met" if ok else "MISSED")
    out = HERE / "results" / ("sync.json" if args.board == "csv" else f"sync-{args.board}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": import_bench.machine(), "board": args.board, "results": results, "example": example}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
