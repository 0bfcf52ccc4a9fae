"""A value longer than an XLSX cell holds (32,767 characters) is refused for that record,
located, and never read back cut into the other endpoints (issue 13 item 8)."""

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from tests.helpers.clirun import run

REAL = Path(__file__).parent / "fixtures" / "real" / "flat_kr_rows_percent_words_product_ops_sandbox.csv"
LONG = "Increase first successful visit rate" + " in every clinic and every region" * 1250  # 41,286 characters


def csv_rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def board_rows(path):
    ws = openpyxl.load_workbook(path).active
    header, *rows = ws.iter_rows(values_only=True)
    return [dict(zip(header, row)) for row in rows]


def set_board_cell(path, kr, column, value):
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[header.index("Key result ID")].value == kr)
    row[header.index(column)].value = value
    wb.save(path)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "okrs.csv").write_text(REAL.read_text())
    (tmp_path / "okrsync.yaml").write_text("endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n"
                                           "  board:\n    type: xlsx\n    path: board.xlsx\nsync:\n  order: [sheet, board]\n")
    return tmp_path


def test_long_text_is_refused_by_the_board_and_never_flows_back_cut(project):
    assert len(LONG) > 32_767
    run("sync")
    sheet = project / "okrs.csv"
    sheet.write_text(REAL.read_text().replace("Increase first successful visit rate", LONG))
    result = run("sync", code=3)
    message = " ".join(result.output.split())
    # the run summary names the record by its sheet's id, not the canonical one (issue 24)
    assert "kr_" not in message and "rejected: board: '" in message
    assert ("(KR-003 on board, sheet): board.xlsx: key result KR-003, title: 41,286 characters, more than a "
            "cell holds here (32,767); the record is not written (its row keeps what it held)" in message)
    old = next(r for r in board_rows(project / "board.xlsx") if r["Key result ID"] == "KR-003")
    assert old["Key result"] == "Increase first successful visit rate" and old["Current"] == 40
    # an edit on the board, to the same record but another field: it comes over, the long title stays
    set_board_cell(project / "board.xlsx", "KR-003", "Current", 45)
    out = json.loads(run("--json", "sync", code=3).output)
    pulled = next(p for p in out["endpoints"] if p["endpoint"] == "board" and p["direction"] == "pull")
    assert [c["changes"] for c in pulled["changes"]] == [{"current": {"old": 40.0, "new": 45.0}}]
    kr = next(r for r in csv_rows(sheet) if r["key_result_id"] == "KR-003")
    assert kr["key_result"] == LONG and kr["current"] == "45"
    assert json.loads(run("--json", "status", code=0).output)["rejections"][0]["record"] == "key_result KR-003"


def test_a_new_record_too_long_for_a_cell_is_left_out_and_its_source_kept(project):
    sheet = project / "okrs.csv"
    sheet.write_text(REAL.read_text().replace("Increase first successful visit rate", LONG))
    run("sync", code=3)
    assert "KR-003" not in {r["Key result ID"] for r in board_rows(project / "board.xlsx")}
    set_board_cell(project / "board.xlsx", "KR-004", "Current", 2.5)
    run("sync", code=3)
    rows = {r["key_result_id"]: r for r in csv_rows(sheet)}
    assert rows["KR-003"]["key_result"] == LONG and rows["KR-004"]["current"] == "2.5"
