import datetime as dt
import os
import pickle
import tracemalloc

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from okrsync import tabular
from okrsync.tabular import (
    RawRow,
    TableError,
    iter_csv,
    iter_rows,
    iter_xlsx,
    list_sheets,
    neutralise,
    sniff_delimiter,
    sniff_encoding,
    unneutralise,
    write_csv,
    write_table,
    write_xlsx,
)


def rows_of(it):
    return [(r.number, r.cells) for r in it]


# ------------------------------------------------------------------ encodings

def test_sniff_encoding_bom(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"\xef\xbb\xbfname,x\nCaf\xc3\xa9,1\n")
    assert sniff_encoding(p) == "utf-8-sig"
    assert rows_of(iter_csv(p)) == [(1, ["name", "x"]), (2, ["Café", "1"])]


def test_sniff_encoding_utf8_without_bom(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes("name,x\nCafé,1\n".encode())
    assert sniff_encoding(p) == "utf-8"
    assert rows_of(iter_csv(p))[1] == (2, ["Café", "1"])


def test_sniff_encoding_utf8_multibyte_char_split_across_chunks(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"x" * (tabular._CHUNK - 1) + "é\n".encode())
    assert sniff_encoding(p) == "utf-8"


def test_sniff_encoding_cp1252(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes("name,x\nCafé – “ok”,1\n".encode("cp1252"))
    assert sniff_encoding(p) == "cp1252"
    assert rows_of(iter_csv(p))[1] == (2, ["Café – “ok”", "1"])


def test_sniff_encoding_latin1_last_resort(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"a,\x81\xe9\n")  # 0x81 is undefined in cp1252
    assert sniff_encoding(p) == "latin-1"
    assert rows_of(iter_csv(p)) == [(1, ["a", "\x81é"])]


def test_sniff_encoding_empty_file(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"")
    assert sniff_encoding(p) == "utf-8"
    assert list(iter_csv(p)) == []


def test_bom_stripped_even_with_explicit_utf8(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"\xef\xbb\xbfname,x\n")
    assert rows_of(iter_csv(p, encoding="utf-8")) == [(1, ["name", "x"])]


def test_wrong_explicit_encoding_is_table_error(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"a,\xe9\n")
    with pytest.raises(TableError, match="not valid utf-8"):
        list(iter_csv(p, encoding="utf-8"))


# ----------------------------------------------------------------- delimiters

@pytest.mark.parametrize("text, expected", [
    ("a;b;c\n1;2;3\n", ";"),
    ("a\tb\tc\n1\t2\t3\n", "\t"),
    ("a|b|c\n1|2|3\n", "|"),
    ("a,b,c\n1,2,3\n", ","),
    ('name,notes\n"x; y; z",1\n"p;q",2\n', ","),
    ("just one column\nanother\n", ","),
    ("", ","),
])
def test_sniff_delimiter(text, expected):
    assert sniff_delimiter(text) == expected


def test_delimiter_scores_ignore_quoted_delimiters():
    scores = tabular._delimiter_scores('"a,b,c";x\n"d,\ne";y\n\n')
    assert scores[";"] == (2, 2) and scores[","] == (0, 0)


def test_sniffer_veto_when_candidate_is_missing_from_most_lines():
    sample = "text,n\n'\tTab,1\nplain,2\n'\tmore,3\n"
    assert sniff_delimiter(sample) == ","


def test_sniff_delimiter_large_sample_is_fast():
    import time
    sample = "a,'b\n" * 20000  # pathological for csv.Sniffer's quote regex
    start = time.perf_counter()
    assert sniff_delimiter(sample) == ","
    assert time.perf_counter() - start < 2


# a file's text → its rows (line number, cells) as read
ROWS = [
    pytest.param("semi.csv", "a;b\n1,5;2\n", [(1, ["a", "b"]), (2, ["1,5", "2"])], id="semicolon-sniffed"),
    pytest.param("tabs.tsv", "a\tb\nx, y\tz\n", [(1, ["a", "b"]), (2, ["x, y", "z"])], id="tab-file"),
    pytest.param("one.tsv", "title\nShip it, fast\nHire, train\n",
                 [(1, ["title"]), (2, ["Ship it, fast"]), (3, ["Hire, train"])], id="single-column-tsv-defaults-to-tab"),
    pytest.param("a.csv", "a,b,c\n1\n1,2,3,4\n", [(1, ["a", "b", "c"]), (2, ["1"]), (3, ["1", "2", "3", "4"])],
                 id="ragged-rows-kept-as-is"),
    pytest.param("a.csv", "a,b\n\n , \n,,\n1,2\n\n", [(1, ["a", "b"]), (5, ["1", "2"])], id="blank-lines-skipped"),
]


@pytest.mark.parametrize("name, text, rows", ROWS)
def test_rows_as_read(tmp_path, name, text, rows):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert rows_of(iter_rows(path)) == rows


# ------------------------------------------------------------------- CSV rows

def test_multiline_cell_keeps_physical_line_numbers(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b'id,notes\r\n1,"line one\r\nline two\r\nline three"\r\n2,after\r\n3,"x\ry"\r4,z\n')
    assert rows_of(iter_csv(p)) == [
        (1, ["id", "notes"]),
        (2, ["1", "line one\r\nline two\r\nline three"]),
        (5, ["2", "after"]),
        (6, ["3", "x\ry"]),
        (8, ["4", "z"]),
    ]


def test_json_cell(tmp_path):
    p = tmp_path / "a.csv"
    blob = '{"krs": [' + ", ".join(f'{{"id": {i}, "t": "x, y"}}' for i in range(20000)) + "]}"
    assert len(blob) > 131072  # beyond csv's default field_size_limit
    p.write_text('id,meta\n1,"' + blob.replace('"', '""') + '"\n', encoding="utf-8")
    rows = list(iter_csv(p))
    assert rows[1].cells == ["1", blob]


def test_unterminated_quote_names_file_and_line(tmp_path):
    p = tmp_path / "okrs.csv"
    p.write_text('a,b\n1,2\n3,"oops\n4,5\n6,7\n', encoding="utf-8")
    with pytest.raises(TableError) as exc:
        list(iter_csv(p))
    err = exc.value
    assert (err.file, err.sheet, err.row) == (str(p), None, 3)
    assert str(err) == f"{p}: line 3: unterminated quoted field"
    assert isinstance(err, ValueError)


def test_garbage_after_quote_is_error(tmp_path):
    p = tmp_path / "okrs.csv"
    p.write_text('a,b\n\n"x"y,2\n', encoding="utf-8")
    with pytest.raises(TableError, match=r"okrs\.csv: line 3: .*expected after"):
        list(iter_csv(p))


def test_rows_before_error_are_yielded(tmp_path):
    p = tmp_path / "okrs.csv"
    p.write_text('a,b\n1,"x\n', encoding="utf-8")
    it = iter_csv(p)
    assert next(it).cells == ["a", "b"]
    with pytest.raises(TableError):
        next(it)


def test_table_error_pickles():
    err = TableError("b.xlsx", "boom", sheet="S", row=4)
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.file, copy.sheet, copy.row) == (str(err), "b.xlsx", "S", 4)
    assert str(err) == "b.xlsx: sheet 'S': row 4: boom"


def test_streaming_does_not_build_a_list(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        fh.write("id,title,owner\n")
        for i in range(200_000):
            fh.write(f"{i},Objective number {i},owner{i % 50}@example.com\n")
    assert p.stat().st_size > 8_000_000
    tracemalloc.start()
    try:
        count = 0
        last = None
        for row in iter_csv(p):
            count += 1
            last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_001 and last.number == 200_001
    assert peak < 2_000_000  # a list of 200k rows would need tens of MB


def test_iterator_is_lazy_and_closes_file(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("a\nb\nc\n", encoding="utf-8")
    it = iter_csv(p)
    assert next(it).cells == ["a"]
    it.close()  # must not raise; file closed by the with-block
    assert iter_csv(tmp_path / "missing.csv") is not None  # nothing opened yet


# ------------------------------------------------------------------ XLSX rows

def _workbook(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Objectives"
    ws.append(["team", "objective", "due", "score", None, None])
    ws.append(["Core", "Ship v2", dt.datetime(2024, 3, 31, 12, 0), 0.5])
    ws.append([None, "Hire", None, 1])
    ws.append([None, "Train", None, True])
    ws.append([])
    ws.append([None, "  ", None])
    ws.append(["Ops", "=1+1"])
    ws.merge_cells("A2:A4")
    other = wb.create_sheet("KRs")
    other["B3"] = "late start"
    wb.save(path)


def test_xlsx_read_merged_and_datetime(tmp_path):
    p = tmp_path / "book.xlsx"
    _workbook(p)
    assert list_sheets(p) == ["Objectives", "KRs"]
    rows = list(iter_xlsx(p))
    assert [(r.sheet, r.number) for r in rows] == [("Objectives", n) for n in (1, 2, 3, 4, 7)]
    assert rows[0].cells == ["team", "objective", "due", "score"]  # trailing None trimmed
    assert rows[1].cells == ["Core", "Ship v2", dt.datetime(2024, 3, 31, 12, 0), 0.5]
    assert rows[2].cells == ["Core", "Hire", None, 1]  # merged A2:A4: the top-left value on every row
    assert rows[3].cells == ["Core", "Train", None, True]
    assert rows[4].cells == ["Ops"]  # formula never computed: data_only gives None, trimmed
    assert rows[0].file == str(p)


def test_xlsx_named_sheet_and_row_numbers(tmp_path):
    p = tmp_path / "book.xlsx"
    _workbook(p)
    assert [(r.number, r.cells) for r in iter_rows(p, sheet="KRs")] == [(3, [None, "late start"])]


def test_xlsx_unknown_sheet(tmp_path):
    p = tmp_path / "book.xlsx"
    _workbook(p)
    with pytest.raises(TableError) as exc:
        list(iter_xlsx(p, sheet="Nope"))
    assert exc.value.sheet == "Nope"
    assert "'Objectives', 'KRs'" in str(exc.value) and "book.xlsx" in str(exc.value)


def test_xlsx_not_a_workbook(tmp_path):
    p = tmp_path / "fake.xlsx"
    p.write_text("not a zip", encoding="utf-8")
    with pytest.raises(TableError, match="fake.xlsx"):
        list(iter_xlsx(p))


def test_xlsx_iterator_closes_zip(tmp_path, monkeypatch):
    p = tmp_path / "book.xlsx"
    _workbook(p)
    closed = []
    real = tabular.zipfile.ZipFile

    class Spy(real):
        def close(self):
            if self.fp is not None:
                closed.append(True)
            super().close()

    monkeypatch.setattr(tabular.zipfile, "ZipFile", Spy)
    it = iter_xlsx(p)
    next(it)
    it.close()
    assert closed == [True]
    list(iter_xlsx(p))
    assert closed == [True, True]


def test_xlsx_fallback_iterator_closes_workbook(tmp_path, monkeypatch):
    p = tmp_path / "book.xlsx"
    _workbook(p)
    closed = []
    real = tabular._open_workbook

    def spy(path):
        wb = real(path)
        orig = wb.close
        wb.close = lambda: (closed.append(True), orig())
        return wb

    monkeypatch.setattr(tabular, "_open_workbook", spy)
    monkeypatch.setattr(tabular, "_LeanBook", None)  # lean reader fails -> openpyxl
    it = iter_xlsx(p)
    assert next(it).cells == ["team", "objective", "due", "score"]
    it.close()
    assert closed == [True]
    list(iter_xlsx(p))
    assert closed == [True, True]


def test_iter_rows_unsupported_suffix(tmp_path):
    with pytest.raises(TableError, match=r"\.ods.*\.csv.*\.xlsx"):
        iter_rows(tmp_path / "x.ods")


# ---------------------------------------------------------- neutralise & co.

@pytest.mark.parametrize("raw, safe", [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
    ("+1", "'+1"),
    ("-5", "'-5"),
    ("@cmd", "'@cmd"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("'=x", "''=x"),
    ("''-x", "'''-x"),
    ("'quoted' word", "'quoted' word"),
    ("it's", "it's"),
    ("'", "'"),
    ("", ""),
    ("a=b", "a=b"),
    (-5, -5),
    (1.5, 1.5),
    (None, None),
    (True, True),
])
def test_neutralise_table(raw, safe):
    assert neutralise(raw) == safe
    assert unneutralise(safe) == raw


@pytest.mark.parametrize("text", ["'quoted' word", "it's", "'", "''", "'x=1", "plain"])
def test_unneutralise_leaves_ordinary_text(text):
    assert unneutralise(text) == text


@given(st.text())
def test_neutralise_round_trip(s):
    assert unneutralise(neutralise(s)) == s


@given(st.text(alphabet="'=+-@\t\rab", max_size=8))
def test_neutralise_round_trip_dense(s):
    safe = neutralise(s)
    assert unneutralise(safe) == s
    assert not safe or safe[0] not in "=+-@\t\r"


# -------------------------------------------------------------------- writing

TRICKY = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(1)", "\tTab", "'=quoted", "it's", "plain"]


def test_csv_round_trip(tmp_path):
    p = tmp_path / "out.csv"
    rows = [[t, i, None, "multi\nline, with comma"] for i, t in enumerate(TRICKY)]
    write_csv(p, ["text", "n", "empty", "notes"], rows)
    back = list(iter_csv(p))
    assert back[0].cells == ["text", "n", "empty", "notes"]
    assert [unneutralise(r.cells[0]) for r in back[1:]] == TRICKY
    assert all(not r.cells[0].startswith(tuple("=+-@\t\r")) for r in back)
    assert back[2].cells[1:3] == ["1", ""]
    assert back[2].number == 4  # the multi-line cell of row 1 used two lines


def test_csv_write_formats(tmp_path):
    p = tmp_path / "out.csv"
    write_csv(p, ["a", "b", "c"], [[dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4), -5]],
              delimiter=";", encoding="cp1252")
    assert p.read_bytes() == b"a;b;c\r\n2024-01-02;2024-01-02 03:04:00;-5\r\n"


def test_xlsx_round_trip_and_no_formulas(tmp_path):
    p = tmp_path / "out.xlsx"
    when = dt.datetime(2024, 5, 6, 7, 8)
    rows = [[t, i, None, when, i % 2 == 0] for i, t in enumerate(TRICKY)]
    write_xlsx(p, {"OKRs": (["=text", "n", "empty", "when", "flag"], rows),
                   "Other": (["x"], iter([["=1+1"]]))})
    wb = openpyxl.load_workbook(p)  # not read-only: we want data_type per cell
    ws = wb["OKRs"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert all(c.data_type != "f" for row in wb["Other"].iter_rows() for c in row)
    assert ws["A1"].font.bold
    assert ws["B2"].data_type == "n" and ws["E2"].data_type == "b" and ws["D2"].is_date
    wb.close()
    back = list(iter_xlsx(p))
    assert unneutralise(back[0].cells[0]) == "=text"
    assert [unneutralise(r.cells[0]) for r in back[1:]] == TRICKY
    assert back[1].cells[1:] == [0, None, when, True]
    assert [r.cells for r in iter_xlsx(p, sheet="Other")][1] == ["'=1+1"]


def test_xlsx_carriage_return_becomes_newline(tmp_path):
    p = tmp_path / "out.xlsx"
    write_table(p, ["h"], [["\r=x"], ["a\r\nb"]])
    assert [r.cells for r in iter_rows(p)][1:] == [["\n=x"], ["a\nb"]]


def test_xlsx_bad_cell_names_sheet_and_row(tmp_path):
    p = tmp_path / "out.xlsx"
    aware = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(TableError, match=r"sheet 'S': row 3: timezone"):
        write_xlsx(p, {"S": (["a"], [["ok"], [aware]])})
    with pytest.raises(TableError, match=r"row 2"):
        write_xlsx(p, {"S": (["a"], [["bell\x07"]])})
    assert not p.exists() and os.listdir(tmp_path) == []


def test_write_table_dispatch(tmp_path):
    write_table(tmp_path / "a.csv", ["h"], [["=x"]])
    write_table(tmp_path / "a.tsv", ["h", "i"], [["1", "2"]])
    write_table(tmp_path / "a.xlsx", ["h"], [["=x"]])
    assert (tmp_path / "a.csv").read_bytes() == b"h\r\n'=x\r\n"
    assert (tmp_path / "a.tsv").read_bytes() == b"h\ti\r\n1\t2\r\n"
    assert list_sheets(tmp_path / "a.xlsx") == ["OKRs"]
    for bad in ("a.xlsm", "a.ods"):
        with pytest.raises(TableError, match="supported"):
            write_table(tmp_path / bad, ["h"], [])


def _failing_rows():
    yield ["new", "1"]
    raise RuntimeError("source exploded")


@pytest.mark.parametrize("name", ["t.csv", "t.xlsx"])
def test_atomic_write_rows_raise_midway(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"original")
    with pytest.raises(RuntimeError, match="exploded"):
        write_table(p, ["a", "b"], _failing_rows())
    assert p.read_bytes() == b"original"
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("name", ["t.csv", "t.xlsx"])
def test_atomic_write_replace_fails(tmp_path, monkeypatch, name):
    p = tmp_path / name
    p.write_bytes(b"original")

    def boom(src, dst):
        assert os.path.basename(src).endswith(".tmp") and os.path.dirname(src) == str(tmp_path)
        raise OSError("disk on fire")

    monkeypatch.setattr(tabular.os, "replace", boom)
    with pytest.raises(OSError, match="fire"):
        write_table(p, ["a"], [["x"]])
    assert p.read_bytes() == b"original"
    assert os.listdir(tmp_path) == [name]


def test_atomic_write_keeps_mode_and_fsyncs(tmp_path, monkeypatch):
    p = tmp_path / "t.csv"
    p.write_text("old")
    os.chmod(p, 0o600)
    synced = []
    real = os.fsync
    monkeypatch.setattr(tabular.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    write_csv(p, ["a"], [["1"]])
    assert p.read_bytes() == b"a\r\n1\r\n"
    assert os.stat(p).st_mode & 0o777 == 0o600
    assert len(synced) == 2  # the file, then its directory
    fresh = tmp_path / "new.csv"
    write_csv(fresh, ["a"], [])
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(fresh).st_mode & 0o777 == 0o666 & ~umask


def test_write_through_symlink(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_csv(link, ["a"], [])
    assert link.is_symlink() and real.read_bytes() == b"a\r\n"


def test_rawrow_is_frozen():
    row = RawRow("f", None, 1, ["a"])
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError is one
        row.number = 2


# ------------------------------------------- lean XLSX reader vs openpyxl

def _both(path, sheet=None):
    """Rows from the lean reader and from openpyxl, with each cell's type."""
    def typed(rows):
        return [(r.sheet, r.number, r.cells, [type(v) for v in r.cells]) for r in rows]
    return (typed(tabular._iter_lean(str(path), sheet)),
            typed(tabular._iter_openpyxl(str(path), sheet)))


def test_lean_matches_openpyxl_on_openpyxl_workbook(tmp_path):
    p = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["text", "int", "float", "bool", "date", "datetime", "time", "duration"])
    ws.append(["Ship v2", 7, 0.25, True, dt.date(2024, 2, 29), dt.datetime(2024, 3, 31, 12, 30),
               dt.time(9, 15), dt.timedelta(hours=30, minutes=5)])
    ws.append(["Ship v2", -3, 1e-12, False, dt.datetime(1900, 1, 1), dt.datetime(1899, 12, 31),
               dt.time(0, 0, 1), dt.timedelta(0)])
    ws.append([None, None, 12345678901234567, None, None, None, None, None])
    ws.append([])  # empty row
    ws.append([None, "  "])  # blank-only row
    ws.append(["Ops", "=1+1", None, None, "café – “x” \\n two"])
    ws["I2"] = 44000.5
    ws["I2"].number_format = "yyyy-mm-dd hh:mm"  # custom date format on a plain number
    ws["J2"] = 3
    ws["J2"].number_format = "0.00%"  # number format, not a date
    ws["A20"] = "after a gap"
    ws["C20"] = "merged"
    ws.merge_cells("C20:E22")
    ws["A21"] = "inside"
    second = wb.create_sheet("KRs")
    second["B3"] = "late start"
    second["D3"] = dt.datetime(2030, 1, 1)
    wb.save(p)
    for sheet in (None, "Data", "KRs"):
        lean, ref = _both(p, sheet)
        assert lean == ref
    lean, _ = _both(p)
    assert [n for _, n, _, _ in lean] == [1, 2, 3, 4, 7, 20, 21, 22]
    assert lean[5][2] == ["after a gap", None, "merged", "merged", "merged"]
    assert lean[6][2] == ["inside", None, "merged", "merged", "merged"]  # C20:E22 fills every cell
    assert lean[7][2] == [None, None, "merged", "merged", "merged"]
    assert list_sheets(p) == ["Data", "KRs"]


def test_lean_matches_openpyxl_1904_epoch(tmp_path):
    p = tmp_path / "mac.xlsx"
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.active.append([dt.datetime(2024, 5, 6, 7, 8), dt.date(1904, 1, 2)])
    wb.save(p)
    lean, ref = _both(p)
    assert lean == ref and lean[0][2][0] == dt.datetime(2024, 5, 6, 7, 8)


_CT = ('<?xml version="1.0" encoding="UTF-8"?>'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/{wb}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '{sheets}'
       '<Override PartName="/xl/sharedStrings.xml"'
       ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
       '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
       '</Types>')
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFF = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STYLES = (f'<styleSheet {_NS}><numFmts count="1"><numFmt numFmtId="170" formatCode="dd/mm/yyyy"/>'
           '</numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="170"/><xf numFmtId="14"/>'
           '<xf numFmtId="46"/></cellXfs></styleSheet>')


def _handmade_xlsx(path, sheets, shared=(), *, wb_part="xl/workbook.xml"):
    """A minimal xlsx written by hand, for XML openpyxl itself never writes:
    inline strings, cached formula results, rich text, cells without ``r``."""
    import zipfile
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1))
    wb_dir, wb_name = wb_part.rsplit("/", 1)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", _CT.format(wb=wb_part, sheets=overrides))
        zf.writestr("_rels/.rels", f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
                    f'Type="{_OFF}/officeDocument" Target="{wb_part}"/></Relationships>')
        zf.writestr(wb_part, f'<workbook {_NS} {_RNS}><sheets>' + "".join(
            f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(sheets, 1)) + "</sheets></workbook>")
        zf.writestr(f"{wb_dir}/_rels/{wb_name}.rels", f'<Relationships xmlns="{_PKG}">' + "".join(
            f'<Relationship Id="rId{i}" Type="{_OFF}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1))
            + f'<Relationship Id="rS" Type="{_OFF}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rT" Type="{_OFF}/styles" Target="styles.xml"/></Relationships>')
        for i, data in enumerate(sheets.values(), 1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml",
                        f"<worksheet {_NS}><sheetData>{data}</sheetData></worksheet>")
        zf.writestr("xl/sharedStrings.xml", f"<sst {_NS}>{''.join(shared)}</sst>")
        zf.writestr("xl/styles.xml", _STYLES)


HANDMADE = {
    "Main": (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t> inline </t></is></c>'
        '<c r="C1" t="s"><v>1</v></c><c r="D1" t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c></row>'
        '<row r="2"><c r="A2"><f>1+1</f><v>2</v></c><c r="B2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
        '<c r="C2" t="b"><f>TRUE()</f><v>1</v></c><c r="D2" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="E2"><f>NOW()</f></c><c r="F2" s="1"><v>45000</v></c><c r="G2" s="2"><v>45000.75</v></c>'
        '<c r="H2" s="3"><v>1.5</v></c><c r="I2" t="d"><v>2024-01-02T03:04:05</v></c></row>'
        '<row r="3"><c r="A3" s="1"/><c r="B3"><v></v></c></row>'
        '<row r="5"><c r="C5"><v>1E3</v></c><c r="A5"><v>-0</v></c></row>'
        '<row><c><v>6</v></c><c t="s"><v>2</v></c><c r="E6" t="b"><v>0</v></c><c><v>1.0</v></c></row>'
        '<row r="9" spans="1:3"><c r="A9" t="s"><v>3</v></c></row>'
    ),
    "Second sheet": '<row r="2"><c r="B2" t="inlineStr"><is><t>hello</t></is></c></row>',
}
SHARED = ["<si><t>shared</t></si>", '<si><t xml:space="preserve">  spaced  </t></si>',
          '<si><r><t>Bold</t></r><r><t> run</t></r><rPh sb="0" eb="4"><t>PHONETIC</t></rPh></si>',
          "<si><t>x005F_x000D_</t></si>"]


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_lean_matches_openpyxl_on_handmade_xml(tmp_path):
    p = tmp_path / "hand.xlsx"
    _handmade_xlsx(p, HANDMADE, SHARED)
    for sheet in (None, "Main", "Second sheet"):
        lean, ref = _both(p, sheet)
        assert lean == ref
    rows = [(r.number, r.cells) for r in iter_xlsx(p)]
    assert rows == [
        (1, ["shared", " inline ", "  spaced  ", "rich"]),
        (2, [2, "ab", True, "#DIV/0!", None, dt.datetime(2023, 3, 15), dt.datetime(2023, 3, 15, 18),
             dt.timedelta(hours=36), dt.datetime(2024, 1, 2, 3, 4, 5)]),
        (5, [0]),  # out-of-order C5 is dropped, as openpyxl does
        (6, [6, "Bold run", None, None, False, 1.0]),
        (9, ["x000D_"]),  # openpyxl's x005F_ unescaping, copied
    ]
    assert [(r.sheet, r.number, r.cells) for r in iter_xlsx(p, sheet="Second sheet")] == [
        ("Second sheet", 2, [None, "hello"])]
    assert list_sheets(p) == ["Main", "Second sheet"]
    with pytest.raises(TableError, match=r"no such sheet \(sheets: 'Main', 'Second sheet'\)"):
        list(iter_xlsx(p, sheet="main"))


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_unusual_workbook_falls_back_to_openpyxl(tmp_path, monkeypatch):
    p = tmp_path / "odd.xlsx"
    _handmade_xlsx(p, HANDMADE, SHARED, wb_part="xl/book.xml")  # not at xl/workbook.xml
    with pytest.raises(KeyError):
        list(tabular._iter_lean(str(p), None))
    assert list_sheets(p) == ["Main", "Second sheet"]
    assert [r.cells for r in iter_xlsx(p, sheet="Second sheet")] == [[None, "hello"]]
    assert [r.number for r in iter_xlsx(p)] == [1, 2, 5, 6, 9]
    with pytest.raises(TableError, match="no such sheet"):
        list(iter_xlsx(p, sheet="Nope"))


def test_lean_error_after_rows_names_file_sheet_and_row(tmp_path):
    p = tmp_path / "bad.xlsx"
    _handmade_xlsx(p, {"S": '<row r="1"><c t="inlineStr"><is><t>ok</t></is></c></row>'
                            '<row r="2"><c t="s"><v>99</v></c></row>'}, SHARED)
    it = iter_xlsx(p)
    assert next(it).cells == ["ok"]
    with pytest.raises(TableError) as exc:
        next(it)
    assert (exc.value.file, exc.value.sheet) == (str(p), "S")
    assert "unreadable sheet data after row 1" in str(exc.value)
