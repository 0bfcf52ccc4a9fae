"""Raw spreadsheet I/O: stream rows out of CSV/XLSX files, write tables back safely.

This layer knows nothing about OKRs; connectors above it map cells to fields.

Reading
    ``iter_grid(values)`` does the same for a grid of cells already in memory (a Google
    Sheets range's ``values``), so a row source can be a file or a Sheets range.

    ``iter_rows(path)`` dispatches on suffix (.csv/.tsv/.txt -> ``iter_csv``,
    .xlsx/.xlsm -> ``iter_xlsx``) and yields ``RawRow(file, sheet, number, cells)``
    lazily; nothing is opened until the first ``next()`` and files are closed when
    the iterator finishes or is closed, so errors also surface on first iteration.

    * ``number`` is the 1-based row number a person sees in a spreadsheet program:
      for CSV the physical line on which the record *starts* (multi-line quoted
      cells do not shift later rows), for XLSX the sheet row.
    * Rows whose cells are all empty/whitespace are skipped. Ragged rows are kept
      as-is; padding and reporting is the caller's job.
    * CSV cells are ``str``. Encoding defaults to ``sniff_encoding`` (BOM ->
      utf-8-sig, valid UTF-8 -> utf-8, else cp1252, else latin-1) and the delimiter
      to ``sniff_delimiter`` (one of , ; TAB |; .tsv files default to TAB). A stray
      BOM in the first cell is stripped. Parsing is strict: malformed quoting
      raises ``TableError`` naming file and line instead of silently merging rows.
    * XLSX cells are openpyxl values (str, int, float, bool, datetime, None; rarely
      time/timedelta), read with ``data_only=True`` so formulas yield their cached
      results. Trailing ``None`` cells are trimmed. Every cell of a merged range
      holds the range's (top-left) value: an objective merged over its KR rows is on
      each of them, a header label merged over columns names each. ``list_merges``
      lists the ranges.

Writing
    ``to_grid`` turns rows into the cells of a Sheets range the same way (the sink
    for a Sheets range). ``write_csv``, ``write_xlsx`` and ``write_table`` pass every cell through
    ``neutralise`` (OWASP CSV-injection rule) so no text ever becomes a formula,
    and ``unneutralise`` inverts it exactly. XLSX cannot hold a bare CR, so line
    breaks in xlsx text become "\n"; dates are ISO-formatted in CSV and native
    cells in XLSX (read back as datetime). Writes are atomic: data goes to a
    ``.tmp`` file beside the target, is fsynced and ``os.replace``d onto it; on any
    error the temp file is removed and the original is untouched. An existing
    target's permission bits are kept; new files get the umask default.

Errors are ``TableError`` (a ``ValueError``) carrying ``file``, ``sheet``, ``row``;
OS errors such as a missing file propagate unchanged.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import os
import posixpath
import re
import secrets
import stat
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# openpyxl is imported where a workbook is read or written, not with this module: a run on
# CSV files never needs it (its import was ~70 ms of every command)
if TYPE_CHECKING:
    from openpyxl.styles import Font

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t", "|")
# csv.Sniffer's quote regex is quadratic on some inputs (64 KiB can take seconds),
# so it only ever sees a small head of the file.
_SNIFF_CHARS = 8192
_CHUNK = 1 << 16
# Big enough for JSON blobs in a cell, small enough that an unterminated quote in
# a huge file fails fast instead of swallowing it into memory.
_FIELD_LIMIT = 64 * 1024 * 1024
_DANGEROUS = "=+-@\t\r"
# Escaped form: one or more quotes followed by a dangerous char. Counting the
# whole quote run (not just one) is what makes neutralise/unneutralise a bijection.
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")


class TableError(ValueError):
    """A table could not be read or written; ``str()`` names file, sheet and row."""

    def __init__(self, file: str, message: str, *, sheet: str | None = None,
                 row: int | None = None):
        self.file, self.message, self.sheet, self.row = file, message, sheet, row
        where = [file]
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"{'line' if sheet is None else 'row'} {row}")
        super().__init__(": ".join(where + [message]))

    def __reduce__(self):  # keep picklable (multiprocessing) despite custom __init__
        return (_rebuild_error, (self.file, self.message, self.sheet, self.row))


def _rebuild_error(file, message, sheet, row):
    return TableError(file, message, sheet=sheet, row=row)


@dataclass(frozen=True, slots=True)
class RawRow:
    file: str
    sheet: str | None
    number: int
    cells: list


# --------------------------------------------------------------------- sniffing

def sniff_encoding(path) -> str:
    """Guess a text file's encoding in one constant-memory pass."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = cp1252_ok = True
    with open(path, "rb") as fh:
        head = fh.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        while (utf8_ok or cp1252_ok) and (chunk := fh.read(_CHUNK)):
            utf8_ok = utf8_ok and _decodes(utf8.decode, chunk)
            # cp1252 is single-byte, so chunks can be checked independently.
            cp1252_ok = cp1252_ok and _decodes(lambda b: b.decode("cp1252"), chunk)
    if utf8_ok and _decodes(lambda b: utf8.decode(b, final=True), b""):
        return "utf-8"
    return "cp1252" if cp1252_ok else "latin-1"  # latin-1 decodes any byte


