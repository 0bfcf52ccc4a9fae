"""xlsx_patch: a push to an XLSX board okrsync wrote renders only the changed rows and copies
the rest of the package, and the workbook reads back exactly as a fully rewritten one."""

from __future__ import annotations

import csv
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from okrsync import tabular
from okrsync.config import Config
from okrsync.connectors import xlsx_patch
from okrsync.connectors.spreadsheet import CsvConnector, XlsxConnector
from okrsync.errors import FatalError
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.in_step import spy_loads
from .helpers.real_files import REAL

HEADER = ["Objective ID", "Objective", "Key result ID", "Key result", "Owner", "Unit", "Currency", "Start", "Current", "Target", "Due"]
OBJECTIVES, KRS = 100, 3  # hierarchical: 400 rows; the widths come from the first 200 (sheet_style)
ROWS = OBJECTIVES * (KRS + 1)


def plan_rows() -> list[list[str]]:
    return [[f"O{o}", f"Objective {o}", f"KR{o}.{k}", f"Key result {o}.{k}", f"p{o}@example.com",
             "Percent" if k == 0 else "Number", "", "0", str(3 * k), "10", "2026-03-31"]
            for o in range(OBJECTIVES) for k in range(KRS)]


def save(path: Path, body: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *body])


def edit(change: Callable[[list[list[str]]], list[list[str]] | None]) -> Callable[[Path, list], list]:
    """A step that edits the planning sheet (the body carries over to the next step)."""
    def step(base: Path, body: list) -> list:
        body = change(body) or body
        save(base / "okrs.csv", body)
        return body
    return step


def row(body, kr: str) -> list[str]:
    return next(r for r in body if r[2] == kr)


def _update(body):
    row(body, "KR60.1")[8] = "6"  # its band changes (a fill other rows already have)
    row(body, "KR70.2")[3] = "Key result 70.2, reworded at length"  # past row 200: no width changes
    row(body, "KR70.1")[3] = "=HYPERLINK(\"http://x.example\")"  # written as text, never a formula


def _insert_and_delete(body):
    body.insert(body.index(row(body, "KR80.2")) + 1, ["O80", "Objective 80", "KR80.9", "A new KR", "n@example.com",
                                                      "Number", "", "0", "3", "10", "2026-03-31"])
    body.append(["O99b", "A new objective", "KR99b.0", "Its KR", "m@example.com", "Number", "", "1", "2", "3", "2026-06-30"])
    body.remove(row(body, "KR90.0"))


def _rename_and_drop(body):
    for r in body:
        if r[0] == "O75":
            r[1] = "Objective seventy-five"  # its own row, and its KRs' rows point at it
    row(body, "KR50.1")[:2] = ["O51", "Objective 51"]  # moved: its row goes under O51
    return [r for r in body if r[0] != "O85"]  # an objective and its KRs


def _widen(body):
    row(body, "KR1.1")[3] = "Key result 1.1, now long enough to widen its column"  # in the first 200 rows


def _new_style(body):
    row(body, "KR95.1")[5:7] = ["Currency", "EUR"]  # a number format the workbook has no style for yet


STEPS = [edit(_update), edit(_insert_and_delete), edit(_rename_and_drop), edit(_widen), edit(_new_style),
         edit(lambda body: None)]


def world(base: Path, steps: list, layout: str = "hierarchical") -> list[dict]:
    """Sync the planning sheet to an XLSX board, then after each step; per sync what the
    board's push did and what the workbook holds."""
    base.mkdir()
    body = plan_rows()
    save(base / "okrs.csv", body)
    config = Config.of(base, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                              "board": {"type": "xlsx", "path": "board.xlsx", "layout": layout}},
                       {"order": ["sheet", "board"]})
    store, out = Store(None), []
    board = base / "board.xlsx"
    for step in [None, *steps]:
        if step is not None:
            body = step(base, body)
        before = board.stat().st_mtime_ns if board.exists() else None
        hub = Hub(config, store, {"csv": CsvConnector, "xlsx": XlsxConnector})  # a new run, as the CLI makes
        run = store.begin_run("sync")
        plans = hub.run(["sheet", "board"], run, progress=None)
        store.finish_run(run, "ok", {})
        assert not any(p.rejected for p in plans)
        written = hub.connector("board").written
        out.append({"rendered": written.rendered if written else None, "touched": board.stat().st_mtime_ns != before,
                    "xml": zipfile.ZipFile(board).read("xl/worksheets/sheet1.xml"), **read_back(board)})
    return out


def read_back(path: Path) -> dict:
    """What a reader sees: okrsync's rows, and openpyxl's cells with their styles, the sheet's
    frozen pane, column widths and validations."""
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    cells = [[(c.value, c.data_type, c.number_format, c.fill.fill_type, c.fill.fgColor.rgb, c.font.b,
               c.font.color.rgb if c.font.color else None, c.alignment.wrap_text) for c in r] for r in ws.iter_rows()]
    return {"okrsync": [(r.number, r.cells) for r in tabular.iter_rows(path)], "cells": cells,
            "sheet": (wb.sheetnames, ws.freeze_panes, {k: d.width for k, d in ws.column_dimensions.items()},
                      len(ws.data_validations.dataValidation), ws.max_row, ws.max_column)}


