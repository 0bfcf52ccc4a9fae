"""The ClickUp Goals connector against respx routes; every request it sends and every canned
answer is checked against ClickUp's published OpenAPI document through ``ClickUpSpec``
(tests/helpers/clickup_spec.py: the spec as published, with its three documented tolerances)."""

import json

import httpx
import pytest

from okrsync.connector import Context, Cursor, Record, Rejected, WriteBatch
from okrsync.connectors.clickup import ClickUpConnector
from okrsync.connectors.clickup_fields import ClickUpMapping
from okrsync.errors import ConfigError, FatalError, MappingError

from .helpers.clickup_spec import ClickUpSpec
from .helpers.spec_check import SAMPLES, SpecCheck, SpecMismatch, SpecMock

HOST = "https://api.clickup.com"
TOKEN = "pk_183_SECRETSECRET"
SPEC = "clickup-api-v2.openapi.json"
V2 = "/api/v2"
SLEEPS: list = []


def user(uid, name, email):
    return {"id": uid, "username": name, "initials": name[:2].upper(), "email": email, "color": "#827718",
            "profilePicture": ""}


ANA, BEN = user(183, "Ana", "ana@acme.com"), user(184, "Ben", "ben@acme.com")
TEAMS = {"teams": [{"id": "512", "name": "Acme", "color": "#000000", "avatar": "",
                    "members": [{"user": {k: u[k] for k in ("id", "username", "email", "color", "profilePicture",
                                                              "initials")}} for u in (ANA, BEN)]}]}


def action(note="Created Key Result", user=183, when="1767225600000", current=None):
    return {"id": f"act-{note[:4]}", "key_result_id": "kr-1", "userid": user, "date_modified": when,
            "steps_taken": None, "note": note, "steps_before": None, "steps_current": current}


def target(tid, name, type="number", unit="", start=0, end=10, current=0, owners=(ANA,), last=None):
    return {"id": tid, "goal_id": "g-1", "name": name, "type": type, "unit": unit, "creator": 183,
            "date_created": "1767225600000", "goal_pretty_id": "1", "percent_completed": None, "completed": False,
            "task_ids": [], "subcategory_ids": [], "owners": list(owners), "last_action": last or action(),
            "steps_start": start, "steps_end": end, "steps_current": current}


def goal(gid, name, *, due="1774915200000", owners=(ANA,), targets=(), folder=None, description=""):
    return {"id": gid, "name": name, "team_id": "512", "date_created": "1767225600000", "start_date": None,
            "due_date": due, "description": description, "private": False, "archived": False, "creator": 183,
            "color": "#32a852", "pretty_id": gid[-1], "multiple_owners": True, "folder_id": folder, "members": [],
            "owners": list(owners), "key_results": list(targets), "percent_completed": 0, "history": [],
            "pretty_url": f"https://app.clickup.com/512/goals/{gid[-1]}"}


def summary(g):
    out = {k: g[k] for k in ("id", "pretty_id", "name", "team_id", "creator", "color", "date_created", "start_date",
                             "due_date", "description", "private", "archived", "multiple_owners", "folder_id",
                             "owners", "percent_completed")}
    out.update(owner=None, editor_token="goal:x", date_updated="1767225600000", last_update="1767225600000",
               pinned=False, key_result_count=len(g["key_results"]), members=[], group_members=[])
    if g["folder_id"]:
        out["folder_access"] = True
    return out


def listing(*goals, folders=()):
    return {"goals": [summary(g) for g in goals],
            "folders": [{"id": "f-1", "name": "2026-Q1", "team_id": "512", "private": False,
                         "date_created": "1767225600000", "creator": 183, "goal_count": len(folders), "members": [],
                         "goals": [summary(g) for g in folders]}] if folders else []}


def connector(tmp_path, **options):
    opts = {"team_id": "512", "auth": {"token": TOKEN}, "url": HOST + "/api", "rate": 1000, "concurrency": 1,
            **options}
    conn = ClickUpConnector("cu", opts, Context(base_dir=tmp_path))
    conn.api.sleep = conn.api.pacer.sleep = SLEEPS.append
    return conn


@pytest.fixture
def cu():
    SLEEPS.clear()
    with SpecMock(ClickUpSpec.load(), HOST) as mock:
        mock.on("GET", V2 + "/team", [(200, TEAMS)])
        yield mock


# ------------------------------------------------------------------ the spec and its samples

