"""A flat sheet repeats its objective's cells on each of its KR rows: ``Binding.parse``
parses them once and gives every such row the same fields as a parse of its own (issue 21),
and parses them again as soon as a cell, or only its class, differs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from okrsync import mapping as mapping_mod
from okrsync.mapping import Mapping, Table

HEADER = ["Objective ID", "Objective", "Period", "Objective weight", "Key result ID", "Key result", "Current", "Target",
          "Sprint"]


def binding():
    return Table(Mapping.load("spreadsheet", Path(__file__).parent), HEADER, "flat", "key_result").binding("key_result")


def counting(monkeypatch) -> list:
    """Cells handed to a converter; the per-cell memo is off, so only a repeat answers one."""
    monkeypatch.setattr(mapping_mod, "_MEMO_MAX", 0)
    seen: list = []
    real = mapping_mod._parse_cell

    def parse_cell(value, header, convert):
        seen.append((header, value))
        return real(value, header, convert)
    monkeypatch.setattr(mapping_mod, "_parse_cell", parse_cell)
    return seen


def test_repeated_objective_cells_give_the_same_fields_parsed_once(monkeypatch):
    rows = [["O1", "Grow", "2026-Q1", "2", f"KR{i}", f"Key result {i}", str(i), "10", f"note {i}"] for i in range(4)]
    fresh = [binding().parse(r, "sheet") for r in rows]  # a new binding per row: nothing remembered
    b = binding()
    seen = counting(monkeypatch)
    parsed = [b.parse(r, "sheet") for r in rows]
    assert parsed == fresh
    assert parsed[0]["objective"] == {"id": "O1", "title": "Grow", "period": parsed[0]["objective"]["period"], "weight": 2.0}
    assert parsed[3]["key_result"]["current"].value == 3.0 and parsed[3]["key_result"]["extra.sheet.Sprint"] == "note 3"
    # the objective's weight and period went through their converters on the first row only
    assert [h for h, _ in seen].count("Objective weight") == 1 and [h for h, _ in seen].count("Period") == 1
    assert [h for h, _ in seen].count("Current") == 4
    # each row's fields are its own dict: a change to one row's does not reach another's
    parsed[1]["objective"]["title"] = "changed"
    assert b.parse(rows[2], "sheet")["objective"]["title"] == "Grow"


def test_a_changed_objective_cell_or_class_is_parsed_again(monkeypatch):
    b = binding()
    seen = counting(monkeypatch)
    first = b.parse(["O1", "Grow", "2026-Q1", 2, "KR1", "K", 1, 10, None], "sheet")
    other = b.parse(["O1", "Grow", "2026-Q2", 2, "KR2", "K", 1, 10, None], "sheet")
    assert other["objective"]["period"] != first["objective"]["period"]
    # 2 and 2.0 are equal cells of another class (a workbook's int and float): parsed again
    b.parse(["O1", "Grow", "2026-Q2", 2.0, "KR3", "K", 1, 10, None], "sheet")
    # the part is parsed whole when any of its cells differs (the memo, off here, answers the rest)
    assert [v for h, v in seen if h == "Objective weight"] == [2, 2, 2.0]
    # a short row (cells missing past its end) is compared as empty cells, not an error
    assert b.parse(["O1", "Grow"], "sheet") == {"objective": {"id": "O1", "title": "Grow"}}


def test_a_date_cell_repeats_like_any_other():
    b = binding()
    rows = [["O1", "Grow", dt.datetime(2026, 1, 1), "", f"KR{i}", "K", "1", "2", None] for i in range(2)]
    assert b.parse(rows[0], "sheet") == b.parse(rows[1], "sheet") | {"key_result": b.parse(rows[0], "sheet")["key_result"]}
