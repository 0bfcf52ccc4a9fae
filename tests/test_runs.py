"""Cron-ready runs: exit codes, the summary line, JSON logs without secrets, the
run_finished hook and the webhook notifier (against a real HTTP receiver on 127.0.0.1)."""

import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from okrsync import config, hookimpl, logs, plugins, runs
from okrsync.cli import EXIT_CODES, cli

SHEET = """\
Objective ID,Objective,Period,Key result ID,Key result,Owner,Start,Current,Target,Status
O-1,Grow revenue,Q1 2026,KR-1,Reach 5M ARR,ana@example.com,$3000000,$3500000,$5000000,On track
O-1,Grow revenue,Q1 2026,KR-2,Cut churn,bo@example.com,5%,4%,3%,At risk
O-2,Ship faster,2026-Q1,KR-3,Deploys per week,cy@example.com,2,6,10,on track
"""
BAD_ROW = "O-3,,Q1 2026,KR-9,Broken,x@example.com,1,1,2,On track\n"  # an objective without a title
SECRET = "s3cr3t-Tok3n-9f8e7d"
CONFIG = """\
store: state/okrsync.db
endpoints:
  a:
    type: csv
    path: a.csv
  b:
    type: csv
    path: b.csv
sync:
  order: [a, b]
  conflicts: manual
"""


class Recorder:
    """A run_finished plugin that keeps what it is given."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def run_finished(self, summary, config):
        self.calls.append((summary, config))


@pytest.fixture
def recorder():
    pm = plugins.get_plugin_manager()
    rec = Recorder()
    pm.register(rec, name="test-recorder")
    yield rec
    pm.unregister(rec)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "a.csv").write_text(SHEET)
    (tmp_path / "okrsync.yaml").write_text(CONFIG)
    return tmp_path


def invoke(*args, code=0, env=None):
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def summary_line(result):
    lines = [line for line in result.stderr.splitlines() if line.startswith("okrsync: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ------------------------------------------------------------------ exit codes


def _hold_lock(project):
    (project / "state").mkdir(exist_ok=True)
    (project / "state/okrsync.db.lock").write_text(json.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "command": "sync", "since": "now"}))


def _make_conflict(project):
    invoke("sync")
    (project / "a.csv").write_text(SHEET.replace("$3500000", "$4000000"))
    (project / "b.csv").write_text((project / "b.csv").read_text().replace("3500000", "4200000"))


CASES = {
    0: lambda p: None,
    1: lambda p: (invoke("sync"), (p / "a.csv").unlink()),  # a file read before vanished
    2: lambda p: (p / "okrsync.yaml").write_text(CONFIG.replace("type: csv", "type: cvs", 1)),
    3: lambda p: (p / "a.csv").write_text(SHEET + BAD_ROW),
    4: _make_conflict,
    5: _hold_lock,
    6: lambda p: (invoke("sync"), (p / "a.csv").write_text(SHEET.splitlines()[0] + "\n" + SHEET.splitlines()[3] + "\n")),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_documented_exit_code_its_summary_line_and_hook(project, recorder, code):
    CASES[code](project)
    recorder.calls.clear()
    result = invoke("sync", code=code)
    status = runs.STATUS_BY_CODE[code]
    line = summary_line(result)
    assert line.startswith(f"okrsync: sync {runs.SHOWN[status]}")
    assert (f"(exit {code})" in line) == (code != 0)
    assert "read " in line and "requests 0, retried 0" in line
    [(summary, config)] = recorder.calls
    assert summary["status"] == status and summary["exit_code"] == code
    assert summary["command"] == "sync" and summary["dry_run"] is False
    assert set(summary["counters"]) == set(runs.COUNTERS)
    assert (summary["error"] is None) == (code in (0, 3, 4))
    assert (config is None) == (code == 2)
    json.dumps(summary)  # JSON-able
    if code == 4:
        assert summary["conflicts_waiting"] == 1 and "1 conflict(s) waiting" in line
    if code == 0:
        assert summary["counters"]["created"] == 10 and summary["run"] == 1


def test_exit_code_table_in_readme_matches_the_code():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "docs" / "commands.md").read_text()  # the README keeps a copy (test_docs)
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    codes = [int(line.split("|")[1]) for line in table.splitlines()[2:]]
    assert codes == sorted(EXIT_CODES) == list(range(8))
    for code, status in runs.STATUS_BY_CODE.items():
        assert f"`{status}`" in table.splitlines()[2 + code], (code, status)


def test_json_output_keeps_stdout_a_document_and_stderr_quiet(project):
    result = invoke("--json", "sync")
    assert json.loads(result.stdout)["totals"]["created"] == 10
    assert result.stderr == ""


def test_dry_run_summary_says_so(project, recorder):
    line = summary_line(invoke("sync", "--dry-run"))
    assert line.startswith("okrsync: sync (dry run) ok in ")
    assert recorder.calls[0][0]["dry_run"] is True and recorder.calls[0][0]["run"] is None


# ------------------------------------------------------------------ JSON logs, redaction


def test_json_log_lines_parse_carry_steps_and_summary_and_no_secret(project, monkeypatch):
    monkeypatch.setenv("OKR_TOKEN", SECRET)
    # a secret that shows up in an error message: the bad period is the token itself
    (project / "okrsync.yaml").write_text(CONFIG + """\
