"""The ClickUp emulator against live HTTP (every body checked against ClickUp's spec with the
documented tolerances of tests/helpers/clickup_spec.py), then end-to-end syncs between the bundled
example spreadsheet and the emulator, healthy and under injected faults."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from okrsync import plugins
from okrsync.config import Config
from okrsync.connector import Record
from okrsync.errors import DeleteGuardError, OkrsyncError
from okrsync.store import Store
from okrsync.sync import Hub

from .emulators.clickup import ClickUpEmulator
from .helpers.clickup_spec import ClickUpSpec

SPEC = ClickUpSpec.load()
TOKEN = "pk_183_TESTTOKEN"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "okrs.csv"


class Api:
    """An httpx client whose every request and answer is checked against ClickUp's spec."""

    def __init__(self, base_url: str, token: str = TOKEN):
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": token}, timeout=5)

    def __call__(self, method, path, *, json=None, params=None, status=200):
        if json is not None or params:
            SPEC.request(method, "/api" + path, json, params)
        response = self.http.request(method, "/api" + path, json=json, params=params)
        body = response.json() if response.content else None
        if response.status_code != 429:
            SPEC.response(method, "/api" + path, response.status_code, body)
        assert response.status_code == status, response.text
        return body


@pytest.fixture
def emu():
    with ClickUpEmulator(bearer="oauth-1") as emulator:
        emulator.faults.hang = 0.3
        emulator.spec = SPEC  # every exchange of every test, end to end included, against the spec
        yield emulator
        assert not emulator.errors, emulator.errors[0]


@pytest.fixture
def api(emu):
    client = Api(emu.url)
    yield client
    client.http.close()


NEW_GOAL = {"name": "Grow", "due_date": 1774915200000, "description": "", "multiple_owners": True, "owners": [184],
            "color": "#32a852"}


def new_target(name="ARR", **over):
    return {"name": name, "owners": [183], "type": "number", "steps_start": 0, "steps_end": 10, "unit": "M",
            "task_ids": [], "list_ids": [], **over}


# ------------------------------------------------------------------ the emulator itself

def test_goals_targets_and_updates_answer_in_the_documented_shapes(api, emu):
    assert [m["user"]["email"] for m in api("GET", "/v2/team")["teams"][0]["members"]][:1] == ["bot@example.com"]
    goal = api("POST", "/v2/team/512/goal", json=NEW_GOAL)["goal"]
    assert goal["owners"][0]["email"] == "maria.keller@example.com" and goal["due_date"] == "1774915200000"
    target = api("POST", f"/v2/goal/{goal['id']}/key_result", json=new_target())["key_result"]
    assert target["last_action"]["note"] == "Created Key Result"
    edited = api("PUT", f"/v2/key_result/{target['id']}", json={"steps_current": 4, "note": "Good week", "name": "ARR €"})
    assert edited["key_result"]["name"] == "ARR €" and edited["key_result"]["last_action"]["steps_current"] == "4"
    full = api("GET", f"/v2/goal/{goal['id']}")["goal"]
    [kr] = full["key_results"]
    assert (kr["steps_start"], kr["steps_end"], kr["steps_current"], kr["percent_completed"]) == (0, 10, 4, "40")
    assert full["percent_completed"] == 40
    api("PUT", f"/v2/goal/{goal['id']}", json={"name": "Grow more", "due_date": 1782777600000, "description": "d",
                                                "rem_owners": [184], "add_owners": [183], "color": "#000000"})
    assert [o["id"] for o in emu.goals[goal["id"]]["owners"]] == [183]
    api("POST", f"/v2/goal/{goal['id']}/key_result", json=new_target(type="stars"), status=400)
    api("POST", "/v2/team/512/goal", json={**NEW_GOAL, "owners": [999]}, status=400)
    api("DELETE", f"/v2/key_result/{target['id']}")
    api("DELETE", f"/v2/key_result/{target['id']}", status=404)
    api("DELETE", f"/v2/goal/{goal['id']}")
    api("GET", f"/v2/goal/{goal['id']}", status=404)


