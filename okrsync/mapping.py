"""Declarative mappings: a tool's columns or fields ↔ canonical fields, with value transforms.

A mapping file (YAML, see ``mappings/sheets/spreadsheet.yaml``) says, per entity *part*, which
columns may hold each canonical field (matched case-, space- and punctuation-blind), plus
``any:`` columns that belong to whatever entity a row describes (``Owner``, ``Status``).
A part is an entity kind, or a name with ``kind:`` (``activity: {kind: initiative}``).
Values go through a transform chosen by the field (``start`` → a measure such as "45%" or
"$1,200", ``period`` → "Q3 2024", ``status`` → the status vocabulary …) or named in the
file. Fields the model does not have (``priority: [objective_priority]``) and columns nothing
claims are kept in ``extra``.

``Table(mapping, header, layout, part)`` resolves a header once: which part each row holds
(``row_part``, from a ``row_type`` column if the mapping names one), and per part a
``Binding`` that parses a row's cells into ``{part: {field: value}}``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import operator
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import levels as ordinal
from . import periods, unparsed
from . import transforms as tf
from .config import load_yaml
from .errors import MappingError
from .model import ENTITY_TYPES, REFERENCES


def sheet_mappings():
    """Where the shipped spreadsheet mappings are (``mappings/sheets/``; vendor mappings, a
    different format, are in ``mappings/vendors/``, loaded by ``okrsync.connectors.common``)."""
    return resources.files("okrsync.mappings") / "sheets"


# The transform each canonical field gets unless the mapping names another.
FIELD_TRANSFORMS = {
    "start": "measure", "current": "measure", "target": "measure", "range_low": "measure",
    "range_high": "measure", "value": "measure", "weight": "number", "confidence": "confidence",
    "progress": "scaled", "due": "date", "end": "date", "at": "datetime", "period": "period",
    "status": "choice", "direction": "choice", "unit": "choice", "type": "choice", "primary": "bool",
    "levels": "levels",
    "owner": "name", "team": "name",
}
DATE_FIELDS = {"due", "end"}  # ``start`` is a date on objectives and initiatives, a number on KRs
LAYOUTS = ("flat", "hierarchical", "linked")
MODEL_FIELDS = {kind: {f.name for f in dataclasses.fields(cls)} - {"extra"} for kind, cls in ENTITY_TYPES.items()}
TITLED = ("objective", "key_result", "initiative")
_CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
# ISO 4217 codes read as currencies in KR values ("1200 EUR"); other words ("10 min") are not.
_CODES = ("USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|INR|CNY|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|ZAR|SGD|HKD|KRW|"
          "ILS|TRY|AED|SAR|RON|BGN|ARS|CLP|COP|PEN|IDR|MYR|PHP|THB|VND|TWD|UAH|NGN|EGP|KES")
_SIGN = rf"(?P<sign>[$€£¥]|(?:{_CODES})(?![A-Za-z]))"
_PERCENT = re.compile(r"(.*?\d.*?)\s*(?:%|percent|per cent|pct)\.?", re.IGNORECASE)
_CURRENCY_BEFORE = re.compile(rf"(?P<minus>[-−]?)\s*{_SIGN}\s*(?P<number>.*\d.*)", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(rf"(?P<number>.*\d.*?)\s*(?<![A-Za-z]){_SIGN}", re.IGNORECASE)


@dataclass(frozen=True)
class Measure:
    """A KR value as a cell gave it, with what its text said about the unit."""

    value: float | None
    unit: str | None = None
    currency: str | None = None


_JSON_LATER = frozenset({Measure, tf.PeriodLabel})  # parsed values a record holds as JSON (final classes)


def parse_measure(value: Any, options: dict) -> Measure:
    """"45%", "60 percent", "$1,200", "1.200 EUR", "true", 7 → number plus unit hints."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Measure(None)
    if isinstance(value, bool):
        return Measure(float(value), "boolean")
    if isinstance(value, (int, float)):
        return Measure(float(value))
    text = str(value).strip()
    # Fast path for the commonest cells, "1200" and "45%": plain ASCII digits read the same
    # through parse_number (no sign, separator, currency or multiplier to find). At most 15
    # digits, so float() is exact and agrees with parse_number's Decimal route.
    percent = text.endswith("%")
    digits = text[:-1] if percent else text
    if len(digits) <= 15 and digits.isascii() and digits.isdigit():
        return Measure(float(digits), "percent" if percent else None)
    text = tf.unwrap_number(text)  # "[5]", "7."
    boolean = _try(tf.parse_bool, text) if not re.search(r"\d", text) else None
    if boolean is not None:
        return Measure(float(boolean), "boolean")
    decimal = options.get("decimal")
    try:
        if m := _PERCENT.fullmatch(text):
            return Measure(tf.parse_number(m.group(1), decimal=decimal), "percent")
        if m := _CURRENCY_BEFORE.fullmatch(text) or _CURRENCY_AFTER.fullmatch(text):
            sign = m.group("sign")
            code = _CURRENCY_SIGNS.get(sign, sign.upper())
            number = m.groupdict().get("minus", "") + m.group("number")  # "-$3"
            return Measure(tf.parse_number(number, decimal=decimal), "currency", code)
        return Measure(tf.parse_number(text, decimal=decimal))
    except tf.TransformError:  # name the whole cell, not the part left after a unit
        raise tf.TransformError(f'expected a number like "7", "45%" or "$1,200", got {value!r}') from None


