"""Spreadsheet files written for a test, and the CSV/XLSX connector read and written back the
way the hub does it."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from okrsync.connector import Context, Cursor, Note, Record, Rejected, WriteBatch
from okrsync.connectors.spreadsheet import CsvConnector, XlsxConnector


def write_csv(path: Path, rows: list[list], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    """``rows`` as a CSV file at ``path`` (None is an empty cell); returns ``path``."""
    lines = [delimiter.join(_csv_cell(c, delimiter) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def _csv_cell(value, delimiter: str) -> str:
    text = "" if value is None else str(value)
    if any(ch in text for ch in (delimiter, '"', "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_xlsx(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None) -> Path:
    """A workbook at ``path`` with one worksheet per ``sheets`` entry (name: rows) and the
    given merged ranges per sheet; returns ``path``."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        for cells in (merges or {}).get(name, []):
            ws.merge_cells(cells)
    wb.save(path)
    return path


def connector(base: Path, path: str, name: str = "sheet", **options):
    """The CSV or XLSX connector (by ``path``'s suffix) of endpoint ``name``, relative to ``base``."""
    cls = XlsxConnector if path.endswith((".xlsx", ".xlsm")) else CsvConnector
    return cls(name, {"path": path, **options}, Context(base_dir=base))


def read(conn, cursor=None):
    """(records, rejected, notes) of one read."""
    items = list(conn.read(cursor))
    assert isinstance(items[-1], Cursor)
    return ([i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Rejected)],
            [i.message for i in items if isinstance(i, Note)])


def rewrite(conn, records, **batch):
    """Write records back as unchanged (ids kept), the way a push of a sheet okrsync read does."""
    return conn.write(WriteBatch(unchanged=[Record(r.kind, r.external_id, dict(r.fields)) for r in records], **batch))
