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

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import saas_migration  # noqa: E402
from tests.emulators.smartsheet import Smartsheet  # noqa: E402

SHEET = 4583173393803140
RATE = 5.0  # 300 requests/min per access token (developers.smartsheet.com/blog/smartsheet-api-best-practices)
MAX_ROWS = 500  # rows per add request (API reference, "Limitations")


def main() -> int:
    args, rate, work = saas_migration.start(__doc__, "smartsheet", RATE, objectives=100, rate_scale=4.0)
    from okrsync.connectors.smartsheet import SmartsheetConnector

    with Smartsheet() as emu:
        emu.add_sheet(SHEET, "OKRs")
        hub, wall = saas_migration.migrated(work, emu, args, rate, "ss", {
            "type": "smartsheet", "sheet": str(SHEET), "url": emu.url + "/2.0", "token": "test-token",
            "layout": "hierarchical", "rate": rate}, {"smartsheet": SmartsheetConnector})
        figures = saas_migration.figures(args, emu, sum(1 for r in emu.records(SHEET) if r.get("Key result ID")),
                                         1 + 1 + math.ceil(args.objectives / MAX_ROWS) + args.objectives, wall)
        # then 1 % of the KRs change in the CSV: one read, one update of only their rows
        update = [(h.method, len(h.json()) if h.method == "PUT" else 0)
                  for h in saas_migration.edited_sync(hub, ["sheet", "ss"], work, emu, figures)]
        errors = list(emu.errors)
    print(f"then 1 % of the KRs edited in the CSV ({figures['update_wall_s']:.2f} s): "
          + ", ".join(f"{m}" + (f" ({n} rows)" if m == "PUT" else "") for m, n in update))
    return saas_migration.report(
        saas_migration.headline("Smartsheet migration (hierarchical)", args, rate, RATE), figures,
        "1 read + 1 columns + ⌈N/500⌉ objective adds + N KR adds", rate, RATE, args.out,
        extra_ok=not errors and update == [("GET", 0), ("PUT", 5 * args.objectives // 100)])


if __name__ == "__main__":
    sys.exit(main())
