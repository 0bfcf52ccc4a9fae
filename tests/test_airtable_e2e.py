"""Airtable end to end: the bundled example spreadsheet ⇄ two Airtable tables (objectives;
key results linked to them) in the Airtable emulator, over real HTTP."""

import sys

import pytest

from okrsync.connectors.airtable import AirtableConnector
from okrsync.errors import ConfigError, FatalError

from .emulators.airtable import Airtable
from .helpers import saas_e2e
from .helpers.airtable_seed import NUMBER, SELECT, TOKEN, seed
from .helpers.saas_e2e import csv_rows, edit_row, edited_both_ways, kr, prefer_sheet, sync, write_sheet
from .helpers.saas_e2e import make_hub as saas_hub


@pytest.fixture
def emu():
    with saas_e2e.running(Airtable(token=TOKEN), seed) as server:
        yield server


def options(emu, **extra):
    return {"url": emu.url, "token": TOKEN, "base": emu.base,
            "tables": {"objective": "Objectives", "key_result": "Key results"}, **extra}


def make_hub(tmp_path, emu, **extra):
    return saas_hub(tmp_path, "airtable", options(emu, **extra))[0]


def krs(emu):
    return {r["Key result"]: r for r in emu.rows(emu.krs)}


def synced(tmp_path, emu, **extra):
    return saas_e2e.settled(make_hub(tmp_path, emu, **extra), emu)  # with the counts Airtable computes


