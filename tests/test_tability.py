"""The Tability connector: respx unit tests built from the documented examples
(guides.tability.app/api/tability-api/api-reference/…), then end-to-end syncs over real
HTTP between the bundled example spreadsheet and the stateful emulator."""

import csv
import json
import shutil
from pathlib import Path

import httpx
import pytest
import respx

from okrsync.config import Config
from okrsync.connector import Context, Cursor, Note, Record, Rejected, WriteBatch
from okrsync.connectors.tability import TabilityConnector
from okrsync.errors import ConfigError, DeleteGuardError, FatalError, MappingError, OkrsyncError
from okrsync.plugins import connectors
from okrsync.store import Store
from okrsync.sync import Hub

from .emulators.tability import TabilityEmulator
from .helpers.saas_e2e import EXAMPLE, sync
from .helpers.tability_seed import seed_from_example

BASE = "https://api.tability.app"
TOKEN = "tab-SECRET-token"
MEMBER = {"id": "m1", "user_id": "u1", "role": "user", "cached_email": "seiji@example.com",
          "cached_firstname": "Seiji", "cached_lastname": "Ono (sample)"}
# trimmed copies of the docs' examples (plans, outcomes, initiatives, checkins pages)
PLAN = {"id": "abcd1234-75d9-4010-bc25-e29f536289ea", "parent_id": None, "nano_slug": "kHmU5VuMY0Tl",
        "title": "Company OKRs 2023 Q4", "start_at": "2023-10-01T00:00:00.000Z", "finish_at": "2023-12-31T00:00:00.000Z",
        "state": "published", "archived": False, "active": True, "expired": False}
OBJECTIVE = {"id": "9baab5b7-5ebb-4261-81e1-5ec0a9d2d860", "plan_id": PLAN["id"], "nano_slug": "o1",
             "title": "Grow revenue", "description": "", "archived": False}
OUTCOME = {"id": "03b42e14-e081-4546-92d4-6d8bb3de1a50", "objective_id": OBJECTIVE["id"], "nano_slug": "j4Jlkboa7H3g",
           "title": "Increase Quarterly Sales Revenue from $1 million to $1.3 million", "description": "",
           "from": 1000000.0, "to": 1300000.0, "score_format": "$_number_w", "updated_at": "2023-12-07T01:15:34.078Z",
           "archived": False, "completed": False, "outcome_type": "improve_metric", "weight": 1, "membership": MEMBER,
           "current_checkin": {"id": "e996987d", "outcome_id": "03b42e14-e081-4546-92d4-6d8bb3de1a50",
                               "checkin_date": "2023-12-07T01:15:33.592Z", "score": 120000.0, "confidence": "red", "body": ""}}
INITIATIVE = {"id": "53e8fb8a-3aaf-4f79-bf6c-62be4e10fac7", "outcome_id": OUTCOME["id"], "nano_slug": "Dw4DBcMrBJPM",
              "title": "Sales team all walks through competitor set up change for x", "state": "open",
              "work_state": "planned", "archived": False, "due_at": "2023-12-07T00:00:00.000Z", "body": "",
              "membership": MEMBER}
CHECKIN = {"id": "dbdebd0f-9f97-4c3c-b3af-95a2c2885d8f", "outcome_id": OUTCOME["id"], "nano_slug": "YMVQNUc6SnKY",
           "checkin_date": "2023-11-16T00:00:00.000Z", "score": 84.0, "confidence": "red",
           "body": "We stopped the bleeding.", "created_at": "2023-11-23T11:27:38.219Z",
           "updated_at": "2023-11-23T11:27:38.219Z", "is_remote": False, "membership": MEMBER}
WS = "/v2/workspaces/acme"


def connector(tmp_path=None, **options):
    opts = {"workspace": "acme", "token": TOKEN, "url": BASE, "rate": 1000, "concurrency": 1, **options}
    conn = TabilityConnector("tab", opts, Context(base_dir=tmp_path or Path.cwd()))
    conn.api.sleep = conn.api.pacer.sleep = lambda s: None
    return conn


