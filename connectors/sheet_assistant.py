"""``okrsync map FILE``: look at a spreadsheet, suggest a mapping, preview what would land.

``inspect(path, sheet=None, mapping="spreadsheet")`` returns a ``Suggestion``: the sheets, the
merged ranges, the header row chosen, each column with the field it reads into and how sure
that is (``known``: a name the mapping lists; ``guess``: close to one, e.g. ``initialValue``
to "initial value"; ``-``: kept in extra), the layout, and the suggested mapping YAML.
``preview(suggestion, rows)`` reads the file with that YAML, exactly as a pull would, and
returns the first records (kind, id, title, parent, numbers) with the run's notes and
rejections. Nothing is written but a temporary copy of the YAML.
"""

from __future__ import annotations

import difflib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okrsync import tabular
from okrsync import transforms as tf
from okrsync.connector import Context, Note, Record, Rejected
from okrsync.errors import ConfigError, OkrsyncError
from okrsync.mapping import Mapping, Table

from .spreadsheet import CsvConnector, XlsxConnector

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_GUESS_PARTS = ("objective", "key_result", "initiative")  # check-in names (Date, Value) mislead in an OKR sheet
_BY_VALUE = (("objective", "type"), ("key_result", "status"), ("key_result", "direction"), ("key_result", "unit"))
_TYPE_WORDS = {"obj": "objective", "objective": "objective", "o": "objective", "goal": "objective",
               "kr": "key_result", "key result": "key_result", "initiative": "initiative", "task": "initiative",
               "action": "initiative", "project": "initiative"}


@dataclass
class Guess:
    header: str
    part: str | None
    field: str | None
    how: str  # known | guess | -


@dataclass
class Suggestion:
    path: Path
    sheet: str | None
    sheets: list[str]
    merges: list[str]
    header_row: int
    layout: str
    columns: list[Guess]
    row_type: tuple[str, dict[str, str]] | None
    yaml: str
    notes: list[str] = field(default_factory=list)
    parent_rule: str | None = None  # parent_from_id for key results, when their ids extend their objective's
    row_entity: str | None = None  # "initiative" for a task list


def connector(path: Path, options: dict[str, Any]):
    cls = XlsxConnector if path.suffix.lower() in XlsxConnector.suffixes else CsvConnector
    options = {k: v for k, v in options.items() if v is not None}  # an option left unset is no option
    if "sheet" in options and "sheet" not in cls.declared_options():
        raise ConfigError(f"{path.name}: --sheet is for workbooks; a {cls.name} file has one table")
    return cls("map", {"path": path.name, **options}, Context(base_dir=path.parent))


def inspect(path: Path, sheet: str | None = None, mapping: str = "spreadsheet") -> Suggestion:
    """Look at the first rows of one sheet (see the module docstring)."""
    conn = connector(path, {"sheet": sheet, "mapping": mapping})
    sheets = tabular.list_sheets(path) if conn.name == "xlsx" else []
    merges = tabular.list_merges(path, sheet=sheet) if conn.name == "xlsx" else []
    rows = conn._rows(path, sheet)
    try:
        head = [r for _, r in zip(range(40), rows)]
    finally:
        rows.close()
    if not head:
        raise tabular.TableError(str(path), "no rows to look at", sheet=sheet)
    name = f"{path.name}{f' [{sheet}]' if sheet else ''}"
    notes = []
    if conn.name == "csv" and (delimiter := tabular.wrapped_lines([r.cells for r in head[:10]])):
        head = list(tabular.unwrap_lines(iter(head), delimiter))
        notes.append(f"every line is wrapped in quotes; the {delimiter!r}-separated cells inside are read")
    best = conn._header(head[:10], None, name)
    index = head.index(best)
    header = conn._header_cells(head, index)
    m = conn.mapping
    table = Table(m, header, "flat", m.row_entity) if _titled(m, header) else None
    body = [r.cells for r in head[index + 1:]]
    columns = [_guess(m, table, i, h) for i, h in enumerate(header)]
    taken = {(g.part, g.field) for g in columns if g.how == "known"}
    for i, g in enumerate(columns):
        sample = [r[i] for r in body if i < len(r) and r[i] not in (None, "")][:20]
        if g.how == "guess" and ((g.part, g.field) in taken or not _reads(m, g.part, g.field, sample)):
            columns[i] = _guess(m, None, i, header[i], taken | {(g.part, g.field)})  # look further
        if columns[i].how == "-" and sample:  # by its values: "Committed", "On track", "%"
            found = next((pf for pf in _BY_VALUE if pf not in taken and _reads(m, *pf, sample)), None)
            columns[i] = Guess(columns[i].header, *found, "guess") if found else columns[i]
        if columns[i].how == "guess":
            taken.add((columns[i].part, columns[i].field))
    row_type = _row_type(header, body)
    titles = {g.part for g in columns if g.field == "title"}
    # a task list: its rows are initiatives under their objective, not KRs folded into it
    row_entity = "initiative" if not row_type and "initiative" in titles and "key_result" not in titles else None
    layout = "hierarchical" if row_type is None and _blank_parents(columns, body) else "flat"
    s = Suggestion(path, sheet, sheets, merges, best.number, layout, columns, row_type, "", notes,
                   _parent_rule(columns, row_type, header, body), row_entity)
    # the suggestion is read from a temporary file: a user's base mapping by its full path
    s.yaml = _yaml(s, str(Path(mapping).resolve()) if mapping.endswith((".yaml", ".yml")) else mapping)
    return s


