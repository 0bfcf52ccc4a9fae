"""Tests for okrsync.transforms: table-driven examples plus a few properties."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okrsync.transforms import (
    TRANSFORMS,
    PeriodLabel,
    TransformError,
    choice_index,
    normalise_key,
    parse_bool,
    parse_choice,
    parse_date,
    parse_datetime,
    parse_json,
    parse_number,
    parse_percent,
    parse_period,
    parse_scaled,
    parse_text,
    period_for_dates,
)

D = dt.date
UTC = dt.UTC
BLANKS = [None, "", "   ", "\t\n", float("nan")]


def assert_rejects(func, value, *fragments, **kwargs):
    """func(value) raises TransformError quoting the value (and the fragments)."""
    with pytest.raises(TransformError) as info:
        func(value, **kwargs)
    message = str(info.value)
    assert message.startswith("expected ")
    assert repr(value) in message
    for fragment in fragments:
        assert fragment in message
    return message


# ------------------------------------------------------------------ common behaviour


@pytest.mark.parametrize("name", sorted(set(TRANSFORMS) - {"choice"}))
@pytest.mark.parametrize("blank", BLANKS)
def test_blank_gives_none(name, blank):
    assert TRANSFORMS[name](blank) is None


def test_blank_choice_gives_none():
    assert parse_choice("  ", {"a": []}) is None


def test_registry_names():
    assert set(TRANSFORMS) == {"number", "percent", "scaled", "bool", "date", "datetime",
                               "period", "choice", "json", "text", "name"}
    assert TRANSFORMS["number"] is parse_number and TRANSFORMS["period"] is parse_period


def test_transform_error_is_value_error():
    assert issubclass(TransformError, ValueError)


# ------------------------------------------------------------------ parse_number


@pytest.mark.parametrize("value, decimal, expected", [
    ("1234", None, 1234.0),
    ("1,234.5", None, 1234.5),
    ("1.234,5", None, 1234.5),
    ("1 234,5", None, 1234.5),
    ("1\u00a0234,5", None, 1234.5),
    ("1'234.5", None, 1234.5),
    ("-3", None, -3.0),
    ("+3", None, 3.0),
    ("\u22123", None, -3.0),
    ("$1,200", None, 1200.0),
    ("€3.5", None, 3.5),
    ("1200 EUR", None, 1200.0),
    ("USD 1,200", None, 1200.0),
    ("US$5", None, 5.0),
    ("-$3", None, -3.0),
    ("$-3", None, -3.0),
    ("3.5k", None, 3500.0),
    ("2M", None, 2e6),
    ("1.5bn", None, 1.5e9),
    ("$3.5k", None, 3500.0),
    ("1.1k", None, 1100.0),
    ("1,234", None, 1234.0),
    ("1,234", ",", 1.234),
    ("1,234,567", None, 1234567.0),
    ("1.234.567", None, 1234567.0),
    ("1.234", None, 1.234),
    ("1.234", ",", 1234.0),
    ("3,5", None, 3.5),
    ("3,5", ",", 3.5),
    ("0,450", None, 0.45),
    ("1 234,567", None, 1234.567),
    ("1,234.5", ".", 1234.5),
    ("1.234,5", ",", 1234.5),
    ("1,23,456.78", None, 123456.78),
    (".5", None, 0.5),
    ("1e3", None, 1000.0),
    ("  42  ", None, 42.0),
    (42, None, 42.0),
    (3.25, None, 3.25),
    (Decimal("2.5"), None, 2.5),
])
def test_parse_number(value, decimal, expected):
    result = parse_number(value, decimal=decimal)
    assert isinstance(result, float)
    assert result == pytest.approx(expected)


@pytest.mark.parametrize("value, decimal", [
    ("abc", None), ("(3)", None), ("1,2,3", None), ("12,34,5.6", None), ("1.2.3,4", None),
    ("3,5", "."), ("1.234,5", "."), ("1,2", "."), ("1,234.5", ","), ("--3", None),
    ("$", None), ("3 apples", None), ("1.5 mln", None), ("1 234.567,8", None),
    (True, None), (False, None), (D(2025, 1, 1), None), (float("inf"), None), ([1], None),
])
def test_parse_number_rejects(value, decimal):
    assert_rejects(parse_number, value, "expected a number", decimal=decimal)


def test_parse_number_bad_decimal_option():
    with pytest.raises(ValueError):
        parse_number("1", decimal=";")


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_parse_number_roundtrips_grouped_format(x):
    assert parse_number(f"{x:,.2f}") == pytest.approx(x, abs=0.006)


@given(st.integers(min_value=1000, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_parse_number_european_format(whole, cents):
    text = f"{whole:,}".replace(",", ".") + f",{cents:02d}"
    assert parse_number(text) == pytest.approx(whole + cents / 100)


# ------------------------------------------------------------------ parse_percent / parse_scaled


@pytest.mark.parametrize("value, scale, expected", [
    ("45%", "percent", 45.0),
    ("45 %", "percent", 45.0),
    ("45", "percent", 45.0),
    ("60 percent", "percent", 60.0),
    ("60 Per Cent", "percent", 60.0),
    ("60 pct", "percent", 60.0),
    ("0,45", "percent", 0.45),
    ("0,45", "fraction", 45.0),
    ("0,45", "auto", 45.0),
    (45, "percent", 45.0),
    (0.45, "fraction", 45.0),
    (0.45, "auto", 45.0),
    (1, "auto", 100.0),
    (45, "auto", 45.0),
    ("45%", "fraction", 45.0),
    ("0.5%", "auto", 0.5),
    ("120%", "percent", 120.0),
    ("-5%", "percent", -5.0),
    ("0.07", "fraction", 7.0),
])
def test_parse_percent(value, scale, expected):
    assert parse_percent(value, scale=scale) == pytest.approx(expected)


def test_parse_percent_fraction_is_exact():
    assert parse_percent(0.45, scale="fraction") == 45.0
    assert parse_percent("0.07", scale="fraction") == 7.0


@pytest.mark.parametrize("value", ["abc", "%", "45%%", "$45", "4k", True, D(2025, 1, 1)])
def test_parse_percent_rejects(value):
    assert_rejects(parse_percent, value, 'expected a percentage like "45%", "0.45" or "60 percent"')


def test_parse_percent_message_matches_brief():
    with pytest.raises(TransformError) as info:
        parse_percent("abc")
    assert str(info.value) == """expected a percentage like "45%", "0.45" or "60 percent", got 'abc'"""


def test_parse_percent_bad_scale():
    with pytest.raises(ValueError):
        parse_percent("4", scale="ratio")


@pytest.mark.parametrize("value, scale, expected", [
    ("45%", "percent", 0.45),
    ("45%", "fraction", 0.45),
    (45, "percent", 0.45),
    (0.45, "fraction", 0.45),
    (0.45, "auto", 0.45),
    (45, "auto", 0.45),
    (1, "auto", 1.0),
    ("100", "percent", 1.0),
    ("60 percent", "auto", 0.6),
])
def test_parse_scaled(value, scale, expected):
    assert parse_scaled(value, scale=scale) == expected


@pytest.mark.parametrize("value", ["half", "45 %%", False])
def test_parse_scaled_rejects(value):
    assert_rejects(parse_scaled, value, "expected a progress value")


@given(st.integers(min_value=0, max_value=1000))
def test_percent_and_scaled_agree(n):
    text = f"{n / 10}%"
    assert parse_scaled(text) == pytest.approx(parse_percent(text) / 100)


# ------------------------------------------------------------------ parse_bool


@pytest.mark.parametrize("value, expected", [
    *[(v, True) for v in ["true", "TRUE", "t", "yes", "Y", "y", "1", "x", "X", "✓", "✔", "done",
                          "Done", "achieved", "si", "sí", "Sí", "ja", "on", "ON", " yes "]],
    *[(v, False) for v in ["false", "f", "no", "NO", "n", "0", "✗", "not done", "Not-Done",
                           "nein", "off", "Off"]],
    (True, True), (False, False), (1, True), (0, False), (1.0, True), (0.0, False),
])
def test_parse_bool(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["maybe", "2", "yess", 2, 0.5, D(2025, 1, 1)])
def test_parse_bool_rejects(value):
    assert_rejects(parse_bool, value, "expected a yes/no value")


# ------------------------------------------------------------------ parse_date


@pytest.mark.parametrize("value, order, expected", [
    ("2025-03-31", "ymd", D(2025, 3, 31)),
    ("2025-03-31", "dmy", D(2025, 3, 31)),
    ("2025-03-31", "mdy", D(2025, 3, 31)),
    ("2025/03/31", "ymd", D(2025, 3, 31)),
    ("2025-3-5", "ymd", D(2025, 3, 5)),
    ("20250331", "ymd", D(2025, 3, 31)),
    ("2025-08-11 18:35:07.073175+00", "ymd", D(2025, 8, 11)),
    ("2025-08-11T23:30:00-05:00", "ymd", D(2025, 8, 11)),  # the date as written
    ("31/03/2025", "dmy", D(2025, 3, 31)),
    ("31.03.2025", "dmy", D(2025, 3, 31)),
    ("31-03-25", "dmy", D(2025, 3, 31)),
    ("03/31/2025", "mdy", D(2025, 3, 31)),
    ("04/03/2025", "dmy", D(2025, 3, 4)),
    ("04/03/2025", "mdy", D(2025, 4, 3)),
    ("31 Mar 2025", "ymd", D(2025, 3, 31)),
    ("31 March 2025", "mdy", D(2025, 3, 31)),
    ("31-Mar-25", "ymd", D(2025, 3, 31)),
    ("1st March 2025", "ymd", D(2025, 3, 1)),
    ("March 31, 2025", "dmy", D(2025, 3, 31)),
    ("Sept 5 2025", "ymd", D(2025, 9, 5)),
    (45747, "ymd", D(2025, 3, 31)),
    (45747.75, "ymd", D(2025, 3, 31)),
    ("45747", "ymd", D(2025, 3, 31)),
    (D(2025, 3, 31), "ymd", D(2025, 3, 31)),
    (dt.datetime(2025, 3, 31, 23, 59), "ymd", D(2025, 3, 31)),
])
def test_parse_date(value, order, expected):
    assert parse_date(value, order=order) == expected


def test_parse_date_returns_plain_date_for_datetime():
    assert type(parse_date(dt.datetime(2025, 3, 31, 12))) is dt.date


@pytest.mark.parametrize("value, order, fragment", [
    ("31/03/2025", "mdy", "did you mean order='dmy'"),
    ("03/31/2025", "dmy", "did you mean order='mdy'"),
    ("31/03/2025", "ymd", "set order='dmy'"),
    ("04/03/2025", "ymd", 'order="dmy" or order="mdy"'),
    ("32/13/2025", "dmy", "not a valid date in dmy order"),
    ("Mar 2025", "ymd", "a month without a day is a period"),
    ("2025-02-30", "ymd", "day is out of range"),
    ("2025-13-01", "ymd", "month must be in 1..12"),
    ("yesterday", "ymd", 'expected a date like "2025-03-31"'),
    ("31 Foo 2025", "dmy", "expected a date"),
    ("2025-03-31 25:00", "ymd", "expected a date"),
    (12, "ymd", "Excel serial"),
    (100000, "ymd", "Excel serial"),
    (True, "ymd", "expected a date"),
])
def test_parse_date_rejects(value, order, fragment):
    assert_rejects(parse_date, value, fragment, order=order)


def test_parse_date_bad_order():
    with pytest.raises(ValueError):
        parse_date("2025-01-01", order="ydm")


@given(st.dates(min_value=D(1960, 1, 1), max_value=D(2099, 12, 31)))
def test_parse_date_roundtrips_common_formats(day):
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%d/%m/%Y"), order="dmy") == day
    assert parse_date(day.strftime("%m/%d/%Y"), order="mdy") == day
    assert parse_date(day.strftime("%d %b %Y")) == day


# ------------------------------------------------------------------ parse_datetime


def _utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("value, kwargs, expected", [
    ("2025-03-31T14:30:00Z", {}, _utc(2025, 3, 31, 14, 30)),
    ("2025-03-31 14:30", {}, _utc(2025, 3, 31, 14, 30)),
    ("2025-03-31T14:30:00+00", {}, _utc(2025, 3, 31, 14, 30)),
    ("2025-03-31T14:30:00+00:00", {}, _utc(2025, 3, 31, 14, 30)),
    ("2025-03-31T14:30:00+0530", {}, _utc(2025, 3, 31, 9, 0)),
    ("2025-03-31T14:30:00-03:00", {}, _utc(2025, 3, 31, 17, 30)),
    ("2025-08-11 18:35:07.073175+00", {}, _utc(2025, 8, 11, 18, 35, 7, 73175)),
    ("2025-08-11T18:35:07.1234567Z", {}, _utc(2025, 8, 11, 18, 35, 7, 123456)),
    ("2025-03-31 14:30 UTC", {}, _utc(2025, 3, 31, 14, 30)),
    ("2025-03-31", {}, _utc(2025, 3, 31)),
    ("31/03/2025 2:30 pm", {"order": "dmy"}, _utc(2025, 3, 31, 14, 30)),
    ("03/31/2025 12:05 AM", {"order": "mdy"}, _utc(2025, 3, 31, 0, 5)),
    ("31 Mar 2025 09:15", {}, _utc(2025, 3, 31, 9, 15)),
    ("2025-03-31 14:30", {"tz": dt.timezone(dt.timedelta(hours=2))}, _utc(2025, 3, 31, 12, 30)),
    ("2025-03-31T14:30Z", {"tz": dt.timezone(dt.timedelta(hours=2))}, _utc(2025, 3, 31, 14, 30)),
    (dt.datetime(2025, 3, 31, 14, 30), {}, _utc(2025, 3, 31, 14, 30)),
    (dt.datetime(2025, 3, 31, 14, 30), {"tz": dt.timezone(dt.timedelta(hours=-5))},
     _utc(2025, 3, 31, 19, 30)),
    (dt.datetime(2025, 3, 31, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))), {},
     _utc(2025, 3, 31, 13, 30)),
    (D(2025, 3, 31), {}, _utc(2025, 3, 31)),
    (45747.75, {}, _utc(2025, 3, 31, 18)),
    ("45747.5", {}, _utc(2025, 3, 31, 12)),
])
def test_parse_datetime(value, kwargs, expected):
    result = parse_datetime(value, **kwargs)
    assert result == expected
    assert result.tzinfo is UTC


def test_parse_datetime_uses_zoneinfo_when_available():
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    assert parse_datetime("2025-07-01 12:00", tz=berlin) == _utc(2025, 7, 1, 10)


@pytest.mark.parametrize("value, fragment", [
    ("soon", "expected a date"),
    ("2025-03-31 24:00", "hour must be in 0..23"),
    ("2025-03-31 13:00 pm", "12-hour"),
    ("2025-03-31 10:00+25:00", "UTC offset"),
    (5, "Excel serial"),
    (False, "expected a date-time"),
])
def test_parse_datetime_rejects(value, fragment):
    assert_rejects(parse_datetime, value, fragment)


# ------------------------------------------------------------------ parse_period


def P(label, start, end, kind):
    return PeriodLabel(label, start, end, kind)


Q3_2024 = P("2024-Q3", D(2024, 7, 1), D(2024, 9, 30), "quarter")
FY25_Q1_APR = P("FY2025-Q1", D(2024, 4, 1), D(2024, 6, 30), "quarter")
H1_2025 = P("2025-H1", D(2025, 1, 1), D(2025, 6, 30), "half")
MAR_2025 = P("2025-03", D(2025, 3, 1), D(2025, 3, 31), "month")


@pytest.mark.parametrize("value", ["Q3 2024", "2024-Q3", "2024 Q3", "Q3-2024", "Q3/24", "Q3 '24",
                                   "Q3 ’24", "3Q24", "q3 2024", "2024Q3", "3Q 2024", "Q3  2024"])
def test_parse_period_calendar_quarter_forms(value):
    assert parse_period(value) == Q3_2024


@pytest.mark.parametrize("value", ["FY25 Q1", "FY2025-Q1", "Q1 FY25", "fy25 q1", "FY 2025 Q1"])
def test_parse_period_fiscal_quarter_forms(value):
    assert parse_period(value, fiscal_year_start=4) == FY25_Q1_APR


@pytest.mark.parametrize("value, kwargs, expected", [
    ("H1 2025", {}, H1_2025),
    ("2025-H1", {}, H1_2025),
    ("H2/25", {}, P("2025-H2", D(2025, 7, 1), D(2025, 12, 31), "half")),
    ("1H25", {}, H1_2025),
    ("2025", {}, P("2025", D(2025, 1, 1), D(2025, 12, 31), "year")),
    (2025, {}, P("2025", D(2025, 1, 1), D(2025, 12, 31), "year")),
    ("2025-03", {}, MAR_2025),
    ("Mar 2025", {}, MAR_2025),
    ("March 2025", {}, MAR_2025),
    ("Mar-25", {}, MAR_2025),
    ("2025-03", {"fiscal_year_start": 4}, MAR_2025),  # months stay calendar months
    # FY prefix with a calendar fiscal year: FY label, calendar dates
    ("FY25", {}, P("FY2025", D(2025, 1, 1), D(2025, 12, 31), "year")),
    ("FY25 Q1", {}, P("FY2025-Q1", D(2025, 1, 1), D(2025, 3, 31), "quarter")),
    # April fiscal year named by its end (UK/India/Microsoft)
    ("FY25", {"fiscal_year_start": 4}, P("FY2025", D(2024, 4, 1), D(2025, 3, 31), "year")),
    ("FY2025", {"fiscal_year_start": 4}, P("FY2025", D(2024, 4, 1), D(2025, 3, 31), "year")),
    ("FY25 Q4", {"fiscal_year_start": 4}, P("FY2025-Q4", D(2025, 1, 1), D(2025, 3, 31), "quarter")),
    ("H2 FY25", {"fiscal_year_start": 4}, P("FY2025-H2", D(2024, 10, 1), D(2025, 3, 31), "half")),
    ("Q3 2024", {"fiscal_year_start": 4},
     P("FY2024-Q3", D(2023, 10, 1), D(2023, 12, 31), "quarter")),
    ("2025", {"fiscal_year_start": 4}, P("FY2025", D(2024, 4, 1), D(2025, 3, 31), "year")),
    # ... or by its start
    ("FY25", {"fiscal_year_start": 4, "fiscal_year_naming": "start"},
     P("FY2025", D(2025, 4, 1), D(2026, 3, 31), "year")),
    ("FY25 Q1", {"fiscal_year_start": 4, "fiscal_year_naming": "start"},
     P("FY2025-Q1", D(2025, 4, 1), D(2025, 6, 30), "quarter")),
    # US federal: October start, named by end
    ("FY2025 Q1", {"fiscal_year_start": 10},
     P("FY2025-Q1", D(2024, 10, 1), D(2024, 12, 31), "quarter")),
    ("FY24 Q4", {"fiscal_year_start": 7}, P("FY2024-Q4", D(2024, 4, 1), D(2024, 6, 30), "quarter")),
    # leap-year February end
    ("FY24 Q4", {"fiscal_year_start": 3},
     P("FY2024-Q4", D(2023, 12, 1), D(2024, 2, 29), "quarter")),
])
def test_parse_period(value, kwargs, expected):
    assert parse_period(value, **kwargs) == expected


def test_parse_period_passes_period_labels_through():
    assert parse_period(Q3_2024) is Q3_2024


@pytest.mark.parametrize("value, fragment", [
    ("Q5 2024", "quarter must be 1-4"),
    ("Q0 2024", "quarter must be 1-4"),
    ("H3 2025", "half must be 1-2"),
    ("2025-13", "month must be 1-12"),
    ("next quarter", '"Q3 2024", "2024-Q3"'),
    ("Foo 2025", "expected a period"),
    ("Q3 202", "expected a period"),
    ("25", "expected a period"),
    (D(2025, 1, 1), "expected a period"),
    (True, "expected a period"),
])
def test_parse_period_rejects(value, fragment):
    message = assert_rejects(parse_period, value, fragment)
    assert '"FY25 Q1"' in message and '"Mar 2025"' in message  # lists accepted forms


@pytest.mark.parametrize("kwargs", [{"fiscal_year_start": 0}, {"fiscal_year_start": 13},
                                    {"fiscal_year_naming": "middle"}])
def test_parse_period_bad_options(kwargs):
    with pytest.raises(ValueError):
        parse_period("Q1 2025", **kwargs)


@given(st.integers(min_value=1, max_value=4), st.integers(min_value=1950, max_value=2150))
def test_parse_period_calendar_quarter_spans_about_three_months(q, year):
    period = parse_period(f"Q{q} {year}")
    assert period.kind == "quarter" and period.label == f"{year}-Q{q}"
    assert period.start <= period.end
    assert 89 <= (period.end - period.start).days <= 92


@given(st.integers(min_value=1, max_value=4), st.integers(min_value=1950, max_value=2150),
       st.integers(min_value=2, max_value=12))
def test_parse_period_fiscal_quarter_spans_three_whole_months(q, year, fiscal_start):
    period = parse_period(f"Q{q} {year}", fiscal_year_start=fiscal_start)
    assert period.label == f"FY{year}-Q{q}"
    # Feb-Apr of a common year is only 89 days long, inclusive.
    assert 89 <= (period.end - period.start).days + 1 <= 92
    assert period.start.day == 1 and (period.end + dt.timedelta(days=1)).day == 1


@given(st.integers(min_value=1950, max_value=2150), st.integers(min_value=1, max_value=12),
       st.sampled_from(["end", "start"]))
def test_fiscal_quarters_tile_the_fiscal_year(year, fiscal_start, naming):
    opts = {"fiscal_year_start": fiscal_start, "fiscal_year_naming": naming}
    whole = parse_period(f"FY{year}", **opts)
    quarters = [parse_period(f"FY{year} Q{q}", **opts) for q in range(1, 5)]
    assert quarters[0].start == whole.start and quarters[-1].end == whole.end
    for before, after in zip(quarters, quarters[1:]):
        assert before.end + dt.timedelta(days=1) == after.start


@given(st.integers(min_value=1950, max_value=2150),
       st.sampled_from(["Q1", "Q2", "Q3", "Q4", "H1", "H2", ""]))
def test_calendar_labels_roundtrip(year, part):
    label = f"{year}-{part}" if part else str(year)
    period = parse_period(label)
    assert period.label == label
    assert parse_period(period.label) == period
    assert period_for_dates(period.start, period.end) == label


# ------------------------------------------------------------------ period_for_dates


@pytest.mark.parametrize("start, end, expected", [
    (D(2024, 7, 1), D(2024, 9, 30), "2024-Q3"),
    (D(2025, 1, 1), D(2025, 3, 31), "2025-Q1"),
    (D(2025, 1, 1), D(2025, 6, 30), "2025-H1"),
    (D(2025, 7, 1), D(2025, 12, 31), "2025-H2"),
    (D(2025, 1, 1), D(2025, 12, 31), "2025"),
    (dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), "2025"),
    (D(2025, 3, 1), D(2025, 3, 31), None),  # a month is not a quarter
    (D(2025, 2, 1), D(2025, 4, 30), None),  # three months, not a calendar quarter
    (D(2024, 4, 1), D(2025, 3, 31), None),  # fiscal year
    (D(2025, 1, 2), D(2025, 3, 31), None),
    (D(2025, 1, 1), D(2025, 3, 30), None),
])
def test_period_for_dates(start, end, expected):
    assert period_for_dates(start, end) == expected


# ------------------------------------------------------------------ normalise_key


@pytest.mark.parametrize("text, expected", [
    ("Key Result", "key result"),
    ("key_result", "key result"),
    (" KEY-RESULT ", "key result"),
    ("Key   Result", "key result"),
    ("Key__-  Result", "key result"),
    ("Key\u2013Result", "key result"),  # en dash
    ("Owner's e-mail", "owners e mail"),
    ("Progress (%)", "progress"),
    ("Straße", "strasse"),
    ("ＫＥＹ", "key"),  # full-width, folded by NFKC
    ("Sí", "sí"),
    ("Q3 2024!", "q3 2024"),
    ("", ""),
    (None, ""),
    (42, "42"),
])
def test_normalise_key(text, expected):
    assert normalise_key(text) == expected


@given(st.text())
def test_normalise_key_is_idempotent(text):
    once = normalise_key(text)
    assert normalise_key(once) == once
    assert once == once.strip() and "  " not in once


# ------------------------------------------------------------------ parse_choice

STATUS = {
    "on_track": ["on track", "green", "ok"],
    "at_risk": ["at risk", "amber", "yellow"],
    "off_track": ["off track", "red", "behind"],
}


@pytest.mark.parametrize("value, expected", [
    ("on_track", "on_track"),
    ("On Track", "on_track"),
    ("ON-TRACK", "on_track"),
    ("green", "on_track"),
    (" Amber ", "at_risk"),
    ("at risk!", "at_risk"),
    ("RED", "off_track"),
    ("off_track", "off_track"),
])
def test_parse_choice(value, expected):
    assert parse_choice(value, STATUS) == expected


def test_parse_choice_numbers_use_text_form():
    assert parse_choice(2.0, {"high": ["2"], "low": ["1"]}) == "high"


@pytest.mark.parametrize("value", ["purple", "on", 7])
def test_parse_choice_rejects(value):
    message = assert_rejects(parse_choice, value, "status", vocabulary=STATUS, field="status")
    assert '"on_track", "at_risk", "off_track"' in message


def test_parse_choice_default_field_name():
    assert_rejects(parse_choice, "x", "value to be one of", vocabulary={"a": []})


def test_parse_choice_conflicting_vocabulary():
    with pytest.raises(ValueError, match="both"):
        parse_choice("x", {"a": ["Green"], "b": ["green"]})


# ------------------------------------------------------------------ parse_json


@pytest.mark.parametrize("value, expected", [
    ('{"a": 1}', {"a": 1}),
    ("[1, 2]", [1, 2]),
    ('  "text" ', "text"),
    ("3.5", 3.5),
    ("null", None),
    (5, 5),
    (True, True),
    ({"a": 1}, {"a": 1}),
])
def test_parse_json(value, expected):
    assert parse_json(value) == expected


@pytest.mark.parametrize("value, fragment", [
    ('{"a": 1,}', "line 1 column 9, char 8"),
    ("{'a': 1}", "line 1 column 2"),
    ('{"a":\n  tru}', "line 2 column 3"),
    ("nope", "Expecting value"),
    (D(2025, 1, 1), "expected JSON"),
])
def test_parse_json_rejects(value, fragment):
    assert_rejects(parse_json, value, fragment)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=10))
def test_parse_json_roundtrips(obj):
    if obj is None:
        return  # "null" decodes to None, which is also the blank result
    assert parse_json(json.dumps(obj)) == obj


# ------------------------------------------------------------------ parse_text


@pytest.mark.parametrize("value, expected", [
    ("  hello  ", "hello"),
    ("a\r\nb\rc\nd", "a\nb\nc\nd"),
    ("\r\n", None),
    (12.0, "12"),
    (12, "12"),
    (12.5, "12.5"),
    (-3.0, "-3"),
    (1e20, "100000000000000000000"),
    (True, "TRUE"),
    (D(2025, 3, 31), "2025-03-31"),
    (dt.datetime(2025, 3, 31, 14, 30), "2025-03-31T14:30:00"),
])
def test_parse_text(value, expected):
    assert parse_text(value) == expected


def test_parse_text_rejects_containers():
    assert_rejects(parse_text, {"a": 1}, "expected text")


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_parse_text_whole_floats_render_as_integers(n):
    assert parse_text(float(n)) == str(n)
    assert parse_number(parse_text(float(n))) == n


def test_error_messages_truncate_long_values():
    with pytest.raises(TransformError) as info:
        parse_number("x" * 500)
    assert len(str(info.value)) < 200 and "..." in str(info.value)


def test_nan_is_blank_but_infinity_is_not():
    assert parse_number(float("nan")) is None
    assert math.isinf(float("inf"))
    with pytest.raises(TransformError):
        parse_percent(float("inf"))


def test_choice_tells_symbols_apart():
    # normalise_key folds "%", "#" and "$" to "": a unit vocabulary must still tell them apart
    vocab = {"percent": ["%"], "number": ["#"], "currency": ["$", "€"]}
    index = choice_index(vocab, field="unit")
    assert [parse_choice(v, vocab, field="unit", index=index) for v in ("%", "#", "€", " $ ")] == \
        ["percent", "number", "currency", "currency"]


@pytest.mark.parametrize("value, expected", [("  Head of Sales ", "Head of Sales"), ("Sales EMEA", "Sales EMEA"),
                                             ("Støre, Jonas G.", "Støre, Jonas G."), ("ana@example.com", "ana@example.com")])
def test_parse_name_keeps_roles_and_teams_as_written_and_trimmed(value, expected):
    from okrsync.transforms import parse_name
    assert parse_name(value) == expected


@pytest.mark.parametrize("value, reason", [("000", "only digits and punctuation"), (0, "only digits and punctuation"),
                                           ("--", "only digits and punctuation"), ("TBD", "a placeholder"),
                                           ("line one\nline two", "several lines"), ("x" * 121, "at most 120")])
def test_parse_name_refuses_what_is_clearly_no_name(value, reason):
    from okrsync.transforms import TransformError, parse_name
    with pytest.raises(TransformError, match=reason):
        parse_name(value)
