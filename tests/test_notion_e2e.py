"""Notion end to end: the bundled example spreadsheet ⇄ two Notion databases (objectives,
key results related to them) in the Notion emulator, over real HTTP."""

import sys

import pytest

from okrsync.connectors.notion import NotionConnector
from okrsync.errors import ConfigError, FatalError

from .emulators.notion import Notion
from .helpers import saas_e2e
from .helpers.notion_seed import KEY_RESULT, OBJECTIVE, TOKEN, seed
from .helpers.saas_e2e import csv_rows, edit_row, edited_both_ways, kr, prefer_sheet, sync, write_sheet
from .helpers.saas_e2e import make_hub as saas_hub


@pytest.fixture
def emu():
    with saas_e2e.running(Notion(token=TOKEN), seed) as server:
        yield server


def options(emu, **extra):
    return {"url": emu.url, "token": TOKEN, "tables": {"objective": emu.objectives, "key_result": emu.krs}, **extra}


def make_hub(tmp_path, emu, **extra):
    return saas_hub(tmp_path, "notion", options(emu, **extra))


def krs(emu):
    return {r["Key result"]: r for r in emu.rows(emu.krs)}


def test_the_example_becomes_pages_with_relations_and_a_second_sync_sends_nothing(tmp_path, emu):
    hub, _ = make_hub(tmp_path, emu)
    sync(hub)
    objectives = {r["id"]: r for r in emu.rows(emu.objectives)}
    assert len(objectives) == 13 and len(krs(emu)) == 39 and not emu.errors
    arr = krs(emu)["Grow ARR from €8.4M to €10.2M"]
    [parent] = arr["Objective"]
    assert objectives[parent]["Objective"] == "Grow into a €12M ARR business"
    assert (arr["Start"], arr["Target"], arr["Owner"], arr["Due"]) == (8400000, 10200000, ["maria.keller@example.com"],
                                                                       "2026-03-31")
    children = [o for o in objectives.values() if o["Parent objective"]]
    assert children and all(c["Parent objective"][0] in objectives for c in children)  # self-relations resolved
    assert emu.versions == {"2022-06-28"}
    # the hub keeps the page ids as the records' Notion ids
    ids = {r[0] for r in hub.store.db.execute("select external_id from links where endpoint = 'notion'").fetchall()}
    assert set(objectives) <= ids
    # the rollup Notion computes once the pages exist comes in once (kept in extra), nothing else
    pulled = [c for p in sync(hub) for c in p.changes]
    assert len(pulled) == 39 and {c.fields["extra.notion.Objectives linked"] for c in pulled} == {1}
    emu.reset_log()
    plans = sync(hub)
    assert not any(p.changes for p in plans)
    assert emu.count("POST", "/v1/pages") == emu.count("PATCH") == 0  # reads only: schema + query per database
    assert emu.count("GET") == 2 and emu.count("POST") == 2


def synced(tmp_path, emu, **extra):
    return saas_e2e.settled(make_hub(tmp_path, emu, **extra)[0], emu)  # with the rollups Notion computes


def test_a_conflict_is_settled_by_the_policy(tmp_path, emu):
    hub = prefer_sheet(make_hub(tmp_path, emu)[0])
    saas_e2e.conflict_settled_for_the_sheet(tmp_path, hub, lambda: emu.edit(
        emu.page_where(emu.krs, **{"Key result": "Grow ARR from €8.4M to €10.2M"}), Current=9_500_000))
    assert krs(emu)["Grow ARR from €8.4M to €10.2M"]["Current"] == 9_100_000


def test_a_page_archived_in_notion_is_deleted_under_the_guard(tmp_path, emu):
    hub = synced(tmp_path, emu)
    emu.archive(emu.page_where(emu.krs, **{"Key result": "Cut monthly gross logo churn from 2.1% to 1.5%"}))

    def archive_most():
        for row in list(emu.rows(emu.krs))[3:30]:
            emu.archive(row["id"])

    saas_e2e.deleted_under_the_guard(tmp_path, hub, archive_most)


def test_a_record_deleted_in_the_csv_archives_its_page(tmp_path, emu):
    hub = synced(tmp_path, emu)
    page = emu.page_where(emu.krs, **{"Key result": "Grow ARR from €8.4M to €10.2M"})
    write_sheet(tmp_path / "okrs.csv", [r for r in csv_rows(tmp_path) if r["Key result ID"] != "KR-1"])
    sync(hub)
    [patch] = [h for h in emu.log if h.method == "PATCH"]
    assert patch.path == f"/v1/pages/{page}" and patch.json() == {"archived": True}
    assert emu.pages[page]["archived"] and len(krs(emu)) == 38