def test_the_listing_holds_foldered_goals_and_completed_ones_only_when_asked(api, emu):
    folder = emu.add_folder("2026-Q1")
    inside = emu.add_goal("In folder", due_date=1774915200000, folder_id=folder)
    done = emu.add_goal("Done", due_date=1774915200000)
    target = emu.add_target(done["id"], "Ship", steps_end=1, type="boolean")
    emu.check_in(target["id"], 1, "shipped")
    page = api("GET", "/v2/team/512/goal", params={"include_completed": "false"})
    assert page["goals"] == [] and [g["name"] for g in page["folders"][0]["goals"]] == ["In folder"]
    page = api("GET", "/v2/team/512/goal", params={"include_completed": "true"})
    assert [g["name"] for g in page["goals"]] == ["Done"] and page["folders"][0]["goals"][0]["id"] == inside["id"]
    api("GET", "/v2/team/999/goal", status=401)


def test_tokens_and_the_rate_limit_speak_clickups_dialect(emu):
    assert Api(emu.url, "pk_wrong")("GET", "/v2/team", status=401)["ECODE"]
    assert Api(emu.url, "Bearer oauth-1")("GET", "/v2/team", status=200)["teams"]
    emu.faults.rate, emu.faults.burst = 1.0, 1.0
    client = httpx.Client(base_url=emu.url, headers={"Authorization": TOKEN})
    client.get("/api/v2/team")
    limited = client.get("/api/v2/team")
    assert limited.status_code == 429 and "Retry-After" not in limited.headers
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(time.time()) and limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.json()["err"]


# ------------------------------------------------------------------ end to end

def hub_for(tmp_path: Path, emu: ClickUpEmulator, **options) -> Hub:
    sheet = tmp_path / "okrs.csv"
    if not sheet.exists():
        shutil.copy(EXAMPLE, sheet)
    cu = {"type": "clickup", "url": emu.url + "/api", "team_id": "512", "auth": {"token": TOKEN}, "rate": 500,
          "timeout": 1, "concurrency": 3, **options}
    cfg = Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv"}, "cu": cu},
                    {"order": ["sheet", "cu"], "conflicts": {"prefer": "sheet"}})
    return Hub(cfg, Store(tmp_path / "okrsync.db"), plugins.classes())


def sync(hub: Hub, **kw):
    run = hub.store.begin_run("sync")
    try:
        plans = hub.run(["sheet", "cu"], run, **kw)
    except Exception:
        hub.store.finish_run(run, "failed", {})
        raise
    hub.store.finish_run(run, "ok", {})
    return plans


def quiet(hub: Hub, emu: ClickUpEmulator, tmp_path: Path) -> bool:
    """A sync that changes nothing: no write request to ClickUp, the sheet's bytes unchanged,
    nothing new in the store (the two range KRs ClickUp can't hold are tried and refused
    each time, unsent)."""
    before, sent = (tmp_path / "okrs.csv").read_bytes(), emu.count() - emu.count("GET")
    plans = sync(hub)
    pulled = sum(p.counters.created + p.counters.updated + p.counters.deleted for p in plans if p.direction == "pull")
    return (emu.count() - emu.count("GET") == sent and (tmp_path / "okrs.csv").read_bytes() == before
            and pulled == 0 and not any(p.conflicts for p in plans))


def rows(tmp_path: Path) -> dict[str, dict[str, str]]:
    with open(tmp_path / "okrs.csv", newline="", encoding="utf-8") as f:
        return {r["Key result"]: r for r in csv.DictReader(f)}


def members_of_example(emu: ClickUpEmulator) -> None:
    with open(EXAMPLE, newline="", encoding="utf-8") as f:
        emails = {r[k] for r in csv.DictReader(f) for k in ("Objective owner", "Owner") if r[k]}
    for email in sorted(emails - {m["email"] for m in emu.members}):
        emu.add_member(email)


def by_name(emu: ClickUpEmulator, name: str) -> dict:
    [found] = [t for t in emu.targets.values() if t["name"] == name]
    return found


def test_the_example_sheet_migrates_and_a_second_sync_writes_nothing(tmp_path, emu):
    members_of_example(emu)
    hub = hub_for(tmp_path, emu)
    first = sync(hub)
    assert len(emu.goals) == 13 and len(emu.targets) == 37  # 39 KRs less the two ranges ClickUp can't hold
    rejected = [r for p in first for r in p.rejected]
    assert len(rejected) == 2 and all("such as a range" in r.reason for r in rejected)
    kr = by_name(emu, "Grow ARR from €8.4M to €10.2M")
    assert (kr["type"], kr["unit"], kr["steps_start"], kr["steps_end"], kr["steps_current"]) == (
        "currency", "EUR", 8400000, 10200000, 9050000)
    assert by_name(emu, "Cut monthly gross logo churn from 2.1% to 1.5%")["steps_end"] == 1.5
    assert kr["owners"][0]["email"] == "maria.keller@example.com"
    goal = emu.goals[kr["goal_id"]]
    assert goal["due_date"] == "1774915200000"  # 2026-03-31: the period's end, ClickUp needs a due date
    assert quiet(hub, emu, tmp_path)