@pytest.fixture
def api():
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def serve_one_plan(api, checkins=(CHECKIN,)):
    api.get(f"{WS}/plans").mock(return_value=httpx.Response(200, json=[PLAN]))
    api.get(f"{WS}/plans/{PLAN['id']}/objectives").mock(return_value=httpx.Response(200, json=[OBJECTIVE]))
    api.get(f"{WS}/plans/{PLAN['id']}/outcomes").mock(return_value=httpx.Response(200, json=[OUTCOME]))
    api.get(f"{WS}/plans/{PLAN['id']}/initiatives").mock(return_value=httpx.Response(200, json=[INITIATIVE]))
    return api.get(f"{WS}/outcomes/{OUTCOME['id']}/checkins").mock(return_value=httpx.Response(200, json=list(checkins)))


# ------------------------------------------------------------------ unit tests (respx)

def test_the_documented_examples_read_into_canonical_records(api):
    serve_one_plan(api)
    items = list(connector().read(None))
    o, k, i, c = [r for r in items if isinstance(r, Record)]
    assert o.fields["period"] == "2023-Q4" and o.fields["extra.tab.plan_id"] == PLAN["id"]
    assert (k.fields["start"], k.fields["target"], k.fields["current"], k.fields["direction"]) == (1e6, 1.3e6, 120000.0, "increase")
    assert (k.fields["unit"], k.fields["currency"], k.fields["weight"]) == ("currency", "USD", 1.0)
    assert (k.fields["confidence"], k.fields["status"], k.fields["owner"]) == (0.2, "off_track", "seiji@example.com")
    assert k.fields["objective_id"] == OBJECTIVE["id"] and k.fields["extra.tab.score_format"] == "$_number_w"
    assert (i.fields["key_result_id"], i.fields["status"], i.fields["due"]) == (OUTCOME["id"], "not_started", "2023-12-07")
    assert c.fields == {"key_result_id": OUTCOME["id"], "at": "2023-11-16T00:00:00Z", "value": 84.0, "confidence": 0.2,
                        "status": "off_track", "note": "We stopped the bleeding.", "author": "seiji@example.com"}
    assert isinstance(items[-1], Cursor) and items[-1].full_listing
    assert api.calls[0].request.headers["Authorization"] == f"API {TOKEN}"


def test_an_unknown_outcome_type_is_kept_as_text_with_a_warning_on_every_read(api):
    odd = {**OUTCOME, "outcome_type": "north_star"}  # spellings beyond improve_metric are unsourced
    serve_one_plan(api)
    api.get(f"{WS}/plans/{PLAN['id']}/outcomes").mock(return_value=httpx.Response(200, json=[odd]))
    conn = connector()
    for _ in range(2):
        items = list(conn.read(None))
        [kr] = [r for r in items if isinstance(r, Record) and r.kind == "key_result"]
        assert (kr.fields["direction"], kr.fields["extra.tab.outcome_type"]) == ("increase", "north_star")
        [note] = [n for n in items if isinstance(n, Note)]
        assert "'north_star' is not in the mapping" in note.message and "j4Jlkboa7H3g" in note.message


def test_plans_are_read_page_by_page_following_the_link_header(api):
    second = {**PLAN, "id": "p2", "title": "Sales 2024 H1", "start_at": "2024-01-01T00:00:00.000Z",
              "finish_at": "2024-06-30T00:00:00.000Z"}
    link = f'<{BASE}/v2/workspaces/acme/plans?page=2>; rel="next", <{BASE}/v2/workspaces/acme/plans?page=2>; rel="last"'
    route = api.get(f"{WS}/plans").mock(side_effect=[httpx.Response(200, json=[PLAN], headers={"Link": link}),
                                                    httpx.Response(200, json=[second])])
    for plan in ("abcd1234-75d9-4010-bc25-e29f536289ea", "p2"):
        for part in ("objectives", "outcomes", "initiatives"):
            api.get(f"{WS}/plans/{plan}/{part}").mock(return_value=httpx.Response(200, json=[]))
    list(connector(history=False).read(None))
    assert [c.request.url.params.get("page") for c in route.calls] == [None, "2"]


def test_a_429_is_waited_out_and_a_401_says_what_to_check(api):
    route = serve_one_plan(api)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200, json=[CHECKIN])]
    conn = connector()
    assert len([r for r in conn.read(None) if isinstance(r, Record)]) == 4
    assert conn.take_counts() == (6, 1)  # plans, 3 plan lists, check-ins twice
    api.get(f"{WS}/plans").mock(return_value=httpx.Response(401, json={"error": "Unauthorized"}))
    with pytest.raises(FatalError, match="credentials were refused"):
        list(connector().read(None))


