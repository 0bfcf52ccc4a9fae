import dataclasses
import datetime as dt
import os

import pytest

from okrsync import model
from okrsync.errors import ValidationError
from okrsync.model import (
    Alignment,
    CheckIn,
    Initiative,
    KeyResult,
    Objective,
    Period,
    Person,
    Team,
    alignment_cycles,
    band,
    from_fields,
    objective_progress,
    problems,
    progress,
    score,
    to_fields,
    validate,
)


def kr(**kw):
    kw.setdefault("id", "KR-1")
    kw.setdefault("objective_id", "O-1")
    kw.setdefault("title", "Grow revenue")
    return KeyResult(**kw)


def messages(entity, severity=None):
    return [(p.field, p.message, p.severity) for p in problems(entity) if severity is None or p.severity == severity]


# ------------------------------------------------------------------ validation

INVALID = [
    pytest.param(kr(direction="increase", start=10, target=5), "direction",
                 "target 5 is below start 10 on an increasing KR; use direction decrease", id="increase-target-below-start"),
    pytest.param(kr(direction="decrease", start=3, target=5), "direction",
                 "target 5 is above start 3 on a decreasing KR; use direction increase", id="decrease-target-above-start"),
    pytest.param(kr(weight=-1), "weight", "weight -1 is negative", id="kr-negative-weight"),
    pytest.param(Objective(id="O-1", title="x", weight=-0.5), "weight", "weight -0.5 is negative", id="objective-negative-weight"),
    pytest.param(Alignment(id="A-1", child_id="a", parent_id="b", weight=-2), "weight", "weight -2 is negative",
                 id="alignment-negative-weight"),
    pytest.param(kr(confidence=1.5), "confidence", "confidence 1.5 is off its 0-1 scale", id="confidence-default-0-1-above"),
    pytest.param(kr(confidence=-0.1, confidence_scale="0-1"), "confidence", "confidence -0.1 is off its 0-1 scale",
                 id="confidence-0-1-below"),
    pytest.param(kr(confidence=0.5, confidence_scale="1-10"), "confidence", "confidence 0.5 is off its 1-10 scale",
                 id="confidence-1-10-below"),
    pytest.param(kr(confidence=11, confidence_scale="1-10"), "confidence", "confidence 11 is off its 1-10 scale",
                 id="confidence-1-10-above"),
    pytest.param(kr(confidence=5, confidence_scale="1-7"), "confidence_scale", "unknown confidence scale '1-7'",
                 id="unknown-confidence-scale"),
    pytest.param(kr(direction="sideways"), "direction", "unknown direction 'sideways'; use one of increase, decrease",
                 id="unknown-direction"),
    pytest.param(kr(unit="furlongs"), "unit", "unknown unit 'furlongs'; use one of number, percent", id="unknown-unit"),
    pytest.param(kr(status="green"), "status", "unknown status 'green'; use one of not_started", id="kr-unknown-status"),
    pytest.param(Objective(id="O-1", title="x", status="meh"), "status", "unknown status 'meh'", id="objective-unknown-status"),
    pytest.param(Objective(id="O-1", title="x", type="stretch"), "type", "unknown objective type 'stretch'", id="objective-unknown-type"),
    pytest.param(Objective(id="O-1", title="  "), "title", "an objective needs a title", id="objective-blank-title"),
    pytest.param(kr(unit="currency"), "currency", "a currency KR needs a three-letter ISO code, got None", id="currency-missing"),
    pytest.param(kr(unit="currency", currency="EURO"), "currency", "three-letter ISO code, got 'EURO'", id="currency-four-letters"),
    pytest.param(kr(unit="currency", currency="E1R"), "currency", "three-letter ISO code, got 'E1R'", id="currency-not-alpha"),
    pytest.param(kr(direction="range", range_low=10, range_high=5, current=7), "range_low",
                 "range_low 10 is above range_high 5", id="range-low-above-high"),
    pytest.param(kr(direction="range", range_low=10), "range_low", "needs both range_low and range_high", id="range-missing-bound"),
    pytest.param(Period(id="2025-Q3", start=dt.date(2025, 10, 1), end=dt.date(2025, 9, 30)), "start",
                 "period starts 2025-10-01 after it ends 2025-09-30", id="period-start-after-end"),
    pytest.param(Alignment(id="A-1", child_id="O-1", parent_id="O-1"), "parent_id",
                 "an objective cannot contribute to itself", id="alignment-self-loop"),
]


