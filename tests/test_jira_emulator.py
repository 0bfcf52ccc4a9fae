"""The Jira emulator (and the emulator base) against live HTTP, every body checked
against Jira's own OpenAPI description."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.emulators import Emulator, HttpError, route
from tests.emulators.jira import JiraEmulator
from tests.helpers.spec_check import SpecCheck, SpecMismatch

SPEC = SpecCheck.load("jira-cloud-platform-v3.openapi.json")
API = "/rest/api/3"
START, TARGET, CURRENT, UNIT, PERIOD = (f"customfield_{n}" for n in (10050, 10051, 10052, 10053, 10054))


class Api:
    """An httpx client whose every request and response body is checked against the spec."""

    def __init__(self, base_url: str, auth=("bot@example.com", "t0ken"), **kwargs):
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=5, **kwargs)

    def __call__(self, method: str, path: str, *, json=None, params=None, status: int | None = None):
        if json is not None:
            SPEC.request(method, path, json)
        response = self.http.request(method, path, json=json, params=params)
        body = response.json() if response.content else None
        SPEC.response(method, path, response.status_code, body)
        if status is not None:
            assert response.status_code == status, response.text
        return body


@pytest.fixture
def jira():
    with JiraEmulator() as emulator:
        yield emulator
        assert not emulator.errors, emulator.errors[0]  # no emulator crash went unnoticed


@pytest.fixture
def api(jira):
    client = Api(jira.url)
    yield client
    client.http.close()


def new(summary, type="Story", **fields):
    return {"fields": {"project": {"key": "OKR"}, "issuetype": {"name": type}, "summary": summary, **fields}}


def search(api, jql, **body):
    """A search page; fields default to ``key`` here (Jira's own default is ``id`` only)."""
    return api("POST", f"{API}/search/jql", json={"jql": jql, "fields": ["key"], **body}, status=200)


def keys(page):
    return [i["key"] for i in page["issues"]]


# -- metadata ---------------------------------------------------------------------------

def test_fields_users_project_and_link_types(api, jira):
    fields = {f["name"]: f for f in api("GET", f"{API}/field", status=200)}
    assert fields["Current value"]["id"] == CURRENT
    assert fields["Current value"]["schema"]["custom"] == "com.atlassian.jira.plugin.system.customfieldtypes:float"
    assert fields["Unit"]["schema"]["custom"].endswith(":textfield") and fields["OKR period"]["schema"]["type"] == "option"
    assert {"summary", "parent", "labels", "updated", "issuelinks"} <= {f["id"] for f in fields.values()}

    me = api("GET", f"{API}/myself", status=200)
    assert me["emailAddress"] == "bot@example.com" and me["timeZone"] == "Europe/Berlin"
    assert [u["displayName"] for u in api("GET", f"{API}/user/search", params={"query": "mia"}, status=200)] == ["Mia Krystof"]
    emma, = api("GET", f"{API}/user/search", params={"query": "emma@"}, status=200)
    assert "emailAddress" not in emma  # the profile hides it
    assert api("GET", f"{API}/user/search", params={"query": "rich"}, status=200)[0]["accountId"] == emma["accountId"]
    api("GET", f"{API}/user/search", status=400)

    assert api("GET", f"{API}/project/OKR", status=200)["key"] == "OKR"
    api("GET", f"{API}/project/NOPE", status=404)
    names = [t["name"] for t in api("GET", f"{API}/issueLinkType", status=200)["issueLinkTypes"]]
    assert "Relates" in names and "Contributes" in names


def test_auth_basic_and_bearer():
    with JiraEmulator(bearer="oauth-123") as jira:
        assert Api(jira.url, auth=("bot@example.com", "wrong"))("GET", f"{API}/myself", status=401)["errorMessages"]
        assert httpx.get(jira.url + f"{API}/myself").status_code == 401
        headers = {"Authorization": "Bearer oauth-123"}
        assert Api(jira.url, auth=None, headers=headers)("GET", f"{API}/myself", status=200)["accountId"]
        assert jira.count(status=401) == 2


# -- create -------------------------------------------------------------------------------

def test_bulk_create_reports_each_failure_and_is_400_only_when_all_fail(api, jira):
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Why"}]}]}
    body = {"issueUpdates": [
        new("Grow revenue", "Epic", description=adf, labels=["okr"], **{PERIOD: {"value": "2026-Q4"}}),
        new("Bad number", **{CURRENT: "40"}),
        new("Bad label", labels=["two words"]),
        new("Bad description", description="plain text"),
        new("ARR to 2M", parent={"key": "OKR-1"}, assignee={"accountId": "5b10a2844c20165700ede21g"},
            **{START: 1, TARGET: 2, CURRENT: 1.25, UNIT: "M EUR"}),
        new("Orphan", parent={"key": "OKR-99"}),
    ]}
    result = api("POST", f"{API}/issue/bulk", json=body, status=201)
    assert [i["key"] for i in result["issues"]] == ["OKR-1", "OKR-2"]
    assert {e["failedElementNumber"]: list(e["elementErrors"]["errors"]) for e in result["errors"]} == {
        1: [CURRENT], 2: ["labels"], 3: ["description"], 5: ["parent"]}
    assert all(e["status"] == 400 for e in result["errors"])
    kr = jira.issues[result["issues"][1]["id"]]["fields"]
    assert kr["parent"]["key"] == "OKR-1" and kr[CURRENT] == 1.25 and kr[UNIT] == "M EUR"

    failed = api("POST", f"{API}/issue/bulk", json={"issueUpdates": [new(""), {"fields": {}}]}, status=400)
    assert failed["issues"] == [] and len(failed["errors"]) == 2
    assert set(failed["errors"][1]["elementErrors"]["errors"]) >= {"project", "issuetype", "summary"}
    api("POST", f"{API}/issue/bulk", json={"issueUpdates": [new(f"x{n}") for n in range(51)]}, status=400)
    assert len(jira.issues) == 2


def test_create_with_transition_properties_and_hierarchy(api, jira):
    epic = api("POST", f"{API}/issue", status=201, json=dict(
        new("Objective", "Epic"), transition={"id": "21"}, properties=[{"key": "okrsync", "value": {"uid": "o-1"}}]))
    assert epic["transition"]["status"] == 200 and jira.issues[epic["id"]]["fields"]["status"]["name"] == "In Progress"
    errors = api("POST", f"{API}/issue", json=new("Epic under epic", "Epic", parent={"id": epic["id"]}), status=400)
    assert "parent" in errors["errors"]
    api("POST", f"{API}/issue", json=new("x", "Nope"), status=400)
    api("POST", f"{API}/issue", json=new("x", customfield_99999=1), status=400)
    page = search(api, "project = OKR", fields=["summary"], properties=["okrsync"])
    assert page["issues"][0]["properties"] == {"okrsync": {"uid": "o-1"}}
    fetched = api("POST", f"{API}/issue/bulkfetch", status=200,
                  json={"issueIdsOrKeys": ["OKR-9", epic["key"]], "fields": ["status", "labels"]})
    assert fetched["issues"][0]["fields"]["status"]["name"] == "In Progress" and set(fetched["issues"][0]["fields"]) == {"status", "labels"}
    assert fetched["issueErrors"] == [{"id": "OKR-9", "errorMessage": "Issue does not exist or you do not have permission to see it."}]


# -- search -------------------------------------------------------------------------------

def test_search_pages_with_tokens_and_caps():
    with JiraEmulator(page_size=20) as jira:
        api = Api(jira.url)
        for n in range(45):
            jira.add_issue("Task", f"T{n}", labels=["even" if n % 2 == 0 else "odd"])
        first = api("POST", f"{API}/search/jql", json={"jql": "project = OKR ORDER BY key ASC"}, status=200)
        assert first["issues"][0] == {"id": "10001"} and first["isLast"] is True and "nextPageToken" not in first
        seen, token = [], None
        while True:
            page = search(api, "project = OKR ORDER BY key ASC", fields=["summary", "updated"], maxResults=50,
                          **({"nextPageToken": token} if token else {}))
            assert len(page["issues"]) <= 20  # capped by the page size for fields
            seen += keys(page)
            if page["isLast"]:
                break
            token = page["nextPageToken"]
        assert seen == [f"OKR-{n}" for n in range(1, 46)]
        # the GET form, fields comma-separated, and a token from another query refused
        page = api("GET", f"{API}/search/jql", params={"jql": "labels = even", "fields": "key,summary",
                                                       "maxResults": "5"}, status=200)
        assert len(page["issues"]) == 5 and page["issues"][0]["fields"] == {"summary": "T0"}
        api("POST", f"{API}/search/jql", json={"jql": "project = OKR", "nextPageToken": page["nextPageToken"]}, status=400)
        api("POST", f"{API}/search/jql", json={"jql": "labels = even", "nextPageToken": "garbage!"}, status=400)
        jira.expire_tokens()
        api("POST", f"{API}/search/jql", json={"jql": "labels = even", "nextPageToken": page["nextPageToken"]}, status=400)


def test_jql_subset_and_its_errors(api, jira):
    objective = jira.add_issue("Epic", "O", labels=["okr", "q4"])
    jira.add_issue("Story", "KR 1", parent=objective, labels=["okr"])
    jira.add_issue("Task", "KR 2", parent=objective, status="Done")
    jira.add_issue("Task", "Other")
    assert keys(search(api, 'project = OKR AND issuetype in (Story, "Task") ORDER BY key DESC')) == ["OKR-4", "OKR-3", "OKR-2"]
    assert keys(search(api, "project = OKR and labels = okr order by id")) == ["OKR-1", "OKR-2"]
    assert keys(search(api, "labels in (q4) AND type = Epic")) == ["OKR-1"]
    assert keys(search(api, "parent = OKR-1 AND status != Done")) == ["OKR-2"]
    assert keys(search(api, "project = OKR AND statusCategory = done")) == ["OKR-3"]
    assert keys(search(api, "key in (OKR-4, OKR-2) ORDER BY key")) == ["OKR-2", "OKR-4"]
    for bad, message in [("", "Unbounded"), ("ORDER BY key DESC", "Unbounded"), ("project = NOPE", "does not exist"),
                         ("assignee = currentUser()", "does not exist"), ("project = OKR OR labels = x", "OR"),
                         ("project = OKR AND", "Expecting"), ("project OKR", "operator"),
                         ("key = OKR-99", "does not exist")]:
        body = api("POST", f"{API}/search/jql", json={"jql": bad}, status=400)
        assert message in body["errorMessages"][0], (bad, body)
    old_style = {"jql": "project = OKR", "startAt": 0}  # the removed /search's paging: refused by both
    with pytest.raises(SpecMismatch):
        SPEC.request("POST", f"{API}/search/jql", old_style)
    refused = api.http.post(f"{API}/search/jql", json=old_style)
    assert refused.status_code == 400 and "Unrecognized" in refused.json()["errorMessages"][0]


def test_updated_is_compared_at_minute_precision_in_the_users_zone():
    clock = [datetime(2026, 11, 25, 13, 40, 30, tzinfo=UTC)]  # 14:40:30 in Berlin
    with JiraEmulator(now=lambda: clock[0]) as jira:
        api = Api(jira.url)
        jira.add_issue("Task", "early")
        clock[0] += timedelta(seconds=45)  # 14:41:15
        jira.add_issue("Task", "late")
        assert jira.issues["10001"]["fields"]["updated"] == "2026-11-25T14:40:30.000+0100"
        assert keys(search(api, 'project = OKR AND updated >= "2026/11/25 14:40"')) == ["OKR-1", "OKR-2"]
        assert keys(search(api, 'project = OKR AND updated >= "2026-11-25 14:41"')) == ["OKR-2"]
        assert keys(search(api, 'project = OKR AND updated < "2026/11/25 14:41" ORDER BY updated')) == ["OKR-1"]
        # minute precision only: the cursor can't be sharper, so an overlap window is needed
        body = api("POST", f"{API}/search/jql", json={"jql": 'project = OKR AND updated >= "2026/11/25 14:40:31"'}, status=400)
        assert "yyyy/MM/dd HH:mm" in body["errorMessages"][0]
        clock[0] += timedelta(minutes=30)
        assert keys(search(api, 'project = OKR AND updated >= "-15m"')) == []
        assert keys(search(api, 'project = OKR AND updated >= "-1h" ORDER BY updated DESC, id ASC')) == ["OKR-2", "OKR-1"]
        jira.edit("OKR-1", {"summary": "edited"})
        assert keys(search(api, 'project = OKR AND updated >= "-1m"')) == ["OKR-1"]


# -- edits and the changelog ----------------------------------------------------------------

def test_edit_writes_one_history_per_change_and_bulkfetch_pages_them(api, jira):
    objective = jira.add_issue("Epic", "O")
    kr = jira.add_issue("Story", "KR", parent=objective, labels=["okr"], **{CURRENT: 10})
    before = jira.issues[kr]["fields"]["updated"]
    time.sleep(0.002)
    metadata = {"type": "okrsync", "activityDescription": "okrsync run 7", "extraData": {"run": "7"}}
    api("PUT", f"{API}/issue/{kr}", status=204, json={
        "fields": {CURRENT: 40, "summary": "KR renamed"}, "historyMetadata": metadata,
        "update": {"labels": [{"add": "q4"}, {"remove": "okr"}], "parent": [{"set": {"none": True}}]},
        "properties": [{"key": "okrsync", "value": {"v": 1}}]})
    fields = jira.issues[kr]["fields"]
    assert fields[CURRENT] == 40 and fields["labels"] == ["q4"] and fields["parent"] is None
    assert fields["updated"] > before and jira.issues[kr]["properties"]["okrsync"] == {"v": 1}
    api("PUT", f"{API}/issue/{kr}", json={"fields": {CURRENT: 40}}, status=204)  # no change: no history
    jira.edit(kr, {"Current value": 55}, author="mia@example.com")  # a person, in the UI
    api("PUT", f"{API}/issue/{kr}", json={"fields": {CURRENT: "a lot"}}, status=400)
    jira.conflict_next_edit = True
    api("PUT", f"{API}/issue/{kr}", json={"fields": {CURRENT: 60}}, status=409)
    assert jira.issues[kr]["fields"][CURRENT] == 55
    api("PUT", f"{API}/issue/OKR-77", json={"fields": {}}, status=404)

    logs = api("POST", f"{API}/changelog/bulkfetch", json={"issueIdsOrKeys": [jira.issues[kr]["key"]]}, status=200)
    mine, theirs = logs["issueChangeLogs"][0]["changeHistories"]
    assert mine["historyMetadata"] == metadata and mine["author"]["accountId"] == jira.me["accountId"]
    items = {i["fieldId"]: i for i in mine["items"]}
    assert items[CURRENT] == {"field": "Current value", "fieldId": CURRENT, "fieldtype": "custom",
                              "fromString": "10", "toString": "40"}
    assert items["labels"]["fromString"] == "okr" and items["labels"]["toString"] == "q4"
    assert items["parent"]["field"] == "IssueParentAssociation" and items["parent"]["fromString"] == "OKR-1"
    assert theirs["author"]["displayName"] == "Mia Krystof" and "historyMetadata" not in theirs

    only = api("POST", f"{API}/changelog/bulkfetch", json={"issueIdsOrKeys": [kr, objective], "fieldIds": ["summary"],
                                                          "maxResults": 1}, status=200)
    assert [i["fieldId"] for i in only["issueChangeLogs"][0]["changeHistories"][0]["items"]] == ["summary"]
    assert "nextPageToken" not in only  # one summary change in all
    paged = api("POST", f"{API}/changelog/bulkfetch", json={"issueIdsOrKeys": [kr], "maxResults": 1}, status=200)
    rest = api("POST", f"{API}/changelog/bulkfetch", status=200,
               json={"issueIdsOrKeys": [kr], "maxResults": 1, "nextPageToken": paged["nextPageToken"]})
    assert rest["issueChangeLogs"][0]["changeHistories"][0]["id"] == theirs["id"] and "nextPageToken" not in rest


def test_transitions_one_by_one_and_in_bulk_with_polling(api, jira):
    ids = [jira.add_issue("Task", f"T{n}") for n in range(3)]
    available = api("GET", f"{API}/issue/{ids[0]}/transitions", status=200)["transitions"]
    assert [(t["id"], t["to"]["name"], t["to"]["statusCategory"]["key"]) for t in available] == [
        ("21", "In Progress", "indeterminate"), ("31", "Done", "done")]
    api("POST", f"{API}/issue/{ids[0]}/transitions", json={"transition": {"id": "31"}}, status=204)
    assert jira.issues[ids[0]]["fields"]["resolution"]["name"] == "Done"
    api("POST", f"{API}/issue/{ids[0]}/transitions", json={"transition": {"id": "31"}}, status=400)  # already there
    item = jira.changelog[ids[0]][-1]["items"][0]
    assert (item["field"], item["from"], item["toString"]) == ("status", "10001", "Done")

    groups = api("GET", f"{API}/bulk/issues/transition", params={"issueIdsOrKeys": ",".join(ids)}, status=200)
    assert {t["transitionName"] for t in groups["availableTransitions"][0]["transitions"]} == {"To Do", "In Progress", "Done"}
    task = api("POST", f"{API}/bulk/issues/transition", status=201, json={
        "bulkTransitionInputs": [{"selectedIssueIdsOrKeys": ids[1:], "transitionId": "21"}], "sendBulkNotification": False})
    running = api("GET", f"{API}/bulk/queue/{task['taskId']}", status=200)
    assert running["status"] == "RUNNING" and jira.issues[ids[1]]["fields"]["status"]["name"] == "To Do"
    done = api("GET", f"{API}/bulk/queue/{task['taskId']}", status=200)
    assert done["status"] == "COMPLETE" and done["progressPercent"] == 100
    assert sorted(done["processedAccessibleIssues"]) == sorted(int(i) for i in ids[1:])
    assert jira.issues[ids[1]]["fields"]["status"]["name"] == "In Progress"
    api("POST", f"{API}/bulk/issues/transition", status=400,
        json={"bulkTransitionInputs": [{"selectedIssueIdsOrKeys": ["OKR-99"], "transitionId": "21"}]})
    api("GET", f"{API}/bulk/queue/nope", status=400)


def test_deletes_single_and_bulk(api, jira):
    story = jira.add_issue("Story", "S")
    jira.add_issue("Sub-task", "sub", parent=story)
    epic = jira.add_issue("Epic", "E")
    child = jira.add_issue("Story", "child", parent=epic)
    api("DELETE", f"{API}/issue/{story}", status=400)
    api("DELETE", f"{API}/issue/{story}", params={"deleteSubtasks": "true"}, status=204)
    assert len(jira.issues) == 2  # the subtask went with it
    task = api("POST", f"{API}/bulk/issues/delete", json={"selectedIssueIdsOrKeys": [epic, "OKR-99"]}, status=201)
    jira.run_tasks()
    assert epic not in jira.issues and jira.issues[child]["fields"]["parent"] is None  # children stay, unparented
    progress = api("GET", f"{API}/bulk/queue/{task['taskId']}", status=200)
    assert progress["status"] == "COMPLETE" and progress["invalidOrInaccessibleIssueCount"] == 1
    api("POST", f"{API}/bulk/issues/delete", json={"selectedIssueIdsOrKeys": ["OKR-99"]}, status=400)
    api("DELETE", f"{API}/issue/{epic}", status=404)


def test_issue_links(api, jira):
    a, b = jira.add_issue("Epic", "A"), jira.add_issue("Epic", "B")
    link = {"type": {"name": "Contributes"}, "inwardIssue": {"key": "OKR-1"}, "outwardIssue": {"key": "OKR-2"}}
    assert api("POST", f"{API}/issueLink", json=link, status=201) is None
    api("POST", f"{API}/issueLink", json=link, status=201)  # a duplicate is "created" too
    assert len(jira.links) == 1
    api("POST", f"{API}/issueLink", json=dict(link, type={"name": "Nope"}), status=404)
    issue_a = api("GET", f"{API}/issue/{a}", params={"fields": "issuelinks"}, status=200)
    link_a, = issue_a["fields"]["issuelinks"]
    assert link_a["outwardIssue"]["key"] == "OKR-2" and link_a["type"]["outward"] == "contributes to"
    found = search(api, "project = OKR ORDER BY key", fields=["issuelinks"])
    assert found["issues"][1]["fields"]["issuelinks"][0]["inwardIssue"]["id"] == a
    api("DELETE", f"{API}/issueLink/{link_a['id']}", status=204)
    api("DELETE", f"{API}/issueLink/{link_a['id']}", status=404)
    assert api("GET", f"{API}/issue/{b}", params={"fields": "issuelinks"}, status=200)["fields"]["issuelinks"] == []


# -- faults ---------------------------------------------------------------------------------

def test_rate_limit_answers_429_with_jira_headers_and_does_no_work(jira):
    client = httpx.Client(base_url=jira.url, auth=("bot@example.com", "t0ken"))
    jira.faults.rate, jira.faults.burst = 5, 2
    statuses = [client.post(f"{API}/issue", json=new(f"T{n}")).status_code for n in range(3)]
    assert statuses == [201, 201, 429] and len(jira.issues) == 2
    limited = client.get(f"{API}/myself")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", limited.headers["X-RateLimit-Reset"])
    time.sleep(0.25)  # one token back at 5/s
    assert client.get(f"{API}/myself").status_code == 200
    assert jira.count(status=429) == 2 and jira.log[-2].fault == "rate"


@pytest.mark.parametrize("kind", ["500", "502", "503", "429"])
def test_injected_status_faults_do_not_execute(jira, kind):
    client = httpx.Client(base_url=jira.url, auth=("bot@example.com", "t0ken"))
    jira.faults.inject(kind, times=2, method="POST", path=f"{API}/issue")
    assert client.get(f"{API}/myself").status_code == 200  # not matching: untouched
    assert [client.post(f"{API}/issue", json=new("x")).status_code for _ in range(3)] == [int(kind), int(kind), 201]
    assert len(jira.issues) == 1 and jira.faults.pending() == 0


def test_timeout_truncate_and_reset(jira):
    client = httpx.Client(base_url=jira.url, auth=("bot@example.com", "t0ken"), timeout=0.3)
    jira.add_issue("Task", "T")
    jira.faults.hang = 1.0
    jira.faults.inject("timeout", method="POST")
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{API}/issue", json=new("lost"))
    jira.faults.inject("truncate", path=f"{API}/search")
    with pytest.raises(httpx.TransportError):  # promised Content-Length never arrives
        client.post(f"{API}/search/jql", json={"jql": "project = OKR", "fields": ["*all"]})
    jira.faults.inject("reset")
    with pytest.raises(httpx.TransportError):
        client.get(f"{API}/myself")
    assert len(jira.issues) == 1
    assert client.get(f"{API}/myself").status_code == 200  # healthy again
    time.sleep(0.8)  # the timed-out request is logged when the server drops it
    assert sorted((h.fault, h.status) for h in jira.log if h.fault) == [("reset", 0), ("timeout", 0), ("truncate", 200)]


@pytest.mark.parametrize("kind", ["truncate", "reset", "503"])
def test_apply_then_fail_does_the_work_but_loses_the_answer(jira, kind):
    client = httpx.Client(base_url=jira.url, auth=("bot@example.com", "t0ken"))
    jira.faults.inject(kind, path=f"{API}/issue/bulk", apply_then_fail=True)
    try:
        response = client.post(f"{API}/issue/bulk", json={"issueUpdates": [new("a"), new("b")]})
        assert response.status_code == 503
    except httpx.TransportError:
        assert kind != "503"
    assert [i["key"] for i in jira.issues.values()] == ["OKR-1", "OKR-2"]  # a blind retry would duplicate


def test_latency_is_added_to_every_response(jira):
    jira.faults.latency = 0.1
    started = time.monotonic()
    assert httpx.get(jira.url + f"{API}/myself", auth=("bot@example.com", "t0ken")).status_code == 200
    assert time.monotonic() - started >= 0.1


# -- the generic base -------------------------------------------------------------------------

class Tiny(Emulator):
    def __init__(self):
        super().__init__()
        self.things = {"1": "one"}

    @route("GET", r"/things/(?P<id>\w+)")
    def get_thing(self, req):
        if req.params["id"] not in self.things:
            raise HttpError(404, "no such thing")
        return 200, {"id": req.params["id"], "name": self.things[req.params["id"]]}

    @route("POST", r"/crash")
    def crash(self, req):
        raise RuntimeError("boom")


def test_base_routes_logs_and_surfaces_handler_crashes():
    with Tiny() as tiny, httpx.Client(base_url=tiny.url) as http:
        assert http.get("/things/1?x=2").json() == {"id": "1", "name": "one"}
        assert http.get("/things/9").json() == {"error": "no such thing"}
        assert http.delete("/things/1").status_code == 405
        assert http.get("/nothing").status_code == 404
        assert http.post("/crash").status_code == 500 and "boom" in tiny.errors[0]
        assert tiny.log[0].query == {"x": ["2"]} and tiny.count("GET", "/things") == 2
        assert tiny.count(status=404) == 2
        tiny.reset_log()
        assert tiny.count() == 0
    with pytest.raises(ValueError):
        tiny.faults.inject("teapot")


def test_mypermissions_answers_in_the_spec_shape_and_honours_denied(jira, api):
    keys = "BROWSE_PROJECTS,CREATE_ISSUES,EDIT_ISSUES,TRANSITION_ISSUES,DELETE_ISSUES"
    jira.denied = {"DELETE_ISSUES"}
    body = api("GET", f"{API}/mypermissions", params={"permissions": keys, "projectKey": "OKR"}, status=200)
    assert {k: v["havePermission"] for k, v in body["permissions"].items()} == {
        "BROWSE_PROJECTS": True, "CREATE_ISSUES": True, "EDIT_ISSUES": True, "TRANSITION_ISSUES": True,
        "DELETE_ISSUES": False}
    api("GET", f"{API}/mypermissions", params={"permissions": keys, "projectKey": "NOPE"}, status=404)
    api("GET", f"{API}/mypermissions", status=400)


# -- the service's documented unkindness ----------------------------------------------------

def test_search_lags_new_issues_while_direct_reads_see_them_at_once(api, jira):
    clock = [datetime(2026, 11, 25, 9, 0, tzinfo=UTC)]
    jira._clock, jira.search_lag = (lambda: clock[0]), 5.0
    made = api("POST", f"{API}/issue", json=new("Fresh"), status=201)
    assert keys(search(api, "project = OKR")) == []  # not indexed yet
    assert api("GET", f"{API}/issue/{made['key']}", status=200)["key"] == made["key"]
    clock[0] += timedelta(seconds=4.9)
    assert keys(search(api, "project = OKR")) == []
    clock[0] += timedelta(seconds=0.2)
    assert keys(search(api, "project = OKR")) == [made["key"]]


def test_max_results_out_of_range_is_refused_and_field_rich_pages_are_short(api, jira):
    for n in range(3):
        jira.add_issue("Story", f"S{n}")
    jira.page_size = 2
    page = api("POST", f"{API}/search/jql", json={"jql": "project = OKR", "fields": ["summary"], "maxResults": 100}, status=200)
    assert len(page["issues"]) == 2 and not page["isLast"]  # fewer than asked: page by token, not by count
    for bad in (5001, -1):
        refused = api("POST", f"{API}/search/jql", json={"jql": "project = OKR", "maxResults": bad}, status=400)
        assert refused["errorMessages"] == [f"maxResults must be between 0 and 5000 (was {bad})."]


def test_per_endpoint_burst_limits_and_an_early_retry_is_refused_longer(api, jira):
    jira.endpoint_rates = {("POST", API + "/search/jql"): 2.0}
    answers = [api.http.post(f"{API}/search/jql", json={"jql": "project = OKR"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "1" and answers[2].headers["RateLimit-Reason"] == "jira-burst-based"
    assert api.http.get(f"{API}/myself").status_code == 200  # other endpoints have their own budget
    early = api.http.post(f"{API}/search/jql", json={"jql": "project = OKR"})  # before Retry-After passed
    assert early.status_code == 429 and int(early.headers["Retry-After"]) >= 2 and jira.early_retries == 1


def test_server_info_and_an_over_50_bulk_create_a_client_can_map_back(api, jira):
    info = api("GET", f"{API}/serverInfo", status=200)
    assert info["deploymentType"] == "Cloud" and info["baseUrl"] == jira.url
    refused = api("POST", f"{API}/issue/bulk", json={"issueUpdates": [new(f"S{n}") for n in range(51)]}, status=400)
    assert [e["failedElementNumber"] for e in refused["errors"]] == list(range(51)) and not jira.issues
    assert "exceeds the limit of 50" in refused["errors"][0]["elementErrors"]["errorMessages"][0]
