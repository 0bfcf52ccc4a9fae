"""The Asana connector against respx routes. Every request and canned answer is checked
against Asana's OpenAPI document, and so is every *action inside* a POST /batch (its path,
query or body) and every per-action answer, since the outer schema says nothing of them."""

import json

import httpx
import pytest

from okrsync.connector import Context, Cursor, Record, WriteBatch
from okrsync.connectors.asana import AsanaConnector
from okrsync.connectors.asana_fields import AsanaMapping, Periods
from okrsync.errors import ConfigError, FatalError, MappingError

from .helpers.asana_spec import PREFIX, SPEC, asana_spec, check_action
from .helpers.spec_check import SAMPLES, SpecMock

BASE = "https://app.asana.com/api/1.0"
TOKEN = "asana-SECRET-pat"


class Asana:
    """A SpecMock for Asana: ``batch(handler)`` answers each action with ``handler(action)``."""

    def __init__(self, mock: SpecMock):
        self.mock = mock
        self.actions: list[dict] = []

    def on(self, method, path, answers):
        self.mock.on(method, PREFIX + path, answers)

    def batch(self, handler):
        spec = self.mock.spec

        def respond(query, body):
            out = []
            for action in body["data"]["actions"]:
                self.actions.append(action)
                status, answer = handler(action)
                result = {"status_code": status, "body": answer}
                check_action(spec, action, result)
                out.append(result)
            return 200, {"data": out}

        self.on("POST", "/batch", respond)


@pytest.fixture
def asana():
    with SpecMock(SPEC, "https://app.asana.com") as mock:
        yield Asana(mock)


def connector(tmp_path, **options):
    opts = {"workspace": "1100", "token": TOKEN, "rate": 1000, "concurrency": 1, **options}
    conn = AsanaConnector("asana", opts, Context(base_dir=tmp_path))
    conn.api.sleep = conn.api.pacer.sleep = lambda s: None
    return conn


def user(gid, name="Ana"):
    return {"gid": gid, "resource_type": "user", "name": name}


def goal(gid, name, *, metric=None, status=None, period=None, owner="u1", current_status_update=None):
    return {"gid": gid, "resource_type": "goal", "name": name, "notes": "", "due_on": "2026-03-31", "start_on": None,
            "owner": user(owner) if owner else None, "status": status, "metric": metric,
            "time_period": period, "current_status_update": current_status_update}


def metric(initial, target, current, unit="none", source="manual", currency=None):
    return {"gid": "m1", "resource_type": "task", "resource_subtype": "number", "unit": unit, "precision": 2,
            "currency_code": currency, "initial_number_value": initial, "target_number_value": target,
            "current_number_value": current, "progress_source": source}


Q1 = {"gid": "tp1", "resource_type": "time_period", "period": "Q1", "display_name": "Q1 FY26",
      "start_on": "2026-01-01", "end_on": "2026-03-31"}
USERS = {"/users/u1": {"gid": "u1", "resource_type": "user", "name": "Ana", "email": "ana@acme.com"},
         "/users/ana@acme.com": {"gid": "u1", "resource_type": "user", "name": "Ana", "email": "ana@acme.com"}}


def rel(gid, child, weight):
    return {"gid": gid, "resource_type": "goal_relationship", "resource_subtype": "subgoal", "contribution_weight": weight,
            "supporting_resource": {"gid": child, "resource_type": "goal", "name": "x"}}


def test_the_samples_are_what_the_spec_says():
    spec = asana_spec()
    spec.response("get", "/goals/1", 200, json.loads((SAMPLES / "asana-goal-response.json").read_text()))
    spec.response("get", "/goal_relationships/1", 200, json.loads((SAMPLES / "asana-goal-relationship-response.json").read_text()))


