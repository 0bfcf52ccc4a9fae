"""A first import planned and written in chunks inside its one transaction (issue 21,
``Hub.pull``): the store it leaves is the one a whole plan leaves, row for row; a failure in
a late chunk leaves the store as it was; and its memory grows far slower than the read."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest

from okrsync import plugins, sync
from okrsync.config import Config
from okrsync.connector import Record
from okrsync.connectors.spreadsheet import _ReadState
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.clirun import run
from .helpers.real_files import NDIT, REAL
from .helpers.sheets import write_xlsx

CLASSES = {name: info.cls for name, info in plugins.connectors().items()}
# when a row was written is no part of what an import leaves
TIMES = {"at", "updated", "created", "started", "finished", "applied_at"}
TABLES = ("entities", "links", "changes", "conflicts", "rejections", "cursors", "created_records", "intents")


def teams_workbook(path: Path) -> Path:
    """The ND state IT OKRs (real, tests/fixtures/real) as one sheet per team, objectives and
    KRs known by title alone: two teams' sheets hold objectives of the same title ("~2")."""
    with open(REAL / NDIT / "OKRs.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    titles = {r["OKR-ID"]: r["Title"].strip() for r in rows if r["Category "].strip() == "Obj"}
    sheets: dict[str, list[list]] = {}
    for r in rows:
        sheet = sheets.setdefault(r["Team"].replace("/", " "), [["Objective", "Key result", "Owner"]])
        if r["Category "].strip() == "Obj":
            sheet.append([r["Title"].strip(), None, r["Owner"] or None])
        elif (objective := titles.get(r["OKR-ID"].rsplit(".", 1)[0])) is not None:
            sheet.append([objective, r["Title"].strip(), r["Owner"] or None])
    return write_xlsx(path, sheets)


def imported(tmp_path: Path, monkeypatch, endpoints: dict, chunk: int, name: str) -> tuple[dict, list]:
    """Every table a first import of ``endpoints`` leaves in a fresh store (ids made in order,
    so two imports compare), and its plans."""
    ids = itertools.count()
    monkeypatch.setattr(sync, "new_id", lambda kind: f"{kind}_{next(ids):06d}")
    store = Store(tmp_path / f"{name}.db")
    with Hub(Config.of(tmp_path, endpoints), store, CLASSES) as hub:
        hub.chunk = chunk
        plans = hub.run(list(endpoints), store.begin_run("pull"), push=False)
    tables = {t: sorted(json.dumps({k: v for k, v in row.items() if k not in TIMES}, sort_keys=True, default=bytes.hex)
                        for row in store.db[t].rows) for t in TABLES}
    # the indexes a chunked import drops while it writes (Store.drop_indexes) are all back
    tables["schema"] = store.db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
    store.close()
    return tables, plans


def both(tmp_path, monkeypatch, endpoints: dict, chunk: int):
    """(whole, chunked): the tables and plans of the same first import planned whole and in chunks."""
    whole = imported(tmp_path, monkeypatch, endpoints, 1_000_000, "whole")
    chunked = imported(tmp_path, monkeypatch, endpoints, chunk, "chunked")
    return whole, chunked


def test_the_real_teams_workbook_imported_in_chunks_is_the_whole_import_row_for_row(tmp_path, monkeypatch):
    teams_workbook(tmp_path / "teams.xlsx")
    endpoints = {"teams": {"type": "xlsx", "path": "teams.xlsx", "sheets": "all", "table_values": {"Team": "sheet"}}}
    (whole, [plan]), (chunked, [cplan]) = both(tmp_path, monkeypatch, endpoints, chunk=7)
    assert chunked == whole
    assert cplan.counters == plan.counters and plan.counters.created == 153 and plan.counters.read == 153
    assert [str(r) for r in cplan.rejected] == [str(r) for r in plan.rejected]
    assert cplan.notes == plan.notes
    # a dozen chunks: the first 20 changes held (as the printout shows them), the rest counted
    assert len(cplan.changes) == 20 and cplan.ops() == plan.ops() == {"create": 153}
    assert sum(cplan.released.values()) == 133 and not plan.released
    entities = [json.loads(row) for row in chunked["entities"]]
    objectives = {e["id"]: json.loads(e["fields"]) for e in entities if e["kind"] == "objective"}
    krs = [json.loads(e["fields"]) for e in entities if e["kind"] == "key_result"]
    same = [f["team"] for f in objectives.values() if f["title"] == "Minimize technical debt"]
    assert sorted(same) == ["EA Business", "EA Infra"]  # one per team's sheet, not one merged
    assert (len(objectives), len(krs)) == (38, 115) and all(kr["objective_id"] in objectives for kr in krs)
    links = {json.loads(r)["external_id"]: json.loads(r)["canonical_id"] for r in chunked["links"]}
    assert objectives[links["minimize technical debt~2"]]["team"] == "EA Infra"


def test_the_real_sharepoint_list_with_a_kr_far_below_its_objective_and_a_rejected_row(tmp_path, monkeypatch):
    # CI-3.4 comes after CI-6.1: with chunks of 5 records its objective is written chunks before it
    shutil.copytree(REAL / NDIT, tmp_path / NDIT)
    shutil.copy(REAL / "nd_state_okrs.yaml", tmp_path)
    endpoints = {"ndit": {"type": "csv", "path": f"{NDIT}/OKRs.csv", "mapping": "nd_state_okrs.yaml"}}
    (whole, [plan]), (chunked, [cplan]) = both(tmp_path, monkeypatch, endpoints, chunk=5)
    assert chunked == whole
    assert (cplan.counters.created, len(cplan.rejected)) == (plan.counters.created, len(plan.rejected)) == (151, 1)
    assert "duplicate key result '2022-Q1-NDIT-3.1'" in str(cplan.rejected[0])
    links = {json.loads(r)["external_id"]: json.loads(r)["canonical_id"] for r in chunked["links"]}
    kr = next(json.loads(json.loads(r)["fields"]) for r in chunked["entities"] if json.loads(r)["id"] == links["2022-Q1-CI-3.4"])
    assert kr["objective_id"] == links["2022-Q1-CI-3"]
    rejections = [json.loads(r) for r in chunked["rejections"]]
    assert len(rejections) == 1 and rejections[0]["location"] == "OKRs.csv row 126"


def test_check_ins_of_a_kr_written_chunks_before_settle_once(tmp_path, monkeypatch):
    (tmp_path / "o.csv").write_text("Objective ID,Objective,Period\nO-1,Grow revenue,2026-Q1\nO-2,Keep customers,2026-Q1\n")
    (tmp_path / "k.csv").write_text("Key result ID,Objective ID,Key result,Start,Target\n"
                                    "KR-1,O-1,Reach 5M ARR,3000000,5000000\nKR-2,O-2,Cut churn,5,3\nKR-3,O-1,Win logos,0,10\n")
    (tmp_path / "c.csv").write_text("Key result ID,Date,Value,Confidence,Note\nKR-1,2026-02-28,4000000,0.7,feb\n"
                                    "KR-2,2026-01-15,4,,mid\nKR-3,2026-01-01,1,,jan\nKR-1,2026-01-31,3500000,0.4,jan\n")
    endpoints = {"sheet": {"type": "csv", "path": "o.csv", "layout": "linked",
                           "tables": {"objective": "o.csv", "key_result": "k.csv", "check_in": "c.csv"}}}
    (whole, [plan]), (chunked, [cplan]) = both(tmp_path, monkeypatch, endpoints, chunk=2)
    assert chunked == whole  # one "check-in" change per KR, not one per chunk that touched it
    settled = {json.loads(r)["entity_id"] for r in chunked["changes"] if json.loads(r)["kind"] == "check-in"}
    assert len(settled) == 3 and cplan.notes == plan.notes
    assert [n for n in cplan.notes if "took current value" in n] == [
        "3 key result(s) took current value (or level reached), confidence or status from their latest check-in (read from sheet)"]


def test_a_failure_in_the_third_chunk_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    shutil.copytree(REAL / NDIT, tmp_path / NDIT)
    shutil.copy(REAL / "nd_state_okrs.yaml", tmp_path)
    (tmp_path / "other.csv").write_text("Objective ID,Objective,Key result ID,Key result\nO-1,Grow,KR-1,Win logos\n")
    endpoints = {"other": {"type": "csv", "path": "other.csv"},
                 "ndit": {"type": "csv", "path": f"{NDIT}/OKRs.csv", "mapping": "nd_state_okrs.yaml"}}
    store = Store(tmp_path / "okrsync.db")
    with Hub(Config.of(tmp_path, endpoints), store, CLASSES) as hub:
        hub.run(["other"], store.begin_run("pull"), push=False)
        run_id = store.begin_run("pull")
        store.close()
        before = (tmp_path / "okrsync.db").read_bytes()
        hub.store = store = Store(tmp_path / "okrsync.db")
        hub.chunk = 20
        writes, create_many = [], Store.create_many

        def failing(self, *args, **kwargs):
            writes.append(self.count("key_result"))  # what the chunks before wrote, inside the transaction
            if len(writes) == 3:
                raise OSError("disk full")
            return create_many(self, *args, **kwargs)

        monkeypatch.setattr(Store, "create_many", failing)
        with pytest.raises(OSError, match="disk full"):
            hub.pull("ndit", run_id)
    print(writes)
    assert writes[2] > writes[1] > writes[0] == 1  # two chunks were written before the third failed
    assert store.count("key_result") == 1 and not store.links("ndit")
    store.close()
    assert (tmp_path / "okrsync.db").read_bytes() == before


def test_a_dry_run_of_a_chunked_first_import_counts_every_change_and_json_lists_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sync, "CHUNK", 10)
    shutil.copytree(REAL / NDIT, tmp_path / NDIT)
    shutil.copy(REAL / "nd_state_okrs.yaml", tmp_path)
    (tmp_path / "okrsync.yaml").write_text(f"store: okrsync.db\nendpoints:\n  ndit: {{type: csv, path: {NDIT}/OKRs.csv, "
                                           "mapping: nd_state_okrs.yaml}\n")
    shown = run("pull", "--dry-run", code=3).output
    assert "pull ndit would: 151 to create" in shown and "… and 131 more record(s)" in shown
    assert "Remediate and Eliminate All Critical Security Vulnerabilities" in shown  # the first ones, by title
    assert not (tmp_path / "okrsync.db").exists() or not Store(tmp_path / "okrsync.db").count("key_result")
    listed = json.loads(run("--json", "pull", code=3).output)["endpoints"][0]
    assert len(listed["changes"]) == 151 and "changes_not_listed" not in listed
    assert len({c["id"] for c in listed["changes"]}) == 151


