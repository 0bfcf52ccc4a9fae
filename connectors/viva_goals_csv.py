"""The second input shape of the Viva Goals importer: the CSV that Microsoft Graph's export
job returns (``GET /beta/employeeExperience/goals/exportJobs/{id}/content``, ``text/csv``),
one Explorer view of the organisation's goals.

Microsoft documents the job but not the CSV's columns: an Explorer view shows the columns
its owner picked. So the headers are matched through ``mapping.csv_columns`` (an export
field → the header words that name it, case and spacing ignored), and each row is turned
into the same dict the JSON export holds for an item (``ID``, ``Title``, ``Type``,
``Parent IDs``, ``Owner``, ``Outcome`` …). From there the importer reads both shapes with
one code path, so both lose exactly the same things. Headers no field claims are kept
per record under ``_extra`` (the importer stores them as ``extra.<endpoint>.<header>``).

``explorer_rows(label, data, columns)`` → ``(rows, headers)``: ``rows`` are
``(line, item dict)`` for every non-blank row, ``headers`` maps each export field to the
header it came from (so a rejection names the CSV column, not the JSON key). A file that
is not UTF-8 text or lacks a required column is a ``ValueError`` whose message says where
and what to do; the caller turns it into a FatalError.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from okrsync import transforms as tf

REQUIRED = ("ID", "Title", "Type")
OUTCOME = "Outcome."  # prefix of the fields that belong in the item's Outcome object
LIST_SPLIT = re.compile(r"[;\n]+")  # multi-value cells: "a; b" (a comma may be part of a name)
ID_SPLIT = re.compile(r"[;,\s]+")


def explorer_rows(label: str, data: bytes, columns: dict[str, str]) -> tuple[list[tuple[int, dict[str, Any]]],
                                                                             dict[str, str]]:
    """The rows of an Explorer view CSV as export items; ``columns`` maps a header's
    ``choice_key`` to the export field it holds."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{label}: byte {e.start}: not UTF-8 text; save the CSV as UTF-8 and try again") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None) or []
    fields: dict[int, str] = {}  # column index → export field
    headers: dict[str, str] = {}  # export field → header text
    extra: dict[int, str] = {}
    for i, name in enumerate(header):
        field = columns.get(tf.choice_key(name)) if name.strip() else None
        if field and field not in headers:
            fields[i], headers[field] = field, name.strip()
        elif name.strip():
            extra[i] = name.strip()
    missing = [f for f in REQUIRED if f not in headers]
    if missing:
        raise ValueError(f"{label}: no column for {', '.join(missing)} (headers found: {', '.join(header) or 'none'}); "
                         "add the column to the Explorer view and export again, or name your header under the "
                         "endpoint's mapping.csv_columns")
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        values = {fields[i]: c.strip() for i, c in enumerate(cells) if i in fields and c.strip()}
        item = _item(values)
        kept = {extra[i]: c.strip() for i, c in enumerate(cells) if i in extra and c.strip()}
        if kept:
            item["_extra"] = kept
        rows.append((line, item))
    return rows, headers


def _item(values: dict[str, str]) -> dict[str, Any]:
    """One row's cells in the JSON export's shape."""
    item: dict[str, Any] = {k: v for k, v in values.items() if not k.startswith(OUTCOME)}
    item["Parent IDs"] = [p for p in ID_SPLIT.split(values.get("Parent IDs", "")) if p]
    owners = [o.strip() for o in LIST_SPLIT.split(values.get("Owner", "")) if o.strip()]
    item["Owner"] = [{"Email": o} if "@" in o else {"Name": o} for o in owners]
    item["Teams"] = [{"Name": t.strip()} for t in LIST_SPLIT.split(values.get("Teams", "")) if t.strip()]
    if "Time Period" in values:
        item["Time Period"] = {"Name": values["Time Period"]}
    if "Progress" in values:
        item["Progress"] = values["Progress"].rstrip("% ")  # "40%" and "40" both mean 40 of 100
    outcome = {k[len(OUTCOME):]: v for k, v in values.items() if k.startswith(OUTCOME)}
    kind = outcome.get("Outcome Type", "")
    # a view without an outcome-type column: a KR with a target is a metric, else a percentage
    metric = tf.choice_key(kind) == "metric" if kind else "Target" in outcome
    outcome["Outcome Type"] = "Metric" if metric else "Percentage"
    item["Outcome"] = outcome
    return item
