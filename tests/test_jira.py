"""The Jira connector against respx routes; every request it sends and every canned answer
is checked against Atlassian's OpenAPI document (tests/helpers/spec_check.py), so a request Jira
does not have, a query parameter it does not take, or an undeclared body key fails here."""

import datetime as dt
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from okrsync import adf
from okrsync.connector import Cursor, Record, Rejected, WriteBatch
from okrsync.connectors.jira import JiraConnector
from okrsync.errors import ConfigError, FatalError, MappingError

from .helpers.spec_check import SpecMock

BASE = "https://acme.atlassian.net"
TOKEN = "atl-SECRET-token"
SPEC = "jira-cloud-platform-v3.openapi.json"
FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string", "system": "summary"}},
    {"id": "customfield_10050", "name": "Start value", "custom": True,
     "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10050}},
    {"id": "customfield_10051", "name": "Target value", "custom": True,
     "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10051}},
    {"id": "customfield_10052", "name": "Current value", "custom": True,
     "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10052}},
    {"id": "customfield_10053", "name": "Unit", "custom": True,
     "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield", "customId": 10053}},
]
CATEGORY = {"new": ("10000", "To Do"), "indeterminate": ("3", "In Progress"), "done": ("10001", "Done")}


def status(category):
    sid, name = CATEGORY[category]
    return {"id": sid, "name": name, "statusCategory": {"id": 2, "key": category, "name": name}}


def issue(id, type, summary, *, updated="2026-11-25T10:00:00.000+0000", category="new", prop=None, **fields):
    f = {"summary": summary, "issuetype": {"id": {"Objective": "10100", "Key Result": "10101", "Task": "10102"}[type],
                                         "name": type},
         "status": status(category), "updated": updated, "labels": fields.pop("labels", []), **fields}
    out = {"id": id, "key": f"OKR-{id}", "self": f"{BASE}/rest/api/3/issue/{id}", "fields": f}
    if prop is not None:
        out["properties"] = {"okrsync": prop}
    return out


def page(issues, token=None):
    return {"issues": issues, "isLast": token is None, **({"nextPageToken": token} if token else {})}


def connector(tmp_path, **options):
    opts = {"url": BASE, "project": "OKR", "auth": {"email": "bot@acme.com", "token": TOKEN}, "rate": 1000,
            "concurrency": 1, **options}
    from okrsync.connector import Context
    conn = JiraConnector("jira", opts, Context(base_dir=tmp_path))
    conn.api.sleep = conn.api.pacer.sleep = SLEEPS.append
    return conn


SLEEPS: list = []


@pytest.fixture
def jira():
    SLEEPS.clear()
    with SpecMock(SPEC, BASE) as mock:
        mock.on("GET", "/rest/api/3/field", [(200, FIELDS)])
        yield mock


def test_a_full_read_maps_issues_to_records_parents_first(jira, tmp_path):
    kr = issue("11", "Key Result", "Raise NPS", customfield_10050=20, customfield_10051=40.0, customfield_10052=30,
               customfield_10053="%", parent={"id": "10", "key": "OKR-10"}, category="indeterminate",
               prop={"id": "kr_1", "status": "at_risk"},
               assignee={"accountId": "acc-1", "emailAddress": "ana@acme.com", "displayName": "Ana"})
    obj = issue("10", "Objective", "Delight customers", labels=["okr-2026-Q1", "team-x"],
                description=adf.to_adf("Why:\nbecause.\n\nHow: listen."), duedate="2026-03-31")
    init = issue("12", "Task", "Survey", issuelinks=[{"id": "900", "type": {"name": "Relates", "inward": "relates to",
                 "outward": "relates to"}, "outwardIssue": {"id": "11", "key": "OKR-11",
                 "fields": {"issuetype": {"name": "Key Result"}}}}])
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([kr, init], "tok-2")), (200, page([obj]))])
    jira.on("POST", "/rest/api/3/changelog/bulkfetch", [(200, {"issueChangeLogs": [{"issueId": "11", "changeHistories": [
        {"id": "5001", "created": "2026-11-20T09:00:00.000+0100", "author": {"accountId": "acc-1", "displayName": "Ana"},
         "items": [{"field": "Current value", "fieldId": "customfield_10052", "fromString": "20", "toString": "30"}]},
        {"id": "5002", "created": "2026-11-21T09:00:00.000+0000", "historyMetadata": {"type": "okrsync"},
         "items": [{"field": "Current value", "fieldId": "customfield_10052", "from": "30", "to": "31"}]}]}]})])
    items = list(connector(tmp_path).read(None))
    records = [i for i in items if isinstance(i, Record)]
    assert [r.kind for r in records] == ["objective", "key_result", "initiative", "check_in"]
    o, k, i, c = records
    assert o.fields["period"] == "2026-Q1" and o.fields["description"] == "Why:\nbecause.\n\nHow: listen."
    assert o.fields["due"] == "2026-03-31"
    assert k.fields["objective_id"] == "10" and k.fields["start"] == 20.0
    assert (k.fields["unit"], k.fields["status"], k.fields["owner"]) == ("percent", "at_risk", "ana@acme.com")
    assert k.canonical_id == "kr_1" and k.updated == "2026-11-25T10:00:00.000Z"
    assert i.fields["key_result_id"] == "11"
    assert c.external_id == "11:5001" and c.fields == {"key_result_id": "11", "at": "2026-11-20T08:00:00.000Z",
                                                        "value": 30.0, "author": "ana@acme.com"}
    cursor = items[-1]
    assert isinstance(cursor, Cursor) and cursor.full_listing
    search = jira.calls("POST", "/rest/api/3/search/jql")
    assert search[0][3]["jql"].startswith('project = "OKR" AND issuetype in (') and "updated >=" not in search[0][3]["jql"]
    assert "customfield_10052" in search[0][3]["fields"] and search[1][3]["nextPageToken"] == "tok-2"