@pytest.fixture
def migrated(tmp_path, emu):
    """A hub whose first sync copied the example sheet into the emulator."""
    members_of_example(emu)
    hub = hub_for(tmp_path, emu)
    sync(hub)
    return hub


def test_an_edit_in_clickup_comes_back_to_the_sheet_and_a_conflict_is_settled_by_policy(tmp_path, emu, migrated):
    hub = migrated
    nrr = by_name(emu, "Raise net revenue retention from 104% to 110%")
    emu.check_in(nrr["id"], 107, "Two renewals landed")
    emu.edit_goal(nrr["goal_id"], name="Grow into a €12M ARR business, profitably")
    plans = sync(hub)
    sheet = rows(tmp_path)
    assert sheet["Raise net revenue retention from 104% to 110%"]["Current"] in ("107", "107%")
    assert sheet["Raise net revenue retention from 104% to 110%"]["Objective"] == "Grow into a €12M ARR business, profitably"
    check_ins = hub.store.db.execute("select count(*) from entities where kind = 'check_in'").fetchone()[0]
    assert check_ins == 1 and not any(p.rejected for p in plans if p.direction == "pull")
    # both sides change the same value: the policy (prefer the sheet) settles it everywhere
    emu.check_in(nrr["id"], 108, "one more")
    text = (tmp_path / "okrs.csv").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if "Raise net revenue retention" in line)
    (tmp_path / "okrs.csv").write_text(text.replace(row, row.replace(",107,", ",109,").replace(",107%,", ",109%,")),
                                       encoding="utf-8")
    plans = sync(hub)
    assert [c.field for p in plans for c in p.conflicts] == ["current"]
    assert emu.targets[nrr["id"]]["steps_current"] == 109
    assert emu.targets[nrr["id"]]["last_action"]["note"] == "Updated by okrsync"
    assert quiet(hub, emu, tmp_path)


def test_a_goal_deleted_in_clickup_is_deleted_in_the_sheet_but_a_mass_delete_is_stopped(tmp_path, emu, migrated):
    hub = migrated
    # a goal no other objective aligns to (the sheet keeps parents that children point at)
    kr = by_name(emu, "Grow marketing-qualified leads from 420 to 700 a month")
    emu.delete_goal(kr["goal_id"])
    sync(hub)
    assert "Grow marketing-qualified leads from 420 to 700 a month" not in rows(tmp_path) and len(emu.goals) == 12
    assert len(rows(tmp_path)) == 36
    for goal_id in list(emu.goals):
        emu.delete_goal(goal_id)
    with pytest.raises(DeleteGuardError, match="cu"):
        sync(hub)
    assert len(rows(tmp_path)) == 36  # the sheet is untouched


@pytest.mark.parametrize("fault, kwargs", [
    ("429", {"times": 4}),  # a storm: every request refused for a while (5 attempts), X-RateLimit-Reset honoured
    ("500", {"times": 2, "method": "POST"}),
    ("timeout", {"method": "POST", "path": "/api/v2/team/512/goal", "apply_then_fail": True}),
    ("truncate", {"method": "POST", "path": "/api/v2/goal/", "apply_then_fail": True}),
    ("reset", {"method": "PUT", "path": "/api/v2/key_result/", "apply_then_fail": True}),
])
def test_faults_during_the_migration_leave_no_duplicate_and_nothing_lost(tmp_path, emu, fault, kwargs):
    members_of_example(emu)
    hub = hub_for(tmp_path, emu)
    emu.faults.inject(fault, **kwargs)
    sync(hub)
    assert emu.faults.pending() == 0
    names = [t["name"] for t in emu.targets.values()]
    assert len(emu.goals) == 13 and len(names) == 37 and len(set(names)) == 37
    assert quiet(hub, emu, tmp_path)


