"""Cells kept as text: tolerant values.

Only what identifies or places a record — its id, its title, its references to a parent
(``objective_id``, ``key_result_id``, ``parent_id``, or a parent named by its title) and a
check-in's date — can reject it. Any other cell whose value cannot be converted (a deadline
"to be defined", a confidence "[5]" the transforms do not read) is kept:

- its text in the record's own extra, ``extra.<endpoint>.<column>``, where a write puts it
  back in its column;
- what was expected in ``extra.unparsed.<endpoint>:<column>``, which ``model.problems``
  turns into a warning (the connector shows it with file, sheet and row) and the hub
  counts from the endpoint's link bases on every pull, read or not (``count``).

``strict_values: true`` in a mapping (or ``--strict`` on the command line) rejects such a
record instead, as before.
"""

from __future__ import annotations

import json
from typing import Any

from .store import KEPT_IN_BASE, KEPT_IN_FIELDS, SHARED

NS = "unparsed"
_PREFIX = f"extra.{NS}."
_PLACING = {"id", "title", "at", "objective_id", "key_result_id", "parent_id", "child_id"}


def rejects(name: str | None) -> bool:
    """Whether a cell of this canonical field that does not convert rejects its record."""
    return name is None or name in _PLACING or name.endswith("_title")


def keep(fields: dict[str, Any], endpoint: str, header: str, value: Any, reason: str) -> None:
    """Keep a cell that did not convert: its text in the own extra, the reason beside it."""
    fields[f"extra.{endpoint}.{header}"] = value if isinstance(value, str) else str(value)
    fields[f"{_PREFIX}{endpoint}:{header}"] = reason


def prefix(endpoint: str) -> str:
    """Field-name prefix of an endpoint's kept-cell reasons (the hub keeps these in its view)."""
    return f"{_PREFIX}{endpoint}:"


def warnings(extra: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(column, message) for each cell an entity's ``extra`` says was kept as text."""
    out = []
    for key, reason in (extra.get(NS) or {}).items():
        endpoint, _, column = key.partition(":")
        text = (extra.get(endpoint) or {}).get(column)
        out.append((column, f"column {column!r}: {text!r} kept as text in extra ({reason})"))
    return out


def in_record(fields: dict[str, Any], endpoint: str) -> list[tuple[str, str]]:
    """(column, reason) of the cells a record read from ``endpoint`` kept as text."""
    start = prefix(endpoint)
    # one scan of the joined names first: most records keep no cell, and a startswith per
    # field was a million calls on a 50,000-KR import to find none
    if start not in "\n".join(fields):
        return []
    return [(k[len(start):], v) for k, v in fields.items() if k.startswith(start)]


def in_links(store, endpoint: str, skip: set[tuple[str, str]] = frozenset()) -> list[tuple[str, str, str, str]]:
    """(kind, external id, column, reason) of the cells of ``endpoint`` kept as text, as its
    last reads gave them (the link bases), leaving out the records in ``skip`` (read again)."""
    start = prefix(endpoint)
    pattern = "%" + json.dumps(start)[:-1].replace("%", r"\%").replace("_", r"\_") + "%"
    out = []
    # KEPT_IN_BASE / KEPT_IN_FIELDS word for word: they select the store's small indexes of
    # the bases and the entity fields (a base SHARED with its entity) that hold such cells
    for kind, ext, base in store.db.execute(
            f"SELECT kind, external_id, base FROM links WHERE endpoint = ?1 AND {KEPT_IN_BASE} AND base LIKE ?2 ESCAPE '\\' "
            f"UNION ALL SELECT l.kind, l.external_id, e.fields FROM entities e CROSS JOIN links l ON l.endpoint = ?1 "
            f"AND l.canonical_id = e.id AND l.base = '{SHARED}' WHERE {KEPT_IN_FIELDS} AND e.fields LIKE ?2 ESCAPE '\\'",
            [endpoint, pattern]):
        if (kind, ext) not in skip:
            out += [(kind, ext, *kept) for kept in in_record(json.loads(base), endpoint)]
    return out
