"""Periods as people name them, and times in the endpoint's zone (issue 15 item 4)."""

import datetime as dt
import json

import pytest

from okrsync import transforms as tf
from okrsync.errors import MappingError
from okrsync.mapping import Mapping, period_or_label
from okrsync.store import Store
from tests.helpers.clirun import run
from tests.helpers.sheets import connector, read, write_csv

D = dt.date


@pytest.mark.parametrize("text, start, label, first, last", [
    ("2025-Q3", 1, "2025-Q3", D(2025, 7, 1), D(2025, 9, 30)),
    ("Q3 2024", 1, "2024-Q3", D(2024, 7, 1), D(2024, 9, 30)),
    ("FY25 Q1", 4, "FY2025-Q1", D(2024, 4, 1), D(2024, 6, 30)),
    ("H1 2025", 1, "2025-H1", D(2025, 1, 1), D(2025, 6, 30)),
    ("2025", 1, "2025", D(2025, 1, 1), D(2025, 12, 31)),
    ("GJ 2025/26", 7, "FY2026", D(2025, 7, 1), D(2026, 6, 30)),           # a German business year from July
    ("1. Quartal GJ 2025/26", 7, "FY2026-Q1", D(2025, 7, 1), D(2025, 9, 30)),
    ("Geschäftsjahr 2026 Q3", 7, "FY2026-Q3", D(2026, 1, 1), D(2026, 3, 31)),
    ("2. Halbjahr 2025", 1, "2025-H2", D(2025, 7, 1), D(2025, 12, 31)),
    ("FY 2025-26 H2", 4, "FY2026-H2", D(2025, 10, 1), D(2026, 3, 31)),
    ("Jul–Sep 2026", 1, "2026-Q3", D(2026, 7, 1), D(2026, 9, 30)),        # a quarter that names its months
])
def test_recognised_labels_get_their_dates(text, start, label, first, last):
    found = period_or_label(text, {"fiscal_year_start": start})
    assert (found.label, found.start, found.end) == (label, first, last)


@pytest.mark.parametrize("text", ["Rolling", "during 2025", "Q1+Q2 2025", "Ongoing", "Jan–Apr 2026", "GJ 2025/26"])
def test_unrecognised_labels_are_kept_as_written_without_dates(text):
    assert period_or_label(text, {}) == text  # GJ 2025/26 with no fiscal_year_start: no dates to give


def test_a_year_pair_without_a_fiscal_start_says_what_is_missing():
    with pytest.raises(tf.TransformError, match="needs the mapping's fiscal_year_start"):
        tf.parse_period("FY 2025/26")


def test_labels_without_dates_import_and_contradicting_dates_are_kept_and_linted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "okrsync.yaml").write_text("store: s.db\nendpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n")
    write_csv(tmp_path / "okrs.csv", [
        ["Objective", "Period", "Key result", "Owner", "Start", "Target", "Due"],
        ["Grow", "Rolling", "More users", "a@example.com", "0", "10", "2026-12-31"],
        ["Ship", "2026-Q1", "Deploys", "b@example.com", "0", "10", "2026-05-15"],     # due after Q1 ends
        ["Ship", "2026-Q1", "Uptime", "b@example.com", "0", "10", "2026-03-01"],
    ])
    text = " ".join(run("pull", "sheet").output.split())
    assert "rejected 0" in text and "kept as text" not in text
    store = Store(tmp_path / "s.db")
    objectives = {f["title"]: f for _, _, f in store.entities("objective")}
    krs = {f["title"]: f for _, _, f in store.entities("key_result")}
    store.close()
    assert objectives["Grow"]["period"] == "Rolling" and objectives["Ship"]["period"] == "2026-Q1"
    assert krs["Deploys"]["due"] == "2026-05-15"  # kept, never rewritten
    findings = [f for f in json.loads(run("--json", "lint").output)["findings"] if f["rule"] == "dates-outside-period"]
    assert [(f["title"], f["message"]) for f in findings] == [
        ("Deploys", "due 2026-05-15 outside period 2026-Q1 (2026-01-01 – 2026-03-31); fix the date or the period")]