def test_a_status_changed_by_hand_in_jira_reads_as_its_category(jira, tmp_path):
    kr = issue("11", "Key Result", "KR", category="done", prop={"id": "kr_1", "status": "at_risk"},
               parent={"id": "10"})
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([kr]))])
    jira.on("POST", "/rest/api/3/changelog/bulkfetch", [(200, {"issueChangeLogs": []})])
    record = next(i for i in connector(tmp_path).read(None) if isinstance(i, Record))
    assert record.fields["status"] == "done"


def test_an_incremental_read_is_one_search_and_skips_what_it_saw(jira, tmp_path):
    conn = connector(tmp_path, history=False)
    just_now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([issue("10", "Objective", "O", updated=just_now)]))])
    first = list(conn.read(None))[-1]
    jira.sent.clear()
    again = connector(tmp_path, history=False)
    items = list(again.read(first.value))
    assert [s[1] for s in jira.sent] == ["/rest/api/3/search/jql"]  # fields came from the cursor
    assert 'updated >= "-' in jira.sent[0][3]["jql"]
    assert not [i for i in items if isinstance(i, Record)]  # same id, same update time: already read
    assert isinstance(items[-1], Cursor) and not items[-1].full_listing and items[-1].present is None


def test_a_periodic_id_listing_reports_what_is_still_there(jira, tmp_path):
    jira.on("POST", "/rest/api/3/search/jql", lambda q, body: (200, page(
        [{"id": "10"}, {"id": "12"}] if body["fields"] == ["id"] else [])))
    cursor = json.dumps({"since": 1.0, "listed": 1.0, "fields": {}, "recent": {}})
    items = list(connector(tmp_path, history=False).read(cursor))
    listing = jira.calls("POST", "/rest/api/3/search/jql")[-1][3]
    assert listing["fields"] == ["id"] and listing["maxResults"] == 5000 and "updated >=" not in listing["jql"]
    assert items[-1].present["key_result"] == frozenset({"10", "12"})


def test_a_number_field_holding_text_rejects_that_issue_only(jira, tmp_path):
    bad = issue("11", "Key Result", "KR", customfield_10051="lots", parent={"id": "10"})
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([issue("10", "Objective", "O"), bad]))])
    jira.on("POST", "/rest/api/3/changelog/bulkfetch", [(200, {"issueChangeLogs": []})])
    items = list(connector(tmp_path).read(None))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 1 and "OKR-11" in rejected[0].where and "Target value" in rejected[0].reason
    assert len([i for i in items if isinstance(i, Record)]) == 1


def test_a_mapping_naming_a_field_jira_lacks_says_which_and_where(jira, tmp_path):
    conn = connector(tmp_path, mapping={"numbers": {"current": "Actual"}})
    with pytest.raises(MappingError, match=r"mapping.numbers.current: Jira has no field named 'Actual'"):
        list(conn.read(None))


def kr_record(cid, title, objective, **fields):
    return Record("key_result", cid, {"title": title, "objective_id": objective, "start": 0.0, "target": 10.0,
                                      "current": 2.0, "unit": "number", "currency": None, "status": "not_started",
                                      **fields}, canonical_id=cid)