def test_the_published_samples_pass_and_the_known_deviations_are_explicit():
    spec = ClickUpSpec.load()
    for name, method, path in [("clickup-get-goals-response.json", "GET", "/v2/team/512/goal"),
                               ("clickup-get-goal-response.json", "GET", "/v2/goal/g"),
                               ("clickup-create-key-result-response.json", "POST", "/v2/goal/g/key_result"),
                               ("clickup-edit-key-result-response.json", "PUT", "/v2/key_result/k")]:
        spec.response(method, path, 200, json.loads((SAMPLES / name).read_text()))
    with_targets = {"goal": goal("g-1", "G", targets=[target("kr-1", "T")])}
    published = SpecCheck.load(SPEC)
    with pytest.raises(SpecMismatch, match="key_results/0"):  # the spec says strings; real answers carry objects
        published.response("GET", "/v2/goal/g-1", 200, with_targets)
    spec.response("GET", "/v2/goal/g-1", 200, with_targets)  # validated field by field instead
    broken = {"goal": goal("g-1", "G", targets=[{**target("kr-1", "T"), "completed": "no"}])}
    with pytest.raises(SpecMismatch, match="completed"):
        spec.response("GET", "/v2/goal/g-1", 200, broken)
    with pytest.raises(SpecMismatch, match="owners/0"):  # the listing's owners: strings in the spec
        published.response("GET", "/v2/team/512/goal", 200, listing(goal("g-1", "G")))
    # the edit of a target takes the create keys too (the spec says so in prose only)
    spec.request("PUT", "/v2/key_result/k", {"steps_current": 5, "note": "n", "name": "x", "steps_end": 9})
    with pytest.raises(SpecMismatch, match="neither"):
        spec.request("PUT", "/v2/key_result/k", {"steps_current": 5, "note": "n", "colour": "x"})
    # the spec types steps as int32: a fraction okrsync sends on purpose (read back, a truncation
    # is a reported loss) passes as tolerance 5 of tests/helpers/clickup_spec.py; the published check refuses it
    body = {"name": "x", "owners": [], "type": "number", "steps_start": 2.5, "steps_end": 9, "unit": "",
            "task_ids": [], "list_ids": []}
    spec.request("POST", "/v2/goal/g/key_result", body)
    with pytest.raises(SpecMismatch, match="steps_start"):
        published.request("POST", "/v2/goal/g/key_result", body)
    with pytest.raises(SpecMismatch, match="steps_start"):  # any other type still fails
        spec.request("POST", "/v2/goal/g/key_result", {**body, "steps_start": "2.5"})


# ------------------------------------------------------------------ reading

def test_a_read_lists_goals_then_fetches_each_for_its_targets_parents_first(cu, tmp_path):
    done = action("Shipped the beta", user=184, when="1767312000000", current="7")
    g1 = goal("g-1", "Delight customers", description="Why: churn.", targets=[
        target("kr-1", "Raise NPS", type="percentage", unit="%", start=20, end=40, current=30, last=done),
        target("kr-2", "Revenue", type="currency", unit="€", start=0, end=100, current=5, owners=(BEN,)),
        target("kr-3", "Ship SSO", type="boolean", start=0, end=1, current=1, owners=()),
        target("kr-4", "Close tasks", type="automatic", start=0, end=12, current=3),
        target("kr-5", "Run", unit="km", start=0, end=42, current=10, last=action("Updated by okrsync")),
    ])
    g2 = goal("g-2", "In a folder", folder="f-1", owners=())
    cu.on("GET", V2 + "/team/512/goal", [(200, listing(g1, folders=[g2]))])
    cu.on("GET", V2 + "/goal/g-1", [(200, {"goal": g1})])
    cu.on("GET", V2 + "/goal/g-2", [(200, {"goal": g2})])
    items = list(connector(tmp_path).read(None))
    records = [i for i in items if isinstance(i, Record)]
    assert [r.kind for r in records] == ["objective", "objective"] + ["key_result"] * 5 + ["check_in"]
    o1 = records[0]
    assert o1.fields == {"title": "Delight customers", "description": "Why: churn.", "owner": "ana@acme.com",
                         "due": "2026-03-31", "period": "2026-Q1"}  # period: the quarter the due date closes
    assert o1.updated == "2026-01-01T00:00:00.000Z"
    kr = {r.external_id: r.fields for r in records if r.kind == "key_result"}
    assert (kr["kr-1"]["unit"], kr["kr-1"]["start"], kr["kr-1"]["target"], kr["kr-1"]["current"]) == ("percent", 20, 40, 30)
    assert kr["kr-1"]["objective_id"] == "g-1" and kr["kr-1"]["owner"] == "ana@acme.com"
    assert (kr["kr-2"]["unit"], kr["kr-2"]["currency"], kr["kr-2"]["owner"]) == ("currency", "EUR", "ben@acme.com")
    assert kr["kr-3"]["unit"] == "boolean" and kr["kr-3"]["owner"] is None
    assert kr["kr-4"]["unit"] == "number" and kr["kr-4"]["extra.cu.type"] == "automatic"
    assert kr["kr-5"]["extra.cu.unit"] == "km"
    check_in = records[-1]  # only kr-1's latest action is a person's update
    assert check_in.external_id == "kr-1:act-Ship"
    assert check_in.fields == {"key_result_id": "kr-1", "at": "2026-01-02T00:00:00.000Z", "value": 30.0,
                               "note": "Shipped the beta", "author": "ben@acme.com"}
    cursor = items[-1]
    assert isinstance(cursor, Cursor) and not cursor.full_listing
    assert cursor.present["objective"] >= {"g-1", "g-2"} and cursor.present["key_result"] >= {"kr-1", "kr-5"}
    assert "check_in" not in cursor.present  # history: never taken as deleted
    assert cu.calls("GET", V2 + "/team/512/goal")[0][2] == {"include_completed": "true"}  # completed goals too


