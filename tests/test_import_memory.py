"""What a first import holds per KR while it plans (issue 21): each record's fields once,
not a copy per step (the connector's read state, the projection onto the endpoint, the
hub's canonical fields), and the strings every record repeats (dates, extra field names)
as one object each."""

from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path

from okrsync.config import Config
from okrsync.connectors.spreadsheet import CsvConnector
from okrsync.store import Store
from okrsync.sync import Hub, project

HEADER = ["Objective ID", "Objective", "Period", "Key result ID", "Key result", "Owner", "Start", "Current", "Target",
          "Due", "Status"]
KRS = 5  # per objective


def planned_peak(tmp_path: Path, objectives: int) -> int:
    """The traced peak of planning the first import of a flat sheet, in bytes."""
    with open(tmp_path / "okrs.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER] + [
            [f"O{o}", f"Objective {o}", "2026-Q1", f"KR{o}.{k}", f"Key result {o}.{k}", f"p{o % 40}@example.com",
             "0", str(k), "10", "2026-03-31", "On track"] for o in range(objectives) for k in range(KRS)])
    hub = Hub(Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"}}), Store(None),
              {"csv": CsvConnector})
    tracemalloc.start()
    try:
        plan = hub.plan_pull("sheet")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plan.counters.created == objectives * (KRS + 1) and not plan.rejected
    kr = next(c for c in plan.changes if c.kind == "key_result")
    assert kr.fields["due"] == "2026-03-31" and kr.fields["objective_id"] == plan.changes[0].canonical_id
    return peak


def test_a_first_import_plans_in_under_3_kb_per_kr(tmp_path):
    # the marginal cost between two sizes, so start-up (mapping, modules) does not count;
    # 3.5 KB per KR before issue 21's cuts, 2.4 KB after (4,000 KRs between the two sizes)
    (tmp_path / "small").mkdir()
    (tmp_path / "big").mkdir()
    small, big = planned_peak(tmp_path / "small", 200), planned_peak(tmp_path / "big", 1000)
    per_kr = (big - small) / (800 * KRS)
    assert 1000 < per_kr < 3000, f"{per_kr:.0f} bytes per KR"


def test_project_shares_fields_it_would_copy_whole():
    fields = {"title": "Grow", "owner": "ana@example.com", "extra.sheet.Note": "x"}
    assert project(fields, {"title", "owner"}, "sheet") is fields  # its own extra: nothing dropped
    narrowed = project(fields, {"title"}, "sheet")
    assert narrowed == {"title": "Grow", "extra.sheet.Note": "x"} and fields["owner"] == "ana@example.com"
    assert project({**fields, "extra.jira.Key": "OKR-1"}, None, "sheet") == fields  # another tool's extra: dropped
