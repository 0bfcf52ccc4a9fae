"""Smartsheet requests and answers checked against Smartsheet's own OpenAPI description
(a trimmed copy in tests/specs, see SOURCES.md): every request okrsync sends in a sync of
the example, in each layout, and every answer the emulator gives, through respx."""

import json
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from .emulators.server import Request
from .emulators.smartsheet import Smartsheet
from .helpers.saas_e2e import csv_rows, kr, sync, write_sheet
from .helpers.smartsheet_hub import SHEET
from .helpers.smartsheet_hub import make_hub as smartsheet_hub
from .helpers.smartsheet_spec import smartsheet_spec
from .helpers.spec_check import SpecMismatch

SPEC = smartsheet_spec()
BASE = "https://api.smartsheet.com/2.0"


@pytest.fixture
def emu():
    """The emulator's state and handlers behind respx, each exchange checked against the spec."""
    emu, sent = Smartsheet(), []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        query = dict(request.url.params)
        SPEC.request(request.method, request.url.path, body, query)
        sent.append((request.method, request.url.path, query, body))
        status, out, headers = emu._respond(Request(request.method, request.url.path,
                                                    parse_qs(request.url.query.decode()), request.headers,
                                                    request.content))
        if status < 300:
            SPEC.response(request.method, request.url.path, status, out)
        return httpx.Response(status, json=out, headers=headers)

    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.route().mock(side_effect=handle)
        emu.sent = sent
        yield emu


def make_hub(tmp_path, emu, **extra):
    return smartsheet_hub(tmp_path, emu, {"type": "smartsheet", "sheet": str(SHEET), "token": "test-token", "rate": 1000,
                                          **extra})


@pytest.mark.parametrize("layout", ["flat", "hierarchical", "linked"])
def test_every_request_and_answer_of_a_sync_matches_the_spec(tmp_path, emu, layout):
    hub = make_hub(tmp_path, emu, layout=layout)
    sync(hub)  # columns, rows (top level and indented)
    rows = csv_rows(tmp_path)
    kr(rows, "KR-2")["Current"] = "107"
    write_sheet(tmp_path / "okrs.csv", [r for r in rows if r["Key result ID"] != "KR-9"])
    sync(hub)  # an update and a delete
    methods = {(m, p.rsplit("/", 1)[-1]) for m, p, _, _ in emu.sent}
    assert {("GET", str(SHEET)), ("POST", "columns"), ("POST", "rows"), ("PUT", "rows"), ("DELETE", "rows")} <= methods
    assert not emu.errors


def test_the_request_shapes(tmp_path, emu):
    hub = make_hub(tmp_path, emu, layout="hierarchical")
    sync(hub)
    columns = [b for m, p, _, b in emu.sent if m == "POST" and p.endswith("/columns")]
    assert len(columns) == 1 and all(c["type"] == "TEXT_NUMBER" for c in columns[0])
    adds = [b for m, p, _, b in emu.sent if m == "POST" and p.endswith("/rows")]
    assert all(r == {"toBottom": True, "cells": r["cells"]} for r in adds[0])  # the objective rows: top level
    assert len(adds[0]) == 13 and sum(len(a) for a in adds[1:]) == 39
    assert all(len({r["parentId"] for r in a}) == 1 for a in adds[1:])  # one location a request
    assert all(c["value"] not in (None, "") for a in adds for r in a for c in r["cells"])  # blanks are not sent
    [(_, _, query, _)] = [s for s in emu.sent if s[0] == "GET"][:1]
    assert query == {"include": "writerInfo"}  # each row's modifiedBy: who changed it (Record.actor)


def test_the_spec_copy_catches_a_wrong_request():
    with pytest.raises(SpecMismatch):
        SPEC.request("DELETE", f"/2.0/sheets/{SHEET}/rows", None, {"rowIds": "1"})
    with pytest.raises(SpecMismatch):
        # a column's title where its id belongs
        SPEC.request("POST", f"/2.0/sheets/{SHEET}/rows", [{"toBottom": True, "cells": [{"columnId": "Owner", "value": 1}]}])