def xml_rows(xml: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(0) for m in re.finditer(rb'<row r="(\d+)".*?</row>', xml, re.DOTALL)}


def test_a_patched_board_reads_back_as_the_fully_rewritten_one(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG, logger="okrsync.xlsx_patch")
    patched = world(tmp_path / "patched", STEPS)
    paths = [m.getMessage() for m in caplog.records if m.name == "okrsync.xlsx_patch"]
    monkeypatch.setattr(xlsx_patch, "patch", lambda *args: False)
    full = world(tmp_path / "full", STEPS)
    for mine, theirs in zip(patched, full, strict=True):
        for what in ("okrsync", "cells", "sheet"):
            assert mine[what] == theirs[what]
    rows_later = ROWS + 1 + 2 - 1  # +KR80.9, +O99b and its KR, -KR90.0
    # 1: three KRs; 2: KR80.9, O99b's row and its KR's; 3: O75's row, its 3 KRs and KR50.1 (O85 dropped);
    # 4: a width changes: written whole; 5: a style the workbook lacks: whole; 6: nothing to push
    assert [p["rendered"] for p in patched] == [ROWS, 3, 3, 5, rows_later - 4, rows_later - 4, None]
    assert [p["rendered"] for p in full] == [ROWS, ROWS, rows_later, rows_later - 4, rows_later - 4, rows_later - 4, None]
    assert paths == ["board.xlsx: written whole (a new file)",
                     "board.xlsx: patched (3 of 400 rows rendered, the rest copied)",
                     "board.xlsx: patched (3 of 402 rows rendered, the rest copied)",
                     "board.xlsx: patched (5 of 398 rows rendered, the rest copied)",
                     "board.xlsx: written whole (its layout changes (header, widths or frozen pane))",
                     "board.xlsx: written whole (a changed row needs a cell style the workbook lacks)"]
    cells = [c[0] for r in patched[3]["cells"] for c in r]
    assert '\'=HYPERLINK("http://x.example")' in cells  # a text cell, never a formula
    kr50_1 = next(r for r in patched[3]["okrsync"] if "KR50.1" in r[1])
    assert kr50_1[0] == 2 + 51 * 4 and kr50_1[1][0] is None  # under O51's row (its objective's cells left blank)
    assert "Objective seventy-five" in cells and "KR80.9" in cells and "KR90.0" not in cells and "O85" not in cells
    assert patched[-1]["touched"] is False and full[-1]["touched"] is False  # a no-change push writes nothing


def test_a_patched_flat_board_reads_back_as_the_fully_rewritten_one(tmp_path, monkeypatch):
    """Flat: KR rows show their objective; O75 renamed renders its three KR rows (and KR50.1 moved, its own)."""
    patched = world(tmp_path / "patched", STEPS[:3], "flat")
    monkeypatch.setattr(xlsx_patch, "patch", lambda *args: False)
    full = world(tmp_path / "full", STEPS[:3], "flat")
    assert [p["rendered"] for p in patched] == [300, 3, 2, 4] and [p["rendered"] for p in full] == [300, 300, 301, 298]
    for mine, theirs in zip(patched, full, strict=True):
        assert (mine["okrsync"], mine["cells"], mine["sheet"]) == (theirs["okrsync"], theirs["cells"], theirs["sheet"])


def test_a_patch_copies_unchanged_rows_byte_for_byte(tmp_path):
    first, updated, moved = world(tmp_path / "w", STEPS[:2])
    assert [first["rendered"], updated["rendered"], moved["rendered"]] == [ROWS, 3, 3]
    before, after = xml_rows(first["xml"]), xml_rows(updated["xml"])
    assert len(before) == len(after) == ROWS + 1
    # each objective's row, then its KRs': KR60.1 is row 2 + 60 * 4 + 2, KR70.1 and .2 rows 2 + 70 * 4 + 2 and 3
    assert sorted(n for n in before if before[n] != after[n]) == [2 + 60 * 4 + 2, 2 + 70 * 4 + 2, 2 + 70 * 4 + 3]
    assert b"<t>'=HYPERLINK" in after[2 + 70 * 4 + 2]  # neutralised, as a full write writes it
    # rows below an inserted one are the same bytes but for their row number
    renumbered = re.compile(rb'(<row r="|<c r="[A-Z]+)\d+"')
    plain = [renumbered.sub(rb"\1#", r) for r in xml_rows(moved["xml"]).values()]
    assert len(plain) == len(before) + 2 and len(set(plain) - {renumbered.sub(rb"\1#", r) for r in after.values()}) == 3


