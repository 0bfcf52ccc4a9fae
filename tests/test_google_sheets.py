"""Google Sheets connector: requests and canned answers checked against Google's discovery document."""

import pytest

from okrsync.connector import Context, Record, WriteBatch
from okrsync.connectors.google_sheets import GoogleSheetsConnector, _Grid
from okrsync.errors import ConfigError, FatalError, RetryableError

from .emulators.google_sheets import STATUS, GoogleSheets
from .helpers.discovery_check import DiscoveryCheck, DiscoveryMock
from .helpers.spec_check import SpecMismatch

SPEC = "google-sheets-v4.discovery.json"
BASE = "https://sheets.googleapis.com"
SID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
P = f"/v4/spreadsheets/{SID}"
HEADER = ["Objective ID", "Objective", "Key result ID", "Key result", "Start", "Current", "Target"]
ROWS = [HEADER, ["O-1", "Grow", "KR-1", "Reach 5M ARR", 3, 3.5, 5], ["O-1", "Grow", "KR-2", "Ten logos", 0, 4, 10]]


def connector(**extra):
    options = {"spreadsheet": SID, "sheet": "OKRs", "auth": {"bearer": "t0ken"}, "rate": 0, "attempts": 3, **extra}
    conn = GoogleSheetsConnector("gs", options)
    conn.api.sleep = lambda s: None
    conn.api.pacer.sleep = lambda s: None
    return conn


def got(values, grid="OKRs!A1:Z1000"):
    answer = {"range": grid, "majorDimension": "ROWS"}
    if values:
        answer["values"] = values
    return 200, {"spreadsheetId": SID, "valueRanges": [answer]}


def updated(n=1):
    return 200, {"spreadsheetId": SID, "totalUpdatedRows": n, "totalUpdatedCells": 7 * n, "responses": []}


def test_the_discovery_adapter_checks_like_spec_check():
    spec = DiscoveryCheck.load(SPEC)
    assert spec.operation("POST", f"{P}/values:batchUpdate")[0] == "/v4/spreadsheets/{spreadsheetId}/values:batchUpdate"
    assert spec.operation("POST", f"{P}/values/'OKRs'!A1:B2:append")[0].endswith("/values/{range}:append")
    spec.request("GET", f"{P}/values:batchGet", query={"ranges": ["'A'", "'B'"], "valueRenderOption": "UNFORMATTED_VALUE"})
    with pytest.raises(SpecMismatch, match="not one of"):
        spec.request("GET", f"{P}/values:batchGet", query={"valueRenderOption": "RAW"})
    with pytest.raises(SpecMismatch, match="does not declare: /data/0/rows"):
        spec.request("POST", f"{P}/values:batchUpdate", {"valueInputOption": "RAW", "data": [{"range": "A1", "rows": []}]})
    with pytest.raises(SpecMismatch, match="not of type 'integer'"):
        spec.response("POST", f"{P}/values:batchUpdate", 200, {"totalUpdatedRows": "2"})
    # errors: Google's one shape (https://cloud.google.com/apis/design/errors)
    spec.response("GET", f"{P}/values:batchGet", 400, {"error": {"code": 400, "message": "x", "status": "INVALID_ARGUMENT"}})
    with pytest.raises(SpecMismatch, match="error/status: 'BAD' is not one of"):
        spec.response("GET", f"{P}/values:batchGet", 404, {"error": {"code": 404, "message": "x", "status": "BAD"}})
    with pytest.raises(SpecMismatch, match="'error' is a required property"):
        spec.response("GET", f"{P}/values:batchGet", 400, {"message": "Bad request"})


def test_a_read_is_one_batch_get_of_the_tab_with_unformatted_numbers():
    with DiscoveryMock(SPEC, BASE) as api:
        api.on("GET", f"{P}/values:batchGet", [got(ROWS)])
        items = list(connector().read(None))
    [(_, _, query, _)] = api.sent
    assert query == {"ranges": "'OKRs'", "majorDimension": "ROWS", "valueRenderOption": "UNFORMATTED_VALUE",
                     "dateTimeRenderOption": "FORMATTED_STRING"}
    records = [i for i in items if isinstance(i, Record)]
    assert [(r.kind, r.external_id) for r in records] == [("objective", "O-1"), ("key_result", "KR-1"), ("key_result", "KR-2")]
    assert records[1].fields["current"] == 3.5 and records[1].where == f"spreadsheet {SID} [OKRs] row 2"
    assert items[-1].full_listing and items[-1].value


