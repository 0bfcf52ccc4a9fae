"""The Asana emulator answers in Asana's documented shapes (checked against the spec), and
counts batch actions against its rate limit as Asana does."""

import httpx
import pytest

from .emulators.asana import TOKEN, AsanaEmulator
from .helpers.asana_spec import PREFIX, asana_spec, check_action

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def emu():
    with AsanaEmulator(users=["ana@acme.com"], periods=[("Q1", "Q1 FY26", "2026-01-01", "2026-03-31")]) as server:
        yield server


def call(emu, method, path, **kw):
    response = httpx.request(method, emu.url + PREFIX + path, headers=HEADERS, **kw)
    body = response.json() if response.content else None
    if response.status_code < 400:
        asana_spec().response(method, path.split("?")[0], response.status_code, body)
    return response.status_code, body


def batch(emu, actions):
    asana_spec().request("post", "/batch", {"data": {"actions": actions}})
    status, body = call(emu, "POST", "/batch", json={"data": {"actions": actions}})
    if status == 200:
        for action, answer in zip(actions, body["data"]):
            check_action(asana_spec(), action, answer)
    return status, body


def test_goals_metrics_relationships_and_updates_answer_in_asana_shapes(emu):
    spec = asana_spec()
    owner = next(g for g, u in emu.users.items() if u["email"] == "ana@acme.com")
    period = next(iter(emu.periods))
    body = {"data": {"name": "Grow", "notes": "", "due_on": "2026-03-31", "start_on": "2026-01-01", "owner": owner,
                     "time_period": period, "workspace": emu.workspace}}
    spec.request("post", "/goals", body)
    status, created = call(emu, "POST", "/goals", json=body)
    assert status == 201 and created["data"]["owner"]["gid"] == owner
    parent = created["data"]["gid"]
    status, answers = batch(emu, [
        {"method": "post", "relative_path": "/goals", "data": {"name": "KR", "workspace": emu.workspace}},
        {"method": "post", "relative_path": f"/goals/{parent}/setMetric",
         "data": {"unit": "percentage", "precision": 0, "initial_number_value": 0, "target_number_value": 1,
                  "progress_source": "subgoal_progress", "is_custom_weight": True}},
        {"method": "get", "relative_path": "/time_periods", "data": {"workspace": emu.workspace},
         "options": {"fields": ["display_name", "start_on", "end_on", "period"], "limit": 100}},
        {"method": "get", "relative_path": "/users/ana@acme.com", "options": {"fields": ["email", "name"]}},
    ])
    assert [a["status_code"] for a in answers["data"]] == [201, 200, 200, 200]
    child = answers["data"][0]["body"]["data"]["gid"]
    status, answers = batch(emu, [
        {"method": "post", "relative_path": f"/goals/{parent}/addSupportingRelationship",
         "data": {"supporting_resource": child, "contribution_weight": 0.4}},
        {"method": "post", "relative_path": f"/goals/{child}/setMetric",
         "data": {"unit": "none", "precision": 1, "initial_number_value": 1, "target_number_value": 3.5,
                  "current_number_value": 2, "progress_source": "manual"}},
        {"method": "post", "relative_path": "/status_updates", "data": {"parent": child, "text": "ok", "status_type": "on_track"}},
    ])
    assert [a["status_code"] for a in answers["data"]] == [200, 200, 201]
    status, page = call(emu, "GET", "/goals", params={"workspace": emu.workspace, "limit": 1,
                                                      "opt_fields": "name,metric,metric.progress_source,owner,time_period"})
    assert len(page["data"]) == 1 and page["next_page"]["offset"]
    status, rels = call(emu, "GET", "/goal_relationships",
                        params={"supported_goal": parent, "opt_fields": "contribution_weight,supporting_resource"})
    assert rels["data"][0]["contribution_weight"] == 0.4 and rels["data"][0]["supporting_resource"]["gid"] == child
    status, updates = call(emu, "GET", "/status_updates", params={"parent": child, "opt_fields": "text,status_type,created_at,author"})
    assert updates["data"][0]["text"] == "ok" and updates["data"][0]["created_at"].endswith("Z")
    status, full = call(emu, "GET", f"/goals/{child}")
    assert full["data"]["metric"]["target_number_value"] == 3.5 and full["data"]["current_status_update"]


def test_errors_are_asana_errors(emu):
    status, body = call(emu, "PUT", "/goals/999", json={"data": {"name": "x"}})
    assert status == 404 and body["errors"][0]["message"].startswith("goal:")
    response = httpx.get(emu.url + PREFIX + "/goals", params={"workspace": emu.workspace})
    assert response.status_code == 401 and response.json()["errors"][0]["message"]
    status, answers = batch(emu, [{"method": "post", "relative_path": "/goals", "data": {"name": "G", "workspace": emu.workspace}}])
    gid = answers["data"][0]["body"]["data"]["gid"]
    status, answers = batch(emu, [{"method": "put", "relative_path": f"/goals/{gid}", "data": {"status": "green"}}])
    assert answers["data"][0]["status_code"] == 400  # a status needs a metric first


def test_the_rate_limit_counts_every_action_of_a_batch(emu):
    emu.faults.rate, emu.faults.burst = 1, 5  # actions, as Asana counts them
    actions = [{"method": "get", "relative_path": "/users/me"}] * 6
    status, body = batch(emu, actions)
    assert status == 429 and body["errors"][0]["message"].startswith("You've made too many requests")
    assert emu.log[-1].status == 429
    status, _ = batch(emu, actions[:5])
    assert status == 200  # five fit: the refused six ran nothing and took nothing
    response = httpx.get(emu.url + PREFIX + "/users/me", headers=HEADERS)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1


def test_a_request_costs_what_the_emulator_says_and_a_refused_one_costs_nothing():
    from .emulators.server import Emulator, route

    class Tiny(Emulator):
        @route("POST", r"/things")
        def things(self, req):
            return 200, {"n": len(req.json())}

        def cost(self, req):
            return len(req.json()) if req.body else 1

    with Tiny() as tiny:
        tiny.faults.rate, tiny.faults.burst = 0.01, 3  # next to no refill during the test
        assert httpx.post(tiny.url + "/things", json=[1, 2, 3, 4]).status_code == 429  # 4 > 3: takes nothing
        assert httpx.post(tiny.url + "/things", json=[1, 2]).status_code == 200  # 3 - 2 = 1 left
        refused = httpx.post(tiny.url + "/things", json=[1, 2])
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert httpx.post(tiny.url + "/things", json=[1]).status_code == 200
        assert [h.fault for h in tiny.log] == ["rate", None, "rate", None]