def test_creates_are_bulk_partial_failures_map_to_their_records(jira, tmp_path):
    jira.on("GET", "/rest/api/3/user/search", [(200, [{"accountId": "acc-1", "emailAddress": "ana@acme.com",
                                                       "displayName": "Ana", "accountType": "atlassian"}])])
    answers = [
        (201, {"issues": [{"id": "10", "key": "OKR-10", "self": f"{BASE}/rest/api/3/issue/10"}],
               "errors": [{"failedElementNumber": 1, "status": 400,
                           "elementErrors": {"errorMessages": [], "errors": {"summary": "You must specify a summary"}}}]}),
        (201, {"issues": [{"id": "11", "key": "OKR-11", "self": f"{BASE}/rest/api/3/issue/11"}], "errors": []}),
    ]
    jira.on("POST", "/rest/api/3/issue/bulk", answers)
    batch = WriteBatch(creates=[
        Record("objective", "obj_a", {"title": "A", "period": "2026-Q1", "owner": "ana@acme.com"}, canonical_id="obj_a"),
        Record("objective", "obj_b", {"title": "", "period": "2026-Q1"}, canonical_id="obj_b"),
        kr_record("kr_a", "KR of A", "obj_a"),
        kr_record("kr_b", "KR of B", "obj_b"),
    ])
    result = connector(tmp_path).write(batch)
    assert result.external_ids == {"obj_a": "10", "kr_a": "11"}
    assert {r.where: r.reason for r in result.rejected} == {
        "obj_b": "Jira refused it: summary: You must specify a summary",
        "kr_b": "its parent could not be created in Jira"}
    creates = [s[3]["issueUpdates"] for s in jira.calls("POST", "/rest/api/3/issue/bulk")]
    assert [len(c) for c in creates] == [2, 1]  # the orphan KR was never sent
    obj = creates[0][0]
    assert obj["fields"]["labels"] == ["okr-2026-Q1"] and obj["fields"]["assignee"] == {"accountId": "acc-1"}
    assert obj["properties"] == [{"key": "okrsync", "value": {"id": "obj_a", "status": None}}]
    assert creates[1][0]["fields"]["parent"] == {"id": "10"} and creates[1][0]["fields"]["customfield_10051"] == 10.0


def test_more_than_fifty_creates_go_fifty_a_request(jira, tmp_path):
    counter = iter(range(1000, 2000))
    jira.on("POST", "/rest/api/3/issue/bulk", lambda q, body: (201, {"issues": [
        {"id": str(n), "key": f"OKR-{n}", "self": f"{BASE}/x"} for n, _ in zip(counter, body["issueUpdates"])], "errors": []}))
    batch = WriteBatch(creates=[Record("objective", f"o{i}", {"title": f"O{i}"}, canonical_id=f"o{i}") for i in range(120)])
    result = connector(tmp_path, concurrency=3).write(batch)
    assert len(result.external_ids) == 120
    assert sorted(len(s[3]["issueUpdates"]) for s in jira.calls("POST", "/rest/api/3/issue/bulk")) == [20, 50, 50]


def test_a_lost_create_answer_is_polled_for_with_backoff_and_the_unseen_rest_is_not_resent(jira, tmp_path):
    jira.on("POST", "/rest/api/3/issue/bulk", [(200, httpx.ReadTimeout("timed out"))])
    landed = issue("20", "Objective", "A", prop={"id": "obj_a", "status": None})
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([landed]))])  # B never shows: it may still be indexing
    batch = WriteBatch(creates=[Record("objective", "obj_a", {"title": "A"}, canonical_id="obj_a"),
                                Record("objective", "obj_b", {"title": "B"}, canonical_id="obj_b")])
    conn = connector(tmp_path, search_lag=7, poll_interval=1)
    result = conn.write(batch)
    assert result.external_ids == {"obj_a": "20"}
    assert len(jira.calls("POST", "/rest/api/3/issue/bulk")) == 1  # never sent twice
    [unsettled] = result.rejected
    assert unsettled.where == "obj_b" and "answer was lost" in unsettled.reason and "not sent again" in unsettled.reason
    searches = jira.calls("POST", "/rest/api/3/search/jql")
    assert 'created >= "-' in searches[0][3]["jql"]
    # at once, then after 1, 2 and 4 s: 7 s in all
    assert len(searches) == 4 and [s for s in SLEEPS if s > 0.5] == pytest.approx([1, 2, 4], abs=0.1)
    assert json.loads(result.cursor)["pending"] == {"obj_b": pytest.approx(json.loads(result.cursor)["pending"]["obj_b"])}


def test_the_next_run_settles_an_unsettled_create_found_or_not(jira, tmp_path):
    sent = dt.datetime.now().timestamp() - 60
    cursor = json.dumps({"since": None, "pending": {"obj_b": sent, "obj_c": sent}})
    landed = issue("21", "Objective", "B", prop={"id": "obj_b", "status": None})
    # the read (a full listing here) does not show B yet; the settling look does
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([])), (200, page([landed]))])
    jira.on("POST", "/rest/api/3/issue/bulk", [(201, {"issues": [{"id": "22", "key": "OKR-22", "self": f"{BASE}/x"}],
                                                      "errors": []})])
    conn = connector(tmp_path, search_lag=5)
    assert [type(i).__name__ for i in conn.read(cursor)] == ["Cursor"]
    result = conn.write(WriteBatch(creates=[Record("objective", "obj_b", {"title": "B"}, canonical_id="obj_b"),
                                            Record("objective", "obj_c", {"title": "C"}, canonical_id="obj_c")]))
    assert result.external_ids == {"obj_b": "21", "obj_c": "22"} and not result.rejected
    [sent] = jira.calls("POST", "/rest/api/3/issue/bulk")
    assert [u["fields"]["summary"] for u in sent[3]["issueUpdates"]] == ["C"]  # B had landed: linked, not re-created
    assert json.loads(result.cursor)["pending"] == {}