notify:
  webhook:
    url: https://127.0.0.1:9/x
    on: [ok]
    headers: {Authorization: {"$env": OKR_TOKEN}}
""")
    # the token as a KR id used twice: the duplicate is rejected, naming it
    (project / "a.csv").write_text(SHEET + "".join(f"O-3,Leaky,Q1 2026,{SECRET},Leak {n},x@example.com,1,1,2,On track\n"
                                                   for n in (1, 2)))
    result = invoke("--log-format", "json", "sync", code=3)
    assert SECRET not in result.stderr and SECRET not in result.stdout.replace(SECRET, "")  # stdout: the table
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert all({"ts", "level", "event", "message"} <= set(e) for e in events)
    steps = [e for e in events if e["event"] == "step"]
    assert [(e["step"], e["endpoint"]) for e in steps] == [("pull", "a"), ("pull", "b"), ("push", "a"), ("push", "b")]
    assert steps[0]["counters"]["read"] >= 5 and steps[0]["counters"]["rejected"] == 1
    assert any(e["event"] == "message" and "rejected" in e["message"] and "***" in e["message"] for e in events)
    [summary] = [e for e in events if e["event"] == "summary"]
    assert summary == events[-1]
    assert summary["status"] == "rejected" and summary["exit_code"] == 3 and summary["counters"]["rejected"] == 1


def test_json_logs_of_a_failure_carry_the_error_masked(project, monkeypatch):
    monkeypatch.setenv("OKR_TOKEN", SECRET)
    (project / "okrsync.yaml").write_text(CONFIG.replace("path: b.csv", f"path: {SECRET}.xlsx")
                                          + '  # x\nnotify: {webhook: {url: "https://127.0.0.1:9/x", "on": [ok], '
                                          'headers: {X: {"$env": OKR_TOKEN}}}}\n')
    result = invoke("--log-format", "json", "sync", code=2)
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events][-2:] == ["error", "summary"]
    assert events[-3]["event"] == "step" and events[-3]["status"] == "failure" and events[-3]["endpoint"] == "b"
    assert "is not a csv file" in events[-2]["message"] and "***" in events[-2]["message"]
    assert SECRET not in result.output


def test_redactor_masks_longest_first_and_skips_tiny_values():
    r = logs.Redactor()
    r.add(["abcd", "abcdefgh", "xy", None])
    assert r("key abcdefgh and abcd and xy") == "key *** and *** and xy"
    assert r.deep({"a": ["abcd", 1]}) == {"a": ["***", 1]}


def test_collect_secrets_reads_env_file_literal_and_json_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("T1", "env-secret-1")
    (tmp_path / "key.json").write_text(json.dumps({"private_key": "-----BEGIN KEY-----abc", "client_email": "a@b.c"}))
    (tmp_path / "okrsync.yaml").write_text("""\