def test_a_read_pages_goals_and_maps_objectives_krs_alignment_and_check_ins(asana, tmp_path):
    obj = goal("10", "Delight customers", metric=metric(0, 1, 0.4, "percentage", "subgoal_progress"), status="green",
               period=Q1)
    sub = goal("11", "Win the Nordics", period=Q1)
    kr = goal("12", "Raise NPS", metric=metric(0.2, 0.4, 0.3, "percentage"), status="yellow",
              current_status_update={"gid": "s1", "resource_type": "status_update", "title": "",
                                     "resource_subtype": "goal_status_update"})
    money = goal("13", "Close new ARR", metric=metric(0, 950000, 410000, "currency", currency="EUR"), owner="u2")
    asana.on("GET", "/goals", [(200, {"data": [obj, sub], "next_page": {"offset": "tok2", "path": "/goals?offset=tok2",
                                                                         "uri": BASE + "/goals?offset=tok2"}}),
                               (200, {"data": [kr, money], "next_page": None})])

    def handler(action):
        path = action["relative_path"]
        if path == "/goal_relationships":
            children = {"10": [rel("r1", "11", 1.0), rel("r2", "12", 0.4)], "11": [rel("r3", "13", 0.5)]}
            return 200, {"data": children[action["data"]["supported_goal"]], "next_page": None}
        if path == "/status_updates":
            return 200, {"data": [{"gid": "s1", "resource_type": "status_update", "text": "Survey is late",
                                   "status_type": "at_risk", "created_at": "2026-02-01T09:00:00.000Z",
                                   "author": user("u1")}], "next_page": None}
        if path == "/users/u2":
            return 200, {"data": {"gid": "u2", "resource_type": "user", "name": "Guest"}}  # no e-mail visible
        return 200, {"data": USERS[path]}

    asana.batch(handler)
    items = list(connector(tmp_path).read(None))
    records = {r.external_id: r for r in items if isinstance(r, Record)}
    assert [r.kind for r in items if isinstance(r, Record)] == ["objective", "objective", "key_result", "key_result", "check_in"]
    assert records["10"].fields["period"] == "2026-Q1" and records["10"].fields["status"] == "on_track"
    assert records["10"].fields["owner"] == "ana@acme.com"
    assert records["11"].fields["parent_id"] == "10" and records["11"].fields["weight"] == 1.0
    k = records["12"].fields
    assert (k["objective_id"], k["unit"], k["start"], k["target"], k["current"], k["weight"], k["status"]) == \
        ("10", "percent", 20.0, 40.0, 30.0, 0.4, "at_risk")
    m = records["13"].fields
    assert (m["objective_id"], m["unit"], m["currency"], m["target"], m["owner"]) == ("11", "currency", "EUR", 950000, "Ana")
    assert records["s1"].fields == {"key_result_id": "12", "at": "2026-02-01T09:00:00.000Z", "status": "at_risk",
                                    "note": "Survey is late", "author": "ana@acme.com"}
    cursor = items[-1]
    assert isinstance(cursor, Cursor) and cursor.full_listing
    pages = asana.mock.calls("GET", PREFIX + "/goals")
    assert pages[0][2]["workspace"] == "1100" and pages[0][2]["limit"] == "100" and pages[1][2]["offset"] == "tok2"
    assert "metric.progress_source" in pages[0][2]["opt_fields"]
    # measured goals are never asked for sub-goals: two relationship listings, not four
    assert sum(1 for a in asana.actions if a["relative_path"] == "/goal_relationships") == 2


