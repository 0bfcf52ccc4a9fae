"""Plugin loading: built-ins, entry points from other distributions, start-up errors."""

import json

import pytest

from okrsync import plugins
from okrsync.plugins import StartupError, new_plugin_manager

from .helpers.plugins import make_distribution


def install_connector(site, module, name, capabilities=""):
    """A distribution ``okrsync-…`` (``module`` with dashes) whose plugin registers one
    connector named ``name`` (with a ``capabilities = …`` line, if given)."""
    make_distribution(site, module.replace("_", "-"), module, f"""
        from okrsync import Capabilities, Connector, hookimpl

        class Fake(Connector):
            name = {name!r}
            {capabilities}

        @hookimpl
        def register_connectors(register):
            register(Fake)
    """)


def test_builtin_connectors_load_without_entry_points():
    found = plugins.connectors(new_plugin_manager(entry_points=False))
    assert {"csv", "xlsx"} <= set(found)
    assert found["csv"].source == "built-in"


def test_every_built_in_connector_loads_as_the_name_it_is_registered_by():
    """The built-ins are registered by name and place (okrsync/connectors/__init__.py):
    each place holds a connector of that name, and every module's class is there."""
    import importlib
    import inspect

    from okrsync.connector import Connector
    from okrsync.connectors import BUILT_IN

    found = plugins.connectors(new_plugin_manager(entry_points=False))
    assert set(BUILT_IN) <= set(found)
    for name in BUILT_IN:
        assert found[name].cls.name == name and found[name].source == "built-in"
    modules = {ref.partition(":")[0] for ref in BUILT_IN.values()}
    defined = {cls.name for m in modules for _, cls in inspect.getmembers(importlib.import_module(m), inspect.isclass)
               if issubclass(cls, Connector) and cls.__module__ == m and getattr(cls, "name", None)}
    assert defined == set(BUILT_IN)  # no connector class left unregistered


def test_a_run_imports_only_the_connectors_its_endpoints_use(tmp_path):
    """A CSV pull loads neither the SaaS connectors nor httpx or jsonpath (~0.3 s of every
    command when all were imported up front)."""
    import subprocess
    import sys

    (tmp_path / "okrs.csv").write_text("Objective,Key result,Start,Target\nGrow,Reach 10,0,10\n")
    (tmp_path / "okrsync.yaml").write_text("endpoints:\n  sheet: {type: csv, path: okrs.csv}\n")
    code = ("import sys; from okrsync.cli import cli\n"
            "try:\n    cli(['pull'], standalone_mode=False)\nfinally:\n"
            "    open('loaded', 'w').write(' '.join(m for m in sys.modules if m.startswith(('okrsync.', 'httpx', 'jsonpath'))))")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    loaded = set((tmp_path / "loaded").read_text().split())
    assert "okrsync.connectors.spreadsheet" in loaded
    assert not loaded & {"okrsync.connectors.jira", "okrsync.connectors.asana", "okrsync.connectors.notion", "httpx",
                         "jsonpath_rfc9535"}, loaded
    assert (tmp_path / "okrsync.db").exists()


def test_a_connector_registered_by_name_and_place_loads_on_first_use(site):
    make_distribution(site, "okrsync-later", "okrsync_later", """
        from okrsync import hookimpl

        @hookimpl
        def register_connectors(register):
            register("later-tool", "okrsync_later_impl:Later")
            register("wrong-name", "okrsync_later_impl:Later")
            register("missing", "okrsync_later_impl:Nothing")
    """)
    (site / "okrsync_later_impl.py").write_text(
        "from okrsync import Connector\n\nclass Later(Connector):\n    name = 'later-tool'\n")
    import sys

    found = plugins.connectors(new_plugin_manager())
    assert "okrsync_later_impl" not in sys.modules  # listed without being imported
    assert found["later-tool"].source == "entry point (okrsync-later 1.2)"
    assert plugins.classes(new_plugin_manager())["later-tool"].name == "later-tool"
    with pytest.raises(StartupError, match="registered connector 'wrong-name'.*which is connector 'later-tool'"):
        _ = found["wrong-name"].cls
    with pytest.raises(StartupError, match="registered connector 'missing'.*does not load"):
        _ = found["missing"].cls


