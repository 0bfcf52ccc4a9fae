"""Google Sheets end to end: the bundled example spreadsheet ⇄ the Sheets emulator over real HTTP."""

import functools
import json
import shutil
from pathlib import Path

import pytest

from okrsync.config import Config
from okrsync.connectors.google_sheets import GoogleSheetsConnector
from okrsync.connectors.spreadsheet import CsvConnector
from okrsync.errors import FatalError, RetryableError
from okrsync.store import Store
from okrsync.sync import Hub

from .emulators.google_sheets import GoogleSheets, GoogleTokens
from .helpers import saas_e2e
from .helpers.discovery_check import DiscoveryCheck
from .helpers.saas_e2e import csv_rows, kr, sync, write_sheet

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "okrs.csv"
SPEC = "google-sheets-v4.discovery.json"
SID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


@pytest.fixture
def emu():
    with saas_e2e.running(GoogleSheets(), spec=DiscoveryCheck.load(SPEC)) as server:  # every exchange against Google's discovery document
        yield server


def sheet_options(emu, **extra):
    options = {"type": "google-sheets", "spreadsheet": f"https://docs.google.com/spreadsheets/d/{SID}/edit#gid=0",
               "url": emu.url, "auth": {"bearer": "test-token"}, "rate": 1000, "timeout": 1, "sheet": "OKRs"}
    return {**options, **extra}


def connector(emu, **extra):
    options = sheet_options(emu, **extra)
    del options["type"]
    return GoogleSheetsConnector("gs", options)


def make_hub(tmp_path, emu, sync=None, tab_rows=1000, **extra):
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    if extra.get("layout") == "linked":
        emu.add_sheet(SID, "Objectives", row_count=tab_rows)
        emu.add_sheet(SID, "KRs", row_count=tab_rows)
        extra = {"tables": {"objective": "Objectives", "key_result": "KRs"}, **extra}
    else:
        emu.add_sheet(SID, "OKRs", row_count=tab_rows)
    config = Config.of(tmp_path, {"planning-sheet": {"type": "csv", "path": "okrs.csv"}, "gs": sheet_options(emu, **extra)},
                       {"order": ["planning-sheet", "gs"], **(sync or {})})
    return Hub(config, Store(None), {"csv": CsvConnector, "google-sheets": GoogleSheetsConnector})


@pytest.mark.parametrize("layout", ["flat", "hierarchical", "linked"])
def test_example_goes_to_the_sheet_and_a_second_sync_sends_nothing(tmp_path, emu, layout):
    hub = make_hub(tmp_path, emu, layout=layout)
    sync(hub)
    tab = "KRs" if layout == "linked" else "OKRs"
    krs = [r for r in emu.records(SID, tab) if r.get("Key result ID")]
    assert len(krs) == 39 and len({r["Key result ID"] for r in krs}) == 39
    assert emu.count("POST") == 1  # the whole board in one write
    emu.reset_log()
    plans = sync(hub)
    assert emu.count("POST") == 0 and emu.count("GET") == 1  # one batchGet per run, no write
    assert not any(p.changes for p in plans) and not emu.errors