def test_a_failed_push_does_not_advance_past_its_work_and_the_next_run_finishes_it(tmp_path, emu):
    members_of_example(emu)
    hub = hub_for(tmp_path, emu, attempts=1)
    emu.faults.inject("503", times=1000, method="POST", path="/api/v2/goal/")  # targets can't be created
    with pytest.raises(OkrsyncError):
        sync(hub)
    emu.faults.clear()
    sync(hub)
    names = [t["name"] for t in emu.targets.values()]
    assert len(emu.goals) == 13 and len(names) == 37 and len(set(names)) == 37
    assert quiet(hub, emu, tmp_path)


def test_paced_to_the_plan_the_rate_limit_is_never_hit(tmp_path, emu):
    members_of_example(emu)
    emu.faults.rate, emu.faults.burst = 100.0, 5.0  # the server's bucket
    hub = hub_for(tmp_path, emu, rate=80, concurrency=3)  # what the connector is told it may send
    sync(hub)
    assert emu.count(status=429) == 0 and len(emu.goals) == 13 and len(emu.targets) == 37


# ---------------------------------------------------------------- decimals, owners and targets as ids (issue 18)

def decimal_krs(hub: Hub) -> dict[str, dict]:
    """The example's KRs ClickUp holds with a fractional start, target or current value, by title."""
    return {f["title"]: f for _, _, f in hub.store.entities("key_result") if f.get("unit") != "boolean"
            and f.get("target") is not None
            and any(isinstance(f.get(n), float) and not f[n].is_integer() for n in ("start", "target", "current"))}


def test_decimals_are_read_back_and_a_truncating_clickup_is_reported_as_a_loss_every_run(tmp_path, emu):
    members_of_example(emu)
    emu.truncate_decimals = True  # what an integer-only server would do (the spec types steps_* as int32)
    hub = hub_for(tmp_path, emu)
    first = sync(hub)
    decimals = decimal_krs(hub)
    assert len(decimals) == 5
    lost = [r for p in first for r in p.rejected if "did not keep the decimals" in r.reason]
    assert len(lost) == 5 and all("is a loss" in r.reason for r in lost)
    churn = by_name(emu, "Cut monthly gross logo churn from 2.1% to 1.5%")
    assert (churn["steps_start"], churn["steps_end"]) == (2.0, 1.0)
    # the next run neither pulls the truncated values back nor stays silent about them
    before = (tmp_path / "okrs.csv").read_bytes()
    second = sync(hub)
    assert (tmp_path / "okrs.csv").read_bytes() == before
    assert decimal_krs(hub) == decimals
    lost = [str(r) for p in second for r in p.rejected if "steps_* as integers" in r.reason]
    churn_text = next(r for r in lost if "churn" in r)
    assert len(lost) == 5 and "start 2.1 is 2 there" in churn_text and "target 1.5 is 1 there" in churn_text
    assert [p.counters.rejected for p in second if p.endpoint == "cu"] == [5, 2]  # pull: the losses; push: the ranges


