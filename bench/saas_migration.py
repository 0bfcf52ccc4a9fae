"""What the migration benchmarks of the table services share (Smartsheet, Notion, Airtable):
the command line, one timed run of the hub, and the figures against the targets.

``options(doc, objectives, rate_scale)`` parses ``--objectives``, ``--rate-scale``,
``--latency`` and ``--out``; ``migrate(hub, names)`` runs the hub once and returns its wall
time; ``report(title, figures, rate, real_rate, out, extra_ok)`` prints the table
(requests / minimum ≤ 1.1, wall / floor ≤ 1.2, no 429) and writes it as JSON to ``out``;
its result is the exit code.

The run itself, the same in each (Graph's too):

- ``start(doc, service, real_rate, objectives, rate_scale)``: ``options``, the rate the run
  paces at, and a fresh folder with okrs.csv (N objectives × 5 KRs);
- ``people(emu)``: the owners that CSV names, as users of the service;
- ``paced(emu, args, rate)``: the emulator's latency and limit;
- ``csv_hub(work, name, endpoint, connectors)``: a hub syncing the CSV to the endpoint;
  ``migrated(work, emu, args, rate, name, endpoint, connectors)``: paced, the hub, and one
  timed migration: (hub, wall time);
- ``figures(args, emu, made, minimum, wall)``: the figures ``report`` reads;
  ``headline(what, args, rate, real_rate)``: its title;
- ``edited_sync(hub, names, work, emu, figures)``: 1 % of the KRs edited in the CSV and a
  second sync, its wall time and 429s added to ``figures``; the requests it sent.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def options(doc: str, objectives: int, rate_scale: float) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--objectives", type=int, default=objectives)
    parser.add_argument("--rate-scale", type=float, default=rate_scale,
                        help="run the service's limit (and okrsync's pace) this many times faster")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    return parser.parse_args()


def migrate(hub, names: list[str], kind: str = "migrate") -> float:
    start = time.perf_counter()
    run = hub.store.begin_run(kind)
    hub.run(names, run)
    hub.store.finish_run(run, "ok", {})
    return time.perf_counter() - start


def start(doc: str, service: str, real_rate: float, objectives: int, rate_scale: float):
    """The command line read (``options``) and a fresh folder holding okrs.csv: (args, the
    rate the run paces at, the folder)."""
    from bench.google_sheets_bench import write_csv

    args = options(doc, objectives, rate_scale)
    work = Path(tempfile.mkdtemp(prefix=f"{service}-bench-"))
    write_csv(work / "okrs.csv", args.objectives)
    return args, real_rate * args.rate_scale, work


def people(emu) -> None:
    for email in [f"owner{n}@example.com" for n in range(40)] + [f"kr{n}@example.com" for n in range(60)]:
        emu.add_user(email)


def paced(emu, args: argparse.Namespace, rate: float) -> None:
    # a token bucket holding one second's worth: stricter than a per-minute window
    emu.faults.latency, emu.faults.rate, emu.faults.burst = args.latency, rate, rate


def csv_hub(work: Path, name: str, endpoint: dict[str, Any], connectors: dict[str, type]):
    from okrsync.config import Config
    from okrsync.connectors.spreadsheet import CsvConnector
    from okrsync.store import Store
    from okrsync.sync import Hub

    config = Config.of(work, {"sheet": {"type": "csv", "path": "okrs.csv"}, name: endpoint}, {"order": ["sheet", name]})
    return Hub(config, Store(None), {"csv": CsvConnector, **connectors})


def migrated(work: Path, emu, args: argparse.Namespace, rate: float, name: str, endpoint: dict[str, Any],
             connectors: dict[str, type]):
    """The emulator ``paced``, then the CSV migrated to the endpoint once: (the hub, its wall time)."""
    paced(emu, args, rate)
    hub = csv_hub(work, name, endpoint, connectors)
    return hub, migrate(hub, ["sheet", name])


def headline(what: str, args: argparse.Namespace, rate: float, real_rate: float, limit: str = "limit") -> str:
    return (f"{what}: {args.objectives} objectives, {5 * args.objectives} KRs, latency {args.latency * 1000:.0f} ms, "
            f"{limit} {real_rate:g} req/s × {args.rate_scale:g} = {rate:g} req/s")


def figures(args: argparse.Namespace, emu, made: int, minimum: int, wall: float) -> dict[str, Any]:
    return {"objectives": args.objectives, "made": made, "expected": 5 * args.objectives, "requests": len(emu.log),
            "minimum": minimum, "wall": wall, "received_429": emu.count(status=429), "rate_scale": args.rate_scale,
            "latency_s": args.latency}


def edited_sync(hub, names: list[str], work: Path, emu, figures: dict[str, Any]) -> list:
    from bench.google_sheets_bench import edit_csv

    edit_csv(work / "okrs.csv", every=100)
    emu.reset_log()
    figures["update_wall_s"] = round(migrate(hub, names, "sync"), 2)
    figures["received_429"] += emu.count(status=429)
    return list(emu.log)


def report(title: str, figures: dict[str, Any], minimum_text: str, rate: float, real_rate: float,
           out: str | None, extra_ok: bool = True) -> int:
    """``figures``: made, expected, requests, minimum, wall, received_429 (and anything else to keep)."""
    floor = figures["minimum"] / rate
    ok = (figures["requests"] <= 1.1 * figures["minimum"] and figures["wall"] <= 1.2 * floor
          and figures["received_429"] == 0 and figures["made"] == figures["expected"] and extra_ok)
    print(title)
    print(f"{'KR records made':>22} {figures['made']:>10}")
    print(f"{'requests sent':>22} {figures['requests']:>10}")
    print(f"{'minimum requests':>22} {figures['minimum']:>10}   ({minimum_text})")
    print(f"{'requests / minimum':>22} {figures['requests'] / figures['minimum']:>10.2f}   (target ≤ 1.10)")
    print(f"{'wall (s)':>22} {figures['wall']:>10.2f}")
    print(f"{'rate-limit floor (s)':>22} {floor:>10.2f}   (minimum / {rate:g} req/s)")
    print(f"{'wall / floor':>22} {figures['wall'] / floor:>10.2f}   (target ≤ 1.20)")
    print(f"{'429 received':>22} {figures['received_429']:>10}   (target 0)")
    print(f"{'at the real limit':>22} {figures['minimum'] / real_rate:>10.1f} s  (floor at {real_rate:g} req/s)")
    print("OK" if ok else "TARGET MISSED")
    if out:
        Path(out).write_text(json.dumps({**figures, "wall": round(figures["wall"], 2), "floor_s": round(floor, 2),
                                         "wall_ratio": round(figures["wall"] / floor, 3), "rate_per_s": rate}, indent=2))
    return 0 if ok else 1