def _decodes(decode, data: bytes) -> bool:
    try:
        decode(data)
    except UnicodeDecodeError:
        return False
    return True


def sniff_delimiter(sample: str) -> str:
    """Pick one of , ; TAB | for ``sample`` (the head of a file); default ","."""
    if len(sample) > _SNIFF_CHARS:  # cut at a line end so no record is half-seen
        cut = sample.rfind("\n", 0, _SNIFF_CHARS)
        sample = sample[: cut if cut > 0 else _SNIFF_CHARS]
    scores = _delimiter_scores(sample)
    best = max(DELIMITERS, key=scores.__getitem__)  # max keeps the first on ties
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = None
    # Sniffer can latch onto a char found in only a few rows (a tab inside a cell);
    # a real delimiter is on as many lines as any rival, so veto it otherwise.
    if found in scores and scores[found][0] >= scores[best][0]:
        return found
    return best if scores[best][1] else ","


def _delimiter_scores(sample: str, max_lines: int = 20) -> dict[str, tuple[int, int]]:
    """Per candidate: (non-empty lines containing it, total count), outside quotes."""
    unquoted = re.sub(r'"[^"]*(?:"|$)', "", sample)  # drops multi-line quoted text too
    lines = [ln for ln in unquoted.splitlines() if ln.strip()][:max_lines]
    return {d: (sum(d in ln for ln in lines), sum(ln.count(d) for ln in lines))
            for d in DELIMITERS}


# ---------------------------------------------------------------------- reading

def iter_csv(path, *, encoding: str | None = None,
             delimiter: str | None = None) -> Iterator[RawRow]:
    file = os.fspath(path)
    encoding = encoding or sniff_encoding(path)
    if csv.field_size_limit() < _FIELD_LIMIT:  # process-global; only ever raise it
        csv.field_size_limit(_FIELD_LIMIT)
    # newline="" lets csv see \r, \n and \r\n itself, so line_num counts physical lines.
    with open(path, encoding=encoding, newline="") as fh:
        try:
            if delimiter is None:
                delimiter = sniff_delimiter(fh.read(_SNIFF_CHARS))
                fh.seek(0)
            reader = csv.reader(fh, delimiter=delimiter, strict=True)
            start = 1  # the line the next record starts on
            try:
                for cells in reader:
                    if start == 1 and cells and cells[0].startswith("\ufeff"):
                        cells[0] = cells[0][1:]
                    if "".join(cells).strip():  # a non-blank cell (one C-level pass, not a generator per row)
                        yield RawRow(file, None, start, cells)
                    start = reader.line_num + 1
            except csv.Error as exc:
                raise _csv_error(file, start, exc) from None
        except UnicodeDecodeError:
            # The decoder works in chunks, so the offending line is not knowable.
            raise TableError(file, f"not valid {encoding} text") from None


def wrapped_lines(head: list[list]) -> str | None:
    """The delimiter inside, when every row of a CSV's head is one cell holding a whole
    quoted line ("ID,Objective,Owner" read as one column: each line was wrapped in quotes
    with the inner quotes doubled); else None."""
    if len(head) < 1 or any(len(cells) != 1 or not isinstance(cells[0], str) for cells in head):
        return None
    scores = _delimiter_scores("\n".join(c[0] for c in head))
    best = max(DELIMITERS, key=scores.__getitem__)
    return best if scores[best][0] == len(head) else None