def test_an_edit_in_the_sheet_comes_back_to_the_csv_and_only_its_row_is_written(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    sync(hub)
    emu.edit(SID, "OKRs", {"Key result ID": "KR-2"}, Current=108)
    emu.reset_log()
    sync(hub)
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "108"
    # and a change on the CSV side is one range of one row in one batchUpdate
    rows = csv_rows(tmp_path)
    kr(rows, "KR-5")["Current"] = "77"
    write_sheet(tmp_path / "okrs.csv", rows)
    emu.reset_log()
    sync(hub)
    [write] = [h for h in emu.log if h.method == "POST"]
    data = write.json()["data"]
    assert write.path.endswith("values:batchUpdate") and write.json()["valueInputOption"] == "RAW"
    assert len(data) == 1 and len(data[0]["values"]) == 1 and data[0]["values"][0][12] == "KR-5"
    assert [r for r in emu.records(SID, "OKRs") if r.get("Key result ID") == "KR-5"][0]["Current"] == 77


def test_a_conflict_is_settled_by_the_policy(tmp_path, emu):
    hub = make_hub(tmp_path, emu, sync={"conflicts": {"prefer": "planning-sheet"}})
    saas_e2e.conflict_settled_for_the_sheet(
        tmp_path, hub, lambda: emu.edit(SID, "OKRs", {"Key result ID": "KR-1"}, Current=9_500_000))
    assert [r for r in emu.records(SID, "OKRs") if r.get("Key result ID") == "KR-1"][0]["Current"] == 9_100_000


def test_a_row_deleted_in_the_sheet_is_deleted_under_the_guard(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    sync(hub)
    assert emu.delete_rows(SID, "OKRs", {"Key result ID": "KR-3"}) == 1

    def delete_most():
        for n in range(4, 30):
            emu.delete_rows(SID, "OKRs", {"Key result ID": f"KR-{n}"})

    saas_e2e.deleted_under_the_guard(tmp_path, hub, delete_most)


def test_sorted_and_inserted_rows_keep_their_links(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    sync(hub)
    emu.sort(SID, "OKRs", "Key result", reverse=True)  # whole rows move, ids with them
    header = emu.values(SID, "OKRs")[0]
    row = [""] * len(header)
    for name, value in {"Objective ID": "CO-1", "Objective": "Grow into a €12M ARR business",
                        "Key result": "Sign 3 reference customers", "Start": 0, "Target": 3}.items():
        row[header.index(name)] = value
    emu.insert_row(SID, "OKRs", 5, row)  # a person types a KR in the middle, without an id
    plans = sync(hub)
    assert hub.store.count("key_result") == 40 and hub.store.count("objective") == 13  # no duplicates
    assert sum(1 for p in plans for c in p.changes if c.op == "create") == 2  # the new KR: in the hub, then in the CSV
    assert not any(c.op == "delete" for p in plans for c in p.changes)
    assert any(r["Key result"] == "Sign 3 reference customers" for r in csv_rows(tmp_path))
    emu.reset_log()
    assert not any(p.changes for p in sync(hub)) and emu.count("POST") == 0


def test_okrsync_never_writes_a_formula(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    text = '=HYPERLINK("https://evil.example","click")'
    rows = csv_rows(tmp_path)
    kr(rows, "KR-1")["Key result"] = "'" + text  # the CSV holds it escaped, as okrsync writes files
    write_sheet(tmp_path / "okrs.csv", rows)
    sync(hub)
    [cell] = [r["Key result"] for r in emu.records(SID, "OKRs") if r.get("Key result ID") == "KR-1"]
    assert cell == "'" + text and emu.formulas_made == 0
    assert [h.json()["valueInputOption"] for h in emu.log if h.path.endswith("batchUpdate")] in ([], ["RAW"])
    assert all(h.query.get("valueInputOption") == ["RAW"] for h in emu.log if h.path.endswith(":append"))
    hub.store.set_cursor("gs", "records", None, hub.store.begin_run("check"))
    assert not any(p.changes for p in sync(hub))  # read back whole: the same title, no edit


def test_rows_past_the_grid_are_appended_and_a_lost_append_answer_duplicates_nothing(tmp_path, emu):
    hub = make_hub(tmp_path, emu, tab_rows=20)  # the grid holds 20 rows, the board needs 53
    emu.faults.inject("timeout", path=r".*:append", apply_then_fail=True)  # done, but the answer is lost
    with pytest.raises(RetryableError, match="append"):
        sync(hub)
    assert emu.count("POST") == 1  # an append is never re-sent blindly
    sync(hub)
    krs = [r["Key result ID"] for r in emu.records(SID, "OKRs") if r.get("Key result ID")]
    assert sorted(krs) == sorted(set(krs)) and len(krs) == 39
    assert not any(p.changes for p in sync(hub))


@pytest.mark.parametrize("fault", ["429", "500", "503", "truncate", "timeout", "reset"])
def test_faults_are_retried_without_duplicates_or_lost_edits(tmp_path, emu, fault, monkeypatch):
    monkeypatch.setattr("okrsync.http.tenacity.wait_exponential_jitter.__call__", lambda self, state: 0.0)
    hub = make_hub(tmp_path, emu)
    sync(hub)
    emu.edit(SID, "OKRs", {"Key result ID": "KR-2"}, Current=109)
    rows = csv_rows(tmp_path)
    kr(rows, "KR-7")["Current"] = "4"
    write_sheet(tmp_path / "okrs.csv", rows)
    emu.faults.inject(fault, times=2, path=r".*batchGet")
    emu.faults.inject(fault, times=1, path=r".*batchUpdate", apply_then_fail=fault in ("timeout", "truncate", "reset"))
    sync(hub)
    assert emu.faults.pending() == 0
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "109"
    assert [r for r in emu.records(SID, "OKRs") if r.get("Key result ID") == "KR-7"][0]["Current"] == 4
    assert len([r for r in emu.records(SID, "OKRs") if r.get("Key result ID")]) == 39
    assert not any(p.changes for p in sync(hub))


def test_a_429_storm_past_the_attempts_fails_the_run_without_advancing_the_cursor(tmp_path, emu, monkeypatch):
    monkeypatch.setattr("okrsync.http.tenacity.wait_exponential_jitter.__call__", lambda self, state: 0.0)
    hub = make_hub(tmp_path, emu)
    sync(hub)
    emu.edit(SID, "OKRs", {"Key result ID": "KR-2"}, Current=111)
    cursor = hub.store.cursor("gs", "records")
    emu.faults.inject("429", times=5)
    with pytest.raises(Exception, match="429"):
        sync(hub)
    assert hub.store.cursor("gs", "records") == cursor and emu.count(status=429) == 5
    sync(hub)
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "111"


def test_a_service_account_key_gets_its_token_from_the_token_uri(tmp_path, emu):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    email = "okrsync@project.iam.gserviceaccount.com"
    with GoogleTokens(emu.tokens, {email: key.public_key()}) as tokens:
        info = {"type": "service_account", "project_id": "project", "private_key_id": "k1", "private_key": pem,
                "client_email": email, "client_id": "1", "token_uri": tokens.url + "/token"}
        (tmp_path / "key.json").write_text(json.dumps(info))
        emu.tokens.discard("test-token")
        hub = make_hub(tmp_path, emu, auth={"service_account": (tmp_path / "key.json").read_text()})
        sync(hub)
        sync(hub)
        assert tokens.issued == 1  # one token, reused until it expires
        assert len(emu.records(SID, "OKRs")) == 39 and emu.count(status=401) == 0
        emu.tokens.clear()  # revoked early: the 401 gets one fresh token and the request again
        sync(hub)
        assert tokens.issued == 2 and emu.count(status=401) == 1
        endpoint = connector(emu, auth={"service_account": info})
        assert "BEGIN PRIVATE KEY" not in repr(endpoint.api.client.auth)


def test_a_missing_tab_and_refused_credentials_say_what_to_do(tmp_path, emu):
    emu.add_sheet(SID, "Other")
    conn = connector(emu)
    with pytest.raises(FatalError, match="does the tab exist"):
        list(conn.read(None))
    conn = connector(emu, auth={"bearer": "expired"})
    with pytest.raises(FatalError, match="bearer token lives one hour"):
        list(conn.read(None))
    conn = connector(emu, spreadsheet="1ZZZZZZZZZZZZZZZZZZZZZZZZZZ")
    with pytest.raises(FatalError, match="check the id in its URL"):
        list(conn.read(None))


@pytest.mark.parametrize("layout, hidden", [("flat", {"OKRs": {0, 12}}), ("linked", {"Objectives": {0}, "KRs": {0}})])
def test_hide_ids_hides_the_id_columns_okrsync_adds_once(tmp_path, emu, layout, hidden):
    hub = make_hub(tmp_path, emu, layout=layout, hide_ids=True)
    sync(hub)
    tabs = emu.spreadsheets[SID]
    assert {name: t.hidden_columns for name, t in tabs.items()} == hidden
    assert emu.count("GET", f"/v4/spreadsheets/{SID}") == 2 and emu.count("POST", f"/v4/spreadsheets/{SID}:batchUpdate") == 1
    emu.reset_log()
    emu.edit(SID, list(tabs)[-1], {"Key result ID": "KR-2"}, Current=107)
    sync(hub)
    assert emu.count("POST", f"/v4/spreadsheets/{SID}:batchUpdate") == 0  # only when the columns are new
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "107"


@pytest.mark.parametrize("layout, tab", [("flat", "OKRs"), ("hierarchical", "OKRs"), ("linked", "KRs")])
def test_sorting_any_layout_keeps_every_link_and_edits_come_back(tmp_path, emu, layout, tab):
    hub = make_hub(tmp_path, emu, layout=layout)
    sync(hub)
    parents = {r["Key result ID"]: r["Objective ID"] for r in csv_rows(tmp_path)}
    emu.edit(SID, tab, {"Key result ID": "KR-4"}, Current=99.95, Status="At risk")
    emu.sort(SID, tab, "Key result")  # hierarchical: every objective row above every KR row now
    emu.reset_log()
    plans = sync(hub)
    row = kr(csv_rows(tmp_path), "KR-4")
    assert (row["Current"], row["Status"]) == ("99.95", "At risk")
    assert {r["Key result ID"]: r["Objective ID"] for r in csv_rows(tmp_path)} == parents  # no KR moved
    assert sum(len(p.changes) for p in plans) == 2  # KR-4 into the hub, then into the CSV; nothing else
    assert emu.count("POST") == 0  # the sheet already holds what the hub has now


def test_a_hierarchical_kr_typed_without_an_objective_id_belongs_to_the_objective_above(tmp_path, emu):
    hub = make_hub(tmp_path, emu, layout="hierarchical")
    sync(hub)
    values = emu.values(SID, "OKRs")
    header = values[0]
    at = next(i for i, r in enumerate(values) if r and r[0] == "CO-2")  # CO-2's objective row
    row = [""] * len(header)
    row[header.index("Key result")], row[header.index("Target")] = "Halve pager noise", 50
    emu.insert_row(SID, "OKRs", at + 2, row)  # right below it, as people do
    sync(hub)
    [new] = [r for r in csv_rows(tmp_path) if r["Key result"] == "Halve pager noise"]
    assert new["Objective ID"] == "CO-2" and hub.store.count("key_result") == 40


def test_an_answer_off_googles_spec_fails_the_test(tmp_path, monkeypatch):
    real = GoogleSheets.batch_get

    @functools.wraps(real)  # keeps the route
    def off_spec(self, req):  # the discovery document's ValueRange.majorDimension is ROWS or COLUMNS
        status, body = real(self, req)
        return status, {**body, "valueRanges": [{**r, "majorDimension": "DIAGONAL"} for r in body["valueRanges"]]}

    monkeypatch.setattr(GoogleSheets, "batch_get", off_spec)
    with (pytest.raises(AssertionError, match=r"exchange\(s\) off the vendor's spec, the first: GET /v4/spreadsheets/"
                                              rf"{SID}/values:batchGet: .*majorDimension: 'DIAGONAL' is not one of"),
          GoogleSheets() as server):
        server.spec = DiscoveryCheck.load(SPEC)
        sync(make_hub(tmp_path, server))
        assert len(server.records(SID, "OKRs")) == 39  # the sync itself went through