def other_sheets(s: Suggestion, mapping: str = "spreadsheet") -> list[str]:
    """One line per other sheet of a workbook looked at without ``--sheet``: its header row and
    what it holds, so one sheet per team or area shows (then the endpoint wants ``sheets: all``)."""
    if s.sheet is not None or len(s.sheets) < 2:
        return []
    lines = []
    for name in s.sheets[1:]:
        try:
            other = inspect(s.path, name, mapping)
        except Exception as e:  # a sheet that is no table is said, not fatal here
            lines.append(f"sheet {name!r}: {e}")
            continue
        fields = sorted({f"{g.part}.{g.field}" for g in other.columns if g.field in ("title", "id")})
        lines.append(f"sheet {name!r}: header on row {other.header_row}, {len(other.columns)} columns"
                     f"{'; names ' + ', '.join(fields) if fields else '; no id or title column'}")
    return lines


def _reads(m: Mapping, part: str, name: str, sample: list[Any]) -> bool:
    """Whether most of a column's values read as that field (a vocabulary word, a number …)."""
    ok = 0
    for value in sample:
        try:
            m.parse_value(m.kind(part), name, None, value)
            ok += 1
        except Exception:  # any failure only means "not this field"
            pass
    return not sample or ok * 5 >= len(sample) * 4


def _titled(m: Mapping, header: list[Any]) -> bool:
    try:
        Table(m, header, "flat", m.row_entity)
    except Exception:  # no title column: every column gets a guess instead
        return False
    return True


def _guess(m: Mapping, table: Table | None, index: int, header: Any, taken: set = frozenset()) -> Guess:
    text = "" if header is None else str(header).strip()
    if table is not None:
        for binding in table.bindings():
            col = binding.columns[index]
            if col.field and col.field != "__row_type__":
                return Guess(text, col.part, col.field, "known")
    names = {tf.normalise_key(c): (part, name) for part in _GUESS_PARTS for name, spec in m.entities.get(part, {}).items()
             for c in spec.columns}
    names = {k: v for k, v in names.items() if v not in taken}
    key = tf.normalise_key(_CAMEL.sub(" ", text))  # "initialValue" -> "initial value"
    stem = re.sub(r" (name|title)$", "", key)  # "keyResultName" is the KR's title, not its owner
    found = (names.get(key) or names.get(stem) or names.get(f"{stem} title")
             or next((names[k] for k in difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)), None))
    return Guess(text, *found, "guess") if found and text else Guess(text, None, None, "-")


def _row_type(header: list[Any], body: list[list]) -> tuple[str, dict[str, str]] | None:
    """A column whose every value names an entity kind ("Obj", "KR"): the rows are typed."""
    for i, h in enumerate(header):
        values = {str(r[i]).strip() for r in body if i < len(r) and r[i] not in (None, "")}
        kinds = {v: _TYPE_WORDS.get(tf.normalise_key(v)) for v in values}
        if h and len(values) >= 2 and all(kinds.values()) and len(set(kinds.values())) >= 2:
            return str(h).strip(), dict(sorted(kinds.items()))
    return None