@pytest.mark.parametrize("entity, field, fragment", INVALID)
def test_problem_is_an_error_naming_field_and_reason(entity, field, fragment):
    errors = [p for p in problems(entity) if p.severity == "error"]
    assert [(p.field) for p in errors] == [field], errors
    assert fragment in errors[0].message
    assert str(errors[0]) == f"{entity.kind} {entity.id}: {field}: {errors[0].message}"
    with pytest.raises(ValidationError) as info:
        validate(entity)
    assert f"{entity.kind} {entity.id}: {field}:" in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("direction, value", [("increase", 5), ("decrease", 3), ("milestone", 0)])
def test_target_equal_to_start_is_a_warning_and_scores_nothing(direction, value):
    # issue 15: such a KR imports (a warning, not a rejection) and is scored "–"
    flat = kr(direction=direction, start=value, target=value, current=value)
    found = problems(flat)
    assert [(p.field, p.severity) for p in found] == [("target", "warning")]
    assert f"target equals start ({value})" in found[0].message
    validate(flat)
    assert progress(flat) is None and score(flat) is None


VALID = [
    pytest.param(kr(direction="increase", start=0, target=100, current=70), id="increase"),
    pytest.param(kr(direction="decrease", start=5, target=3, current=4, unit="percent"), id="decrease"),
    pytest.param(kr(direction="stay_above", start=5, target=5, current=6), id="stay-above-target-equals-start-is-fine"),
    pytest.param(kr(direction="stay_below", start=5, target=5), id="stay-below-target-equals-start-is-fine"),
    pytest.param(kr(direction="range", range_low=5, range_high=5), id="range-single-point"),
    pytest.param(kr(unit="currency", currency="EUR", start=0, target=10), id="currency-with-code"),
    pytest.param(kr(confidence=0, confidence_scale="0-1"), id="confidence-0-1-low-edge"),
    pytest.param(kr(confidence=1), id="confidence-default-scale-high-edge"),
    pytest.param(kr(confidence=10, confidence_scale="1-10"), id="confidence-1-10-high-edge"),
    pytest.param(kr(confidence=1, confidence_scale="1-10"), id="confidence-1-10-low-edge"),
    pytest.param(kr(weight=0), id="weight-zero"),
    pytest.param(kr(status="at_risk"), id="known-status"),
    pytest.param(kr(direction="increase", target=100), id="no-start"),
    pytest.param(Period(id="2025-Q3", start=dt.date(2025, 7, 1), end=dt.date(2025, 7, 1)), id="one-day-period"),
    pytest.param(Alignment(id="A-1", child_id="KR-1", parent_id="O-1"), id="alignment"),
    pytest.param(Objective(id="O-1", title="x", type="aspirational", status="done"), id="objective"),
]


@pytest.mark.parametrize("entity", VALID)
def test_valid_entities_have_no_problems(entity):
    assert problems(entity) == []
    validate(entity)


def test_objective_start_after_due_is_a_warning_not_an_error():
    obj = Objective(id="O-1", title="Ship it", start=dt.date(2025, 9, 1), due=dt.date(2025, 7, 1))
    found = problems(obj)
    assert [(p.field, p.severity) for p in found] == [("start", "warning")]
    assert "starts 2025-09-01 after it is due 2025-07-01" in found[0].message
    validate(obj)  # a warning does not reject the record


def test_every_error_is_reported_at_once():
    bad = kr(direction="sideways", unit="furlongs", weight=-1, status="x")
    fields = sorted(p.field for p in problems(bad))
    assert fields == ["direction", "status", "unit", "weight"]
    with pytest.raises(ValidationError) as info:
        validate(bad)
    assert str(info.value).count("key_result KR-1:") == 4


# ------------------------------------------------------------------ alignment cycles

def _normalise(cycle):
    """A cycle as a rotation-independent tuple starting from its smallest id."""
    assert cycle[0] == cycle[-1], cycle
    ring = cycle[:-1]
    i = ring.index(min(ring))
    return tuple(ring[i:] + ring[:i])