def test_an_outcome_that_cannot_be_read_is_rejected_alone(api):
    serve_one_plan(api)
    api.get(f"{WS}/plans/{PLAN['id']}/outcomes").mock(return_value=httpx.Response(200, json=[{**OUTCOME, "to": True}]))
    items = list(connector(history=False).read(None))
    [bad] = [r for r in items if isinstance(r, Rejected)]
    assert bad.where == f"tab outcome {OUTCOME['id']}" and "not a number" in bad.reason


@pytest.mark.parametrize("options, message", [
    ({"workspace": None}, "needs 'workspace:'"), ({"token": None}, "needs 'token:'"),
    ({"workspce": "x"}, "did you mean 'workspace'"), ({"url": "http://api.tability.app"}, "plain http"),
    ({"remote_checkins": ["x"]}, "remote_checkins: give a map"),
])
def test_bad_options_name_the_key_and_never_the_token(options, message):
    with pytest.raises(ConfigError, match=message) as e:
        connector(**options)
    assert TOKEN not in str(e.value)
    assert TOKEN not in repr(connector().api.client.auth)


def test_an_unknown_mapping_key_is_refused():
    with pytest.raises(MappingError, match="did you mean 'confidence'"):
        connector(mapping={"confidense": {}})


def test_a_check_in_is_written_through_the_remote_webhook_and_found_afterwards(api):
    new = {**CHECKIN, "id": "new-1", "score": 130000.0, "body": "Great month", "created_at": "2023-12-08T00:00:00Z"}
    listing = api.get(f"{WS}/outcomes/{OUTCOME['id']}/checkins").mock(
        side_effect=[httpx.Response(200, json=[CHECKIN]), httpx.Response(200, json=[new, CHECKIN])])
    hook = api.post("/webhooks/checkins").mock(return_value=httpx.Response(200, json={}))
    conn = connector(remote_checkins={OUTCOME["id"]: "rt-1"})
    record = Record("check_in", "c1", {"key_result_id": OUTCOME["id"], "at": "2023-12-08T09:00:00Z", "value": 130000.0,
                                       "confidence": 0.8, "note": "Great month"}, canonical_id="c1")
    unlinked = Record("check_in", "c2", {"key_result_id": "elsewhere", "value": 1.0}, canonical_id="c2")
    edit = Record("check_in", CHECKIN["id"], {"value": 2.0}, canonical_id="c3")
    result = conn.write(WriteBatch(creates=[record, unlinked], updates=[edit]))
    assert result.external_ids == {"c1": "new-1"}
    sent = json.loads(hook.calls[0].request.content)
    assert sent == {"personal_api_token": TOKEN, "score": "130000", "body": "Great month", "confidence": "green"}
    assert hook.calls[0].request.url.params["remote_checkins_token"] == "rt-1"
    reasons = {r.where: r.reason for r in result.rejected}
    assert "Check-ins API" in reasons["c2"] and "no way to edit" in reasons[CHECKIN["id"]]
    assert listing.call_count == 2


def test_a_lost_webhook_answer_is_not_posted_twice(api):
    new = {**CHECKIN, "id": "new-1", "score": 5.0, "body": ""}
    api.get(f"{WS}/outcomes/{OUTCOME['id']}/checkins").mock(
        side_effect=[httpx.Response(200, json=[]), httpx.Response(200, json=[new]), httpx.Response(200, json=[new])])
    hook = api.post("/webhooks/checkins").mock(side_effect=httpx.ReadTimeout("lost"))
    conn = connector(remote_checkins={OUTCOME["id"]: "rt-1"})
    result = conn.write(WriteBatch(creates=[Record("check_in", "c1", {"key_result_id": OUTCOME["id"], "value": 5.0},
                                                   canonical_id="c1")]))
    assert result.external_ids == {"c1": "new-1"} and hook.call_count == 1


# ------------------------------------------------------------------ end to end (emulator)

