"""Microsoft Graph migration benchmark: N objectives × 5 KRs from a CSV into an Excel
workbook in the Graph emulator, through the workbook range API (``mode: range``, what a
large workbook uses), flat layout.

Graph documents no fixed rate for OneDrive or the workbook API, only throttling (429/503
with Retry-After); okrsync paces Graph at 2 requests a second by default, and the emulator
enforces that as a token bucket holding one second's worth. ``--rate-scale`` runs both
that many times faster. The emulator answers after ``--latency`` (20 ms). Then 1 % of the
KRs change in the CSV and a second sync runs: the item and the used range read, the eTag
checked, one PATCH per changed row (they are not adjacent).

Figures: requests sent; the minimum the API allows (the item and the sheet's used range —
a migration must see what is there —, the eTag checked once before writing, and the rows
in blocks of ``RANGE_ROWS``); the rate-limit floor (minimum / rate); 429s. Targets:
requests ≤ 1.1 × minimum, wall ≤ 1.2 × floor, no 429.

    python bench/graph_bench.py [--objectives 100] [--rate-scale 1] [--latency 0.02]
"""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import saas_migration  # noqa: E402
from tests.emulators.graph import Graph  # noqa: E402

RATE = 2.0  # okrsync's default pace for Graph (no fixed rate documented: learn.microsoft.com/graph/throttling)
DRIVE, ITEM = "b!bench-drive", "01BENCHWORKBOOK"


def empty_workbook() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "OKRs"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def main() -> int:
    args, rate, work = saas_migration.start(__doc__, "graph", RATE, objectives=100, rate_scale=1.0)
    from okrsync.connectors.graph_excel import RANGE_ROWS, GraphExcelConnector

    with Graph() as emu:
        emu.add_file(DRIVE, ITEM, "OKRs.xlsx", empty_workbook())
        hub, wall = saas_migration.migrated(work, emu, args, rate, "excel", {
            "type": "graph-excel", "url": emu.url + "/v1.0", "drive": DRIVE, "item": ITEM, "sheet": "OKRs",
            "mode": "range", "rate": rate, "auth": {"bearer": "graph-test-token"}}, {"graph-excel": GraphExcelConnector})
        rows = 1 + 5 * args.objectives  # the header and one row per KR
        figures = saas_migration.figures(args, emu, _krs(emu), 2 + 1 + math.ceil(rows / RANGE_ROWS), wall)
        update = [h.method for h in saas_migration.edited_sync(hub, ["sheet", "excel"], work, emu, figures)]
        figures["update_requests"] = len(update)
        errors = list(emu.errors)
    edited = 5 * args.objectives // 100
    print(f"then 1 % of the KRs edited in the CSV ({figures['update_wall_s']:.2f} s): {', '.join(update)}")
    return saas_migration.report(
        saas_migration.headline("Graph (workbook range API) migration", args, rate, RATE, "pace"), figures,
        f"item + used range + eTag check + ⌈rows/{RANGE_ROWS}⌉ range PATCHes", rate, RATE, args.out,
        extra_ok=not errors and update == ["GET", "GET", "GET", *["PATCH"] * edited])


def _krs(emu) -> int:
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(emu.data(DRIVE, ITEM)), read_only=True)["OKRs"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    column = rows[0].index("Key result ID")
    return sum(1 for r in rows[1:] if r[column])


if __name__ == "__main__":
    sys.exit(main())
