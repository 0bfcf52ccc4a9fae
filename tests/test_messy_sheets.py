"""Layouts people really keep (issue 14): header rows, two-row headers, values above the
table, merged cells, several sheets, ghost rows, CSV dialects, identity; and the read that
yields no key results (issue 13, item 4). Each test builds its small file and counts."""

from __future__ import annotations

import codecs
import collections
import re
from pathlib import Path

import pytest

from okrsync.connector import Context, Cursor, Note, Record, Rejected
from okrsync.connectors.spreadsheet import CsvConnector, XlsxConnector
from okrsync.errors import ConfigError, FatalError, MappingError
from okrsync.tabular import list_merges

from .helpers.sheets import write_xlsx


def read(base: Path, path: str, **options):
    cls = XlsxConnector if path.endswith(".xlsx") else CsvConnector
    items = list(cls("sheet", {"path": path, **options}, Context(base_dir=base)).read(None))
    assert isinstance(items[-1], Cursor)
    return ([i for i in items if isinstance(i, Record)], [str(i) for i in items if isinstance(i, Rejected)],
            [i.message for i in items if isinstance(i, Note)])


def counts(records):
    return dict(collections.Counter(r.kind for r in records))


def of(records, kind):
    return {r.external_id: r.fields for r in records if r.kind == kind}


# ------------------------------------------------------------------ merged cells

def test_vertical_merges_over_objective_cells_give_every_kr_its_objective(tmp_path):
    rows = [["Area", "Objective", "Key result", "Target"],
            ["Sales", "Grow revenue", "Win 10 logos", 10],
            [None, None, "Renew 90%", "90%"],
            [None, None, "Raise ACV", 5000],
            ["Ops", "Cut costs", "Close 2 sites", 2],
            [None, None, "Automate billing", 1]]
    write_xlsx(tmp_path / "m.xlsx", {"OKRs": rows}, {"OKRs": ["A2:A4", "B2:B4", "A5:A6", "B5:B6"]})
    assert list_merges(tmp_path / "m.xlsx") == ["A2:A4", "B2:B4", "A5:A6", "B5:B6"]
    records, rejected, notes = read(tmp_path, "m.xlsx")
    assert not rejected
    assert counts(records) == {"objective": 2, "key_result": 5}
    krs = of(records, "key_result")
    assert krs["grow revenue/raise acv"]["objective_id"] == "grow revenue"
    assert krs["cut costs/automate billing"]["objective_id"] == "cut costs"
    assert of(records, "objective")["cut costs"]["team"] == "Ops"


def test_horizontal_merge_in_a_two_row_header_names_every_column(tmp_path):
    rows = [[None, None, "Q1", None, "Q2", None],
            ["Objective", "Key result", "Start", "Target", "Start", "Target"],
            ["Grow", "Logos", 1, 5, 5, 9]]
    write_xlsx(tmp_path / "h.xlsx", {"OKRs": rows}, {"OKRs": ["C1:D1", "E1:F1"]})
    records, rejected, notes = read(tmp_path, "h.xlsx", header_rows=2)
    assert not rejected
    kr = of(records, "key_result")["grow/logos"]
    # the first "Q1 / Start" claims start, the first "… / Target" target; Q2's are kept in extra
    assert (kr["start"], kr["target"]) == (1, 5)
    assert (kr["extra.sheet.Q2 / Start"], kr["extra.sheet.Q2 / Target"]) == (5, 9)
    assert "h.xlsx: columns kept in extra: Q2 / Start, Q2 / Target" in notes


# ------------------------------------------------------------------ header rows

def test_two_row_header_in_csv_group_label_covers_the_columns_to_its_right(tmp_path):
    (tmp_path / "g.csv").write_text(",,Baseline,,Goal\nObjective,Key result,Start,Unit,Target\nGrow,Logos,3,#,9\n")
    records, rejected, notes = read(tmp_path, "g.csv", header_rows=2)
    assert not rejected
    kr = of(records, "key_result")["grow/logos"]
    assert (kr["start"], kr["target"], kr["unit"]) == (3, 9, "number")  # "Baseline / Unit" read by its lower name
    assert not any("columns kept in extra" in n for n in notes)


