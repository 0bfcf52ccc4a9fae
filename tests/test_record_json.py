"""``store.record_json`` writes with orjson where orjson's text is json's, byte for byte,
and with json elsewhere: a record's stored text and digest never depend on which wrote it
(stores written before orjson came read their records as unchanged)."""

from __future__ import annotations

import json
import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from okrsync.store import _orjson_writes_alike, record_json

_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(), st.floats(), st.floats(min_value=1e-4, max_value=1e16),
    st.floats(min_value=-1e16, max_value=-1e-4), st.decimals(places=2, allow_nan=False, allow_infinity=False).map(float),
    st.lists(st.floats(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=3000, deadline=None)
@given(st.dictionaries(st.text(max_size=12), _VALUES, max_size=12))
@example({"target": 1e16, "start": 1e-5, "current": math.nan, "weight": math.inf})
@example({"title": "\ud800 lone surrogate", "n": 2**70, "x": 9999999999999998.0, "y": 0.0001, "z": -0.0})
@example({"title": "Grow ARR €8.4M → €10.2M\u2028", "extra.sheet.Note": "a\"b\\c\x00\x1f", "levels": [{"name": "x"}]})
def test_record_json_is_json_whichever_writes_it(fields):
    assert record_json(fields) == _JSON({k: v for k, v in fields.items() if v is not None})


def test_the_domain_orjson_writes():
    assert _orjson_writes_alike(["a", 1, True, 0.5, 1e15, -2.25, 0.0])
    assert not any(_orjson_writes_alike([v]) for v in (1e16, 1e-5, math.nan, -math.inf, [1], {"a": 1}, None))