_SUFFIXED = r"^(.+)[./_-][^./_-]+$"  # "2022-Q1-CI-1.1" -> "2022-Q1-CI-1"


def _parent_rule(columns: list[Guess], row_type, header: list[Any], body: list[list]) -> str | None:
    """``_SUFFIXED`` when the ids of a typed sheet's KR rows are their objective rows' ids plus a suffix."""
    ids = [i for i, g in enumerate(columns) if g.field == "id"]
    if not row_type or not ids:
        return None
    t = next(i for i, h in enumerate(header) if h is not None and str(h).strip() == row_type[0])
    kind = {r[t]: row_type[1].get(str(r[t]).strip()) for r in body if t < len(r)}
    cell = lambda r: str(r[ids[0]]).strip() if ids[0] < len(r) and r[ids[0]] not in (None, "") else None  # noqa: E731
    parents = {cell(r) for r in body if t < len(r) and kind.get(r[t]) == "objective"}
    children = [cell(r) for r in body if t < len(r) and kind.get(r[t]) == "key_result" and cell(r)]
    hits = sum(1 for c in children if (m := re.fullmatch(_SUFFIXED, c)) and m.group(1) in parents)
    return _SUFFIXED if children and hits * 5 >= len(children) * 4 else None


def _blank_parents(columns: list[Guess], body: list[list]) -> bool:
    """Objective title cells left blank under a filled one: a hierarchical sheet."""
    idx = next((i for i, g in enumerate(columns) if g.part == "objective" and g.field == "title"), None)
    if idx is None or len(body) < 2:
        return False
    cells = [r[idx] if idx < len(r) else None for r in body]
    return cells[0] not in (None, "") and any(c in (None, "") for c in cells[1:])


def _yaml(s: Suggestion, base: str) -> str:
    q = json.dumps  # a JSON string is a YAML scalar: quotes what YAML would misread
    lines = [f"# okrsync map {s.path.name}: a suggested mapping. Check the guesses, save it (e.g. as",
             f"# {s.path.stem}.yaml) and set `mapping: {s.path.stem}.yaml` on the endpoint.",
             f"extends: {base}", f"layout: {s.layout}"]
    if s.row_entity:
        lines += [f"row_entity: {s.row_entity}   # one {s.row_entity} per row, under the row's objective",
                  f"expect: [objective, {s.row_entity}]   # no key results in this file"]
    if s.row_type:
        column, values = s.row_type
        lines += ["row_type:", f"  column: {q(column)}",
                  "  values: {" + ", ".join(f"{q(v)}: {k}" for v, k in s.row_type[1].items()) + "}"]
    if s.header_row != 1:
        lines += ["options:", f"  header_row: {s.header_row}   # the row of column names"]
    if s.parent_rule:
        lines += ["options:" if s.header_row == 1 else "", f"  parent_from_id: {{key_result: {q(s.parent_rule)}}}"
                  "   # a KR's id is its objective's id plus a suffix"]
    guessed: dict[str, list[Guess]] = {}
    for g in s.columns:
        if g.how == "guess":
            # typed rows (one entity per row) share their id, title, owner … columns: any:
            shared = s.row_type and g.field in ("id", "title", "owner", "description", "status", "due")
            guessed.setdefault("any" if shared else g.part, []).append(g)
    if guessed.get("any"):
        lines.append("any:")
        lines += [f"  {g.field}: [{q(g.header)}]   # guessed" for g in guessed.pop("any")]
    if guessed:
        lines.append("entities:")
        for part, gs in guessed.items():
            lines.append(f"  {part}:")
            lines += [f"    {g.field}: [{q(g.header)}]   # guessed" for g in gs]
    known = [f"{g.header} -> {g.part}.{g.field}" for g in s.columns if g.how == "known"]
    left = [g.header or f"column {i + 1}" for i, g in enumerate(s.columns) if g.how == "-"]
    lines.append("# found by the base mapping: " + ("; ".join(known) or "nothing"))
    lines.append("# kept in extra (add them under entities to give them a field): " + (", ".join(left) or "none"))
    return "\n".join(lines) + "\n"


