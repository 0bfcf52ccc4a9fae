"""csv_patch: a push to a CSV board okrsync wrote renders only the changed rows and copies
the rest, and the file it makes is byte for byte the one a full rewrite makes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from okrsync.config import Config
from okrsync.connectors import csv_patch
from okrsync.connectors.spreadsheet import CsvConnector, XlsxConnector
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.in_step import spy_loads

HEADER = ["Objective ID", "Objective", "Key result ID", "Key result", "Owner", "Start", "Current", "Target"]


def plan_rows() -> list[list[str]]:
    return [[f"O{o}", f"Objective {o}", f"KR{o}.{k}", f"Key result {o}.{k}", f"p{o}@example.com", "0", str(k), "10"]
            for o in range(30) for k in range(3)]


def save(path: Path, body: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *body])


def edits(body: list[list[str]]) -> list[list[list[str]]]:
    """Successive versions of the planning sheet: updates, adds, deletes, a renamed objective."""
    steps = []
    body = [list(r) for r in body]
    body[4][6] = "2.5"  # KR1.1 current
    body[40][3] = "Key result 13.1, reworded"  # a title with a comma: quoted
    steps.append([list(r) for r in body])
    body.insert(9, ["O3", "Objective 3", "KR3.9", "A new KR", "n@example.com", "0", "1", "4"])
    body.append(["O99", "A new objective", "KR99.0", "Its KR", "m@example.com", "1", "2", "3"])
    del body[20]  # a KR
    body = [r for r in body if r[0] != "O12"]  # an objective and its KRs
    steps.append([list(r) for r in body])
    for r in body:
        if r[0] == "O7":
            r[1] = "Objective seven"  # an objective's title: on each of its rows in a flat board
    steps.append([list(r) for r in body])
    return steps


def run_world(tmp_path: Path, layout: str, steps: list | None = None) -> tuple[list[bytes], list[int]]:
    """Sync the planning sheet to a board, then each edit (``edits`` unless given); the
    board's bytes and the rows each push rendered."""
    tmp_path.mkdir()
    save(tmp_path / "okrs.csv", plan_rows())
    config = Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                                  "board": {"type": "csv", "path": "board.csv", "layout": layout}},
                       {"order": ["sheet", "board"]})
    store = Store(None)
    boards, rendered = [], []
    for body in [None, *(edits(plan_rows()) if steps is None else steps)]:
        if body is not None:
            save(tmp_path / "okrs.csv", body)
        hub = Hub(config, store, {"csv": CsvConnector, "xlsx": XlsxConnector})  # a new run, as the CLI makes
        run = store.begin_run("sync")
        plans = hub.run(["sheet", "board"], run, progress=None)
        store.finish_run(run, "ok", {})
        assert not any(p.rejected for p in plans)
        boards.append((tmp_path / "board.csv").read_bytes())
        written = hub.connector("board").written
        rendered.append(written.rendered if written else None)
    return boards, rendered


@pytest.mark.parametrize("layout", ["flat", "hierarchical"])
def test_patched_board_is_the_fully_rewritten_one(tmp_path, monkeypatch, layout):
    patched, rendered = run_world(tmp_path / "patched", layout)
    monkeypatch.setattr(csv_patch, "patch", lambda *args: False)
    full, full_rendered = run_world(tmp_path / "full", layout)
    assert patched == full  # byte for byte, at every step
    objectives = 0 if layout == "flat" else 1  # hierarchical: the objective's own row
    rows_first = 30 * 3 + 30 * objectives
    rows_later = rows_first + 1 - 1 - (3 + objectives) + (1 + objectives)  # +KR3.9 -a KR -O12 +O99
    assert full_rendered == [rows_first, rows_first, rows_later, rows_later]
    # step 1: two KRs updated; step 2: KR3.9, and O99 with its KR (hierarchical: its own row);
    # step 3: O7 renamed (flat: its 3 rows show it; hierarchical: its row, and its KRs point at it)
    assert rendered == [rows_first, 2, 2 + objectives, 3 + objectives]
    text = patched[2].decode()
    assert "KR12." not in text and "KR3.9" in text and '"Key result 13.1, reworded"' in text