def make_hub(tmp_path, emu, sheet="okrs.csv", sync=None, **tab_options):
    cfg = Config.of(tmp_path, {
        "tab": {"type": "tability", "workspace": emu.workspace, "token": emu.token, "url": emu.url, "rate": 1000,
                "timeout": 2, "attempts": 4, **tab_options},
        "sheet": {"type": "csv", "path": sheet, "layout": "flat"}}, sync or {"order": ["tab", "sheet"]})
    hub = Hub(cfg, Store(None), {name: info.cls for name, info in connectors().items()})
    hub.connector("tab").api.sleep = hub.connector("tab").api.pacer.sleep = lambda s: None
    return hub


def sheet_rows(tmp_path, name="okrs.csv"):
    return list(csv.DictReader((tmp_path / name).open(encoding="utf-8")))


@pytest.fixture
def emu():
    with TabilityEmulator() as server:
        yield server


def test_tability_to_a_new_spreadsheet_then_an_edit_in_tability_comes_back(tmp_path, emu):
    seed_from_example(emu)
    hub = make_hub(tmp_path, emu, sheet="from_tability.csv")
    sync(hub)
    rows = sheet_rows(tmp_path, "from_tability.csv")
    assert len(rows) == 39 and len({r["Objective"] for r in rows}) == 13
    assert not emu.count("POST")  # nothing is ever written to the read-only kinds
    kr = next(o for o in emu.outcomes.values() if o["title"].startswith("Grow ARR"))
    emu.add_check_in(kr["id"], 9500000, confidence="green", body="Closed two deals")
    sync(hub)
    row = next(r for r in sheet_rows(tmp_path, "from_tability.csv") if r["Key result"].startswith("Grow ARR"))
    assert float(row["Current"]) == 9500000.0
    plans = sync(hub)
    assert all(not p.changes for p in plans) and not emu.count("POST")  # in step: nothing to do


def test_first_contact_with_the_example_sheet_matches_instead_of_duplicating(tmp_path, emu):
    seed_from_example(emu)
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    hub = make_hub(tmp_path, emu, sync={"order": ["sheet", "tab"], "conflicts": {"prefer": "sheet"}})
    sync(hub)
    assert len(sheet_rows(tmp_path)) == 39
    counts = dict(hub.store.db.execute("select kind, count(*) from entities where deleted = 0 group by kind").fetchall())
    assert counts["objective"] == 13 and counts["key_result"] == 39
    assert len(hub.store.links("tab")) >= 13 + 39
    plans = sync(hub)
    assert all(not p.changes and not p.conflicts for p in plans)


@pytest.mark.parametrize("prefer, winner", [("sheet", 9300000.0), ("tab", 9400000.0)])
def test_a_conflicting_edit_on_both_sides_is_settled_by_the_policy(tmp_path, emu, prefer, winner):
    seed_from_example(emu)
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    hub = make_hub(tmp_path, emu, sync={"order": ["sheet", "tab"], "conflicts": {"prefer": prefer}})
    sync(hub)
    text = (tmp_path / "okrs.csv").read_text(encoding="utf-8")
    (tmp_path / "okrs.csv").write_text(text.replace("8400000,9050000,10200000", "8400000,9300000,10200000"), encoding="utf-8")
    kr = next(o for o in emu.outcomes.values() if o["title"].startswith("Grow ARR"))
    emu.add_check_in(kr["id"], 9400000, confidence="green")
    plans = sync(hub)
    [conflict] = [c for p in plans for c in p.conflicts if c.field == "current"]
    row = next(r for r in sheet_rows(tmp_path) if r["Key result"].startswith("Grow ARR"))
    assert float(row["Current"]) == winner
    assert conflict.decision in ("theirs", "ours")


def test_deletes_in_tability_follow_under_the_guard(tmp_path, emu):
    seed_from_example(emu)
    hub = make_hub(tmp_path, emu, sheet="from_tability.csv")
    sync(hub)
    gone = next(o for o in emu.outcomes.values() if o["title"].startswith("Grow ARR"))
    emu.edit("outcomes", gone["id"], archived=True)  # archived: no longer listed
    sync(hub)
    assert len(sheet_rows(tmp_path, "from_tability.csv")) == 38
    for plan in emu.plans.values():
        plan["archived"] = True  # the whole workspace looks empty: the guard stops it
    with pytest.raises(DeleteGuardError):
        sync(hub)
    assert len(sheet_rows(tmp_path, "from_tability.csv")) == 38