def unwrap_lines(rows: Iterator[RawRow], delimiter: str) -> Iterator[RawRow]:
    """Rows of a wrapped CSV (see ``wrapped_lines``) split into their cells."""
    try:
        for row in rows:
            if len(row.cells) == 1 and isinstance(row.cells[0], str):
                try:
                    cells = next(csv.reader([row.cells[0]], delimiter=delimiter, strict=True))
                except csv.Error as exc:
                    raise _csv_error(row.file, row.number, exc) from None
                row = RawRow(row.file, row.sheet, row.number, cells)
            yield row
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()


def _csv_error(file: str, line: int, exc: csv.Error) -> TableError:
    text = str(exc)
    if "unexpected end of data" in text:
        text = "unterminated quoted field"
    return TableError(file, text, row=line)


def list_sheets(path) -> list[str]:
    """Names of the worksheets (chartsheets excluded) in workbook order."""
    with contextlib.suppress(Exception), zipfile.ZipFile(path) as zf:
        return list(_LeanBook(zf).sheets)
    wb = _open_workbook(path)
    try:
        return [ws.title for ws in wb.worksheets]
    finally:
        wb.close()


def last_modified_by(path) -> str | None:
    """Who last saved a workbook, as its ``docProps/core.xml`` says (``cp:lastModifiedBy``,
    ECMA-376 Part 2 core properties; Excel and LibreOffice set it on save, openpyxl reads it
    as ``wb.properties.lastModifiedBy``). None when the file does not say: a workbook okrsync
    wrote (its own ``write_xlsx`` leaves it empty), or one without core properties. Reads
    only that small part, not the workbook."""
    from openpyxl.packaging.core import DocumentProperties

    try:
        with zipfile.ZipFile(path) as zf:
            name = DocumentProperties.from_tree(ET.fromstring(zf.read("docProps/core.xml"))).lastModifiedBy
    except (KeyError, OSError, zipfile.BadZipFile, SyntaxError, TypeError, ValueError):
        return None  # no core properties, or unreadable ones: who is unknown, as in a CSV
    return name.strip() or None if isinstance(name, str) else None


def iter_xlsx(path, *, sheet: str | None = None) -> Iterator[RawRow]:
    """Rows of one sheet (default: the first). Ordinary workbooks go through the
    lean streaming reader below (~3x faster); if it fails before yielding anything
    (odd or broken files) openpyxl reads the file instead and has the last word."""
    file = os.fspath(path)
    last = None
    try:
        for last in _iter_lean(file, sheet):
            yield last
        return
    except TableError:  # unknown sheet etc.: the lean reader's answer is final
        raise
    except Exception as exc:
        if last is not None:  # cannot restart silently: rows were already handed out
            raise TableError(file, f"unreadable sheet data after row {last.number} ({exc})",
                             sheet=last.sheet) from exc
    yield from _iter_openpyxl(file, sheet)


def _iter_openpyxl(file: str, sheet: str | None) -> Iterator[RawRow]:
    wb = _open_workbook(file)
    try:
        name = _pick_sheet(file, [ws.title for ws in wb.worksheets], sheet)
        ws = wb.worksheets[0] if name is None else wb[name]
        # Some producers write a wrong <dimension>; trusting it truncates rows.
        ws.reset_dimensions()
        merges, active = [], []
        # read-only openpyxl does not read merged ranges: from the sheet's XML, where it can be read
        with contextlib.suppress(Exception), zipfile.ZipFile(file) as zf:
            merges = _merged_ranges(zf, _LeanBook(zf).sheets[ws.title])[::-1]
        # read-only iter_rows fills gaps with empty rows, so enumerate == row number.
        for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), 1):
            cells = list(values)
            if merges or active:
                _fill_merged(cells, number, merges, active)
            if _trim_keep(cells):
                yield RawRow(file, ws.title, number, cells)
    finally:
        wb.close()


def _trim_keep(cells: list) -> bool:
    """Drop trailing ``None``s in place; False if nothing but blanks is left."""
    while cells and cells[-1] is None:
        cells.pop()
    return any(not (v is None or isinstance(v, str) and not v.strip()) for v in cells)


