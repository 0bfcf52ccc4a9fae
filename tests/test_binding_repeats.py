"""Binding.parse: a context part's cells parsed once per run of equal cells (issue 21),
with the very output the column-by-column parse gives."""

from __future__ import annotations

import csv
from pathlib import Path

from okrsync.mapping import Mapping, Table

REAL = Path(__file__).parent / "fixtures" / "real" / "flat_kr_rows_percent_words_product_ops_sandbox.csv"


def _rows() -> tuple[list[str], list[list[str]]]:
    with REAL.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def _by_cell(binding, cells):
    """The plain column-by-column parse every row got before."""
    return binding._fill(binding._steps, cells, "ep", {})


def test_repeated_objective_cells_parse_once_and_as_before():
    header, rows = _rows()
    binding = Table(Mapping.load("spreadsheet"), header, "flat", "key_result").binding("key_result")
    parsed = [binding.parse(r, "ep") for r in rows]
    assert [list(p) for p in parsed] == [["objective", "key_result"]] * 4
    for p, r in zip(parsed, rows):
        expected = _by_cell(binding, r)
        assert p == expected
        assert [list(v) for v in p.values()] == [list(v) for v in expected.values()]  # same key order too
    # rows 1-2 and 3-4 share their objective: the same dict, not a second parse of its cells
    assert parsed[0]["objective"] is parsed[1]["objective"]
    assert parsed[2]["objective"] is parsed[3]["objective"]
    assert parsed[1]["objective"] is not parsed[2]["objective"]
    assert parsed[0]["objective"] == {"id": "O-001", "title": rows[0][1]}
    assert parsed[2]["objective"]["id"] == "O-002"
    assert [p["key_result"]["id"] for p in parsed] == ["KR-001", "KR-002", "KR-003", "KR-004"]


def test_a_kr_column_between_objective_columns_parses_cell_by_cell():
    header, rows = _rows()
    # the KR id moved between the objective's id and title: parts interleave, no runs to reuse
    order = [0, 2, 1, *range(3, len(header))]
    header = [header[i] for i in order]
    rows = [[r[i] for i in order] for r in rows]
    binding = Table(Mapping.load("spreadsheet"), header, "flat", "key_result").binding("key_result")
    parsed = [binding.parse(r, "ep") for r in rows]
    assert binding._repeats is None
    assert parsed[0]["objective"] is not parsed[1]["objective"]
    assert parsed == [_by_cell(binding, r) for r in rows]
    assert [list(p) for p in parsed] == [["objective", "key_result"]] * 4


def test_a_short_row_parses_cell_by_cell():
    header, rows = _rows()
    binding = Table(Mapping.load("spreadsheet"), header, "flat", "key_result").binding("key_result")
    short = rows[0][:4]  # no values, status: the getters would run past its end
    assert binding.parse(short, "ep") == {"objective": {"id": "O-001", "title": rows[0][1]},
                                          "key_result": {"id": "KR-001", "title": rows[0][3]}}