def test_header_found_below_a_title_and_a_band_row_and_table_values_above(tmp_path):
    (tmp_path / "t.csv").write_text(
        "ACME OKRs,,\n"
        "Team:,Platform,\n"
        "Year,2025,\n"
        "Objective,Key result,Target\n"
        "Ship v2,Latency under 200ms,200\n"
        "Ship v2,Uptime,99.9\n")
    records, rejected, notes = read(tmp_path, "t.csv", table_values={"Team": "B2", "Period": "B3"})
    assert not rejected
    assert counts(records) == {"objective": 1, "key_result": 2}
    objective = of(records, "objective")["ship v2"]
    assert (objective["team"], objective["period"]) == ("Platform", "2025")
    assert "t.csv row 4: header found here; 3 row(s) above it skipped" in notes


def test_header_row_option_wins_over_detection(tmp_path):
    (tmp_path / "t.csv").write_text("Objective,Key result\nnot,the header\nObjective,Key result\nA,B\n")
    records, _, notes = read(tmp_path, "t.csv", header_row=3)
    assert counts(records) == {"objective": 1, "key_result": 1}
    assert "t.csv row 3: header set by header_row" in notes
    with pytest.raises(MappingError, match="header_row 40 is empty or not among the first"):
        read(tmp_path, "t.csv", header_row=40)


