"""The Notion emulator seeded as the example's workspace would be: its people, an Objectives
database related to itself (the parent) and a Key results database related to it."""

from .vendors import example_emails

TOKEN = "secret_NOTION-e2e-5c1d"
OBJECTIVE = {"Objective": {"type": "title"}, "Objective description": {"type": "rich_text"},
             "Objective owner": {"type": "people"}, "Team": {"type": "select"}, "Period": {"type": "select"},
             "Objective type": {"type": "select"}, "Objective status": {"type": "status"}}
KEY_RESULT = {"Key result": {"type": "title"}, "Owner": {"type": "people"}, "Direction": {"type": "select"},
              "Unit": {"type": "select"}, "Currency": {"type": "select"}, "Start": {"type": "number"},
              "Current": {"type": "number"}, "Target": {"type": "number"}, "Weight": {"type": "number"},
              "Confidence": {"type": "number"}, "Status": {"type": "status"}, "Due": {"type": "date"}}


def seed(emu) -> None:
    """The people of the example, an Objectives database (related to itself: the parent) and
    a Key results database related to it, with a rollup counting that relation."""
    for email in example_emails():
        emu.add_user(email)
    emu.objectives = emu.add_database("Objectives", {**OBJECTIVE, "Parent objective": {"type": "relation"}})
    emu.databases[emu.objectives]["properties"]["Parent objective"]["relation"]["database_id"] = emu.objectives
    emu.krs = emu.add_database("Key results", {
        **KEY_RESULT, "Objective": {"type": "relation", "database_id": emu.objectives},
        "Objectives linked": {"type": "rollup", "relation_property_name": "Objective", "rollup_property_name": "x",
                              "function": "count"}})
