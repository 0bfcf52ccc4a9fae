import re
import textwrap

import pytest

from okrsync import config
from okrsync.config import Config, Endpoint, load
from okrsync.errors import ConfigError

CONNECTORS = {"csv", "xlsx"}


def write(tmp_path, text, name="okrsync.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(path, **kw):
    with pytest.raises(ConfigError) as info:
        load(path, **kw)
    return str(info.value)


# ------------------------------------------------------------------ a good file

def test_load_a_good_config(tmp_path):
    path = write(tmp_path, """
        store: state/hub.db
        endpoints:
          planning-sheet:
            type: csv
            path: okrs.csv
            delimiter: ";"
          finance:
            type: xlsx
            path: finance.xlsx
        sync:
          order: [finance, planning-sheet]
        notify:
          slack: "#okrs"
    """)
    cfg = load(path, connector_names=CONNECTORS)
    assert cfg.path == path
    assert cfg.base_dir == tmp_path
    assert cfg.store == tmp_path / "state" / "hub.db"
    assert list(cfg.endpoints) == ["planning-sheet", "finance"]
    sheet = cfg.endpoint("planning-sheet")
    assert (sheet.name, sheet.type) == ("planning-sheet", "csv")
    assert sheet.options == {"path": "okrs.csv", "delimiter": ";"}  # 'type' is not an option
    assert sheet.where == f"{path}: endpoints.planning-sheet"
    assert cfg.sync == {"order": ["finance", "planning-sheet"]}
    assert cfg.notify == {"slack": "#okrs"}


def test_store_defaults_next_to_the_config(tmp_path):
    path = write(tmp_path, """
        endpoints:
          s: {type: csv, path: a.csv}
    """)
    cfg = load(path)  # no connector_names: any type is accepted
    assert cfg.store == tmp_path / "okrsync.db"
    assert cfg.sync == {} and cfg.notify == {}


def test_default_path_and_env_override(tmp_path, monkeypatch):
    write(tmp_path, "endpoints:\n  s: {type: csv}\n")  # okrsync.yaml in the cwd (conftest chdirs)
    assert list(load().endpoints) == ["s"]
    other = write(tmp_path, "endpoints:\n  other: {type: csv}\n", name="other.yaml")
    monkeypatch.setenv("OKRSYNC_CONFIG", str(other))
    assert list(load().endpoints) == ["other"]


def test_missing_file(tmp_path):
    message = load_error(tmp_path / "nope.yaml")
    assert f"{tmp_path / 'nope.yaml'}: file not found" in message
    assert "okrsync init" in message


# ------------------------------------------------------------------ errors name file, line and key

# each mistake's message, whole: the file, the line, the key, and what would be right
MISTAKES = [
    pytest.param("store: okrsync.db\nendpoint:\n  s:\n    type: csv\n",
                 "line 2: endpoint: unknown key; did you mean 'endpoints'?", id="top-level-key-did-you-mean"),
    pytest.param("endpoints:\n  s: {type: csv}\nzzzz: 1\n",
                 "line 3: zzzz: unknown key; expected one of store, endpoints, sync, notify", id="top-level-key-listed"),
    pytest.param("endpoints:\n  good:\n    type: csv\n  planning-sheet:\n    path: okrs.csv\n",
                 "line 4: planning-sheet: missing 'type' (one of: csv, xlsx)", id="endpoint-without-type"),
    pytest.param("endpoints:\n  sheet: csv\n",
                 "line 2: sheet: an endpoint is a mapping with at least a 'type'", id="endpoint-not-a-mapping"),
    pytest.param("endpoints:\n  sheet:\n    path: okrs.xlsx\n    type: xslx\n",
                 "line 4: type: unknown connector type 'xslx'; did you mean 'xlsx'?", id="type-did-you-mean"),
    pytest.param("endpoints:\n  tracker:\n    type: jira\n",
                 "line 3: type: unknown connector type 'jira'; installed: csv, xlsx", id="type-installed-listed"),
    pytest.param("endpoints:\n  planning-sheet: {type: csv}\nsync:\n  conflicts: last-writer\n  order:\n"
                 "    - planning-sheet\n    - finanse\n",
                 "line 5: order: unknown endpoint 'finanse'", id="unknown-endpoint-in-order"),
    pytest.param("endpoints:\n  s: {type: csv}\nsync: [a]\n", "line 3: sync: must be a mapping", id="sync-not-a-mapping"),
    pytest.param("endpoints:\n  s: {type: csv}\nstore: {file: x}\n",
                 "line 3: store: the store is a file path, e.g. store: okrsync.db", id="store-not-a-path"),
]


@pytest.mark.parametrize("text, message", MISTAKES)
def test_a_mistake_is_named_with_file_line_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    assert load_error(path, connector_names=CONNECTORS) == f"{path}: {message}"


@pytest.mark.parametrize("text, line", [
    pytest.param("store: okrsync.db\n", None, id="absent"),
    pytest.param("store: okrsync.db\nendpoints:\n", 2, id="empty"),
    pytest.param("store: okrsync.db\nendpoints: {}\n", 2, id="empty-mapping"),
    pytest.param("store: okrsync.db\nendpoints: [csv]\n", 2, id="a-list"),
])
def test_endpoints_missing(tmp_path, text, line):
    path = write(tmp_path, text)
    message = load_error(path)
    prefix = f"{path}: line {line}: endpoints" if line else f"{path}: endpoints"
    assert message.startswith(prefix + ": needs at least one endpoint")
    assert "type: csv" in message  # shows an example


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_config_that_is_not_a_mapping(tmp_path, text):
    path = write(tmp_path, text)
    assert load_error(path) == f"{path}: the config must be a mapping with an 'endpoints' key"


@pytest.mark.parametrize("text, line, column", [
    pytest.param("endpoints:\n  s:\n    type: csv\n   path: [a, b\n", None, None, id="unclosed-flow"),
    pytest.param("endpoints:\n  s:\n    type: csv\n      path: x\n", 4, 11, id="bad-indent"),
    pytest.param("endpoints:\n  s: {type: csv}\n\tstore: x\n", 3, 1, id="tab"),
])
def test_yaml_syntax_error_names_line_and_column(tmp_path, text, line, column):
    path = write(tmp_path, text)
    message = load_error(path)
    match = re.match(rf"{re.escape(str(path))}: line (\d+), column (\d+): \S", message)
    assert match, message
    if line is not None:
        assert (int(match[1]), int(match[2])) == (line, column), message


# ------------------------------------------------------------------ secrets

def test_env_secret_is_resolved(tmp_path, monkeypatch):
    monkeypatch.setenv("OKRSYNC_TEST_TOKEN", "s3cret")
    path = write(tmp_path, """
        endpoints:
          tracker:
            type: csv
            auth:
              token: {$env: OKRSYNC_TEST_TOKEN}
            tokens:
              - $env: OKRSYNC_TEST_TOKEN
              - plain
    """)
    cfg = load(path)
    options = cfg.endpoint("tracker").options
    assert options["auth"] == {"token": "s3cret"}
    assert options["tokens"] == ["s3cret", "plain"]
    assert "s3cret" not in path.read_text()


def test_missing_env_var_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("OKRSYNC_TEST_MISSING", raising=False)
    path = write(tmp_path, """
        endpoints:
          tracker:
            type: csv
            api_token:
              $env: OKRSYNC_TEST_MISSING
    """)
    cfg = load(path)  # resolved when the endpoint is used, not when the config loads
    with pytest.raises(ConfigError) as info:
        _ = cfg.endpoint("tracker").options
    assert str(info.value) == (f"{path}: line 5: $env: environment variable OKRSYNC_TEST_MISSING is not set "
                               "(endpoints.tracker.api_token needs it; export it, or leave this endpoint out of the command)")


def test_file_secret_is_read_and_stripped(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token.txt").write_text("  abc123\n\n", encoding="utf-8")
    path = write(tmp_path, """
        endpoints:
          tracker:
            type: csv
            token: {$file: secrets/token.txt}
    """)
    assert load(path).endpoint("tracker").options == {"token": "abc123"}


def test_file_secret_is_relative_to_the_config_not_the_cwd(tmp_path, monkeypatch):
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "token").write_text("xyz\n")
    path = write(conf_dir, "endpoints:\n  t:\n    type: csv\n    token: {$file: token}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load(path).endpoint("t").options["token"] == "xyz"


def test_missing_secret_file_names_the_file(tmp_path):
    path = write(tmp_path, """
        endpoints:
          tracker:
            type: csv
            token: {$file: nope.txt}
    """)
    with pytest.raises(ConfigError) as info:
        _ = load(path).endpoint("tracker").options
    assert str(info.value).startswith(f"{path}: line 4: $file: cannot read secret file {tmp_path / 'nope.txt'}")


def test_a_mapping_with_env_and_other_keys_is_not_a_secret(tmp_path):
    path = write(tmp_path, """
        endpoints:
          t:
            type: csv
            x: {$env: HOME, other: 1}
    """)
    assert load(path).endpoint("t").options["x"] == {"$env": "HOME", "other": 1}


# ------------------------------------------------------------------ Config.endpoint

def test_config_endpoint_suggests_a_close_name(tmp_path):
    cfg = Config(path=tmp_path / "okrsync.yaml", store=tmp_path / "okrsync.db", endpoints={
        "planning-sheet": Endpoint("planning-sheet", "csv", {}, "x"),
        "finance": Endpoint("finance", "xlsx", {}, "y"),
    })
    with pytest.raises(ConfigError) as info:
        cfg.endpoint("plannig-sheet")
    assert str(info.value) == (f"{tmp_path / 'okrsync.yaml'}: no endpoint named 'plannig-sheet'; "
                               "did you mean 'planning-sheet'? (configured: planning-sheet, finance)")
    with pytest.raises(ConfigError, match=r"no endpoint named 'zzz' \(configured: planning-sheet, finance\)"):
        cfg.endpoint("zzz")
    assert cfg.endpoint("finance").type == "xlsx"


# ------------------------------------------------------------------ safety

@pytest.mark.parametrize("payload", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/name:os.system",
])
def test_yaml_is_loaded_safely(tmp_path, payload):
    marker = tmp_path / "pwned"
    path = write(tmp_path, f"""
        endpoints:
          s:
            type: csv
            path: {payload.format(marker=marker)}
    """)
    message = load_error(path)
    assert message.startswith(f"{path}: line 4, column ")
    assert "python/" in message
    assert not marker.exists()


def test_load_yaml_is_a_safe_loader():
    """SafeLoader's constructor (LibYAML's parser under it where PyYAML has one): no python/ tags."""
    constructor = config.yaml.constructor
    assert issubclass(config._Loader, constructor.SafeConstructor)
    assert not issubclass(config._Loader, (constructor.FullConstructor, constructor.UnsafeConstructor))


# ------------------------------------------------------------------ regressions (fixed in okrsync/config.py)

def test_non_string_top_level_key_still_names_its_line(tmp_path):
    path = write(tmp_path, """
        endpoints:
          s: {type: csv}
        2025: q3
    """)
    assert load_error(path) == f"{path}: line 3: 2025: unknown key; expected one of store, endpoints, sync, notify"


def test_sync_order_given_as_a_string_is_an_error_not_split_into_letters(tmp_path):
    path = write(tmp_path, """
        endpoints:
          finance: {type: csv}
        sync:
          order: finance
    """)
    message = load_error(path)
    assert message.startswith(f"{path}: line 4: order: must be a list of endpoint names")
    assert "'f'" not in message


@pytest.mark.parametrize("names", [CONNECTORS, None])
def test_endpoint_type_that_is_not_a_name(tmp_path, names):
    path = write(tmp_path, """
        endpoints:
          s:
            type: [csv]
    """)
    assert load_error(path, connector_names=names) == f"{path}: line 3: type: the type is a connector name, e.g. type: csv"


def test_duplicate_keys_are_an_error_not_a_silent_loss(tmp_path):
    from okrsync import config
    from okrsync.errors import ConfigError

    path = tmp_path / "dupe.yaml"
    path.write_text("endpoints:\n  a:\n    type: csv\n    path: x.csv\n  a:\n    type: csv\n    path: y.csv\n")
    with pytest.raises(ConfigError, match=r"line 5, column 3: duplicate key 'a' \(first on line 2\)"):
        config.load(path)