def test_check_ins_seen_before_stay_present_so_a_newer_update_deletes_nothing(cu, tmp_path):
    cu.on("GET", V2 + "/team/512/goal", [(200, listing())])
    cursor = json.dumps({"check_ins": ["kr-1:old"], "wrote": {}})
    items = list(connector(tmp_path).read(cursor))
    assert "check_in" not in items[-1].present
    assert json.loads(items[-1].value)["check_ins"] == ["kr-1:old"]


def test_an_unknown_target_type_rejects_that_target_only_and_a_vanished_goal_is_skipped(cu, tmp_path):
    g1 = goal("g-1", "G", targets=[target("kr-1", "Odd", type="stars"), target("kr-2", "Fine")])
    cu.on("GET", V2 + "/team/512/goal", [(200, listing(g1, goal("g-9", "Gone")))])
    cu.on("GET", V2 + "/goal/g-1", [(200, {"goal": g1})])
    cu.on("GET", V2 + "/goal/g-9", [(404, {"err": "Goal not found", "ECODE": "GOAL_NOT_FOUND"})])
    items = list(connector(tmp_path).read(None))
    assert [r.external_id for r in items if isinstance(r, Record)] == ["g-1", "kr-2"]
    [rejected] = [i for i in items if isinstance(i, Rejected)]
    assert "Odd" in rejected.where and "'stars'" in rejected.reason


def test_what_okrsync_filled_in_reads_back_empty_and_its_period_is_kept(cu, tmp_path):
    g1 = goal("g-1", "G", due="1782777600000", targets=[target("kr-1", "T", start=0, end=10, current=0)])  # 2026-06-30
    cu.on("GET", V2 + "/team/512/goal", [(200, listing(g1))])
    cu.on("GET", V2 + "/goal/g-1", [(200, {"goal": g1})])
    wrote = {"g-1": {"period": "2026-H1", "filled": {"due": "2026-06-30"}},
             "kr-1": {"filled": {"start": 0.0, "current": 0.0}}}
    records = [i for i in connector(tmp_path).read(json.dumps({"check_ins": [], "wrote": wrote})) if isinstance(i, Record)]
    assert (records[0].fields["period"], records[0].fields["due"]) == ("2026-H1", None)
    assert (records[1].fields["start"], records[1].fields["current"], records[1].fields["target"]) == (None, None, 10)


# ------------------------------------------------------------------ writing

def kr_record(cid, title, objective, **fields):
    return Record("key_result", cid, {"title": title, "objective_id": objective, "start": 0.0, "target": 10.0,
                                      "current": 4.0, "unit": "number", "currency": None, "owner": "ben@acme.com",
                                      **fields}, canonical_id=cid)


def created_goal(query, body):
    return 200, {"goal": goal(f"g-{body['name']}", body["name"], due=str(body["due_date"]),
                              owners=[u for u in (ANA, BEN) if u["id"] in body["owners"]])}


def created_target(query, body):
    view = {k: v for k, v in target(f"k-{body['name']}", body["name"], type=body["type"], unit=body["unit"]).items()
            if not k.startswith("steps_")}
    return 200, {"key_result": view}


