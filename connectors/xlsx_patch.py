"""Patching an XLSX board okrsync wrote, instead of writing the whole workbook again.

A full XLSX write (``tabular.write_xlsx``, openpyxl's streaming writer) renders every cell of
every row. When the workbook is still exactly the one okrsync last wrote — its fingerprint
matches the one kept in the cursor with the write's row index (``csv_patch.Index``), the
same test the CSV patch makes — a push (``patch``) instead:

- copies every part of the package but the sheet as it is (the stylesheet too: the style ids
  of the rows kept point into it), and ``docProps/core.xml`` as a full write makes it (dates);
- streams the sheet's XML, split at its ``<row`` elements (the file is openpyxl's own output,
  checked below, so text never holds a raw ``<``), and copies the row of every record not
  created or updated as the bytes it was — only its row number rewritten where rows were
  added or removed above it;
- renders the rows of changed records with the full write's own code (``sheet_style``'s
  cells, openpyxl's cell writer): strings inline, as the full write writes them, so the shared
  parts stay untouched; style ids looked up in the workbook's own stylesheet.

It writes the whole file, atomically, as a full write does: the saving is in not rendering,
styling and serialising unchanged rows (and not reading the board back). Nothing else in the
sheet depends on the row count: okrsync's workbook has no dimension, filter, table,
validation or defined name. The patch holds the file against a model, the workbook a full
write makes of the header alone: the sheet's XML before and after its rows and every other
part but the stylesheet must be byte for byte the model's, so one of those would be seen.

A full write follows (``patch`` returns False, having written nothing) when the file changed
since okrsync wrote it (someone opened and saved it, added a sheet), when the sheet's layout
would change (the header, a new column, the column widths the first 200 rows set, the frozen
pane: the part of the sheet before its rows must be byte for byte the one a full write makes),
when a changed row needs a cell style the stylesheet lacks, when kept rows would change order
(a safeguard: a KR moved to another objective is a changed row, rendered where it now goes),
when most rows changed anyway, or on anything unexpected.
A debug line (``okrsync.xlsx_patch``) says which path was taken and why. Test: a patched
workbook reads back as a fully rewritten one (tests/test_xlsx_patch.py).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zipfile
from collections.abc import Iterator

import openpyxl
from openpyxl.cell._writer import write_cell
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.xml.functions import xmlfile

from okrsync import tabular

from . import csv_patch, sheet_style

LOG = logging.getLogger("okrsync.xlsx_patch")
_CHUNK = 1 << 20
_ZIP64 = 1 << 30  # a sheet this large may grow past what a zip entry holds without Zip64 headers
_WIDTHS = sheet_style.WIDTH_ROWS  # the first rows, whose cells set the column widths
_SHEET = "xl/worksheets/sheet1.xml"  # the one sheet of a workbook okrsync writes whole
_STYLES = "xl/styles.xml"  # kept: the style ids of the rows copied point into it
_FRESH = ("docProps/core.xml",)  # parts a full write makes anew (creation and modification dates)
_STYLE_LISTS = ("_cell_styles", "_fonts", "_fills", "_borders", "_number_formats", "_alignments", "_protections")
_RENUMBER = re.compile(rb'(<row r="|<c r="[A-Z]+)\d+"')
_NUMBER = re.compile(rb'<row r="(\d+)"')


class _Unfit(Exception):
    """The file is not what a patch can follow: write it whole (the message says why)."""


def patch(conn, sheet, plan: list, records: list, batch, origin: dict, load=None) -> bool:
    """Write the flat or hierarchical XLSX table of ``plan`` (entries (part, record, context))
    by patching the workbook okrsync last wrote (module docstring); False, having written
    nothing, where only a full write is right. Sets ``conn.written`` as a full write does.
    ``load(keys)`` gives the records of ``csv_patch.stand_ins`` whose rows are rendered or
    set the column widths (the first 200)."""
    from . import sheet_writer as sw  # the writer's own row rendering (it imports this module)

    name = sheet.path.name
    try:
        index = _patchable(conn, sheet, records, origin)
        changed = {origin[id(r)] for r in records if r.where == sw._NEW} | {(r.kind, r.external_id) for r in batch.updates}
        position = {own: i for i, (own, _) in enumerate(index.rows)}
        keys = [origin[id(r)] for _, r, _ in plan]
        dirty = [again or key not in position for key, again in zip(keys, csv_patch.dirty_rows(plan, changed, origin))]
        copied = [position[k] for k, d in zip(keys, dirty) if not d]
        if any(a >= b for a, b in zip(copied, copied[1:])):
            raise _Unfit("rows it keeps would change order")
        if sum(dirty) * 2 > len(plan):
            raise _Unfit(f"{sum(dirty):,} of {len(plan):,} rows changed")
        if load is not None and not csv_patch._stood_in(plan, [d or j < _WIDTHS for j, d in enumerate(dirty)],
                                                       origin, load):
            raise _Unfit("records in step are not all in the store")
        table = sw._bind(conn, sheet, index.header)
        if sw._missing_columns(conn, table, [e for e, d in zip(plan, dirty) if d]):
            raise _Unfit("a value needs a new column")
        # parents' titles shown on rows; stand-ins have none, and are made only where no row shows one
        titles = {(r.kind, r.external_id): r.fields.get("title") for r in records if r.where != csv_patch.STAND_IN}
        values = {j: sw._row(conn, table, *plan[j], titles) for j in range(len(plan)) if dirty[j] or j < _WIDTHS}
        title = sheet.sheet or sw._first_sheet(sheet.path)  # as save_files names it
        style = sheet_style.style(conn, [index.header, *(values[j] for j in range(min(_WIDTHS, len(plan))))], 0, sheet.part)
        model = _model(name, title, index.header, style)
        with zipfile.ZipFile(sheet.path) as old:
            if old.namelist() != model.namelist() or any(
                    old.read(n) != model.read(n) for n in old.namelist() if n not in (_SHEET, _STYLES, *_FRESH)):
                raise _Unfit("its parts are not the ones okrsync writes")  # defined names, a renamed sheet
            rendered = _render(name, old, title, style, {j + 2: values[j] for j in range(len(plan)) if dirty[j]})
            _save(sheet.path, old, model, _sheet_xml(old, model, dirty, keys, position, rendered))
    except Exception as e:  # anything unexpected: the full write (it says what is wrong, located)
        if load is None:  # with stand-ins, the writer loads every record and asks again: said then
            LOG.debug("%s: written whole (%s)", name, e if isinstance(e, _Unfit) else f"{type(e).__name__}: {e}")
        return False
    # the ids written (a create's assigned one), as the full write's index holds them
    conn.written = csv_patch.Index(sheet.part, list(index.header), [], 0,
                                   [((r.kind, r.external_id), (c.kind, c.external_id) if c is not None else None)
                                    for _, r, c in plan])
    conn.written.rendered = sum(dirty)
    LOG.debug("%s: patched (%s of %s rows rendered, the rest copied)", name, f"{sum(dirty):,}", f"{len(plan):,}")
    return True


def _patchable(conn, sheet, records: list, origin: dict) -> csv_patch.Index:
    """The index of the workbook as okrsync last wrote it, if a patch can follow it."""
    from . import sheet_writer as sw

    index = conn.patchable
    if not sheet.path.exists():
        raise _Unfit("a new file")
    if index is None or sheet.path != conn.path:
        raise _Unfit("not as okrsync last wrote it")
    if sheet.old.kept or index.preamble or getattr(conn, "sheet_per", None):
        raise _Unfit("it keeps rows okrsync did not make, or several sheets")
    if any(r.where != sw._NEW and (r.kind, r.external_id) != origin[id(r)] for r in records):
        raise _Unfit("an id changed")  # a title-derived id: rows pointing at it change too
    return index


def _model(name: str, title: str, header: list, style) -> zipfile.ZipFile:
    """The workbook a full write makes of the header alone: the sheet's XML before and
    after its rows, and the package's parts, to hold the file against."""
    wb = openpyxl.Workbook(write_only=True)
    out = io.BytesIO()
    try:
        tabular._fill_workbook(name, wb, {title: (header, [])}, {title: style})
        wb.save(out)
    except BaseException:
        tabular._discard(wb)
        raise
    return zipfile.ZipFile(out)