def _try(fn: Callable, value: Any) -> Any:
    try:
        return fn(value)
    except tf.TransformError:
        return None


class CellError(tf.TransformError):
    """A cell that does not parse; ``column`` is its header, ``reason`` what was wrong."""

    def __init__(self, column: str, reason: str):
        super().__init__(f"column {column!r}: {reason}")
        self.column, self.reason = column, reason


@dataclass
class FieldSpec:
    columns: list[str]
    transform: str | None = None


@dataclass
class Column:
    """One header cell bound to a part's field (``field`` None: kept in the row part's ``extra``)."""

    index: int
    header: str
    part: str | None
    field: str | None
    transform: str | None


# The top-level keys of a mapping file (docs/mappings.md).
_FILE_KEYS = frozenset({"extends", "layout", "row_entity", "options", "entities", "any", "vocabularies", "row_type",
                        "short_rows", "name", "expect", "strict_values"})


@dataclass
class Mapping:
    name: str
    layout: str = "flat"
    row_entity: str = "key_result"
    options: dict[str, Any] = field(default_factory=dict)
    entities: dict[str, dict[str, FieldSpec]] = field(default_factory=dict)  # part → field → spec
    kinds: dict[str, str] = field(default_factory=dict)  # part → entity kind (default: the part's name)
    generic: dict[str, FieldSpec] = field(default_factory=dict)
    vocabularies: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    row_type: dict[str, Any] = field(default_factory=dict)  # {column, values: {cell: part}}
    short_rows: dict[str, list[str]] = field(default_factory=dict)  # row part → columns its short rows omit
    source: str = ""
    strict_values: bool = False  # a cell that does not convert rejects its record (else: kept as text, unparsed.py)
    choices: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)  # vocabulary → word key → value
    looked_up: frozenset[str] = frozenset()  # fields a lookup table replaces: read as text, parsed after the lookup

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, name_or_path: str | Path, base_dir: Path | None = None) -> Mapping:
        """A shipped mapping by name (``spreadsheet``) or a user's YAML file by path.

        A user's file may say ``extends: spreadsheet`` to change only what differs.
        """
        path = Path(name_or_path)
        if path.suffix not in (".yaml", ".yml"):
            shipped = sheet_mappings() / f"{name_or_path}.yaml"
            if not shipped.is_file():
                available = sorted(p.name[:-5] for p in sheet_mappings().iterdir() if p.name.endswith(".yaml"))
                raise MappingError(f"no shipped mapping named {str(name_or_path)!r}; available: {', '.join(available)} "
                                   "(or give the path of your own .yaml file)")
            with resources.as_file(shipped) as p:
                return cls.from_dict(load_yaml(p), str(name_or_path))
        if base_dir and not path.is_absolute():
            path = base_dir / path
        return cls.from_dict(load_yaml(path), str(path), base_dir=path.parent)

    @classmethod
    def from_dict(cls, raw: Any, source: str, base_dir: Path | None = None) -> Mapping:
        """The mapping a parsed mapping file describes (``source`` names it in errors): what it
        ``extends`` loaded first (relative to ``base_dir``), this file's keys over it, checked."""
        if not isinstance(raw, dict):
            raise MappingError(f"{source}: a mapping file is a YAML mapping with an 'entities' key")
        parent = cls.load(raw["extends"], base_dir) if raw.get("extends") else cls(name=source)
        for key in raw:
            if key not in _FILE_KEYS:
                raise MappingError(f"{_where(source, raw, key)}: unknown key; expected one of {', '.join(sorted(_FILE_KEYS))}")
        m = cls._over(parent, raw, source)
        if m.layout not in LAYOUTS:
            raise MappingError(f"{_where(source, raw, 'layout')}: unknown layout {m.layout!r}; use one of {', '.join(LAYOUTS)}")
        m._add_sections(raw, source)
        m._check_parts(raw)
        m.choices = {name: tf.choice_index(vocab, field=name) for name, vocab in m.vocabularies.items()}
        return m

    @classmethod
    def _over(cls, parent: Mapping, raw: dict, source: str) -> Mapping:
        """``parent`` with the file's top-level settings over it; its parts and vocabularies
        copied, so adding the file's own does not change the parent."""
        return cls(name=raw.get("name", source), layout=raw.get("layout", parent.layout),
                   row_entity=raw.get("row_entity", parent.row_entity),
                   options={**parent.options, **(raw.get("options") or {}), **({"expect": raw["expect"]} if "expect" in raw else {})},
                   entities={k: dict(v) for k, v in parent.entities.items()}, kinds=dict(parent.kinds),
                   generic=dict(parent.generic),
                   vocabularies={k: {c: list(w) for c, w in v.items()} for k, v in parent.vocabularies.items()},
                   row_type=raw.get("row_type", parent.row_type),
                   short_rows={**parent.short_rows, **(raw.get("short_rows") or {})}, source=source,
                   strict_values=bool(raw.get("strict_values", parent.strict_values)))

    def _add_sections(self, raw: dict, source: str) -> None:
        """The file's ``entities``, ``any`` and ``vocabularies`` added over the inherited ones."""
        for part, fields in (raw.get("entities") or {}).items():
            self._add_part(part, dict(fields or {}), raw, source)
        for name, spec in (raw.get("any") or {}).items():
            self.generic[name] = _spec(spec, f"{source}: any.{name}")
        for vocab, values in (raw.get("vocabularies") or {}).items():
            _merge_vocabulary(self.vocabularies.setdefault(vocab, {}), values or {})

    def _add_part(self, part: str, fields: dict, raw: dict, source: str) -> None:
        """One ``entities:`` part of a mapping file over what it extends. A column the file
        names for a field is that field's: it is taken from the fields the file inherits (the
        base's ``Quarter`` under ``period`` when the file says ``start: [Quarter]``), and a
        column the file names for two fields is an error (a column reads into one field)."""
        kind = fields.pop("kind", self.kinds.get(part, part))
        if kind not in REFERENCES:
            raise MappingError(f"{_where(source, raw['entities'], part)}: unknown entity {kind!r}; "
                               f"use one of {', '.join(REFERENCES)} (or give the part a 'kind:')")
        self.kinds[part] = kind
        target = self.entities.setdefault(part, {})
        named: dict[str, str] = {}  # normalised column → the field this file names it for
        for name, spec in fields.items():
            target[name] = _spec(spec, f"{source}: entities.{part}.{name}")
            for col in target[name].columns:
                other = named.setdefault(tf.normalise_key(col), name)
                if other != name:
                    raise MappingError(f"{_where(source, raw['entities'][part], name)}: column {col!r} is named for "
                                       f"both {part}.{other} and {part}.{name}; a column reads into one field: "
                                       "name it under one of them")
        for name, spec in target.items():
            if name not in fields and any(tf.normalise_key(c) in named for c in spec.columns):
                target[name] = dataclasses.replace(spec, columns=[c for c in spec.columns
                                                                  if tf.normalise_key(c) not in named])

    def _check_parts(self, raw: dict) -> None:
        """``row_entity``, ``row_type`` values and ``short_rows`` keys must name parts."""
        named = {"row_entity": [self.row_entity], "row_type": list((self.row_type.get("values") or {}).values()),
                 "short_rows": list(self.short_rows)}
        for key, parts in named.items():
            for part in parts:
                if part not in self.entities and part not in REFERENCES:
                    raise MappingError(f"{_where(self.source, raw, key)}: {part!r} is not an entity part of this "
                                       f"mapping; use one of {', '.join(self.entities)}")

    def with_options(self, **options: Any) -> Mapping:
        """A copy whose options are overridden by an endpoint's config (fiscal year, date order …)."""
        clone = Mapping(**{**self.__dict__})
        clone.options = {**self.options, **{k: v for k, v in options.items() if v is not None}}
        return clone

    # ------------------------------------------------------------ parts

    def kind(self, part: str) -> str:
        return self.kinds.get(part, part)

    def parts_of(self, kind: str) -> list[str]:
        return [p for p in self.entities if self.kind(p) == kind] or [kind]

    def row_parts(self) -> list[str]:
        """The parts a ``row_type`` column can name, in the mapping's order."""
        return list(dict.fromkeys((self.row_type.get("values") or {}).values()))

    def context_parts(self, part: str) -> list[str]:
        """Parts whose columns a flat row of ``part`` may repeat: its ancestors.

        An ancestor is a part of a kind the row's kind refers to (a KR's objective, an
        initiative's KR and objective), or a part of the same kind declared earlier (an
        activity's initiative).
        """
        kind, order = self.kind(part), list(self.entities)
        ancestors, todo = set(), [kind]
        while todo:
            for target in REFERENCES.get(todo.pop(), {}).values():
                if target not in ancestors and target not in (kind, "*"):
                    ancestors.add(target)
                    todo.append(target)
        same = [p for p in order[: order.index(part)] if self.kind(p) == kind] if part in order else []
        return [p for p in order if p in same or self.kind(p) in ancestors]

    def ref_parts(self, part: str) -> list[str]:
        """Other parts a row of ``part`` can point at by their id or title columns."""
        refs = set(REFERENCES.get(self.kind(part), {}).values())
        return [p for p in self.entities if p != part and self.kind(p) in refs]

    def reference(self, part: str, target_part: str) -> str | None:
        """The field of ``part`` that points at ``target_part``: objective_id, parent_id …"""
        target = self.kind(target_part)
        return next((ref for ref, t in REFERENCES.get(self.kind(part), {}).items() if t == target), None)

    # ------------------------------------------------------------ binding a header

    def score_header(self, cells: list[Any]) -> int:
        """How many cells of a row look like known column names (finds the header row)."""
        known = self._known_names()
        return sum(1 for c in cells if isinstance(c, str) and tf.normalise_key(c) in known)

    def _known_names(self) -> set[str]:
        specs = [s for fields in self.entities.values() for s in fields.values()] + list(self.generic.values())
        names = {tf.normalise_key(c) for s in specs for c in s.columns}
        if self.row_type.get("column"):
            names.add(tf.normalise_key(self.row_type["column"]))
        return names

    def bind(self, header: list[Any], own: str, *, context: list[str] = (), refs: list[str] = (),
             where: str = "") -> Binding:
        """Resolve each header cell to a (part, field) for rows that hold ``own``.

        Names are looked up in ``own``'s fields, then ``any:``, then the ``context`` parts'
        fields; a ``refs`` part's id and title columns become ``own``'s reference to it
        (``objective_id`` / ``objective_title``). The first column to claim a field wins;
        the rest, and unknown headers, go to ``extra``.
        """
        aliases = self._aliases(own, context, refs)
        columns: list[Column] = []
        taken: set[tuple[str, str]] = set()
        for index, cell in enumerate(header):
            name = "" if cell is None else str(cell).strip()
            target = aliases.get(tf.normalise_key(name)) if name else None
            if target is None and " / " in name:  # a two-row header's "Group / Name": by either part
                target = aliases.get(tf.normalise_key(name.rsplit(" / ", 1)[1])) or aliases.get(
                    tf.normalise_key(name.split(" / ", 1)[0]))
            if target and (target[0], target[1]) not in taken:
                taken.add((target[0], target[1]))
                columns.append(Column(index, name, *target))
            else:
                columns.append(Column(index, name or f"column {index + 1}", None, None, None))
        if self.kind(own) in TITLED and not any(c.field in ("title", "id") and c.part in (own, *context) for c in columns):
            wanted = ", ".join(self._columns_for(own, "title")[:4])
            raise MappingError(f"{where}: no title column found for {own.replace('_', ' ')} rows (looked for {wanted}); "
                               "name your columns in a mapping file (docs/mappings.md)")
        return Binding(self, columns, own)

    def _aliases(self, own: str, context: list[str], refs: list[str]) -> dict[str, tuple[str, str, str | None]]:
        found: dict[str, tuple[str, str, str | None]] = {}

        def add(spec: FieldSpec, part: str, name: str, transform: str | None) -> None:
            for col in spec.columns:
                found.setdefault(tf.normalise_key(col), (part, name, transform))

        if self.row_type.get("column"):
            found[tf.normalise_key(self.row_type["column"])] = (own, "__row_type__", None)
        for name, spec in self.entities.get(own, {}).items():  # the row's own names win
            add(spec, own, name, spec.transform)
        for name, spec in self.generic.items():
            add(spec, own, name, spec.transform)
        for part in context:
            for name, spec in self.entities.get(part, {}).items():
                add(spec, part, name, spec.transform)
        for part in refs:
            ref = self.reference(own, part)
            for name in ("id", "title") if ref else ():
                spec = self.entities.get(part, {}).get(name)
                if spec:
                    add(spec, own, ref if name == "id" else ref.removesuffix("_id") + "_title", None)
        return found

    def _columns_for(self, part: str, name: str) -> list[str]:
        spec = self.entities.get(part, {}).get(name) or self.generic.get(name)
        return spec.columns if spec else [name]

    def write_header(self, part: str, name: str) -> str:
        """The column name written for a field: the first name the mapping lists."""
        spec = self.entities.get(part, {}).get(name) or self.generic.get(name)
        return spec.columns[0] if spec and spec.columns else name.replace("_", " ").capitalize()

    def written_fields(self, part: str) -> list[str]:
        """Fields a writer puts in columns for a part, in the mapping's order."""
        return [f for f in self.entities.get(part, {}) if not f.endswith("_title")]

    # ------------------------------------------------------------ values

    def parse_value(self, kind: str, name: str, transform: str | None, value: Any) -> Any:
        """One cell → one canonical value; raises tf.TransformError with the reason."""
        transform = transform or FIELD_TRANSFORMS.get(name, "text")
        if name == "start" and kind != "key_result":
            transform = "date"
        if name in DATE_FIELDS and transform == "text":
            transform = "date"
        if transform == "text":  # titles, descriptions, owners: most cells of an import
            return tf.parse_text(value)
        o = self.options
        if transform == "measure":
            return parse_measure(value, o)
        if transform == "number":
            return tf.parse_number(value, decimal=o.get("decimal"))
        if transform == "percent":
            return tf.parse_percent(value, scale=o.get("percent_scale", "auto"))
        if transform == "scaled":
            return tf.parse_scaled(value, scale=o.get("progress_scale", "auto"))
        if transform == "date":
            return tf.parse_date(value, order=o.get("date_order", "ymd"))
        if transform == "datetime":
            return tf.parse_datetime(value, order=o.get("date_order", "ymd"), tz=timezone(o.get("timezone"), self.source))
        if transform == "period":
            return period_or_label(value, o)
        if transform == "choice":
            return self._choice(name, value)
        if transform == "confidence":
            return self._confidence(value)
        if transform == "levels":
            try:
                return ordinal.parse(value)
            except ValueError as e:
                raise tf.TransformError(str(e)) from None
        if transform in tf.TRANSFORMS:
            return tf.TRANSFORMS[transform](value)
        raise MappingError(f"{self.source}: unknown transform {transform!r} for {kind}.{name}; "
                           f"use one of measure, {', '.join(tf.TRANSFORMS)}")

    def converter(self, kind: str, name: str, transform: str | None) -> Callable[[Any], Any]:
        """``parse_value`` for one column, with the transform resolved once: text and measure
        columns (most cells of an import) skip the per-cell dispatch; the rest go through
        ``parse_value`` itself, so errors (an unknown transform too) surface as before."""
        if name in self.looked_up:
            return tf.parse_text
        resolved = transform or FIELD_TRANSFORMS.get(name, "text")
        if name == "start" and kind != "key_result":
            resolved = "date"
        if name in DATE_FIELDS and resolved == "text":
            resolved = "date"
        if resolved == "text":
            return tf.parse_text
        if resolved == "measure":
            return lambda value: parse_measure(value, self.options)
        return functools.partial(self.parse_value, kind, name, transform)

    def _choice(self, name: str, value: Any) -> str | None:
        """A vocabulary word → its canonical value (symbols such as "%" and "$" too)."""
        if name not in self.choices:
            return tf.parse_text(value)
        return tf.parse_choice(value, self.vocabularies[name], field=name, index=self.choices[name])

    def _confidence(self, value: Any) -> float | None:
        """A number, or a word of the ``confidence`` vocabulary ("High", "alta", "hoch") as the
        number it stands for (shipped: 0.85 / 0.55 / 0.2 on the default 0–1 scale)."""
        try:
            return tf.parse_number(value, decimal=self.options.get("decimal"))
        except tf.TransformError:
            if "confidence" not in self.choices:
                raise
        try:
            return float(tf.parse_choice(value, self.vocabularies["confidence"], field="confidence",
                                         index=self.choices["confidence"]))
        except tf.TransformError:
            words = ", ".join(f'"{w[0]}"' for w in self.vocabularies["confidence"].values() if w)
            raise tf.TransformError(f"expected a confidence number or one of {words}, got {value!r}") from None

    def render_value(self, name: str, value: Any) -> Any:
        """A canonical value → the cell written: vocabularies in their first (display) form."""
        if value is None:
            return None
        vocab = self.vocabularies.get(name)
        if vocab and isinstance(value, str) and vocab.get(value):
            return vocab[value][0]
        return value