@pytest.mark.parametrize("edges, expected", [
    pytest.param([("a", "b"), ("b", "c"), ("c", "a")], {("a", "b", "c")}, id="three-cycle"),
    pytest.param([("c", "a"), ("b", "c"), ("a", "b")], {("a", "b", "c")}, id="three-cycle-other-order"),
    pytest.param([("a", "b"), ("b", "c"), ("a", "c"), ("d", "a")], set(), id="dag"),
    pytest.param([("a", "b"), ("b", "d"), ("c", "d"), ("a", "c")], set(), id="diamond-dag"),
    pytest.param([], set(), id="no-edges"),
    pytest.param([("a", "b"), ("b", "a"), ("x", "y"), ("y", "z"), ("z", "x")], {("a", "b"), ("x", "y", "z")},
                 id="two-separate-cycles"),
    pytest.param([("a", "a")], {("a",)}, id="self-loop"),
    pytest.param([("k", "a"), ("a", "b"), ("b", "a")], {("a", "b")}, id="cycle-reached-from-outside"),
])
def test_alignment_cycles(edges, expected):
    found = alignment_cycles(edges)
    assert {_normalise(c) for c in found} == expected
    assert len(found) == len(expected)


def test_alignment_cycle_lists_ids_around_the_loop():
    assert alignment_cycles([("a", "b"), ("b", "c"), ("c", "a")]) == [["a", "b", "c", "a"]]


# ------------------------------------------------------------------ progress and score

@pytest.mark.parametrize("key_result, expected_progress, expected_score", [
    pytest.param(kr(direction="increase", start=0, target=100, current=70), 0.7, 0.7, id="increase"),
    pytest.param(kr(direction="increase", target=100, current=25), 0.25, 0.3, id="increase-missing-start-counts-as-0"),
    pytest.param(kr(direction="increase", start=50, target=150, current=75), 0.25, 0.3, id="increase-from-nonzero-start"),
    pytest.param(kr(direction="increase", start=0, target=100, current=130), 1.0, 1.0, id="increase-overshoot-clamps"),
    pytest.param(kr(direction="increase", start=0, target=100, current=-10), 0.0, 0.0, id="increase-backwards-clamps"),
    pytest.param(kr(direction="decrease", start=5, target=3, current=4), 0.5, 0.5, id="decrease-churn"),
    pytest.param(kr(direction="decrease", start=5, target=3, current=2), 1.0, 1.0, id="decrease-overshoot-clamps"),
    pytest.param(kr(direction="decrease", start=5, target=3, current=6), 0.0, 0.0, id="decrease-worse-clamps"),
    pytest.param(kr(direction="decrease", target=3, current=4), None, None, id="decrease-without-start"),
    pytest.param(kr(direction="milestone", start=0, target=4, current=3), 0.75, 0.8, id="milestone"),
    pytest.param(kr(direction="stay_above", target=99.5, current=99.9), 1.0, 1.0, id="stay-above-holds"),
    pytest.param(kr(direction="stay_above", target=99.5, current=99.5), 1.0, 1.0, id="stay-above-at-target"),
    pytest.param(kr(direction="stay_above", target=99.5, current=98.0), 0.0, 0.0, id="stay-above-broken"),
    pytest.param(kr(direction="stay_below", target=200, current=150), 1.0, 1.0, id="stay-below-holds"),
    pytest.param(kr(direction="stay_below", target=200, current=200), 1.0, 1.0, id="stay-below-at-target"),
    pytest.param(kr(direction="stay_below", target=200, current=250), 0.0, 0.0, id="stay-below-broken"),
    pytest.param(kr(direction="stay_below", current=250), None, None, id="stay-below-no-target"),
    pytest.param(kr(direction="range", range_low=10, range_high=20, current=15), 1.0, 1.0, id="range-inside"),
    pytest.param(kr(direction="range", range_low=10, range_high=20, current=10), 1.0, 1.0, id="range-low-edge"),
    pytest.param(kr(direction="range", range_low=10, range_high=20, current=20), 1.0, 1.0, id="range-high-edge"),
    pytest.param(kr(direction="range", range_low=10, range_high=20, current=25), 0.0, 0.0, id="range-above"),
    pytest.param(kr(direction="range", range_low=10, range_high=20, current=5), 0.0, 0.0, id="range-below"),
    pytest.param(kr(direction="range", range_low=10, current=15), None, None, id="range-missing-bound"),
    pytest.param(kr(direction="binary", current=1), 1.0, 1.0, id="binary-done"),
    pytest.param(kr(direction="binary", current=True), 1.0, 1.0, id="binary-true"),
    pytest.param(kr(direction="binary", current=0), 0.0, 0.0, id="binary-not-done"),
    pytest.param(kr(direction="binary"), None, None, id="binary-missing"),
    pytest.param(kr(direction="increase", start=0, target=100), None, None, id="missing-current"),
    pytest.param(kr(direction="increase", start=0, current=5), None, None, id="missing-target"),
    pytest.param(kr(direction="increase", start=5, target=5, current=5), None, None, id="target-equals-start"),
])
def test_progress_and_score(key_result, expected_progress, expected_score):
    p = progress(key_result)
    if expected_progress is None:
        assert p is None
    else:
        assert p == pytest.approx(expected_progress)
        assert isinstance(p, float)
    assert score(key_result) == expected_score


