"""How okrsync dresses an XLSX table it writes (the board leadership reads): a styled,
frozen header, column widths, number, percent, currency and date formats per row, objective
rows in bold, and each KR's current value filled with its score's colour band.

Only styles change, never a value: okrsync reads its own workbook back unchanged (a percent
KR's 106 stays 106, shown as "106%"; a currency KR's 9050000 is shown "9,050,000 EUR").
Which column holds what comes from the endpoint's mapping, the same binding reading uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from okrsync.errors import OkrsyncError
from okrsync.mapping import Table
from okrsync.model import KeyResult, band, score

HEADER_FILL = "1F3A5F"  # dark blue, white bold text
OBJECTIVE_FILL = "EEF2F7"
# Excel's own "Good", "Neutral" and "Bad" cell fills, so the bands read as Excel users expect
BAND_FILLS = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE"}
VALUE_FIELDS = ("start", "current", "target", "range_low", "range_high")
MIN_WIDTH, MAX_WIDTH = 8, 48
WIDTH_ROWS = 200  # the rows below the header whose cells set the column widths


@dataclass
class SheetStyle:
    """The styles of one sheet; ``tabular.write_xlsx`` calls ``setup`` then ``cells`` per row."""

    header_row: int  # 1-based
    table: Table | None
    part: str
    endpoint: str
    widths: list[float] = field(default_factory=list)
    freeze: str | None = None

    def setup(self, ws) -> None:
        for i, width in enumerate(self.widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = self.freeze

    def cells(self, ws, number: int, values: list) -> list:
        if number < self.header_row:
            return values
        if number == self.header_row:
            return [_styled(ws, v, font=Font(bold=True, color="FFFFFF"), fill=HEADER_FILL,
                            alignment=Alignment(wrap_text=True, vertical="top")) for v in values]
        kr, objective_row = self._read(values)
        out = []
        for index, value in enumerate(values):
            name = self._fields.get(index)
            fmt = _format(name, value, kr) if value is not None else None
            fill = BAND_FILLS.get(kr["band"]) if kr and name == ("key_result", "current") else None
            if objective_row and fill is None:
                fill = OBJECTIVE_FILL
            font = Font(bold=True) if objective_row else None
            out.append(_styled(ws, value, font=font, fill=fill, number_format=fmt) if (fmt or fill or font) else value)
        return out

    @property
    def _fields(self) -> dict[int, tuple[str, str]]:
        if not hasattr(self, "_by_index"):
            m = self.table.mapping if self.table else None
            self._by_index = {} if m is None else {c.index: (m.kind(c.part), c.field) for b in self.table.bindings()
                                                   for c in b.columns if c.field and c.part}
        return self._by_index

    def _read(self, values: list) -> tuple[dict | None, bool]:
        """(the KR on this row with its band, or None; whether it is an objective's own row)."""
        if self.table is None:
            return None, False
        try:
            part = self.table.row_part(values) or self.part
            parsed = self.table.binding(part).parse(values, self.endpoint)
        except (OkrsyncError, ValueError, TypeError):  # a row okrsync keeps but cannot read: left plain
            return None, False
        fields = next((f for p, f in parsed.items() if self.table.mapping.kind(p) == "key_result"), None)
        objective = any(self.table.mapping.kind(p) == "objective" and f.get("title") for p, f in parsed.items())
        if not fields or not fields.get("title"):
            return None, objective
        # value cells parse to Measures (number plus unit hints) until the mapping resolves them
        known = {k: getattr(fields[k], "value", fields[k]) for k in ("direction", "unit", "currency", "confidence_scale",
                                                                      *VALUE_FIELDS) if k in fields}
        try:
            s = score(KeyResult(id="", objective_id=None, title="", **known))
        except TypeError:
            s = None
        return known | {"band": band(s)}, False


def style(conn, rows: list[list], header_row: int, part: str) -> SheetStyle:
    """The style of a table okrsync writes: ``rows`` as written, the header at ``header_row``
    (0-based, after any rows above it)."""
    header = rows[header_row] if header_row < len(rows) else []
    try:
        table = Table(conn.mapping, header, conn.layout, part) if header else None
    except OkrsyncError:
        table = None
    widths = []
    for i in range(len(header)):
        longest = max((_shown_length(r[i]) for r in rows[header_row + 1:header_row + 1 + WIDTH_ROWS] if i < len(r)), default=0)
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2, min(len(str(header[i] or "")), 24) + 2))))
    titles = [c.index for b in (table.bindings() if table else []) for c in b.columns if c.field == "title"]
    freeze = f"{get_column_letter(min(titles) + 2)}{header_row + 2}" if titles else f"A{header_row + 2}"
    return SheetStyle(header_row + 1, table, part, conn.endpoint, widths, freeze)


def _format(name: tuple[str, str] | None, value: Any, kr: dict | None) -> str | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return "yyyy-mm-dd"
    if not isinstance(value, (int, float)) or isinstance(value, bool) or name is None:
        return None
    kind, field_name = name
    whole = float(value).is_integer()
    if kind == "key_result" and field_name in VALUE_FIELDS and kr:
        if kr.get("unit") == "currency" and kr.get("currency"):
            return ('#,##0' if whole else '#,##0.00') + f' "{kr["currency"]}"'
        if kr.get("unit") == "percent":
            return '0"%"' if whole else '0.0#"%"'  # stored as percent points: 106 is 106 %
        return "#,##0" if whole else "#,##0.0#"
    if field_name == "confidence" and kr and kr.get("confidence_scale", "0-1") == "0-1" and 0 <= value <= 1:
        return "0%"
    return None


def _styled(ws, value: Any, *, font=None, fill=None, number_format=None, alignment=None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    if fill:
        cell.fill = PatternFill("solid", start_color=fill, end_color=fill)
    if number_format:
        cell.number_format = number_format
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _shown_length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    if isinstance(value, int):
        return len(f"{value:,}") + 4  # room for a currency code
    return max((len(line) for line in str(value).splitlines()), default=0)