def preview(s: Suggestion, limit: int = 10) -> tuple[list[Record], list[str], list[str], str | None]:
    """The first ``limit`` records a pull would read with the suggested mapping, with every note
    and rejection of the whole read, and the error that stopped it (the sheet has no title
    column the mapping knows …) or None."""
    records, notes, rejected = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        yaml = Path(tmp) / "suggested.yaml"
        yaml.write_text(s.yaml, encoding="utf-8")
        try:
            conn = connector(s.path, {"sheet": s.sheet, "mapping": str(yaml)})
            for item in conn.read(None):
                if isinstance(item, Record) and len(records) < limit:
                    records.append(item)
                elif isinstance(item, Note):
                    notes.append(item.message)
                elif isinstance(item, Rejected):
                    rejected.append(str(item))
        except OkrsyncError as e:
            return records, notes, rejected, str(e).replace(str(yaml), "the suggested mapping")
    return records, notes, rejected, None


def parent_of(record: Record) -> str | None:
    f = record.fields
    return f.get("objective_id") or f.get("parent_id") or f.get("key_result_id")


def as_dict(path: Path, s: Suggestion, records: list[Record], notes: list[str], rejected: list[str],
            error: str | None) -> dict[str, Any]:
    """``okrsync map --json``: the suggestion, the preview and what the read said."""
    return {"file": str(path), "sheet": s.sheet, "sheets": s.sheets, "merged": s.merges, "header_row": s.header_row,
            "layout": s.layout, "columns": [vars(c) for c in s.columns], "mapping": s.yaml,
            "preview": [{"kind": r.kind, "id": r.external_id, "title": _title(r), "parent": parent_of(r),
                         "where": r.where} for r in records],
            "notes": notes, "rejected": rejected, "error": error}


def _title(record: Record) -> Any:
    return record.fields.get("title") or record.fields.get("name")


def report_lines(path: Path, s: Suggestion, base: str, records: list[Record], notes: list[str], rejected: list[str],
                 error: str | None) -> list[str]:
    """``okrsync map`` for a person: a YAML file to save, its report lines being YAML comments
    (the suggested mapping itself is one item, ending in a newline)."""
    out: list[str] = []

    def say(text: str = "") -> None:
        out.append(f"# {text}" if text else "#")

    say(f"{path.name}{f' [{s.sheet}]' if s.sheet else ''}: header on row {s.header_row}, layout {s.layout}"
        + (f", row types from column {s.row_type[0]!r}" if s.row_type else ""))
    if s.sheets:
        say(f"sheets: {', '.join(s.sheets)}" + (f"; merged ranges: {', '.join(s.merges[:12])}" if s.merges else ""))
        others = other_sheets(s, base)
        for line in others:
            say(f"  {line}")
        if others:
            say("  (this is the first sheet; --sheet NAME looks at another; `sheets: all` on the endpoint reads each)")
    for note in s.notes:
        say(note)
    for c in s.columns:
        say(f"  {c.header or '(blank)':<28} {f'{c.part}.{c.field}' if c.field else 'extra':<26} {c.how}")
    out.append(s.yaml)
    say()
    say(f"preview: the first {len(records)} records as a pull would read them with this mapping")
    for r in records:
        say(_preview_line(r))
    for text in notes[:10]:
        say(f"note: {text}")
    for text in rejected[:10]:
        say(f"rejected: {text}")
    if len(notes) > 10 or len(rejected) > 10:
        say(f"… {max(len(notes) - 10, 0)} more note(s), {max(len(rejected) - 10, 0)} more rejection(s) (--json lists all)")
    if error:  # no records at all: the mapping needs a hand (usually the title column)
        say(f"the suggested mapping cannot read this sheet yet: {error}")
    return out


def _preview_line(r: Record) -> str:
    numbers = " ".join(f"{k}={r.fields[k]:g}" for k in ("start", "current", "target")
                       if isinstance(r.fields.get(k), (int, float)))
    parent = parent_of(r)
    return (f"  {r.where:<24} {r.kind:<11} {r.external_id!s:<28} {_title(r)!s}"
            + (f"  (parent {parent})" if parent else "") + (f"  {numbers}" if numbers else ""))
