"""Real OKR files written by others (tests/fixtures/real, see ATTRIBUTION.md there), read
through the CSV connector with the mappings beside them, and through the hub."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pytest

from okrsync.config import Config
from okrsync.connector import Context, Cursor, Note, Record, Rejected
from okrsync.connectors.spreadsheet import CsvConnector, XlsxConnector
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.real_files import DASHBOARD, FIXTURES, PRODUCT_OPS, REAL


def read(name: str, **override):
    path, options = FIXTURES[name]
    cls = XlsxConnector if path.endswith(".xlsx") else CsvConnector
    conn = cls(name, {"path": path, **options, **override}, Context(base_dir=REAL))
    items = list(conn.read(None))
    assert isinstance(items[-1], Cursor) and items[-1].full_listing
    records = [i for i in items if isinstance(i, Record)]
    return (records, [i for i in items if isinstance(i, Rejected)], [i.message for i in items if isinstance(i, Note)])


def of(records, kind):
    return {r.external_id: r.fields for r in records if r.kind == kind}


def test_attribution_is_kept_beside_the_files():
    notice = (REAL / "ATTRIBUTION.md").read_text()
    assert "MIT License" in notice and "Montinou/initiative-dashboard" in notice
    for name, (path, _) in FIXTURES.items():
        assert (REAL / path).is_file(), name
        assert Path(path).name in notice
    assert "Copyright (c) 2022 State of North Dakota" in notice and "CC BY 4.0" in notice


def test_product_ops_flat_kr_rows():
    records, rejected, notes = read("product-ops")
    assert not rejected
    assert collections.Counter(r.kind for r in records) == {"objective": 2, "key_result": 4}
    krs = of(records, "key_result")
    assert (krs["KR-001"]["unit"], krs["KR-001"]["start"], krs["KR-001"]["target"]) == ("percent", 60, 75)  # "60 percent"
    assert (krs["KR-004"]["direction"], krs["KR-004"]["start"], krs["KR-004"]["target"]) == ("decrease", 3, 2)
    assert [k for k, v in krs.items() if v["direction"] == "decrease"] == ["KR-002", "KR-004"]
    assert {v["status"] for v in krs.values()} == {"at_risk"}  # "At risk" and "Needs focus"
    assert krs["KR-003"]["objective_id"] == "O-002"
    assert krs["KR-002"]["extra.product-ops.linked_metric"] == "Check In Failed Count"
    assert notes == [f"{PRODUCT_OPS}: columns kept in extra: linked_metric"]


def test_objectives_rows_export():
    records, rejected, notes = read("objectives-rows")
    assert not rejected
    objectives = of(records, "objective")
    assert len(objectives) == 14 and len(records) == 14
    late = [n for n in notes if "after it is due" in n]
    assert len(late) == 5  # start after end: kept, with a warning each
    assert "objectives_rows.csv row 3: objective 29450141-0bbf-4e58-bde7-c8ebb61233dd: start: starts 2025-08-12 " \
           "after it is due 2025-03-31" in late
    first = objectives["238a63f1-0518-41d1-b4b2-d4fe815d6bf4"]
    assert first["title"] == "Incrementar Ventas de Paquetes Turísticos 30%"
    assert (first["status"], first["start"], first["due"]) == ("on_track", "2025-01-01", "2025-03-31")
    assert first["extra.objectives-rows.metrics"] == ["Ventas mensuales", "Conversión digital", "Nuevos clientes",
                                                      "Ticket promedio"]
    assert first["extra.objectives-rows.progress"] == 75
    assert first["extra.objectives-rows.created_at"] == "2025-08-11 18:35:07.073175+00"
    assert objectives["f1eebc99-9c0b-4ef8-bb6d-6bb9bd380d04"]["status"] == "not_started"  # "planning"


def test_okr_bulk_template_objective_initiatives_activities():
    records, rejected, notes = read("okr-bulk")
    assert not rejected
    assert collections.Counter(r.kind for r in records) == {"objective": 1, "initiative": 4}
    initiatives = of(records, "initiative")
    assert {k for k, v in initiatives.items() if not v["parent_id"]} == {"INIT-CRM-001", "INIT-DATA-002"}
    assert {k: v["parent_id"] for k, v in initiatives.items() if v["parent_id"]} == {"ACT-001": "INIT-CRM-001",
                                                                                   "ACT-002": "INIT-CRM-001"}
    assert all(initiatives[i]["objective_id"] == "OBJ-2025-001" for i in ("INIT-CRM-001", "INIT-DATA-002"))
    assert initiatives["ACT-002"]["owner"] == "analista1@empresa.com"
    assert initiatives["ACT-002"]["extra.okr-bulk.is_completed"] is True
    assert (initiatives["INIT-DATA-002"]["status"], initiatives["INIT-DATA-002"]["due"]) == ("not_started", "2025-12-15")
    objective = of(records, "objective")["OBJ-2025-001"]
    assert (objective["period"], objective["team"], objective["due"]) == ("2025-Q3", "Atención al Cliente", "2025-12-31")
    assert objective["extra.okr-bulk.priority"] == "high"
    # The ragged third row (21 cells for 22 columns) still brings in its initiative.
    assert "OKR_BULK_TEMPLATE.csv row 4: 21 cells for 22 columns; missing cells read as empty" in notes
    assert next(r for r in records if r.external_id == "INIT-DATA-002").where == "OKR_BULK_TEMPLATE.csv row 4"


def test_valid_small_rows_typed_by_entity_type_with_declared_short_rows():
    records, rejected, notes = read("valid-small")
    assert not rejected
    objectives, initiatives = of(records, "objective"), of(records, "initiative")
    assert len(objectives) == 2
    top = {k: v for k, v in initiatives.items() if not v["parent_id"]}
    activities = {k: v for k, v in initiatives.items() if v["parent_id"]}
    assert len(top) == 2 and len(activities) == 3
    launch = top["increase revenue/launch premium product"]
    assert (launch["objective_id"], launch["progress"], launch["status"]) == ("increase revenue", 0.3, "on_track")
    research = activities["increase revenue/launch premium product/market research"]
    assert (research["parent_id"], research["owner"]) == ("increase revenue/launch premium product", "research@example.com")
    hire = activities["improve customer satisfaction/customer success program/hire cs manager"]
    assert hire["parent_id"] == "improve customer satisfaction/customer success program"
    assert objectives["increase revenue"]["extra.valid-small.metrics"] == [{"name": "Revenue", "target": 1000000, "current": 450000}]
    realigned = [n for n in notes if "short_rows" in n]
    assert len(realigned) == 5 and realigned[0] == ("valid-small.csv row 4: 13 cells for 14 columns; "
                                                   "empty cells put back for metrics (short_rows of initiative rows)")


def test_valid_small_without_the_short_rows_rule_keeps_the_shifted_cells_as_text(tmp_path):
    shutil.copy(REAL / DASHBOARD / "valid-small.csv", tmp_path / "valid-small.csv")
    text = (REAL / "valid-small.yaml").read_text()
    (tmp_path / "no-rule.yaml").write_text(text.split("short_rows:")[0] + "any:" + text.split("\nany:", 1)[1])
    conn = CsvConnector("small", {"path": "valid-small.csv", "mapping": "no-rule.yaml"}, Context(base_dir=tmp_path))
    items = list(conn.read(None))
    assert not [i for i in items if isinstance(i, Rejected)]
    # the shifted parent title lands in `metrics`, which is JSON: kept as text, with a located warning
    kept = [i.message for i in items if isinstance(i, Note) and "kept as text" in i.message]
    assert len(kept) == 5 and kept[0].startswith("valid-small.csv row 4: ")  # one per shifted row
    assert "column 'metrics': 'Increase Revenue' kept as text in extra (expected JSON text" in kept[0]
    assert collections.Counter(i.kind for i in items if isinstance(i, Record)) == {"objective": 2, "initiative": 5}


@pytest.mark.parametrize("name, counts", [
    ("product-ops", {"objective": 2, "key_result": 4}),
    ("objectives-rows", {"objective": 14}),
    ("okr-bulk", {"objective": 1, "initiative": 4}),
    ("valid-small", {"objective": 2, "initiative": 5}),
    ("gtmhub-okrs", {"objective": 3, "key_result": 6}),
    ("gtmhub-tasks", {"objective": 3, "initiative": 6}),
])
def test_every_fixture_pulls_into_the_store_with_its_references_resolved(name, counts):
    path, options = FIXTURES[name]
    kind = "xlsx" if path.endswith(".xlsx") else "csv"
    config = Config.of(REAL, {name: {"type": kind, "path": path, **options}})
    store = Store(None)
    hub = Hub(config, store, {"csv": CsvConnector, "xlsx": XlsxConnector})
    plan = hub.plan_pull(name)
    assert not plan.rejected
    hub.apply_pull(plan, store.begin_run("test"))
    assert {kind: store.count(kind) for kind in counts} == counts
    ids = {cid for cid, _, _ in store.entities()}
    for _, _, fields in store.entities():
        for ref in ("objective_id", "parent_id", "key_result_id"):
            assert fields.get(ref) in (None, *ids)


# ---------------------------------------------------------------- issue 14: the other real spreadsheets

def test_nd_state_sharepoint_list_krs_find_their_objective_by_id_pattern():
    records, rejected, notes = read("ndit")
    # counted by hand: 152 rows, 37 "Obj" and 115 "KR"; one KR id (2022-Q1-NDIT-3.1) used twice
    assert collections.Counter(r.kind for r in records) == {"objective": 37, "key_result": 114}
    assert [str(r) for r in rejected] == ["OKRs.csv row 126: duplicate key result '2022-Q1-NDIT-3.1' "
                                          "(first at OKRs.csv row 124)"]
    objectives, krs = of(records, "objective"), of(records, "key_result")
    assert krs["2022-Q1-CI-3.4"]["objective_id"] == "2022-Q1-CI-3"  # out of order, after CI-6.1
    assert collections.Counter(o["team"] for o in objectives.values())["EduTech"] == 8
    first = objectives["2022-Q1-CI-1"]
    assert (first["owner"], first["period"], first["type"]) == ("Felchle, Craig D.", "2022-Q1", "aspirational")
    assert krs["2022-Q1-CI-1.1"]["extra.ndit.commitment"] == "Committed"
    assert notes == ["OKRs.csv: columns kept in extra: #, Co-Owners, Reference, Progress %, Review Score, Tags"]


def test_nd_state_sync_export_same_rows_through_its_lookup_columns():
    records, rejected, _ = read("ndit-sync")
    assert collections.Counter(r.kind for r in records) == {"objective": 37, "key_result": 114}
    assert len(rejected) == 1  # the same duplicate id
    objectives, krs = of(records, "objective"), of(records, "key_result")
    assert objectives["2022-Q1-CTO-1"]["team"] == "CTO Section"  # Team.lookupValue
    assert objectives["2022-Q1-CTO-1"]["title"] == "Technology and Services are managed in a world class manner"
    assert krs["2022-Q1-EA-1.1"]["extra.ndit-sync.parentId"] == "35"  # an alignment, not its objective
    assert krs["2022-Q1-EA-1.1"]["objective_id"] == "2022-Q1-EA-1"


def test_nd_state_team_tree_the_id_wins_over_the_stale_lookup_text():
    records, rejected, _ = read("ndit-teams")
    assert not rejected
    teams = of(records, "team")
    assert len(teams) == 13 and len(records) == 13
    assert (teams["13"]["name"], teams["13"]["parent_id"]) == ("EduTech", "2")
    assert teams["13"]["extra.ndit-teams.Parent Team.lookupValue"] == "Cloud and Infrastructure"
    assert teams["1"]["parent_id"] is None


def test_semicolon_kpi_catalogue_as_objectives_per_area():
    records, rejected, notes = read("kpis")
    # by hand: 92 KPIs in 8 areas; polaridade maior 51, menor 37, faixa 4 (a band without bounds)
    assert collections.Counter(r.kind for r in records) == {"objective": 8, "key_result": 88}
    assert len(rejected) == 4 and all("a range KR needs both range_low and range_high" in str(r) for r in rejected)
    krs = of(records, "key_result")
    assert collections.Counter(k["direction"] for k in krs.values()) == {"increase": 51, "decrease": 37}
    assert (krs["SC-001"]["title"], krs["SC-001"]["objective_id"]) == ("Pedido perfeito", "supply chain")
    assert krs["SC-002"]["extra.kpis.formula"] == "1 - soma(|real - previsto|) / soma(real) (WMAPE)"
    assert sum(1 for k in krs.values() if k["objective_id"] == "lean six sigma") == 15


def test_gtmhub_workbook_okrs_and_tasks_sheets():
    records, rejected, notes = read("gtmhub-okrs")
    assert not rejected and collections.Counter(r.kind for r in records) == {"objective": 3, "key_result": 6}
    krs = of(records, "key_result")
    retention = krs["rock the us market/increase retention rate by 5"]
    assert (retention["start"], retention["target"], retention["direction"]) == (20, 21, "increase")  # =20*1.05 cached
    team = of(records, "objective")["grow the team"]  # the session "Q4 2021": kept as written, its dates beside it
    assert (team["period"], team["extra.period.gtmhub-okrs:key"], team["extra.period.gtmhub-okrs:start"],
            team["extra.period.gtmhub-okrs:end"]) == ("Q4 2021", "2021-Q4", "2021-10-01", "2021-12-31")
    tasks, rejected, _ = read("gtmhub-tasks")
    assert not rejected and collections.Counter(r.kind for r in tasks) == {"objective": 3, "initiative": 6}
    assert of(tasks, "initiative")["secure the fortress/setup demotest environments"]["owner"] == "jake_nordon@okrs.tech"