def test_429_waits_as_long_as_jira_asks_and_is_counted(jira, tmp_path):
    jira.on("POST", "/rest/api/3/search/jql", [(429, {"errorMessages": ["Rate limit exceeded"]}, {"Retry-After": "3"}),
                                               (200, page([]))])
    conn = connector(tmp_path, history=False)
    list(conn.read(None))
    assert 3.0 in SLEEPS
    assert conn.take_counts() == (3, 1)  # field list, search twice; one retry


def test_refused_credentials_stop_with_advice_and_no_secret(jira, tmp_path):
    jira.on("POST", "/rest/api/3/search/jql", [(401, {"errorMessages": ["Unauthorized"]})])
    with pytest.raises(FatalError) as e:
        list(connector(tmp_path).read(None))
    assert "credentials" in str(e.value) and TOKEN not in str(e.value)


def test_status_changes_are_bulk_transitions_polled_to_the_end(jira, tmp_path):
    jira.on("POST", "/rest/api/3/issue/bulkfetch", [(200, {"issues": [
        issue("10", "Objective", "O"), issue("11", "Objective", "P")], "issueErrors": []})])
    jira.on("PUT", r"/rest/api/3/issue/\d+", [(204, None)])
    jira.on("GET", r"/rest/api/3/issue/10/transitions", [(200, {"transitions": [
        {"id": "21", "name": "Start", "to": status("indeterminate")}, {"id": "31", "name": "Finish", "to": status("done")}]})])
    jira.on("POST", "/rest/api/3/bulk/issues/transition", [(201, {"taskId": "t-1"})])
    jira.on("GET", "/rest/api/3/bulk/queue/t-1", [(200, {"status": "RUNNING", "progressPercent": 50}),
                                                  (200, {"status": "COMPLETE", "progressPercent": 100,
                                                         "processedAccessibleIssues": [10, 11]})])
    batch = WriteBatch(updates=[Record("objective", "10", {"title": "O", "status": "on_track"}, canonical_id="o1"),
                                Record("objective", "11", {"title": "P", "status": "done"}, canonical_id="o2")])
    result = connector(tmp_path, poll_interval=0).write(batch)
    assert not result.rejected
    edits = jira.calls("PUT")
    assert edits[0][2] == {"notifyUsers": "false"} and edits[0][3]["historyMetadata"]["type"] == "okrsync"
    assert len(jira.calls("GET", "/rest/api/3/issue/")) == 1  # one lookup per workflow step, not per issue
    inputs = jira.calls("POST", "/rest/api/3/bulk/issues/transition")[0][3]["bulkTransitionInputs"]
    assert sorted((i["transitionId"], i["selectedIssueIdsOrKeys"][0]) for i in inputs) == [("21", "10"), ("31", "11")]


def test_an_edit_jira_refuses_with_409_is_rejected_for_the_next_run(jira, tmp_path):
    jira.on("POST", "/rest/api/3/issue/bulkfetch", [(200, {"issues": [issue("10", "Objective", "O")], "issueErrors": []})])
    jira.on("PUT", r"/rest/api/3/issue/10", [(409, {"errorMessages": ["conflict"], "errors": {}})])
    result = connector(tmp_path).write(WriteBatch(updates=[Record("objective", "10", {"title": "O2"}, canonical_id="o")]))
    assert result.rejected[0].where == "10" and result.rejected[0].replan and "read again" in result.rejected[0].reason


def test_deletes_are_one_bulk_task(jira, tmp_path):
    jira.on("POST", "/rest/api/3/bulk/issues/delete", [(201, {"taskId": "t-9"})])
    jira.on("GET", "/rest/api/3/bulk/queue/t-9", [(200, {"status": "COMPLETE", "progressPercent": 100,
                                                         "failedAccessibleIssues": {"12": ["has sub-tasks"]}})])
    batch = WriteBatch(deletes=[Record("key_result", i, {}, canonical_id=f"k{i}") for i in ("11", "12")])
    result = connector(tmp_path, poll_interval=0).write(batch)
    assert [(r.where, r.reason) for r in result.rejected] == [("12", "has sub-tasks")]
    assert jira.calls("POST", "/rest/api/3/bulk/issues/delete")[0][3]["selectedIssueIdsOrKeys"] == ["11", "12"]


def test_an_owner_without_a_jira_account_rejects_the_record(jira, tmp_path):
    jira.on("GET", "/rest/api/3/user/search", [(200, [])])
    result = connector(tmp_path).write(WriteBatch(creates=[
        Record("objective", "o", {"title": "O", "owner": "ghost@acme.com"}, canonical_id="o")]))
    assert result.rejected[0].where == "o" and "users:" in result.rejected[0].reason
    assert not jira.calls("POST", "/rest/api/3/issue/bulk")


