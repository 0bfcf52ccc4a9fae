"""The okrsync command, end to end through click's CliRunner."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from okrsync.cli import cli

from .helpers.clirun import CONFIG, run

SHEET = """\
Objective ID,Objective,Period,Key result ID,Key result,Owner,Start,Current,Target,Status
O-1,Grow revenue,Q1 2026,KR-1,Reach 5M ARR,ana@example.com,$3000000,$3500000,$5000000,On track
O-1,Grow revenue,Q1 2026,KR-2,Cut churn,bo@example.com,5%,4%,3%,At risk
O-2,Ship faster,2026-Q1,KR-3,Deploys per week,cy@example.com,2,6,10,on track
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "okrs.csv").write_text(SHEET)
    (tmp_path / "okrsync.yaml").write_text(CONFIG)
    return tmp_path


def changes(project):
    return sqlite3.connect(project / "state/okrsync.db").execute("select count(*) from changes").fetchone()[0]


def test_sync_fills_store_and_board_then_second_sync_writes_nothing(project):
    out = json.loads(run("--json", "sync").output)
    assert out["totals"]["created"] == 5 + 5  # 2 objectives + 3 KRs into the store, then onto the board
    assert (project / "out/board.xlsx").exists()
    before = changes(project)
    assert before > 0
    board = (project / "out/board.xlsx").read_bytes()
    out = json.loads(run("--json", "sync").output)
    assert out["totals"]["created"] == out["totals"]["updated"] == 0
    assert changes(project) == before
    assert (project / "out/board.xlsx").read_bytes() == board


def test_edit_in_sheet_reaches_board_and_log(project):
    run("sync")
    (project / "okrs.csv").write_text(SHEET.replace("$3500000", "$4000000"))
    out = json.loads(run("--json", "sync").output)
    pulled = out["endpoints"][0]
    assert pulled["counters"]["updated"] == 1
    assert pulled["changes"][0]["changes"] == {"current": {"old": 3500000.0, "new": 4000000.0}}
    log = json.loads(run("--json", "log", "--run", "2").output)
    assert [(r["field"], r["old"], r["new"], r["origin"]) for r in log] == [("current", 3500000.0, 4000000.0, "planning-sheet")]
    show = json.loads(run("--json", "show").output)
    kr = next(k for o in show["objectives"] for k in o["key_results"] if k["title"] == "Reach 5M ARR")
    assert kr["progress"] == 0.5 and kr["score"] == 0.5


def test_dry_run_writes_nothing_but_shows_the_plan(project):
    result = run("sync", "--dry-run")
    assert "would" in result.output and "Grow revenue" in result.output
    assert not (project / "out").exists()
    assert not (project / "state/okrsync.db").exists()  # not even an empty store (issue 24)
    out = json.loads(run("--json", "sync", "--dry-run").output)
    assert out["dry_run"] is True
    assert [e["counters"]["created"] for e in out["endpoints"]] == [5, 0, 0, 5]


def test_show_tree_and_status(project):
    run("sync")
    shown = run("show").output
    assert "Grow revenue" in shown and "Cut churn" in shown
    status = json.loads(run("--json", "status").output)
    assert status["entities"] == {"key_result": 3, "objective": 2}
    assert {e["name"]: e["linked"] for e in status["endpoints"]} == {"planning-sheet": 5, "board": 5}


def test_log_since_and_entity(project):
    run("sync")
    rows = json.loads(run("--json", "log", "--since", "1h").output)
    assert rows
    one = rows[0]["entity_id"]
    assert all(r["entity_id"] == one for r in json.loads(run("--json", "log", "--entity", one).output))
    run("log", "--since", "yesterday-ish", code=2)


def test_bad_rows_are_reported_and_exit_3_or_fail_with_strict(project):
    # row 5: a start that is no number (kept as text; --strict rejects it); row 6: an objective without a title
    (project / "okrs.csv").write_text(SHEET + "O-3,Bad one,Q1 2026,KR-9,Broken,x@example.com,abc,1,2,On track\n"
                                      "O-4,,Q1 2026,KR-8,Orphan,x@example.com,1,1,2,On track\n")
    result = run("sync", "--strict", code=1)
    assert "okrs.csv row 5" in result.output and "'Start'" in result.output
    assert changes(project) == 0  # --strict: nothing written
    result = run("sync", code=3)
    text = " ".join(result.output.split())
    assert "rejected: planning-sheet: okrs.csv row 6" in text and "1 cell(s) kept as text" in text
    assert "okrs.csv row 5: key_result KR-9: extra: column 'Start': 'abc' kept as text" in text
    status = json.loads(run("--json", "status").output)
    assert status["entities"]["key_result"] == 4
    assert status["runs"][0]["status"] == "partial"


