"""Pure value parsers used by declarative spreadsheet/API field mappings.

Every parser accepts a ``str`` or a value a spreadsheet library hands back
(``int``, ``float``, ``bool``, ``datetime.date``, ``datetime.datetime``,
``None``).  Blank input (``None``, ``""``, whitespace, NaN) gives ``None``.
Anything unreadable raises :class:`TransformError`, whose message says what
was expected and quotes the bad value.

    parse_number(value, *, decimal=None)             -> float | None
    parse_percent(value, *, scale="percent")         -> float | None  (0-100)
    parse_scaled(value, *, scale="percent")          -> float | None  (0.0-1.0)
    parse_bool(value)                                -> bool | None
    parse_date(value, *, order="ymd")                -> date | None
    parse_datetime(value, *, order="ymd", tz=utc)    -> aware UTC datetime | None
    parse_period(value, *, fiscal_year_start=1, fiscal_year_naming="end")
                                                     -> PeriodLabel | None
    period_for_dates(start, end)                     -> calendar label | None
    parse_month_range(value)                         -> calendar label | None (None: not a range)
    normalise_key(text)                              -> str
    parse_choice(value, vocabulary, *, field="value") -> str | None
    parse_json(value)                                -> object | None
    parse_text(value)                                -> str | None
    parse_name(value)                                -> str | None (an owner or team)

``TRANSFORMS`` maps the short names used in mapping files to these functions.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import json
import math
import numbers
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "TRANSFORMS", "PeriodLabel", "TransformError", "normalise_key", "parse_bool",
    "parse_choice", "parse_date", "parse_datetime", "parse_json", "parse_number",
    "parse_name", "parse_percent", "parse_period", "parse_scaled", "parse_text", "period_for_dates", "parse_month_range",
]


class TransformError(ValueError):
    """A value could not be read as the type a field mapping asked for."""


def _error(expected: str, value: Any, hint: str = "") -> TransformError:
    shown = repr(value)
    if len(shown) > 80:  # a whole pasted document would drown the message
        shown = shown[:77] + "..."
    return TransformError(f"expected {expected}, got {shown}" + (f" ({hint})" if hint else ""))


def _is_number(value: Any) -> bool:
    # numbers.Real also covers numpy scalars; bool is an int but never a number here.
    return isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, bool)


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:  # pandas & co. return NaN for empty cells
        return _is_number(value) and math.isnan(value)
    except (TypeError, ValueError):
        return False


def _to_decimal(value: Any) -> Decimal | None:
    """A spreadsheet number as an exact Decimal (floats via their shortest repr,
    so 0.45 stays 0.45 and 0.45 * 100 is exactly 45); None if not finite."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, numbers.Integral):
        d = Decimal(int(value))
    else:
        d = Decimal(repr(float(value)))
    return d if d.is_finite() else None


# --------------------------------------------------------------------------- numbers

_SYMBOLS = "$€£¥₹₩₽₺₪₫"
_CODES = "USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|INR|CNY|SEK|NOK|DKK|PLN|BRL|MXN|ZAR|SGD|HKD"
_CURRENCY_PREFIX = re.compile(rf"^(?:[A-Z]{{0,2}}\$|[{_SYMBOLS}]|(?:{_CODES})(?![A-Z]))\s*", re.I)
_CURRENCY_SUFFIX = re.compile(rf"\s*(?:[{_SYMBOLS}]|(?<![A-Z])(?:{_CODES}))$", re.I)
_MULTIPLIERS = {"k": 10**3, "m": 10**6, "mn": 10**6, "b": 10**9, "bn": 10**9}
_MULTIPLIER_SUFFIX = re.compile(r"(?<=[0-9.,])\s*(k|mn|m|bn|b)$", re.I)
_GROUP_SEPARATORS = ",.'’ \u00a0\u202f"  # incl. Swiss apostrophe and (narrow) no-break spaces
_NUMBER_CHARS = re.compile(rf"[0-9{_GROUP_SEPARATORS}]*[0-9][0-9{_GROUP_SEPARATORS}]*")
_EXPONENT = re.compile(r"[0-9]*\.?[0-9]+[eE][+-]?[0-9]+")
# Thousands groups, western "1,234,567" or Indian "12,34,567"; S stands for the separator.
_GROUPED = re.compile(r"[0-9]{1,3}(?:S[0-9]{3})+|[0-9]{1,2}(?:S[0-9]{2})+S[0-9]{3}")
_NUMBER_EXPECTED = 'a number like "1234", "1,234.5", "1.234,5" or "$3.5k"'


def _strip_currency(text: str) -> str:
    return _CURRENCY_SUFFIX.sub("", _CURRENCY_PREFIX.sub("", text))