def period_or_label(value: Any, options: dict) -> tf.PeriodLabel | str | None:
    """A period cell: a recognised label with its dates (``2025-Q3``, ``Q3 2024``, ``FY25 Q1``,
    ``GJ 2025/26``, ``2025 S1``, ``Jul–Sep 2026`` …) and the text as written (``text``), else
    the label as written without dates ("Rolling", "during 2025", "Q1+Q2 2025"): a period
    never rejects its record. ``periods.settle`` puts it in a record."""
    fiscal = {"fiscal_year_start": int(options.get("fiscal_year_start", 1)),
              "fiscal_year_naming": options.get("fiscal_year_naming", "end")}
    if isinstance(value, tf.PeriodLabel):
        return value
    try:
        found = tf.parse_period(value, **fiscal)
    except tf.TransformError:
        try:
            months = tf.parse_month_range(value)  # a quarter or half that names its months
        except tf.TransformError:
            months = None
        found = tf.parse_period(months, **fiscal) if months else None
    # the label is kept as written ("Q3 2024"); the canonical one and the dates go beside it
    return dataclasses.replace(found, text=tf.parse_text(value)) if found else tf.parse_text(value)


@functools.lru_cache(maxsize=32)
def timezone(name: str | None, source: str = "") -> dt.tzinfo:
    """The zone a mapping's ``timezone`` option names (default UTC): times without an offset
    are read in it."""
    if not name or name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"{source}: options.timezone: unknown time zone {name!r}; give an IANA name such as "
                           "Europe/Berlin or America/New_York") from None