def test_a_board_edited_by_hand_is_read_and_fully_written(tmp_path):
    """The file is no longer the one okrsync wrote: no patch (the index no longer fits)."""
    save(tmp_path / "okrs.csv", plan_rows())
    config = Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                                  "board": {"type": "csv", "path": "board.csv", "layout": "hierarchical"}},
                       {"order": ["sheet", "board"]})
    store = Store(None)

    def sync():
        hub = Hub(config, store, {"csv": CsvConnector, "xlsx": XlsxConnector})
        run = store.begin_run("sync")
        plans = hub.run(["sheet", "board"], run, progress=None)
        store.finish_run(run, "ok", {})
        return hub, plans

    sync()
    board = tmp_path / "board.csv"
    board.write_bytes(board.read_bytes().replace(b"Key result 5.1", b"Key result 5.1 (edited)"))
    body = plan_rows()
    body[0][6] = "3"
    save(tmp_path / "okrs.csv", body)
    hub, plans = sync()
    assert [(c.external_id, c.fields["title"]) for p in plans for c in p.changes if p.endpoint == "board"
            and p.direction == "pull"] == [("KR5.1", "Key result 5.1 (edited)")]
    assert hub.connector("board").patchable is None and hub.connector("board").written.rendered == 30 * 4
    assert b"Key result 5.1 (edited)" in board.read_bytes()


def test_an_xlsx_board_okrsync_wrote_is_not_read_again_before_a_write(tmp_path, monkeypatch):
    """XLSX boards are patched or written whole (xlsx_patch), from the index of the last write, not
    from reading and mapping the workbook again; the cells are those of a write after a read."""
    import openpyxl

    def world(name: str) -> tuple[list, list]:
        base = tmp_path / name
        base.mkdir()
        save(base / "okrs.csv", plan_rows())
        config = Config.of(base, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                                  "board": {"type": "xlsx", "path": "board.xlsx", "layout": "hierarchical"}},
                           {"order": ["sheet", "board"]})
        store, boards, used = Store(None), [], []
        for body in [None, *edits(plan_rows())]:
            if body is not None:
                save(base / "okrs.csv", body)
            hub = Hub(config, store, {"csv": CsvConnector, "xlsx": XlsxConnector})
            run = store.begin_run("sync")
            assert not any(p.rejected for p in hub.run(["sheet", "board"], run, progress=None))
            store.finish_run(run, "ok", {})
            wb = openpyxl.load_workbook(base / "board.xlsx")
            boards.append([[c.value for c in row] for row in wb.active.iter_rows()])
            used.append(hub.connector("board").patchable is not None)
        return boards, used

    indexed, used = world("indexed")
    assert used == [False, True, True, True]  # every push after the first: no read of the board
    monkeypatch.setattr("okrsync.connectors.spreadsheet.SpreadsheetConnector._written", lambda self, part: None)
    read_first, used = world("read")
    assert used == [False] * 4
    assert indexed == read_first
    cells = [c for row in indexed[2] for c in row]
    assert "A new KR" in cells and "KR3.9" in cells and "O12" not in cells and "KR12.0" not in cells


@pytest.mark.parametrize("layout", ["flat", "hierarchical"])
def test_a_patch_loads_only_the_records_of_the_rows_it_renders(tmp_path, monkeypatch, layout):
    """The records in step stay in the store (WriteBatch.in_step): the board's push loads
    only those whose rows it renders, never all of them; the file is still the full write's."""
    loaded, everything = spy_loads(monkeypatch)
    boards, rendered = run_world(tmp_path / "patched", layout)
    assert everything == ["board"]  # the first push only (a new board): no patch loads every record in step
    krs_of_o7 = [("key_result", f"KR7.{k}") for k in range(3)]  # step 3: O7 renamed, its KRs' rows rendered again
    if layout == "flat":  # the objectives of the rows rendered: KR1.1's, KR13.1's (step 1), new KR3.9's (step 2)
        assert loaded == [[("objective", "O1"), ("objective", "O13")], [("objective", "O3")], krs_of_o7]
    else:  # hierarchical rows show no other record: updated and created ones render from the batch
        assert loaded == [krs_of_o7]
    monkeypatch.undo()
    monkeypatch.setattr(csv_patch, "patch", lambda *args: False)
    assert run_world(tmp_path / "full", layout)[0] == boards


def test_a_flat_objective_left_without_key_results_gets_its_row_from_its_record(tmp_path, monkeypatch):
    """Flat: an objective is on its KRs' rows; when its last KR goes, its own row is new to the
    file, so it is rendered from the record (loaded: it is in step), as a full write renders it."""
    lone = [["O5", "Objective 5", "", "", "", "", "", ""]]  # O5 keeps its row, its KRs are gone
    steps = [plan_rows()[:15] + lone + plan_rows()[18:]]
    patched, rendered = run_world(tmp_path / "patched", "flat", steps)
    assert rendered[-1] == 1  # O5's own row only; its 3 KR rows are gone, the other 87 copied
    assert patched[-1].decode().splitlines()[16].startswith("O5,Objective 5,")  # after the header and 5 × 3 rows
    monkeypatch.setattr(csv_patch, "patch", lambda *args: False)
    assert run_world(tmp_path / "full", "flat", steps)[0] == patched