@pytest.mark.parametrize("current, expected", [
    (0, 0.0), (4, 0.0), (5, 0.1), (14, 0.1), (15, 0.2), (33.3, 0.3), (66.6, 0.7), (94.9, 0.9), (95, 1.0), (100, 1.0),
])
def test_score_rounds_to_one_decimal(current, expected):
    assert score(kr(start=0, target=100, current=current)) == expected


def test_score_of_floating_point_progress_is_exact_one_decimal():
    # 0.35 is 0.34999… in binary: the score still rounds half up to 0.4
    result = score(kr(start=0, target=1, current=0.35))
    assert result == 0.4
    assert repr(result) == "0.4"


@pytest.mark.parametrize("value, expected", [
    (None, "unknown"), (0.0, "red"), (0.39, "red"), (0.4, "yellow"), (0.69, "yellow"), (0.7, "green"), (1.0, "green"),
])
def test_band_thresholds(value, expected):
    assert band(value) == expected


@pytest.mark.parametrize("krs, expected", [
    pytest.param([], None, id="no-krs"),
    pytest.param([kr(start=0, target=100)], None, id="only-unknown-progress"),
    pytest.param([kr(start=0, target=100, current=50), kr(start=0, target=100, current=100)], 0.75, id="equal-weights"),
    pytest.param([kr(start=0, target=100, current=50, weight=3), kr(start=0, target=100, current=100, weight=1)], 0.625,
                 id="weights"),
    pytest.param([kr(start=0, target=100, current=0, weight=None), kr(start=0, target=100, current=100, weight=3)], 0.75,
                 id="none-weight-counts-as-one"),
    pytest.param([kr(start=0, target=100, current=0, weight=0), kr(start=0, target=100, current=80, weight=2)], 0.8,
                 id="zero-weight-excluded"),
    pytest.param([kr(start=0, target=100, current=50, weight=0)], None, id="all-weights-zero"),
    pytest.param([kr(start=0, target=100, current=40), kr(start=0, target=100)], 0.4, id="unknown-kr-skipped"),
])
def test_objective_progress(krs, expected):
    result = objective_progress(krs)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_objective_progress_accepts_a_generator():
    gen = (kr(start=0, target=10, current=c) for c in (2, 4))
    assert objective_progress(gen) == pytest.approx(0.3)


# ------------------------------------------------------------------ to_fields / from_fields