@pytest.mark.parametrize("fault", ["repeat", "expire"])
def test_paging_survives_a_repeated_page_and_an_expired_cursor(tmp_path, emu, fault, monkeypatch):
    hub = synced(tmp_path, emu)
    monkeypatch.setattr(sys.modules[type(hub.connector("notion")).__module__], "PAGE_SIZE", 10)  # 39 KRs: 4 pages
    emu.edit(emu.page_where(emu.krs, **{"Key result": "Raise net revenue retention from 104% to 110%"}), Current=109)
    emu.faults.inject_page(fault)
    plans = sync(hub)
    assert emu.faults.pending() == 0 and emu.faults.page_log[-1][0] == fault
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "109"
    assert hub.store.count("key_result") == 39 and sum(len(p.changes) for p in plans) == 2
    # an expired cursor (400 naming start_cursor): that database's listing again, from the start
    restarts = [h.json() for h in emu.log if h.path.endswith("/query") and h.status == 400]
    assert len(restarts) == (1 if fault == "expire" else 0)


def test_request_shapes_follow_the_sdk_and_text_stays_plain(tmp_path, emu):
    from .emulators.notion import BODY

    hub, _ = make_hub(tmp_path, emu)
    edit_row(tmp_path / "okrs.csv", "KR-1",  # escaped in the CSV, as okrsync writes files
             **{"Key result": '\'=HYPERLINK("https://evil.example","x") ' + "y" * 2500})
    sync(hub)
    creates = [h.json() for h in emu.log if h.method == "POST" and h.path == "/v1/pages"]
    assert len(creates) == 52 and all(set(c) <= BODY["create_page"] for c in creates)
    assert all(set(h.json()) <= BODY["query"] for h in emu.log if h.path.endswith("/query"))
    [title] = [c["properties"]["Key result"]["title"] for c in creates
               if c["properties"].get("Key result", {}).get("title", [{}])[0].get("text", {}).get("content", "")
               .startswith("=HYPERLINK")]
    assert [len(t["text"]["content"]) for t in title] == [2000, 539]  # 2,000 characters a text object
    assert all(set(t) == {"type", "text"} and set(t["text"]) == {"content"} for t in title)  # no formatting
    assert kr(csv_rows(tmp_path), "KR-1")["Key result"].startswith("'=HYPERLINK")  # read back the same


def test_computed_properties_and_unknown_people_are_rejected_with_the_reason(tmp_path, emu):
    hub = synced(tmp_path, emu)
    edit_row(tmp_path / "okrs.csv", "KR-2", Owner="nobody@example.com")
    plans = sync(hub)
    rejected = [str(r) for p in plans if p.endpoint == "notion" and p.direction == "push" for r in p.rejected]
    assert any("'nobody@example.com' is no person in the Notion workspace" in r and "property 'Owner'" in r
               for r in rejected)
    assert emu.rows(emu.krs)[1]["Owner"] == ["priya.nair@example.com"]  # nothing half-written


def test_refusals_and_bad_options_say_what_to_do(emu):
    conn = NotionConnector("n", options(emu, token="secret_wrong"))
    with pytest.raises(FatalError, match="Notion refused the token"):
        list(conn.read(None))
    conn = NotionConnector("n", options(emu, tables={"objective": "0" * 32, "key_result": emu.krs}))
    with pytest.raises(FatalError, match="shared with the integration"):
        list(conn.read(None))
    with pytest.raises(ConfigError, match="one database per entity"):
        NotionConnector("n", {"token": "t", "layout": "flat", "tables": {"objective": emu.objectives}})
    with pytest.raises(ConfigError, match="not a database id"):
        NotionConnector("n", {"token": "t", "tables": {"objective": "OKRs"}})
    with pytest.raises(ConfigError, match="did you mean 'tables'"):
        NotionConnector("n", {"token": "t", "tabels": {}})
    url = "https://www.notion.so/acme/OKRs-" + emu.objectives.replace("-", "") + "?v=123"
    assert NotionConnector("n", options(emu, tables={"objective": url})).tables["objective"] == emu.objectives


def test_doctor_probes_each_database(emu):
    from okrsync import doctor

    report = doctor.Report()
    doctor.check_endpoint(report, "n", NotionConnector("n", options(emu)))
    assert [c.status for c in report.checks] == ["ok", "ok"] and "key_result database" in report.checks[1].detail
    report = doctor.Report()
    doctor.check_endpoint(report, "n", NotionConnector("n", options(emu, token="secret_wrong")))
    assert {c.status for c in report.checks} == {"fail"} and report.exit_code == 1


# ------------------------------------------------------------ one database for every row

