"""The Airtable emulator seeded as the example's base would be: its people, an Objectives
table linked to itself (the parent) and a Key results table linked to it."""

from .vendors import example_emails

TOKEN = "patSECRETairtable.0123456789abcdef"
SELECT = {"type": "singleSelect"}
NUMBER = {"type": "number", "options": {"precision": 2}}


def seed(emu) -> None:
    """The people of the example, an Objectives table (linked to itself: the parent) and a
    Key results table linked to it, with a count of that link."""
    for email in example_emails():
        emu.add_user(email)
    emu.objectives = emu.add_table("Objectives", {
        "Objective": {"type": "singleLineText"}, "Objective description": {"type": "multilineText"},
        "Objective owner": {"type": "singleCollaborator"}, "Team": SELECT, "Period": SELECT,
        "Objective type": SELECT, "Objective status": SELECT, "Parent objective": {"type": "multipleRecordLinks"}})
    emu.tables[emu.objectives]["fields"][-1]["options"] = {"linkedTableId": emu.objectives}
    emu.krs = emu.add_table("Key results", {
        "Key result": {"type": "singleLineText"},
        "Objective": {"type": "multipleRecordLinks", "options": {"linkedTableId": emu.objectives}},
        "Owner": {"type": "singleCollaborator"}, "Direction": SELECT, "Unit": SELECT, "Currency": SELECT,
        "Start": NUMBER, "Current": NUMBER, "Target": NUMBER, "Weight": NUMBER, "Confidence": NUMBER,
        "Status": SELECT, "Due": {"type": "date"},
        "Objective links": {"type": "count", "options": {"fieldName": "Objective"}}})
