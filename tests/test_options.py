"""Endpoint options are declared by each connector and checked when the config loads (issue
13 item 2); secrets are resolved only for the endpoints a command uses (item 9)."""

import json
import re
import shutil
from pathlib import Path

import pytest

from okrsync import config as config_mod
from okrsync import logs, plugins
from okrsync.cli import STARTER
from okrsync.connector import Connector
from okrsync.errors import ConfigError
from okrsync.store import Store
from okrsync.sync import Hub
from tests.helpers.clirun import run

REAL = Path(__file__).parent / "fixtures" / "real" / "flat_kr_rows_percent_words_product_ops_sandbox.csv"


def classes():
    return plugins.classes()


@pytest.fixture
def project(tmp_path):
    shutil.copy(REAL, tmp_path / "okrs.csv")
    return tmp_path


def test_a_mistyped_option_of_a_csv_endpoint_stops_the_run_with_file_line_and_suggestion(project):
    (project / "okrsync.yaml").write_text("endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n"
                                          "    layuot: hierarchical\n")
    result = run("sync", code=2)
    assert ("okrsync.yaml: endpoints.sheet: line 5: unknown option 'layuot'; did you mean 'layout'?"
            in result.output.replace("\n", ""))
    assert not (project / "okrsync.db").exists() or Store(project / "okrsync.db").runs() == []  # nothing ran


@pytest.mark.parametrize("name", sorted(plugins.connectors(plugins.new_plugin_manager(entry_points=False))))
def test_every_built_in_connector_declares_its_options_and_an_unknown_one_is_refused(tmp_path, name):
    cls = classes()[name]
    declared = cls.declared_options()
    assert declared and all(isinstance(h, str) and h for h in declared.values())
    assert set(cls.required_options) <= set(declared)
    assert "deletes" in declared  # read by the hub for every endpoint
    section = {key: "x" for key in cls.required_options}
    known = next(iter(sorted(set(declared) - set(cls.required_options))))
    section[known + "z"] = "x"  # one letter too many: the nearest name is suggested
    path = tmp_path / "okrsync.yaml"
    path.write_text(json.dumps({"endpoints": {"ep": {"type": name, **section}}}))
    with pytest.raises(ConfigError) as info:
        config_mod.load(path, classes())
    assert "endpoints.ep: line " in str(info.value)
    assert f"unknown option '{known}z'; did you mean '{known}'?" in str(info.value)


def test_a_missing_required_option_is_named_with_its_help(tmp_path):
    path = tmp_path / "okrsync.yaml"
    path.write_text("endpoints:\n  jira:\n    type: jira\n    url: https://example.atlassian.net\n    auth: {bearer: x}\n")
    with pytest.raises(ConfigError, match=r"endpoints.jira: needs 'project:' \(project: the key of the Jira project"):
        config_mod.load(path, classes())


class Tracker(Connector):
    """A third-party connector: it declares its options the same way the built-ins do."""

    name = "tracker"
    option_help = {"board": "the board's id", "token": "an API token"}
    required_options = ("board",)


class Legacy(Connector):
    """A third-party connector written before declarations: its keys are not checked."""

    name = "legacy"


def test_a_third_party_connector_is_checked_through_the_same_declaration(tmp_path):
    path = tmp_path / "okrsync.yaml"
    path.write_text("endpoints:\n  t:\n    type: tracker\n    board: 7\n    tokn: {$env: NOPE}\n")
    with pytest.raises(ConfigError) as info:
        config_mod.load(path, {"tracker": Tracker, "legacy": Legacy})
    assert str(info.value) == f"{path}: endpoints.t: line 5: unknown option 'tokn'; did you mean 'token'?"
    path.write_text("endpoints:\n  t:\n    type: tracker\n    board: 7\n    deletes: archive\n"
                    "  l:\n    type: legacy\n    anything: 1\n")
    cfg = config_mod.load(path, {"tracker": Tracker, "legacy": Legacy})
    assert cfg.endpoint("t").options == {"board": 7, "deletes": "archive"}
    assert cfg.endpoint("l").options == {"anything": 1}


def test_doctor_lists_every_unknown_key_instead_of_every_key_known(project):
    (project / "okrsync.yaml").write_text("endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n"
                                          "    layuot: hierarchical\n    delimeter: ';'\n"
                                          "  board:\n    type: xlsx\n    path: board.xlsx\n    shet: OKRs\n")
    result = run("--json", "doctor", "--offline", code=2)
    checks = json.loads(result.output)["checks"] if "checks" in json.loads(result.output) else json.loads(result.output)
    fails = [c for c in checks if c["check"] == "options" and c["status"] == "fail"]
    assert [(c["target"], re.search(r"unknown option '(\w+)'; did you mean '(\w+)'", c["detail"]).groups())
            for c in fails] == [("sheet", ("layuot", "layout")), ("sheet", ("delimeter", "delimiter")),
                                ("board", ("shet", "sheet"))]
    config = next(c for c in checks if c["target"] == "config" and c["check"] == "config")
    assert "every key known" not in config["detail"] and "2 with unknown or missing options" in config["detail"]