def test_hook_register_connectors_finds_connector_of_another_distribution(site):
    install_connector(site, "okrsync_fake", "fake-tool", 'capabilities = Capabilities(kinds=("objective",))')
    found = plugins.connectors(new_plugin_manager())
    assert found["fake-tool"].source == "entry point (okrsync-fake 1.2)"
    assert found["fake-tool"].cls.capabilities.kinds == ("objective",)


def test_okrsync_load_plugins_empty_loads_no_external_plugin(site, monkeypatch):
    install_connector(site, "okrsync_fake2", "fake2")
    monkeypatch.setenv("OKRSYNC_LOAD_PLUGINS", "")
    assert "fake2" not in plugins.connectors(new_plugin_manager())
    monkeypatch.setenv("OKRSYNC_LOAD_PLUGINS", "okrsync_fake2")
    assert "fake2" in plugins.connectors(new_plugin_manager())


def test_duplicate_connector_name_is_a_startup_error(site):
    install_connector(site, "okrsync_dupe", "csv")
    with pytest.raises(StartupError, match=r"two plugins register a connector named 'csv'.*okrsync_dupe"):
        plugins.connectors(new_plugin_manager())


def test_misspelt_hook_fails_loudly(site):
    make_distribution(site, "okrsync-typo", "okrsync_typo", """
        from okrsync import hookimpl

        @hookimpl
        def register_connector(register):
            pass
    """)
    with pytest.raises(StartupError, match="register_connector"):
        new_plugin_manager()


def test_hook_register_commands_adds_a_cli_command(site):
    make_distribution(site, "okrsync-cmd", "okrsync_cmd", """
        import click
        from okrsync import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello from a plugin")
    """)
    from click.testing import CliRunner

    from okrsync import cli as cli_module

    plugins.get_plugin_manager.cache_clear()
    group = cli_module.OkrsyncGroup(name="okrsync", commands=dict(cli_module.cli.commands))
    group.params = cli_module.cli.params
    group.callback = cli_module.cli.callback
    try:
        result = CliRunner().invoke(group, ["hello"])
    finally:
        plugins.get_plugin_manager.cache_clear()
    assert result.exit_code == 0, result.output
    assert "hello from a plugin" in result.output


def test_importing_okrsync_loads_no_plugins():
    import subprocess
    import sys

    code = "import okrsync.cli, okrsync.plugins as p; print(p.get_plugin_manager.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"


def test_every_hook_has_a_test_and_is_documented():
    from pathlib import Path

    from okrsync import hookspecs

    hooks = [n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "okrsync_spec")]
    assert {"register_connectors", "register_commands", "run_finished"} <= set(hooks)
    here = Path(__file__).read_text()
    readme = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    for name in hooks:
        assert f"test_hook_{name}" in here, f"no test_hook_{name}"
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
        assert name in readme, f"{name} missing from docs/plugins.md"


def test_hook_run_finished_gets_the_summary_from_an_installed_plugin(site, tmp_path, monkeypatch):
    make_distribution(site, "okrsync-audit", "okrsync_audit", """
        import json, os
        from okrsync import hookimpl

        @hookimpl
        def run_finished(summary, config):
            with open(os.environ["AUDIT_FILE"], "a") as f:
                f.write(json.dumps({"summary": summary, "store": str(config.store) if config else None}) + "\\n")
    """)
    from click.testing import CliRunner

    from okrsync.cli import cli

    audit = tmp_path / "audit.jsonl"
    monkeypatch.setenv("AUDIT_FILE", str(audit))
    (tmp_path / "okrs.csv").write_text("Objective,Key result,Start,Target\nGrow,Reach 10,0,10\n")
    (tmp_path / "okrsync.yaml").write_text("endpoints:\n  sheet: {type: csv, path: okrs.csv}\n")
    plugins.get_plugin_manager.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["sync"])
        broken = CliRunner().invoke(cli, ["-c", "missing.yaml", "sync"])
    finally:
        plugins.get_plugin_manager.cache_clear()
    assert result.exit_code == 0, result.output
    assert broken.exit_code == 2, broken.output
    first, second = [json.loads(line) for line in audit.read_text().splitlines()]
    assert first["summary"]["status"] == "ok" and first["summary"]["counters"]["created"] >= 2
    assert first["store"].endswith("okrsync.db")
    assert second["summary"]["status"] == "bad-config" and second["store"] is None
    assert "missing.yaml" in second["summary"]["error"]
