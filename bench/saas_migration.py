"""What the migration benchmarks of the table services share (Smartsheet, Notion, Airtable):
the command line, one timed run of the hub, and the figures against the targets.

``options(doc, objectives, rate_scale)`` parses ``--objectives``, ``--rate-scale``,
``--latency`` and ``--out``; ``migrate(hub, names)`` runs the hub once and returns its wall
time; ``report(title, figures, rate, real_rate, out, extra_ok)`` prints the table
(requests / minimum ≤ 1.1, wall / floor ≤ 1.2, no 429) and writes it as JSON to ``out``;
its result is the exit code.
"""

from __future__ import annotations

import argparse
import json
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