@pytest.mark.parametrize("config, message", [
    ("endpoints:\n  s:\n    type: cvs\n    path: a.csv\n", "line 3: type: unknown connector type 'cvs'; did you mean 'csv'?"),
    ("endpoint:\n  s: {}\n", "line 1: endpoint: unknown key; did you mean 'endpoints'?"),
    ("endpoints: [\n", "line 2"),
])
def test_bad_config_names_file_line_key_and_exits_2(project, config, message):
    (project / "okrsync.yaml").write_text(config)
    result = run("sync", code=2)
    assert "okrsync.yaml" in result.output and message in result.output


def test_unknown_endpoint_suggests(project):
    result = run("pull", "planing-sheet", code=2)
    assert "did you mean 'planning-sheet'" in result.output


def test_connectors_lists_builtins_with_capabilities():
    data = json.loads(run("--json", "connectors").output)
    names = {c["name"]: c for c in data}
    assert names["csv"]["source"] == "built-in"
    assert "key_result" in names["xlsx"]["capabilities"]["kinds"]
    assert "csv" in run("connectors").output


def test_one_connectors_capabilities_in_full():
    shown = run("connectors", "jira").output
    assert "weights" in shown and "check ins" in shown and "history" in shown and "read only" in shown
    (jira,) = json.loads(run("--json", "connectors", "jira").output)
    assert jira["capabilities"]["weights"] is False and jira["capabilities"]["read_only"] == ["check_in"]
    assert "did you mean 'jira'" in run("connectors", "jirra", code=2).output
    # nothing near: the installed ones listed, worded as the config loader words an unknown type
    assert "no connector 'zzz'; installed: " in run("connectors", "zzz", code=2).output.replace("\n", " ")


def test_init_writes_a_config_that_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "okrs.csv").write_text(SHEET)
    run("init")
    run("init", code=2)  # exists: refuses without --force
    out = json.loads(run("--json", "pull").output)
    assert out["totals"]["created"] == 5


def test_help_has_examples():
    for command in ("sync", "pull", "push", "log", "show", "status", "connectors", "init", "revert", "conflicts",
                    "conflicts list", "conflicts show", "conflicts resolve"):
        assert "Example" in run(*command.split(), "--help").output, command


def test_debug_shows_traceback_others_do_not(project):
    from okrsync.errors import ConfigError

    (project / "okrsync.yaml").write_text("endpoints: 3\n")
    debug = CliRunner().invoke(cli, ["--debug", "sync"])
    assert isinstance(debug.exception, ConfigError)  # raised through: click's runner keeps the traceback
    plain = CliRunner().invoke(cli, ["sync"])
    assert isinstance(plain.exception, SystemExit) and plain.exit_code == 2
    assert plain.output.startswith("Error: ") and "Traceback" not in plain.output


# ------------------------------------------------------------------ the engine through the CLI

def test_conflict_waits_then_resolve_and_sync_applies_it(project):
    (project / "okrsync.yaml").write_text(CONFIG + "  conflicts: manual\n")
    run("sync")
    import openpyxl

    (project / "okrs.csv").write_text(SHEET.replace("$3500000", "$4000000"))
    wb = openpyxl.load_workbook(project / "out/board.xlsx")
    ws = wb.active
    header = [c.value for c in ws[1]]
    col = header.index("Current") + 1
    for row in ws.iter_rows(min_row=2):
        if row[header.index("Key result")].value == "Reach 5M ARR":
            row[col - 1].value = 4200000
    wb.save(project / "out/board.xlsx")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", "250")  # one plan line per line, as a wide terminal shows it
        dry = run("sync", "--dry-run").output
    assert "current: board 4200000.0 vs planning-sheet 4000000.0 (base 3500000.0) → waits for you (manual)" in dry
    result = run("sync", code=4)
    assert "conflict(s) wait" in result.output
    assert json.loads(run("--json", "status").output)["conflicts_waiting"] == 1
    [conflict] = json.loads(run("--json", "conflicts", "list").output)
    assert conflict["field"] == "current"
    assert conflict["candidates"] == {"board": 4200000.0, "planning-sheet": 4000000.0}
    shown = run("conflicts", "show", str(conflict["id"])).output
    assert "base (last agreed): 3500000.0" in shown
    run("conflicts", "resolve", str(conflict["id"]), code=2)  # neither --take nor --value
    run("conflicts", "resolve", str(conflict["id"]), "--take", "nowhere", code=2)
    run("conflicts", "resolve", str(conflict["id"]), "--take", "board")
    run("sync")
    assert "4200000" in (project / "okrs.csv").read_text()
    import getpass

    # the one who resolved it, the OS account that ran the command, is who made the change
    log = json.loads(run("--json", "log").output)
    assert [(r["field"], r["actor"]) for r in log if r["origin"] == "resolution:board"] == [("current", getpass.getuser())]
    assert json.loads(run("--json", "conflicts", "list").output) == []