def _render(name: str, old: zipfile.ZipFile, title: str, style, rows: dict[int, list]) -> dict[int, bytes]:
    """Each row's XML (row number → values), as the full write renders it, its cells' style
    ids those of the workbook's stylesheet; _Unfit where one needs a style it lacks."""
    wb = openpyxl.Workbook(write_only=True)
    apply_stylesheet(old, wb)
    ws = wb.create_sheet(title)  # a streaming sheet opens no file until rows are appended: none are
    sizes = [len(getattr(wb, n)) for n in _STYLE_LISTS]
    out = {}
    for number, row in rows.items():
        try:
            cells = style.cells(ws, number, [tabular._xlsx_value(v) for v in row])
            buffer = io.BytesIO()
            with xmlfile(buffer) as xf, xf.element("row", {"r": str(number)}):
                for cell in ws._values_to_row(cells, number):  # openpyxl's own append, then its row writer
                    if cell._value is not None or cell.has_style:
                        write_cell(xf, ws, cell, cell.has_style)
        except (ValueError, TypeError) as e:  # the full write says where
            raise _Unfit(f"row {number}: {e}") from None
        out[number] = buffer.getvalue()
    if [len(getattr(wb, n)) for n in _STYLE_LISTS] != sizes:
        raise _Unfit("a changed row needs a cell style the workbook lacks")
    return out


