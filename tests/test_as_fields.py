"""``model.as_fields`` is ``to_fields`` without the entity: the same keys, values and order
for any entity of any kind (a reader builds its records with it, issue 21)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from okrsync.model import ENTITY_TYPES, as_fields, to_fields

_VALUES = st.one_of(
    st.none(), st.text(max_size=5), st.floats(allow_nan=False), st.integers(), st.booleans(),
    st.dates(), st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.lists(st.dictionaries(st.sampled_from(["name", "score"]), st.text(max_size=3)), max_size=2),
)
_EXTRA = st.dictionaries(st.sampled_from(["sheet", "jira", "period", "unparsed"]),
                         st.dictionaries(st.text(min_size=1, max_size=4), _VALUES, max_size=3), max_size=3)


@st.composite
def entities(draw):
    kind = draw(st.sampled_from(sorted(ENTITY_TYPES)))
    names = [f.name for f in dataclasses.fields(ENTITY_TYPES[kind]) if f.name not in ("id", "extra")]
    required = [f.name for f in dataclasses.fields(ENTITY_TYPES[kind])
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name != "id"]
    chosen = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    fields = {name: draw(_VALUES) for name in dict.fromkeys(required + chosen)}
    return kind, fields, draw(_EXTRA)


@settings(max_examples=400, deadline=None)
@given(entities())
def test_as_fields_is_to_fields_of_the_entity(case):
    kind, fields, extra = case
    made = to_fields(ENTITY_TYPES[kind](id="x-1", extra=extra, **fields))
    got = as_fields(kind, fields, extra)
    assert got == made
    assert list(got) == list(made)  # the order too: readers and writers see the same dict


def test_a_real_shape():
    """A KR as a sheet gives it: a due date, numbers, a period's facts in extra."""
    fields = {"objective_id": "O-1", "title": "Grow ARR", "start": 1.0, "target": 2.0, "due": dt.date(2026, 3, 31),
              "status": "on_track"}
    extra = {"period.sheet:key": {}, "sheet": {"Team": "Platform"}}
    got = as_fields("key_result", fields, extra)
    assert got["due"] == "2026-03-31" and got["direction"] == "increase" and got["unit"] == "number"
    assert "levels" not in got and got["extra.sheet.Team"] == "Platform"
    assert got == to_fields(ENTITY_TYPES["key_result"](id="K-1", extra=extra, **fields))