def declared_zone(conn: Any) -> str | None:
    """The zone an endpoint reading through a mapping (sheets, JSON/YAML files) reads times
    without an offset in: its ``timezone`` option, default UTC. None for other connectors
    (the APIs okrsync reads give offsets)."""
    mapping = getattr(conn, "mapping", None)
    mapping = getattr(mapping, "values", mapping)  # a structured mapping holds its value mapping
    return mapping.options.get("timezone") or "UTC" if isinstance(mapping, Mapping) else None


def _merge_vocabulary(vocab: dict[str, list[str]], values: dict[str, Any]) -> None:
    """Add a mapping's words; a word it gives a new meaning leaves its old value."""
    for canonical, words in values.items():
        words = [str(w) for w in (words or [])]
        keys = {tf.choice_key(w) for w in words}
        for other, old in vocab.items():
            if other != canonical:
                vocab[other] = [w for w in old if tf.choice_key(w) not in keys]
        vocab[canonical] = words + [w for w in vocab.get(canonical, []) if tf.choice_key(w) not in keys]


def _spec(raw: Any, where: str) -> FieldSpec:
    if isinstance(raw, str):
        return FieldSpec([raw])
    if isinstance(raw, list):
        return FieldSpec([str(c) for c in raw])
    if isinstance(raw, dict) and "columns" in raw:
        cols = raw["columns"]
        return FieldSpec([cols] if isinstance(cols, str) else [str(c) for c in cols], raw.get("transform"))
    raise MappingError(f"{where}: give a column name, a list of names, or {{columns: [...], transform: NAME}}")


