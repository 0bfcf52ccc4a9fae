"""okrsync migrate: the plan, a dry run that writes nothing, verification, a users map, and a
migration killed (SIGKILL) at random points and resumed until done, without a duplicate."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from okrsync import config, migrate, plugins
from okrsync.cli import cli
from okrsync.store import Store
from okrsync.sync import Hub

from .emulators.jira import JiraEmulator
from .helpers.jira_e2e import ISSUE_TYPES, owners, sheet_and_jira
from .helpers.saas_e2e import EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "migrate-SECRET"


def write_config(path: Path, url: str, rate: float = 500, extra: str = "") -> None:
    sheet_and_jira(path, url, f"    rate: {rate}\n    timeout: 2\n    poll_interval: 0\n{extra}")


@pytest.fixture
def jira():
    with JiraEmulator(users=owners(), token=TOKEN, issue_types=ISSUE_TYPES, bulk_polls=0) as emulator:
        yield emulator


@pytest.fixture
def project(tmp_path, jira, monkeypatch):
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url)
    return tmp_path


def run(*args, code=0):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and TOKEN not in result.output
    return result.output


def test_a_dry_run_shows_the_plan_and_writes_nothing_anywhere(project, jira):
    before = (project / "okrs.csv").read_bytes()
    plan = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--dry-run"))["plan"]
    assert plan["counts"] == {"objective": 13, "key_result": 39}
    assert plan["creates"] == {"objective": 13, "key_result": 39}
    losses = {loss["what"]: loss["count"] for loss in plan["losses"]}
    assert losses["key result weight"] == 31 and "objective title" not in losses  # Jira has no KR weights
    assert len(plan["owners"]) == 12
    assert not jira.issues and not [h for h in jira.log if h.method != "GET" and "search" not in h.path]
    assert (project / "okrs.csv").read_bytes() == before
    store = Store(project / "okrsync.db")
    assert not list(store.entities())  # the pulls were rolled back


def test_a_migration_copies_everything_and_verifies_it_field_by_field(project, jira):
    out = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--yes"))
    assert out["totals"]["created"] == 52 and not out["rejected"]
    check = out["verification"]
    assert check["ok"] and check["checked"] == check["matched"] == 52 and not check["missing"]
    assert check["explained"]["weight"] == 31  # a declared loss, not a difference
    assert len(jira.issues) == 52
    again = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--yes"))
    assert again["totals"]["created"] == 0 and len(jira.issues) == 52 and again["verification"]["ok"]
    # each migration backed the store up first, consistently (WAL included), owner-only
    first, second = Path(out["backup"]), Path(again["backup"])
    assert first.parent == second.parent == project.resolve() and first.name.startswith("okrsync.db.backup-") and first != second
    import sqlite3
    import stat
    for backup, entities, runs in ((first, 0, 0), (second, 52, 1)):
        db = sqlite3.connect(backup)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM entities").fetchone()[0] == entities
        assert db.execute("SELECT count(*) FROM runs WHERE command = 'migrate'").fetchone()[0] == runs
        db.close()
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_verification_flags_what_the_target_changed_and_the_source_did_not(project, jira):
    assert "backed up the store to " in run("migrate", "--from", "sheet", "--to", "jira", "--yes")
    kr = next(i for i in jira.issues.values() if i["fields"]["issuetype"]["name"] == "Key Result")
    jira.edit(kr["id"], {"Target value": 1.0})
    cfg = config.load(project / "okrsync.yaml")
    hub = Hub(cfg, Store(cfg.store), plugins.classes())
    check = migrate.verify(hub, "jira")
    assert not check.ok and [(d["field"], d["target"]) for d in check.differences] == [("target", 1.0)]


def test_owners_jira_cannot_find_are_rejected_unless_the_users_map_names_them(project, jira):
    jira.users = [u for u in jira.users if u["emailAddress"] != "priya.nair@example.com"]
    out = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--yes", code=1))
    assert any("priya.nair@example.com" in r for r in out["rejected"]) and not out["verification"]["ok"]
    jira.users.append({"accountId": "acc-priya-2", "emailAddress": "p.nair@other.example", "displayName": "Priya N"})
    (project / "users.csv").write_text("email,target user\npriya.nair@example.com,acc-priya-2\n")
    out = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--users-map", "users.csv", "--yes"))
    assert out["verification"]["ok"] and not out["rejected"]
    assigned = {i["fields"].get("assignee", {}).get("accountId") for i in jira.issues.values()}
    assert "acc-priya-2" in assigned


def test_bad_arguments_say_what_to_fix(project):
    assert "same endpoint" in run("migrate", "--from", "sheet", "--to", "sheet", code=2)
    assert "did you mean 'jira'" in run("migrate", "--from", "sheet", "--to", "jirra", code=2)
    (project / "bad.csv").write_text("email,target user\nnobody\n")
    assert "line 2" in run("migrate", "--from", "sheet", "--to", "jira", "--users-map", "bad.csv", code=2)


def test_without_yes_and_without_a_terminal_nothing_is_copied(project, jira):
    """CliRunner's stdin is no terminal (as under cron): no "Go ahead?" can be answered, so exit 2."""
    out = run("migrate", "--from", "sheet", "--to", "jira", code=2)
    assert "standard input is not a terminal: pass --yes" in out
    assert not jira.issues and not (project / "okrsync.db").exists()
    assert json.loads(run("--json", "migrate", "--from", "sheet", "--to", "jira", "--dry-run"))["dry_run"]
    assert not jira.issues