def test_an_unchanged_sheet_is_not_parsed_again_and_an_empty_one_is_not_a_mass_delete():
    with DiscoveryMock(SPEC, BASE) as api:
        api.on("GET", f"{P}/values:batchGet", [got(ROWS), got(ROWS), got([]), got([])])
        conn = connector()
        cursor = list(conn.read(None))[-1].value
        again = list(conn.read(cursor))
        assert len(again) == 1 and not again[0].full_listing
        empty = list(conn.read(None))
        assert "is empty; a push fills it" in empty[0].message and not empty[-1].full_listing
        with pytest.raises(FatalError, match="empty since the last run"):
            list(conn.read(cursor))


def test_a_write_sends_only_the_changed_row_raw_and_neutralised():
    with DiscoveryMock(SPEC, BASE) as api:
        api.on("GET", f"{P}/values:batchGet", [got(ROWS)])
        api.on("POST", f"{P}/values:batchUpdate", [updated()])
        conn = connector()
        records = [r for r in conn.read(None) if isinstance(r, Record)]
        records[2].fields["title"] = "=HYPERLINK(\"https://x\",\"y\")"
        result = conn.write(WriteBatch(updates=[records[2]], unchanged=records[:2]))
    [(_, _, _, body)] = api.calls("POST")
    assert body == {"valueInputOption": "RAW", "data": [
        {"range": "'OKRs'!A3:G3", "majorDimension": "ROWS",
         "values": [["O-1", "Grow", "KR-2", "'=HYPERLINK(\"https://x\",\"y\")", 0, 4, 10]]}]}
    assert not result.rejected and result.cursor


def test_rows_added_inside_the_grid_fold_into_the_batch_update_and_past_it_are_appended():
    old = _Grid([list(r) for r in ROWS], rows=4, columns=26)
    new = [*ROWS[:2], ["O-1", "Grow", "KR-2", "Ten logos", 0, 5, 10], ["O-2", "Hire", "KR-3", "Hire 3", 0, 1, 3]]
    data, tail = old.changes(new, "OKRs")
    assert [d["range"] for d in data] == ["'OKRs'!A3:G4"] and tail is None  # edit + addition: one range
    data, tail = old.changes([*new, ["O-2", "Hire", "KR-4", "Ship", 0, 0, 1]], "OKRs")
    assert [d["range"] for d in data] == ["'OKRs'!A3:G3"] and tail == (4, [new[3], ["O-2", "Hire", "KR-4", "Ship", 0, 0, 1]])
    data, tail = old.changes(ROWS[:2], "OKRs")  # a deleted row is cleared with ""
    assert data[0]["values"] == [[""] * 7] and tail is None
    assert old.changes([list(r) for r in ROWS], "OKRs") == ([], None)


def test_appending_past_the_grid_is_one_append_request():
    with DiscoveryMock(SPEC, BASE) as api:
        api.on("GET", f"{P}/values:batchGet", [got(ROWS, "OKRs!A1:Z3")])
        api.on("POST", f"{P}/values/.+:append", [(200, {"spreadsheetId": SID, "tableRange": "OKRs!A1:G3",
                                                          "updates": {"updatedRange": "OKRs!A4:G4", "updatedRows": 1}})])
        conn = connector()
        records = [r for r in conn.read(None) if isinstance(r, Record)]
        new = Record("key_result", "KR-9", {**records[1].fields, "title": "New one", "objective_id": "O-1"}, canonical_id="kr_9")
        result = conn.write(WriteBatch(creates=[new], unchanged=records))
    [(_, path, query, body)] = api.calls("POST")
    assert path == f"{P}/values/'OKRs'!A1:G3:append" and query == {"valueInputOption": "RAW", "insertDataOption": "OVERWRITE"}
    assert body["values"][0][2:4] == ["KR-9", "New one"] and result.external_ids == {"kr_9": "KR-9"}