def test_times_without_an_offset_are_read_in_the_mappings_timezone(tmp_path):
    write_csv(tmp_path / "o.csv", [["Objective ID", "Objective"], ["O-1", "Grow"]])
    write_csv(tmp_path / "k.csv", [["Key result ID", "Objective ID", "Key result", "Target"], ["KR-1", "O-1", "Users", "10"]])
    write_csv(tmp_path / "c.csv", [["Key result ID", "Date", "Value"], ["KR-1", "2026-01-15 09:30", "3"],
                                   ["KR-1", "2026-07-15 09:30+00:00", "4"]])
    (tmp_path / "berlin.yaml").write_text("extends: spreadsheet\noptions: {timezone: Europe/Berlin}\n")
    tables = {"objective": "o.csv", "key_result": "k.csv", "check_in": "c.csv"}
    utc, _, _ = read(connector(tmp_path, "o.csv", layout="linked", tables=tables))
    berlin, _, _ = read(connector(tmp_path, "o.csv", layout="linked", tables=tables, mapping="berlin.yaml"))
    at = lambda records: [r.fields["at"] for r in records if r.kind == "check_in"]  # noqa: E731
    assert at(utc) == ["2026-01-15T09:30:00Z", "2026-07-15T09:30:00Z"]  # default: UTC
    assert at(berlin) == ["2026-01-15T08:30:00Z", "2026-07-15T09:30:00Z"]  # CET; an explicit offset wins
    (tmp_path / "bad.yaml").write_text("extends: spreadsheet\noptions: {timezone: Mars/Olympus}\n")
    with pytest.raises(MappingError, match="unknown time zone 'Mars/Olympus'"):
        Mapping.load(tmp_path / "bad.yaml").parse_value("check_in", "at", None, "2026-01-15 09:30")


@pytest.mark.parametrize("mapping, zone", [("", "UTC"), ("    mapping: berlin.yaml\n", "Europe/Berlin")])
def test_the_summary_states_the_zone_check_in_times_were_read_in(tmp_path, monkeypatch, mapping, zone):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "o.csv", [["Objective ID", "Objective"], ["O-1", "Grow"]])
    write_csv(tmp_path / "k.csv", [["Key result ID", "Objective ID", "Key result", "Target"], ["KR-1", "O-1", "Users", "10"]])
    write_csv(tmp_path / "c.csv", [["Key result ID", "Date", "Value"], ["KR-1", "2026-01-15 09:30", "3"]])
    (tmp_path / "berlin.yaml").write_text("extends: spreadsheet\noptions: {timezone: Europe/Berlin}\n")
    (tmp_path / "okrsync.yaml").write_text(
        "store: s.db\nendpoints:\n  sheet:\n    type: csv\n    path: o.csv\n    layout: linked\n"
        "    tables: {objective: o.csv, key_result: k.csv, check_in: c.csv}\n" + mapping)
    assert f"check-in times without an offset read as {zone}" in " ".join(run("pull", "sheet").output.split())


def _fixture(tmp_path, *names):
    import shutil
    from pathlib import Path
    for name in names:
        shutil.copy(Path(__file__).parent / "fixtures" / "periods" / name, tmp_path / name)


def test_a_period_built_from_a_year_and_a_cycle_column(tmp_path):
    """``period_from: "{objective_year} {objective_cycle}"``: a sheet shaped like the Spanish
    initiative dashboard's bulk template, its period in a year and a half-year cycle column."""
    _fixture(tmp_path, "year_cycle.csv", "year_cycle.yaml")
    records, rejected, _ = read(connector(tmp_path, "year_cycle.csv", mapping="year_cycle.yaml"))
    assert rejected == [] and sum(r.kind == "objective" for r in records) == 4
    assert sum(r.kind == "key_result" for r in records) == 5
    got = {r.external_id: (r.fields["period"], r.fields.get("extra.period.sheet:key"), r.fields.get("extra.period.sheet:start"),
                           r.fields.get("extra.period.sheet:end")) for r in records if r.kind == "objective"}
    assert got == {"OBJ-2025-001": ("2025 S1", "2025-H1", "2025-01-01", "2025-06-30"),
                   "OBJ-2025-002": ("2025 S2", "2025-H2", "2025-07-01", "2025-12-31"),
                   "OBJ-2026-001": ("2026 1º semestre", "2026-H1", "2026-01-01", "2026-06-30"),
                   "OBJ-2026-002": ("2026 Anual", "2026", "2026-01-01", "2026-12-31")}
    # the source columns stay in the record as they were
    kr = next(r for r in records if r.external_id == "KR-3")
    assert (kr.fields["extra.sheet.objective_year"], kr.fields["extra.sheet.objective_cycle"]) == ("2025", "S2")


def test_period_from_names_a_missing_column(tmp_path):
    _fixture(tmp_path, "year_cycle.csv")
    (tmp_path / "m.yaml").write_text("extends: spreadsheet\noptions: {period_from: [objective_year, Quarter]}\n"
                                     "entities: {objective: {id: [objective_key], title: [objective_title]}}\n")
    with pytest.raises(MappingError, match="period_from: no column 'Quarter' in this table's header"):
        read(connector(tmp_path, "year_cycle.csv", mapping="m.yaml"))