@pytest.mark.parametrize("options, message", [
    ({"header_row": "three"}, "header_row: 'three' in the endpoint; give a row number such as 3"),
    ({"header_rows": 0}, "header_rows: 0 in the endpoint; give 1 or 2"),
    ({"table_values": ["Team"]}, "table_values: ['Team'] in the endpoint; give {Column: sheet"),
])
def test_options_for_real_files_are_checked(tmp_path, options, message):
    (tmp_path / "t.csv").write_text("Objective,Key result\nA,B\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        read(tmp_path, "t.csv", **options)


def test_blank_header_cell_takes_the_band_label_above(tmp_path):
    (tmp_path / "b.csv").write_text(",Objective,\nArea,,Key result\nSales,Grow,Logos\n")
    records, rejected, _ = read(tmp_path, "b.csv", header_row=2)
    assert not rejected
    assert of(records, "key_result")["grow/logos"]["objective_id"] == "grow"


# ------------------------------------------------------------------ several sheets

def test_three_sheets_with_different_column_orders_and_the_sheet_as_team(tmp_path):
    write_xlsx(tmp_path / "teams.xlsx", {
        "Sales": [["Objective", "Key result", "Target"], ["Grow", "Logos", 10], ["Grow", "Renewals", 90]],
        "Ops": [["Target", "Objective", "Key result"], [2, "Cut costs", "Close sites"]],
        "People": [["Key result", "Owner", "Objective"], ["Hire 5", "ann@x.org", "Hire"],
                   ["Onboard", "bo@x.org", "Hire"]]})
    records, rejected, notes = read(tmp_path, "teams.xlsx", sheets="all", table_values={"Team": "sheet"})
    assert not rejected
    assert counts(records) == {"objective": 3, "key_result": 5}
    objectives = of(records, "objective")
    assert {k: v["team"] for k, v in objectives.items()} == {"grow": "Sales", "cut costs": "Ops", "hire": "People"}
    assert of(records, "key_result")["cut costs/close sites"]["target"] == 2
    assert of(records, "key_result")["hire/onboard"]["owner"] == "bo@x.org"
    picked, _, _ = read(tmp_path, "teams.xlsx", sheets=["Ops", "People"])
    assert counts(picked) == {"objective": 2, "key_result": 3}
    with pytest.raises(ConfigError, match="no sheet 'Opps'"):
        read(tmp_path, "teams.xlsx", sheets=["Opps"])


def test_the_same_objective_title_on_two_teams_sheets_is_two_objectives(tmp_path):
    write_xlsx(tmp_path / "teams.xlsx", {
        "Sales": [["Objective", "Key result", "Target"], ["Improve quality", "Fewer returns", 10]],
        "Ops": [["Objective", "Key result", "Target"], ["Improve quality", "Reduce bugs", 5],
                ["Improve quality", "Faster fixes", 3]]})
    records, rejected, notes = read(tmp_path, "teams.xlsx", sheets="all", table_values={"Team": "sheet"})
    assert not rejected
    assert counts(records) == {"objective": 2, "key_result": 3}
    objectives = of(records, "objective")
    assert {k: v["team"] for k, v in objectives.items()} == {"improve quality": "Sales", "improve quality~2": "Ops"}
    krs = {r.fields["title"]: r.fields["objective_id"] for r in records if r.kind == "key_result"}
    assert krs == {"Fewer returns": "improve quality", "Reduce bugs": "improve quality~2",
                   "Faster fixes": "improve quality~2"}
    assert not [n for n in notes if "kept the first" in n]


def test_a_workbook_read_from_several_sheets_is_not_written_back(tmp_path):
    from okrsync.connector import WriteBatch
    write_xlsx(tmp_path / "teams.xlsx", {"A": [["Objective", "Key result"], ["Grow", "Logos"]]})
    conn = XlsxConnector("sheet", {"path": "teams.xlsx", "sheets": "all"}, Context(base_dir=tmp_path))
    with pytest.raises(FatalError, match="does not write a workbook mapped with sheets"):
        conn.write(WriteBatch())


# ------------------------------------------------------------------ ghost rows, cells beyond

def test_ghost_rows_far_below_are_skipped_and_counted(tmp_path):
    rows = [["Objective", "Key result", "Progress", "Status"], ["Grow", "Logos", 0.5, "On track"]]
    rows += [[None, None, 0, None]] * 3 + [[None] * 4] * 40 + [[None, None, None, "x"], [None, None, "0%", "-"]]
    write_xlsx(tmp_path / "g.xlsx", {"OKRs": rows})
    records, rejected, notes = read(tmp_path, "g.xlsx")
    assert not rejected and counts(records) == {"objective": 1, "key_result": 1}
    assert ("g.xlsx: 5 row(s) skipped: no id or title, only default values (0, a dash, a lone letter) "
            "or unmapped cells (rows 3, 4, 5, 46, 47)") in notes


def test_a_row_without_a_title_but_with_real_values_is_not_a_ghost(tmp_path):
    (tmp_path / "r.csv").write_text("Objective,Key result,Target\nGrow,Logos,10\nGrow,,25\n,,30\n")
    records, rejected, notes = read(tmp_path, "r.csv")
    assert counts(records) == {"objective": 1, "key_result": 1}
    # a KR value without a KR is said, never skipped as a ghost row
    assert notes == ["r.csv row 3: objective 'grow' repeats with other extra.sheet.Target than r.csv row 2; kept the first"]
    assert rejected == ["r.csv row 4: key result has no title"]


def test_a_cell_right_of_the_header_in_xlsx_is_kept(tmp_path):
    write_xlsx(tmp_path / "w.xlsx", {"OKRs": [["Objective", "Key result"], ["Grow", "Logos", "note to self"]]})
    records, rejected, notes = read(tmp_path, "w.xlsx")
    assert not rejected
    assert of(records, "key_result")["grow/logos"]["extra.sheet.column C"] == "note to self"
    assert "w.xlsx [OKRs] row 2: cells right of the header kept in extra as column C" in notes
    assert not any("unquoted delimiter" in n for n in notes)


# ------------------------------------------------------------------ CSV dialects

def test_bom_and_every_line_wrapped_in_quotes(tmp_path):
    lines = ['ID,Objective,Key result,Owner', 'KR-1,Grow,"Win ""big"" logos",Ann', 'KR-2,Grow,Renew,Bo']
    wrapped = "\r\n".join('"' + line.replace('"', '""') + '"' for line in lines) + "\r\n"
    (tmp_path / "w.csv").write_bytes(codecs.BOM_UTF8 + wrapped.encode())
    records, rejected, notes = read(tmp_path, "w.csv")
    assert not rejected
    assert counts(records) == {"objective": 1, "key_result": 2}
    krs = of(records, "key_result")
    assert krs["KR-1"]["title"] == 'Win "big" logos' and krs["KR-2"]["owner"] == "Bo"
    assert "w.csv: every line was wrapped in one pair of quotes; read the ','-separated cells inside them" in notes


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolons_tabs_ragged_rows_and_crlf_inside_cells(tmp_path, delimiter):
    d = delimiter
    text = (f"Objective{d}Key result{d}Target{d}Owner\r\n"
            f'Grow{d}"Two\r\nlines"{d}10{d}Ann\r\n'
            f"Grow{d}Renew{d}5\r\n")  # ragged: no owner cell
    (tmp_path / "d.csv").write_bytes(text.encode())
    records, rejected, notes = read(tmp_path, "d.csv")
    assert not rejected and counts(records) == {"objective": 1, "key_result": 2}
    titles = sorted(v["title"] for v in of(records, "key_result").values())
    assert titles == ["Renew", "Two\nlines"]  # the CRLF inside the quoted cell kept as a line break
    assert "d.csv row 4: 3 cells for 4 columns; missing cells read as empty" in notes


# ------------------------------------------------------------------ identity

def test_repeated_titles_without_ids_are_different_records_unless_all_repeats(tmp_path):
    (tmp_path / "i.csv").write_text(
        "Objective,Initiative,Initiative owner\n"
        "Grow,Kick-off,Ann\n"
        "Grow,Kick-off,Bo\n"          # same title, other owner: another initiative
        "Grow,Kick-off,Ann\n")        # the first again, cell for cell: one record, noted
    (tmp_path / "i.yaml").write_text("extends: spreadsheet\nrow_entity: initiative\n")
    records, rejected, notes = read(tmp_path, "i.csv", mapping="i.yaml")
    assert not rejected
    initiatives = of(records, "initiative")
    assert counts(records) == {"objective": 1, "initiative": 2}
    assert {k: v["owner"] for k, v in initiatives.items()} == {"grow/kick off": "Ann", "grow/kick off~2": "Bo"}
    assert "i.csv row 4: repeats i.csv row 2 exactly (initiative 'grow/kick off'); read as one record" in notes


def test_ids_scoped_to_their_objective(tmp_path):
    (tmp_path / "s.csv").write_text("Objective ID,Objective,KR ID,Key result\n"
                                    "O1,Grow,KR1,Logos\nO1,Grow,KR2,Renew\nO2,Cut,KR1,Sites\n")
    records, rejected, _ = read(tmp_path, "s.csv")
    assert rejected == ["s.csv row 4: duplicate key result 'KR1' (first at s.csv row 2)"]
    records, rejected, _ = read(tmp_path, "s.csv", scoped_ids=["key_result"])
    assert not rejected
    assert sorted(of(records, "key_result")) == ["O1/KR1", "O1/KR2", "O2/KR1"]
    assert of(records, "key_result")["O2/KR1"]["title"] == "Sites"


# ------------------------------------------------------------------ forms

def test_a_form_sheet_fails_with_a_clear_message(tmp_path):
    write_xlsx(tmp_path / "f.xlsx", {"Form": [
        ["Personal objectives 2025"], ["Name:", "Ann Lee"], ["Department:", "Finance"], ["Manager:", "Bo"],
        ["Objective 1:", "Close the books in 5 days"], ["Task", "Due", "Done"], ["Automate accruals", "2025-03-01", "no"],
        ["Signature:", None]]})
    with pytest.raises(MappingError, match="this sheet is a form"):
        read(tmp_path, "f.xlsx")


# ------------------------------------------------------------------ nothing silent (issue 13, item 4)

TASKS = ("Goal,Task,Owner,Due,Status,Effort,Sprint\n"
         + "".join(f"Goal {g},Task {g}.{t},dev{t}@x.org,2025-0{g}-1{t},Open,{t},S{t}\n"
                   for g in range(1, 5) for t in range(1, 7)))


def test_a_task_list_read_as_objectives_only_is_rejected_with_advice(tmp_path):
    (tmp_path / "tasks.csv").write_text(TASKS)
    records, rejected, _ = read(tmp_path, "tasks.csv")
    assert counts(records) == {"objective": 4}  # 24 task rows folded into 4 goals
    assert len(rejected) == 1
    message = rejected[0]
    assert message.startswith("tasks.csv: no key results: the 24 rows became 4 objectives; 20 row(s) made no "
                              "record of their own")
    assert "not mapped: tasks.csv: Task, Effort, Sprint" in message and "expect: [objective]" in message


def test_expect_says_the_shape_is_intended_and_checks_it(tmp_path):
    (tmp_path / "tasks.csv").write_text(TASKS)
    (tmp_path / "tasks.yaml").write_text("extends: spreadsheet\nexpect: [objective, initiative]\nrow_entity: initiative\n"
                                         "entities:\n  initiative: {title: [Task]}\n")
    records, rejected, _ = read(tmp_path, "tasks.csv", mapping="tasks.yaml")
    assert not rejected and counts(records) == {"objective": 4, "initiative": 24}
    (tmp_path / "wrong.yaml").write_text("extends: spreadsheet\nexpect: [key_result]\n")
    _, rejected, _ = read(tmp_path, "tasks.csv", mapping="wrong.yaml")
    assert rejected[0].startswith("tasks.csv: the mapping expects key results, but the rows became 4 objectives")


def test_the_shape_problem_is_reported_again_on_the_next_run(tmp_path):
    (tmp_path / "tasks.csv").write_text(TASKS)
    conn = CsvConnector("sheet", {"path": "tasks.csv"}, Context(base_dir=tmp_path))
    first = list(conn.read(None))
    again = list(conn.read(first[-1].value))  # the cursor a run stores does not skip the next read
    assert sum(isinstance(i, Rejected) for i in again) == 1


# ------------------------------------------------------------------ okrsync map

REAL = Path(__file__).resolve().parent / "fixtures" / "real"


def run_map(*args):
    from click.testing import CliRunner

    from okrsync.cli import cli
    return CliRunner().invoke(cli, ["map", *map(str, args)])


def test_map_suggests_camel_case_columns_and_previews_what_lands():
    result = run_map(REAL / "gtmhub_import_workbook" / "Users_OKRs_Data.xlsx", "--sheet", "OKRs", "--rows", "3")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "# Users_OKRs_Data.xlsx [OKRs]: header on row 1, layout flat" in out
    assert "# sheets: Users, OKRs, Tasks" in out
    for line in ('    title: ["keyResultName"]   # guessed', '    start: ["initialValue"]   # guessed',
                 '    target: ["targetValue"]   # guessed'):
        assert line in out
    preview = [line for line in out.splitlines() if line.startswith("#   Users_OKRs_Data.xlsx [OKRs] row")]
    assert len(preview) == 3
    assert "start=20 target=21" in preview[2] and "(parent rock the us market)" in preview[2]


def test_map_finds_row_types_and_parents_by_id_and_exits_3_on_what_it_cannot_read(tmp_path):
    result = run_map(REAL / "nd_state_it_okrs_sharepoint" / "OKRs.csv", "--rows", "2")
    assert result.exit_code == 3  # the duplicate id is still rejected with the suggestion
    out = result.output
    assert '  values: {"KR": key_result, "Obj": objective}' in out
    assert 'parent_from_id: {key_result: "^(.+)[./_-][^./_-]+$"}' in out
    assert '  id: ["OKR-ID"]   # guessed' in out and '    type: ["OKR Type"]   # guessed' in out  # by its values
    assert "# rejected: OKRs.csv row 126: duplicate key result '2022-Q1-NDIT-3.1' (first at OKRs.csv row 124)" in out
    # the suggestion is a mapping okrsync loads: save it and read the file with it
    (tmp_path / "OKRs.csv").write_bytes((REAL / "nd_state_it_okrs_sharepoint" / "OKRs.csv").read_bytes())
    (tmp_path / "okrs.yaml").write_text("\n".join(line for line in out.splitlines() if not line.startswith("#")))
    records, rejected, _ = read(tmp_path, "OKRs.csv", mapping="okrs.yaml")
    assert counts(records) == {"objective": 37, "key_result": 114} and len(rejected) == 1


def test_map_header_below_a_title_and_merged_ranges(tmp_path):
    write_xlsx(tmp_path / "m.xlsx", {"Plan": [["Team plan 2025"], [], ["Objective", "Key result", "Target"],
                                            ["Grow", "Logos", 10], [None, "Renewals", 90]]}, {"Plan": ["A4:A5"]})
    result = run_map(tmp_path / "m.xlsx")
    assert result.exit_code == 0, result.output
    assert "# m.xlsx: header on row 3, layout flat" in result.output
    assert "merged ranges: A4:A5" in result.output and "  header_row: 3" in result.output
    assert sum(1 for line in result.output.splitlines() if line.startswith("#   m.xlsx [Plan] row")) == 3


# ------------------------------------------------------------------ joins in the linked layout

def test_a_chain_of_four_levels_objective_kr_feature_story(tmp_path):
    write_xlsx(tmp_path / "c.xlsx", {
        "OKRs": [["Objective ID", "Objective"], ["O1", "Grow"], ["O2", "Cut"]],
        "KRs": [["KR ID", "Key result", "Objective ID"], ["K1", "Signups", "O1"], ["K2", "Cost per order", "O2"]],
        "Features": [["Feature ID", "Feature", "KR ID"], ["F1", "Self-serve signup", "K1"], ["F2", "Billing v2", "K2"]],
        "Stories": [["Story ID", "Story", "Feature ID"], ["S1", "Email verify", "F1"], ["S2", "Card form", "F2"],
                    ["S3", "Invoices", "F2"]]})
    (tmp_path / "c.yaml").write_text("extends: spreadsheet\nlayout: linked\nentities:\n"
                                     "  feature: {kind: initiative, id: [Feature ID], title: [Feature]}\n"
                                     "  story: {kind: initiative, id: [Story ID], title: [Story]}\n")
    records, rejected, _ = read(tmp_path, "c.xlsx", mapping="c.yaml",
                                tables={"objective": "OKRs", "key_result": "KRs", "feature": "Features", "story": "Stories"})
    assert not rejected and counts(records) == {"objective": 2, "key_result": 2, "initiative": 5}
    initiatives = of(records, "initiative")
    assert initiatives["F2"]["key_result_id"] == "K2" and not initiatives["F2"]["parent_id"]
    assert {k: v["parent_id"] for k, v in initiatives.items() if k.startswith("S")} == {"S1": "F1", "S2": "F2", "S3": "F2"}
    assert of(records, "key_result")["K2"]["objective_id"] == "O2"


def test_lookup_table_gives_owner_names_for_emails_in_the_real_write_xlsx(tmp_path):
    records, rejected, notes = read(REAL / "gtmhub_import_workbook", "Users_OKRs_Data.xlsx", sheet="OKRs",
                                    mapping="../gtmhub_okrs.yaml",
                                    lookups={"owner": {"table": "Users", "key": "email", "value": ["firstName", "lastName"]}})
    assert not rejected and counts(records) == {"objective": 3, "key_result": 6}
    owners = collections.Counter(v["owner"] for v in of(records, "key_result").values())
    assert owners == {"Behn Jones": 2, "Amy Wrent": 2, "Jake Nordon": 2}  # "Jake " trimmed
    with pytest.raises(ConfigError, match="lookups.owner: no column 'mail' in Users"):
        read(REAL / "gtmhub_import_workbook", "Users_OKRs_Data.xlsx", sheet="OKRs", mapping="../gtmhub_okrs.yaml",
             lookups={"owner": {"table": "Users", "key": "mail", "value": "firstName"}})


def test_a_lookup_miss_is_said_and_the_cell_kept(tmp_path):
    (tmp_path / "okrs.csv").write_text("Objective,Key result,Team\nGrow,Logos,SLS\nCut,Sites,XX\n")
    (tmp_path / "teams.csv").write_text("code,name\nSLS,Sales\nOPS,Operations\n")
    records, rejected, notes = read(tmp_path, "okrs.csv", lookups={"team": {"table": "teams.csv", "key": "code",
                                                                            "value": "name"}})
    assert {k: v["team"] for k, v in of(records, "objective").items()} == {"grow": "Sales", "cut": "XX"}
    assert "okrs.csv row 3: team 'XX' is not in teams.csv; kept as it is" in notes


def test_map_reads_a_task_list_as_initiatives_under_their_objectives(tmp_path):
    (tmp_path / "tasks.csv").write_text(TASKS)
    result = run_map(tmp_path / "tasks.csv", "--rows", "30")
    assert result.exit_code == 0, result.output
    assert "row_entity: initiative   # one initiative per row, under the row's objective" in result.output
    assert "expect: [objective, initiative]" in result.output
    preview = [line for line in result.output.splitlines() if line.startswith("#   tasks.csv row")]
    assert sum(" initiative " in line for line in preview) == 24 and sum(" objective " in line for line in preview) == 4


def test_map_without_sheet_lists_the_others_and_says_why_the_first_does_not_read():
    result = run_map(REAL / "gtmhub_import_workbook" / "Users_OKRs_Data.xlsx")
    assert result.exit_code == 2
    out = result.output
    assert "#   sheet 'OKRs': header on row 1, 7 columns; names key_result.title, objective.title" in out
    assert "#   sheet 'Tasks': header on row 1, 3 columns; names initiative.title, objective.title" in out
    assert "# the suggested mapping cannot read this sheet yet: endpoint map: Users_OKRs_Data.xlsx [Users] row 1: " \
           "no title column found for key result rows" in out


def test_a_column_the_mapping_names_is_that_fields_not_an_inherited_alias(tmp_path):
    """The base mapping reads "Quarter" as the period; a mapping saying start: [Quarter] gets it."""
    (tmp_path / "q.csv").write_text("Objective,Quarter,Key result\nGrow,2026-02-01,Logos\n")
    (tmp_path / "m.yaml").write_text("extends: spreadsheet\nentities:\n  objective:\n    start: [Quarter]\n")
    records, rejected, _ = read(tmp_path, "q.csv", mapping="m.yaml")
    assert not rejected
    objective = of(records, "objective")["grow"]
    assert str(objective["start"]) == "2026-02-01" and objective.get("period") is None


def test_a_column_named_for_two_fields_is_a_located_mapping_error(tmp_path):
    from okrsync.errors import MappingError

    (tmp_path / "w.csv").write_text("Objective,When,Key result\nGrow,2026-02-01,Logos\n")
    (tmp_path / "m.yaml").write_text("extends: spreadsheet\nentities:\n  objective:\n    start: [When]\n    due: [When]\n")
    with pytest.raises(MappingError, match=r"m.yaml: line 5: .*column 'When' is named for both objective.start and "
                                           r"objective.due; a column reads into one field"):
        read(tmp_path, "w.csv", mapping="m.yaml")