def _open_workbook(path):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # zipfile/KeyError/InvalidFileException zoo
        raise TableError(os.fspath(path), f"not a readable xlsx workbook ({exc})") from exc


def _pick_sheet(file: str, names: list[str], sheet: str | None) -> str | None:
    """Validate ``sheet`` against ``names``; None means "the first sheet"."""
    if not names:
        raise TableError(file, "workbook has no worksheets")
    if sheet is not None and sheet not in names:
        listed = ", ".join(repr(n) for n in names)
        raise TableError(file, f"no such sheet (sheets: {listed})", sheet=sheet)
    return sheet


# ------------------------------------------------------------ lean XLSX reader
# openpyxl's read-only mode builds a dict and a cell object per cell, which
# dominates big imports. This reader streams the sheet XML with ElementTree
# instead and reproduces openpyxl's read-only, data_only=True values exactly:
# same number casting, date detection via the cell style's number format, shared
# and inline string text, cached formula results. Anything it does not expect
# raises, and iter_xlsx falls back to openpyxl.

_M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_ROW, _V, _T, _IS = _M + "row", _M + "v", _M + "t", _M + "is"
_COLS: dict[str, int] = {}  # "AB" -> 28, memoised: a sheet uses few distinct columns


class _LeanBook:
    """Workbook-level parts: sheet list, epoch, shared strings, date styles."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = {r.get("Id"): (r.get("Type", ""), _part(r.get("Target")))
                for r in ET.fromstring(zf.read("xl/_rels/workbook.xml.rels")).iter(_REL)}
        self.parts = {kind.rsplit("/", 1)[-1]: part for kind, part in rels.values()}
        # Like openpyxl: every <sheet> whose part exists, minus chartsheets.
        found = [(s.get("name"), *rels[s.get(_R_ID)]) for s in book.iter(_M + "sheet")]
        names = set(zf.namelist())
        self.sheets = {name: part for name, kind, part in found
                       if part in names and "chartsheet" not in kind}
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        pr = book.find(_M + "workbookPr")
        flag = None if pr is None else pr.get("date1904")  # openpyxl's Bool rules
        self.epoch = (CALENDAR_WINDOWS_1900 if flag in (None, "", "false", "f", "0")
                      else CALENDAR_MAC_1904)

    def shared_strings(self) -> list[str]:
        strings = []
        if "sharedStrings" in self.parts:
            for _, el in ET.iterparse(self.zf.open(self.parts["sharedStrings"])):
                if el.tag == _M + "si":
                    strings.append(_text(el).replace("x005F_", ""))  # as openpyxl does
                    el.clear()
        return strings

    def date_styles(self) -> tuple[set[str], set[str]]:
        """Style indexes (spelled as in ``s="3"``) with date / timedelta formats."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        dates, deltas = set(), set()
        if "styles" in self.parts:
            styles = ET.fromstring(self.zf.read(self.parts["styles"]))
            custom = {int(f.get("numFmtId")): f.get("formatCode")
                      for f in styles.iter(_M + "numFmt")}
            xfs = styles.find(_M + "cellXfs")
            for i, xf in enumerate([] if xfs is None else xfs.iter(_M + "xf")):
                fid = int(xf.get("numFmtId", 0))
                fmt = custom.get(fid, BUILTIN_FORMATS.get(fid))
                if fmt and is_date_format(fmt):
                    dates.add(str(i))
                if fmt and is_timedelta_format(fmt):
                    deltas.add(str(i))
        return dates, deltas


def _part(target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)


def _text(el) -> str:
    """Text of an <si>/<is>: the plain <t> plus rich-text runs, never phonetic <rPh>."""
    if len(el) == 1 and el[0].tag == _T:
        # one plain <t> (nearly every string): no runs to look for, which iterfind did by
        # an ElementPath search per cell (a tenth of reading a workbook of inline strings)
        return el[0].text or ""
    return (el.findtext(_T) or "") + "".join(r.findtext(_T) or "" for r in el.iterfind(_M + "r"))


