"""The three-way merge of one record (okrsync/merge.py): a table of bases, the endpoint's
record and the hub's, with what the merge must give. No store, no endpoint."""

import pytest

from okrsync.merge import Contested, merge

B = {"title": "Grow", "current": 1.0, "owner": "ana@example.com"}

# (case, base, theirs (the endpoint), ours (the hub), decision for contested fields,
#  waiting fields, merged fields, new base, contested [(field, base, theirs, ours, decision)])
TABLE = [
    ("nothing changed", B, B, B, "theirs", (), B, B, []),
    ("only the endpoint changed a field", B, {**B, "current": 2.0}, B, "ours", (),
     {**B, "current": 2.0}, {**B, "current": 2.0}, []),
    ("only the hub changed a field", B, B, {**B, "current": 3.0}, "theirs", (), {**B, "current": 3.0}, B, []),
    ("each side changed another field", B, {**B, "current": 2.0}, {**B, "title": "Grow more"}, "ours", (),
     {**B, "current": 2.0, "title": "Grow more"}, {**B, "current": 2.0}, []),
    ("both to the same value: no conflict", B, {**B, "current": 2.0}, {**B, "current": 2.0}, "ours", (),
     {**B, "current": 2.0}, {**B, "current": 2.0}, []),
    ("both differently, the endpoint wins", B, {**B, "current": 2.0}, {**B, "current": 3.0}, "theirs", (),
     {**B, "current": 2.0}, {**B, "current": 2.0}, [("current", 1.0, 2.0, 3.0, "theirs")]),
    ("both differently, the hub wins", B, {**B, "current": 2.0}, {**B, "current": 3.0}, "ours", (),
     {**B, "current": 3.0}, {**B, "current": 2.0}, [("current", 1.0, 2.0, 3.0, "ours")]),
    ("both differently, left to the user: the base keeps the old value", B, {**B, "current": 2.0},
     {**B, "current": 3.0}, "manual", (), {**B, "current": 3.0}, B, [("current", 1.0, 2.0, 3.0, "manual")]),
    ("a field still waiting for the user: nothing moves, nothing decided", B, {**B, "current": 2.0},
     {**B, "current": 3.0}, "theirs", ("current",), {**B, "current": 3.0}, B, []),
    ("the endpoint cleared a field the hub kept", B, {**B, "owner": None}, B, "ours", (),
     {**B, "owner": None}, {**B, "owner": None}, []),
    ("the endpoint added a field", B, {**B, "due": "2026-03-31"}, B, "ours", (),
     {**B, "due": "2026-03-31"}, {**B, "due": "2026-03-31"}, []),
    ("first contact (no base): every difference is contested", {}, {**B, "current": 2.0}, B, "ours", (),
     B, {**B, "current": 2.0}, [("current", None, 2.0, 1.0, "ours")]),
    ("the hub holds it no more: the endpoint's record is taken whole", B, {**B, "current": 2.0}, {}, "ours", (),
     {**B, "current": 2.0}, {**B, "current": 2.0}, []),
]


@pytest.mark.parametrize("case, base, theirs, ours, decision, waiting, fields, new_base, contested",
                         TABLE, ids=[row[0] for row in TABLE])
def test_merge(case, base, theirs, ours, decision, waiting, fields, new_base, contested):
    asked = []

    def decide(name):
        asked.append(name)
        return decision

    result = merge(base, theirs, ours, decide, waiting)
    assert result.fields == fields
    assert result.base == new_base
    assert result.contested == [Contested(*c) for c in contested]
    assert asked == [c[0] for c in contested]  # the policy is asked about contested fields only


def test_merge_changes_none_of_its_inputs():
    base, theirs, ours = dict(B), {**B, "current": 2.0}, {**B, "current": 3.0}
    copies = [dict(base), dict(theirs), dict(ours)]
    merge(base, theirs, ours, lambda name: "theirs")
    assert [base, theirs, ours] == copies
