"""Who changed a record, end to end through the command line (issue 23, item 5): the bundled
example pushed into an emulated tool, a person editing there, and what ``okrsync log`` and
the quarter review pack then say about that edit."""

import json
import shutil
from collections.abc import Callable

import okrsync.store

from .clirun import run
from .saas_e2e import EXAMPLE


def edited_in_the_tool(tmp_path, monkeypatch, kind: str, options: dict, edit: Callable[[], None],
                       emu, said: list[str] | None = None) -> tuple[list[dict], list[dict], list]:
    """Sync the example into endpoint ``kind`` (recorded on 5 January 2026), run ``edit`` (the
    person's edit in the tool), sync again (10 February) and return the change log's update
    rows and the 2026-Q1 review pack's update changes (JSON), and the requests that last sync
    made (the emulator's log); ``said`` gets that sync's output."""
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    config = {"store": "okrsync.db",
              "endpoints": {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                            kind: {"type": kind, "rate": 1000, "timeout": 1, "attempts": 4, **options}},
              "sync": {"order": ["sheet", kind]}}
    (tmp_path / "okrsync.yaml").write_text(json.dumps(config))  # JSON is YAML
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(okrsync.store, "NOW", lambda: "2026-01-05T09:00:00.000Z")
    run("sync")
    run("sync")  # what the tool computes once the records exist (rollups, counts) comes in
    edit()
    emu.reset_log()
    monkeypatch.setattr(okrsync.store, "NOW", lambda: "2026-02-10T09:00:00.000Z")
    output = run("sync").output
    if said is not None:
        said.append(output)
    requests = list(emu.log)
    log = [r for r in json.loads(run("--json", "log").stdout) if r["kind"] == "update" and r["origin"] == kind]
    pack = json.loads(run("report", "review", "--period", "2026-Q1", "--format", "json").stdout)
    return log, [c for c in pack["changes"] if c["change"] == "update"], requests
