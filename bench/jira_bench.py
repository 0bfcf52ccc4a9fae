"""Jira migration benchmark: a spreadsheet of N objectives × 5 KRs into the Jira emulator.

The emulator (tests/emulators/jira.py) answers over real HTTP on 127.0.0.1 with 50 ms of
latency, a 20 requests/s token bucket and a search index that shows new issues ``--lag``
seconds late (1 s by default; Jira's search is eventually consistent). Measured, for one `okrsync sync` equivalent
(pull the sheet, pull Jira, push Jira):

- requests sent, against the minimum the API allows: one bulk create per 50 issues, one
  field lookup, one empty search, one user listing, one transition lookup per issue type,
  one bulk transition per 1,000 issues and one poll per bulk task;
- wall time of the migration (Jira's read and write, after the sheet was imported),
  against the floor the rate limit sets (minimum requests / rate);
- 429 answers received (target: none), peak memory;
- then a quiet incremental sync, after the clock moved on: requests per page of changes.

    python bench/jira_bench.py [--objectives 1000] [--latency 0.05] [--rate 20] [--lag 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
import import_bench  # noqa: E402  (its data generator)

TARGETS = {"requests_ratio": 1.1, "wall_ratio": 1.2, "throttled": 0}
ISSUE_TYPES = [{"id": "10100", "name": "Objective", "hierarchyLevel": 1},
               {"id": "10101", "name": "Key Result", "hierarchyLevel": 0},
               {"id": "10102", "name": "Task", "hierarchyLevel": 0}]


class Clock:
    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


def owners(sheet: Path) -> list[dict]:
    with sheet.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        emails = sorted({v for row in reader for k, v in row.items() if "owner" in k.lower() and v})
    return [{"accountId": f"acc-{n:04d}", "emailAddress": e, "displayName": e.split("@")[0]} for n, e in enumerate(emails)]


def minimum(n_obj: int, n_kr: int, moves: int) -> int:
    tasks = math.ceil(moves / 1000)
    return 1 + 1 + 1 + math.ceil(n_obj / 50) + math.ceil(n_kr / 50) + 2 + 2 * tasks


def run(n_obj: int, latency: float, rate: float, lag: float = 1.0) -> dict:
    from okrsync import config, plugins
    from okrsync.connectors import jira as jira_connector
    from okrsync.store import Store
    from okrsync.sync import Hub
    from tests.emulators.jira import JiraEmulator

    work = Path(tempfile.mkdtemp(prefix="okrsync-jira-bench-"))
    sheet = work / "okrs.csv"
    import_bench.write_csv(sheet, n_obj * import_bench.KRS_PER_OBJECTIVE)
    clock = Clock()
    jira_connector.clock = clock
    # bulk tasks finish by the time okrsync first polls (after poll_interval); a slower
    # server means more polls, which is the server's time, not okrsync's
    with JiraEmulator(users=owners(sheet), issue_types=ISSUE_TYPES, now=clock, page_size=100, bulk_polls=0,
                      search_lag=lag) as jira:
        mapping = ""
        if import_bench.default_mapping_problem():
            (work / "bench-mapping.yaml").write_text(import_bench.UNIT_WORKAROUND)
            mapping = "    mapping: bench-mapping.yaml\n"
        (work / "okrsync.yaml").write_text(f"""store: okrsync.db
endpoints:
  sheet:
    type: csv
    path: okrs.csv
{mapping}  jira:
    type: jira
    url: {jira.url}
    project: OKR
    auth: {{email: bot@example.com, token: t0ken}}
    rate: {rate}
    concurrency: 4
    poll_interval: 0.25
