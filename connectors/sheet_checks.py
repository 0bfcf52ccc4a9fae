"""Checks on what a spreadsheet read as a whole, so a wrong import is never silent.

- ``shape_problem``: the rows were read, but not as OKRs (a task list with the default
  mapping becomes a dozen objectives and nothing else): no key results where the mapping
  expects them, or most columns left unmapped. The connector reports it as a rejection of
  the file (exit 3) with what each kind of row became and advice, unless the mapping says
  ``expect: [...]`` (the kinds the file is meant to give).
- ``is_ghost``: a row with no id or title and nothing but default values (a ``0`` in a
  progress column, a lone letter) or unmapped cells; skipped and counted, never a record.
- ``form_problem``: a sheet laid out as a printed form (label/value pairs) rather than a
  table; refused before it makes records out of labels and signature lines.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from okrsync.mapping import Mapping, Table

# Cells that hold no content of their own: what a template leaves in rows nobody filled in.
_DEFAULTS = frozenset({"0", "0%", "0.0", "0,0", "-", "–", "—", "n/a", "na", "false", "no", "none", "null", "#n/a"})
_ADVICE = ("map the file in a mapping of your own (run `okrsync map FILE` for a suggestion; docs/mappings.md, "
           "Importing real spreadsheets), or, if this is what the file holds, say so with `expect: [{kinds}]` in the mapping")


def expected_kinds(mapping: Mapping) -> list[str] | None:
    """The kinds the mapping says the file holds (``expect:``), or None when it does not say."""
    expect = mapping.options.get("expect")
    if expect is None:
        return None
    return [mapping.kind(p) for p in ([expect] if isinstance(expect, str) else expect)]


def shape_problem(mapping: Mapping, row_kinds: list[str], made: Counter, read: Counter,
                  tables: list[tuple[str, Table]], rows: int) -> str | None:
    """What is wrong with the read as a whole, or None.

    ``row_kinds`` are the kinds the tables' rows can hold, ``made`` the records made per
    kind from rows of their own, ``read`` every record per kind, ``tables`` (name, Table)
    of each table read, ``rows`` the rows read (ghost rows aside). A file of objectives alone is fine when every row made one;
    rows folded into the record above, or most columns unmapped, mean the mapping did not see
    what the file holds.
    """
    expect = expected_kinds(mapping)
    became = ", ".join(f"{n} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in made.most_common()) or "nothing"
    if rows > sum(made.values()):
        became += f"; {rows - sum(made.values())} row(s) made no record of their own"
    if expect is not None:
        missing = [k for k in dict.fromkeys(expect) if not read.get(k)]
        if missing:
            return (f"the mapping expects {', '.join(k.replace('_', ' ') + 's' for k in missing)}, but the rows became "
                    f"{became}; check the column names in the mapping")
        return None
    unmapped = [(name, t.unmapped) for name, t in tables]
    columns = sum(len(t.header) for _, t in tables)
    left = sum(len(u) for _, u in unmapped)
    problems = []
    # rows that made no record of their own were folded into the record above: a KR-less
    # objective per row is fine, a dozen task rows under each of a few goals is not
    if "key_result" in row_kinds and not made.get("key_result") and 0 < sum(made.values()) < rows:
        problems.append(f"no key results: the {rows} rows became {became}")
    if columns and left * 2 > columns:
        problems.append(f"{left} of {columns} columns not mapped, kept in extra")
    if not problems:
        return None
    listed = "; ".join(f"{name}: {', '.join(u)}" for name, u in unmapped if u)
    kinds = ", ".join(dict.fromkeys(k for k in made)) or "objective"
    return (f"{' and '.join(problems)}" + (f" (not mapped: {listed})" if listed else "")
            + f"; the mapping may not fit this file: {_ADVICE.format(kinds=kinds)}")


def is_default(value: Any) -> bool:
    """A cell a template fills in by itself: blank, zero, false, a dash or a lone letter."""
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, str):
        text = value.strip().lower()
        return not text or text in _DEFAULTS or (len(text) == 1 and text.isalpha())
    return False


def identity_columns(table: Table) -> list[int]:
    """Indexes of the columns that name a record (any part's id or title)."""
    return sorted({c.index for b in table.bindings() for c in b.columns
                   if c.field in ("id", "title") or (c.field or "").endswith(("_id", "_title"))})


def is_ghost(cells: list[Any], identity: list[int], mapped: set[int]) -> bool:
    """No id or title cell filled, and every mapped cell a default value."""
    n = len(cells)
    for i in identity:  # an id or title of one letter ("A") still names a record
        value = cells[i] if i < n else None
        if value is not None and value != 0 and (not isinstance(value, str) or value.strip()):
            return False
    return all(is_default(v) for i, v in enumerate(cells) if i in mapped)


def ghost_note(table_name: str, rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:8])) + (f" … {rows[-1]}" if len(rows) > 8 else "")
    return (f"{table_name}: {len(rows)} row(s) skipped: no id or title, only default values (0, a dash, a lone "
            f"letter) or unmapped cells (rows {shown})")


def form_problem(head: list[list[Any]]) -> bool:
    """Whether the top of a sheet looks like a printed form: at least three label rows
    ("Name:", "Department:", one or two filled cells, the first ending in a colon), a third
    or more of the rows looked at. A table's own preamble ("Team: Platform") has one or two."""
    labels = 0
    for cells in head:
        filled = [c for c in cells if c is not None and str(c).strip()]
        if 0 < len(filled) <= 2 and isinstance(filled[0], str) and filled[0].strip().endswith(":"):
            labels += 1
    return labels >= 3 and labels * 3 >= len(head)
