"""Real OKR files written by others (tests/fixtures/real) put into Smartsheet and into a
workbook in OneDrive (the emulators), read back through those connectors: the same records
as the CSV connector reads from the files themselves."""

import csv

import pytest

from okrsync.connector import Context, Record, Rejected
from okrsync.connectors.graph_excel import GraphExcelConnector
from okrsync.connectors.smartsheet import SmartsheetConnector
from okrsync.connectors.spreadsheet import CsvConnector

from .emulators.graph import Graph
from .emulators.smartsheet import Row, Smartsheet
from .helpers.graph_workbook import DRIVE, ITEM, workbook
from .helpers.real_files import FIXTURES, REAL
from .helpers.smartsheet_spec import smartsheet_spec

CASES = ["product-ops", "okr-bulk"]


def grid(name):
    path, options = FIXTURES[name]
    with open(REAL / path, newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f)), options


def records(conn):
    items = list(conn.read(None))
    return ({(r.kind, r.external_id): r.fields for r in items if isinstance(r, Record)},
            sorted(str(r.reason) for r in items if isinstance(r, Rejected)))


def from_csv(name):
    path, options = FIXTURES[name]
    return records(CsvConnector(name, {"path": path, **options}, Context(base_dir=REAL)))


@pytest.mark.parametrize("name", CASES)
def test_a_real_file_in_smartsheet_reads_as_the_file_does(name):
    rows, options = grid(name)
    with Smartsheet() as emu:
        emu.spec = smartsheet_spec()  # real files' values answered as Smartsheet's spec allows
        sheet = emu.add_sheet(4583173393803140, name, columns=rows[0])
        by_index = [c["id"] for c in sheet.columns]
        sheet.rows = [Row(9_000 + n, {by_index[i]: v for i, v in enumerate(row) if v}) for n, row in enumerate(rows[1:])]
        conn = SmartsheetConnector(name, {"sheet": "4583173393803140", "url": emu.url + "/2.0", "token": "test-token",
                                          **options}, Context(base_dir=REAL))
        got = records(conn)
    expected = from_csv(name)
    assert got[0] == expected[0] and len(got[0]) > 3
    assert len(got[1]) == len(expected[1])


@pytest.mark.parametrize("name", CASES)
def test_a_real_file_as_a_workbook_in_onedrive_reads_as_the_file_does(name):
    rows, options = grid(name)
    with Graph() as emu:
        emu.add_file(DRIVE, ITEM, f"{name}.xlsx", workbook(rows, sheet="OKRs"))
        conn = GraphExcelConnector(name, {"url": emu.url + "/v1.0", "drive": DRIVE, "item": ITEM, "sheet": "OKRs",
                                          "auth": {"bearer": "graph-test-token"}, **options}, Context(base_dir=REAL))
        got = records(conn)
    expected = from_csv(name)
    assert got[0] == expected[0] and len(got[0]) > 3
    assert len(got[1]) == len(expected[1])
