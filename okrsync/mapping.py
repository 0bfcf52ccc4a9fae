"""Declarative mappings: a tool's columns or fields ↔ canonical fields, with value transforms.

A mapping file (YAML, see ``mappings/spreadsheet.yaml``) says, per entity kind, which
columns may hold each canonical field (matched case-, space- and punctuation-blind), plus
``any:`` columns that belong to whatever entity a row describes (``Owner``, ``Status``).
Values go through a transform chosen by the field (``start`` → a measure such as "45%" or
"$1,200", ``period`` → "Q3 2024", ``status`` → the status vocabulary …) or named in the
file. Columns nothing claims are kept in ``extra`` and listed in the run summary.

``Mapping.bind(header)`` resolves a header once; the returned ``Binding`` parses rows
(``parse``) and renders canonical fields back into cells (``render``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from . import transforms as tf
from .config import load_yaml
from .errors import MappingError
from .model import REFERENCES

# The transform each canonical field gets unless the mapping names another.
FIELD_TRANSFORMS = {
    "start": "measure", "current": "measure", "target": "measure", "range_low": "measure",
    "range_high": "measure", "value": "measure", "weight": "number", "confidence": "number",
    "progress": "scaled", "due": "date", "end": "date", "at": "datetime", "period": "period",
    "status": "choice", "direction": "choice", "unit": "choice", "type": "choice", "primary": "bool",
}
DATE_FIELDS = {"due", "end"}  # ``start`` is a date on objectives and initiatives, a number on KRs
LAYOUTS = ("flat", "hierarchical", "linked")
_MEASURE = re.compile(r"^\s*([$€£¥]|[A-Z]{3}(?=[\s\d]))?\s*(.*?)\s*(%|(?i:percent|pct)|(?<=[\d\s])[A-Z]{3})?\s*$")
_CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


@dataclass(frozen=True)
class Measure:
    """A KR value as a cell gave it, with what its text said about the unit."""

    value: float | None
    unit: str | None = None
    currency: str | None = None


def parse_measure(value: Any, options: dict) -> Measure:
    """"45%", "60 percent", "$1,200", "1.200 EUR", "true", 7 → number plus unit hints."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Measure(None)
    if isinstance(value, bool):
        return Measure(float(value), "boolean")
    if isinstance(value, (int, float)):
        return Measure(float(value))
    text = str(value).strip()
    boolean = _try(tf.parse_bool, text) if not re.search(r"\d", text) else None
    if boolean is not None:
        return Measure(float(boolean), "boolean")
    m = _MEASURE.match(text)
    prefix, number, suffix = (m.group(1) or "").strip(), m.group(2), (m.group(3) or "").strip()
    if not number:
        raise tf.TransformError(f"expected a number such as 45, \"45%\" or \"$1,200\", got {text!r}")
    if suffix.lower() in ("%", "percent", "pct"):
        return Measure(tf.parse_number(number, decimal=options.get("decimal")), "percent")
    currency = _CURRENCY_SIGNS.get(prefix) or prefix or suffix or None
    if currency:
        return Measure(tf.parse_number(number, decimal=options.get("decimal")), "currency", currency)
    return Measure(tf.parse_number(text, decimal=options.get("decimal")))


def _try(fn: Callable, value: Any) -> Any:
    try:
        return fn(value)
    except tf.TransformError:
        return None


@dataclass
class FieldSpec:
    columns: list[str]
    transform: str | None = None