def test_labels_are_kept_as_written_and_reports_still_group_them_as_one_period(tmp_path, monkeypatch):
    """"Q1 2026" and "2026-Q1" are one quarter: stored as written, filtered and linted as one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "okrsync.yaml").write_text("store: s.db\nendpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n")
    write_csv(tmp_path / "okrs.csv", [
        ["Objective ID", "Objective", "Period", "Key result", "Owner", "Start", "Target", "Current", "Due"],
        ["O-1", "Grow", "Q1 2026", "More users", "a@example.com", "0", "10", "5", "2026-03-31"],
        ["O-1", "Grow", "Q1 2026", "Late one", "a@example.com", "0", "10", "5", "2026-05-15"],   # due after the quarter
        ["O-2", "Ship", "2026-Q1", "Deploys", "b@example.com", "0", "10", "2", ""],
        ["O-3", "Grow", "2026-Q1", "Other grow", "c@example.com", "0", "10", "2", ""],            # same title, same quarter
    ])
    run("pull", "sheet")
    store = Store(tmp_path / "s.db")
    periods_ = sorted(f["period"] for _, _, f in store.entities("objective"))
    store.close()
    assert periods_ == ["2026-Q1", "2026-Q1", "Q1 2026"]
    findings = json.loads(run("--json", "lint", "--period", "2026-Q1").output)["findings"]
    assert sorted((f["rule"], f["title"]) for f in findings if f["rule"] in ("dates-outside-period", "duplicate-title")) == [
        ("dates-outside-period", "Late one"), ("duplicate-title", "Grow")]
    board = json.loads(run("report", "progress", "--period", "Q1 2026", "--format", "json").output)
    titles = sorted(o["title"] for rows in board["sections"].values() for o in rows)
    assert titles == ["Grow", "Grow", "Ship"]


LINKED = {"objective": "objectives.csv", "key_result": "key_results.csv"}
QUARTERS = {"period": {"table": "quarters.csv", "key": "id", "value": "name", "start": "start_date", "end": "end_date",
                       "fill": {"team": "area"}}}


def _linked(tmp_path):
    import shutil
    from pathlib import Path
    for f in (Path(__file__).parent / "fixtures" / "periods" / "linked").iterdir():
        shutil.copy(f, tmp_path / f.name)


def test_a_joined_quarter_table_gives_the_period_its_label_and_its_own_dates(tmp_path):
    """Issue 14 item 7 / 15 item 4: the objective's quarter cell is an id into a table that holds
    the quarter's name and dates; the lookup runs before the period is parsed (the id 3 is no
    year 3) and fills the label, the dates and, through ``fill``, the team."""
    _linked(tmp_path)
    records, rejected, notes = read(connector(tmp_path, "objectives.csv", layout="linked", tables=LINKED, lookups=QUARTERS))
    assert rejected == [] and sum(r.kind == "objective" for r in records) == 4
    got = {r.external_id: (r.fields.get("period"), r.fields.get("extra.period.sheet:key"), r.fields.get("extra.period.sheet:start"),
                           r.fields.get("extra.period.sheet:end"), r.fields.get("team")) for r in records if r.kind == "objective"}
    assert got == {
        # recognised label, but the table's dates win: the fiscal year starts in July here
        "O-1": ("Q1 FY26", "FY2026-Q1", "2025-07-01", "2025-09-30", "Revenue"),
        "O-2": ("Q2 FY26", "FY2026-Q2", "2025-10-01", "2025-12-31", "Product"),
        "O-3": ("9", None, None, None, None),  # not in the table: said, and the cell kept as it was
        "O-4": ("Sprint 12", "Sprint 12", "2026-01-05", "2026-01-16", "Platform"),  # no label okrsync reads: dates still
    }
    assert "objectives.csv row 4: period '9' is not in quarters.csv; kept as it is" in notes


def test_lint_and_the_review_judge_by_the_joined_tables_dates(tmp_path, monkeypatch):
    _linked(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "okrsync.yaml").write_text(
        "store: s.db\nendpoints:\n  sheet:\n    type: csv\n    path: objectives.csv\n    layout: linked\n"
        "    tables: {objective: objectives.csv, key_result: key_results.csv}\n"
        "    lookups: {period: {table: quarters.csv, key: id, value: name, start: start_date, end: end_date}}\n")
    assert "rejected 0" in " ".join(run("pull", "sheet").output.split())
    findings = json.loads(run("--json", "lint").output)["findings"]
    # Feb 2026 is inside Q1 read as a calendar quarter, outside the table's Jul–Sep 2025
    assert [(f["title"], f["message"]) for f in findings if f["rule"] == "dates-outside-period"] == [
        ("Pipeline", "due 2026-02-15 outside period Q1 FY26 (2025-07-01 – 2025-09-30); fix the date or the period")]
    # the period asked for by its label: the lint of that period only, by the table's dates
    narrowed = json.loads(run("--json", "lint", "--period", "FY2026-Q1").output)["findings"]
    assert [f["title"] for f in narrowed if f["rule"] == "dates-outside-period"] == ["Pipeline"]
