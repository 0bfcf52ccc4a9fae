"""End-to-end helpers for the API connectors' tests: the bundled example spreadsheet synced
with one emulated tool through the real hub."""

import csv
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from okrsync import plugins
from okrsync.config import Config
from okrsync.errors import DeleteGuardError
from okrsync.store import Store
from okrsync.sync import Hub

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "okrs.csv"


def make_hub(tmp_path, name: str, options: dict):
    """A hub syncing a copy of examples/okrs.csv ("sheet") with endpoint ``name``; retries
    of that endpoint do not sleep. Returns (hub, path of the sheet copy)."""
    sheet = tmp_path / "okrs.csv"
    shutil.copy(EXAMPLE, sheet)
    cfg = Config.of(tmp_path, {"sheet": {"type": "csv", "path": str(sheet), "layout": "flat"},
                               name: {"type": name, "rate": 1000, "timeout": 1, "attempts": 4, **options}},
                    {"order": ["sheet", name]})
    hub = Hub(cfg, Store(None), plugins.classes())
    hub.connector(name).api.sleep = lambda s: None
    return hub, sheet


@contextmanager
def running(server, seed=lambda emu: None, spec=None, hang: float = 0.3):
    """``server`` (an emulator) started and seeded; a request a fault hangs hangs ``hang``
    seconds; with ``spec``, every exchange is checked against the vendor's API description."""
    with server:
        seed(server)
        server.faults.hang = hang
        if spec is not None:
            server.spec = spec
        yield server


def settled(hub, emu):
    """``hub`` after two syncs (the second brings in what the tool computes once the records
    exist: Notion's rollups, Airtable's counts), with the emulator's log emptied."""
    sync(hub)
    sync(hub)
    emu.reset_log()
    return hub


def prefer_sheet(hub):
    """The hub with conflicts settled for the CSV ("sheet"); returned for chaining."""
    from okrsync import policy

    hub.config.sync["conflicts"] = {"prefer": "sheet"}
    hub.policy = policy.from_config(hub.config)
    return hub


def write_sheet(path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts with the same keys, in the header's order) as a CSV sheet."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def sync(hub, **kw):
    """One full run of any hub (pull then push, every endpoint; ``kw`` goes to ``Hub.run``);
    its plans."""
    run = hub.store.begin_run("sync")
    plans = hub.run(list(hub.config.endpoints), run, **kw)
    hub.store.finish_run(run, "ok", {})
    return plans


def csv_rows(tmp_path):
    """The rows of the planning sheet okrs.csv in ``tmp_path``."""
    with open(tmp_path / "okrs.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def kr(rows, kr_id):
    """The row of KR ``kr_id``."""
    [row] = [r for r in rows if r.get("Key result ID") == kr_id]
    return row


def edited_both_ways(tmp_path, hub, emu, edit_in_tool) -> list:
    """The scenario every table service runs: after a first sync, ``edit_in_tool()`` sets
    KR-2's Current to 108 in the tool and a sync brings it to the sheet; then KR-5's Current
    is set to 77 in the sheet and a sync sends it. Returns the emulator's log of that last sync."""
    sync(hub)
    edit_in_tool()
    sync(hub)
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "108"
    edit_row(tmp_path / "okrs.csv", "KR-5", Current="77")
    emu.reset_log()
    sync(hub)
    return emu.log


def conflict_settled_for_the_sheet(tmp_path, hub, edit_in_tool) -> None:
    """The conflict every table service runs, on a hub whose policy prefers the sheet: after a
    first sync ``edit_in_tool()`` sets KR-1's Current to 9500000 in the tool while the sheet
    sets it to 9100000; the next sync keeps the sheet's value and logs the conflict. The
    caller then asserts that the tool holds 9100000 too."""
    sync(hub)
    edit_in_tool()
    edit_row(tmp_path / "okrs.csv", "KR-1", Current="9100000")
    sync(hub)
    assert kr(csv_rows(tmp_path), "KR-1")["Current"] == "9100000"
    assert [c for c in hub.store.changes() if c["kind"] == "conflict"]


def deleted_under_the_guard(tmp_path, hub, delete_most) -> None:
    """The scenario every table service runs once KR-3 was deleted in the tool: a sync deletes
    it from the sheet and the store (38 KRs left); then ``delete_most()`` deletes most KRs in
    the tool at once, and the delete guard stops the next sync before anything is written."""
    sync(hub)
    assert not [r for r in csv_rows(tmp_path) if r["Key result ID"] == "KR-3"]
    assert hub.store.count("key_result") == 38
    delete_most()
    with pytest.raises(DeleteGuardError):
        sync(hub)
    assert len([r for r in csv_rows(tmp_path) if r["Key result ID"]]) == 38


def edited_while_written(tmp_path, hub, emu, name: str, edit_in_tool) -> list:
    """The race every table service runs, on a hub in step whose policy prefers the sheet:
    KR-1's Current is set to 9100000 in the sheet and, right after okrsync's read of endpoint
    ``name``, to 9500000 in the tool by ``edit_in_tool()``. The sync's first write must be
    refused as stale, the record read again (a conflict, logged) and written again
    (``replanned``). Returns the emulator's log of that sync."""
    edit_row(tmp_path / "okrs.csv", "KR-1", Current="9100000")
    edit_after_read(hub, name, edit_in_tool)
    emu.reset_log()
    replanned(sync(hub), name)
    assert [c for c in hub.store.changes() if c["kind"] == "conflict"]  # seen and settled, not overwritten blind
    return emu.log


def edit_row(sheet, kr_id: str, **values) -> None:
    """Change cells (by column name) of the row of KR ``kr_id`` in a CSV sheet."""
    with open(sheet, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    [row] = [r for r in rows if r.get("Key result ID") == kr_id]
    row.update(values)
    write_sheet(sheet, rows)


def edit_after_read(hub, name, edit):
    """Run ``edit`` (a person in the tool) right after the connector's next read: between
    okrsync's read and its write of the same run."""
    conn = hub.connector(name)
    fetch, armed = conn.remote._fetch, [True]

    def fetched():
        got = fetch()
        if armed:
            armed.clear()
            edit()
        return got

    conn.remote._fetch = fetched


def replanned(plans, name: str) -> list:
    """The plans of endpoint ``name`` in a run whose first write was refused as stale (a
    record changed in the tool after the read): read, push refused, read again, push. Asserts
    that shape — the edit came in as a conflict, the refusal was cleared, the summary says
    so — and returns those four plans."""
    mine = [p for p in plans if p.endpoint == name]
    assert [p.direction for p in mine] == ["pull", "push", "pull", "push"]
    assert mine[2].conflicts and not mine[1].rejected
    assert any(f"changed on {name} while okrsync wrote them" in n for n in mine[1].notes)
    return mine