def _where(source: str, mapping: Any, key: str) -> str:
    line = getattr(mapping, "lines", {}).get(key)
    return f"{source}: line {line}: {key}" if line else f"{source}: {key}"


class Table:
    """A mapping applied to one table's header: the part each row holds and how it reads.

    Untyped flat and hierarchical rows hold ``part`` plus its context (the objective
    columns repeated on a KR row). Rows of a ``row_type`` table, and every row of a linked
    table, hold one entity; other parts' id and title columns are references to them.
    """

    def __init__(self, mapping: Mapping, header: list[Any], layout: str, part: str, where: str = ""):
        self.mapping, self.header, self.layout, self.where = mapping, header, layout, where
        self.typed = bool(mapping.row_type.get("column")) and layout != "linked"
        self.parts = mapping.row_parts() if self.typed else [part]
        self._bindings: dict[str, Binding] = {}
        self._type_index = next((i for i, c in enumerate(header) if self.typed and c is not None
                                 and tf.normalise_key(str(c)) == tf.normalise_key(mapping.row_type["column"])), None)
        if self.typed and self._type_index is None:
            raise MappingError(f"{where}: no row type column {mapping.row_type['column']!r} (the mapping's row_type)")
        for p in self.parts:
            self.binding(p)

    def binding(self, own: str) -> Binding:
        """How a row holding ``own`` reads (made once per part)."""
        if own not in self._bindings:
            single = self.typed or self.layout == "linked"
            self._bindings[own] = self.mapping.bind(
                self.header, own, context=[] if single else self.mapping.context_parts(own),
                refs=self.mapping.ref_parts(own) if single else [], where=self.where)
        return self._bindings[own]

    def bindings(self) -> list[Binding]:
        """The bindings made so far: every row part's, and those of rows read as their context."""
        return list(self._bindings.values())

    @property
    def unmapped(self) -> list[str]:
        """Headers no row part of this table reads into a field."""
        mapped = {c.index for b in self._bindings.values() for c in b.columns if c.field}
        return [c.header for c in self.binding(self.parts[0]).columns if c.index not in mapped]

    def row_part(self, cells: list[Any]) -> str | None:
        """The part a row holds: the table's, or the one its row type cell names."""
        if not self.typed:
            return self.parts[0]
        cell = cells[self._type_index] if self._type_index < len(cells) else None
        key = tf.normalise_key(str(cell or ""))
        for value, part in (self.mapping.row_type.get("values") or {}).items():
            if tf.normalise_key(str(value)) == key:
                return part
        return None

    def realign(self, cells: list[Any], part: str) -> list[Any] | None:
        """A short row of a part the mapping's ``short_rows`` names, with the columns such
        rows leave out put back as empty cells; None when the rule does not apply."""
        omitted = self.mapping.short_rows.get(part)
        if not omitted or len(cells) >= len(self.header):
            return None
        wanted = {tf.normalise_key(c) for c in omitted}
        gaps = [i for i, h in enumerate(self.header) if h is not None and tf.normalise_key(str(h)) in wanted]
        if len(cells) + len(gaps) > len(self.header):
            return None
        cells = list(cells)
        for i in gaps:
            cells.insert(i, None)
        return cells