def test_a_migration_batches_creates_then_metrics_and_links_then_statuses(asana, tmp_path):
    asana.on("GET", "/goals", [(200, {"data": [], "next_page": None})])
    asana.on("GET", "/time_periods", [(200, {"data": [Q1], "next_page": None})])
    made = iter(range(100, 200))

    def handler(action):
        path, method = action["relative_path"], action["method"]
        if path.startswith("/users/"):
            return 200, {"data": USERS[path]}
        if path == "/goals" and method == "post":
            return 201, {"data": goal(str(next(made)), action["data"]["name"])}
        if path.endswith("addSupportingRelationship"):
            return 200, {"data": rel("r9", action["data"]["supporting_resource"], action["data"].get("contribution_weight", 0))}
        return 200, {"data": goal(path.split("/")[2], "x")}

    asana.batch(handler)
    conn = connector(tmp_path)
    list(conn.read(None))
    krs = [Record("key_result", f"k{i}", {"title": f"KR {i}", "objective_id": "o1", "unit": "percent", "start": 10.0,
                                          "current": 12.5, "target": 20.0, "weight": 0.2, "status": "at_risk",
                                          "owner": "ana@acme.com"}, canonical_id=f"k{i}") for i in range(12)]
    obj = Record("objective", "o1", {"title": "O", "period": "2026-Q1", "status": "on_track", "due": "2026-03-31",
                                     "start": "2026-01-01", "owner": "ana@acme.com"}, canonical_id="o1")
    result = conn.write(WriteBatch(creates=[obj, *krs]))
    assert not result.rejected and len(result.external_ids) == 13
    batches = [s[3]["data"]["actions"] for s in asana.mock.calls("POST", PREFIX + "/batch")]
    assert all(len(b) <= 10 for b in batches)
    creates = [a for a in asana.actions if a["relative_path"] == "/goals"]
    assert creates[0]["data"] == {"name": "O", "notes": "", "due_on": "2026-03-31", "owner": "u1", "start_on": "2026-01-01",
                                  "time_period": "tp1", "workspace": "1100"}
    assert creates[1]["data"]["time_period"] == "tp1"  # a KR runs in its objective's period
    metrics = [a for a in asana.actions if a["relative_path"].endswith("/setMetric")]
    kr_metric = metrics[1]["data"]
    assert (kr_metric["unit"], kr_metric["initial_number_value"], kr_metric["current_number_value"],
            kr_metric["target_number_value"], kr_metric["precision"]) == ("percentage", 0.1, 0.125, 0.2, 1)
    assert metrics[0]["data"]["progress_source"] == "subgoal_progress" and metrics[0]["data"]["is_custom_weight"]
    links = [a for a in asana.actions if a["relative_path"].endswith("addSupportingRelationship")]
    assert len(links) == 12 and links[0]["relative_path"] == "/goals/100/addSupportingRelationship"
    assert links[0]["data"]["contribution_weight"] == 0.2
    order = [a["relative_path"] for a in asana.actions]
    statuses = [i for i, a in enumerate(asana.actions) if a["method"] == "put"]
    assert min(statuses) > max(i for i, p in enumerate(order) if p.endswith("/setMetric"))  # a status needs the metric
    assert len(batches) == 1 + 2 + 3 + 2  # users, creates (13), metrics + links (25), statuses (13)


def test_an_unknown_period_names_the_ones_there_are(asana, tmp_path):
    asana.on("GET", "/time_periods", [(200, {"data": [Q1], "next_page": None})])
    asana.batch(lambda a: (200, {"data": USERS[a["relative_path"]]}))
    result = connector(tmp_path).write(WriteBatch(creates=[Record("objective", "o1", {"title": "O", "period": "2026-Q3"},
                                                                  canonical_id="o1")]))
    [rejected] = result.rejected
    assert rejected.where == "o1" and "'2026-Q3'" in rejected.reason and "2026-Q1" in rejected.reason


def test_a_kr_asana_cannot_measure_is_rejected_alone(asana, tmp_path):
    asana.on("GET", "/goals", [(200, {"data": [], "next_page": None})])
    asana.batch(lambda a: (201, {"data": goal("100", a["data"]["name"])}) if a["relative_path"] == "/goals"
                else (200, {"data": goal("100", "x")}))
    same = Record("key_result", "k1", {"title": "Flat", "objective_id": "10", "start": 5.0, "target": 5.0},
                  canonical_id="k1")
    result = connector(tmp_path).write(WriteBatch(creates=[same]))
    assert [r.where for r in result.rejected] == ["k1"] and "different from the start" in result.rejected[0].reason


