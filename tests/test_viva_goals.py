"""The Viva Goals export importer: reading the JSON export (folder, ZIP, single file) into
canonical records, located errors for malformed exports, and an import into the hub."""

import json
import shutil
import zipfile

import pytest

from okrsync.config import Config
from okrsync.connector import Context, Cursor, Note, Record, Rejected, WriteBatch
from okrsync.connectors.viva_goals import VivaGoalsConnector
from okrsync.errors import ConfigError, FatalError, MappingError
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.viva_goals import FIXTURES, read, records


def test_the_export_folder_reads_into_canonical_records_parents_first():
    items = read("export")
    kinds = [r.kind for r in items if isinstance(r, Record)]
    assert kinds == sorted(kinds, key=["objective", "key_result", "initiative", "alignment", "check_in"].index)
    objectives, krs = records(items, "objective"), records(items, "key_result")
    assert set(objectives) == {"1001", "1002"} and set(krs) == {"1003", "1004", "1005", "1006", "1009"}
    company, sales = objectives["1001"].fields, objectives["1002"].fields
    assert (company["period"], company["team"], company["owner"], company["type"]) == (
        "2026-Q1", "Company", "maria.keller@example.com", "committed")
    assert sales["parent_id"] == "1001" and sales["team"] == "Sales"
    arr = krs["1003"].fields
    assert (arr["start"], arr["target"], arr["unit"], arr["currency"], arr["direction"]) == (
        8400000.0, 10200000.0, "currency", "EUR", "increase")
    assert arr["current"] == 9050000.0 and arr["weight"] == 0.4  # latest check-in; weight of the primary alignment
    churn = krs["1004"].fields
    assert (churn["direction"], churn["unit"], churn["status"], churn["current"]) == ("decrease", "percent", "at_risk", 1.8)
    assert krs["1006"].fields["unit"] == "percent" and krs["1006"].fields["current"] == 50.0  # a percentage outcome
    latency = krs["1009"].fields
    assert latency["direction"] == "stay_below" and latency["extra.vg.unit"] == "ms"
    assert krs["1005"].fields["currency"] == "EUR"  # "EUR" as the metric unit


def test_projects_alignments_check_ins_and_what_is_left_out():
    items = read("export")
    initiatives = records(items, "initiative")
    assert initiatives["1007"].fields["key_result_id"] == "1005" and initiatives["1007"].fields["progress"] == 0.25
    assert initiatives["1008"].fields["parent_id"] == "1007"
    [edge] = records(items, "alignment").values()
    assert edge.fields == {"child_id": "1004", "parent_id": "1002", "type": "contributes_to", "primary": False, "weight": 0.2}
    check_ins = records(items, "check_in")
    assert set(check_ins) == {"9001", "9002", "9003"}  # 9004 is on an objective
    assert check_ins["9003"].fields == {"key_result_id": "1004", "at": "2026-02-01T10:00:00Z", "value": 1.8,
                                        "status": "at_risk", "note": "Save desk is working.",
                                        "author": "priya.nair@example.com"}
    notes = [n.message for n in items if isinstance(n, Note)]
    assert any("check-in(s) on objectives" in n for n in notes) and any("comment(s)" in n for n in notes)
    assert isinstance(items[-1], Cursor) and items[-1].full_listing


def test_a_zip_reads_like_the_folder_and_its_digest_is_the_cursor(tmp_path):
    archive = tmp_path / "VivaGoalsExport.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in (FIXTURES / "export").iterdir():
            z.write(f, f"export/{f.name}")
    from_zip, from_folder = read(archive), read("export")
    assert {k: r.fields for k, r in records(from_zip).items()} == {k: r.fields for k, r in records(from_folder).items()}
    assert from_zip[-1].value == read(archive)[-1].value


def test_one_objectives_file_reads_without_the_others(tmp_path):
    shutil.copy(FIXTURES / "export" / "objectives.json", tmp_path / "objectives.json")
    items = read(tmp_path / "objectives.json")
    assert records(items, "key_result")["1003"].fields["current"] is None  # no check-ins file: no current value
    assert records(items, "objective")["1001"].fields["period"] == "2026-Q1"  # from the period's name