_MISS, _SKIP, _KEPT = object(), object(), object()
_MEMO_MAX = 100_000  # parsed cells remembered per binding
_UNIQUE = {"id", "title", "description"}  # cells that rarely repeat: not worth remembering
# parsed values safe to share between rows (lists and dicts from JSON cells are not)
_IMMUTABLE = (str, int, float, bool, dt.date, dt.time, dt.timedelta, Measure, tf.PeriodLabel)


@dataclass
class Binding:
    """A header bound for rows holding one part: parses their cells."""

    mapping: Mapping
    columns: list[Column]
    own: str
    # column index → {cell (or (cell type, cell)) → parsed value}. Statuses, owners, periods,
    # dates and, in a flat sheet, every objective cell repeat row after row; parsing is most
    # of an import's time.
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    _memo_size: int = field(default=0, repr=False, compare=False)
    _steps: list | None = field(default=None, repr=False, compare=False)  # made by _compile
    # made by _compile with _steps: context parts parsed once per run of equal cells (parse)
    _repeats: list | None = field(default=None, repr=False, compare=False)
    _own_steps: list = field(default_factory=list, repr=False, compare=False)
    _width: int = field(default=0, repr=False, compare=False)
    _last: list = field(default_factory=list, repr=False, compare=False)  # per context part: (cells, fields)

    def header_for(self, part: str, name: str) -> str | None:
        """This table's own column name for a part's field, or None."""
        return next((c.header for c in self.columns if c.field == name and c.part == part), None)

    def parse(self, cells: list[Any], endpoint: str, where: str = "") -> dict[str, dict[str, Any]]:
        """Cells → {part: {field: value}}; unmapped cells → the own part's ``extra``.

        A cell that does not parse is kept as text (``unparsed.keep``) unless it identifies
        or places the record, or the mapping says ``strict_values``: then raises ``CellError``
        naming the column.

        A context part's dict (the objective on a KR row) is the very dict of the row before
        when its cells are the same: callers must not change the dicts in place.
        """
        steps = self._steps or self._compile()
        repeats = self._repeats
        if repeats is None or len(cells) < self._width:
            return self._fill(steps, cells, endpoint, {})
        out: dict[str, dict[str, Any]] = {}
        # A flat sheet repeats its objective's cells on every KR row: those of each context
        # part are parsed once per run of equal cells, not once per row (issue 21).
        for i, (part, part_steps, take) in enumerate(repeats):
            key, last = take(cells), self._last[i]
            if last is not None and last[0] == key:
                fields = last[1]
            else:
                fields = self._fill(part_steps, cells, endpoint, {}).get(part)
                # values shared between rows must be immutable (lists from JSON cells are not)
                shareable = fields is None or all(isinstance(v, _IMMUTABLE) for v in fields.values())
                self._last[i] = (key, fields) if shareable else None
            if fields is not None:
                out[part] = fields
        return self._fill(self._own_steps, cells, endpoint, out)

    def _fill(self, steps: list[tuple], cells: list[Any], endpoint: str, out: dict) -> dict[str, dict[str, Any]]:
        """The cells of ``steps`` parsed into ``out`` (``parse``)."""
        n, own = len(cells), self.own
        at, fields = None, None  # the part ``fields`` is the dict of: a run of cells fills one part
        for index, part, name, header, memo, convert in steps:
            value = cells[index] if index < n else None
            if value is None or value == "":  # an empty cell is nothing, whatever its column
                continue
            if memo is None:  # ids, titles, descriptions: rarely repeat, not remembered
                if convert is _TEXT and value.__class__ is str:
                    # _parse_cell inlined for the commonest cell (300,000 of a 50,000-row
                    # import): parse_text gives None exactly for blank text, which is skipped
                    parsed = _TEXT(value)
                    if parsed is None:
                        continue
                else:
                    parsed = self._tolerant(value, header, convert, part, name, endpoint, out)
            else:
                # str cells (all of a CSV) are their own key; others carry their class,
                # as 1, 1.0 and True are equal keys
                key = value if value.__class__ is str else (value.__class__, value)
                parsed = memo.get(key, _MISS)
                if parsed is _MISS:
                    parsed = self._tolerant(value, header, convert, part, name, endpoint, out)
                    if self._memo_size < _MEMO_MAX and (parsed is _SKIP or isinstance(parsed, _IMMUTABLE)):
                        memo[key] = parsed
                        self._memo_size += 1
            if parsed is _SKIP or parsed is _KEPT:
                continue
            if name is None:
                part, name = own, f"extra.{endpoint}.{header}"
            if part is not at:
                at, fields = part, out.get(part)
                if fields is None:  # not setdefault(part, {}): that makes a dict per cell
                    fields = out[part] = {}
            fields[name] = parsed
        return out

    def _tolerant(self, value: Any, header: str, convert: Callable[[Any], Any], part: str, name: str | None,
                  endpoint: str, out: dict) -> Any:
        """``_parse_cell``, keeping a cell that does not parse where only a secondary field fails."""
        try:
            return _parse_cell(value, header, convert)
        except CellError as e:
            if self.mapping.strict_values or unparsed.rejects(name):
                raise
            # a field the model lacks keeps its own extra key (a write puts it back from there)
            column = header if name in MODEL_FIELDS[self.mapping.kind(part)] else name
            unparsed.keep(out.setdefault(part, {}), endpoint, column, value, e.reason)
            return _KEPT  # never remembered: the next row with this cell must keep it too

    def _compile(self) -> list[tuple]:
        """Per column, once: (index, part, field, header, memo or None, converter).

        A 50,000-row import parses 1.5 million cells; resolving each column's transform
        and memo once, instead of per cell, is a good part of the parsing time.
        """
        steps = []
        for col in self.columns:
            if col.field == "__row_type__":
                convert = _skip
            elif col.field is None:
                convert = _cell_text
            else:
                convert = self.mapping.converter(self.mapping.kind(col.part), col.field, col.transform)
            memo = None if col.field in _UNIQUE else self.memo.setdefault(col.index, {})
            steps.append((col.index, col.part, col.field, col.header, memo, convert))
        self._repeats, self._own_steps, self._width = self._runs(steps)
        self._last = [None] * len(self._repeats or ())
        self._steps = steps
        return steps

    def _runs(self, steps: list[tuple]) -> tuple[list | None, list[tuple], int]:
        """(context part, its steps, a getter of its cells) per context part, and the own
        part's steps, when each context part's columns come in one run before the own
        part's (a flat sheet: objective columns, then KR columns). Parsed part by part, a
        row's parts then come out in the order the column-by-column loop gives them.
        None otherwise, or when there is no context part: every row is parsed whole."""
        def target(step: tuple) -> str:
            return self.own if step[2] is None else step[1]  # an unmapped cell goes to the own part's extra

        runs = [(part, list(group)) for part, group in itertools.groupby(steps, key=target)]
        parts = [part for part, _ in runs]
        context = parts[:-1] if parts and parts[-1] == self.own else parts
        if not context or self.own in context or len(set(context)) != len(context):
            return None, steps, 0
        repeats = [(part, group, operator.itemgetter(*[s[0] for s in group])) for part, group in runs[:len(context)]]
        own_steps = runs[-1][1] if len(runs) > len(context) else []
        return repeats, own_steps, max(s[0] for s in steps) + 1


