"""Periods as people name them, and times in the endpoint's zone (issue 15 item 4)."""

import datetime as dt
import json

import pytest
from okrsync import transforms as tf
from okrsync.errors import MappingError
from okrsync.mapping import Mapping, period_or_label
from okrsync.store import Store
from tests.clirun import run
from tests.test_spreadsheet import connector, read, write_csv

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
