"""Security, across every API connector with an emulator (tests/helpers/vendors.py) and every writer:

- the tokens used here never show in CLI output (normal, --json, --debug failures), the
  store's bytes (database, WAL, SHM), the change log, the reports, or an exception's text,
  repr and traceback (its causes included);
- no text becomes a formula in a CSV, an XLSX or a Google Sheets write;
- user text is escaped in every HTML and Markdown report;
- plain http:// is refused except to loopback, for every API connector;
- YAML is loaded safely: a ``!!python/object`` tag is refused with file and line;
- the store and its WAL/SHM files are readable by their owner only (0600).
"""

from __future__ import annotations

import base64
import csv
import os
import shutil
import stat
import traceback

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from okrsync import plugins
from okrsync.cli import cli
from okrsync.config import Config
from okrsync.config import load as load_config
from okrsync.connector import Context
from okrsync.errors import ConfigError, OkrsyncError
from okrsync.store import Store
from okrsync.sync import Hub

from .helpers.vendors import EXAMPLE, VENDORS, endpoint_options, sync

API = [v.name for v in VENDORS.values()]


def secrets_of(vendor) -> list[bytes]:
    """The token as sent in any form: plain, and Jira's Basic ``email:token`` in base64."""
    out = [vendor.token.encode()]
    if vendor.name == "jira":
        out.append(base64.b64encode(f"bot@example.com:{vendor.token}".encode()))
    return out


def assert_clean(vendor, blob: bytes | str, where: str) -> None:
    data = blob.encode() if isinstance(blob, str) else blob
    for secret in secrets_of(vendor):
        assert secret not in data, f"{vendor.name}: the token is in {where}"


def write_config(tmp_path, vendor, emu, **extra) -> None:
    options = endpoint_options(vendor, emu, **extra)
    if "token" in options:
        options["token"] = {"$env": "SECRET_TOKEN"}
    if "token" in options.get("auth", {}):
        options["auth"] = {**options["auth"], "token": {"$env": "SECRET_TOKEN"}}
    if "bearer" in options.get("auth", {}):
        options["auth"] = {**options["auth"], "bearer": {"$env": "SECRET_TOKEN"}}
    if vendor.direction == "push":
        shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    order = ["sheet", vendor.name] if vendor.direction == "push" else [vendor.name, "sheet"]
    (tmp_path / "okrsync.yaml").write_text(yaml.safe_dump({
        "store": "okrsync.db", "endpoints": {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                                             vendor.name: options}, "sync": {"order": order}}))


@pytest.mark.parametrize("name", API)
def test_the_token_never_shows_in_output_store_log_reports_or_exceptions(name, tmp_path, monkeypatch):
    vendor = VENDORS[name]
    monkeypatch.setenv("SECRET_TOKEN", vendor.token)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    with vendor.start() as emu:
        write_config(tmp_path, vendor, emu)
        outputs = []
        for args in (["sync"], ["--json", "sync"], ["--debug", "log", "--limit", "1000"], ["status"],
                     ["report", "fit", "--format", "html"], ["report", "fit", "--format", "md"],
                     ["report", "progress", "--format", "html"], ["--json", "report", "progress"]):
            result = runner.invoke(cli, ["-c", "okrsync.yaml", *args])
            assert result.exit_code in (0, 3), (args, result.output)
            outputs.append((args, result.output + (result.stderr if result.stderr_bytes is not None else "")))
        # failures: the server breaks for good (5xx), then refuses the token (401), with --debug
        write_config(tmp_path, vendor, emu, attempts=1)  # fail at once, no back-off waits
        emu.faults.inject("500", 50)
        result = runner.invoke(cli, ["-c", "okrsync.yaml", "--debug", "sync"])
        assert result.exit_code != 0
        outputs.append((["--debug", "sync (500s)"], result.output + repr(result.exception)
                        + "".join(traceback.format_exception(result.exception)) if result.exception else result.output))
        emu.faults.clear()
        emu.authorize = lambda headers: False
        result = runner.invoke(cli, ["-c", "okrsync.yaml", "--debug", "sync"])
        assert result.exit_code != 0
        outputs.append((["--debug", "sync (401)"], result.output))
        for args, text in outputs:
            assert_clean(vendor, text, f"the output of okrsync {' '.join(args)}")
        # the store's bytes, with its WAL and SHM, and the change log through the API
        for path in tmp_path.glob("okrsync.db*"):
            assert_clean(vendor, path.read_bytes(), path.name)
        store = Store(tmp_path / "okrsync.db")
        assert_clean(vendor, repr(store.changes()) + repr(store.runs(1000)), "the change log or the runs")
        # an exception raised in-process: message, repr, traceback and its causes
        hub = Hub(Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                                       name: endpoint_options(vendor, emu, attempts=1)}, {}), store,
                  plugins.classes())
        with pytest.raises(OkrsyncError) as caught:
            sync(hub)
        error = caught.value
        chain = "".join(traceback.format_exception(error)) + repr(error) + str(error.__context__) + repr(error.__cause__)
        chain += repr(vars(error))
        assert_clean(vendor, chain, "an exception")
        store.close()