def test_a_sheet_keeps_a_rows_own_record_as_a_hash_and_still_tells_repeats_apart():
    state = _ReadState()
    objective = Record("objective", "o-1", {"title": "Grow", "owner": "ana"}, where="s.csv row 2")
    assert [type(i).__name__ for i in state.add(objective, own=False)] == ["Record"]
    kr = Record("key_result", "kr-1", {"title": "Win logos", "target": 10.0, "objective_id": "o-1"}, where="s.csv row 2")
    assert [type(i).__name__ for i in state.add(kr, own=True)] == ["Record"]
    assert state.seen[("key_result", "kr-1")][3:4] != ("Win logos",)  # its values are not kept
    again = list(state.add(replace(kr, where="s.csv row 3"), own=True))
    assert [i.message for i in again] == ["s.csv row 3: repeats s.csv row 2 exactly (key result 'kr-1'); read as one record"]
    other = list(state.add(replace(kr, fields={**kr.fields, "target": 12.0}, where="s.csv row 4"), own=True))
    assert [i.reason for i in other] == ["duplicate key result 'kr-1' (first at s.csv row 2)"]
    assert state.distinct(replace(kr, fields={**kr.fields, "target": 12.0})).external_id == "kr-1~2"
    assert state.distinct(kr).external_id == "kr-1"
    context = list(state.add(replace(kr, fields={**kr.fields, "target": 12.0}, where="s.csv row 5"), own=False))
    assert [i.message for i in context] == ["s.csv row 5: key result 'kr-1' repeats with other values than s.csv row 2; "
                                            "kept the first"]
    shown = list(state.add(replace(objective, fields={"title": "Grow", "owner": "bo"}, where="s.csv row 6"), own=False))
    assert [i.message for i in shown] == ["s.csv row 6: objective 'o-1' repeats with other owner than s.csv row 2; kept the first"]