def uncommented(text: str) -> str:
    """Every commented-out option of the template, switched on."""
    return re.sub(r"^(\s*)# (\s*[\w-]+:)", r"\1\2", text, flags=re.M)


@pytest.mark.parametrize("sheet", ["okrs.csv", "okrs.xlsx"])
def test_the_init_template_loads_with_every_commented_block_switched_on(tmp_path, monkeypatch, sheet):
    monkeypatch.setenv("JIRA_EMAIL", "okr-bot@example.com")
    monkeypatch.setenv("JIRA_API_TOKEN", "t0ken-value")
    run("init", "--path", sheet)
    template = Path("okrsync.yaml").read_text()
    text = uncommented(template)
    assert text.count("\n") == template.count("\n") and "# jira:" not in text and "# mapping:" not in text
    Path("okrsync.yaml").write_text(text)
    cfg = config_mod.load("okrsync.yaml", classes())
    assert sorted(cfg.endpoints) == ["jira", "sheet"]
    hub = Hub(cfg, Store(None), classes())
    assert hub.connector("sheet").mapping.options["fiscal_year_start"] == 4
    assert hub.connector("jira").project == "OKR"  # the connector accepts what the template says


def test_init_template_is_the_one_tested():
    assert "url: https://example.atlassian.net" in STARTER and "site:" not in STARTER


# ------------------------------------------------------------------ item 9: secrets per endpoint


def with_jira(project, token_var="OKRSYNC_TEST_JIRA_TOKEN"):
    (project / "okrsync.yaml").write_text(
        "endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n"
        "  jira:\n    type: jira\n    url: https://example.atlassian.net\n    project: OKR\n"
        f"    auth:\n      email: bot@example.com\n      token: {{$env: {token_var}}}\n")


def test_an_unset_secret_stops_only_the_commands_that_use_its_endpoint(project, monkeypatch):
    monkeypatch.delenv("OKRSYNC_TEST_JIRA_TOKEN", raising=False)
    with_jira(project)
    out = json.loads(run("--json", "sync", "sheet").output)
    assert out["totals"]["created"] == 6  # 2 objectives and 4 KRs of the real sheet
    assert len(json.loads(run("--json", "show").output)["objectives"]) == 2
    assert json.loads(run("--json", "status").output)["entities"] == {"key_result": 4, "objective": 2}
    assert len(json.loads(run("--json", "log").output)) == 6
    for args in (["sync", "jira"], ["sync"]):
        result = run(*args, code=2)
        assert ("okrsync.yaml: line 11: $env: environment variable OKRSYNC_TEST_JIRA_TOKEN is not set "
                "(endpoints.jira.auth.token needs it" in result.output.replace("\n", ""))
    assert [r["command"] for r in Store(project / "okrsync.db").runs()] == ["sync"]  # the failed ones never started


def test_every_secret_is_still_masked_when_it_is_resolved_lazily(project, monkeypatch):
    monkeypatch.setenv("OKRSYNC_TEST_JIRA_TOKEN", "s3cret-t0ken")
    with_jira(project)
    run("sync", "sheet")  # jira is not used, its token never resolved, yet known to the redactor
    assert logs.REDACTOR("token s3cret-t0ken") == "token ***"


def test_a_users_map_for_a_target_without_users_is_a_usage_error(project):
    (project / "okrsync.yaml").write_text("endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv\n"
                                          "  board:\n    type: xlsx\n    path: board.xlsx\n")
    (project / "users.csv").write_text("ana@example.com,ana\n")
    result = run("migrate", "--from", "sheet", "--to", "board", "--users-map", "users.csv", "--yes", code=2)
    assert "board (type xlsx) has no users to map" in result.output
    assert not (project / "board.xlsx").exists()


def test_okrsync_connectors_lists_each_connectors_options():
    shown = run("connectors", "csv").output
    assert "layout" in shown and "delimiter" in shown and "required" in shown
    listed = {c["name"]: c for c in json.loads(run("--json", "connectors").output)}
    assert listed["jira"]["required_options"] == ["url", "project", "auth"]
    assert listed["xlsx"]["options"]["sheet"].startswith("the sheet that holds the OKRs")