# ------------------------------------------------------------------ formula injection

EVIL = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "=1+1"]


def evil_sheet(tmp_path) -> None:
    """The example with formula-like text in titles and descriptions."""
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8", newline="")))
    for n, row in enumerate(rows[:len(EVIL)]):
        row["Key result"] = EVIL[n]
        row["Objective description"] = EVIL[-1 - n]
    with open(tmp_path / "okrs.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def assert_inert(cells: list, where: str) -> None:
    texts = [c for c in cells if isinstance(c, str) and c]
    for evil in EVIL:
        assert evil not in texts, f"{evil!r} written as is in {where}"
        assert "'" + evil in texts, f"{evil!r} not found escaped in {where}"
    assert not [c for c in texts if c[0] in "=+@"], where


def test_no_text_becomes_a_formula_in_csv_xlsx_or_google_sheets(tmp_path):
    evil_sheet(tmp_path)
    vendor = VENDORS["google-sheets"]
    with vendor.start() as emu:
        cfg = Config.of(tmp_path, {
            "sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
            "board": {"type": "csv", "path": "board.csv", "layout": "hierarchical"},
            "book": {"type": "xlsx", "path": "book.xlsx", "layout": "flat"},
            "gs": endpoint_options(vendor, emu)}, {"order": ["sheet", "board", "book", "gs"]})
        hub = Hub(cfg, Store(tmp_path / "okrsync.db"), plugins.classes())
        sync(hub)
        krs = {f["title"] for _, k, f in hub.store.entities("key_result")}
        assert set(EVIL) <= krs, "the sheet's text was not read as it is"
        board = [c for row in csv.reader((tmp_path / "board.csv").open(encoding="utf-8")) for c in row]
        assert_inert(board, "board.csv")
        book = [c.value for ws in openpyxl.load_workbook(tmp_path / "book.xlsx").worksheets for row in ws.iter_rows()
                for c in row]
        assert_inert(book, "book.xlsx")
        posted = [cell for h in emu.log if h.method == "POST" for r in (h.json().get("values") or
                                                                         [v for d in h.json().get("data", []) for v in d["values"]])
                  for cell in r]
        assert_inert(posted, "the Google Sheets write")
        plans = sync(hub)  # and they read back as the same text: nothing changes
        assert not [c for p in plans for c in p.changes]


# ------------------------------------------------------------------ HTML escaping in reports

XSS = "<script>alert('x')</script>"


@pytest.mark.parametrize("args", [["report", "fit", "--format", "html"], ["report", "fit", "--format", "md"],
                                  ["report", "progress", "--format", "html"]])
def test_user_text_is_escaped_in_every_report(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8", newline="")))
    for row in rows:
        row["Objective"] = f"{XSS} {row['Objective']}"
        row["Key result"] = f"<img src=x onerror=alert(1)> {row['Key result']}"
        row["Team"] = XSS
    with open(tmp_path / "okrs.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (tmp_path / "okrsync.yaml").write_text("store: okrsync.db\nendpoints:\n  sheet: {type: csv, path: okrs.csv}\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["-c", "okrsync.yaml", "pull"]).exit_code == 0
    result = runner.invoke(cli, ["-c", "okrsync.yaml", *args])
    assert result.exit_code in (0, 7), result.output
    out = result.output
    assert "<script>" not in out and "<img" not in out, f"raw HTML in okrsync {' '.join(args)}"
    if "html" in args:
        assert "&lt;script&gt;" in out or "&lt;img" in out, "the text is missing instead of escaped"


# ------------------------------------------------------------------ http:// refused

@pytest.mark.parametrize("name", API)
def test_plain_http_is_refused_except_to_loopback(name, tmp_path):
    vendor = VENDORS[name]
    cls = plugins.connectors()[name].cls
    with vendor.start() as emu:
        options = {k: v for k, v in endpoint_options(vendor, emu).items() if k != "type"}
        good = options["url"]
        for host in ("localhost", "[::1]", "127.0.0.1"):
            loop = good.replace("127.0.0.1", host)
            cls(name, {**options, "url": loop}, Context(base_dir=tmp_path))
        for url in (good.replace("http://127.0.0.1", "http://example.com"), good.replace("http://127.0.0.1", "http://10.0.0.8"),
                    good.replace("http://127.0.0.1", "http://127.0.0.1.evil.example")):
            with pytest.raises(ConfigError) as e:
                cls(name, {**options, "url": url}, Context(base_dir=tmp_path))
            assert "https" in str(e.value) and vendor.token not in str(e.value)


# ------------------------------------------------------------------ YAML

@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system [\"echo pwned > pwned\"]",
                                 "!!python/object:okrsync.store.Store {}", "!!python/name:os.system"])
def test_yaml_tags_that_build_python_objects_are_refused_with_file_and_line(tag, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "okrsync.yaml"
    path.write_text(f"store: okrsync.db\nendpoints:\n  sheet:\n    type: csv\n    path: {tag}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "okrsync.yaml" in str(e.value) and "line 5" in str(e.value), str(e.value)
    assert not (tmp_path / "pwned").exists()
    result = CliRunner().invoke(cli, ["-c", str(path), "status"])
    assert result.exit_code == 2 and "line 5" in result.output and "Traceback" not in result.output


def test_a_client_profile_and_a_mapping_are_loaded_safely_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "client.yaml").write_text("size: !!python/object/apply:os.system [\"echo pwned > pwned\"]\n")
    (tmp_path / "okrsync.yaml").write_text("store: okrsync.db\nendpoints:\n  sheet: {type: csv, path: okrs.csv}\n")
    result = CliRunner().invoke(cli, ["-c", "okrsync.yaml", "report", "fit", "--client", "client.yaml"])
    assert result.exit_code != 0 and "client.yaml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "pwned").exists()
    from okrsync.mapping import Mapping
    (tmp_path / "evil.yaml").write_text("name: evil\nextends: spreadsheet\nvocabularies: !!python/object/apply:os.system [\"x\"]\n")
    with pytest.raises(OkrsyncError) as e:
        Mapping.load(str(tmp_path / "evil.yaml"), tmp_path)
    assert "evil.yaml" in str(e.value)


# ------------------------------------------------------------------ file modes

@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_store_and_its_wal_and_shm_are_readable_by_the_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "state" / "okrsync.db"
        store = Store(path)
        run = store.begin_run("sync")
        store.mutate(run, "test", "objective", "obj_1", {"title": "x"})
        files = sorted(tmp_path.glob("state/okrsync.db*"))
        assert {p.name for p in files} >= {"okrsync.db", "okrsync.db-wal", "okrsync.db-shm"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, f"{p.name}: {oct(stat.S_IMODE(p.stat().st_mode))}"
        store.close()
    finally:
        os.umask(old)