_TEXT = tf.parse_text


def _parse_cell(value: Any, header: str, convert: Callable[[Any], Any]) -> Any:
    """One non-empty cell through its column's converter; blank text is skipped."""
    if isinstance(value, str) and not value.strip():
        return _SKIP
    try:
        return convert(value)
    except tf.TransformError as e:
        raise CellError(header, str(e)) from None


def _skip(value: Any) -> Any:
    return _SKIP


def settle_key_result(fields: dict[str, Any]) -> None:
    """Turn parsed ``Measure``s into numbers, inferring unit, currency and direction.

    An explicit unit or direction column wins; otherwise "45%" means percent, "$5" a USD
    currency KR, "yes"/"no" a binary KR, and a target below its start a decreasing KR.
    """
    hints: list[Measure] = []
    for name in ("start", "current", "target", "range_low", "range_high"):
        value = fields.get(name)
        if value.__class__ is Measure:  # a class test, not isinstance: five per KR read
            fields[name] = value.value
            hints.append(value)
    if "unit" not in fields:
        units = {m.unit for m in hints if m.unit}
        if len(units) == 1:
            fields["unit"] = units.pop()
    if fields.get("unit") == "currency" and "currency" not in fields:
        codes = {m.currency for m in hints if m.currency}
        if len(codes) == 1:
            fields["currency"] = codes.pop()
    if "direction" not in fields:
        start, target = fields.get("start"), fields.get("target")
        if fields.get("unit") == "boolean":
            fields["direction"] = "binary"
        elif fields.get("range_low") is not None or fields.get("range_high") is not None:
            fields["direction"] = "range"
        elif start is not None and target is not None and target < start:
            fields["direction"] = "decrease"
        elif fields.get("levels"):  # level columns make a KR measured by levels (okrsync.levels)
            fields["direction"] = "levels"
    if fields.get("direction") == "levels" and fields.get("level"):
        fields["level"] = ordinal.canonical(fields.get("levels"), fields["level"])