TEXT = {"type": "rich_text"}
ROWS = {**OBJECTIVE, "Objective": TEXT, **KEY_RESULT, "Objective ID": TEXT, "Parent objective ID": TEXT,
        "Key result ID": TEXT}


def one_database(emu, layout):
    """One database holding every row; hierarchical: with Notion's sub-items relation (a
    relation of the database to itself) as a row's parent."""
    emu.okrs = emu.add_database("OKRs", {**ROWS, **({"Parent item": {"type": "relation"}}
                                                    if layout == "hierarchical" else {})})
    if layout == "hierarchical":
        emu.databases[emu.okrs]["properties"]["Parent item"]["relation"]["database_id"] = emu.okrs
    return {"url": emu.url, "token": TOKEN, "layout": layout, "database": emu.okrs.replace("-", "")}


@pytest.mark.parametrize("layout", ["flat", "hierarchical"])
def test_one_database_holds_the_example_flat_or_hierarchical_and_a_second_sync_sends_nothing(tmp_path, emu, layout):
    hub, _ = saas_hub(tmp_path, "notion", one_database(emu, layout))
    sync(hub)
    rows = emu.rows(emu.okrs)
    krs_ = [r for r in rows if r["Key result ID"]]
    objectives = [r for r in rows if not r["Key result ID"]]
    assert len(krs_) == 39 and len({r["Key result ID"] for r in krs_}) == 39 and not emu.errors
    arr = next(r for r in krs_ if r["Key result ID"] == "KR-1")
    assert (arr["Objective ID"], arr["Target"], arr["Owner"]) == ("CO-1", 10200000, ["maria.keller@example.com"])
    if layout == "flat":  # one page per KR, its objective's properties repeated
        assert not objectives and arr["Objective"] == "Grow into a €12M ARR business"
    else:  # an objective page, and KR pages related to it as their parent item
        assert len(objectives) == 13 and not arr["Objective"]
        by_id = {r["id"]: r for r in rows}
        assert all(by_id[r["Parent item"][0]]["Objective ID"] == r["Objective ID"] for r in krs_)
        assert all(not r["Parent item"] for r in objectives)
    assert emu.count("POST", "/v1/pages") == len(rows)
    emu.reset_log()
    plans = sync(hub)
    assert not any(p.changes for p in plans)
    assert emu.count("PATCH") == emu.count("POST", "/v1/pages") == 0 and emu.count("GET") == 1


def endpoint(emu, layout):
    """The endpoint's options for a layout, and the database its KR pages are in."""
    return (options(emu), emu.krs) if layout == "linked" else (one_database(emu, layout), emu.okrs)


@pytest.mark.parametrize("layout", ["linked", "flat", "hierarchical"])
def test_an_edit_in_notion_comes_back_and_only_the_changed_property_is_sent(tmp_path, emu, layout):
    given, database = endpoint(emu, layout)
    hub, _ = saas_hub(tmp_path, "notion", given)
    page = {"Key result": "Raise net revenue retention from 104% to 110%"}
    log = edited_both_ways(tmp_path, hub, emu, lambda: emu.edit(emu.page_where(database, **page), Current=108))
    [patch] = [h for h in log if h.method == "PATCH"]
    assert patch.path == f"/v1/pages/{emu.page_where(database, **{'Key result': 'Keep p95 API latency below 300 ms'})}"
    assert patch.json() == {"properties": {"Current": {"number": 77.0}}}
    assert emu.count("POST", "/v1/pages") == 0
    # a record deleted in the CSV archives its page (one KR: one page in every layout)
    write_sheet(tmp_path / "okrs.csv", [r for r in csv_rows(tmp_path) if r["Key result ID"] != "KR-3"])
    emu.reset_log()
    sync(hub)
    assert [h.json() for h in emu.log if h.method == "PATCH"] == [{"archived": True}]
    assert len([r for r in emu.rows(database) if r["Key result"]]) == 38


def test_hierarchical_a_kr_moved_under_another_objective_in_notion_follows_its_parent_item(tmp_path, emu):
    hub, _ = saas_hub(tmp_path, "notion", one_database(emu, "hierarchical"))
    sync(hub)
    co2 = emu.page_where(emu.okrs, **{"Objective ID": "CO-2", "Key result ID": ""})
    emu.edit(emu.page_where(emu.okrs, **{"Key result ID": "KR-1"}), **{"Parent item": co2})  # dragged in Notion
    sync(hub)
    assert kr(csv_rows(tmp_path), "KR-1")["Objective ID"] == "CO-2"  # the parent item wins over the stale cell
    # moved back in the CSV: the page's parent item follows
    edit_row(tmp_path / "okrs.csv", "KR-1", **{"Objective ID": "CO-1"})
    emu.reset_log()
    sync(hub)
    co1 = emu.page_where(emu.okrs, **{"Objective ID": "CO-1", "Key result ID": ""})
    [patch] = [h.json() for h in emu.log if h.method == "PATCH"]
    assert patch == {"properties": {"Parent item": {"relation": [{"id": co1}]}}}  # its id cell said CO-1 all along