@pytest.mark.parametrize("options, message", [
    ({"url": "http://acme.atlassian.net"}, "plain http://"),
    ({"auth": {"email": "a@b.c"}}, "auth needs email and token"),
    ({"projekt": "X"}, "did you mean 'project'"),
    ({"mapping": {"period": {"as": "sprint"}}}, "is not label, select or fix_version"),
    ({"mapping": {"numbers": {"curent": "X"}}}, "did you mean 'current'"),
    ({"mapping": {"key_result": {"issue_type": 7}}}, r"key_result.issue_type: 7 is not an issue type name, a list"),
    ({"mapping": {"key_result": {"issue_type": []}}}, r"is not an issue type name"),
    ({"mapping": {"key_result": {"via": "child"}}}, "is not parent, link or epic_link"),
    ({"mapping": {"key_result": {"via": "link"}}}, r"key_result.link_type: 'via: link' needs"),
    ({"mapping": {"objective": {"jql": ""}}}, "give a JQL filter as text"),
])
def test_bad_options_say_what_to_fix(tmp_path, options, message):
    with pytest.raises((ConfigError, MappingError), match=message):
        connector(tmp_path, **options)


def test_oauth_bearer_tokens_are_sent_and_never_shown(jira, tmp_path):
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([]))])
    conn = connector(tmp_path, auth={"bearer": "oauth-SECRET"}, history=False)
    list(conn.read(None))
    assert "oauth-SECRET" not in repr(conn.api.client.auth)
    assert jira.router.calls.last.request.headers["Authorization"] == "Bearer oauth-SECRET"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_plain_text_survives_adf_both_ways(text):
    assert adf.to_text(adf.to_adf(text)) == text


def test_rich_adf_written_in_jira_reads_as_text():
    doc = {"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Plan"}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [
                {"type": "mention", "attrs": {"id": "acc-1", "text": "@Ana"}}, {"type": "text", "text": " two"}]}]}]},
        {"type": "paragraph", "content": [{"type": "inlineCard", "attrs": {"url": "https://x.example"}}]}]}
    assert adf.to_text(doc) == "Plan\n\n- one\n- @Ana two\n\nhttps://x.example"


def test_many_unknown_owners_are_found_with_one_user_listing(jira, tmp_path):
    people = [{"accountId": f"acc-{n}", "emailAddress": f"p{n}@acme.com", "displayName": f"P {n}", "accountType": "atlassian"}
              for n in range(12)]
    jira.on("GET", "/rest/api/3/users/search", [(200, people)])
    jira.on("POST", "/rest/api/3/issue/bulk", lambda q, body: (201, {"issues": [
        {"id": str(100 + n), "key": f"OKR-{100 + n}", "self": f"{BASE}/x"} for n in range(len(body["issueUpdates"]))],
        "errors": []}))
    batch = WriteBatch(creates=[Record("objective", f"o{n}", {"title": f"O{n}", "owner": f"p{n}@acme.com"},
                                       canonical_id=f"o{n}") for n in range(12)])
    result = connector(tmp_path).write(batch)
    assert not result.rejected and len(result.external_ids) == 12
    assert len(jira.calls("GET", "/rest/api/3/users/search")) == 1 and not jira.calls("GET", "/rest/api/3/user/search")
    sent = jira.calls("POST", "/rest/api/3/issue/bulk")[0][3]["issueUpdates"]
    assert sent[11]["fields"]["assignee"] == {"accountId": "acc-11"}


@pytest.mark.parametrize("period, fields, written", [
    ({"as": "select", "field": "OKR period"}, {"customfield_10060": {"value": "2026-Q2", "id": "10200"}},
     {"customfield_10060": {"value": "2026-Q2"}}),
    ({"as": "fix_version"}, {"fixVersions": [{"name": "2026-Q2", "id": "10001"}]}, {"fixVersions": [{"name": "2026-Q2"}]}),
])
def test_a_period_kept_in_a_select_field_or_a_fix_version(jira, tmp_path, period, fields, written):
    select = {"id": "customfield_10060", "name": "OKR period", "custom": True,
              "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
                         "customId": 10060}}
    jira.on("GET", "/rest/api/3/field", [(200, FIELDS + [select])])
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([issue("10", "Objective", "O", **fields)]))])
    jira.on("POST", "/rest/api/3/issue/bulk", [(201, {"issues": [{"id": "11", "key": "OKR-11", "self": f"{BASE}/x"}],
                                                     "errors": []})])
    conn = connector(tmp_path, mapping={"period": period}, history=False)
    [record] = [i for i in conn.read(None) if isinstance(i, Record)]
    assert record.fields["period"] == "2026-Q2"
    conn.write(WriteBatch(creates=[Record("objective", "o", {"title": "P", "period": "2026-Q2"}, canonical_id="o")]))
    sent = jira.calls("POST", "/rest/api/3/issue/bulk")[0][3]["issueUpdates"][0]["fields"]
    assert {k: sent[k] for k in written} == written and "labels" not in sent
    assert "fixVersions" in jira.calls("POST", "/rest/api/3/search/jql")[0][3]["fields"] or period["as"] != "fix_version"