def test_a_refused_metric_undoes_the_goal_so_nothing_is_half_made(asana, tmp_path):
    asana.on("GET", "/goals", [(200, {"data": [], "next_page": None})])

    def handler(action):
        if action["relative_path"] == "/goals":
            return 201, {"data": goal("100", action["data"]["name"])}
        if action["relative_path"].endswith("setMetric"):
            return 400, {"errors": [{"message": "precision: Must be between 0 and 6, inclusive."}]}
        return 200, {"data": {}}

    asana.batch(handler)
    kr = Record("key_result", "k1", {"title": "KR", "objective_id": "10", "start": 0.0, "target": 3.0}, canonical_id="k1")
    result = connector(tmp_path).write(WriteBatch(creates=[kr]))
    assert result.rejected[0].where == "k1" and "precision" in result.rejected[0].reason
    assert "k1" not in result.external_ids
    assert asana.actions[-1] == {"method": "delete", "relative_path": "/goals/100"}


def test_a_429_waits_as_asked_and_the_pat_never_shows(asana, tmp_path):
    asana.on("GET", "/goals", [(429, {"errors": [{"message": "You've made too many requests"}]}, {"Retry-After": "7"}),
                               (200, {"data": [], "next_page": None})])
    conn = connector(tmp_path)
    waits = []
    conn.api.sleep = waits.append
    items = list(conn.read(None))
    assert isinstance(items[-1], Cursor) and 7.0 in waits and conn.take_counts() == (2, 1)
    assert TOKEN not in repr(conn.api.client.auth)


def test_401_says_to_check_the_token(asana, tmp_path):
    asana.on("GET", "/goals", [(401, {"errors": [{"message": "Not Authorized"}]})])
    with pytest.raises(FatalError) as e:
        list(connector(tmp_path).read(None))
    assert "token" in str(e.value) and TOKEN not in str(e.value)


@pytest.mark.parametrize("options, words", [
    ({"workspace": None}, "workspace"),
    ({"token": None}, "token"),
    ({"workspce": "1"}, "did you mean 'workspace'"),
    ({"rate": 0}, "rate"),
    ({"mapping": {"status": {"done": "finished"}}}, "not an Asana goal status"),
])
def test_bad_options_say_what_to_do(tmp_path, options, words):
    opts = {"workspace": "1100", "token": TOKEN, **options}
    with pytest.raises(ConfigError if "mapping" not in options else Exception) as e:
        AsanaConnector("asana", {k: v for k, v in opts.items() if v is not None}, Context(base_dir=tmp_path))
    assert words in str(e.value) and TOKEN not in str(e.value)


def read_world(asana, goals, relationships=None, updates=None):
    """Canned answers for a read: the goals, their sub-goal relationships and status updates."""
    asana.on("GET", "/goals", [(200, {"data": goals, "next_page": None})])
    handlers = {}

    def handler(action):
        path = action["relative_path"]
        if path == "/goal_relationships":
            return 200, {"data": (relationships or {}).get(action["data"]["supported_goal"], []), "next_page": None}
        if path == "/status_updates":
            return 200, {"data": (updates or {}).get(action["data"]["parent"], []), "next_page": None}
        if path.startswith("/users/"):
            return 200, {"data": USERS.get(path, {"gid": "u1", "resource_type": "user", "name": "Ana", "email": "ana@acme.com"})}
        return handlers["write"](action)

    asana.batch(handler)
    return handlers


def test_an_edit_sends_only_what_differs(asana, tmp_path):
    obj = goal("10", "O", metric=metric(0, 1, 0.5, "percentage", "subgoal_progress"), status="green")
    kr = goal("12", "KR", metric=metric(1, 5, 2), status="green")
    handlers = read_world(asana, [obj, kr], {"10": [rel("r2", "12", 0.5)]})
    handlers["write"] = lambda a: (200, {"data": goal(a["relative_path"].split("/")[2], "x")})
    conn = connector(tmp_path)
    records = {r.external_id: r for r in conn.read(None) if isinstance(r, Record)}
    asana.actions.clear()
    edited = Record("key_result", "12", {**records["12"].fields, "current": 3.0, "title": "KR renamed", "weight": 0.25},
                    canonical_id="k1")
    result = conn.write(WriteBatch(updates=[edited]))
    assert not result.rejected
    sent = {(a["method"], a["relative_path"]): a.get("data") for a in asana.actions}
    assert sent == {("put", "/goals/12"): {"name": "KR renamed"},
                    ("post", "/goals/12/setMetricCurrentValue"): {"current_number_value": 3.0},
                    ("put", "/goal_relationships/r2"): {"contribution_weight": 0.25}}