endpoints:
  j: {type: jira, auth: {email: a@b.c, token: {"$env": T1}}}
  g: {type: google-sheets, auth: {service_account: {"$file": key.json}}}
  p: {type: perdoo, api_key: literal-secret}
""")
    found = config.collect_secrets(tmp_path / "okrsync.yaml")
    assert {"env-secret-1", "-----BEGIN KEY-----abc", "literal-secret"} <= set(found)
    assert "a@b.c" not in found


def test_the_one_secret_resolver_registers_what_it_reads_with_the_log_redaction(tmp_path, monkeypatch):
    """A secret read for a connector is masked in logs without a second list of secrets."""
    logs.REDACTOR.clear()
    monkeypatch.setenv("T2", "env-secret-2")
    (tmp_path / "sa.json").write_text(json.dumps({"private_key": "-----BEGIN KEY-----xyz", "client_email": "a@b.c"}))
    options = config.resolve_secrets({"auth": {"token": {"$env": "T2"}, "service_account": {"$file": "sa.json"}}},
                                     tmp_path / "okrsync.yaml", tmp_path, "endpoints.j")
    assert options["auth"]["token"] == "env-secret-2"
    shown = logs.REDACTOR("sent env-secret-2 and -----BEGIN KEY-----xyz for a@b.c")
    assert shown == "sent *** and *** for a@b.c"


def _count_closes(monkeypatch):
    from okrsync.connector import Connector

    closed = []
    original = Connector.close
    monkeypatch.setattr(Connector, "close", lambda self: (closed.append(self.endpoint), original(self)))
    return closed


def test_every_connector_a_run_built_is_closed_when_it_ends(project, monkeypatch):
    closed = _count_closes(monkeypatch)
    invoke("sync")
    assert sorted(closed) == ["a", "b"]


def test_connectors_are_closed_when_the_run_fails_too(project, monkeypatch):
    invoke("sync")
    closed = _count_closes(monkeypatch)
    (project / "a.csv").unlink()  # a file read before vanished: exit 1
    invoke("sync", code=1)
    assert closed == ["a"]  # b was never built


def test_a_connector_closes_its_http_client_and_is_a_context_manager():
    import httpx

    from okrsync.connector import Connector
    from okrsync.http import Api

    class Web(Connector):
        name = "web-test"

        def __init__(self, endpoint, options, context=None):
            super().__init__(endpoint, options, context)
            self.api = Api(httpx.Client(base_url="https://example.test"), endpoint)

    with Web("w", {}) as conn:
        assert not conn.api.client.is_closed
    assert conn.api.client.is_closed


# ------------------------------------------------------------------ hook safety


def test_a_failing_run_finished_plugin_is_a_warning_and_keeps_the_exit_code(project):
    class Broken:
        @hookimpl
        def run_finished(self, summary):
            raise RuntimeError("plugin bug")

    pm = plugins.get_plugin_manager()
    broken = Broken()
    pm.register(broken, name="broken-plugin")
    try:
        result = invoke("sync")
    finally:
        pm.unregister(broken)
    assert "okrsync: warning: plugin broken-plugin: run_finished failed: RuntimeError: plugin bug" in result.stderr


# ------------------------------------------------------------------ webhook notifier


class Receiver:
    """A local HTTP receiver on 127.0.0.1 that records each POST (and can answer 500)."""

    def __init__(self):
        self.posts = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def notify_config(url, on="[failure, guard, bad-config]", extra=""):
    return CONFIG + f"""\
notify:
  webhook:
    url: {url}
    on: {on}
    headers: {{Authorization: {{"$env": HOOK_TOKEN}}}}
    timeout: 2{extra}