ROUND_TRIP = [
    pytest.param(Objective(id="O-1", title="Delight customers", owner="ana@example.com", period="2025-Q3",
                           type="committed", weight=2.0, start=dt.date(2025, 7, 1), due=dt.date(2025, 9, 30),
                           extra={"jira": {"issue_type": "Epic", "labels": ["a", "b"]}, "sheet": {"row.colour": "red"}}),
                 id="objective"),
    pytest.param(kr(direction="decrease", unit="percent", start=5.0, current=4.0, target=3.0, confidence=7,
                    confidence_scale="1-10", due=dt.date(2025, 9, 30), extra={"koan": {"x": 1}}), id="key-result"),
    pytest.param(Initiative(id="I-1", title="Build", key_result_id="KR-1", progress=0.5, start=dt.date(2025, 7, 2)),
                 id="initiative"),
    pytest.param(CheckIn(id="C-1", key_result_id="KR-1", at=dt.datetime(2025, 8, 1, 9, 30, 15, tzinfo=dt.UTC),
                         value=42.0, note="halfway", extra={"perdoo": {"mood": "ok"}}), id="check-in"),
    pytest.param(Person(id="P-1", email="ana@example.com", name="Ana"), id="person"),
    pytest.param(Team(id="T-1", name="Growth", parent_id="T-0"), id="team"),
    pytest.param(Period(id="2025-Q3", start=dt.date(2025, 7, 1), end=dt.date(2025, 9, 30)), id="period"),
    pytest.param(Alignment(id="A-1", child_id="KR-1", parent_id="O-1", primary=True, weight=0.5), id="alignment"),
]


@pytest.mark.parametrize("entity", ROUND_TRIP)
def test_to_fields_from_fields_round_trip(entity):
    fields = to_fields(entity)
    assert "id" not in fields and "extra" not in fields
    back = from_fields(entity.kind, entity.id, fields)
    assert back == entity
    assert type(back) is type(entity)


def test_to_fields_is_flat_and_json_ready():
    import json

    entity = ROUND_TRIP[0].values[0]
    fields = to_fields(entity)
    assert fields["start"] == "2025-07-01"
    assert fields["due"] == "2025-09-30"
    assert fields["extra.jira.issue_type"] == "Epic"
    assert fields["extra.jira.labels"] == ["a", "b"]
    assert fields["extra.sheet.row.colour"] == "red"  # key may hold dots; the namespace may not
    assert json.loads(json.dumps(fields)) == fields
    back = from_fields("objective", "O-1", json.loads(json.dumps(fields)))
    assert back.start == dt.date(2025, 7, 1)
    assert back.extra == {"jira": {"issue_type": "Epic", "labels": ["a", "b"]}, "sheet": {"row.colour": "red"}}


def test_check_in_time_is_serialised_as_utc_z():
    at = dt.datetime(2025, 8, 1, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    fields = to_fields(CheckIn(id="C-1", key_result_id="KR-1", at=at))
    assert fields["at"] == "2025-08-01T09:30:00Z"
    back = from_fields("check_in", "C-1", fields)
    assert back.at == at
    assert back.at.utcoffset() == dt.timedelta(0)


def test_key_result_numeric_start_is_not_parsed_as_a_date():
    back = from_fields("key_result", "KR-1", to_fields(kr(start=5.0, target=10.0)))
    assert back.start == 5.0


def test_from_fields_rejects_unknown_fields():
    with pytest.raises(ValidationError, match="objective O-1: unknown field 'colour'"):
        from_fields("objective", "O-1", {"title": "x", "colour": "red"})


def test_every_kind_has_a_dataclass_in_dependency_order():
    assert model.KINDS.index("objective") < model.KINDS.index("key_result") < model.KINDS.index("check_in")
    for kind, cls in model.ENTITY_TYPES.items():
        assert cls.kind == kind
        assert {f.name for f in dataclasses.fields(cls)} >= {"id", "extra"}


# ------------------------------------------------------------------ regressions (fixed in okrsync/model.py)

@pytest.mark.parametrize("weight, fragment", [
    (float("nan"), "weight nan is not a finite number"),
    (float("inf"), "weight inf is not a finite number"),
    (float("-inf"), "weight -inf is negative"),
])
def test_non_finite_weight_is_an_error_with_a_true_message(weight, fragment):
    found = problems(kr(weight=weight))
    assert [p.field for p in found] == ["weight"]
    assert found[0].message.startswith(fragment)


@pytest.fixture
def berlin_time():
    import time

    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset")
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_naive_check_in_time_is_taken_as_utc_whatever_the_host_zone(berlin_time):
    naive = dt.datetime(2025, 8, 1, 9, 30)
    fields = to_fields(CheckIn(id="C-1", key_result_id="KR-1", at=naive))
    assert fields["at"] == "2025-08-01T09:30:00Z"
    assert from_fields("check_in", "C-1", fields).at == naive.replace(tzinfo=dt.UTC)