def test_429_without_retry_after_backs_off_and_retries():
    with DiscoveryMock(SPEC, BASE) as api:
        error = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
        api.on("GET", f"{P}/values:batchGet", [(429, error), (503, error), got(ROWS)])
        conn = connector()
        assert len([r for r in conn.read(None) if isinstance(r, Record)]) == 3
        assert conn.take_counts() == (3, 2)
    with DiscoveryMock(SPEC, BASE) as api:
        api.on("GET", f"{P}/values:batchGet", [(429, error)])
        with pytest.raises(RetryableError, match="429"):
            list(connector().read(None))


def test_refusals_carry_advice():
    body = lambda code, msg: (code, {"error": {"code": code, "message": msg, "status": STATUS[code]}})  # noqa: E731
    for answer, advice in [(body(401, "bad"), "bearer token lives one hour"), (body(403, "nope"), "share it"),
                           (body(404, "gone"), "check the id"),
                           (body(400, "Range ('OKRs'!A2:AA2) exceeds grid limits. Max rows: 9, max columns: 26"), "add columns"),
                           (body(400, "Unable to parse range: 'OKRs'"), "does the tab exist")]:
        with DiscoveryMock(SPEC, BASE) as api:
            api.on("GET", f"{P}/values:batchGet", [answer])
            with pytest.raises(FatalError, match=advice) as caught:
                list(connector().read(None))
            assert "t0ken" not in str(caught.value)


@pytest.mark.parametrize("options, message", [
    ({"spreadsheet": "nope"}, "needs the spreadsheet's id or URL"),
    ({"sheet": None}, "name the tab"),
    ({"auth": None}, "needs 'auth:'"),
    ({"auth": {"token": "x"}}, "auth: give {bearer"),
    ({"auth": {"service_account": "{not json"}}, "not a usable service-account key"),
    ({"auth": {"service_account": {"type": "service_account"}}}, "not a usable service-account key"),
    ({"sheeet": "OKRs"}, "did you mean 'sheet'"),
    ({"url": "http://example.com"}, "plain http://"),
    ({"layout": "linked"}, "needs 'tables:'"),
])
def test_bad_options_say_what_to_fix(options, message):
    base = {"spreadsheet": SID, "sheet": "OKRs", "auth": {"bearer": "t0ken"}}
    with pytest.raises(ConfigError, match=message) as caught:
        GoogleSheetsConnector("gs", {**base, **options})
    assert "t0ken" not in str(caught.value)


def test_the_emulator_answers_what_the_spec_describes():
    spec = DiscoveryCheck.load(SPEC)
    with GoogleSheets() as emu:
        emu.add_sheet(SID, "OKRs", ROWS)
        conn = connector(url=emu.url, auth={"bearer": "test-token"})
        list(conn.read(None))
        conn._call("POST", f"{P}/values:batchUpdate", json={"valueInputOption": "RAW", "data": [
            {"range": "'OKRs'!A4:B4", "majorDimension": "ROWS", "values": [["O-2", "x"]]}]})
        conn._call("POST", f"{P}/values/%27OKRs%27%21A1:append", params={"valueInputOption": "RAW"},
                   json={"values": [["O-3", "y"]]})
        for hit in emu.log:
            spec.request(hit.method, hit.path.replace("%27", "'").replace("%21", "!"), hit.json(),
                         {k: v if len(v) > 1 else v[0] for k, v in hit.query.items()})
        assert [h.status for h in emu.log] == [200, 200, 200]
        assert emu.values(SID, "OKRs")[3:] == [["O-2", "x"], ["O-3", "y"]]


