"""A workbook in the Microsoft Graph emulator's OneDrive: where it is (DRIVE, ITEM), its bytes
written from rows and read back as rows."""

import io

import openpyxl

DRIVE, ITEM = "b!drive-okr-team", "01ABCDEFWORKBOOK"


def workbook(rows: list[list] | None = None, sheet: str = "OKRs") -> bytes:
    """An .xlsx file's bytes: one worksheet ``sheet`` holding ``rows``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows or []:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def cells(data: bytes, sheet: str = "OKRs") -> list[dict]:
    """The rows of worksheet ``sheet`` of an .xlsx file's bytes, as dicts by header."""
    ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True)[sheet]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return [dict(zip(rows[0], r)) for r in rows[1:]]