def big_sheet(path: Path, objectives: int) -> None:
    """The example's columns, many times over (titles made unique)."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    out = [header]
    for n in range(objectives // 13 + 1):
        for row in rows:
            out.append(row.replace("CO-", f"C{n}-").replace("KR-", f"K{n}-").replace(",Grow", f",[{n}] Grow")
                       .replace(",Be ", f",[{n}] Be ").replace(",Make", f",[{n}] Make"))
    (path / "okrs.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


def test_a_migration_killed_at_random_points_finishes_on_rerun_without_a_duplicate(tmp_path, monkeypatch):
    big_sheet(tmp_path, 500)
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    rng = random.Random(int(os.environ.get("KILL_SEED", "7")))
    env = {**os.environ, "JIRA_TOKEN": TOKEN, "OKRSYNC_LOAD_PLUGINS": "", "PYTHONPATH": str(ROOT)}
    with JiraEmulator(users=owners(), token=TOKEN, issue_types=ISSUE_TYPES, bulk_polls=0) as jira:
        jira.faults.latency = 0.02
        write_config(tmp_path, jira.url, rate=40)
        kills, finished = 0, False
        for attempt in range(30):
            proc = subprocess.Popen([sys.executable, "-m", "okrsync", "migrate", "--from", "sheet", "--to", "jira",
                                     "--yes", "--force-unlock"], cwd=tmp_path, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if attempt < 6:
                time.sleep(rng.uniform(0.8, 2.5))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
            out, err = proc.communicate(timeout=120)
            assert TOKEN not in out + err
            if proc.returncode == 0:
                finished = True
                break
            assert proc.returncode in (-signal.SIGKILL, 5), err  # killed, or the lock of a killed run
        assert finished and kills >= 3
        with (tmp_path / "okrs.csv").open(encoding="utf-8") as f:
            rows = [line.split(",", 1)[0] for line in f.read().splitlines()[1:] if line]
        ids = [i["properties"]["okrsync"]["id"] for i in jira.issues.values()]
        assert len(ids) == len(set(ids)) == len(rows) + len(set(rows))  # every KR and objective exactly once
        assert "verified" in out


def test_a_migration_logs_like_any_run_and_hides_the_token(project, jira):
    result = CliRunner().invoke(cli, ["--log-format", "json", "migrate", "--from", "sheet", "--to", "jira", "--yes"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stderr.splitlines()]
    [summary] = [e for e in events if e["event"] == "summary"]
    assert summary["command"] == "migrate" and summary["status"] == "ok" and summary["counters"]["created"] == 52
    assert TOKEN not in result.stderr + result.stdout