def test_check_ins_from_the_hub_go_out_through_the_webhook_once(tmp_path, emu):
    outcomes = seed_from_example(emu)
    token = emu.enable_remote_check_ins(outcomes["KR-1"])
    hub = make_hub(tmp_path, emu, sheet="from_tability.csv", remote_checkins={outcomes["KR-1"]: token})
    sync(hub)
    kr_cid = next(cid for (kind, ext), (cid, _) in hub.store.links("tab").items() if ext == outcomes["KR-1"])
    run_id = hub.store.begin_run("sync")
    hub.store.mutate(run_id, "elsewhere", "check_in", "ci_new", {"key_result_id": kr_cid, "at": "2026-02-20T09:00:00Z",
                                                               "value": 9700000.0, "note": "From the board"})
    emu.faults.hang = 0.2
    emu.faults.inject("timeout", method="POST", path="/webhooks", apply_then_fail=True)  # done, answer lost
    sync(hub)
    landed = [c for c in emu.check_ins_of(outcomes["KR-1"]) if c["body"] == "From the board"]
    assert len(landed) == 1 and landed[0]["score"] == 9700000.0 and landed[0]["is_remote"]
    assert emu.count("POST", "/webhooks") == 1
    sync(hub)  # read back: Tability's colour for it, and the KR's new current value, come back
    row = next(r for r in sheet_rows(tmp_path, "from_tability.csv") if r["Key result"].startswith("Grow ARR"))
    assert float(row["Current"]) == 9700000.0
    plans = sync(hub)  # then in step: the time okrsync meant is not read as an edit; no second post
    assert all(not p.changes for p in plans) and emu.count("POST", "/webhooks") == 1
    assert hub.store.get("ci_new")[1]["at"] == "2026-02-20T09:00:00Z"


def test_migrate_plans_the_loss_of_check_in_dates(tmp_path, emu):
    from okrsync import migrate

    seed_from_example(emu)
    hub = make_hub(tmp_path, emu, sheet="from_tability.csv")
    plan = migrate.plan(hub, "sheet", "tab", hub.store.begin_run("migrate"))
    [risk] = [x for x in plan.losses if x["what"].startswith("check-in dates")]
    assert risk["count"] == hub.store.count("check_in") == sum(len(emu.check_ins_of(o)) for o in emu.outcomes) > 30
    assert "no backdating" in risk["what"]


@pytest.mark.parametrize("fault", ["429", "500", "503", "timeout", "truncate", "reset"])
def test_faults_while_reading_are_retried_without_duplicates_or_lost_edits(tmp_path, emu, fault):
    seed_from_example(emu)
    hub = make_hub(tmp_path, emu, sheet="from_tability.csv")
    emu.faults.hang = 0.2
    emu.faults.inject(fault, times=2, path=f"/v2/workspaces/{emu.workspace}/outcomes")
    emu.faults.inject(fault, times=1, path=f"/v2/workspaces/{emu.workspace}/plans")
    sync(hub)
    assert len(sheet_rows(tmp_path, "from_tability.csv")) == 39 and emu.faults.pending() == 0


def test_a_429_storm_and_a_dead_server_leave_the_cursor_where_it_was(tmp_path, emu):
    seed_from_example(emu)
    hub = make_hub(tmp_path, emu, sheet="from_tability.csv")
    emu.faults.rate = 50  # the token bucket answers 429 + Retry-After beyond 50 req/s
    sync(hub)
    assert len(sheet_rows(tmp_path, "from_tability.csv")) == 39
    emu.faults.rate = None
    cursor = hub.store.cursor("tab", "records")
    kr = next(o for o in emu.outcomes.values() if o["title"].startswith("Grow ARR"))
    emu.add_check_in(kr["id"], 9900000, confidence="green")
    emu.faults.inject("500", times=50, path=f"/v2/workspaces/{emu.workspace}/outcomes")
    with pytest.raises(OkrsyncError):
        sync(hub)
    assert hub.store.cursor("tab", "records") == cursor
    emu.faults.clear()
    sync(hub)  # the edit was not lost
    row = next(r for r in sheet_rows(tmp_path, "from_tability.csv") if r["Key result"].startswith("Grow ARR"))
    assert float(row["Current"]) == 9900000.0