def edited_target(query, body):
    view = target("k-x", body.get("name", "x"))
    view["last_action"] = {**action(body["note"]), "steps_before_float": 0, "steps_taken_float": 4,
                           "steps_current_float": str(body["steps_current"])}
    return 200, {"key_result": view}


def test_creates_one_request_each_current_values_set_after_and_owners_by_e_mail(cu, tmp_path):
    cu.on("POST", V2 + "/team/512/goal", created_goal)
    cu.on("POST", V2 + r"/goal/[^/]+/key_result", created_target)
    cu.on("PUT", V2 + r"/key_result/[^/]+", edited_target)
    batch = WriteBatch(creates=[
        Record("objective", "o1", {"title": "A", "period": "2026-Q1", "owner": "ana@acme.com"}, canonical_id="o1"),
        kr_record("k1", "KR of A", "o1"),
        kr_record("k2", "Percent KR", "o1", unit="percent", current=0.0, owner=None),
        kr_record("k3", "Money", "o1", unit="currency", currency="EUR", start=None),
    ])
    result = connector(tmp_path).write(batch)
    assert result.external_ids == {"o1": "g-A", "k1": "k-KR of A", "k2": "k-Percent KR", "k3": "k-Money"}
    assert not result.rejected
    [(_, _, _, body)] = cu.calls("POST", V2 + "/team/512/goal")
    assert body == {"name": "A", "due_date": 1774915200000, "description": "", "multiple_owners": True,
                    "owners": [183], "color": "#32a852"}  # due: the last day of 2026-Q1, midnight UTC
    targets = {b["name"]: b for _, _, _, b in cu.calls("POST", V2 + "/goal/g-A/key_result")}
    assert targets["KR of A"] == {"name": "KR of A", "owners": [184], "type": "number", "steps_start": 0,
                                  "steps_end": 10, "unit": "", "task_ids": [], "list_ids": []}
    assert (targets["Percent KR"]["type"], targets["Percent KR"]["unit"], targets["Percent KR"]["owners"]) == ("percentage", "%", [])
    assert (targets["Money"]["type"], targets["Money"]["unit"]) == ("currency", "EUR")
    edits = {p: b for _, p, _, b in cu.calls("PUT")}
    assert set(edits) == {f"{V2}/key_result/k-KR of A", f"{V2}/key_result/k-Money"}  # current ≠ start only
    assert edits[f"{V2}/key_result/k-KR of A"]["steps_current"] == 4 and edits[f"{V2}/key_result/k-KR of A"]["note"]
    assert len(cu.calls("GET", V2 + "/team")) == 1  # members once per run
    # no read this run and no stored cursor (batch.cursor): what it wrote starts a new one
    state = json.loads(result.cursor)
    assert state["check_ins"] == [] and state["wrote"]["g-A"]["period"] == "2026-Q1"


def test_a_refused_goal_rejects_its_key_results_unsent_and_bad_records_are_rejected_untouched(cu, tmp_path):
    cu.on("POST", V2 + "/team/512/goal", [(400, {"err": "Goal name invalid", "ECODE": "GOAL_001"})])
    batch = WriteBatch(creates=[
        Record("objective", "o1", {"title": "A", "due": "2026-03-31"}, canonical_id="o1"),
        Record("objective", "o2", {"title": "No date"}, canonical_id="o2"),
        Record("objective", "o3", {"title": "Stranger", "due": "2026-03-31", "owner": "who@else.com"}, canonical_id="o3"),
        kr_record("k1", "KR", "o1"),
        kr_record("k2", "KR 2", "o2"),
    ])
    result = connector(tmp_path).write(batch)
    reasons = {r.where: r.reason for r in result.rejected}
    assert "Goal name invalid" in reasons["o1"] and "due date" in reasons["o2"]
    assert "not a member of ClickUp workspace 512" in reasons["o3"]
    assert "objective is not in ClickUp" in reasons["k1"] and "objective is not in ClickUp" in reasons["k2"]
    assert len(cu.calls("POST")) == 1 and not cu.calls("POST", V2 + "/goal/")


