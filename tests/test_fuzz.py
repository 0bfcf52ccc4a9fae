"""Robustness: hypothesis fuzzing of what users hand okrsync — spreadsheet bytes (any
encoding, any delimiter, ragged rows, junk), cell values through the mapping's transforms,
and config YAML. Nothing may escape as an uncaught exception:

- a spreadsheet read yields records, rejected rows (each naming file, row and column) and
  notes, or raises an okrsync error naming the file;
- a transform returns a value or raises ``TransformError`` quoting the value (the reader
  wraps it into a rejected row naming file, row and column: the spreadsheet test shows it);
- a config loads, or raises ``ConfigError`` naming the file (and line or key where the
  fault is in the YAML).

``PROP_EXAMPLES=2000 pytest tests/test_fuzz.py`` searches harder (default 40 per test).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okrsync import transforms as tf
from okrsync.config import load as load_config
from okrsync.connector import Context, Cursor, Note, Record, Rejected
from okrsync.connectors.spreadsheet import CsvConnector
from okrsync.errors import ConfigError, OkrsyncError
from okrsync.mapping import Mapping

SETTINGS = settings(max_examples=int(os.environ.get("PROP_EXAMPLES", 40)), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HEADER = ["Objective ID", "Objective", "Objective owner", "Period", "Key result ID", "Key result", "Owner",
          "Unit", "Start", "Current", "Target", "Weight", "Confidence", "Status", "Due", "Direction"]
CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "45%", "1,200.50", "1.200,50", "€1.2M", "2026-Q3", "Q1 FY26", "2026-02-30", "31/12/2026",
                     "On track", "yes", "Percent", "Currency", "increase", "-", "=1+1", "'=x", "NaN", "inf", "1e999",
                     "0x1F", "１２", "\u00a0", "\x00", "\ufeff", "obj-1", "KR-1"]),
    st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=True).map(str))
DELIMITERS = [",", ";", "\t", "|"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]


def _ok_where(text: str, *parts: str) -> bool:
    return all(p in text for p in parts)


@SETTINGS
@given(rows=st.lists(st.lists(CELL, max_size=len(HEADER) + 3), max_size=12),
       header=st.one_of(st.just(HEADER), st.lists(st.sampled_from(HEADER + ["", "x", "Objective"]), max_size=18)),
       delimiter=st.sampled_from(DELIMITERS), encoding=st.sampled_from(ENCODINGS),
       junk=st.one_of(st.just(b""), st.binary(max_size=40)))
def test_a_spreadsheet_of_any_bytes_reads_or_fails_naming_where(tmp_path_factory, rows, header, delimiter, encoding, junk):
    path = tmp_path_factory.mktemp("fuzz") / "okrs.csv"
    lines = [delimiter.join(header)] + [delimiter.join(c.replace(delimiter, " ").replace("\n", " ").replace('"', "")
                                                      for c in row) for row in rows]
    try:
        data = "\n".join(lines).encode(encoding)
    except UnicodeEncodeError:
        data = "\n".join(lines).encode("utf-8")
    path.write_bytes(data + junk)
    conn = CsvConnector("sheet", {"path": str(path), "layout": "flat"}, Context(base_dir=path.parent))
    try:
        items = list(conn.read(None))
    except OkrsyncError as e:
        assert "okrs.csv" in str(e), f"the file is not named: {e}"
        return
    for item in items:
        assert isinstance(item, (Record, Rejected, Note, Cursor)), item
        if isinstance(item, Rejected):
            assert "okrs.csv" in item.where or "okrs.csv" in item.reason, item
            assert any(w in str(item) for w in ("row", "line", "column")) or item.where, item


TRANSFORMS = [
    lambda v: tf.parse_number(v), lambda v: tf.parse_number(v, decimal=","), lambda v: tf.parse_percent(v),
    lambda v: tf.parse_percent(v, scale="fraction"), lambda v: tf.parse_scaled(v, scale="auto"), tf.parse_bool,
    lambda v: tf.parse_date(v), lambda v: tf.parse_date(v, order="dmy"), lambda v: tf.parse_date(v, order="mdy"),
    lambda v: tf.parse_datetime(v), lambda v: tf.parse_period(v), lambda v: tf.parse_period(v, fiscal_year_start=4),
    tf.parse_json, tf.parse_text, tf.normalise_key,
    lambda v: tf.parse_choice(v, {"increase": ["up", "grow"], "decrease": ["down"]}),
]
VALUE = st.one_of(CELL, st.none(), st.integers(), st.floats(), st.booleans(), st.dates(), st.datetimes(),
                  st.decimals(allow_nan=True), st.text(alphabet=st.characters(codec="utf-8"), max_size=30))


@SETTINGS
@given(value=VALUE, which=st.integers(0, len(TRANSFORMS) - 1))
def test_a_transform_returns_a_value_or_says_what_it_expected(value, which):
    try:
        TRANSFORMS[which](value)
    except tf.TransformError as e:
        assert str(e), "an empty reason"


MAPPING = Mapping.load("spreadsheet", None)
FIELDS = [("key_result", f) for f in ("start", "current", "target", "unit", "direction", "weight", "confidence",
                                      "status", "due", "title", "owner")] + [("objective", f) for f in ("period", "type", "start")]


@SETTINGS
@given(value=VALUE, field=st.sampled_from(FIELDS))
def test_a_cell_through_the_shipped_mapping_parses_or_says_what_it_expected(value, field):
    try:
        MAPPING.parse_value(field[0], field[1], None, value)
    except tf.TransformError as e:
        assert str(e)


YAML_SCALAR = st.one_of(st.text(max_size=10), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
YAML_VALUE = st.recursive(YAML_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)
KEYS = ["store", "endpoints", "sync", "type", "path", "layout", "order", "conflicts", "prefer", "deletes", "mapping",
        "url", "token", "$env", "sheet", "rate"]


def _yaml_text(draw_value) -> str:
    import yaml

    return yaml.safe_dump(draw_value, allow_unicode=True)


@SETTINGS
@given(doc=st.one_of(
    st.dictionaries(st.sampled_from(KEYS), YAML_VALUE, max_size=4).map(_yaml_text),
    st.fixed_dictionaries({"endpoints": st.dictionaries(st.text(min_size=1, max_size=6),
                                                        st.dictionaries(st.sampled_from(KEYS), YAML_VALUE, max_size=3),
                                                        max_size=3)}).map(_yaml_text),
    st.text(max_size=80),
    st.sampled_from(["a: [", "a: {b", "- x\ny: 1", "endpoints: !!binary x", "store: &a [*a]", "\t- bad", "%YAML 9.9\n---",
                     "endpoints:\n  s: {type: csv}\n  s: {type: csv}", "? [a]\n: 1", "store: !!python/tuple [1]"])))
def test_any_config_text_loads_or_fails_naming_the_file(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("cfg") / "okrsync.yaml"
    path.write_text(doc, encoding="utf-8")
    try:
        load_config(path, {"csv", "xlsx", "jira"})
    except ConfigError as e:
        assert "okrsync.yaml" in str(e), f"the file is not named: {e}"