@pytest.mark.parametrize("layout", ["linked", "flat"])
def test_a_page_edited_between_read_and_write_is_not_overwritten_but_read_again_and_merged(tmp_path, emu, layout):
    given, database = endpoint(emu, layout)
    hub = saas_e2e.settled(prefer_sheet(saas_hub(tmp_path, "notion", given)[0]), emu)
    page = emu.page_where(database, **{"Key result": "Grow ARR from €8.4M to €10.2M"})
    log = saas_e2e.edited_while_written(tmp_path, hub, emu, "notion", lambda: emu.edit(page, Current=9_500_000))
    # the first write checked (pages edited since the read, one filtered query) and held back
    checks = [h.json() for h in log if h.path.endswith("/query") and "filter" in h.json()]
    assert checks and checks[0]["filter"]["timestamp"] == "last_edited_time"
    assert [h for h in log if h.method == "PATCH"][0].json() == {"properties": {"Current": {"number": 9100000.0}}}
    assert emu.rows(database)[0]["Current"] == 9_100_000  # the policy's choice (prefer the sheet)


def test_who_edited_a_page_in_notion_shows_in_the_log_and_the_review_pack(tmp_path, emu, monkeypatch):
    """Issue 23 item 5: a page's ``last_edited_by`` (a partial user: an id) named by the
    workspace's users list, asked once a run however many pages changed; okrsync's own writes
    (the integration's bot) never become a change."""
    from .helpers.who import edited_in_the_tool

    users = {u["person"]["email"]: u["id"] for u in emu.users if u["type"] == "person"}
    mia = emu.add_user("mia.chen@example.com", "Mia Chen")
    stranger = "5ba97cc9-e5e0-4363-b33a-1d80a635577f"  # a user the list does not name (a guest)

    def edit():
        emu.edit(emu.page_where(emu.krs, **{"Key result": "Grow ARR from €8.4M to €10.2M"}), by=mia, Current=9_300_000)
        emu.edit(emu.page_where(emu.krs, **{"Key result": "Raise net revenue retention from 104% to 110%"}),
                 by=stranger, Current=109)

    log, changes, requests = edited_in_the_tool(tmp_path, monkeypatch, "notion", options(emu), edit, emu)
    assert users and len(krs(emu)) == 39
    assert sorted((r["new"], r["actor"]) for r in log if r["field"] == "current") == [
        (109, f"notion user {stranger}"), (9300000, "Mia Chen")]
    # the rollup Notion computed after okrsync's first push: put down to the integration itself
    assert {r["actor"] for r in log if r["field"] != "current"} == {"okrsync"}
    assert sorted((c["new"], c["who"], c["origin"]) for c in changes if c["field"] == "current") == [
        ("109", f"notion user {stranger}", "notion"), ("9300000", "Mia Chen", "notion")]
    # the pages' editors came with the query okrsync makes anyway: one users list, no request per page
    assert [r.path for r in requests if r.method == "GET" and r.path.startswith("/v1/users")] == ["/v1/users"]
    assert sum(1 for r in requests if r.path.startswith("/v1/pages")) == 0


def test_an_integration_that_may_not_list_users_names_editors_by_id(tmp_path, emu, monkeypatch):
    """Without Notion's "read user information" capability, GET /v1/users answers 403: the
    run goes on, a page's editor is their id, and the list is asked once, not per page."""
    from .helpers.who import edited_in_the_tool

    mia = emu.add_user("mia.chen@example.com", "Mia Chen")

    def edit():
        for title, value in (("Grow ARR from €8.4M to €10.2M", 9_300_000),
                             ("Raise net revenue retention from 104% to 110%", 109)):
            emu.edit(emu.page_where(emu.krs, **{"Key result": title}), by=mia, Current=value)
        emu.users_refused = True

    said = []
    log, changes, requests = edited_in_the_tool(tmp_path, monkeypatch, "notion", options(emu), edit, emu, said)
    assert sorted((r["new"], r["actor"]) for r in log if r["field"] == "current") == [
        (109, f"notion user {mia}"), (9300000, f"notion user {mia}")]
    # the user hears why names are missing, once for the two pages
    assert said[0].count("Notion refused the list of users (403)") == 1, said[0]
    assert {c["who"] for c in changes if c["field"] == "current"} == {f"notion user {mia}"}
    assert [(h.path, h.status) for h in requests if h.path.startswith("/v1/users")] == [("/v1/users", 403)]