def _column(ref: str) -> int:
    letters = ref.rstrip("0123456789")
    if letters not in _COLS:
        n = 0
        for ch in letters.upper():
            n = n * 26 + ord(ch) - 64
        _COLS[letters] = n
    return _COLS[letters]


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Za-z]+[0-9]+):([A-Za-z]+[0-9]+)"')


def cell_ref(ref: str) -> tuple[int | None, int]:
    """"B3" -> (3, 2); a bare column "B" -> (None, 2)."""
    letters = ref.strip().rstrip("0123456789")
    digits = ref.strip()[len(letters):]
    if not letters.isalpha():
        raise ValueError(f"not a cell reference: {ref!r}")
    return (int(digits) if digits else None), _column(letters)


def column_letter(index: int) -> str:
    """1 -> "A", 28 -> "AB"."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _merged_ranges(zf: zipfile.ZipFile, part: str) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of each merged range of a sheet part.
    <mergeCells> follows the cell data, so the part is scanned once before it is streamed
    (a byte search, a small fraction of the parse)."""
    found, tail = [], b""
    with zf.open(part) as fh:
        while chunk := fh.read(_CHUNK * 4):
            data = tail + chunk
            if b"mergeCell" in data:  # a plain byte search first: most chunks are cell data
                found += _MERGE.findall(data)
            cut = data.rfind(b"<")  # a tag cut by the chunk end is searched again with the next chunk
            tail = data[cut:] if cut >= 0 and b">" not in data[cut:] else b""
    ranges = set()
    for a, b in found:
        (r1, c1), (r2, c2) = cell_ref(a.decode()), cell_ref(b.decode())
        ranges.add((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
    return sorted(ranges)


def list_merges(path, *, sheet: str | None = None) -> list[str]:
    """A workbook sheet's merged ranges as "A2:A5" (empty for other files)."""
    with zipfile.ZipFile(path) as zf:
        book = _LeanBook(zf)
        name = _pick_sheet(os.fspath(path), list(book.sheets), sheet) or next(iter(book.sheets))
        return [f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"
                for r1, c1, r2, c2 in _merged_ranges(zf, book.sheets[name])]


def _fill_merged(cells: list, number: int, todo: list, active: list) -> None:
    """Give every cell of a merged range its top-left value (Excel keeps it only there):
    an objective merged over its KR rows is on each of them, a header label over each column."""
    while todo and todo[-1][0] <= number:
        r1, c1, r2, c2 = todo.pop()
        value = cells[c1 - 1] if r1 == number and c1 <= len(cells) else None
        active.append((r2, c1, c2, value))
    if not active:
        return
    active[:] = [a for a in active if a[0] >= number]
    for _, c1, c2, value in active:
        if value is None:
            continue
        if c2 > len(cells):
            cells.extend([None] * (c2 - len(cells)))
        for i in range(c1 - 1, c2):
            cells[i] = value


def _iter_lean(file: str, sheet: str | None) -> Iterator[RawRow]:
    with zipfile.ZipFile(file) as zf:
        book = _LeanBook(zf)
        name = _pick_sheet(file, list(book.sheets), sheet) or next(iter(book.sheets))
        decoding = (book.shared_strings(), *book.date_styles(), book.epoch)
        merges, active = _merged_ranges(zf, book.sheets[name])[::-1], []  # reversed: pop() takes the first
        last = 0
        with zf.open(book.sheets[name]) as fh:
            for _, row in ET.iterparse(fh):  # "end" events: a <row> arrives complete
                if row.tag != _ROW:
                    continue
                number = int(row.get("r") or last + 1)
                cells = _row_cells(row, *decoding)
                row.clear()  # the emptied element stays in the tree: ~100 B per row
                if number <= last:  # openpyxl drops rows that repeat or go back; so do we.
                    continue
                last = number
                if merges or active:
                    _fill_merged(cells, number, merges, active)
                if _trim_keep(cells):
                    yield RawRow(file, name, number, cells)


def _row_cells(row, shared: list[str], dates: set[str], deltas: set[str], epoch) -> list:
    """The values of one <row>, placed by their column letters (a <c> without ``r`` is the
    next column)."""
    cells: list = []
    col = 0
    for c in row:
        ref = c.get("r")
        col = _column(ref) if ref else col + 1
        if col > len(cells):
            cells.extend([None] * (col - len(cells)))
        cells[col - 1] = _cell_value(c, shared, dates, deltas, epoch)
    del cells[col:]  # openpyxl ends a row at its last <c>, even if out of order
    return cells


def _cell_value(c, shared: list[str], dates: set[str], deltas: set[str], epoch):
    """One <c>'s value as openpyxl reads it (formulas: their cached result)."""
    kind = c.get("t", "n")
    if kind == "inlineStr":
        node = c.find(_IS)
        return None if node is None else _text(node)
    value = c.findtext(_V) or None
    if value is None:  # empty cell, or a formula without a cached result
        return None
    if kind == "n":
        return _number(value, c.get("s") or "0", dates, deltas, epoch)
    if kind == "s":
        return shared[int(value)]
    if kind == "b":
        return bool(int(value))
    if kind == "d":
        from openpyxl.utils.datetime import from_ISO8601

        return from_ISO8601(value)
    return value  # "str" (formula text) and "e" (error code) stay text


def _number(text: str, style: str, dates: set[str], deltas: set[str], epoch):
    """A numeric cell: an int or float, or a date/time/duration when its style formats it so."""
    value = float(text) if "." in text or "E" in text or "e" in text else int(text)
    if style not in dates:
        return value
    try:
        return _from_excel(value, epoch, style in deltas)
    except (OverflowError, ValueError):
        return "#VALUE!"  # openpyxl's (warned) substitute


@functools.lru_cache(maxsize=4096, typed=True)  # typed: 3 and 3.0 are equal keys
def _from_excel(value: float, epoch: dt.datetime, timedelta: bool):
    """openpyxl's serial → date, once per distinct serial: a sheet's dates repeat row after
    row (an objective's due date on each of its KRs), and the results are immutable."""
    from openpyxl.utils.datetime import from_excel

    return from_excel(value, epoch, timedelta=timedelta)


def iter_rows(path, *, sheet: str | None = None, encoding: str | None = None,
              delimiter: str | None = None) -> Iterator[RawRow]:
    suffix = Path(path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        if delimiter is None and suffix == ".tsv":
            delimiter = "\t"  # sniffing a one-column TSV could wrongly pick ","
        return iter_csv(path, encoding=encoding, delimiter=delimiter)
    if suffix in XLSX_SUFFIXES:
        return iter_xlsx(path, sheet=sheet)
    raise TableError(os.fspath(path), _unsupported(suffix, CSV_SUFFIXES + XLSX_SUFFIXES))


def iter_grid(values: list[list], *, file: str, sheet: str | None) -> Iterator[RawRow]:
    """Rows of a grid of cell values (row 1 first), numbered like the sheet; rows with
    nothing but blanks are skipped and trailing empty cells trimmed, as the file readers do."""
    for number, cells in enumerate(values, 1):
        cells = list(cells)
        while cells and cells[-1] in (None, ""):
            cells.pop()
        if _trim_keep(cells):
            yield RawRow(file, sheet, number, cells)


def _unsupported(suffix: str, supported: tuple[str, ...]) -> str:
    return f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(supported)}"


# ----------------------------------------------------------- CSV injection guard

def neutralise(value: Any) -> Any:
    """Prefix ``'`` to text a spreadsheet could run as a formula (and to text that
    already looks escaped, so ``unneutralise`` can tell the two apart)."""
    if isinstance(value, str) and value and (value[0] in _DANGEROUS or _ESCAPED.match(value)):
        return "'" + value
    return value


def unneutralise(value: Any) -> Any:
    """Exact inverse of ``neutralise``; ordinary text such as "it's" is unchanged."""
    if isinstance(value, str) and _ESCAPED.match(value):
        return value[1:]
    return value


# ---------------------------------------------------------------------- writing

def write_csv(path, header: list[str], rows: Iterable[list], *,
              delimiter: str = ",", encoding: str = "utf-8") -> None:
    with _atomic_file(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow([_csv_value(v) for v in header])
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])


def to_grid(rows: Iterable[list]) -> list[list]:
    """Rows as the cells of a Sheets range: neutralised like a CSV's, so no text becomes a
    formula; ``None`` as "" (a Sheets write skips null cells, and "" is what clears one)."""
    return [[_csv_value(v) for v in row] for row in rows]


def _csv_value(value: Any) -> Any:
    value = neutralise(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):  # before date: datetime is a date subclass
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_xlsx(path, sheets: dict[str, tuple[list[str], Iterable[list]]], styles: dict | None = None) -> None:
    """Write sheets of rows; ``styles`` (sheet title → an object with ``setup(ws)`` and
    ``cells(ws, row number, values)``, see connectors/sheet_style.py) dresses them."""
    file = os.fspath(path)
    if not sheets:
        raise TableError(file, "a workbook needs at least one sheet")
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    try:
        _fill_workbook(file, wb, sheets, styles or {})
        with _atomic_file(path, "wb") as fh:
            wb.save(fh)
    except BaseException:
        _discard(wb)
        raise


def _fill_workbook(file: str, wb, sheets, styles: dict) -> None:
    from openpyxl.styles import Font

    bold = Font(bold=True)
    for title, (header, rows) in sheets.items():
        try:
            ws = wb.create_sheet(title)
        except ValueError as exc:  # invalid characters in the sheet title
            raise TableError(file, str(exc), sheet=title) from None
        style = styles.get(title)
        if style is not None:
            style.setup(ws)
        _append(file, ws, 1, header, bold, style)
        for number, row in enumerate(rows, 2):
            _append(file, ws, number, row, style=style)


def _discard(wb) -> None:
    # Write-only sheets stream into temp files via generators; closing them now
    # avoids "I/O on closed file" noise at GC and frees the temp files early.
    for ws in wb.worksheets:
        with contextlib.suppress(Exception):
            ws.close()
            ws._writer.cleanup()  # private, hence the suppress


def _xlsx_value(value: Any) -> Any:
    # openpyxl only rejects aware datetimes at save time, where the row is unknown.
    if isinstance(value, (dt.datetime, dt.time)) and value.tzinfo is not None:
        raise ValueError("timezone-aware datetimes cannot be stored in xlsx")
    if isinstance(value, str) and "\r" in value:
        # XML parsing turns a raw CR into LF anyway; doing it first means "\r=x" is
        # not escaped as "'\r=x" only to come back as "'\n=x" with a stray quote.
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return neutralise(value)


def _append(file: str, ws, number: int, row: list, font: Font | None = None, style=None) -> None:
    try:
        cells = [_xlsx_value(v) for v in row]
        if style is not None:
            cells = style.cells(ws, number, cells)
        elif font is not None:  # the header row
            from openpyxl.cell import WriteOnlyCell

            cells = [WriteOnlyCell(ws, value=v) for v in cells]
            for cell in cells:
                cell.font = font
        ws.append(cells)
    except (ValueError, TypeError, _illegal_character()) as exc:  # the tuple is made only on an error
        raise TableError(file, str(exc) or type(exc).__name__,
                         sheet=ws.title, row=number) from exc


def _illegal_character() -> type[Exception]:
    from openpyxl.utils.exceptions import IllegalCharacterError

    return IllegalCharacterError


def write_table(path, header: list[str], rows: Iterable[list]) -> None:
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".txt"):
        write_csv(path, header, rows)
    elif suffix == ".tsv":
        write_csv(path, header, rows, delimiter="\t")
    elif suffix == ".xlsx":
        write_xlsx(path, {"OKRs": (header, rows)})
    else:  # .xlsm excluded: without a VBA part Excel refuses such a file
        raise TableError(os.fspath(path), _unsupported(suffix, (".csv", ".tsv", ".txt", ".xlsx")))


@contextlib.contextmanager
def _atomic_file(path, mode: str, **open_kwargs):
    """Yield a temp file next to ``path``; on clean exit fsync it and swap it in."""
    target = os.path.realpath(path)  # write through symlinks, don't replace them
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)  # out/board.xlsx: the first push makes out/
    fd, tmp = _create_temp(directory, os.path.basename(target))
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _create_temp(directory: str, name: str) -> tuple[int, str]:
    # Not mkstemp: it forces mode 0o600, whereas 0o666 lets the umask decide.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temp file in {directory}")


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable. Windows cannot open directories and some
    # filesystems refuse to fsync them; the data is already safely in place then.
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