sync: {{order: [sheet, jira]}}
""")
        cfg = config.load(work / "okrsync.yaml")
        store = Store(cfg.store)
        hub = Hub(cfg, store, plugins.classes())
        jira.faults.latency, jira.faults.rate = latency, rate

        def sync() -> tuple[float, list]:
            run_id = store.begin_run("sync")
            t = time.perf_counter()
            plans = hub.run(["sheet", "jira"], run_id)
            store.finish_run(run_id, "ok", {})
            return time.perf_counter() - t, plans

        # the spreadsheet import is a local file read (bench/import_bench.py measures it);
        # the migration is what the rate limit governs: Jira's read and write
        t = time.perf_counter()
        import_run = store.begin_run("sync")
        hub.run(["sheet"], import_run, push=False)
        store.finish_run(import_run, "ok", {})
        imported = time.perf_counter() - t
        jira.reset_log()
        seconds, plans = sync()
        issues = list(jira.issues.values())
        moved = sum(1 for i in issues if i["fields"]["status"]["statusCategory"]["key"] != "new")
        sent = len(jira.log)
        throttled = jira.count(status=429)
        least = minimum(n_obj, n_obj * import_bench.KRS_PER_OBJECTIVE, moved)
        floor = least / rate
        rejected = sum(len(p.rejected) for p in plans)
        # a quiet sync: first the read-back of our own writes, then nothing changed at all
        clock.offset += 600
        jira.reset_log()
        readback, _ = sync()
        readback_requests = len(jira.log)
        clock.offset += 600
        jira.reset_log()
        quiet, _ = sync()
        quiet_log = [(h.method, h.path) for h in jira.log]
    return {
        "objectives": n_obj, "krs": n_obj * import_bench.KRS_PER_OBJECTIVE, "issues": len(issues),
        "rejected": rejected, "latency_s": latency, "rate_per_s": rate, "search_lag_s": lag,
        "requests": sent, "min_requests": least, "requests_ratio": round(sent / least, 3),
        "import_s": round(imported, 2), "seconds": round(seconds, 2), "floor_s": round(floor, 2), "wall_ratio": round(seconds / floor, 3),
        "throttled": throttled, "readback_requests": readback_requests, "readback_s": round(readback, 2),
        "quiet_requests": len(quiet_log), "quiet_log": quiet_log, "quiet_s": round(quiet, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objectives", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--lag", type=float, default=1.0, help="seconds before search shows a new issue")
    parser.add_argument("--out", default=str(HERE / "results" / "jira.json"))
    args = parser.parse_args()
    r = run(args.objectives, args.latency, args.rate, args.lag)
    print(f"Jira migration: {r['objectives']:,} objectives + {r['krs']:,} KRs → emulator "
          f"({r['latency_s'] * 1000:.0f} ms latency, {r['rate_per_s']:g} req/s, search lag {r['search_lag_s']:g} s)")
    rows = [("issues created", f"{r['issues']:,}", f"{r['objectives'] + r['krs']:,}"),
            ("requests (minimum)", f"{r['requests']} ({r['min_requests']})", f"≤ {TARGETS['requests_ratio']} ×"),
            ("requests ratio", f"{r['requests_ratio']}", f"≤ {TARGETS['requests_ratio']}"),
            ("sheet import (local)", f"{r['import_s']} s", ""),
            ("migration wall (floor)", f"{r['seconds']} s ({r['floor_s']} s)", f"≤ {TARGETS['wall_ratio']} ×"),
            ("wall ratio", f"{r['wall_ratio']}", f"≤ {TARGETS['wall_ratio']}"),
            ("429 received", f"{r['throttled']}", "0"),
            ("read-back sync requests", f"{r['readback_requests']} ({r['readback_s']} s)", "pages of own writes"),
            ("quiet sync requests", f"{r['quiet_requests']} ({r['quiet_s']} s)", "1 search"),
            ("peak RSS", f"{r['peak_rss_mb']} MB", "")]
    width = max(len(a) for a, _, _ in rows)
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:>22}   {target}")
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(r, indent=2))
    ok = (r["requests_ratio"] <= TARGETS["requests_ratio"] and r["wall_ratio"] <= TARGETS["wall_ratio"]
          and r["throttled"] == 0 and r["rejected"] == 0 and r["quiet_requests"] == 1)
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