def cli_project(tmp_path: Path, monkeypatch, emu: ClickUpEmulator) -> None:
    """okrsync.yaml for the example sheet and the emulator, in a working directory of its own."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    (tmp_path / "okrsync.yaml").write_text(
        "endpoints:\n  sheet: {type: csv, path: okrs.csv}\n"
        f"  cu: {{type: clickup, url: '{emu.url}/api', team_id: '512', auth: {{token: {TOKEN}}}, rate: 500,"
        " timeout: 1, concurrency: 3}\n"
        "sync:\n  order: [sheet, cu]\n  conflicts: {prefer: sheet}\n")


def cli_rejections(result) -> list[str]:
    return [r for e in json.loads(result.stdout)["endpoints"] for r in e.get("rejected") or []]


def test_a_truncated_decimal_is_a_rejection_with_exit_3_on_every_run_until_made_whole(tmp_path, monkeypatch, emu):
    from .helpers.clirun import run

    members_of_example(emu)
    emu.truncate_decimals = True
    cli_project(tmp_path, monkeypatch, emu)
    churn = "Cut monthly gross logo churn from 2.1% to 1.5%"
    for attempt in range(3):  # the write that finds the loss, then two runs that only read it
        rejected = cli_rejections(run("--json", "sync", code=3))
        lost = [r for r in rejected if "did not keep the decimals" in r]
        assert len(lost) == 5 and len(rejected) == 7, (attempt, rejected)  # and the two ranges ClickUp can't hold
        [text] = [r for r in lost if churn in r]
        assert "start 2.1 is 2 there" in text and "target 1.5 is 1 there" in text and "round the value" in text
    target = by_name(emu, churn)
    assert (target["steps_start"], target["steps_end"], target["steps_current"]) == (2, 1, 1)
    # made whole in the sheet: written once more, read back as written; the rest stay rejected
    text = (tmp_path / "okrs.csv").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if churn in line)
    (tmp_path / "okrs.csv").write_text(text.replace(row, row.replace(",2.1,1.8,1.5,", ",2,2,1,")),
                                       encoding="utf-8")
    run("--json", "sync", code=3)  # its read still found the truncation; its push wrote the whole values
    lost = [r for r in cli_rejections(run("--json", "sync", code=3)) if "did not keep the decimals" in r]
    assert len(lost) == 4 and not [r for r in lost if churn in r]
    fixed = by_name(emu, churn)
    assert fixed["id"] == target["id"] and (fixed["steps_start"], fixed["steps_end"], fixed["steps_current"]) == (2, 1, 2)


def test_a_truncation_found_by_a_push_without_a_read_stays_rejected_and_is_never_pulled_back(tmp_path, monkeypatch,
                                                                                               emu):
    from .helpers.clirun import run

    members_of_example(emu)
    emu.truncate_decimals = True
    cli_project(tmp_path, monkeypatch, emu)
    run("pull", "sheet")
    before = (tmp_path / "okrs.csv").read_bytes()
    # okrsync push reads nothing first: what it learns goes into the cursor the last read left
    for command in ("push", "sync", "sync"):
        rejected = cli_rejections(run("--json", command, *(["cu"] if command == "push" else []), code=3))
        assert len([r for r in rejected if "did not keep the decimals" in r]) == 5, (command, rejected)
    assert (tmp_path / "okrs.csv").read_bytes() == before  # 2.1 % is still 2.1 % in the sheet


def test_a_goal_deleted_in_clickup_is_deleted_while_a_truncation_stays_rejected(tmp_path, emu):
    members_of_example(emu)
    emu.truncate_decimals = True
    hub = hub_for(tmp_path, emu)
    sync(hub)
    kr = by_name(emu, "Grow marketing-qualified leads from 420 to 700 a month")
    emu.delete_goal(kr["goal_id"])
    plans = sync(hub)
    assert len([r for p in plans for r in p.rejected if "did not keep the decimals" in r.reason]) == 5
    assert "Grow marketing-qualified leads from 420 to 700 a month" not in rows(tmp_path)
    assert not [n for p in plans for n in p.notes if "deletes are not taken" in n]


def test_decimals_kept_by_clickup_raise_nothing(tmp_path, emu):
    members_of_example(emu)
    hub = hub_for(tmp_path, emu)
    plans = sync(hub)
    assert not [r for p in plans for r in p.rejected if "decimals" in r.reason]
    assert by_name(emu, "Cut monthly gross logo churn from 2.1% to 1.5%")["steps_start"] == 2.1


def test_migrate_plans_the_decimal_krs_as_a_risk(tmp_path, emu):
    from okrsync import migrate

    members_of_example(emu)
    hub = hub_for(tmp_path, emu)
    run = hub.store.begin_run("migrate")
    plan = migrate.plan(hub, "sheet", "cu", run)
    [risk] = [x for x in plan.losses if x["what"].startswith("key result decimal values")]
    assert risk["count"] == 5 and {hub.store.get(c)[1]["title"] for c in risk["examples"]} <= set(decimal_krs(hub))
    assert any(n.startswith("risk: cu relies on an unconfirmed fact: decimal") for n in plan.notes)


def test_migrate_dry_run_shows_the_decimal_krs_as_a_risk(tmp_path, monkeypatch, emu):
    from .helpers.clirun import run

    members_of_example(emu)
    cli_project(tmp_path, monkeypatch, emu)
    plan = json.loads(run("--json", "migrate", "--from", "sheet", "--to", "cu", "--dry-run").stdout)["plan"]
    [risk] = [x for x in plan["losses"] if x["what"].startswith("key result decimal values")]
    assert risk["count"] == 5 and len(risk["examples"]) == 3 and all(e.startswith("kr_") for e in risk["examples"])
    text = run("migrate", "--from", "sheet", "--to", "cu", "--dry-run").output
    assert "key result decimal values" in text and "relies on an unconfirmed fact: decimal" in text
    assert not emu.goals  # a dry run writes nothing


def team_asked(emu: ClickUpEmulator) -> int:
    """How many times the workspace's members were read (GET /v2/team, not its goal listing)."""
    return sum(1 for h in emu.log if h.method == "GET" and h.path == "/api/v2/team")