def _sheet_xml(old: zipfile.ZipFile, model: zipfile.ZipFile, dirty: list[bool], keys: list,
               position: dict, rendered: dict[int, bytes]) -> Iterator[bytes]:
    """The patched sheet's XML, in pieces: the model's head and header row (the same bytes
    as the file's, checked), then per plan entry its rendered row or its old row, renumbered."""
    head, header, tail = _split(model.read(_SHEET))
    with old.open(_SHEET) as stream:
        rows = _rows(stream)
        if next(rows) != head or next(rows) != header:
            raise _Unfit("its layout changes (header, widths or frozen pane)")
        yield head + header
        at = 0  # data rows of the old sheet read so far
        for j, (key, again) in enumerate(zip(keys, dirty)):
            number = j + 2
            if again:
                yield rendered[number]
                continue
            while at <= position[key]:  # rows before it: deleted or rendered anew
                row = next(rows)
                at += 1
            found = _NUMBER.match(row)
            if found is None or int(found.group(1)) != at + 1:
                raise _Unfit(f"row {at + 1} is not where its index puts it")
            yield row if at + 1 == number else _RENUMBER.sub(rb'\g<1>%d"' % number, row)
        *_, end = rows
        if end != tail:
            raise _Unfit("the sheet holds more than okrsync writes after its rows")
        yield tail


def _split(xml: bytes) -> tuple[bytes, bytes, bytes]:
    """A sheet's XML as (its head, up to and with <sheetData>; its first row; the rest)."""
    rows = list(_rows(io.BytesIO(xml)))
    if len(rows) != 3:
        raise _Unfit("the model sheet is not a header alone")
    return rows[0], rows[1], rows[2]


def _rows(stream) -> Iterator[bytes]:
    """A sheet's XML in pieces, read in chunks: the head up to and with ``<sheetData>``, each
    ``<row`` element, then the rest from ``</sheetData>`` (rows never hold that text)."""
    buffer, at = b"", -1
    while at < 0:
        buffer = _more(stream, buffer)
        at = buffer.find(b"<sheetData>")
    at += len(b"<sheetData>")
    yield buffer[:at]
    while True:
        if not buffer.startswith(b"<row ", at):
            if len(buffer) - at < len(b"</sheetData>"):
                buffer, at = _more(stream, buffer[at:]), 0
                continue
            if not buffer.startswith(b"</sheetData>", at):
                raise _Unfit("unexpected XML between rows")
            yield buffer[at:] + stream.read()
            return
        nxt = buffer.find(b"<row ", at + 1)
        if nxt < 0:
            nxt = buffer.find(b"</sheetData>", at)
        if nxt < 0:
            buffer, at = _more(stream, buffer[at:]), 0
            continue
        yield buffer[at:nxt]
        at = nxt


def _more(stream, buffer: bytes) -> bytes:
    chunk = stream.read(_CHUNK)
    if not chunk:
        raise _Unfit("the sheet's XML ends early")
    return buffer + chunk


def _save(path, old: zipfile.ZipFile, model: zipfile.ZipFile, sheet: Iterator[bytes]) -> None:
    """The package again, atomically: each part copied from the old file (the fresh ones from
    the model), the sheet streamed from ``sheet``."""
    now = dt.datetime.now().timetuple()[:6]
    with tabular._atomic_file(path, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
        for info in old.infolist():
            if info.filename == _SHEET:
                fresh = zipfile.ZipInfo(_SHEET, now)
                fresh.compress_type = zipfile.ZIP_DEFLATED
                # Zip64 headers only where the sheet may pass 2 GiB: some readers refuse needless ones
                with out.open(fresh, "w", force_zip64=info.file_size > _ZIP64) as w:
                    pending, size = [], 0
                    for piece in sheet:
                        pending.append(piece)
                        size += len(piece)
                        if size >= _CHUNK:
                            w.write(b"".join(pending))
                            pending, size = [], 0
                    w.write(b"".join(pending))
            elif info.filename in _FRESH:
                out.writestr(model.getinfo(info.filename), model.read(info.filename))
            else:
                out.writestr(info, old.read(info))