def test_objectives_as_epics_with_a_label_leave_other_epics_alone(jira, tmp_path):
    okr = issue("10", "Objective", "OKR epic", labels=["okr", "okr-2026-Q1"])
    okr["fields"]["issuetype"] = {"id": "10000", "name": "Epic"}
    other = issue("12", "Objective", "Just an epic", labels=["infra"])
    other["fields"]["issuetype"] = {"id": "10000", "name": "Epic"}
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([okr, other]))])
    jira.on("POST", "/rest/api/3/issue/bulk", [(201, {"issues": [{"id": "13", "key": "OKR-13", "self": f"{BASE}/x"}],
                                                     "errors": []})])
    conn = connector(tmp_path, mapping={"objective": {"issue_type": "Epic", "label": "okr"}}, history=False)
    records = [i for i in conn.read(None) if isinstance(i, Record)]
    assert [r.external_id for r in records] == ["10"] and records[0].fields["period"] == "2026-Q1"
    conn.write(WriteBatch(creates=[Record("objective", "o", {"title": "P", "period": "2026-Q3"}, canonical_id="o")]))
    sent = jira.calls("POST", "/rest/api/3/issue/bulk")[0][3]["issueUpdates"][0]["fields"]
    assert sent["issuetype"] == {"name": "Epic"} and sent["labels"] == ["okr", "okr-2026-Q3"]


def read_all(conn, cursor=None):
    return list(conn.read(cursor))


def test_empty_summaries_and_unknown_status_categories_are_located_notes(jira, tmp_path):
    odd = issue("10", "Objective", "")
    odd["fields"]["status"] = {"id": "7", "name": "Parked"}  # a status without its category
    weird = issue("12", "Objective", "W")
    weird["fields"]["status"]["statusCategory"]["key"] = "undefined"
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([odd, issue("11", "Objective", "Fine"), weird]))])
    items = read_all(connector(tmp_path, history=False))
    records = [i for i in items if isinstance(i, Record)]
    notes = [i.message for i in items if type(i).__name__ == "Note"]
    assert [(r.external_id, r.fields["title"], r.fields["status"]) for r in records] == [
        ("10", "", None), ("11", "Fine", "not_started"), ("12", "W", None)]
    assert notes == [
        "jira OKR-10: the issue has an empty summary; read with an empty title (give it one in Jira)",
        "jira OKR-10: status 'Parked' has no status category (Jira's are new, indeterminate, done); "
        "okrsync keeps the status it wrote last, or none",
        "jira OKR-12: status 'To Do' has category 'undefined' (Jira's are new, indeterminate, done); "
        "okrsync keeps the status it wrote last, or none"]


def test_issues_repeated_across_pages_are_read_once_with_a_note(jira, tmp_path):
    a, b, c = (issue(str(n), "Objective", f"O{n}") for n in (10, 11, 12))
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([a, b], "t2")), (200, page([b, c]))])
    items = read_all(connector(tmp_path, history=False))
    assert [i.external_id for i in items if isinstance(i, Record)] == ["10", "11", "12"]
    assert not [i for i in items if isinstance(i, Rejected)]
    assert [i.message for i in items if type(i).__name__ == "Note"] == [
        "1 issue(s) were listed more than once by Jira's search (pages shift while issues change, or two kinds' "
        "filters overlap); each was read once"]


def test_kinds_by_type_lists_by_jql_or_absent_each_searched_as_mapped(jira, tmp_path):
    epic = issue("10", "Objective", "Grow", labels=["okr"])
    story = issue("11", "Key Result", "Ship", parent={"id": "10", "key": "OKR-10"})
    task = issue("12", "Task", "Fix", parent={"id": "10", "key": "OKR-10"})
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([story, task])), (200, page([epic]))])
    conn = connector(tmp_path, history=False, jql="component = Growth", mapping={
        "objective": {"issue_type": None, "jql": "labels = okr"},
        "key_result": {"issue_type": ["Key Result", "Task"]},
        "initiative": {"issue_type": None},
        "numbers": {"start": None, "target": None, "current": None}, "unit": None})
    items = read_all(conn)
    assert [(i.kind, i.external_id, i.fields.get("objective_id")) for i in items if isinstance(i, Record)] == [
        ("objective", "10", None), ("key_result", "11", "10"), ("key_result", "12", "10")]
    assert [c[3]["jql"] for c in jira.calls("POST", "/rest/api/3/search/jql")] == [
        'project = "OKR" AND issuetype in ("Key Result", "Task") AND (component = Growth) ORDER BY updated ASC, id ASC',
        'project = "OKR" AND (labels = okr) AND (component = Growth) ORDER BY updated ASC, id ASC']
    assert conn.fields("initiative") == set() and "start" not in conn.fields("key_result")
    assert not jira.calls("GET", "/rest/api/3/field")  # no custom field is mapped: nothing to look up