def test_the_example_becomes_linked_records_in_batches_of_ten_and_a_second_sync_sends_nothing(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    sync(hub)
    objectives = {r["id"]: r for r in emu.rows(emu.objectives)}
    assert len(objectives) == 13 and len(krs(emu)) == 39 and not emu.errors
    arr = krs(emu)["Grow ARR from €8.4M to €10.2M"]
    assert objectives[arr["Objective"][0]]["Objective"] == "Grow into a €12M ARR business"
    assert (arr["Start"], arr["Target"], arr["Owner"]["email"], arr["Due"]) == (8400000, 10200000,
                                                                                 "maria.keller@example.com", "2026-03-31")
    children = [o for o in objectives.values() if o.get("Parent objective")]
    assert children and all(c["Parent objective"][0] in objectives for c in children)
    posts = [h.json() for h in emu.log if h.method == "POST" and "/meta/" not in h.path]
    assert [len(p["records"]) for p in posts] == [10, 3, 10, 10, 10, 9] and all(p["typecast"] for p in posts)
    choices = {c["name"] for f in emu.tables[emu.krs]["fields"] if f["name"] == "Status" for c in f["options"]["choices"]}
    assert {"On track", "At risk"} <= choices  # typecast added the select options
    pulled = [c for p in sync(hub) for c in p.changes]  # the link counts Airtable computes come in once
    assert len(pulled) == 39 and {c.fields["extra.airtable.Objective links"] for c in pulled} == {1}
    emu.reset_log()
    assert not any(p.changes for p in sync(hub))
    assert [h.method for h in emu.log] == ["GET", "GET", "GET"]  # the schema, then one page per table


def test_a_conflict_is_settled_by_the_policy(tmp_path, emu):
    hub = prefer_sheet(make_hub(tmp_path, emu))
    saas_e2e.conflict_settled_for_the_sheet(tmp_path, hub, lambda: emu.edit(
        emu.krs, emu.record_where(emu.krs, **{"Key result": "Grow ARR from €8.4M to €10.2M"}), Current=9_500_000))
    assert krs(emu)["Grow ARR from €8.4M to €10.2M"]["Current"] == 9_100_000


def test_a_record_deleted_in_airtable_is_deleted_under_the_guard_and_csv_deletes_go_in_tens(tmp_path, emu):
    hub = synced(tmp_path, emu)
    emu.delete(emu.krs, emu.record_where(emu.krs, **{"Key result": "Cut monthly gross logo churn from 2.1% to 1.5%"}))

    def delete_most():
        for row in list(emu.rows(emu.krs))[3:30]:
            emu.delete(emu.krs, row["id"])

    saas_e2e.deleted_under_the_guard(tmp_path, hub, delete_most)


def test_records_deleted_in_the_csv_are_deleted_ten_a_request(tmp_path, emu):
    hub = synced(tmp_path, emu)
    gone = {"IND-1", "IND-2", "IND-3", "IND-4"} | {"SEC-1", "MKT-1"}  # no objective's parent; 14 KRs
    rows = csv_rows(tmp_path)
    krs_gone = sum(1 for r in rows if r["Objective ID"] in gone and r["Key result ID"])
    write_sheet(tmp_path / "okrs.csv", [r for r in rows if r["Objective ID"] not in gone])
    hub.policy.max_delete_ratio = 0.5  # 20 of 52
    sync(hub)
    deletes = [(h.path.rsplit("/", 1)[-1], len(h.query["records[]"])) for h in emu.log if h.method == "DELETE"]
    assert deletes == [(emu.objectives, 6), (emu.krs, 10), (emu.krs, 4)] and krs_gone == 14
    assert len(krs(emu)) == 25 and len(emu.rows(emu.objectives)) == 7


@pytest.mark.parametrize("fault", ["repeat", "expire"])
def test_paging_survives_a_repeated_page_and_an_expired_offset(tmp_path, emu, fault, monkeypatch):
    hub = synced(tmp_path, emu)
    monkeypatch.setattr(sys.modules[type(hub.connector("airtable")).__module__], "PAGE_SIZE", 10)
    emu.edit(emu.krs, emu.record_where(emu.krs, **{"Key result": "Raise net revenue retention from 104% to 110%"}),
             Current=109)
    emu.faults.inject_page(fault)
    plans = sync(hub)
    assert emu.faults.pending() == 0 and emu.faults.page_log[-1][0] == fault
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "109"
    assert hub.store.count("key_result") == 39 and sum(len(p.changes) for p in plans) == 2
    assert emu.count(status=422) == (1 if fault == "expire" else 0)


def test_a_429_without_retry_after_waits_the_documented_30_seconds(tmp_path, emu):
    hub = synced(tmp_path, emu)
    waits = []
    hub.connector("airtable").api.sleep = waits.append
    emu.faults.inject("429", method="GET")
    sync(hub)
    assert 30.0 in waits and emu.count(status=429) == 1


def test_a_record_airtable_refuses_is_rejected_alone_with_its_reason(tmp_path, emu):
    hub = synced(tmp_path, emu)
    edit_row(tmp_path / "okrs.csv", "KR-2", Owner="nobody@example.com")
    plans = sync(hub)
    [rejected] = [str(r) for p in plans if p.endpoint == "airtable" and p.direction == "push" for r in p.rejected]
    assert "no such collaborator" in rejected and "INVALID_COLLABORATOR" in rejected
    assert krs(emu)["Raise net revenue retention from 104% to 110%"]["Owner"]["email"] == "priya.nair@example.com"
    assert [len(h.json()["records"]) for h in emu.log if h.method == "PATCH"] == [1]  # one batch of one, refused
    edit_row(tmp_path / "okrs.csv", "KR-7", Current="5")
    emu.reset_log()
    plans = sync(hub)  # the refused record is tried again (and refused again, and said), the rest is written
    assert [len(h.json()["records"]) for h in emu.log if h.method == "PATCH"] == [2, 1, 1]
    assert any("no such collaborator" in str(r) for p in plans for r in p.rejected)
    assert kr(csv_rows(tmp_path), "KR-7")["Current"] == "5" and krs(emu)[kr(csv_rows(tmp_path), "KR-7")["Key result"]]["Current"] == 5


def test_refusals_and_bad_options_say_what_to_do(emu):
    conn = AirtableConnector("a", options(emu, token="pat_wrong"))
    with pytest.raises(FatalError, match="personal access token"):
        list(conn.read(None))
    conn = AirtableConnector("a", options(emu, tables={"objective": "OKRs", "key_result": "Key results"}))
    with pytest.raises(FatalError, match="no table 'OKRs'"):
        list(conn.read(None))
    with pytest.raises(ConfigError, match="base id"):
        AirtableConnector("a", {"token": "t", "base": "My base", "tables": {"objective": "O"}})
    with pytest.raises(ConfigError, match="one table per entity"):
        AirtableConnector("a", {"token": "t", "base": emu.base, "layout": "flat", "tables": {"objective": "O"}})


def test_doctor_finds_the_base_and_each_table(emu):
    from okrsync import doctor

    report = doctor.Report()
    doctor.check_endpoint(report, "a", AirtableConnector("a", options(emu)))
    assert [c.status for c in report.checks] == ["ok", "ok"] and emu.count("GET") == 1
    report = doctor.Report()
    doctor.check_endpoint(report, "a", AirtableConnector("a", options(emu, tables={"objective": "OKRs"})))
    assert [c.status for c in report.checks] == ["fail"] and "no table 'OKRs'" in report.checks[0].detail


# ------------------------------------------------------------ one table for every row

TEXT = {"type": "singleLineText"}


def one_table(emu, layout):
    """One table holding every row; hierarchical: with a link of the table to itself (the
    row's parent row)."""
    emu.okrs = emu.add_table("OKRs", {
        "Key result": TEXT, "Key result ID": TEXT, "Objective ID": TEXT, "Objective": TEXT,
        "Objective description": {"type": "multilineText"}, "Objective owner": {"type": "singleCollaborator"},
        "Team": SELECT, "Period": SELECT, "Objective type": SELECT, "Objective status": SELECT,
        "Parent objective ID": TEXT, "Owner": {"type": "singleCollaborator"}, "Direction": SELECT, "Unit": SELECT,
        "Currency": SELECT, "Start": NUMBER, "Current": NUMBER, "Target": NUMBER, "Weight": NUMBER,
        "Confidence": NUMBER, "Status": SELECT, "Due": {"type": "date"},
        **({"Parent": {"type": "multipleRecordLinks"}} if layout == "hierarchical" else {})})
    if layout == "hierarchical":
        emu.tables[emu.okrs]["fields"][-1]["options"] = {"linkedTableId": emu.okrs}
    return {"url": emu.url, "token": TOKEN, "base": emu.base, "layout": layout, "table": "OKRs"}


@pytest.mark.parametrize("layout", ["flat", "hierarchical"])
def test_one_table_holds_the_example_flat_or_hierarchical_and_a_second_sync_sends_nothing(tmp_path, emu, layout):
    hub = saas_hub(tmp_path, "airtable", one_table(emu, layout))[0]
    sync(hub)
    rows = emu.rows(emu.okrs)
    krs_ = [r for r in rows if r.get("Key result ID")]
    objectives = [r for r in rows if not r.get("Key result ID")]
    assert len(krs_) == 39 and len({r["Key result ID"] for r in krs_}) == 39 and not emu.errors
    arr = next(r for r in krs_ if r["Key result ID"] == "KR-1")
    assert (arr["Objective ID"], arr["Target"], arr["Owner"]["email"]) == ("CO-1", 10200000, "maria.keller@example.com")
    posts = [len(h.json()["records"]) for h in emu.log if h.method == "POST" and "/meta/" not in h.path]
    if layout == "flat":  # one record per KR, its objective's fields repeated
        assert not objectives and arr["Objective"] == "Grow into a €12M ARR business"
        assert posts == [10, 10, 10, 9]
    else:  # objective records first, then the KR records linked to them as their parent
        assert len(objectives) == 13 and "Objective" not in arr
        by_id = {r["id"]: r for r in rows}
        assert all(by_id[r["Parent"][0]]["Objective ID"] == r["Objective ID"] for r in krs_)
        assert not any(r.get("Parent") for r in objectives)
        assert posts == [10, 3, 10, 10, 10, 9]
    emu.reset_log()
    plans = sync(hub)
    assert not any(p.changes for p in plans)
    assert [h.method for h in emu.log] == ["GET", "GET"]  # the schema, one page of the table


def endpoint(emu, layout):
    """The endpoint's options for a layout, and the table its KR records are in."""
    return (options(emu), emu.krs) if layout == "linked" else (one_table(emu, layout), emu.okrs)


@pytest.mark.parametrize("layout", ["linked", "flat", "hierarchical"])
def test_an_edit_in_airtable_comes_back_and_only_the_changed_field_is_sent(tmp_path, emu, layout):
    given, table = endpoint(emu, layout)
    hub = saas_hub(tmp_path, "airtable", given)[0]
    record = {"Key result": "Raise net revenue retention from 104% to 110%"}
    log = edited_both_ways(tmp_path, hub, emu, lambda: emu.edit(table, emu.record_where(table, **record), Current=108))
    [patch] = [h.json() for h in log if h.method == "PATCH"]
    assert patch["typecast"] is True and patch["records"] == [
        {"id": emu.record_where(table, **{"Key result": "Keep p95 API latency below 300 ms"}), "fields": {"Current": 77.0}}]
    write_sheet(tmp_path / "okrs.csv", [r for r in csv_rows(tmp_path) if r["Key result ID"] != "KR-3"])
    emu.reset_log()
    sync(hub)
    assert emu.count("DELETE") == 1
    assert len([r for r in emu.rows(table) if r.get("Key result")]) == 38


def test_hierarchical_a_kr_linked_to_another_objective_in_airtable_follows_its_parent(tmp_path, emu):
    hub = saas_hub(tmp_path, "airtable", one_table(emu, "hierarchical"))[0]
    sync(hub)
    co2 = next(r["id"] for r in emu.rows(emu.okrs) if r.get("Objective ID") == "CO-2" and not r.get("Key result ID"))
    emu.edit(emu.okrs, emu.record_where(emu.okrs, **{"Key result ID": "KR-1"}), Parent=[co2])
    sync(hub)
    assert kr(csv_rows(tmp_path), "KR-1")["Objective ID"] == "CO-2"  # the link wins over the stale cell
    edit_row(tmp_path / "okrs.csv", "KR-1", **{"Objective ID": "CO-1"})
    emu.reset_log()
    sync(hub)
    co1 = next(r["id"] for r in emu.rows(emu.okrs) if r.get("Objective ID") == "CO-1" and not r.get("Key result ID"))
    [patch] = [h.json() for h in emu.log if h.method == "PATCH"]
    assert [r["fields"] for r in patch["records"]] == [{"Parent": [co1]}]


@pytest.mark.parametrize("layout", ["linked", "flat"])
def test_a_record_changed_between_read_and_write_is_not_overwritten_but_read_again_and_merged(tmp_path, emu, layout):
    given, table = endpoint(emu, layout)
    hub = saas_e2e.settled(prefer_sheet(saas_hub(tmp_path, "airtable", given)[0]), emu)
    record = emu.record_where(table, **{"Key result": "Grow ARR from €8.4M to €10.2M"})
    log = saas_e2e.edited_while_written(tmp_path, hub, emu, "airtable", lambda: emu.edit(table, record, Current=9_500_000))
    [patch] = [h.json() for h in log if h.method == "PATCH"]  # only the write after the merge
    assert patch["records"] == [{"id": record, "fields": {"Current": 9100000.0}}]
    assert emu.rows(table)[0]["Current"] == 9_100_000


def test_who_edited_a_record_in_airtable_shows_in_the_log_and_the_review_pack(tmp_path, emu, monkeypatch):
    """Issue 23 item 5: a table with a "Last modified by" field (found by its type in the
    schema okrsync reads anyway) names who changed each record, in the record listing itself:
    no request per record, none more at all."""
    from .helpers.who import edited_in_the_tool

    emu.tables[emu.krs]["fields"].append({"id": "fldEDITORxxxxxxx", "name": "Edited by", "type": "lastModifiedBy"})
    mia = emu.add_user("mia.chen@example.com", "Mia Chen")

    def edit():
        emu.edit(emu.krs, emu.record_where(emu.krs, **{"Key result": "Grow ARR from €8.4M to €10.2M"}), by=mia,
                 Current=9_300_000)
        emu.edit(emu.krs, emu.record_where(emu.krs, **{"Key result": "Raise net revenue retention from 104% to 110%"}),
                 by={"id": "usrGUEST00000000"}, Current=109)

    log, changes, requests = edited_in_the_tool(tmp_path, monkeypatch, "airtable", options(emu), edit, emu)
    assert sorted((r["new"], r["actor"]) for r in log if r["field"] == "current") == [
        (109, "airtable user usrGUEST00000000"), (9300000, "Mia Chen")]
    assert sorted((c["new"], c["who"], c["origin"]) for c in changes if c["field"] == "current") == [
        ("109", "airtable user usrGUEST00000000", "airtable"), ("9300000", "Mia Chen", "airtable")]
    # the schema and one listing per table, as every read
    assert sorted(r.path.rsplit("/", 1)[-1] for r in requests if r.method == "GET") == sorted(
        ["tables", emu.objectives, emu.krs])