@dataclass
class Column:
    """One header cell bound to a canonical field (or to ``extra`` when ``field`` is None)."""

    index: int
    header: str
    part: str | None  # None: the row's own part
    field: str | None
    transform: str | None


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
    row_type: dict[str, Any] = field(default_factory=dict)  # {column, values: {cell: kind}}
    source: str = ""

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, name_or_path: str | Path, base_dir: Path | None = None) -> Mapping:
        """A shipped mapping by name (``spreadsheet``) or a user's YAML file by path.

        A user's file may say ``extends: spreadsheet`` to change only what differs.
        """
        path = Path(name_or_path)
        if path.suffix not in (".yaml", ".yml"):
            shipped = resources.files("okrsync.mappings") / f"{name_or_path}.yaml"
            if not shipped.is_file():
                available = sorted(p.name[:-5] for p in resources.files("okrsync.mappings").iterdir() if p.name.endswith(".yaml"))
                raise MappingError(f"no shipped mapping named {str(name_or_path)!r}; available: {', '.join(available)} "
                                   "(or give the path of your own .yaml file)")
            with resources.as_file(shipped) as p:
                return cls.from_dict(load_yaml(p), str(name_or_path))
        if base_dir and not path.is_absolute():
            path = base_dir / path
        return cls.from_dict(load_yaml(path), str(path), base_dir=path.parent)

    @classmethod
    def from_dict(cls, raw: Any, source: str, base_dir: Path | None = None) -> Mapping:
        if not isinstance(raw, dict):
            raise MappingError(f"{source}: a mapping file is a YAML mapping with an 'entities' key")
        parent = cls.load(raw["extends"], base_dir) if raw.get("extends") else cls(name=source)
        known = {"extends", "layout", "row_entity", "options", "entities", "any", "vocabularies", "row_type", "name"}
        for key in raw:
            if key not in known:
                raise MappingError(f"{_where(source, raw, key)}: unknown key; expected one of {', '.join(sorted(known))}")
        m = cls(name=raw.get("name", source), layout=raw.get("layout", parent.layout),
                row_entity=raw.get("row_entity", parent.row_entity), options={**parent.options, **(raw.get("options") or {})},
                entities={k: dict(v) for k, v in parent.entities.items()}, kinds=dict(parent.kinds),
                generic=dict(parent.generic),
                vocabularies={k: dict(v) for k, v in parent.vocabularies.items()},
                row_type=raw.get("row_type", parent.row_type), source=source)
        if m.layout not in LAYOUTS:
            raise MappingError(f"{_where(source, raw, 'layout')}: unknown layout {m.layout!r}; use one of {', '.join(LAYOUTS)}")
        for part, fields in (raw.get("entities") or {}).items():
            fields = dict(fields or {})
            kind = fields.pop("kind", m.kinds.get(part, part))
            if kind not in REFERENCES:
                raise MappingError(f"{_where(source, raw['entities'], part)}: unknown entity {kind!r}; "
                                   f"use one of {', '.join(REFERENCES)} (or give the part a 'kind:')")
            m.kinds[part] = kind
            target = m.entities.setdefault(part, {})
            for name, spec in fields.items():
                target[name] = _spec(spec, f"{source}: entities.{part}.{name}")
        for name, spec in (raw.get("any") or {}).items():
            m.generic[name] = _spec(spec, f"{source}: any.{name}")
        for vocab, values in (raw.get("vocabularies") or {}).items():
            m.vocabularies.setdefault(vocab, {}).update({k: list(v or []) for k, v in values.items()})
        return m

    def with_options(self, **options: Any) -> Mapping:
        """A copy whose options are overridden by an endpoint's config (fiscal year, date order …)."""
        clone = Mapping(**{**self.__dict__})
        clone.options = {**self.options, **{k: v for k, v in options.items() if v is not None}}
        return clone

    # ------------------------------------------------------------ binding a header

    def parts_of(self, kind: str) -> list[str]:
        return [p for p in self.entities if self.kinds.get(p, p) == kind] or [kind]

    def score_header(self, cells: list[Any], parts: tuple[str, ...]) -> int:
        """How many cells of a row look like known column names (finds the header row)."""
        known = self._aliases(parts)
        return sum(1 for c in cells if isinstance(c, str) and tf.normalise_key(c) in known)

    def bind(self, header: list[Any], parts: tuple[str, ...], where: str = "") -> Binding:
        """Resolve each header cell to (part, field); unknown headers go to ``extra``.

        ``parts`` are the entity parts a row of this table may hold, the row's own first
        (unless the mapping's ``row_type`` column says which part a row is).
        """
        aliases = self._aliases(parts)
        columns: list[Column] = []
        taken: set[tuple[str | None, str]] = set()
        for index, cell in enumerate(header):
            name = "" if cell is None else str(cell).strip()
            target = aliases.get(tf.normalise_key(name)) if name else None
            if target and (target[0], target[1]) not in taken:
                taken.add((target[0], target[1]))
                columns.append(Column(index, name, target[0], target[1], target[2]))
            else:
                columns.append(Column(index, name or f"column {index + 1}", None, None, None))
        if not any(c.field in ("title", "id") for c in columns):
            wanted = ", ".join(self._columns_for(parts[0], "title")[:4])
            raise MappingError(f"{where}: no title column found (looked for {wanted}); "
                               "name your columns in a mapping file (README: Mappings)")
        return Binding(self, columns, parts)

    def _aliases(self, parts: tuple[str, ...]) -> dict[str, tuple[str | None, str, str | None]]:
        found: dict[str, tuple[str | None, str, str | None]] = {}
        if self.row_type.get("column"):
            found[tf.normalise_key(self.row_type["column"])] = (None, "__row_type__", None)
        for part in parts:  # entity-specific names first: they win over generic ones
            for name, spec in self.entities.get(part, {}).items():
                for col in spec.columns:
                    found.setdefault(tf.normalise_key(col), (part, name, spec.transform))
        for name, spec in self.generic.items():
            for col in spec.columns:
                found.setdefault(tf.normalise_key(col), (None, name, spec.transform))
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
            return tf.parse_datetime(value, order=o.get("date_order", "ymd"))
        if transform == "period":
            p = tf.parse_period(value, fiscal_year_start=int(o.get("fiscal_year_start", 1)),
                                fiscal_year_naming=o.get("fiscal_year_naming", "end"))
            return p
        if transform == "choice":
            vocab = self.vocabularies.get(name)
            if not vocab:
                return tf.parse_text(value)
            return tf.parse_choice(value, vocab, field=name)
        if transform in tf.TRANSFORMS and transform != "choice":
            return tf.TRANSFORMS[transform](value)
        raise MappingError(f"{self.source}: unknown transform {transform!r} for {kind}.{name}; "
                           f"use one of measure, {', '.join(tf.TRANSFORMS)}")

    def render_value(self, name: str, value: Any) -> Any:
        """A canonical value → the cell written: vocabularies in their first (display) form."""
        if value is None:
            return None
        vocab = self.vocabularies.get(name)
        if vocab and isinstance(value, str) and vocab.get(value):
            return vocab[value][0]
        return value


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