EPIC_LINK = {"id": "customfield_10014", "name": "Epic Link", "custom": True,
             "schema": {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-epic-link", "customId": 10014}}


def test_epic_children_through_the_legacy_epic_link_field_found_by_name(jira, tmp_path):
    jira.on("GET", "/rest/api/3/field", [(200, FIELDS + [EPIC_LINK])])
    epic = issue("10", "Objective", "Grow")
    near = issue("11", "Key Result", "Ship", customfield_10014="OKR-10")
    far = issue("12", "Key Result", "Sell", customfield_10014="OKR-99")  # its epic not in this read
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([near, far, epic]))])
    jira.on("POST", "/rest/api/3/issue/bulkfetch", [(200, {"issues": [
        {"id": "99", "key": "OKR-99", "self": f"{BASE}/rest/api/3/issue/99", "fields": {}}], "issueErrors": []})])
    conn = connector(tmp_path, history=False, mapping={"key_result": {"via": "epic_link"}})
    items = read_all(conn)
    assert [(i.external_id, i.fields.get("objective_id")) for i in items if isinstance(i, Record)] == [
        ("10", None), ("11", "10"), ("12", "99")]
    [fetch] = jira.calls("POST", "/rest/api/3/issue/bulkfetch")
    assert fetch[3]["issueIdsOrKeys"] == ["OKR-99"] and "customfield_10014" in jira.calls("POST", "/rest/api/3/search/jql")[0][3]["fields"]


def test_key_results_as_linked_issues_read_and_written_through_the_link(jira, tmp_path):
    linked = issue("11", "Key Result", "Ship", issuelinks=[{
        "id": "1", "type": {"id": "10004", "name": "Contributes", "inward": "is contributed to by", "outward": "contributes to"},
        "outwardIssue": {"id": "10", "key": "OKR-10", "fields": {"issuetype": {"id": "10100", "name": "Objective"}}}}])
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([issue("10", "Objective", "Grow"), linked]))])
    mapping = {"key_result": {"via": "link", "link_type": "Contributes"}}
    items = read_all(connector(tmp_path, history=False, mapping=mapping))
    assert [(i.external_id, i.fields.get("objective_id")) for i in items if isinstance(i, Record)] == [("10", None), ("11", "10")]
    jira.on("POST", "/rest/api/3/issue/bulk", [(201, {"issues": [{"id": "21", "key": "OKR-21", "self": f"{BASE}/x"}],
                                                      "errors": []})])
    jira.on("POST", "/rest/api/3/issueLink", [(201, None)])
    result = connector(tmp_path, mapping=mapping).write(WriteBatch(creates=[kr_record("kr_a", "KR", "10")]))
    assert result.external_ids == {"kr_a": "21"} and not result.rejected
    [sent] = jira.calls("POST", "/rest/api/3/issue/bulk")
    assert "parent" not in sent[3]["issueUpdates"][0]["fields"]
    [link] = jira.calls("POST", "/rest/api/3/issueLink")
    assert link[3] == {"type": {"name": "Contributes"}, "inwardIssue": {"id": "21"}, "outwardIssue": {"id": "10"}}


def test_a_kind_known_only_by_jql_is_not_created_without_an_issue_type(jira, tmp_path):
    conn = connector(tmp_path, mapping={"objective": {"issue_type": None, "jql": "labels = okr"}})
    result = conn.write(WriteBatch(creates=[Record("objective", "o", {"title": "O"}, canonical_id="o")]))
    assert [(r.where, r.reason) for r in result.rejected] == [
        ("o", "the mapping names no issue type to create a objective as (mapping.objective.issue_type)")]
    assert not jira.calls("POST", "/rest/api/3/issue/bulk")


def test_a_bulk_task_that_never_ends_fails_the_run_at_its_deadline(jira, tmp_path):
    jira.on("POST", "/rest/api/3/bulk/issues/delete", [(201, {"taskId": "10641"})])
    jira.on("GET", r"/rest/api/3/bulk/queue/10641", [(200, {"taskId": "10641", "status": "RUNNING", "progressPercent": 50,
                                                           "submittedBy": {}, "created": "2026-11-25T10:00:00.000+0000",
                                                           "updated": "2026-11-25T10:00:00.000+0000"})])
    conn = connector(tmp_path, poll_interval=0.01, task_deadline=0.05)
    with pytest.raises(FatalError, match=r"bulk task\(s\) 10641 still not finished after 0.05 s \(task_deadline\)"):
        conn.write(WriteBatch(deletes=[Record("objective", "10", {}, canonical_id="o")]))
    assert 1 <= len(jira.calls("GET", "/rest/api/3/bulk/queue")) <= 5  # 0.05 s of 0.01 s polls, fewer when the machine is slow


def test_a_lost_create_is_found_by_key_after_the_top_one_without_waiting_for_search(jira, tmp_path):
    jira.on("POST", "/rest/api/3/issue/bulk", [(200, httpx.ReadTimeout("timed out"))])
    jira.on("POST", "/rest/api/3/issue/bulkfetch", [(200, {"issues": [
        {"id": "52", "key": "OKR-42", "self": f"{BASE}/rest/api/3/issue/52", "fields": {},
         "properties": {"okrsync": {"id": "obj_a", "status": None}}}], "issueErrors": []})])
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([issue("41", "Objective", "Old")]))])
    conn = connector(tmp_path, history=False, search_lag=60)
    list(conn.read(None))  # the read saw OKR-41 (kept in the cursor as the top key)
    jira.sent.clear()
    result = conn.write(WriteBatch(creates=[Record("objective", "obj_a", {"title": "A"}, canonical_id="obj_a")]))
    assert result.external_ids == {"obj_a": "52"} and not result.rejected and result.keys == {"52": "OKR-42"}
    [probe] = jira.calls("POST", "/rest/api/3/issue/bulkfetch")
    assert probe[3]["issueIdsOrKeys"][:2] == ["OKR-42", "OKR-43"] and len(probe[3]["issueIdsOrKeys"]) == 100
    assert not jira.calls("POST", "/rest/api/3/search/jql")  # no wait for the lagging search


