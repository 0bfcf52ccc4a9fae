"""okrsync doctor against the Jira emulator (real HTTP on 127.0.0.1) and misconfigured
endpoints: each failure has its advice and the right exit code."""

import json
import socket

import pytest
from click.testing import CliRunner

from okrsync.cli import cli
from okrsync.store import Store
from tests.emulators.jira import DEFAULT_CUSTOM_FIELDS, JiraEmulator
from tests.helpers.jira_e2e import ISSUE_TYPES, sheet_and_jira

TOKEN = "doctor-T0ken-4711"


@pytest.fixture
def jira():
    with JiraEmulator(token=TOKEN, issue_types=ISSUE_TYPES) as emulator:
        yield emulator
        assert not emulator.errors, emulator.errors[0]


def write_config(tmp_path, url, extra="", jira_extra=""):
    (tmp_path / "okrs.csv").write_text("Objective,Key result,Start,Target\nGrow,Reach 10,0,10\n")
    sheet_and_jira(tmp_path, url, (jira_extra.lstrip("\n") + "\n" if jira_extra else "") + extra,
                   store="state/okrsync.db")


def doctor(*args, code=0):
    result = CliRunner().invoke(cli, ["--json", "doctor", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and TOKEN not in result.output
    out = json.loads(result.stdout)
    assert out["exit_code"] == code
    return {(c["target"], c["check"], c["status"]): c for c in out["checks"]}


def test_all_good_against_the_jira_emulator(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url)
    checks = doctor()
    assert "authenticated as" in checks["jira", "reachable", "ok"]["detail"]
    assert checks["jira", "project", "ok"]["detail"].startswith("OKR")
    assert "BROWSE_PROJECTS" in checks["jira", "permissions", "ok"]["detail"]
    assert checks["jira", "credentials", "ok"]
    assert checks["sheet", "file", "ok"] and checks["store", "file", "ok"]
    assert jira.count("GET", "/rest/api/3/mypermissions") == 1
    assert not any(s == "fail" for _, _, s in checks)
    # the text view: a table and a verdict
    text = CliRunner().invoke(cli, ["doctor"])
    assert text.exit_code == 0 and "doctor: all good (exit 0)" in text.output


def test_wrong_token_is_a_401_with_advice(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", "not-the-token")
    write_config(tmp_path, jira.url)
    checks = doctor(code=1)
    failed = checks["jira", "reachable", "fail"]
    assert "401" in failed["detail"]
    assert "id.atlassian.com" in failed["advice"] and "API token" in failed["advice"]
    assert ("jira", "project", "ok") not in checks  # nothing more is tried after a refused login


def test_missing_custom_field_and_missing_permissions(tmp_path, monkeypatch):
    fields = [f for f in DEFAULT_CUSTOM_FIELDS if f["name"] != "Target value"]
    with JiraEmulator(token=TOKEN, custom_fields=fields, issue_types=ISSUE_TYPES) as jira:
        jira.denied = {"CREATE_ISSUES", "DELETE_ISSUES"}
        monkeypatch.setenv("JIRA_TOKEN", TOKEN)
        write_config(tmp_path, jira.url)
        checks = doctor(code=1)
    field = checks["jira", "fields", "fail"]
    assert "no field named 'Target value'" in field["detail"] and "Custom fields" in field["advice"]
    perm = checks["jira", "permissions", "fail"]
    assert "lacks CREATE_ISSUES" in perm["detail"] and "permission scheme" in perm["advice"]
    assert "DELETE_ISSUES" in checks["jira", "permissions", "warn"]["detail"]


def test_a_site_without_the_okr_issue_types_fails_with_the_mapping_change(tmp_path, monkeypatch):
    # Jira's default project (Epic, Story, Task, Sub-task): "all good" here was a 400 on the first run
    with JiraEmulator(token=TOKEN) as jira:
        monkeypatch.setenv("JIRA_TOKEN", TOKEN)
        write_config(tmp_path, jira.url)
        checks = [c for c in doctor_all(code=1) if c["check"] == "issue types"]
    assert [c["detail"].split(":")[0] for c in checks] == ["mapping.objective.issue_type", "mapping.key_result.issue_type"]
    assert "no issue type 'Key Result' (it has Epic (level 1), Story (level 0), Task (level 0), Sub-task (level -1))" \
        in checks[1]["detail"]
    assert "set key_result.issue_type: null to keep no key results in Jira" in checks[1]["advice"]


def test_a_child_type_at_the_wrong_level_and_unusable_fields_say_what_to_change(tmp_path, monkeypatch):
    fields = [dict(f, type="number") if f["name"] == "Unit" else f for f in DEFAULT_CUSTOM_FIELDS]
    with JiraEmulator(token=TOKEN, custom_fields=fields) as jira:
        jira.denied = {"BULK_CHANGE"}
        monkeypatch.setenv("JIRA_TOKEN", TOKEN)
        write_config(tmp_path, jira.url, jira_extra="""\
    mapping:
      objective: {issue_type: Epic}
      key_result: {issue_type: Sub-task}
      numbers: {target: Due date}
""")
        checks = doctor_all(code=1)
    fails = {c["detail"].split(":")[0]: c for c in checks if c["status"] == "fail"}
    level = fails["mapping.key_result.issue_type"]
    assert "'Sub-task' (level -1) cannot be a child of Epic (level 1)" in level["detail"]
    assert level["advice"] == ("in the endpoint's mapping: set key_result.issue_type to one of Story, Task, "
                               "or key_result.via: link with a link_type")
    unit = fails["mapping.unit"]
    assert "'Unit' is a number field; okrsync needs a short text field" in unit["detail"] and "unit: null" in unit["advice"]
    target = fails["mapping.numbers.target"]  # a system field is not a custom Number field
    assert "'Due date' is Jira's system field duedate" in target["detail"] and "numbers.target: null" in target["advice"]
    bulk = next(c for c in checks if c["check"] == "permissions" and c["status"] == "fail")
    assert "BULK_CHANGE" in bulk["detail"] and "Make bulk changes" in bulk["advice"]
    asked = jira.log[[h.path for h in jira.log].index("/rest/api/3/mypermissions")].query["permissions"][0]
    assert asked.split(",") == ["BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "ASSIGN_ISSUES",
                                "DELETE_ISSUES", "BULK_CHANGE", "LINK_ISSUES"]  # initiatives are linked to their KRs


def doctor_all(code):
    result = CliRunner().invoke(cli, ["--json", "doctor"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)["checks"]


def test_wrong_project_key(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url)
    (tmp_path / "okrsync.yaml").write_text((tmp_path / "okrsync.yaml").read_text().replace("project: OKR", "project: OKX"))
    checks = doctor(code=1)
    assert "no project 'OKX' is visible" in checks["jira", "project", "fail"]["advice"]


def test_unreachable_host(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port on loopback nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, f"http://127.0.0.1:{port}")
    checks = doctor(code=1)
    failed = checks["jira", "reachable", "fail"]
    assert "network" in failed["detail"] and "DNS" in failed["advice"] and "firewall" in failed["advice"]


def test_missing_env_secret_fails_with_advice_and_the_rest_is_still_checked(tmp_path, jira, monkeypatch):
    monkeypatch.delenv("JIRA_TOKEN", raising=False)
    write_config(tmp_path, jira.url)
    checks = doctor(code=1)
    failed = checks["jira", "credentials", "fail"]
    assert "JIRA_TOKEN is not set" in failed["detail"] and "export JIRA_TOKEN" in failed["advice"]
    assert checks["jira", "reachable", "skip"]
    assert checks["config", "config", "ok"] and checks["sheet", "file", "ok"]
    assert jira.count("GET", "/rest/api/3/myself") == 0


def test_empty_and_unreadable_secret_files(tmp_path, jira, monkeypatch):
    (tmp_path / "empty").write_text("\n")
    write_config(tmp_path, jira.url)
    cfg = (tmp_path / "okrsync.yaml").read_text().replace("{$env: JIRA_TOKEN}", "{$file: empty}")
    (tmp_path / "okrsync.yaml").write_text(cfg)
    assert "is empty" in doctor(code=1)["jira", "credentials", "fail"]["detail"]
    (tmp_path / "okrsync.yaml").write_text(cfg.replace("{$file: empty}", "{$file: nowhere}"))
    checks = doctor(code=1)
    assert "cannot read secret file" in checks["jira", "credentials", "fail"]["detail"]
    # secrets resolve per endpoint: the config itself is checked, the endpoint's options wait for the secret
    assert checks["config", "config", "ok"]
    assert "not fully checked while the credentials are missing" in checks["jira", "options", "skip"]["detail"]


def test_missing_files(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url, extra="  export:\n    type: viva-goals\n    path: export.zip\n"
                                           "  board:\n    type: xlsx\n    path: out/board.xlsx\n")
    checks = doctor(code=1)
    assert "not found" in checks["export", "file", "fail"]["detail"]
    assert "first push creates it" in checks["board", "file", "warn"]["detail"]


def test_bad_config_exits_2(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url, jira_extra="\n    projct: OKR")
    checks = doctor(code=2)
    assert "unknown option 'projct'; did you mean 'project'?" in checks["jira", "options", "fail"]["detail"]
    (tmp_path / "okrsync.yaml").write_text("endpoints: [\n")
    assert "line 2" in doctor(code=2)["config", "config", "fail"]["detail"]
    write_config(tmp_path, jira.url, extra="notify:\n  webhook: {url: 'http://hooks.example.com/x'}\n")
    assert "plain http://" in doctor(code=2)["notify", "config", "fail"]["detail"]


def test_a_dead_runs_lock_is_reported(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url)
    Store(tmp_path / "state/okrsync.db").close()
    (tmp_path / "state/okrsync.db.lock").write_text(json.dumps(
        {"pid": 2 ** 22 + 7, "host": socket.gethostname(), "command": "sync", "since": "now"}))
    assert "the next run clears it" in doctor()["store", "lock", "warn"]["advice"]


def test_a_damaged_not_sqlite_or_lost_store_fails_with_recovery_advice(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url)
    path = tmp_path / "state/okrsync.db"
    store = Store(path)
    run = store.begin_run("test")
    for i in range(200):
        store.mutate(run, "test", "objective", f"obj_{i}", {"title": f"objective {i} " + "x" * 300})
    store.close()  # the last connection: the WAL is checkpointed into the file
    assert "integrity check ok" in doctor("--offline")["store", "file", "ok"]["detail"]
    data = bytearray(path.read_bytes())
    data[4096 * 3:4096 * 3 + 3000] = b"\x07" * 3000  # a page of entities overwritten on disk
    path.write_bytes(bytes(data))
    damaged = doctor("--offline", code=1)["store", "file", "fail"]
    assert "damaged" in damaged["detail"] and "sqlite3 okrsync.db .recover" in damaged["advice"]
    path.write_bytes(b"PK\x03\x04 a spreadsheet saved over the store")
    assert "not an SQLite database" in doctor("--offline", code=1)["store", "file", "fail"]["detail"]
    path.write_bytes(b"")  # emptied: its marker says there was a store
    lost = doctor("--offline", code=1)["store", "file", "fail"]
    assert "empty (0 bytes)" in lost["detail"] and "its marker okrsync.db.marker" in lost["detail"]
    assert "--new-store" in lost["advice"]


def test_offline_sends_nothing(tmp_path, jira, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    write_config(tmp_path, jira.url)
    checks = doctor("--offline", "jira")
    assert checks["jira", "reachable", "skip"] and ("sheet", "file", "ok") not in checks
    assert jira.count("GET", "/rest/api/3/myself") == 0


SAAS = {  # connector type → (emulator factory, url suffix, the endpoint's other options)
    "asana": ("tests.emulators.asana:AsanaEmulator", "/api/1.0",
              'workspace: "1100"\n    token: asana-test-token'),
    "clickup": ("tests.emulators.clickup:ClickUpEmulator", "/api",
                "team_id: '512'\n    auth: {token: pk_183_TESTTOKEN}"),
    "quantive": ("tests.emulators.quantive:QuantiveEmulator", "/results/api/v1",
                 "token: quantive-test-token\n    account_id: 5be26318e5274a0007f17f61"),
    "tability": ("tests.emulators.tability:TabilityEmulator", "", "workspace: acme\n    token: tab-SECRET-token"),
    "perdoo": ("tests.emulators.perdoo:PerdooEmulator", "/graphql/", "token: perdoo-test-token"),
    "google-sheets": ("tests.emulators.google_sheets:GoogleSheets", "",
                      "spreadsheet: 1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms\n    sheet: OKRs\n    auth: {bearer: test-token}"),
}


@pytest.mark.parametrize("kind", sorted(SAAS))
def test_each_saas_probe_answers_ok_then_401_with_a_wrong_token(tmp_path, kind):
    import importlib

    factory, suffix, options = SAAS[kind]
    module, name = factory.split(":")
    emulator_cls = getattr(importlib.import_module(module), name)
    with emulator_cls() as emulator:
        if kind == "google-sheets":
            emulator.add_sheet("1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "OKRs")
        config = f"endpoints:\n  saas:\n    type: {kind}\n    url: {emulator.url}{suffix}\n    {options}\n"
        (tmp_path / "okrsync.yaml").write_text(config)
        checks = doctor()
        assert checks["saas", "reachable", "ok"]
        token = {"asana": "asana-test-token", "clickup": "pk_183_TESTTOKEN", "quantive": "quantive-test-token",
                 "tability": "tab-SECRET-token", "perdoo": "perdoo-test-token", "google-sheets": "test-token"}[kind]
        (tmp_path / "okrsync.yaml").write_text(config.replace(token, "pk_999_WRONGTOKEN" if kind == "clickup" else "wrong-token-0000"))
        failed = doctor(code=1)["saas", "reachable", "fail"]
        assert "401" in failed["detail"] and failed["advice"]


# ---------------------------------------------------------------- a third-party connector

MEMO = """
    import json
    from pathlib import Path

    from okrsync import Capabilities, Connector, hookimpl
    from okrsync.connector import Cursor, Record, WriteResult


    class Memo(Connector):
        '''Keeps OKRs in a JSON file: a third party's connector, with its own checks and probe.'''

        name = "memo"
        option_help = {"path": "the JSON file"}
        capabilities = Capabilities(unconfirmed=("memo keeps decimal values",))

        def __init__(self, endpoint, options, context=None):
            super().__init__(endpoint, options, context)
            self.path = Path(options["path"])

        def _load(self):
            return json.loads(self.path.read_text()) if self.path.exists() else {}

        def doctor(self, kit):
            kit.add("file", "ok" if self.path.exists() else "warn", f"{self.path}: {len(self._load())} record(s)",
                    "" if self.path.exists() else "the first push creates it")
            # a stand-in for the service's cheap authenticated request
            answer = kit.call("reachable", {}, lambda: {"user": "memo-bot"})
            if answer is not None:
                kit.add("reachable", "fail", f"authenticated as {answer['user']}, who may not write",
                        "grant memo-bot write access")

        def probe(self, sandbox, kit):
            from okrsync import probe as p

            objective, krs = p.standard()
            rows = kit.round_trip(objective, krs)
            rows.append(p.summary(self.capabilities.unconfirmed[0], rows,
                                  lambda r: r.claim.startswith("key result (decimal) ")))
            return rows

        def read(self, cursor):
            for ext, (kind, fields) in self._load().items():
                yield Record(kind, ext, fields)
            yield Cursor(None, True)

        def write(self, batch):
            data, result = self._load(), WriteResult()
            for record in batch.creates:
                ext = f"m{len(data) + 1}"
                fields = dict(record.fields)
                if "objective_id" in fields:
                    fields["objective_id"] = result.external_ids[fields["objective_id"]]
                data[ext] = (record.kind, fields)
                result.external_ids[record.canonical_id] = ext
            for record in batch.deletes:
                data.pop(record.external_id, None)
            self.path.write_text(json.dumps(data))
            return result


    class Bare(Connector):
        name = "bare"
        option_help = {}

        def read(self, cursor):
            yield Cursor(None, True)


    @hookimpl
    def register_connectors(register):
        register(Memo)
        register(Bare)
"""


def test_a_third_party_connector_takes_part_in_doctor_and_probe_like_a_built_in(tmp_path, site, monkeypatch):
    from okrsync import plugins

    from .helpers.plugins import make_distribution

    make_distribution(site, "okrsync-memo", "okrsync_memo", MEMO)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "okrsync.yaml").write_text("endpoints:\n  memo:\n    type: memo\n    path: memo.json\n"
                                           "    sandbox: {space: throwaway}\n  bare: {type: bare}\n")
    plugins.get_plugin_manager.cache_clear()
    try:
        checks = doctor(code=1)
        offline = doctor("--offline", "memo")
        text = CliRunner().invoke(cli, ["doctor"])
        probed = CliRunner().invoke(cli, ["--json", "doctor", "--probe", "memo"])
    finally:
        plugins.get_plugin_manager.cache_clear()
    # its checks appear as a built-in's do: in the table, with their advice, deciding the exit code
    assert checks["memo", "file", "warn"]["detail"] == "memo.json: 0 record(s)"
    assert checks["memo", "reachable", "fail"]["advice"] == "grant memo-bot write access"
    assert "no checks declared" in checks["bare", "reachable", "skip"]["detail"]
    assert offline["memo", "reachable", "skip"]["detail"] == "not tried (--offline)"
    assert ("memo", "reachable", "fail") not in offline and offline["memo", "file", "warn"]
    assert text.exit_code == 1 and "fail memo reachable: grant memo-bot write access" in text.output
    # and its probe: every field read back, the unconfirmed fact judged, the throwaway records gone
    assert probed.exit_code == 0, probed.output
    rows = {r["claim"]: r["verdict"] for r in json.loads(probed.stdout)["results"]}
    assert rows["memo keeps decimal values"] == "confirmed"
    assert rows["key result (decimal) current 2.5 reads back as written"] == "confirmed"
    assert rows["deletes the throwaway records"] == "confirmed" and len(rows) >= 15
    assert json.loads((tmp_path / "memo.json").read_text()) == {}
