"""The Viva Goals Explorer view CSV (Graph export job): the importer's second input shape,
read into the same records as the JSON export, with located rejections and an import."""

import shutil

import pytest

from okrsync.config import Config
from okrsync.connector import Cursor, Note, Rejected
from okrsync.errors import FatalError
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.viva_goals import FIXTURES, read, records


def test_the_explorer_view_csv_reads_into_the_records_the_json_export_gives():
    from_csv, from_json = read("explorer/explorer_view.csv"), read("export")
    ok = {"objective", "key_result", "initiative", "alignment"}
    assert {(r.kind, k) for k, r in records(from_csv).items()} == {
        (r.kind, k) for k, r in records(from_json).items() if r.kind in ok}
    assert len(records(from_csv, "key_result")) == 5 and len(records(from_csv, "initiative")) == 2
    same = ("title", "owner", "status", "due", "parent_id", "objective_id", "key_result_id", "start", "target",
            "direction", "unit", "currency", "team", "period", "type", "progress")
    csv_records, json_records = records(from_csv), records(from_json)
    for ident, r in csv_records.items():
        if r.kind != "alignment":
            assert {f: r.fields.get(f) for f in same} == {f: json_records[ident].fields.get(f) for f in same}, ident
    # the JSON export takes the current value from check-ins; the CSV from its column
    assert csv_records["1003"].fields["current"] == json_records["1003"].fields["current"] == 9050000.0
    assert csv_records["1009"].fields["current"] == 280.0 and csv_records["1009"].fields["extra.vg.unit"] == "ms"
    assert csv_records["1004>1002"].fields == {"child_id": "1004", "parent_id": "1002", "type": "contributes_to",
                                               "primary": False, "weight": None}  # no weights in a view
    assert csv_records["1001"].fields["extra.vg.Tags"] == "growth"  # a column no field claims is kept
    assert csv_records["1003"].where.startswith("explorer_view.csv row 4 (ID 1003)")


def test_what_the_csv_lacks_is_said_on_every_read_and_the_cursor_is_its_digest():
    items = read("explorer/explorer_view.csv")
    [note] = [n.message for n in items if isinstance(n, Note)]
    assert "no check-ins, alignment weights or period dates" in note
    assert not records(items, "check_in")
    assert isinstance(items[-1], Cursor) and items[-1].full_listing
    assert items[-1].value == read("explorer/explorer_view.csv")[-1].value


def test_a_bad_row_is_rejected_with_its_line_and_csv_column_and_the_rest_imports():
    items = read("explorer/malformed_view.csv")
    rejected = {r.where: r.reason for r in items if isinstance(r, Rejected)}
    assert len(rejected) == 5
    assert rejected["malformed_view.csv row 3 (ID 2001), Target"].startswith("'lots' is not a number")
    assert "mapping.types" in rejected["malformed_view.csv row 4 (ID 2002)"]
    assert "give the OKR a title" in rejected["malformed_view.csv row 5 (ID 2003), Title"]
    assert "not a date" in rejected["malformed_view.csv row 6 (ID 2004), End Date"]
    assert "add it to the endpoint's mapping" in rejected["malformed_view.csv row 7 (ID 2005), Status"]
    assert set(records(items)) == {"1001"}


def test_missing_required_columns_and_other_headers_through_the_mapping(tmp_path):
    (tmp_path / "view.csv").write_text("Goal name,Progress\nGrow,40%\n", encoding="utf-8")
    with pytest.raises(FatalError, match=r"view.csv: no column for ID, Title, Type .*mapping.csv_columns"):
        read(tmp_path / "view.csv")
    (tmp_path / "view.csv").write_text("Key,Goal name,Kind\n7,Grow,Objective\n", encoding="utf-8")
    items = read(tmp_path / "view.csv", mapping={"csv_columns": {"ID": ["Key"], "Title": ["Goal name"],
                                                                  "Type": ["Kind"]}})
    assert records(items)["7"].fields["title"] == "Grow"
    (tmp_path / "view.csv").write_bytes("ID,Title,Type\n1,Gr\xfc\xdfe,Objective\n".encode("latin-1"))
    with pytest.raises(FatalError, match="view.csv: byte 18: not UTF-8 text"):
        read(tmp_path / "view.csv")


def test_an_import_of_the_csv_into_the_hub_then_a_spreadsheet(tmp_path):
    shutil.copy(FIXTURES / "explorer" / "explorer_view.csv", tmp_path / "view.csv")
    cfg = Config.of(tmp_path, {"viva": {"type": "viva-goals", "path": "view.csv"},
                               "sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"}},
                    {"order": ["viva", "sheet"]})
    from okrsync.plugins import connectors
    hub = Hub(cfg, Store(None), {name: info.cls for name, info in connectors().items()})
    plans = hub.run(["viva", "sheet"], hub.store.begin_run("sync"))
    assert not next(p for p in plans if p.endpoint == "viva" and p.direction == "push").batch
    counts = dict(hub.store.db.execute("select kind, count(*) from entities where deleted = 0 group by kind").fetchall())
    assert (counts["objective"], counts["key_result"], counts["initiative"]) == (2, 5, 2)
    assert "Keep p95 latency below 300 ms" in (tmp_path / "okrs.csv").read_text()
    again = hub.run(["viva", "sheet"], hub.store.begin_run("sync"))
    assert all(not p.changes for p in again)