def planned_peak(tmp_path: Path, rows: int, chunk: int) -> int:
    """The traced peak of a first import of a flat sheet of ``rows`` KRs (5 per objective), in bytes."""
    with open(tmp_path / "okrs.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["Objective ID", "Objective", "Period", "Key result ID", "Key result", "Owner", "Start",
                                  "Current", "Target", "Due", "Status"]] + [
            [f"O{n // 5}", f"Objective {n // 5}", "2026-Q1", f"KR{n}", f"Key result {n}", f"p{n % 40}@example.com",
             "0", str(n % 7), "10", "2026-03-31", "On track"] for n in range(rows)])
    store = Store(tmp_path / "okrsync.db")
    with Hub(Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"}}), store, CLASSES) as hub:
        hub.chunk = chunk
        run_id = store.begin_run("pull")
        tracemalloc.start()
        try:
            plan = hub.pull("sheet", run_id)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert plan.counters.created == rows * 6 // 5 and store.count("key_result") == rows
    store.close()
    return peak


def test_a_chunked_first_import_holds_a_chunk_not_the_read(tmp_path):
    for name in ("small", "big", "whole"):
        (tmp_path / name).mkdir()
    small, big = planned_peak(tmp_path / "small", 2_000, 500), planned_peak(tmp_path / "big", 8_000, 500)
    whole = planned_peak(tmp_path / "whole", 8_000, 10**9)
    # planned whole, each KR adds ~2.3 KB to the peak; in chunks ~1.1 KB: what grows is the read's
    # ids (the hub's and the connector's) and the connector's own state
    per_kr = (big - small) / 6_000
    assert per_kr < 1_400 and big < 0.7 * whole, f"{per_kr:.0f} bytes per KR; {big / 1e6:.1f} MB, whole {whole / 1e6:.1f} MB"