def test_initiatives_under_epics_point_at_the_objective_when_krs_are_not_kept(jira, tmp_path):
    task = issue("12", "Task", "Fix", parent={"id": "10", "key": "OKR-10", "fields": {"issuetype": {"name": "Objective"}}})
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([issue("10", "Objective", "Grow"), task]))])
    conn = connector(tmp_path, history=False, mapping={"key_result": {"issue_type": None}, "initiative": {"via": "parent"},
                                                       "numbers": {"start": None, "target": None, "current": None},
                                                       "unit": None})
    records = [i for i in read_all(conn) if isinstance(i, Record)]
    assert [(r.external_id, r.fields.get("objective_id"), r.fields.get("key_result_id")) for r in records] == [
        ("10", None, None), ("12", "10", None)]


def test_a_lost_transition_answer_is_confirmed_by_reading_never_resent_and_owed_to_the_next_push(jira, tmp_path):
    jira.on("POST", "/rest/api/3/bulk/issues/transition", [(200, httpx.ReadTimeout("timed out")), (201, {"taskId": "7"})])
    still_new = {"id": "10", "key": "OKR-10", "self": f"{BASE}/rest/api/3/issue/10",
                 "fields": {"status": status("new"), "labels": [], "issuetype": {"id": "10100", "name": "Objective"}}}
    jira.on("POST", "/rest/api/3/issue/bulkfetch", [(200, {"issues": [still_new], "issueErrors": []})])
    jira.on("GET", "/rest/api/3/issue/10/transitions", [(200, {"transitions": [
        {"id": "21", "name": "Start", "to": {"id": "3", "name": "In Progress", "statusCategory": {"id": 4, "key": "indeterminate"}}}]})])
    jira.on("PUT", "/rest/api/3/issue/10", [(204, None)])
    jira.on("GET", r"/rest/api/3/bulk/queue/7", [(200, {"taskId": "7", "status": "COMPLETE", "progressPercent": 100})])
    edit = Record("objective", "10", {"title": "O", "status": "on_track"}, canonical_id="obj_a")
    conn = connector(tmp_path, search_lag=3, poll_interval=1)
    result = conn.write(WriteBatch(updates=[edit]))
    assert len(jira.calls("POST", "/rest/api/3/bulk/issues/transition")) == 1  # not sent again
    [owed] = result.rejected
    assert owed.where == "10" and "answer was lost" in owed.reason and "not sent again" in owed.reason
    assert json.loads(result.cursor)["moves"] == {"10": "indeterminate"}
    # the next run: Jira still shows To Do; the read keeps the status okrsync wrote, and says why
    read_back = issue("10", "Objective", "O", category="new", prop={"id": "obj_a", "status": "on_track"})
    other = issue("11", "Objective", "P", prop={"id": "obj_b", "status": "not_started"})
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([read_back, other]))])
    jira.on("PUT", "/rest/api/3/issue/11", [(204, None)])
    later = connector(tmp_path, history=False, poll_interval=0)
    items = list(later.read(result.cursor))
    assert [i.fields["status"] for i in items if isinstance(i, Record)] == ["on_track", "not_started"]  # not "not_started"
    assert any("wait for a status change whose answer was lost" in i.message for i in items if type(i).__name__ == "Note")
    # a later push that writes anything to Jira settles the owed move (issue 10 is not in its batch)
    done = later.write(WriteBatch(updates=[Record("objective", "11", {"title": "P2", "status": "not_started"},
                                                  canonical_id="obj_b")]))
    assert not done.rejected and json.loads(done.cursor)["moves"] == {}
    lost, owed_move = jira.calls("POST", "/rest/api/3/bulk/issues/transition")
    assert owed_move[3]["bulkTransitionInputs"] == [{"selectedIssueIdsOrKeys": ["10"], "transitionId": "21"}]


def test_an_issue_without_its_type_is_rejected_alone_with_its_key(jira, tmp_path):
    typeless = issue("11", "Objective", "No type")
    del typeless["fields"]["issuetype"]
    jira.on("POST", "/rest/api/3/search/jql", [(200, page([issue("10", "Objective", "O"), typeless]))])
    items = read_all(connector(tmp_path, history=False))
    assert [i.external_id for i in items if isinstance(i, Record)] == ["10"]
    assert [str(i) for i in items if isinstance(i, Rejected)] == [
        "jira OKR-11: Jira's answer gives no issue type for it, so its kind is unknown; not read"]
