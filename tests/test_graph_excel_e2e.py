"""Excel in OneDrive/SharePoint end to end: the bundled example spreadsheet ⇄ a workbook in
the Microsoft Graph emulator, over real HTTP; sign-in through msal against the emulated
Microsoft login."""

import io

import openpyxl
import pytest

from okrsync.connectors.graph_excel import GraphExcelConnector
from okrsync.errors import ConfigError, FatalError

from .emulators.graph import Graph
from .helpers import saas_e2e
from .helpers.graph_workbook import DRIVE, ITEM, cells, workbook
from .helpers.saas_e2e import csv_rows, edit_row, edited_both_ways, kr, prefer_sheet, sync
from .helpers.saas_e2e import make_hub as saas_hub


def edited(data: bytes, kr_id: str, **values) -> bytes:
    """The workbook after a person changed cells of one KR row in Excel."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["OKRs"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[header.index("Key result ID")].value == kr_id:
            for name, value in values.items():
                row[header.index(name)].value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def emu():
    with saas_e2e.running(Graph(), lambda emu: emu.add_file(DRIVE, ITEM, "OKRs 2026.xlsx", workbook())) as server:
        yield server


def options(emu, **extra):
    return {"url": emu.url + "/v1.0", "drive": DRIVE, "item": ITEM, "sheet": "OKRs",
            "auth": {"bearer": "graph-test-token"}, **extra}


def make_hub(tmp_path, emu, **extra):
    return saas_hub(tmp_path, "graph-excel", options(emu, **extra))[0]


def krs(emu):
    return {r["Key result ID"]: r for r in cells(emu.data(DRIVE, ITEM)) if r.get("Key result ID")}


def test_the_example_goes_into_the_workbook_and_a_second_sync_uploads_nothing(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    sync(hub)
    assert len(krs(emu)) == 39 and krs(emu)["KR-1"]["Target"] == 10200000 and not emu.errors
    [put] = [h for h in emu.log if h.method == "PUT"]
    assert emu.auth_on_download and not any(emu.auth_on_download)  # the download URL gets no token
    emu.reset_log()
    assert not any(p.changes for p in sync(hub))
    # the item, its content (302), the download URL: no upload
    assert [(h.method, h.status, h.path.rsplit("/", 1)[-1][:8]) for h in emu.log] == [
        ("GET", 200, ITEM[:8]), ("GET", 302, "content"), ("GET", 200, emu.log[2].path.rsplit("/", 1)[-1][:8])]


def test_an_edit_in_excel_comes_back_and_the_upload_carries_the_etag_read(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    log = edited_both_ways(tmp_path, hub, emu,
                           lambda: emu.save(DRIVE, ITEM, edited(emu.data(DRIVE, ITEM), "KR-2", Current=108), by="Kari Hansen"))
    [put] = [h for h in log if h.method == "PUT"]
    assert krs(emu)["KR-5"]["Current"] == 77 and krs(emu)["KR-2"]["Current"] == 108
    # who: the person the driveItem names as its last saver (issue 23); okrsync's own
    # app-only upload names no person, and the sheet's edit nobody
    assert [(r["new"], r["actor"]) for r in hub.store.changes() if r["field"] == "current" and r["kind"] == "update"] == [
        (108, "Kari Hansen"), (77, None)]


def test_a_workbook_saved_while_okrsync_writes_is_read_again_and_merged_never_overwritten(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    sync(hub)
    edit_row(tmp_path / "okrs.csv", "KR-5", Current="77")
    emu.save_after_download(lambda data: edited(data, "KR-9", Current=55))  # saved in Excel meanwhile
    emu.reset_log()
    plans = sync(hub)
    assert emu.count("PUT", status=412) == 1 and emu.count("PUT", status=200) == 1
    both = krs(emu)
    assert both["KR-5"]["Current"] == 77 and both["KR-9"]["Current"] == 55  # nothing lost
    assert any("read again, merged and written in the same run" in n for p in plans for n in p.notes)
    assert not any(p.rejected for p in plans if p.endpoint == "graph-excel" and p.direction == "push")
    sync(hub)  # the edit made in Excel reaches the CSV with the next run (its push came before)
    assert kr(csv_rows(tmp_path), "KR-9")["Current"] == "55" and kr(csv_rows(tmp_path), "KR-5")["Current"] == "77"


def test_a_conflict_is_settled_by_the_policy(tmp_path, emu):
    hub = prefer_sheet(make_hub(tmp_path, emu))
    saas_e2e.conflict_settled_for_the_sheet(
        tmp_path, hub, lambda: emu.save(DRIVE, ITEM, edited(emu.data(DRIVE, ITEM), "KR-1", Current=9_500_000)))
    assert krs(emu)["KR-1"]["Current"] == 9_100_000


def test_a_row_deleted_in_excel_is_deleted_under_the_guard(tmp_path, emu):
    hub = make_hub(tmp_path, emu)
    sync(hub)

    def without(data, ids):
        wb = openpyxl.load_workbook(io.BytesIO(data))
        ws = wb["OKRs"]
        column = [c.value for c in ws[1]].index("Key result ID")
        for i in reversed(range(2, ws.max_row + 1)):
            if ws.cell(i, column + 1).value in ids:
                ws.delete_rows(i)
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    emu.save(DRIVE, ITEM, without(emu.data(DRIVE, ITEM), {"KR-3"}))
    saas_e2e.deleted_under_the_guard(
        tmp_path, hub, lambda: emu.save(DRIVE, ITEM, without(emu.data(DRIVE, ITEM), {f"KR-{n}" for n in range(4, 30)})))


@pytest.mark.parametrize("fault", ["429", "503", "reset", "truncate"])
def test_throttling_and_faults_are_retried(tmp_path, emu, fault):
    hub = make_hub(tmp_path, emu)
    sync(hub)
    emu.save(DRIVE, ITEM, edited(emu.data(DRIVE, ITEM), "KR-2", Current=109))
    edit_row(tmp_path / "okrs.csv", "KR-7", Current="4")
    emu.faults.retry_after = 2
    waits = []
    hub.connector("graph-excel").api.sleep = waits.append
    emu.faults.inject(fault, times=1, method="GET", path=r"/v1.0/drives/[^/]+/items/[^/]+/content")
    emu.faults.inject(fault, times=1, method="PUT", apply_then_fail=fault in ("reset", "truncate"))
    sync(hub)
    assert emu.faults.pending() == 0
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "109" and krs(emu)["KR-7"]["Current"] == 4
    if fault == "429":
        assert waits.count(2.0) == 2  # Retry-After honoured, on the download and on the upload
    assert not any(p.changes for p in sync(hub))


def test_app_sign_in_through_msal(tmp_path, emu):
    emu.apps["11111111-app"] = "app-SECRET-value"
    emu.tokens.clear()
    auth = {"tenant": "contoso.onmicrosoft.com", "client_id": "11111111-app", "client_secret": "app-SECRET-value"}
    hub = make_hub(tmp_path, emu, auth=auth, login_url=emu.url)
    sync(hub)
    sync(hub)
    assert emu.issued == 1 and len(krs(emu)) == 39  # one token, kept by msal until it expires
    conn = hub.connector("graph-excel")
    assert "SECRET" not in repr(conn.api.client.auth)
    emu.tokens.clear()  # revoked early: a 401 gets one fresh token and the request again
    sync(hub)
    assert emu.issued == 2


def test_user_sign_in_with_a_refresh_token(tmp_path, emu):
    emu.refresh_tokens.add("refresh-SECRET-1")
    emu.tokens.clear()
    auth = {"tenant": "common", "client_id": "22222222-public", "refresh_token": "refresh-SECRET-1"}
    hub = make_hub(tmp_path, emu, auth=auth, login_url=emu.url)
    sync(hub)
    assert emu.issued == 1 and len(krs(emu)) == 39


def test_refusals_and_bad_options_say_what_to_do(tmp_path, emu):
    conn = GraphExcelConnector("g", options(emu, auth={"bearer": "expired"}))
    with pytest.raises(FatalError, match="Graph refused the token"):
        list(conn.read(None))
    conn = GraphExcelConnector("g", options(emu, item="NOPE"))
    with pytest.raises(FatalError, match="no such drive or item"):
        list(conn.read(None))
    emu.apps["app"] = "right"
    conn = GraphExcelConnector("g", options(emu, login_url=emu.url,
                                            auth={"tenant": "t", "client_id": "app", "client_secret": "wrong"}))
    with pytest.raises(FatalError, match="Microsoft sign-in refused .*check tenant") as e:
        list(conn.read(None))
    assert "wrong" not in str(e.value)
    with pytest.raises(ConfigError, match="needs 'drive:'"):
        GraphExcelConnector("g", {"auth": {"bearer": "t"}})
    with pytest.raises(ConfigError, match="tenant, client_id"):
        GraphExcelConnector("g", {"drive": "d", "item": "i", "auth": {"tenant": "t"}})
    with pytest.raises(ConfigError, match="http://"):
        GraphExcelConnector("g", {"drive": "d", "item": "i", "auth": {"bearer": "t"}, "url": "http://graph.example"})
    by_path = GraphExcelConnector("g", options(emu, item=None, file="/Shared/OKRs 2026.xlsx"))
    assert by_path.item == f"/drives/{DRIVE}/root:/Shared/OKRs%202026.xlsx:"


def test_doctor_reads_the_item(emu):
    from okrsync import doctor

    report = doctor.Report()
    doctor.check_endpoint(report, "g", GraphExcelConnector("g", options(emu)))
    assert [c.status for c in report.checks] == ["ok"] and "OKRs 2026.xlsx" in report.checks[0].detail
    report = doctor.Report()
    doctor.check_endpoint(report, "g", GraphExcelConnector("g", options(emu, item="NOPE")))
    assert [c.status for c in report.checks] == ["fail"] and report.exit_code == 1


# ------------------------------------------------------------ the workbook range API (large workbooks)

def with_other_sheet(data: bytes) -> bytes:
    """The workbook with a second sheet of its own (a chart's data, say), which the range
    API leaves alone."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb.create_sheet("Notes").append(["kept", "=1+1"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("how", [{"mode": "range"}, {"max_mb": 0.001}])  # asked for, or above the size
def test_a_large_workbook_goes_through_the_range_api_and_only_changed_rows_are_written(tmp_path, emu, how):
    emu.save(DRIVE, ITEM, with_other_sheet(emu.data(DRIVE, ITEM)))
    hub = make_hub(tmp_path, emu, **how)
    sync(hub)
    assert len(krs(emu)) == 39 and krs(emu)["KR-1"]["Target"] == 10200000 and not emu.errors
    assert emu.count("PUT") == 0 and not any(h.path.endswith("/content") for h in emu.log)  # never downloaded
    [patch] = [h for h in emu.log if h.method == "PATCH"]  # one block: the header and 39 rows
    assert patch.path.endswith("/workbook/worksheets/OKRs/range(address='A1:AE40')")  # the mapping's 31 columns (levels included)
    assert len(patch.json()["values"]) == 40 and emu.formulas == 0
    notes = openpyxl.load_workbook(io.BytesIO(emu.data(DRIVE, ITEM)))["Notes"]
    assert [c.value for c in notes[1]] == ["kept", "=1+1"]  # the other sheet untouched
    emu.reset_log()
    assert not any(p.changes for p in sync(hub))
    assert [h.method for h in emu.log] == ["GET", "GET"]  # the item, the used range
    # an edit in Excel comes back; an edit in the CSV writes its one row
    emu.save(DRIVE, ITEM, edited(emu.data(DRIVE, ITEM), "KR-2", Current=108))
    edit_row(tmp_path / "okrs.csv", "KR-5", Current="77")
    emu.reset_log()
    sync(hub)
    assert kr(csv_rows(tmp_path), "KR-2")["Current"] == "108"
    [patch] = [h for h in emu.log if h.method == "PATCH"]
    assert patch.path.endswith("range(address='A6:AE6')") and krs(emu)["KR-5"]["Current"] == 77
    assert krs(emu)["KR-2"]["Current"] == 108


def test_range_api_a_workbook_saved_between_read_and_write_is_read_again_and_merged(tmp_path, emu):
    hub = make_hub(tmp_path, emu, mode="range")
    sync(hub)
    edit_row(tmp_path / "okrs.csv", "KR-5", Current="77")
    emu.save_after_download(lambda data: edited(data, "KR-9", Current=55))  # saved in Excel after the read
    emu.reset_log()
    plans = sync(hub)
    both = krs(emu)
    assert both["KR-5"]["Current"] == 77 and both["KR-9"]["Current"] == 55  # nothing lost
    assert any("read again, merged and written in the same run" in n for p in plans for n in p.notes)
    reads = [h for h in emu.log if "usedRange" in h.path]
    assert len(reads) == 2 and emu.count("PATCH") == 1  # no write on the stale read; one after reading again


def test_range_api_text_never_becomes_a_formula(tmp_path, emu):
    hub = make_hub(tmp_path, emu, mode="range")
    edit_row(tmp_path / "okrs.csv", "KR-1", **{"Key result": "=HYPERLINK(\"https://evil.example\",\"x\")"})
    sync(hub)
    assert emu.formulas == 0 and krs(emu)["KR-1"]["Key result"].startswith("'=HYPERLINK")
    assert not any(p.changes for p in sync(hub))  # read back as the same text


def test_range_api_needs_the_sheet_name(tmp_path, emu):
    conn = GraphExcelConnector("g", {**options(emu, mode="range"), "sheet": None})
    with pytest.raises(ConfigError, match="needs the sheet's name"):
        list(conn.read(None))
    with pytest.raises(ConfigError, match="give auto, file or range"):
        GraphExcelConnector("g", options(emu, mode="table"))


def test_every_request_and_answer_fits_microsofts_graph_metadata(tmp_path, emu):
    """Both modes' traffic walked through Graph v1.0's published metadata (tests/helpers/graph_spec.py):
    paths, function parameters, and the properties of every JSON answer."""
    from .helpers.graph_spec import GraphSpec, SpecMismatch

    spec = emu.spec = GraphSpec.load()
    for mode in ("file", "range"):
        (tmp_path / mode).mkdir()
        hub = make_hub(tmp_path / mode, emu, mode=mode)
        emu.reset_log()
        sync(hub)
        edit_row(tmp_path / mode / "okrs.csv", "KR-5", Current="77" if mode == "file" else "78")
        sync(hub)
        landed = {(h.method, spec.walk(h.path)) for h in emu.log if h.path.startswith("/v1.0/")}
        assert landed == {("GET", "driveItem")} | ({("GET", "driveItem.content"), ("PUT", "driveItem.content")}
                                                   if mode == "file" else
                                                   {("GET", "workbookRange"), ("PATCH", "workbookRange")})
    assert emu.spec_errors == []
    with pytest.raises(SpecMismatch, match="no function usedRange"):
        spec.walk("/v1.0/drives/d/items/i/workbook/worksheets/OKRs/usedRange(values=true)")
    with pytest.raises(SpecMismatch, match="no property or navigation 'sheets'"):
        spec.walk("/v1.0/drives/d/items/i/workbook/sheets/OKRs/usedRange(valuesOnly=true)")
    with pytest.raises(SpecMismatch, match="no property 'rows'"):
        spec.answer("workbookRange", {"address": "A1", "rows": []})