def _guess_decimal(text: str) -> str | None:
    """Which of "," and "." is the decimal separator when the caller did not say."""
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot >= 0:  # "1.234,5" / "1,234.5": the last one is decimal
        return "," if comma > dot else "."
    if comma >= 0:
        head, tail = text[:comma], text[comma + 1:]
        # "1,234" is a thousand, but "0,450" and "1 234,567" can only be decimals.
        if text.count(",") > 1 or (
            re.fullmatch("[0-9]{3}", tail) and head not in ("", "0") and head.isdigit()
        ):
            return None
        return ","
    if dot >= 0 and text.count(".") == 1:
        return "."
    return None  # no separator, or "1.234.567" (only thousands)


def _ungroup(whole: str) -> str | None:
    """"1,234,567" -> "1234567", insisting on real digit groups so typos fail."""
    separators = {ch for ch in whole if not ch.isdigit()}
    if len(separators) != 1:
        return None
    sep = separators.pop()
    if not _GROUPED.fullmatch(whole.replace(sep, "S")):
        return None
    return whole.replace(sep, "")


def _decimal_from_text(text: str, decimal: str | None, *, units: bool) -> Decimal | None:
    """Parse number text; units=True also strips currency and k/m/bn suffixes."""
    text = text.strip().replace("\u2212", "-")  # Unicode minus sign
    factor, sign = 1, ""
    if units:
        text = _strip_currency(text)
    if text[:1] in ("+", "-"):
        sign, text = text[0], text[1:].lstrip()
    if units:
        text = _strip_currency(text)  # "-$3" as well as "$-3"
        suffix = _MULTIPLIER_SUFFIX.search(text)
        if suffix:
            factor, text = _MULTIPLIERS[suffix.group(1).lower()], text[: suffix.start()]
    if decimal != "," and _EXPONENT.fullmatch(text):
        return Decimal(sign + text) * factor
    if not _NUMBER_CHARS.fullmatch(text):
        return None
    sep = decimal or _guess_decimal(text)
    whole, frac = text.partition(sep)[::2] if sep else (text, "")
    if not re.fullmatch("[0-9]*", frac) or not (whole or frac):
        return None
    if whole and not whole.isdigit():
        whole = _ungroup(whole)
        if whole is None:
            return None
    return Decimal(f"{sign}{whole or 0}.{frac or 0}") * factor


_WRAPPED = re.compile(r"\[\s*([^\[\],;]*?)\s*\]")  # "[5]": one value in list brackets (a JSON export)
_TRAILING_DOT = re.compile(r"(?<=[0-9%])\.$")  # "5." and "45%." as people end a cell


def unwrap_number(text: str) -> str:
    """Number text without list brackets around one value or a full stop after it:
    "[5]" → "5", "[45%]" → "45%", "7." → "7"; other text unchanged."""
    if m := _WRAPPED.fullmatch(text):
        text = m.group(1)
    return _TRAILING_DOT.sub("", text) if text.endswith(".") else text


def parse_number(value: Any, *, decimal: str | None = None) -> float | None:
    """Read "1,234.5", "1.234,5", "1 234,5", "$1,200", "1200 EUR", "3.5k", "2M", "[5]", "7."...

    ``decimal`` ("," or ".") forces the decimal separator; otherwise it is guessed.
    """
    if decimal not in (None, ",", "."):
        raise ValueError(f'decimal must be None, "," or ".", not {decimal!r}')
    if _is_blank(value):
        return None
    if _is_number(value):
        number = _to_decimal(value)
    elif isinstance(value, str):
        number = _decimal_from_text(unwrap_number(value.strip()), decimal, units=True)
    else:
        number = None  # bool, dates, ...: a silent 1.0 or ordinal would hide a mapping bug
    if number is None or not math.isfinite(float(number)):
        raise _error(_NUMBER_EXPECTED, value)
    return float(number)


# --------------------------------------------------------------------------- percentages

_SCALES = ("percent", "fraction", "auto")
_PERCENT_SIGN = re.compile(r"\s*(?:%|％|percent|per\s+cent|pct)\.?$", re.I)


def _percent(value: Any, scale: str, expected: str) -> Decimal | None:
    """The value in 0-100 units, as an exact Decimal."""
    if scale not in _SCALES:
        raise ValueError(f"scale must be one of {_SCALES}, not {scale!r}")
    if _is_blank(value):
        return None
    explicit, number = False, None
    if _is_number(value):
        number = _to_decimal(value)
    elif isinstance(value, str):
        sign = _PERCENT_SIGN.search(value.strip())
        explicit = sign is not None
        text = value.strip()[: sign.start()] if sign else value
        # No currency or k/m here: "$45" or "4k" in a progress column is a mistake.
        number = _decimal_from_text(text, None, units=False)
    if number is None:
        raise _error(expected, value)
    if explicit or scale == "percent" or (scale == "auto" and abs(number) > 1):
        return number
    return number * 100  # a fraction: 0.45 means 45 %