@pytest.mark.parametrize("change", ["cell", "sheet"])
def test_a_board_changed_outside_okrsync_is_not_patched(tmp_path, monkeypatch, caplog, change):
    """Opened and saved by hand, a board is read and fully written again (the index no longer
    fits); with a sheet of the user's own the full write refuses, as it always did."""
    def by_hand(base: Path, body: list) -> list:
        wb = openpyxl.load_workbook(base / "board.xlsx")
        if change == "cell":
            wb.active["N7"] = "Key result 1.0, edited in Excel"
        else:
            wb.create_sheet("Notes")["A1"] = "my notes"
        wb.save(base / "board.xlsx")
        row(body, "KR60.1")[8] = "6"
        save(base / "okrs.csv", body)
        return body

    caplog.set_level(logging.DEBUG, logger="okrsync.xlsx_patch")
    if change == "sheet":
        with pytest.raises(FatalError, match=r"board.xlsx also has sheet\(s\) Notes that okrsync would not keep"):
            world(tmp_path / "w", [by_hand])
        assert [m.getMessage() for m in caplog.records] == ["board.xlsx: written whole (a new file)",
                                                            "board.xlsx: written whole (not as okrsync last wrote it)"]
        return
    patched = world(tmp_path / "w", [by_hand])
    assert [m.getMessage() for m in caplog.records] == ["board.xlsx: written whole (a new file)",
                                                        "board.xlsx: written whole (not as okrsync last wrote it)"]
    monkeypatch.setattr(xlsx_patch, "patch", lambda *args: False)
    full = world(tmp_path / "full", [by_hand])
    assert [p["rendered"] for p in patched] == [p["rendered"] for p in full] == [ROWS, ROWS]
    assert patched[1]["cells"] == full[1]["cells"] and patched[1]["okrsync"] == full[1]["okrsync"]
    assert "Key result 1.0, edited in Excel" in [c[0] for r in patched[1]["cells"] for c in r]


def test_a_real_board_is_patched_and_reads_back_as_rewritten(tmp_path, monkeypatch):
    """North Dakota IT's 151 OKRs (tests/fixtures/real) as a styled board: one KR's title edited."""
    source = (REAL / "nd_state_it_okrs_sharepoint/OKRs.csv").read_text(encoding="utf-8-sig")

    def run(base: Path) -> list[dict]:
        base.mkdir()
        (base / "OKRs.csv").write_text(source, encoding="utf-8")
        config = Config.of(base, {"ndit": {"type": "csv", "path": "OKRs.csv", "mapping": str(REAL / "nd_state_okrs.yaml")},
                                  "board": {"type": "xlsx", "path": "board.xlsx", "layout": "hierarchical"}},
                           {"order": ["ndit", "board"]})
        store, out = Store(None), []
        for text in (None, source.replace("all Systems vulnerable to Log4J", "all systems vulnerable to Log4J")):
            if text is not None:
                (base / "OKRs.csv").write_text(text, encoding="utf-8")
            hub = Hub(config, store, {"csv": CsvConnector, "xlsx": XlsxConnector})
            run_ = store.begin_run("sync")
            hub.run(["ndit", "board"], run_, progress=None)
            store.finish_run(run_, "ok", {})
            out.append({"rendered": hub.connector("board").written.rendered, **read_back(base / "board.xlsx")})
        return out

    patched = run(tmp_path / "patched")
    monkeypatch.setattr(xlsx_patch, "patch", lambda *args: False)
    full = run(tmp_path / "full")
    assert [p["rendered"] for p in patched] == [151, 1] and [p["rendered"] for p in full] == [151, 151]
    assert patched[1]["cells"] == full[1]["cells"] and patched[1]["okrsync"] == full[1]["okrsync"]
    assert patched[1]["sheet"] == full[1]["sheet"]


def test_a_patch_loads_only_the_records_it_renders_and_those_setting_widths(tmp_path, monkeypatch, caplog):
    """The records in step stay in the store (WriteBatch.in_step): a patch loads those of the
    rows it renders and of the first 200 (they set the column widths), never all of them
    (the first test compares these very workbooks with fully rewritten ones)."""
    loaded, everything = spy_loads(monkeypatch)
    caplog.set_level(logging.DEBUG, logger="okrsync.xlsx_patch")
    patched = world(tmp_path / "w", STEPS)
    # the first push (a new board) and the two written whole load every record in step
    assert everything == ["board"] * 3
    # the first 200 rows' records, bar those the batch brings (updated ones); step 3: and O75's KRs,
    # rendered as they point at it; step 4: KR1.1 comes with the batch; then written whole
    assert [len(keys) for keys in loaded] == [200, 200, 203, 199, 200]
    assert len(caplog.records) == 6  # one line per push that writes
    assert [p["rendered"] for p in patched] == [ROWS, 3, 3, 5, ROWS - 2, ROWS - 2, None]  # the same workbooks as above
