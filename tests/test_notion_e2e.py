"""Notion end to end: the bundled example spreadsheet ⇄ two Notion databases (objectives,
key results related to them) in the Notion emulator, over real HTTP."""

import pytest

from connectors.notion import NotionConnector
from okrsync.errors import ConfigError, DeleteGuardError, FatalError, RetryableError

from .emulators.notion import Notion
from .saas_e2e import make_hub as saas_hub, sync, write_sheet
from .test_google_sheets_e2e import csv_rows, kr
from .vendors import example_emails

TOKEN = "secret_NOTION-e2e-5c1d"
OBJECTIVE = {"Objective": {"type": "title"}, "Objective description": {"type": "rich_text"},
             "Objective owner": {"type": "people"}, "Team": {"type": "select"}, "Period": {"type": "select"},
             "Objective type": {"type": "select"}, "Objective status": {"type": "status"}}
KEY_RESULT = {"Key result": {"type": "title"}, "Owner": {"type": "people"}, "Direction": {"type": "select"},
              "Unit": {"type": "select"}, "Currency": {"type": "select"}, "Start": {"type": "number"},
              "Current": {"type": "number"}, "Target": {"type": "number"}, "Weight": {"type": "number"},
              "Confidence": {"type": "number"}, "Status": {"type": "status"}, "Due": {"type": "date"}}


@pytest.fixture
def emu():
    with Notion(token=TOKEN) as server:
        server.faults.hang = 0.3
        for email in example_emails():
            server.add_user(email)
        server.objectives = server.add_database("Objectives", {
            **OBJECTIVE, "Parent objective": {"type": "relation", "database_id": "later"}})
        server.databases[server.objectives]["properties"]["Parent objective"]["relation"]["database_id"] = server.objectives
        server.krs = server.add_database("Key results", {
            **KEY_RESULT, "Objective": {"type": "relation", "database_id": server.objectives},
            "Objectives linked": {"type": "rollup", "relation_property_name": "Objective", "rollup_property_name": "x",
                                  "function": "count"}})
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