def test_a_kr_moved_to_another_objective_is_unlinked_then_linked(asana, tmp_path):
    a, b = (goal(g, n, metric=metric(0, 1, 0, "percentage", "subgoal_progress")) for g, n in (("10", "A"), ("11", "B")))
    kr = goal("12", "KR", metric=metric(1, 5, 2))
    handlers = read_world(asana, [a, b, kr], {"10": [rel("r2", "12", 0.5)]})
    handlers["write"] = lambda act: (200, {"data": {}} if "Relationship" in act["relative_path"] and "remove" in act["relative_path"]
                                     else {"data": rel("r3", "12", 0.5)})
    conn = connector(tmp_path)
    records = {r.external_id: r for r in conn.read(None) if isinstance(r, Record)}
    asana.actions.clear()
    conn.write(WriteBatch(updates=[Record("key_result", "12", {**records["12"].fields, "objective_id": "11"}, canonical_id="k")]))
    assert [(x["relative_path"], x["data"]) for x in asana.actions] == [
        ("/goals/10/removeSupportingRelationship", {"supporting_resource": "12"}),
        ("/goals/11/addSupportingRelationship", {"supporting_resource": "12", "contribution_weight": 0.5})]


def test_a_lost_create_batch_is_looked_up_not_resent(asana, tmp_path):
    listing = [(200, {"data": [], "next_page": None}),  # the read: an empty workspace
               (200, {"data": [goal("100", "Landed"), ], "next_page": None})]  # after the lost answer
    asana.on("GET", "/goals", listing)
    calls = []

    def respond(query, body):
        actions = body["data"]["actions"]
        calls.append(actions)
        if len(calls) == 1:
            return 200, httpx.ReadTimeout("answer lost")  # the goal was made all the same
        return 200, {"data": [{"status_code": 200, "body": {"data": goal("100", "x")}} for _ in actions]}

    asana.on("POST", "/batch", respond)
    conn = connector(tmp_path)
    list(conn.read(None))
    result = conn.write(WriteBatch(creates=[Record("objective", "o1", {"title": "Landed", "due": "2026-03-31"}, canonical_id="o1")]))
    assert result.external_ids == {"o1": "100"} and not result.rejected
    assert all(a["relative_path"] != "/goals" for batch in calls[1:] for a in batch), "the create was not sent twice"


def test_a_check_in_edit_is_remembered_not_written(asana, tmp_path):
    kr = goal("12", "KR", metric=metric(1, 5, 2), current_status_update={"gid": "s1", "resource_type": "status_update",
                                                                         "title": "", "resource_subtype": "goal_status_update"})
    obj = goal("10", "O")
    update = {"gid": "s1", "resource_type": "status_update", "text": "Late", "status_type": "at_risk",
              "created_at": "2026-02-01T09:00:00.000Z", "author": user("u1")}
    read_world(asana, [obj, kr], {"10": [rel("r2", "12", 0.5)]}, {"12": [update]})
    conn = connector(tmp_path)
    items = list(conn.read(None))
    check_in = next(r for r in items if isinstance(r, Record) and r.kind == "check_in")
    asana.actions.clear()
    result = conn.write(WriteBatch(updates=[Record("check_in", "s1", {**check_in.fields, "note": "Late, but recovering"},
                                                   canonical_id="c1")]))
    assert not asana.actions and not result.rejected  # status updates are never edited
    again = [r for r in AsanaConnector("asana", conn.options, Context(base_dir=tmp_path)).read(result.cursor)
             if isinstance(r, Record) and r.kind == "check_in"]
    assert again[0].fields["note"] == "Late, but recovering"  # not read back as an edit made in Asana