"""


def test_webhook_posts_a_redacted_summary_on_failure_only(project, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "Bearer " + SECRET)
    (project / "okrsync.yaml").write_text(notify_config(receiver.url + "/hook").replace("path: a.csv", f"path: {SECRET}.csv"))
    (project / "a.csv").rename(project / f"{SECRET}.csv")
    invoke("sync")
    assert receiver.posts == []  # ok is not in `on`
    (project / f"{SECRET}.csv").unlink()
    invoke("sync", "--dry-run", code=1)
    assert receiver.posts == []  # dry runs never notify
    result = invoke("sync", code=1)
    assert "webhook" not in result.stderr  # sent quietly
    [post] = receiver.posts
    assert post["path"] == "/hook"
    assert post["headers"]["Authorization"] == "Bearer " + SECRET  # the header is sent…
    assert post["headers"]["Content-Type"] == "application/json"
    body = post["body"]
    assert SECRET not in json.dumps(body)  # …but never appears in the payload
    assert body["status"] == "failure" and body["exit_code"] == 1 and body["command"] == "sync"
    assert "***" in body["error"] and body["text"].startswith("sync failed (exit 1)")
    assert body["endpoints"] == ["a", "b"]


def test_webhook_on_conflicts_and_guard(project, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "x" * 8)
    (project / "okrsync.yaml").write_text(notify_config(receiver.url, on="[conflicts]"))
    _make_conflict(project)
    invoke("sync", code=4)
    assert [p["body"]["status"] for p in receiver.posts] == ["conflicts"]


def test_a_failed_notification_is_a_warning_and_keeps_the_exit_code(project, receiver, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "x" * 8)
    receiver.status = 500
    (project / "okrsync.yaml").write_text(notify_config(receiver.url, on="[ok]"))
    result = invoke("sync")
    assert len(receiver.posts) == 1
    assert "okrsync: warning: webhook to 127.0.0.1 failed: answered 500" in result.stderr
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    (project / "okrsync.yaml").write_text(notify_config(f"http://127.0.0.1:{closed}", on="[ok]"))
    result = invoke("sync")
    assert "okrsync: warning: webhook to 127.0.0.1 failed:" in result.stderr


def test_webhook_refuses_plain_http_to_other_hosts_and_sends_nothing(project, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "x" * 8)
    (project / "okrsync.yaml").write_text(notify_config("http://hooks.example.com/x", on="[ok]"))
    result = invoke("--log-format", "json", "sync")
    events = [json.loads(line) for line in result.stderr.splitlines()]
    [warning] = [e for e in events if e["level"] == "warning"]
    assert "plain http://" in warning["message"] and "use https://" in warning["message"]
    [summary] = [e for e in events if e["event"] == "summary"]
    assert summary["exit_code"] == 0


def test_webhook_settings_are_checked_with_locations(project, monkeypatch):
    from okrsync import config as config_mod
    from okrsync import notify
    from okrsync.errors import ConfigError

    monkeypatch.setenv("HOOK_TOKEN", "x" * 8)
    (project / "okrsync.yaml").write_text(notify_config("https://h.example.com", on="[failur]"))
    with pytest.raises(ConfigError, match=r"line 15: on: unknown status 'failur'; did you mean 'failure'"):
        notify.webhook_settings(config_mod.load(project / "okrsync.yaml"))
    (project / "okrsync.yaml").write_text(notify_config("https://h.example.com", extra="\n    retries: 3"))
    with pytest.raises(ConfigError, match=r"line 18: retries: unknown key"):
        notify.webhook_settings(config_mod.load(project / "okrsync.yaml"))
    (project / "okrsync.yaml").write_text(notify_config("https://h.example.com"))
    settings = notify.webhook_settings(config_mod.load(project / "okrsync.yaml"))
    assert settings == {"url": "https://h.example.com", "on": ["failure", "guard", "bad-config"],
                        "headers": {"Authorization": "x" * 8}, "timeout": 2.0}