def test_a_malformed_export_rejects_each_bad_record_with_its_location():
    items = read("malformed")
    rejected = {r.where: r.reason for r in items if isinstance(r, Rejected)}
    assert rejected["objectives.json [1] (ID 2001), Outcome.Target"].startswith("'lots' is not a number")
    assert "mapping.types" in rejected["objectives.json [2] (ID 2002)"]
    assert "give the OKR a title" in rejected["objectives.json [3] (ID 2003), Title"]
    assert "not a date" in rejected["objectives.json [4] (ID 2004), End Date"]
    assert "add it to the endpoint's mapping" in rejected["objectives.json [5] (ID 2005), Status"]
    assert "not an OKR record" in rejected["objectives.json [6]"]
    assert "export again" in rejected["checkins.json [0] (ID 9101), OKR ID"]
    assert "not a date and time" in rejected["checkins.json [1] (ID 9102), Activity Date"]
    assert set(records(items, "objective")) == {"1001"}  # the good record still imports


def test_a_cut_off_file_is_one_located_error(tmp_path):
    shutil.copy(FIXTURES / "truncated_objectives.json", tmp_path / "objectives.json")
    with pytest.raises(FatalError, match=r"objectives.json: line \d+, column \d+: not valid JSON .*export it again"):
        read(tmp_path / "objectives.json")


def test_no_objectives_file_and_bad_options_say_what_to_do(tmp_path):
    (tmp_path / "Users.json").write_text("[]")
    with pytest.raises(FatalError, match="no objectives file"):
        read(tmp_path)
    with pytest.raises(FatalError, match="not found"):
        read(tmp_path / "nope.zip")
    with pytest.raises(ConfigError, match="did you mean 'path'"):
        VivaGoalsConnector("vg", {"pth": "x"})
    with pytest.raises(ConfigError, match="needs 'path:'"):
        VivaGoalsConnector("vg", {})
    with pytest.raises(MappingError, match="did you mean 'types'"):
        VivaGoalsConnector("vg", {"path": "x", "mapping": {"typs": {}}})


def test_custom_terminology_comes_from_the_mapping(tmp_path):
    data = json.loads((FIXTURES / "export" / "objectives.json").read_text())
    for item in data:
        item["Type"] = {"Objective": "Big rock", "Key Result": "Kpi"}.get(item["Type"], item["Type"])
    (tmp_path / "objectives.json").write_text(json.dumps(data))
    assert len(records(read(tmp_path / "objectives.json"), "key_result")) == 5  # both shipped as known words
    items = read(tmp_path / "objectives.json", mapping={"types": {"objective": ["Big rock"], "key_result": ["Kpi"],
                                                                  "initiative": ["Project"]}})
    assert len(records(items, "objective")) == 2


def test_writes_are_refused_and_every_kind_is_read_only():
    conn = VivaGoalsConnector("vg", {"path": "export"}, Context(base_dir=FIXTURES))
    assert set(conn.capabilities.read_only) == set(conn.capabilities.kinds)
    with pytest.raises(FatalError, match="import only"):
        conn.write(WriteBatch(creates=[Record("objective", "x", {"title": "t"}, canonical_id="c")]))


def test_an_import_into_the_hub_then_a_spreadsheet_never_pushes_to_the_export(tmp_path):
    shutil.copytree(FIXTURES / "export", tmp_path / "export")
    cfg = Config.of(tmp_path, {"viva": {"type": "viva-goals", "path": "export"},
                               "sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"}},
                    {"order": ["viva", "sheet"]})
    from okrsync.plugins import connectors
    hub = Hub(cfg, Store(None), {name: info.cls for name, info in connectors().items()})
    run = hub.store.begin_run("sync")
    plans = hub.run(["viva", "sheet"], run)
    viva_push = next(p for p in plans if p.endpoint == "viva" and p.direction == "push")
    assert not viva_push.batch and not viva_push.changes
    sheet = (tmp_path / "okrs.csv").read_text()
    assert "Grow ARR from €8.4M to €10.2M" in sheet and "Keep p95 latency below 300 ms" in sheet
    counts = dict(hub.store.db.execute("select kind, count(*) from entities where deleted = 0 group by kind").fetchall())
    assert counts["objective"] == 2 and counts["key_result"] == 5 and counts["check_in"] == 3
    again = hub.run(["viva", "sheet"], hub.store.begin_run("sync"))
    assert all(not p.changes for p in again)  # a second import of the same export changes nothing