def test_lock_held_exits_5_and_only_another_hosts_lock_needs_force_unlock(project):
    import os
    import socket
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    (project / "state").mkdir()
    lock = project / "state/okrsync.db.lock"
    try:
        lock.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "command": "sync", "since": "now"}))
        result = run("sync", code=5)
        assert f"pid {holder.pid}" in result.output and "wait for it" in result.output
        run("sync", "--force-unlock", code=5)  # a live holder is never cleared
    finally:
        holder.kill()
        holder.wait()
    result = run("sync")  # its process is gone on this host: cleared without being asked, and said so
    assert f"cleared the lock left by pid {holder.pid} on {socket.gethostname()}" in result.output
    assert "its process is gone" in result.output
    assert not lock.exists() and os.listdir(project / "state")
    lock.write_text(json.dumps({"pid": holder.pid, "host": "elsewhere.example", "command": "sync", "since": "now"}))
    result = run("sync", code=5)  # whether a process lives on another host can't be told from here
    assert "another host's run" in result.output and "--force-unlock" in result.output and lock.exists()
    result = run("sync", "--force-unlock")
    assert "cleared the lock left by pid" in result.output and "elsewhere.example" in result.output
    assert not lock.exists()


def test_a_run_killed_with_sigkill_shows_as_interrupted_and_the_next_run_goes_ahead(project):
    import signal
    import subprocess
    import sys

    # what `okrsync sync` has done when SIGKILL arrives mid-run: the lock taken, the run begun
    script = ("import os, signal\nfrom okrsync.lock import StoreLock\nfrom okrsync.store import Store\n"
              "store = Store('state/okrsync.db')\nStoreLock(store.path, 'sync').acquire()\n"
              "store.begin_run('sync')\nos.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", script], cwd=project)
    assert killed.returncode == -signal.SIGKILL and (project / "state/okrsync.db.lock").exists()
    assert [(r["id"], r["status"]) for r in json.loads(run("--json", "status").output)["runs"]] == [(1, "interrupted")]
    assert "interrupted" in run("status").output
    result = run("sync")  # no --force-unlock needed
    assert "cleared the lock left by pid" in result.output
    assert "run 1 ended without finishing (its process died): marked interrupted" in result.output
    runs = json.loads(run("--json", "status").output)["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [(2, "ok"), (1, "interrupted")]
    assert "process died" in runs[1]["error"]
    assert "marked interrupted" not in run("sync").output  # said once: the store now holds it


def test_a_missing_or_emptied_store_is_refused_unless_a_new_one_is_asked_for(project):
    run("sync")
    db = project / "state/okrsync.db"
    assert (project / "state/okrsync.db.marker").exists()
    db.unlink()
    for args in (["sync"], ["status"], ["show"], ["log"]):
        result = run(*args, code=2)
        assert "is missing, but its marker okrsync.db.marker" in result.output and "--new-store" in result.output
    assert not db.exists()  # nothing was started over it
    db.write_bytes(b"")
    assert "is empty (0 bytes)" in run("sync", code=2).output
    run("--new-store", "sync")
    assert [r["id"] for r in json.loads(run("--json", "status").output)["runs"]] == [1]  # a new history, on purpose
    run("sync")


def test_a_dead_runs_lock_or_a_backup_also_says_a_store_was_there(project):
    import socket

    (project / "state").mkdir()
    db = project / "state/okrsync.db"
    (project / "state/okrsync.db.backup-20260101T000000.000000Z").write_bytes(b"")
    assert "the backup okrsync.db.backup-20260101T000000.000000Z" in run("pull", code=2).output
    (project / "state/okrsync.db.backup-20260101T000000.000000Z").unlink()
    (project / "state/okrsync.db.lock").write_text(json.dumps({"pid": 2 ** 22 + 7, "host": socket.gethostname()}))
    assert "the lock okrsync.db.lock of a run that died" in run("pull", code=2).output
    assert not db.exists()
    (project / "state/okrsync.db.lock").unlink()
    run("pull")  # nothing says there was one: a first run


def test_delete_guard_exits_6_and_writes_nothing(project):
    run("sync")
    before = changes(project)
    (project / "okrs.csv").write_text(SHEET.splitlines()[0] + "\n" + SHEET.splitlines()[3] + "\n")
    result = run("sync", code=6)
    assert "would delete" in result.output and "--allow-mass-delete" in result.output
    assert changes(project) == before
    run("sync", "--allow-mass-delete")
    status = json.loads(run("--json", "status").output)
    assert status["entities"] == {"key_result": 1, "objective": 1}
    import openpyxl

    titles = [r[1] for r in openpyxl.load_workbook(project / "out/board.xlsx").active.iter_rows(min_row=2, values_only=True)]
    assert "Grow revenue" not in titles


def test_revert_run_and_push(project):
    run("sync")
    (project / "okrs.csv").write_text(SHEET.replace("$3500000", "$4000000"))
    run("sync")
    out = json.loads(run("--json", "revert", "--run", "2").output)
    assert out["reverted"] == 1
    import getpass

    assert {r["actor"] for r in json.loads(run("--json", "log").output) if r["origin"] == "revert:2"} == {getpass.getuser()}
    run("sync")
    assert "3500000" in (project / "okrs.csv").read_text()
    run("revert", "--run", "99", code=1)


def test_dry_run_lists_conflicts_in_json(project):
    (project / "okrsync.yaml").write_text(CONFIG + "  conflicts: {prefer: board}\n")
    run("sync")
    before = changes(project)
    (project / "okrs.csv").write_text(SHEET.replace("Cut churn", "Cut churn hard"))
    out = json.loads(run("--json", "sync", "--dry-run").output)
    pulled, pushed_board = out["endpoints"][0], out["endpoints"][3]
    assert pulled["changes"][0]["changes"]["title"]["new"] == "Cut churn hard"
    assert pushed_board["changes"][0]["changes"]["title"]["new"] == "Cut churn hard"  # the dry push sees the pull
    assert changes(project) == before  # nothing written
    import openpyxl

    cells = [v for row in openpyxl.load_workbook(project / "out/board.xlsx").active.iter_rows(values_only=True) for v in row]
    assert "Cut churn" in cells and "Cut churn hard" not in cells


@pytest.mark.parametrize("later, expected", [("board", 4200000.0), ("sheet", 4000000.0)])
def test_newest_policy_uses_the_files_modification_times(project, later, expected):
    import os

    import openpyxl

    (project / "okrsync.yaml").write_text(CONFIG + "  conflicts: newest\n")
    run("sync")
    (project / "okrs.csv").write_text(SHEET.replace("$3500000", "$4000000"))
    board = project / "out/board.xlsx"
    wb = openpyxl.load_workbook(board)
    ws = wb.active
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[header.index("Key result")].value == "Reach 5M ARR":
            row[header.index("Current")].value = 4200000
    wb.save(board)
    older, newer = (project / "okrs.csv", board) if later == "board" else (board, project / "okrs.csv")
    os.utime(older, (1_700_000_000, 1_700_000_000))
    os.utime(newer, (1_800_000_000, 1_800_000_000))
    run("sync")
    kr = next(k for o in json.loads(run("--json", "show").output)["objectives"] for k in o["key_results"]
              if k["title"] == "Reach 5M ARR")
    assert kr["current"] == expected
    [loser] = [r for r in json.loads(run("--json", "log").output) if r["kind"] == "conflict"]
    assert loser["old"] == expected and loser["new"] in (4000000.0, 4200000.0) and loser["new"] != expected


def test_status_shows_creates_of_unknown_outcome_until_a_sync_settles_them(project):
    from okrsync.store import Store

    run("sync")
    store = Store(project / "state/okrsync.db")  # as if the run died after writing the board, before linking
    cid = store.db.execute("select canonical_id from links where endpoint = 'board' and kind = 'key_result'").fetchone()[0]
    store.db.execute("delete from links where endpoint = 'board' and canonical_id = ?", [cid])
    store.db.execute("delete from cursors where endpoint = 'board'")  # its write's cursor comes with the links
    store.add_intents(1, "board", [("key_result", cid, store.get(cid)[1])])
    store.db.conn.commit()
    store.close()
    assert "board: 1 create(s) of unknown outcome" in run("status").output
    assert [e["unknown_creates"] for e in json.loads(run("--json", "status").output)["endpoints"]] == [0, 1]
    out = json.loads(run("--json", "sync").output)  # the board's read finds it: linked, not written again
    assert out["totals"]["created"] == 0 and out["totals"]["rejected"] == 0
    assert "unknown outcome" not in run("status").output