def test_a_5xx_inside_a_batch_is_sent_again_and_a_gone_goal_deletes_fine(asana, tmp_path):
    answers = iter([(500, {"errors": [{"message": "boom", "phrase": "6 sad squid snuggle softly"}]}), (200, {"data": {}})])
    asana.batch(lambda a: next(answers) if a["relative_path"] == "/goals/1"
                else (404, {"errors": [{"message": "goal: Not a recognized ID"}]}))
    result = connector(tmp_path).write(WriteBatch(deletes=[Record("objective", "1", {}), Record("key_result", "2", {})]))
    assert not result.rejected
    assert [a["relative_path"] for a in asana.actions] == ["/goals/1", "/goals/2", "/goals/1"]


# ---------------------------------------------------------------- the mapping, without HTTP


def test_percent_kr_values_are_fractions_in_asana_and_come_back_exact(tmp_path):
    m = AsanaMapping.load(None, tmp_path, "t")
    f = {"unit": "percent", "start": 2.1, "current": 1.8, "target": 1.5}
    metric = m.metric("key_result", f)
    assert (metric["unit"], metric["initial_number_value"], metric["target_number_value"], metric["precision"]) == \
        ("percentage", 0.021, 0.015, 1)
    back = m.read_goal("key_result", {"name": "x", "metric": metric}, None, None)
    assert (back["start"], back["current"], back["target"], back["unit"]) == (2.1, 1.8, 1.5, "percent")


def test_what_asana_cannot_hold_shows_in_the_remote_view(tmp_path):
    m = AsanaMapping.load(None, tmp_path, "t")
    f = {"title": "SOC 2", "unit": "boolean", "start": None, "current": 0.0, "target": 1.0, "status": "not_started"}
    view = m.remote_view("key_result", f, None, None, 1.0)
    assert (view["unit"], view["start"], view["status"]) == ("number", 0.0, None)  # kept in the cursor's memo
    with pytest.raises(ValueError, match="currency code"):
        m.metric("key_result", {"unit": "currency", "start": 1.0, "target": 2.0})


def test_statuses_both_ways_and_bad_overrides(tmp_path):
    m = AsanaMapping.load(None, tmp_path, "t")
    assert [m.status(s) for s in ("on_track", "at_risk", "off_track", "done", "cancelled", "not_started")] == \
        ["green", "yellow", "red", "achieved", "dropped", None]
    assert m.read_goal("objective", {"status": "partial"}, None, None)["status"] == "done"
    with pytest.raises(MappingError, match="subgoal_progress or none"):
        AsanaMapping.load({"objective": {"progress_source": "tasks"}}, tmp_path, "t")
    with pytest.raises(MappingError, match="did you mean 'periods'"):
        AsanaMapping.load({"period": {}}, tmp_path, "t")


def test_periods_match_by_dates_fiscal_names_or_an_explicit_name():
    q1 = {"gid": "1", "display_name": "Q1 FY26", "start_on": "2026-01-01", "end_on": "2026-03-31"}
    fiscal = {"gid": "2", "display_name": "Q1 FY26", "start_on": "2025-04-01", "end_on": "2025-06-30"}
    odd = {"gid": "3", "display_name": "Spring push", "start_on": "2026-03-15", "end_on": "2026-05-15"}
    assert Periods.build([q1], {}).gid("2026-Q1") == "1"
    assert Periods.build([fiscal], {"fiscal_year_start": 4}).gid("FY2026-Q1") == "2"
    assert Periods.build([odd], {"names": {"2026-S1": "Spring push"}}).gid("2026-S1") == "3"
    with pytest.raises(KeyError) as e:
        Periods.build([q1, odd], {}).gid("2026-Q2")
    assert "'2026-Q2'" in str(e.value) and "2026-Q1" in str(e.value) and "read-only" in str(e.value)