def test_the_emulator_responses_match_the_spec():
    spec = DiscoveryCheck.load(SPEC)
    import httpx

    with GoogleSheets() as emu:
        emu.add_sheet(SID, "OKRs", ROWS, row_count=3)
        headers = {"Authorization": "Bearer test-token"}
        r = httpx.get(f"{emu.url}{P}/values:batchGet", params={"ranges": "OKRs", "valueRenderOption": "UNFORMATTED_VALUE"}, headers=headers)
        spec.response("GET", f"{P}/values:batchGet", 200, r.json())
        assert r.json()["valueRanges"][0]["range"] == "OKRs!A1:Z3"
        r = httpx.post(f"{emu.url}{P}/values:batchUpdate", headers=headers,
                       json={"valueInputOption": "RAW", "data": [{"range": "OKRs!A4", "values": [["x"]]}]})
        assert r.status_code == 400 and "exceeds grid limits" in r.json()["error"]["message"]
        r = httpx.post(f"{emu.url}{P}/values/OKRs!A1:append", params={"valueInputOption": "USER_ENTERED"}, headers=headers,
                       json={"values": [["=1+1", "'=2"]]})
        spec.response("POST", f"{P}/values/OKRs!A1:append", 200, r.json())
        assert emu.formulas_made == 1 and emu.values(SID, "OKRs")[3] == ["=1+1", "=2"]  # USER_ENTERED would
        r = httpx.post(f"{emu.url}{P}/values:batchUpdate", headers=headers,
                       json={"valueInputOption": "RAW", "data": [{"range": "OKRs!A2:B2", "values": [["=3", None]]}]})
        spec.response("POST", f"{P}/values:batchUpdate", 200, r.json())
        assert emu.values(SID, "OKRs")[1][:2] == ["=3", "Grow"] and emu.formulas_made == 1  # RAW: text; null: kept
        r = httpx.get(f"{emu.url}{P}", params={"fields": "sheets.properties(sheetId,title)"}, headers=headers)
        spec.response("GET", P, 200, r.json())
        sheet_id = r.json()["sheets"][0]["properties"]["sheetId"]
        hide = {"requests": [{"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1},
            "properties": {"hiddenByUser": True}, "fields": "hiddenByUser"}}]}
        spec.request("POST", f"{P}:batchUpdate", hide)
        r = httpx.post(f"{emu.url}{P}:batchUpdate", headers=headers, json=hide)
        spec.response("POST", f"{P}:batchUpdate", 200, r.json())
        assert emu.spreadsheets[SID]["OKRs"].hidden_columns == {0}
        r = httpx.get(f"{emu.url}{P}/values:batchGet", params={"ranges": "OKRs"}, headers={"Authorization": "Bearer x"})
        assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_hide_ids_asks_for_sheet_ids_then_hides_the_new_id_columns_in_one_request():
    with DiscoveryMock(SPEC, BASE) as api:
        api.on("GET", f"{P}/values:batchGet", [got([], "OKRs!A1:AZ1000")])  # wide enough: no append
        api.on("POST", f"{P}/values:batchUpdate", [updated(3)])
        api.on("GET", P, [(200, {"spreadsheetId": SID, "sheets": [{"properties": {"sheetId": 42, "title": "OKRs"}}]})])
        api.on("POST", f"{P}:batchUpdate", [(200, {"spreadsheetId": SID, "replies": [{}, {}]})])
        conn = connector(hide_ids=True)
        assert list(conn.read(None))[-1].full_listing is False
        objective = Record("objective", "O-1", {"title": "Grow"}, canonical_id="obj_1")
        result = conn.write(WriteBatch(creates=[objective, Record("key_result", "KR-1", {"title": "ARR", "objective_id": "obj_1"},
                                                                  canonical_id="kr_1")]))
    assert result.external_ids == {"obj_1": "O-1", "kr_1": "KR-1"}
    assert api.calls("GET", P)[-1][2] == {"fields": "sheets.properties(sheetId,title)"}
    [(_, _, _, body)] = api.calls("POST", f"{P}:batchUpdate")
    ranges = [r["updateDimensionProperties"]["range"] for r in body["requests"]]
    header = api.calls("POST", f"{P}/values:batchUpdate")[0][3]["data"][0]["values"][0]
    assert [(r["sheetId"], header[r["startIndex"]]) for r in ranges] == [(42, "Objective ID"), (42, "Key result ID")]


def test_a_new_token_does_not_make_an_unchanged_sheet_look_changed():
    with DiscoveryMock(SPEC, BASE) as api:
        api.on("GET", f"{P}/values:batchGet", [got(ROWS)])
        cursor = list(connector().read(None))[-1].value
        assert len(list(connector(auth={"bearer": "an0ther"}).read(cursor))) == 1  # just the cursor