@pytest.mark.parametrize("as_ids", [False, True])
def test_owners_read_as_their_e_mails_whether_objects_or_user_ids(tmp_path, emu, as_ids):
    members_of_example(emu)
    sync(hub_for(tmp_path, emu))
    emu.owners_as_ids = as_ids  # the spec's listing types owners as strings (user ids)
    if as_ids:
        emu.spec = None  # ids in GET /goal/{id} too: a shape neither the spec nor a client shows, read anyway
    hub = hub_for(tmp_path, emu)  # a new connector: no owner's e-mail known from an earlier answer
    emu.reset_log()
    read = [r for r in hub.connector("cu").read(None) if isinstance(r, Record)]
    owners = {r.fields["title"]: r.fields["owner"] for r in read if r.kind in ("objective", "key_result")}
    assert len(owners) == 13 + 37 and all(owners.values())
    assert owners["Grow ARR from €8.4M to €10.2M"] == rows(tmp_path)["Grow ARR from €8.4M to €10.2M"]["Owner"]
    assert owners["Grow into a €12M ARR business"] == "maria.keller@example.com"
    assert team_asked(emu) == (1 if as_ids else 0)  # 50 owners by id: the members are read once
    emu.reset_log()
    assert quiet(hub, emu, tmp_path) and team_asked(emu) == 0  # every id known: not asked again
    newcomer = emu.add_member("new.joiner@example.com")  # joins, and takes over a goal in ClickUp
    [goal] = [g for g in emu.goals.values() if g["name"] == "Grow into a €12M ARR business"]
    emu.edit_goal(goal["id"], owners=[emu._user(newcomer)])
    sync(hub)
    assert team_asked(emu) == (1 if as_ids else 0)  # an unknown id: the members read again, once
    assert {r["Objective owner"] for r in rows(tmp_path).values() if r["Objective"] == goal["name"]} == \
        {"new.joiner@example.com"}


def test_an_owner_id_no_member_has_is_reported_and_the_owner_kept(tmp_path, emu):
    members_of_example(emu)
    hub = hub_for(tmp_path, emu)
    sync(hub)
    emu.owners_as_ids, emu.spec = True, None
    [goal] = [g for g in emu.goals.values() if g["name"] == "Grow into a €12M ARR business"]
    goal["owners"] = [{"id": 999, "username": "Left", "email": "left@example.com"}]  # removed from the workspace
    target = by_name(emu, "Grow ARR from €8.4M to €10.2M")
    target["owners"] = [{"id": 998, "username": "Gone", "email": "gone@example.com"}]
    before = (tmp_path / "okrs.csv").read_bytes()
    plans = sync(hub)
    reasons = sorted(r.reason for p in plans for r in p.rejected if "is not a member" in r.reason)
    assert len(reasons) == 2 and "user id 998" in reasons[0] and "user id 999" in reasons[1]
    assert "skipped this run rather than read without an owner" in reasons[0]
    assert (tmp_path / "okrs.csv").read_bytes() == before  # the owners stay as they were, nothing deleted
    assert len(emu.goals) == 13 and len(emu.targets) == 37


def test_targets_given_as_bare_ids_are_reported_and_never_taken_as_deleted(tmp_path, emu):
    members_of_example(emu)
    hub = hub_for(tmp_path, emu)
    sync(hub)
    emu.key_results_as_ids = True  # the spec's Goal.key_results: array<string>
    before = (tmp_path / "okrs.csv").read_bytes()
    emu.reset_log()
    plans = sync(hub)
    skipped = [r for p in plans for r in p.rejected if "bare id" in r.reason]
    assert len(skipped) == 37 and len(emu.targets) == 37 and hub.store.count("key_result") == 39
    assert {r.reason.split("'")[1] for r in skipped} == set(emu.targets)  # each names its target
    assert all(str(r).startswith("cu goal ") and "no call to read one target" in r.reason for r in skipped)
    assert (tmp_path / "okrs.csv").read_bytes() == before and emu.count("GET") == 1 + 13  # nothing else asked
    assert emu.count("DELETE") == 0
