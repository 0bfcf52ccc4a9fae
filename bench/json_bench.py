"""JSON import benchmark: a nested JSON file of N KRs (objectives → key_results) against the
flat CSV of the same data, imported in the same run, each into a fresh store file.

    python bench/json_bench.py            # 50,000 KRs (10,000 objectives)
    python bench/json_bench.py --krs 5000

The data is ``import_bench.rows`` (the CSV benchmark's generator): the CSV is that file; the
JSON holds each objective once with its KRs nested under it, every value the same text the
CSV cell has ("45%", "Increase", "2026-Q3"), read through a json mapping naming the same
fields. Each import is what ``okrsync pull`` does (``Hub.plan_pull`` + ``apply_pull``). The
two stores are compared afterwards: the same objectives and KRs with the same fields (ids
aside, extra aside). Prints seconds per import and the ratio JSON / CSV; the aim is ≤ 1.5×.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import import_bench  # noqa: E402

MAPPING = {
    "name": "bench-json",
    "vocabularies": {"unit": {"number": ["Number"], "percent": ["Percent"], "currency": ["Currency"]}},
    "records": {"objective": {
        "path": "$.objectives[*]", "id": "id",
        "fields": {f: f for f in import_bench.OBJ_FIELDS if f != "id"},
        "records": {"key_result": {"path": "$.key_results[*]", "id": "id",
                                   "fields": {f: f for f in import_bench.KR_FIELDS if f != "id"}}}}},
}


def write_json(path: Path, n: int) -> None:
    """The same rows as the CSV, nested: each objective once, its KRs under it; blank cells
    left out, as a JSON file would."""
    objectives: dict[str, dict] = {}
    width = len(import_bench.OBJ_FIELDS)
    for row in import_bench.rows(n):
        obj = {f: v for f, v in zip(import_bench.OBJ_FIELDS, row[:width]) if v != ""}
        kr = {f: v for f, v in zip(import_bench.KR_FIELDS, row[width:]) if v != ""}
        objectives.setdefault(obj["id"], {**obj, "key_results": []})["key_results"].append(kr)
    path.write_text(json.dumps({"objectives": list(objectives.values())}, ensure_ascii=False))


def import_once(workdir: Path, endpoint: dict) -> tuple[float, object]:
    from okrsync import plugins
    from okrsync.config import Config
    from okrsync.store import Store
    from okrsync.sync import Hub

    config = Config.of(workdir, {"bench": endpoint}, store="okrsync.db")
    gc.collect()
    t0 = time.perf_counter()
    store = Store(config.store)
    hub = Hub(config, store, plugins.classes())
    run = store.begin_run("pull")
    plan = hub.plan_pull("bench")
    hub.apply_pull(plan, run)
    store.finish_run(run, "ok", {})
    elapsed = time.perf_counter() - t0
    if plan.rejected:
        raise SystemExit(f"{len(plan.rejected)} rejected, first: {plan.rejected[0]}")
    return elapsed, store


def contents(store) -> list[tuple]:
    """Objectives and KRs without ids and extras, for comparing the two imports."""
    out = []
    for _, kind, fields in store.entities():
        out.append((kind, tuple(sorted((k, v) for k, v in fields.items()
                                       if not k.startswith("extra.") and not k.endswith("_id")))))
    return sorted(out, key=repr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--krs", type=int, default=50_000)
    args = parser.parse_args()
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "bench.mapping.yaml").write_text(yaml.safe_dump(MAPPING, sort_keys=False))
        (tmp / "unit.mapping.yaml").write_text(import_bench.UNIT_WORKAROUND)
        # a 200-KR import of each first, so neither pays for loading modules and plugins
        for size, name in ((200, "warm"), (args.krs, "run")):
            import_bench.write_csv(tmp / f"{name}.csv", size)
            write_json(tmp / f"{name}.json", size)
            for fmt in ("csv", "json"):
                (tmp / f"{name}-{fmt}").mkdir()
            csv_s, csv_store = import_once(tmp / f"{name}-csv", {"type": "csv", "path": str(tmp / f"{name}.csv"),
                                                                  "layout": "flat", "mapping": str(tmp / "unit.mapping.yaml")})
            json_s, json_store = import_once(tmp / f"{name}-json", {"type": "json", "path": str(tmp / f"{name}.json"),
                                                                     "mapping": str(tmp / "bench.mapping.yaml")})
        same = contents(csv_store) == contents(json_store)
        counts = {k: json_store.count(k) for k in ("objective", "key_result")}
        print(f"KRs: {args.krs:,} ({counts['objective']:,} objectives); "
              f"CSV {(tmp / 'run.csv').stat().st_size / 1e6:.1f} MB, JSON {(tmp / 'run.json').stat().st_size / 1e6:.1f} MB")
        print(f"csv import:  {csv_s:6.2f} s")
        print(f"json import: {json_s:6.2f} s")
        print(f"ratio json/csv: {json_s / csv_s:.2f}x (aim: <= 1.5x); same store contents: {same}")


if __name__ == "__main__":
    main()