def parse_percent(value: Any, *, scale: str = "percent") -> float | None:
    """Read "45%", "60 percent", "0,45", 45, 0.45 ... as 0-100 units.

    "%"/"percent" always means 0-100. Bare numbers follow ``scale``: "percent"
    (as is), "fraction" (x100) or "auto" (abs <= 1 is a fraction).
    """
    number = _percent(value, scale, 'a percentage like "45%", "0.45" or "60 percent"')
    return None if number is None else float(number)


def parse_scaled(value: Any, *, scale: str = "percent") -> float | None:
    """Like parse_percent but normalised to 0.0-1.0 ("45%" -> 0.45)."""
    number = _percent(value, scale, 'a progress value like "45%", "0.45" or "45"')
    return None if number is None else float(number / 100)


# --------------------------------------------------------------------------- booleans

_TRUE = {"true", "t", "yes", "y", "1", "1.0", "x", "✓", "✔", "☑", "✅", "done",
         "achieved", "si", "sí", "ja", "on"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "✗", "✘", "❌", "☐", "not done",
          "not achieved", "nein", "off"}


def parse_bool(value: Any) -> bool | None:
    """Read true/false, yes/no, y/n, 1/0, x, ✓/✗, done/not done, sí/no, ja/nein, on/off."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    # a signalling NaN (Decimal("sNaN")) raises on any comparison: it is no yes/no value
    if _is_number(value) and not (isinstance(value, Decimal) and value.is_snan()) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        # Try the raw text first: normalise_key would drop symbols such as "✓".
        for key in (unicodedata.normalize("NFKC", value).strip().casefold(), normalise_key(value)):
            if key in _TRUE or key in _FALSE:
                return key in _TRUE
    raise _error('a yes/no value like "yes", "no", "true", "false", "1", "0", "x" or "✓"', value)


# --------------------------------------------------------------------------- dates and times

_ORDERS = ("ymd", "dmy", "mdy")
_MONTHS = {name.lower(): i for i in range(1, 13)
           for name in (calendar.month_name[i], calendar.month_abbr[i])} | {"sept": 9}
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0, absorbing its 1900 leap-year bug
_SERIAL_TEXT = re.compile(r"[0-9]{5}(?:\.[0-9]+)?")
_YEAR_FIRST = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})")
_COMPACT_ISO = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_NUMERIC = re.compile(r"([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")
_DAY_NAMED = re.compile(  # 31 Mar 2025, 31-Mar-25, 1st March 2025
    r"([0-9]{1,2})(?:st|nd|rd|th)?[\s\-/.]*([a-z]+)\.?[\s\-/.,]*([0-9]{4}|[0-9]{2})", re.I)
_NAMED_DAY = re.compile(  # March 31, 2025; Mar 31 2025
    r"([a-z]+)\.?[\s\-/.]*([0-9]{1,2})(?:st|nd|rd|th)?(?:,\s*|[\s\-/.]+)([0-9]{4}|[0-9]{2})", re.I)
_MONTH_ONLY = re.compile(r"([a-z]+)\.?[\s\-/.,']*[0-9]{2,4}", re.I)  # Mar 2025: a period
_TIME_TAIL = re.compile(r"""(?:T|\s+)
    (?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})
    (?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,9}))?)?
    \s*(?P<ampm>[ap]\.?m\.?)?
    \s*(?P<offset>Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?$""", re.X | re.I)
_DATE_EXPECTED = 'a date like "2025-03-31", "31/03/2025" or "31 Mar 2025"'
_DATETIME_EXPECTED = 'a date-time like "2025-03-31T14:30:00Z" or "2025-03-31 14:30"'
_SERIAL_HINT = "numbers are read as Excel serial days 20000-80000"


def _check_order(order: str) -> None:
    if order not in _ORDERS:
        raise ValueError(f"order must be one of {_ORDERS}, not {order!r}")


def _full_year(digits: str) -> int:
    return 2000 + int(digits) if len(digits) == 2 else int(digits)  # "25" means 2025


def _from_serial(number: Decimal | None) -> dt.datetime | None:
    """Excel serial day number -> naive datetime; None outside the plausible range."""
    if number is None or not 20000 <= number <= 80000:  # roughly 1954 .. 2119
        return None
    # Excel keeps no more than milliseconds; rounding hides float noise in the fraction.
    return _EXCEL_EPOCH + dt.timedelta(milliseconds=int(round(number * 86_400_000)))


def _numeric_date(match: re.Match, order: str, value: Any) -> dt.date:
    """"31/03/2025" style: which number is the day depends on the configured order."""
    a, b, year = int(match.group(1)), int(match.group(3)), _full_year(match.group(4))
    candidates = {"dmy": (year, b, a), "mdy": (year, a, b)}
    valid = [name for name, ymd in candidates.items() if _valid(*ymd)]
    if order == "ymd":
        hint = f'day/month order is ambiguous; set order={valid[0]!r}' if len(valid) == 1 \
            else 'day/month order is ambiguous; set order="dmy" or order="mdy"'
        raise _error(_DATE_EXPECTED, value, hint)
    if order in valid:
        return dt.date(*candidates[order])
    other = "mdy" if order == "dmy" else "dmy"
    hint = f"not a valid date in {order} order"
    hint += f"; did you mean order={other!r}?" if valid else ""
    raise _error(_DATE_EXPECTED, value, hint)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _date_from_text(text: str, order: str, value: Any) -> dt.date:
    """The date part of a string (time already split off); raises TransformError."""
    text = unicodedata.normalize("NFKC", text).strip()
    if _SERIAL_TEXT.fullmatch(text) and (serial := _from_serial(Decimal(text))):
        return serial.date()  # a serial number that went through CSV as text
    if m := _NUMERIC.fullmatch(text):
        return _numeric_date(m, order, value)
    ymd = None
    if m := _YEAR_FIRST.fullmatch(text):  # a four-digit year first is never ambiguous
        ymd = int(m.group(1)), int(m.group(3)), int(m.group(4))
    elif m := _COMPACT_ISO.fullmatch(text):  # ISO 8601 basic, "20250331"
        ymd = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif (m := _DAY_NAMED.fullmatch(text)) and m.group(2).lower() in _MONTHS:
        ymd = _full_year(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1))
    elif (m := _NAMED_DAY.fullmatch(text)) and m.group(1).lower() in _MONTHS:
        ymd = _full_year(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2))
    elif (m := _MONTH_ONLY.fullmatch(text)) and m.group(1).lower() in _MONTHS:
        raise _error(_DATE_EXPECTED, value, "a month without a day is a period, not a date")
    elif re.search(r"[^\W\d_]{3}", text) and (found := _named_date(text, order)):
        return found  # month names in another language: "15 de marzo de 2025", "3. März 2025"
    if ymd is None:
        raise _error(_DATE_EXPECTED, value)
    try:
        return dt.date(*ymd)
    except ValueError as exc:
        raise _error(_DATE_EXPECTED, value, str(exc)) from None


# Languages whose month names dates may use (dateparser reads them; no hand-written tables).
DATE_LANGUAGES = ("en", "es", "pt", "de", "fr")


@functools.lru_cache(maxsize=4096)  # a column of "to be defined" asks once, not once per row
def _named_date(text: str, order: str) -> dt.date | None:
    """A full date written with a month name in one of DATE_LANGUAGES, via dateparser
    (imported on first use: most files never need it). Day, month and year must all be
    given, and only absolute dates count: "two months", "yearly", "next Friday" give None."""
    import dateparser  # ~50 ms, paid only by files with such dates

    found = dateparser.parse(text, languages=list(DATE_LANGUAGES), settings={
        "DATE_ORDER": order.upper(), "STRICT_PARSING": True, "PARSERS": ["absolute-time"],
        "REQUIRE_PARTS": ["day", "month", "year"]})
    return found.date() if found else None


def _split_time(text: str) -> tuple[str, re.Match | None]:
    match = _TIME_TAIL.search(text.strip())
    return (text.strip()[: match.start()], match) if match else (text, None)


def parse_date(value: Any, *, order: str = "ymd") -> dt.date | None:
    """Read ISO dates always; "31/03/2025" per ``order`` ("dmy"/"mdy"); month names;
    Excel serials; the date part of datetimes (as written, no time-zone shift)."""
    _check_order(order)
    if _is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if _is_number(value):
        serial = _from_serial(_to_decimal(value))
        if serial is None:
            raise _error(_DATE_EXPECTED, value, _SERIAL_HINT)
        return serial.date()
    if not isinstance(value, str):
        raise _error(_DATE_EXPECTED, value)
    date_text, match = _split_time(value)
    if match:
        _time_of(match, value)  # "2025-03-31 25:00" is broken even if we only want the date
    return _date_from_text(date_text, order, value)


def _time_of(match: re.Match, value: Any) -> tuple[dt.time, dt.tzinfo | None]:
    hour, minute = int(match["hour"]), int(match["minute"])
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise _error(_DATETIME_EXPECTED, value, "12-hour times run from 1 to 12")
        hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
    micro = int((match["fraction"] or "").ljust(6, "0")[:6])
    offset, zone = match["offset"], None
    if offset and offset.upper() in ("Z", "UTC", "GMT"):
        zone = dt.UTC
    elif offset:  # "+00", "+0530", "-03:00"
        digits = offset[1:].replace(":", "").ljust(4, "0")
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if delta >= dt.timedelta(hours=24):
            raise _error(_DATETIME_EXPECTED, value, "UTC offset out of range")
        zone = dt.timezone(-delta if offset[0] == "-" else delta)
    try:
        return dt.time(hour, minute, int(match["second"] or 0), micro), zone
    except ValueError as exc:
        raise _error(_DATETIME_EXPECTED, value, str(exc)) from None


def parse_datetime(value: Any, *, order: str = "ymd",
                   tz: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """Read a date-time as an aware UTC datetime. Naive input is taken to be in
    ``tz``; bare dates mean midnight; "Z", "+00", "+05:30", "+0530" are honoured."""
    _check_order(order)
    if _is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif _is_number(value) or (isinstance(value, str) and _SERIAL_TEXT.fullmatch(value.strip())):
        moment = _from_serial(_to_decimal(value) if _is_number(value) else Decimal(value.strip()))
        if moment is None:
            raise _error(_DATETIME_EXPECTED, value, _SERIAL_HINT)
    elif isinstance(value, str):
        date_text, match = _split_time(value)
        day = _date_from_text(date_text, order, value)
        clock, zone = _time_of(match, value) if match else (dt.time(), None)
        moment = dt.datetime.combine(day, clock, tzinfo=zone)
    else:
        raise _error(_DATETIME_EXPECTED, value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.UTC)


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class PeriodLabel:
    label: str  # the canonical label, "2024-Q3": what two spellings of one period share
    start: dt.date
    end: dt.date  # inclusive last day
    kind: str  # "quarter" | "half" | "year" | "month"
    text: str | None = field(default=None, compare=False)  # the label as written, "Q3 2024" (None: as ``label``)


_DAY = dt.timedelta(days=1)
_KINDS = {"Q": ("quarter", 3, 4), "H": ("half", 6, 2), "": ("year", 12, 1)}  # months, count
_YEAR = r"'?(?P<year>[0-9]{4}|[0-9]{2})"
_SEP = r"[\s\-/_.]*"
_PART = r"(?P<kind>[QH])(?P<n>[0-9])"
_PERIOD_FORMS = [re.compile(form) for form in (
    rf"(?P<fy>FY)?{_SEP}{_YEAR}{_SEP}{_PART}",                # 2024-Q3, FY25 Q1, FY2025-Q1
    rf"{_PART}{_SEP}(?P<fy>FY)?{_SEP}{_YEAR}",                # Q3 2024, Q3/24, Q3 '24, Q1 FY25
    rf"(?P<n>[0-9])(?P<kind>[QH]){_SEP}(?P<fy>FY)?{_SEP}{_YEAR}",  # 3Q24, 1H 2025
    rf"(?P<fy>FY){_SEP}{_YEAR}",                              # FY25, FY 2025
    r"(?P<year>[0-9]{4})",                                    # 2025
    r"(?P<year>[0-9]{4})[-/.](?P<month>[0-9]{1,2})",          # 2025-03
    rf"(?P<mname>[A-Z]+)\.?{_SEP}{_YEAR}",                    # Mar 2025, March '25, Mar-25
)]
_PERIOD_EXPECTED = ('a period like "Q3 2024", "2024-Q3", "3Q24", "FY25 Q1", "H1 2025", '
                    '"FY25", "2025", "2025-03" or "Mar 2025"')


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _match_period(text: str) -> dict[str, str] | None:
    for form in _PERIOD_FORMS:
        match = form.fullmatch(text)
        if not match:
            continue
        groups = {k: v for k, v in match.groupdict().items() if v}
        if "mname" in groups and groups["mname"].lower() not in _MONTHS:
            continue  # "FOO 25" is not a month name
        return groups
    return None


def parse_period(value: Any, *, fiscal_year_start: int = 1,
                 fiscal_year_naming: str = "end") -> PeriodLabel | None:
    """Read "Q3 2024", "2024-Q3", "Q3/24", "Q3 '24", "3Q24", "FY25 Q1", "Q1 FY25",
    "H1 2025", "2025-H1", "FY25", "2025" (year), "2025-03" / "Mar 2025" (month).

    With ``fiscal_year_start`` m != 1, quarters, halves and bare years are fiscal:
    Q1 starts in month m, and the fiscal year is named by the calendar year it ends
    in (``fiscal_year_naming="end"``, e.g. FY25 = Apr 2024..Mar 2025) or starts in.
    Months are always calendar months.
    """
    if not 1 <= fiscal_year_start <= 12:
        raise ValueError(f"fiscal_year_start must be a month 1-12, not {fiscal_year_start!r}")
    if fiscal_year_naming not in ("end", "start"):
        raise ValueError(f'fiscal_year_naming must be "end" or "start", not {fiscal_year_naming!r}')
    if _is_blank(value):
        return None
    if isinstance(value, PeriodLabel):
        return value
    if not (isinstance(value, str) or _is_number(value)):
        raise _error(_PERIOD_EXPECTED, value)
    text = unicodedata.normalize("NFKC", parse_text(value)).upper()
    text = _fiscal_spelling(text, fiscal_year_start, fiscal_year_naming, value)
    groups = _match_period(text.replace("’", "'").replace("‘", "'"))  # Q3 ’24
    if groups is None:
        raise _error(_PERIOD_EXPECTED, value)
    try:
        return _build_period(groups, fiscal_year_start, fiscal_year_naming)
    except (ValueError, OverflowError) as exc:  # bad quarter/month number, year out of range
        raise _error(_PERIOD_EXPECTED, value, str(exc)) from None


# Fiscal-year words in English and German ("GJ" Geschäftsjahr, "WJ" Wirtschaftsjahr) read as FY.
_FISCAL_WORD = re.compile(r"\b(?:GESCHÄFTSJAHR|GESCHAEFTSJAHR|WIRTSCHAFTSJAHR|FISCAL YEAR|FISCAL|GJ|WJ)(?=[\s\-/_.0-9']|$)")
_GERMAN_PART = re.compile(r"\b([1-4])\.\s*(QUARTAL|HALBJAHR|HJ)\b")  # "1. Quartal", "2. Halbjahr"
_HJ = re.compile(r"\bHJ\s*([12])\b")  # "HJ1"
# Halves and quarters in words as a cycle column holds them (Spanish, Portuguese, English):
# "S1", "Semestre 2", "1º semestre", "2nd semester", "3er trimestre", "1st quarter"
_SEMESTER = re.compile(r"\b(?:S|SEM|SEMESTRE|SEMESTER)\s*([12])\b|\b([12])\s*(?:O|ER|ST|ND|°)?\.?\s*(?:SEMESTRE|SEMESTER)\b")
_WHOLE_YEAR = re.compile(r"\s*\b(?:ANUAL|ANNUAL|FULL YEAR|AÑO|ANO|GANZJAHR|JAHR|ANNÉE|ANNEE)\b\s*")  # "2026 Anual": the year
_TRIMESTER = re.compile(r"\b(?:TRIMESTRE|QUARTER)\s*([1-4])\b|\b([1-4])\s*(?:O|ER|ST|ND|RD|TH|°)?\.?\s*(?:TRIMESTRE|QUARTER)\b")
_YEAR_PAIR = re.compile(r"(?<![0-9])([0-9]{4}|[0-9]{2})\s*[/\-]\s*([0-9]{4}|[0-9]{2})(?![0-9])")  # 2025/26


def _fiscal_spelling(text: str, fiscal_year_start: int, naming: str, value: Any) -> str:
    """"GJ 2025/26 Q1", "1. Quartal GJ 2025/26", "FY2025-26" → the "FY2026 Q1" form the
    patterns read: a year pair names the fiscal year that runs across both years."""
    text = _FISCAL_WORD.sub("FY", text)
    text = _GERMAN_PART.sub(lambda m: ("Q" if m.group(2) == "QUARTAL" else "H") + m.group(1), text)
    text = _HJ.sub(lambda m: "H" + m.group(1), text)
    text = _SEMESTER.sub(lambda m: "H" + (m.group(1) or m.group(2)), text)
    text = _TRIMESTER.sub(lambda m: "Q" + (m.group(1) or m.group(2)), text)
    text = _WHOLE_YEAR.sub("", text) if re.search(r"[0-9]{4}", text) else text
    pair = _YEAR_PAIR.search(text)
    if pair:
        first = _full_year(pair.group(1))
        second = _full_year(pair.group(2)) if len(pair.group(2)) == 2 else int(pair.group(2))
        if second == first + 1:
            if fiscal_year_start == 1:
                raise _error(_PERIOD_EXPECTED, value, "a fiscal year across two years needs the mapping's "
                                                      "fiscal_year_start (the month it begins)")
            year = second if naming == "end" else first
            text = text[:pair.start()] + str(year) + text[pair.end():]
            if "FY" not in text:
                text = "FY" + text
    return text


def _build_period(groups: dict[str, str], fiscal_year_start: int, naming: str) -> PeriodLabel:
    year = _full_year(groups["year"])
    if "month" in groups or "mname" in groups:
        month = int(groups["month"]) if "month" in groups else _MONTHS[groups["mname"].lower()]
        if not 1 <= month <= 12:
            raise ValueError("month must be 1-12")
        start = dt.date(year, month, 1)
        return PeriodLabel(f"{year:04d}-{month:02d}", start, _add_months(start, 1) - _DAY, "month")
    prefix = groups.get("kind", "")
    kind, months, count = _KINDS[prefix]
    n = int(groups.get("n", 1))
    if not 1 <= n <= count:
        raise ValueError(f"{kind} must be 1-{count}")
    fiscal = "fy" in groups or fiscal_year_start != 1
    # Named by its end year, FY2025 of an April fiscal year starts in April 2024.
    first_year = year - 1 if fiscal_year_start != 1 and naming == "end" else year
    start = _add_months(dt.date(first_year, fiscal_year_start, 1), months * (n - 1))
    label = f"FY{year}" if fiscal else f"{year:04d}"
    label += f"-{prefix}{n}" if count > 1 else ""
    return PeriodLabel(label, start, _add_months(start, months) - _DAY, kind)


def period_for_dates(start: dt.date, end: dt.date) -> str | None:
    """The calendar label ("2024-Q3", "2025-H1", "2025") for a date range that is
    exactly a calendar quarter, half or year; otherwise None."""
    start = start.date() if isinstance(start, dt.datetime) else start
    end = end.date() if isinstance(end, dt.datetime) else end
    if start.day != 1:
        return None
    for prefix, (_kind, months, count) in _KINDS.items():
        if (start.month - 1) % months == 0 and end == _add_months(start, months) - _DAY:
            part = f"-{prefix}{(start.month - 1) // months + 1}" if count > 1 else ""
            return f"{start.year:04d}{part}"
    return None


_RANGE_DASH = r"\s*(?:[-–—~〜]|\.\.|to|bis|a|até)\s*"
_MONTH_RANGES = [re.compile(form, re.IGNORECASE) for form in (
    # Jul–Sep 2026, July - September 2026, Nov 2025 – Jan 2026
    rf"(?P<m1>[^\W\d_]+)\.?(?:\s+(?P<y1>[0-9]{{4}}))?{_RANGE_DASH}(?P<m2>[^\W\d_]+)\.?\s+(?P<y2>[0-9]{{4}})",
    # 2026-07..2026-09, 2026/07 – 2026/09
    rf"(?P<y1>[0-9]{{4}})[-/.](?P<n1>[0-9]{{1,2}}){_RANGE_DASH}(?P<y2>[0-9]{{4}})[-/.](?P<n2>[0-9]{{1,2}})",
)]


def parse_month_range(value: Any) -> str | None:
    """A month range that is exactly a calendar quarter, half or year → its period label:
    "Jul–Sep 2026" and "2026-07..2026-09" → "2026-Q3", "Jan - Jun 2026" → "2026-H1".

    Blank, and text that is no month range, give None (the caller says what it expected);
    a range of other months raises.
    """
    if _is_blank(value):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for form in _MONTH_RANGES:
        m = form.fullmatch(text)
        if not m:
            continue
        g = m.groupdict()
        first = int(g["n1"]) if g.get("n1") else _MONTHS.get(g["m1"].lower())
        last = int(g["n2"]) if g.get("n2") else _MONTHS.get(g["m2"].lower())
        if not first or not last or not 1 <= first <= 12 or not 1 <= last <= 12:
            continue
        y2 = int(g["y2"])
        y1 = int(g["y1"]) if g.get("y1") else (y2 if first <= last else y2 - 1)
        start = dt.date(y1, first, 1)
        label = period_for_dates(start, _add_months(dt.date(y2, last, 1), 1) - _DAY)
        if label is None:
            raise _error("a month range that is a calendar quarter, half or year (Jul–Sep 2026)", value)
        return label
    return None


# --------------------------------------------------------------------------- keys and choices


_ASCII_DROP = re.compile(r"[^a-z0-9\s]")  # what the loop below drops, for ASCII text


def normalise_key(text: Any) -> str:
    """Fold a header or vocabulary word for matching: "Key_Result " -> "key result"."""
    if text is None:
        return ""
    if isinstance(text, str) and text.isascii():
        # The common case, ~8x faster than the loop below: for ASCII text NFKC changes
        # nothing, casefold is lower(), and the only dash (Unicode category Pd) is "-".
        return " ".join(_ASCII_DROP.sub("", text.lower().replace("_", " ").replace("-", " ")).split())
    # NFKC before and after casefold (Unicode's recipe for caseless matching).
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(text)).casefold())
    chars = []
    for ch in folded:
        if ch.isspace() or ch == "_" or unicodedata.category(ch) == "Pd":  # any dash
            chars.append(" ")
        elif ch.isalnum():
            chars.append(ch)
        # other punctuation and symbols are dropped: "Owner's" -> "owners"
    return " ".join("".join(chars).split())


def choice_key(word: Any) -> str:
    """``normalise_key``, except that words it would fold to nothing ("%", "#", "$") are
    kept as typed, so a vocabulary can tell them apart."""
    text = str(word)
    return normalise_key(text) or text.strip().casefold()


def choice_index(vocabulary: dict[str, list[str]], *, field: str = "value") -> dict[str, str]:
    """word key → canonical name, for ``parse_choice``; a word with two meanings is an error."""
    index: dict[str, str] = {}
    for canonical, synonyms in vocabulary.items():
        for word in (canonical, *synonyms):
            key = choice_key(word)
            if index.setdefault(key, canonical) != canonical:
                raise ValueError(f"vocabulary for {field} maps {word!r} to both "
                                 f"{index[key]!r} and {canonical!r}")
    return index


def parse_choice(value: Any, vocabulary: dict[str, list[str]], *,
                 field: str = "value", index: dict[str, str] | None = None) -> str | None:
    """Map a value onto a canonical name; ``vocabulary`` maps canonical -> synonyms.

    Pass ``index`` (from ``choice_index``) to avoid rebuilding it for every cell.
    """
    if index is None:
        index = choice_index(vocabulary, field=field)
    text = parse_text(value)
    if text is None:
        return None
    key = choice_key(text)
    if key in index:
        return index[key]
    accepted = ", ".join(f'"{name}"' for name in vocabulary)
    raise _error(f"{field} to be one of {accepted}", value)


# --------------------------------------------------------------------------- json and text


def parse_json(value: Any) -> object | None:
    """Decode JSON held in a cell. Numbers, bools, lists and dicts pass through."""
    if _is_blank(value):
        return None
    if isinstance(value, (bool, int, float, list, dict)):
        return value  # the spreadsheet/API already decoded it
    if not isinstance(value, str):
        raise _error("JSON text", value)
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        where = f"at line {exc.lineno} column {exc.colno}, char {exc.pos}"
        raise _error("JSON text", value, f"{exc.msg} {where}") from None


def parse_text(value: Any) -> str | None:
    """Stripped text with "\\n" line ends; whole floats render as "12", not "12.0"."""
    if value.__class__ is str:  # the common case first: every title and description of an import
        text = (value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value).strip()
        return text or None
    if _is_blank(value):
        return None
    if isinstance(value, str):
        text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        return text or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as a spreadsheet shows it
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if _is_number(value):
        try:
            number = float(value)
        except (ValueError, OverflowError):  # Decimal("sNaN") and such: no text a cell can show
            raise _error("text, a number or a date", value) from None
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    raise _error("text, a number or a date", value)


NAME_MAX = 120  # longer than any person's, role's or team's name: pasted text
# cells that hold a slot for a name, not a name: "000", "-", "n/a", "TBD"
_NOT_NAMES = frozenset({"n/a", "na", "tbd", "tba", "null", "none", "nil", "unknown", "?"})


def parse_name(value: Any) -> str | None:
    """An owner or team as given: a person, a role ("Head of Sales") or a team, trimmed and
    otherwise kept as written. A value that is clearly no name raises: several lines (a
    program's printout pasted in), only digits and punctuation ("000", "-"), a placeholder
    ("n/a", "TBD"), or more than ``NAME_MAX`` characters."""
    text = parse_text(value)
    if text is None:
        return None
    if "\n" in text:
        raise _error("a name on one line", value, "several lines: pasted text, not a name")
    if len(text) > NAME_MAX:
        raise _error(f"a name (at most {NAME_MAX} characters)", value)
    if not any(ch.isalpha() for ch in text):
        raise _error("a name", value, "only digits and punctuation: a placeholder, not a name")
    if text.casefold() in _NOT_NAMES:
        raise _error("a name", value, "a placeholder, not a name")
    return text


TRANSFORMS: dict[str, Callable[..., Any]] = {
    "number": parse_number,
    "percent": parse_percent,
    "scaled": parse_scaled,
    "bool": parse_bool,
    "date": parse_date,
    "datetime": parse_datetime,
    "period": parse_period,
    "choice": parse_choice,
    "json": parse_json,
    "text": parse_text,
    "name": parse_name,
}
