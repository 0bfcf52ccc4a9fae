"""The CSV and XLSX connectors: three layouts in both formats, header detection, the quirks
of real files, bad rows reported where they are, and writes that read back the same."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import openpyxl
import pytest

from okrsync.config import Config
from okrsync.connector import Cursor, Note, Record, WriteBatch
from okrsync.connectors import row_prints
from okrsync.connectors.spreadsheet import CsvConnector, XlsxConnector
from okrsync.errors import FatalError, MappingError
from okrsync.mapping import Mapping
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.sheets import connector, read, rewrite, write_csv, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "okrs.csv"

FLAT = [
    ["Objective ID", "Objective", "Period", "Key result ID", "Key result", "Owner", "Start", "Current", "Target", "Status"],
    ["O-1", "Grow revenue", "Q1 2026", "KR-1", "Reach 5M ARR", "ana@example.com", "$3000000", "$3500000", "$5000000", "On track"],
    ["O-1", "Grow revenue", "Q1 2026", "KR-2", "Cut churn", "bo@example.com", "5%", "4%", "3%", "At risk"],
    ["O-2", "Ship faster", "2026-Q1", "KR-3", "Deploys per week", "cy@example.com", "2", "6", "10", "on track"],
]
HIERARCHICAL = [
    ["Objective", "Key result", "Owner", "Start", "Current", "Target", "Due"],
    ["Grow revenue", None, "ana@example.com", None, None, None, "2026-03-31"],
    [None, "Reach 5M ARR", "bo@example.com", "$3000000", "$3500000", "$5000000", None],
    [None, "Cut churn", "cy@example.com", "5%", "4%", "3%", "2026-03-31"],
    ["Ship faster", None, "dee@example.com", None, None, None, None],
    [None, "Deploys per week", "eve@example.com", "2", "6", "10", None],
]
TYPED_MAPPING = "extends: spreadsheet\nrow_type: {column: Type, values: {Objective: objective, KR: key_result}}\n"
TYPED = [
    ["Type", "Title", "Owner", "Status", "Start", "Target"],
    ["Objective", "Grow revenue", "ana@example.com", "On track", None, None],
    ["KR", "Reach 5M ARR", "bo@example.com", "At risk", "$3M", "$5M"],
    ["KR", "Cut churn", "cy@example.com", None, "5%", "3%"],
    ["Objective", "Ship faster", "dee@example.com", "Off track", None, None],
    ["KR", "Deploys per week", "eve@example.com", None, "2", "10"],
]
LINKED = {
    "objective": [["Objective ID", "Objective", "Team"], ["O-1", "Grow revenue", "Sales"], ["O-2", "Ship faster", "Platform"]],
    "key_result": [["Key result ID", "Objective ID", "Key result", "Start", "Target"],
                   ["KR-1", "O-1", "Reach 5M ARR", "$3000000", "$5000000"],
                   ["KR-2", "O-1", "Cut churn", "5%", "3%"],
                   ["KR-3", "O-2", "Deploys per week", "2", "10"]],
    "check_in": [["Key result ID", "Date", "Value", "Note"],
                 ["KR-1", "2026-01-31", "$3200000", "January close"],
                 ["KR-1", "2026-02-28", "$3500000", "February close"]],
}


# ------------------------------------------------------------------ helpers


def by_id(records):
    return {(r.kind, r.external_id): r.fields for r in records}


def kinds(records):
    return collections.Counter(r.kind for r in records)


def table(base: Path, fmt: str, rows: list[list], name: str = "okrs") -> str:
    if fmt == "csv":
        write_csv(base / f"{name}.csv", rows)
    else:
        write_xlsx(base / f"{name}.xlsx", {"OKRs": rows})
    return f"{name}.{fmt}"


# ------------------------------------------------------------------ layouts, read


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_flat(tmp_path, fmt):
    records, rejected, _ = read(connector(tmp_path, table(tmp_path, fmt, FLAT)))
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3}
    got = by_id(records)
    # each label kept as written; the key and dates beside it say both are the same quarter
    assert (got[("objective", "O-1")]["period"], got[("objective", "O-2")]["period"]) == ("Q1 2026", "2026-Q1")
    assert {(got[("objective", o)]["extra.period.sheet:key"], got[("objective", o)]["extra.period.sheet:start"],
             got[("objective", o)]["extra.period.sheet:end"]) for o in ("O-1", "O-2")} == {("2026-Q1", "2026-01-01", "2026-03-31")}
    arr = got[("key_result", "KR-1")]
    assert (arr["objective_id"], arr["unit"], arr["currency"], arr["target"]) == ("O-1", "currency", "USD", 5_000_000)
    churn = got[("key_result", "KR-2")]
    assert (churn["direction"], churn["unit"], churn["start"], churn["status"]) == ("decrease", "percent", 5, "at_risk")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_hierarchical(tmp_path, fmt):
    records, rejected, _ = read(connector(tmp_path, table(tmp_path, fmt, HIERARCHICAL), layout="hierarchical"))
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3}
    got = by_id(records)
    # The objective row's shared cells (Owner, Due) are the objective's own.
    assert got[("objective", "grow revenue")]["owner"] == "ana@example.com"
    assert got[("objective", "grow revenue")]["due"] == "2026-03-31"
    assert got[("key_result", "grow revenue/cut churn")]["owner"] == "cy@example.com"
    assert got[("key_result", "ship faster/deploys per week")]["objective_id"] == "ship faster"


def test_hierarchical_xlsx_with_merged_objective_cells(tmp_path):
    rows = [["Objective", "Key result", "Owner", "Start", "Target"],
            ["Grow revenue", "Reach 5M ARR", "bo@example.com", 3, 5],
            [None, "Cut churn", "cy@example.com", "5%", "3%"],
            [None, "Win 10 logos", "dee@example.com", 0, 10],
            ["Ship faster", "Deploys per week", "eve@example.com", 2, 10]]
    write_xlsx(tmp_path / "board.xlsx", {"Board": rows}, merges={"Board": ["A2:A4"]})
    records, rejected, _ = read(connector(tmp_path, "board.xlsx", layout="hierarchical"))
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 4}
    objective_of = {r.fields["title"]: r.fields["objective_id"] for r in records if r.kind == "key_result"}
    assert objective_of == {"Reach 5M ARR": "grow revenue", "Cut churn": "grow revenue",
                            "Win 10 logos": "grow revenue", "Deploys per week": "ship faster"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_row_type_column(tmp_path, fmt):
    (tmp_path / "typed.yaml").write_text(TYPED_MAPPING)
    conn = connector(tmp_path, table(tmp_path, fmt, TYPED), mapping="typed.yaml", layout="hierarchical")
    records, rejected, _ = read(conn)
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3}
    got = by_id(records)
    assert got[("objective", "grow revenue")]["owner"] == "ana@example.com"  # "Owner" is each row's own
    assert got[("objective", "ship faster")]["status"] == "off_track"
    assert got[("key_result", "grow revenue/reach 5m arr")]["status"] == "at_risk"
    assert got[("key_result", "ship faster/deploys per week")]["objective_id"] == "ship faster"


def test_linked_csv_one_file_per_entity(tmp_path):
    names = {"objective": "objectives.csv", "key_result": "key-results.csv", "check_in": "check-ins.csv"}
    for part, rows in LINKED.items():
        write_csv(tmp_path / names[part], rows)
    # Listed children first: the connector still reads parents first.
    conn = connector(tmp_path, "objectives.csv", layout="linked", tables=dict(reversed(list(names.items()))))
    records, rejected, _ = read(conn)
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3, "check_in": 2}
    assert [r.kind for r in records] == ["objective"] * 2 + ["key_result"] * 3 + ["check_in"] * 2
    check = next(r for r in records if r.kind == "check_in")
    assert (check.fields["key_result_id"], check.fields["value"], check.fields["note"]) == ("KR-1", 3_200_000, "January close")
    assert check.fields["at"] == "2026-01-31T00:00:00Z"


def test_linked_xlsx_one_sheet_per_entity(tmp_path):
    sheets = {"Objectives": LINKED["objective"], "Key results": LINKED["key_result"], "Check-ins": LINKED["check_in"]}
    write_xlsx(tmp_path / "okrs.xlsx", sheets)
    conn = connector(tmp_path, "okrs.xlsx", layout="linked",
                     tables={"objective": "Objectives", "key_result": "Key results", "check_in": "Check-ins"})
    records, rejected, _ = read(conn)
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3, "check_in": 2}
    assert by_id(records)[("key_result", "KR-3")]["objective_id"] == "O-2"
    assert records[0].where == "okrs.xlsx [Objectives] row 2"


def test_linked_key_results_may_name_their_objective_by_title(tmp_path):
    write_csv(tmp_path / "o.csv", [["Objective", "Team"], ["Grow revenue", "Sales"]])
    write_csv(tmp_path / "k.csv", [["Key result", "Objective", "Target"], ["Reach 5M ARR", "Grow revenue", "$5M"]])
    records, rejected, _ = read(connector(tmp_path, "o.csv", layout="linked", tables={"objective": "o.csv", "key_result": "k.csv"}))
    assert not rejected
    assert by_id(records)[("key_result", "grow revenue/reach 5m arr")]["objective_id"] == "grow revenue"


def test_a_child_read_before_its_parent_waits_for_it(tmp_path):
    rows = [FLAT[0] + ["Parent objective ID"],
            ["O-2", "Team objective", "Q1 2026", "KR-1", "Win", "a@example.com", "0", "1", "2", "", "O-1"],
            ["O-1", "Company objective", "Q1 2026", "KR-2", "Grow", "a@example.com", "0", "1", "2", "", ""]]
    records, rejected, _ = read(connector(tmp_path, table(tmp_path, "csv", rows)))
    assert not rejected
    order = [r.external_id for r in records]
    assert order.index("O-1") < order.index("O-2") < order.index("KR-1")


# ------------------------------------------------------------------ header detection and quirks


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_header_found_below_title_rows(tmp_path, fmt):
    rows = [["ACME Corp — OKRs"], ["Quarter: Q1 2026", None, "Owner: CEO"], *FLAT]
    records, rejected, notes = read(connector(tmp_path, table(tmp_path, fmt, rows)))
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3}
    assert any("row 3: header found here; 2 row(s) above it skipped" in n for n in notes)
    assert records[0].where.endswith("row 4")


def test_no_header_is_a_mapping_error_that_says_what_it_looked_for(tmp_path):
    write_csv(tmp_path / "x.csv", [["foo", "bar"], ["1", "2"]])
    with pytest.raises(MappingError, match=r"endpoint sheet: x.csv row 1: no title column found .*looked for Key result"):
        read(connector(tmp_path, "x.csv"))


def test_bom_semicolons_cp1252_and_decimal_commas(tmp_path):
    text = "Objective;Key result;Start;Target\r\nCroissance;Chiffre d'affaires 1,5 M€;1.234,5;2.000,75\r\n"
    (tmp_path / "fr.csv").write_bytes(text.encode("cp1252"))
    records, rejected, _ = read(connector(tmp_path, "fr.csv", decimal=","))
    assert not rejected
    kr = next(r.fields for r in records if r.kind == "key_result")
    assert (kr["start"], kr["target"], kr["title"]) == (1234.5, 2000.75, "Chiffre d'affaires 1,5 M€")
    (tmp_path / "bom.csv").write_bytes("\ufeff".encode() + "Objective;Key result\nÜberleben;Kosten senken\n".encode())
    records, _, _ = read(connector(tmp_path, "bom.csv"))
    assert by_id(records)[("objective", "überleben")]["title"] == "Überleben"


def test_tab_separated(tmp_path):
    write_csv(tmp_path / "okrs.tsv", FLAT, delimiter="\t")
    records, rejected, _ = read(connector(tmp_path, "okrs.tsv"))
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3}


def test_multi_line_cells_json_and_formula_escapes(tmp_path):
    rows = [FLAT[0] + ["Metrics"],
            ["O-1", "Grow revenue\n(and keep it)", "Q1 2026", "KR-1", "'=SUM(ARR)", "a@example.com", "1", "2", "3", "",
             '[{"name": "ARR", "target": 5}]'],
            ["O-1", "Grow revenue\n(and keep it)", "Q1 2026", "KR-2", "Second", "a@example.com", "1", "2", "3", "", ""]]
    records, rejected, notes = read(connector(tmp_path, table(tmp_path, "csv", rows)))
    assert not rejected
    got = by_id(records)
    assert got[("objective", "O-1")]["title"] == "Grow revenue\n(and keep it)"
    assert got[("key_result", "KR-1")]["title"] == "=SUM(ARR)"  # the writer's escape, undone
    assert got[("key_result", "KR-1")]["extra.sheet.Metrics"] == '[{"name": "ARR", "target": 5}]'
    assert records[2].where == "okrs.csv row 4"  # rows are counted as a spreadsheet shows them
    assert any("columns kept in extra: Metrics" in n for n in notes)


def test_json_cells_typed_by_the_mapping(tmp_path):
    (tmp_path / "m.yaml").write_text("extends: spreadsheet\nentities:\n  key_result:\n"
                                     "    metrics: {columns: [Metrics], transform: json}\n")
    rows = [["Objective", "Key result", "Metrics"], ["O", "K", '["a", "b"]'], ["O", "L", "{broken"]]
    records, rejected, _ = read(connector(tmp_path, table(tmp_path, "csv", rows), mapping="m.yaml"))
    assert by_id(records)[("key_result", "o/k")]["extra.sheet.metrics"] == ["a", "b"]
    # a secondary cell that does not convert is kept as text, with a located warning (issue 15)
    assert not rejected and by_id(records)[("key_result", "o/l")]["extra.sheet.metrics"] == "{broken"
    assert by_id(records)[("key_result", "o/l")]["extra.unparsed.sheet:metrics"].startswith("expected JSON text, got '{broken'")


def test_ragged_rows(tmp_path):
    (tmp_path / "r.csv").write_text("Objective,Key result,Owner,Target\n"
                                    "O,Short row,a@example.com\n"
                                    "O,Long row,b@example.com,3,oops\n"
                                    "O,Long but empty tail,c@example.com,3,,\n")
    records, rejected, notes = read(connector(tmp_path, "r.csv"))
    assert sorted(r.fields["title"] for r in records if r.kind == "key_result") == ["Long but empty tail", "Short row"]
    assert [str(r) for r in rejected] == ["r.csv row 3: 5 cells for 4 columns; a cell may hold an unquoted delimiter"]
    assert "r.csv row 2: 3 cells for 4 columns; missing cells read as empty" in notes


def test_short_rows_rule_puts_omitted_cells_back(tmp_path):
    (tmp_path / "m.yaml").write_text(TYPED_MAPPING + "short_rows: {key_result: [Status]}\n")
    (tmp_path / "t.csv").write_text("Type,Title,Status,Start,Target\n"
                                    "Objective,Grow,On track\n"  # short, but no rule for objectives
                                    "KR,Win,1,5\n")              # Status left out: Start 1, Target 5
    records, rejected, notes = read(connector(tmp_path, "t.csv", mapping="m.yaml", layout="hierarchical"))
    assert not rejected
    kr = by_id(records)[("key_result", "grow/win")]
    assert (kr["start"], kr["target"], kr["status"]) == (1, 5, None)
    assert "t.csv row 3: 4 cells for 5 columns; empty cells put back for Status (short_rows of key_result rows)" in notes


# ------------------------------------------------------------------ bad rows


def test_bad_rows_say_file_row_column_and_why_and_the_rest_import(tmp_path):
    rows = [*FLAT,
            ["O-3", "Bad start", "Q1 2026", "KR-9", "Broken", "x@example.com", "abc", "1", "2", "On track"],
            ["O-3", "Bad start", "Q1 2026", "KR-8", "Flat", "x@example.com", "5", "5", "5", "On track"],
            ["O-3", "Bad start", "Q1 2026", "KR-7", "Odd status", "x@example.com", "1", "1", "2", "Maybe"],
            ["O-3", "Bad start", "Q1 2026", "KR-1", "Same id again", "x@example.com", "1", "1", "2", ""],
            ["", "", "", "KR-6", "No objective", "x@example.com", "1", "1", "2", ""],
            ["O-4", "Bad period", "Someday", "KR-5", "Fine", "x@example.com", "1", "1", "2", ""]]
    (tmp_path / "strict.yaml").write_text("extends: spreadsheet\nstrict_values: true\n")
    records, rejected, _ = read(connector(tmp_path, table(tmp_path, "csv", rows), mapping="strict.yaml"))
    assert kinds(records) == {"objective": 4, "key_result": 5}  # also the flat KR (a warning) and O-4 ("Someday": a label)
    messages = [str(r) for r in rejected]
    assert messages[0].startswith("okrs.csv row 5, column 'Start': expected a number")
    assert messages[1].startswith("okrs.csv row 7, column 'Status': expected status to be one of")
    assert messages[2] == "okrs.csv row 8: duplicate key result 'KR-1' (first at okrs.csv row 2)"
    assert messages[3] == "okrs.csv row 9: key result has no objective (fill the objective column)"
    assert len(messages) == 4  # "Someday" is a period label without dates, never a rejection (issue 15)
    assert all(r.where.startswith("okrs.csv row ") for r in rejected)


def test_bad_rows_in_xlsx_name_the_sheet(tmp_path):
    write_xlsx(tmp_path / "b.xlsx", {"Q1": [FLAT[0], ["O-1", "Grow", "Q1 2026", "KR-1", "Win", "a@example.com", "x1", 2, 3, ""]]})
    (tmp_path / "strict.yaml").write_text("extends: spreadsheet\nstrict_values: true\n")
    _, rejected, _ = read(connector(tmp_path, "b.xlsx", sheet="Q1", mapping="strict.yaml"))
    assert rejected[0].where == "b.xlsx [Q1] row 2, column 'Start'"


def test_krs_under_an_unreadable_objective_row_are_not_given_to_the_one_before(tmp_path):
    rows = [["Objective", "Objective status", "Key result", "Target"],
            ["Good", "On track", None, None], [None, None, "Under good", "1"],
            ["Bad", "Maybe", None, None], [None, None, "Under bad", "1"]]
    (tmp_path / "strict.yaml").write_text("extends: spreadsheet\nstrict_values: true\n")
    records, rejected, _ = read(connector(tmp_path, table(tmp_path, "csv", rows), layout="hierarchical", mapping="strict.yaml"))
    assert [r.fields["title"] for r in records] == ["Good", "Under good"]
    assert [str(r) for r in rejected][1] == "okrs.csv row 5: its objective (above) could not be read"


def test_unknown_row_type(tmp_path):
    (tmp_path / "typed.yaml").write_text(TYPED_MAPPING)
    rows = [*TYPED, ["Epic", "Something else", None, None, None, None]]
    _, rejected, _ = read(connector(tmp_path, table(tmp_path, "csv", rows), mapping="typed.yaml", layout="hierarchical"))
    assert [str(r) for r in rejected] == ["okrs.csv row 7, column 'Type': unknown row type; expected one of Objective, KR"]


def test_model_warnings_keep_the_record_and_become_notes(tmp_path):
    rows = [["Objective", "Objective start", "Objective due"], ["Late", "2026-03-01", "2026-01-31"]]
    records, rejected, notes = read(connector(tmp_path, table(tmp_path, "csv", rows)))
    assert not rejected and len(records) == 1
    assert notes == ["okrs.csv row 2: objective late: start: starts 2026-03-01 after it is due 2026-01-31"]


# ------------------------------------------------------------------ reading again


def test_an_unchanged_file_is_not_read_again(tmp_path):
    conn = connector(tmp_path, table(tmp_path, "csv", FLAT))
    items = list(conn.read(None))
    cursor = items[-1].value
    assert list(conn.read(cursor)) == [Cursor(cursor, full_listing=False)]


def test_a_missing_file_is_created_by_push_but_a_vanished_one_is_an_error(tmp_path):
    conn = connector(tmp_path, "new.xlsx")
    assert [type(i) for i in conn.read(None)] == [Note, Cursor]
    with pytest.raises(FatalError, match="has disappeared since the last run"):
        list(conn.read("some-earlier-cursor"))


# ------------------------------------------------------------------ writing


def records_of(base: Path, fmt: str, rows=FLAT, **options):
    records, rejected, _ = read(connector(base, table(base, fmt, rows, name="source"), **options))
    assert not rejected
    return records


LAYOUTS = [("flat", {}), ("hierarchical", {}),
           ("linked", {"csv": {"objective": "objectives.csv", "key_result": "key-results.csv"},
                       "xlsx": {"objective": "Objectives", "key_result": "Key results"}})]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("layout, tables", LAYOUTS)
def test_write_then_read_gives_the_same_records(tmp_path, fmt, layout, tables):
    source = records_of(tmp_path, "csv")
    extra = {"tables": tables[fmt]} if tables else {}
    conn = connector(tmp_path, f"out.{fmt}", name="sheet", layout=layout, **extra)
    result = conn.write(WriteBatch(creates=[Record(r.kind, r.external_id, dict(r.fields), canonical_id=r.external_id)
                                            for r in source]))
    assert not result.rejected and row_prints.split(result.cursor)[0] == conn.fingerprint()
    back, rejected, _ = read(conn)
    assert not rejected and by_id(back) == by_id(source)
    assert [r.external_id for r in back if r.kind == "key_result"] == ["KR-1", "KR-2", "KR-3"]


def test_writes_keep_row_order_when_one_record_changes(tmp_path):
    conn = connector(tmp_path, table(tmp_path, "csv", FLAT))
    records, _, _ = read(conn)
    first = (tmp_path / "okrs.csv").read_text()
    changed = records[0]
    others = [r for r in records if r is not changed]
    updated = Record(changed.kind, changed.external_id, {**changed.fields, "title": "Grow revenue faster"})
    conn.write(WriteBatch(updates=[updated], unchanged=[Record(r.kind, r.external_id, dict(r.fields)) for r in others]))
    again, _, _ = read(conn)
    assert [(r.kind, r.external_id) for r in again] == [(r.kind, r.external_id) for r in records]
    assert (tmp_path / "okrs.csv").read_text() != first
    rewrite(conn, again)
    assert [(r.kind, r.external_id) for r in read(conn)[0]] == [(r.kind, r.external_id) for r in records]


def test_writing_a_sheet_read_as_it_is_changes_no_byte_and_keeps_its_columns(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    conn = connector(tmp_path, "okrs.csv")
    records, _, _ = read(conn)
    assert not rewrite(conn, records).external_ids
    assert (tmp_path / "okrs.csv").read_bytes() == EXAMPLE.read_bytes()


def test_a_users_own_columns_delimiter_title_rows_and_unreadable_rows_survive_a_write(tmp_path):
    rows = [["Planning sheet — do not sort"], ["Ziel", "KR", "Verantwortlich", "Zielwert", "Kommentar"],
            ["Umsatz", "ARR", "a@example.com", "5", "vom CFO"],
            ["Umsatz", "Churn", "b@example.com", "kaputt", "fix me"],
            [None, None, None, None, "Stand: März"]]
    write_csv(tmp_path / "de.csv", rows, delimiter=";")
    (tmp_path / "de.yaml").write_text("extends: spreadsheet\nstrict_values: true\nentities:\n  objective: {title: [Ziel]}\n"
                                      "  key_result: {title: [KR], owner: [Verantwortlich], target: [Zielwert]}\n")
    conn = connector(tmp_path, "de.csv", mapping="de.yaml")
    records, rejected, _ = read(conn)
    assert [str(r) for r in rejected] == ["de.csv row 4, column 'Zielwert': "
                                          "expected a number like \"7\", \"45%\" or \"$1,200\", got 'kaputt'"]
    kr = next(r for r in records if r.kind == "key_result")
    kr.fields["current"] = 3.0  # a value no column holds yet
    rewrite(conn, records)
    text = (tmp_path / "de.csv").read_text()
    assert text.splitlines() == [
        "Planning sheet — do not sort",
        "Ziel;KR;Verantwortlich;Zielwert;Kommentar;Current",
        "Umsatz;ARR;a@example.com;5;vom CFO;3",
        "Umsatz;Churn;b@example.com;kaputt;fix me",
        ";;;;Stand: März",
    ]
    again, rejected, _ = read(conn)
    assert by_id(again)[("key_result", "umsatz/arr")]["current"] == 3 and len(rejected) == 1


def test_formula_like_text_is_neutralised_on_write_and_restored_on_read(tmp_path):
    records = records_of(tmp_path, "csv")
    records[1].fields["title"] = "=HYPERLINK(\"http://evil\")"
    records[1].fields["owner"] = "@ana"
    for fmt in ("csv", "xlsx"):
        conn = connector(tmp_path, f"f.{fmt}")
        rewrite(conn, records)
        back = by_id(read(conn)[0])
        assert back[("key_result", "KR-1")]["title"] == "=HYPERLINK(\"http://evil\")"
        assert back[("key_result", "KR-1")]["owner"] == "@ana"
    assert "'=HYPERLINK" in (tmp_path / "f.csv").read_text()
    cell = openpyxl.load_workbook(tmp_path / "f.xlsx").active["N2"].value
    assert cell == "'=HYPERLINK(\"http://evil\")"


def test_a_sheet_without_ids_knows_records_by_title_and_reports_renames(tmp_path):
    conn = connector(tmp_path, table(tmp_path, "csv", [row[1:3] + row[4:] for row in FLAT]))
    records, _, _ = read(conn)
    objective = next(r for r in records if r.external_id == "grow revenue")
    renamed = Record("objective", objective.external_id, {**objective.fields, "title": "Grow revenue fast"}, canonical_id="obj_1")
    krs = [Record(r.kind, r.external_id, dict(r.fields), canonical_id=f"kr_{i}")
           for i, r in enumerate(r for r in records if r.kind == "key_result")]
    others = [Record(r.kind, r.external_id, dict(r.fields)) for r in records if r.kind == "objective" and r is not objective]
    result = conn.write(WriteBatch(updates=[renamed], unchanged=[*others, *krs]))
    assert result.external_ids == {"obj_1": "grow revenue fast", "kr_0": "grow revenue fast/reach 5m arr",
                                   "kr_1": "grow revenue fast/cut churn"}
    assert "Objective ID" not in (tmp_path / "okrs.csv").read_text()
    assert {r.external_id for r in read(conn)[0]} >= {"grow revenue fast", "grow revenue fast/cut churn"}


def test_records_that_cannot_be_written_are_rejected_and_the_rest_written(tmp_path):
    records = records_of(tmp_path, "csv")
    records[1].fields["title"] = "bell \x07 in a title"
    orphan = Record("key_result", "KR-X", {**records[2].fields, "objective_id": "O-404"}, canonical_id="kr_x")
    conn = connector(tmp_path, "w.xlsx")
    result = conn.write(WriteBatch(unchanged=[Record(r.kind, r.external_id, dict(r.fields)) for r in records], creates=[orphan]))
    assert [(r.where, r.reason) for r in result.rejected] == [
        ("KR-1", "w.xlsx: key result KR-1, title: holds a control character an xlsx cell cannot; the record is not "
                 "written (not added); fix it where it was written"), ("kr_x", "its objective is not in this sheet")]
    assert {r.external_id for r in read(conn)[0]} == {"O-1", "O-2", "KR-2", "KR-3"}


def test_writes_refuse_to_destroy_what_they_cannot_keep(tmp_path):
    write_xlsx(tmp_path / "shared.xlsx", {"OKRs": FLAT, "Budget": [["Line", "EUR"], ["Travel", 1000]]})
    records = records_of(tmp_path, "csv")
    with pytest.raises(FatalError, match="also has sheet\\(s\\) Budget"):
        rewrite(connector(tmp_path, "shared.xlsx"), records)
    write_csv(tmp_path / "notes.csv", [["Guest", "Phone"], ["Ana", "123"]])
    with pytest.raises(FatalError, match="notes.csv exists but okrsync cannot read it"):
        rewrite(connector(tmp_path, "notes.csv"), records)
    (tmp_path / "bulk.yaml").write_text("extends: spreadsheet\nrow_entity: activity\n"
                                        "entities: {activity: {kind: initiative, title: [Activity]}}\n")
    with pytest.raises(FatalError, match="writing activity rows into a flat or hierarchical sheet is not supported"):
        rewrite(connector(tmp_path, "bulk.csv", mapping="bulk.yaml"), records)
    with pytest.raises(FatalError, match="does not write macro workbooks"):
        rewrite(connector(tmp_path, "book.xlsm"), records)


def test_declared_fields_the_model_lacks_go_back_to_their_own_columns(tmp_path):
    (tmp_path / "p.yaml").write_text("extends: spreadsheet\nentities:\n  objective: {priority: [Objective priority]}\n"
                                     "  key_result: {jira: [Jira key]}\n")
    text = "Objective,Objective priority,Key result,Jira key,Target\r\nGrow,high,ARR,OKR-1,5\r\nGrow,high,Churn,,3\r\n"
    (tmp_path / "p.csv").write_bytes(text.encode())
    conn = connector(tmp_path, "p.csv", mapping="p.yaml")
    records, _, _ = read(conn)
    assert by_id(records)[("objective", "grow")]["extra.sheet.priority"] == "high"
    assert by_id(records)[("key_result", "grow/arr")]["extra.sheet.jira"] == "OKR-1"
    rewrite(conn, records)
    assert (tmp_path / "p.csv").read_bytes() == text.encode()


def test_a_typed_sheet_gets_only_the_columns_its_values_need(tmp_path):
    (tmp_path / "typed.yaml").write_text(TYPED_MAPPING)
    conn = connector(tmp_path, table(tmp_path, "csv", TYPED), mapping="typed.yaml", layout="hierarchical")
    records, _, _ = read(conn)
    next(r for r in records if r.fields["title"] == "Cut churn").fields["current"] = 4.0
    rewrite(conn, records)
    lines = (tmp_path / "okrs.csv").read_text().splitlines()
    assert lines[0] == "Type,Title,Owner,Status,Start,Target,Unit,Currency,Direction,Current"  # no ids: known by title
    assert lines[3] == "KR,Cut churn,cy@example.com,,5,3,Percent,,Decrease,4"
    assert by_id(read(conn)[0]) == by_id(records)


def test_fields_say_what_each_layout_holds(tmp_path):
    flat = connector(tmp_path, "a.csv")
    assert flat.fields("initiative") == set() and "target" in flat.fields("key_result")
    linked = connector(tmp_path, "a.xlsx", layout="linked", tables={"objective": "O", "initiative": "I"})
    assert linked.fields("key_result") == set()
    assert {"key_result_id", "objective_id", "parent_id", "progress"} <= linked.fields("initiative")


# ------------------------------------------------------------------ mappings


def test_vocabulary_symbols_and_overrides(tmp_path):
    m = Mapping.load("spreadsheet")
    assert [m.parse_value("key_result", "unit", None, w) for w in ("%", "#", "$", "€", "Percent")] == \
        ["percent", "number", "currency", "currency", "percent"]
    (tmp_path / "m.yaml").write_text("extends: spreadsheet\nvocabularies:\n  status:\n    on_track: [planning]\n")
    mine = Mapping.load("m.yaml", tmp_path)
    assert mine.parse_value("objective", "status", None, "Planning") == "on_track"  # moved from not_started
    assert mine.parse_value("objective", "status", None, "todo") == "not_started"


@pytest.mark.parametrize("text, message", [
    ("extends: spreadsheet\nrowtype: {}\n", "unknown key"),
    ("extends: spreadsheet\nshort_rows: {epic: [x]}\n", "'epic' is not an entity part"),
    ("extends: spreadsheet\nrow_type: {column: T, values: {E: epic}}\n", "'epic' is not an entity part"),
    ("extends: spreadsheet\nentities: {epic: {title: [Epic]}}\n", "unknown entity 'epic'"),
])
def test_mapping_mistakes_are_named(tmp_path, text, message):
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(MappingError, match=message):
        Mapping.load("m.yaml", tmp_path)


# ------------------------------------------------------------------ the bundled example


def test_example_is_a_realistic_quarter():
    records, rejected, notes = read(connector(EXAMPLE.parent, EXAMPLE.name))
    assert not rejected and not notes
    objectives = [r for r in records if r.kind == "objective"]
    krs = [r for r in records if r.kind == "key_result"]
    assert len(objectives) == 13 and len(krs) == 39
    assert collections.Counter(o.fields["team"] == "Company" for o in objectives)[True] == 3
    ids = {o.external_id for o in objectives}
    assert all(o.fields["parent_id"] in ids for o in objectives if o.fields["team"] != "Company")
    assert {k.fields["direction"] for k in krs} == {"increase", "decrease", "stay_above", "stay_below", "range",
                                                    "binary", "milestone"}
    assert {k.fields["unit"] for k in krs} == {"number", "percent", "currency", "boolean"}
    assert {k.fields["currency"] for k in krs if k.fields["unit"] == "currency"} == {"EUR", "USD"}
    assert {o.fields["period"] for o in objectives} == {"2026-Q1"}
    assert {k.fields["status"] for k in krs} >= {"on_track", "at_risk", "off_track", "done", "not_started", "cancelled"}
    assert all("@" in k.fields["owner"] for k in krs)


@pytest.mark.parametrize("board", [
    {"type": "xlsx", "path": "out/board.xlsx", "layout": "hierarchical"},
    {"type": "csv", "path": "out/board.csv", "layout": "linked", "tables": {"objective": "o.csv", "key_result": "k.csv"}},
], ids=["xlsx-hierarchical", "csv-linked"])
def test_hub_pull_example_push_board_pull_back_changes_nothing(tmp_path, board):
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    (tmp_path / "out").mkdir()
    config = Config.of(tmp_path, {"planning-sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"}, "board": board})
    store = Store(None)
    hub = Hub(config, store, {"csv": CsvConnector, "xlsx": XlsxConnector})
    run = store.begin_run("test")
    pulled = hub.plan_pull("planning-sheet")
    hub.apply_pull(pulled, run)
    assert pulled.counters.created == 52 and not pulled.rejected
    pushed = hub.plan_push("board")
    hub.apply_push(pushed, run)
    assert pushed.counters.created == 52 and not pushed.rejected
    store.set_cursor("board", "records", None, run)  # read the whole board, not just its fingerprint
    back = hub.plan_pull("board")
    assert back.counters.read == 52 and back.counters.unchanged == 52
    assert not back.changes and not back.rejected
    assert not hub.plan_push("board").changes and not hub.plan_push("planning-sheet").changes