@dataclass
class Binding:
    """A mapping applied to one header: tells which part a row is and parses its cells."""

    mapping: Mapping
    columns: list[Column]
    parts: tuple[str, ...]

    @property
    def unmapped(self) -> list[str]:
        return [c.header for c in self.columns if c.field is None]

    def header_for(self, part: str, name: str) -> str:
        """This file's own column name for a field, else the mapping's first name."""
        for c in self.columns:
            if c.field == name and (c.part == part or (c.part is None and part == self.parts[0])):
                return c.header
        return self.mapping.write_header(part, name)

    def row_part(self, cells: list[Any]) -> str | None:
        """The part a row describes, from the ``row_type`` column if the mapping has one."""
        col = next((c for c in self.columns if c.field == "__row_type__"), None)
        if col is None:
            return self.parts[0]
        cell = cells[col.index] if col.index < len(cells) else None
        key = tf.normalise_key(str(cell or ""))
        for value, part in (self.mapping.row_type.get("values") or {}).items():
            if tf.normalise_key(str(value)) == key:
                return part
        return None

    def parse(self, cells: list[Any], row_part: str, endpoint: str, where: str) -> dict[str, dict[str, Any]]:
        """Cells → {part: {field: value}}; unmapped cells → the row part's ``extra``.

        Raises ``tf.TransformError`` naming the column for a cell that does not parse.
        """
        out: dict[str, dict[str, Any]] = {}
        kind = self.mapping.kinds.get(row_part, row_part)
        for col in self.columns:
            value = cells[col.index] if col.index < len(cells) else None
            if col.field == "__row_type__" or value is None or (isinstance(value, str) and not value.strip()):
                continue
            if col.field is None:
                out.setdefault(row_part, {})[f"extra.{endpoint}.{col.header}"] = _cell_text(value)
                continue
            part = col.part or row_part
            try:
                parsed = self.mapping.parse_value(self.mapping.kinds.get(part, part) if col.part else kind,
                                                  col.field, col.transform, value)
            except tf.TransformError as e:
                raise tf.TransformError(f"{where}, column {col.header!r}: {e}") from None
            out.setdefault(part, {})[col.field] = parsed
        return out


def settle_key_result(fields: dict[str, Any]) -> None:
    """Turn parsed ``Measure``s into numbers, inferring unit, currency and direction.

    An explicit unit or direction column wins; otherwise "45%" means percent, "$5" a USD
    currency KR, "yes"/"no" a binary KR, and a target below its start a decreasing KR.
    """
    hints: list[Measure] = []
    for name in ("start", "current", "target", "range_low", "range_high"):
        value = fields.get(name)
        if isinstance(value, Measure):
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


def _cell_text(value: Any) -> Any:
    """Unmapped cells are kept as the spreadsheet gave them, in JSON-friendly form."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