def test_updates_swap_owners_keep_colour_and_send_the_required_note(cu, tmp_path):
    g1 = goal("g-1", "Old", owners=(ANA,), targets=[target("kr-1", "T")])
    g1["color"] = "#123456"
    cu.on("GET", V2 + "/goal/g-1", [(200, {"goal": g1})])
    cu.on("PUT", V2 + "/goal/g-1", lambda q, b: (200, {"goal": g1}))
    cu.on("PUT", V2 + "/key_result/kr-1", edited_target)
    cu.on("PUT", V2 + "/key_result/kr-9", [(404, {"err": "Key result not found", "ECODE": "KR_404"})])
    batch = WriteBatch(updates=[
        Record("objective", "g-1", {"title": "New", "due": "2026-06-30", "owner": "ben@acme.com"}, canonical_id="o1"),
        Record("key_result", "kr-1", {"title": "T2", "objective_id": "g-1", "start": 0.0, "target": 20.0,
                                      "current": 7.0, "unit": "number", "extra.cu.unit": "km"}, canonical_id="k1"),
        Record("key_result", "kr-9", {"title": "Gone", "objective_id": "g-1", "target": 1.0}, canonical_id="k9"),
    ])
    result = connector(tmp_path, concurrency=2).write(batch)
    [(_, _, _, body)] = cu.calls("PUT", V2 + "/goal/")
    assert body == {"name": "New", "due_date": 1782777600000, "description": "", "rem_owners": [183],
                    "add_owners": [184], "color": "#123456"}
    edit = cu.calls("PUT", V2 + "/key_result/kr-1")[0][3]
    assert edit == {"name": "T2", "owners": [], "type": "number", "steps_start": 0, "steps_end": 20, "unit": "km",
                    "steps_current": 7, "note": "Updated by okrsync"}
    assert [(r.where, "deleted?" in r.reason) for r in result.rejected] == [("kr-9", True)]


def test_deletes_targets_before_goals_and_gone_is_fine(cu, tmp_path):
    cu.on("DELETE", V2 + "/key_result/kr-1", [(200, {})])
    cu.on("DELETE", V2 + "/goal/g-1", [(404, {"err": "Goal not found", "ECODE": "GOAL_NOT_FOUND"})])
    result = connector(tmp_path).write(WriteBatch(deletes=[Record("objective", "g-1", {}), Record("key_result", "kr-1", {})]))
    assert not result.rejected
    assert [p for m, p, _, _ in cu.sent if m == "DELETE"] == [V2 + "/key_result/kr-1", V2 + "/goal/g-1"]


def test_a_lost_create_answer_takes_the_goal_that_landed_instead_of_sending_again(cu, tmp_path):
    landed = goal("g-new", "A")
    cu.on("POST", V2 + "/team/512/goal", [(200, httpx.ReadTimeout("lost"))])
    cu.on("GET", V2 + "/team/512/goal", [(200, listing(landed))])
    result = connector(tmp_path).write(WriteBatch(creates=[
        Record("objective", "o1", {"title": "A", "due": "2026-03-31"}, canonical_id="o1")]))
    assert result.external_ids == {"o1": "g-new"} and len(cu.calls("POST")) == 1


def test_a_lost_create_that_did_not_land_is_sent_once_more(cu, tmp_path):
    cu.on("POST", V2 + "/goal/g-1/key_result", [(200, httpx.ReadTimeout("lost")), created_target(None, {
        "name": "T", "type": "number", "unit": ""})])
    cu.on("GET", V2 + "/goal/g-1", [(200, {"goal": goal("g-1", "G")})])
    result = connector(tmp_path).write(WriteBatch(creates=[kr_record("k1", "T", "g-1", current=0.0, owner=None)]))
    assert result.external_ids == {"k1": "k-T"} and len(cu.calls("POST")) == 2


# ------------------------------------------------------------------ limits, errors, options

def test_429_waits_until_x_ratelimit_reset_then_retries(cu, tmp_path, monkeypatch):
    monkeypatch.setattr("okrsync.http.time.time", lambda: 1_800_000_000.0)
    limited = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000007"}
    cu.on("GET", V2 + "/team/512/goal", [(429, {"err": "Rate limit reached", "ECODE": "APP_002"}, limited),
                                         (200, listing())])
    conn = connector(tmp_path)
    list(conn.read(None))
    assert 7.0 in SLEEPS and conn.take_counts() == (2, 1)


def test_a_refused_token_says_where_tokens_go_and_never_echoes_it(cu, tmp_path):
    cu.on("GET", V2 + "/team/512/goal", [(401, {"err": "Token invalid", "ECODE": "OAUTH_025"})])
    with pytest.raises(FatalError, match="personal token starts with pk_") as e:
        list(connector(tmp_path).read(None))
    assert TOKEN not in str(e.value)
    assert cu.router.calls.last.request.headers["Authorization"] == TOKEN  # the whole header, no scheme


