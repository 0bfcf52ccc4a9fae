"""okrsync reads dates by hand-written paths (ISO 8601, numeric, English month names) and
calls dateparser only for other languages' month names (``transforms._named_date``): a
50,000-row import must not pay dateparser per cell. These tests hold the fast paths to
dateparser's answer on every date-like cell of the real files (tests/fixtures/real), so
skipping it loses nothing there."""

from __future__ import annotations

import re
from pathlib import Path

import dateparser

from okrsync import tabular
from okrsync import transforms as tf

REAL = Path(__file__).parent / "fixtures" / "real"


def _cells_with_digits() -> set[str]:
    found = set()
    for path in sorted(REAL.rglob("*")):
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            continue
        for sheet in tabular.list_sheets(path) if suffix == ".xlsx" else [None]:
            for row in tabular.iter_rows(path, sheet=sheet):
                found.update(c.strip() for c in row.cells if isinstance(c, str) and re.search(r"\d", c))
    return found


def _fast(text: str):
    try:
        return tf.parse_date(text)
    except tf.TransformError:
        return None


def test_fast_date_paths_give_dateparsers_day_on_the_real_files():
    dates = {text: day for text in _cells_with_digits() if (day := _fast(text)) is not None}
    # the real files' dates: ISO days ("2025-03-31") and Postgres timestamps ("… 18:35:07.07+00")
    assert len(dates) == 18
    stamps = sorted(t for t in dates if t.endswith("+00"))
    assert len(stamps) == 5
    for text, day in sorted(dates.items()):
        if text in stamps:
            # dateparser reads no "+00" offset (Postgres' short form) at all: only "+00:00"
            assert _dateparser(text) is None
            text += ":00"
        found = _dateparser(text)
        assert found is not None and found.date() == day, text


def _dateparser(text: str):
    return dateparser.parse(text, languages=list(tf.DATE_LANGUAGES), settings={"DATE_ORDER": "YMD"})


def test_every_iso_shaped_cell_of_the_real_files_reads_as_a_date():
    """The cells the fast paths leave (numbers, percentages, ids, periods) hold no ISO day."""
    others = sorted(t for t in _cells_with_digits() if _fast(t) is None)
    assert len(others) == 791
    assert [t for t in others if re.match(r"\d{4}-\d\d-\d\d(?!\d)", t)] == []