def settle_record(fields: dict[str, Any], extra: dict[str, Any], endpoint: str) -> None:
    """The last steps from converted values to a record's fields, in place, as every reader
    of a file takes them: the period settled (``periods.settle``), then each parsed value a
    record holds as JSON (a measure, a period label) in its JSON form."""
    periods.settle(fields, extra, endpoint)
    # most records hold none (a KR's measures are settled already): one C-level scan of the
    # values' classes first, not a Python loop over every field of every record
    if _JSON_LATER.isdisjoint(map(type, fields.values())):
        return
    for name, value in fields.items():
        if value.__class__ in _JSON_LATER:  # a class test: isinstance per field showed on big imports
            fields[name] = json_value(value)


def lacking(kind: str, fields: dict[str, Any]) -> str | None:
    """What a record of ``kind`` cannot be without and ``fields`` lack, for each reader to say
    in its own terms (a column to fill, a part to nest under): "title" (an objective, KR or
    initiative), "objective" (a KR), "key result and date" (a check-in); None when nothing."""
    if kind in TITLED and not fields.get("title"):
        return "title"
    if kind == "key_result" and not fields.get("objective_id"):
        return "objective"
    if kind == "check_in" and not (fields.get("key_result_id") and fields.get("at")):
        return "key result and date"
    return None


def nest_extra(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"extra.<ns>.<key>": value}`` as an entity's ``extra``: ``{ns: {key: value}}``."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        _, ns, name = key.split(".", 2)
        nested.setdefault(ns, {})[name] = value
    return nested


def json_value(value: Any) -> Any:
    """A parsed value as JSON can hold it (extra fields are stored as JSON)."""
    if isinstance(value, Measure):
        return value.value
    if isinstance(value, tf.PeriodLabel):
        return value.label
    return _cell_text(value)


def _cell_text(value: Any) -> Any:
    """Unmapped cells are kept as the spreadsheet gave them, in JSON-friendly form."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (dt.time, dt.timedelta)):
        return str(value)
    return value