def test_grid_rows_are_numbered_like_the_sheet_and_written_cells_neutralised():
    from okrsync import tabular

    rows = list(tabular.iter_grid([["Title", "x"], [], ["", " "], ["a", "", ""], ["'=b"]], file="f", sheet="T"))
    assert [(r.number, r.cells) for r in rows] == [(1, ["Title", "x"]), (4, ["a"]), (5, ["'=b"])]
    assert tabular.to_grid([["=1+1", None, 3, True, "'=x", "it's"]]) == [["'=1+1", "", 3, True, "''=x", "it's"]]


def test_hierarchical_kr_rows_may_name_their_objective_by_id_in_files_too(tmp_path):
    from okrsync.connectors.spreadsheet import CsvConnector

    (tmp_path / "h.csv").write_text("Objective ID,Objective,Key result ID,Key result,Target\n"
                                    "O-1,Grow,,,\nO-2,Hire,,,\nO-1,,KR-1,ARR,5\n,,KR-2,Logos,10\n", encoding="utf-8")
    conn = CsvConnector("h", {"path": "h.csv", "layout": "hierarchical"}, Context(base_dir=tmp_path))
    krs = {r.external_id: r.fields["objective_id"] for r in conn.read(None) if isinstance(r, Record) and r.kind == "key_result"}
    assert krs == {"KR-1": "O-1", "KR-2": "O-2"}  # by its id cell; without one, the objective above


TEAM_TABS = {  # one tab per team, each with its own column order (as the xlsx sheets: test has)
    "Sales": [["Objective ID", "Objective", "Key result ID", "Key result", "Target"],
              ["S-1", "Win EMEA", "S-1.1", "Ten logos", 10], ["S-1", "Win EMEA", "S-1.2", "Pipeline", 2000000]],
    "Platform": [["Key result", "Target", "Objective", "Objective ID", "Key result ID"],
                 ["Uptime", 99.9, "Be reliable", "P-1", "P-1.1"]],
    "Notes": [["Objective ID", "Objective", "Key result ID", "Key result", "Target"],
              ["N-1", "Write things down", "N-1.1", "Docs written", 12]],
}


def test_sheets_all_or_a_list_reads_each_tab_with_its_own_header_and_the_tab_name_as_a_value():
    spec = DiscoveryCheck.load(SPEC)
    with GoogleSheets() as emu:
        for tab, rows in TEAM_TABS.items():
            emu.add_sheet(SID, tab, rows)
        every = connector(url=emu.url, auth={"bearer": "test-token"}, sheet=None, sheets="all", table_values={"Team": "sheet"})
        items = list(every.read(None))
        records = [i for i in items if isinstance(i, Record)]
        assert [(r.kind, r.external_id, r.fields.get("team")) for r in records if r.kind == "objective"] == [
            ("objective", "S-1", "Sales"), ("objective", "P-1", "Platform"), ("objective", "N-1", "Notes")]
        assert sum(r.kind == "key_result" for r in records) == 4
        platform = next(r for r in records if r.external_id == "P-1.1")
        assert (platform.fields["target"], platform.fields["objective_id"], platform.where) == (
            99.9, "P-1", f"spreadsheet {SID} [Platform] row 2")
        # the tabs asked once (titles only), then one batchGet of all three
        asked = [(h.method, h.path, {k: v[0] for k, v in h.query.items()}) for h in emu.log]
        assert asked[0] == ("GET", P, {"fields": "sheets.properties.title"}) and len(asked) == 2
        assert emu.log[1].query["ranges"] == ["'Sales'", "'Platform'", "'Notes'"]
        for hit in emu.log:
            spec.request(hit.method, hit.path, hit.json(), {k: v if len(v) > 1 else v[0] for k, v in hit.query.items()})
        two = connector(url=emu.url, auth={"bearer": "test-token"}, sheet=None, sheets=["Platform", "Sales"])
        assert {r.external_id for r in two.read(None) if isinstance(r, Record) and r.kind == "objective"} == {"P-1", "S-1"}
        wrong = connector(url=emu.url, auth={"bearer": "test-token"}, sheet=None, sheets=["Sales", "Marketing"])
        with pytest.raises(ConfigError, match="sheets: no sheet 'Marketing' in spreadsheet .* \\(sheets: 'Sales', 'Platform', 'Notes'\\)"):
            list(wrong.read(None))
    with pytest.raises(ConfigError, match="sheets: is for a flat or hierarchical workbook"):
        connector(sheets="all")  # with sheet: OKRs as well