def test_an_owner_outside_the_workspace_and_a_workspace_the_token_cannot_see(cu, tmp_path):
    conn = connector(tmp_path, team_id="777")
    with pytest.raises(FatalError, match=r"cannot see workspace 777; it sees: Acme \(512\)"):
        conn.write(WriteBatch(creates=[Record("objective", "o1", {"title": "A", "due": "2026-03-31",
                                                                  "owner": "x@acme.com"}, canonical_id="o1")]))


def test_an_oauth_token_goes_as_bearer(cu, tmp_path):
    cu.on("GET", V2 + "/team/512/goal", [(200, listing())])
    list(connector(tmp_path, auth={"bearer": "oauth-abc"}).read(None))
    assert cu.router.calls.last.request.headers["Authorization"] == "Bearer oauth-abc"


@pytest.mark.parametrize("options, message", [
    ({"team_id": None}, "needs 'team_id:'"),
    ({"team_id": "acme"}, "is not a Workspace ID"),
    ({"auth": {"token": "SECRET-not-pk"}}, "not a ClickUp personal token"),
    ({"auth": "pk_x"}, "auth: give"),
    ({"plan": "busines plus"}, "did you mean 'business_plus'"),
    ({"teamid": 1}, "did you mean 'team_id'"),
    ({"url": "http://api.clickup.com/api"}, "plain http://"),
    ({"timezone": "Mars/Olympus"}, "IANA zone"),
])
def test_bad_options_name_the_endpoint_and_the_fix(tmp_path, options, message):
    with pytest.raises(ConfigError, match=message) as e:
        connector(tmp_path, **options)
    assert "endpoint cu" in str(e.value) and "SECRET" not in str(e.value)


def test_the_plan_sets_the_documented_rate_and_the_token_stays_out_of_reprs(tmp_path):
    conn = ClickUpConnector("cu", {"team_id": 512, "auth": {"token": TOKEN}, "plan": "Business Plus"}, Context(base_dir=tmp_path))
    assert conn.api.pacer.interval == pytest.approx(60 / 1000)
    default = ClickUpConnector("cu", {"team_id": 512, "auth": {"token": TOKEN}}, Context(base_dir=tmp_path))
    assert default.api.pacer.interval == pytest.approx(60 / 100)  # Free Forever, Unlimited, Business
    assert TOKEN not in repr(conn.api.client.auth)


# ------------------------------------------------------------------ the mapping

def test_mapping_overrides_are_checked(tmp_path):
    with pytest.raises(MappingError, match="did you mean 'types'"):
        ClickUpMapping.load({"typs": {}}, tmp_path, "m")
    with pytest.raises(MappingError, match="automatic targets cannot be created"):
        ClickUpMapping.load({"types": {"number": "automatic"}}, tmp_path, "m")
    with pytest.raises(MappingError, match="requires a note"):
        ClickUpMapping.load({"note": " "}, tmp_path, "m")


@pytest.mark.parametrize("fields, due", [
    ({"due": "2026-02-15"}, "2026-02-15"),
    ({"period": "2026-Q3"}, "2026-09-30"),
    ({"period": "FY2026"}, "2026-12-31"),
    ({"period": "2026-H1"}, "2026-06-30"),
])
def test_a_goal_due_date_comes_from_the_objective_or_its_period(tmp_path, fields, due):
    mapping = ClickUpMapping.load(None, tmp_path, "m")
    assert mapping.day(mapping.due(fields)) == due


def test_boolean_and_fractional_values(tmp_path):
    mapping = ClickUpMapping.load(None, tmp_path, "m")
    body = mapping.target_body({"title": "SOC 2", "unit": "boolean", "start": None, "target": None}, [], "cu")
    assert (body["type"], body["steps_start"], body["steps_end"]) == ("boolean", 0, 1)
    assert mapping.filled({"start": None, "target": None, "current": None}, body) == {"start": 0.0, "target": 1.0,
                                                                                       "current": 0.0}
    frac = mapping.target_body({"title": "Churn", "unit": "percent", "start": 2.1, "target": 1.5}, [], "cu")
    assert (frac["steps_start"], frac["steps_end"]) == (2.1, 1.5)  # sent as they are: see README (spec says int)
    with pytest.raises(ValueError, match="target value"):
        mapping.target_body({"title": "Range", "unit": "number", "target": None}, [], "cu")
