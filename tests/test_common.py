"""connectors/common.py: the pieces every API connector's set-up shares."""

import pytest

from okrsync.connectors import common
from okrsync.errors import ConfigError, MappingError


def test_check_options_names_the_unknown_key_and_the_missing_one():
    with pytest.raises(ConfigError, match="unknown option 'tokn'; did you mean 'token'"):
        common.check_options({"tokn": 1}, {"token", "url"}, "endpoint x")
    with pytest.raises(ConfigError, match="unknown option 'zzz'; the options are token, url"):
        common.check_options({"zzz": 1}, {"token", "url"}, "endpoint x")
    with pytest.raises(ConfigError, match=r"endpoint x: needs 'token:' \(e\.g\. token: \{\$env: T\}\)"):
        common.check_options({"token": ""}, {"token"}, "endpoint x", required=("token",), example="e.g. token: {$env: T}")
    common.check_options({"token": "t"}, {"token"}, "endpoint x", required=("token",))


def test_merge_and_load_mapping(tmp_path):
    base = {"status": {"a": 1, "b": 2}, "numbers": {"current": "C", "target": "T"}}
    assert common.merge(base, {"status": {"c": 3}, "numbers": {"target": "X"}}, "m") == {
        "status": {"c": 3}, "numbers": {"current": "C", "target": "X"}}  # status maps are replaced whole
    with pytest.raises(MappingError, match="m.numbers: unknown key 'curent'; did you mean 'current'"):
        common.merge(base, {"numbers": {"curent": "X"}}, "m")
    (tmp_path / "mine.yaml").write_text("extends: tability\nconfidence: {}\n")
    assert common.load_mapping("tability", "mine.yaml", tmp_path, "m") == common.merge(
        common.shipped("tability"), {"confidence": {}}, "m")
    with pytest.raises(MappingError, match="mine2.yaml: unknown key"):
        (tmp_path / "mine2.yaml").write_text("nope: 1\n")
        common.load_mapping("tability", "mine2.yaml", tmp_path, "m")


def test_read_cursor_starts_afresh_on_what_it_cannot_read():
    assert common.read_cursor('{"since": 5}') == {"since": 5}
    assert common.read_cursor(None) == common.read_cursor("not json") == common.read_cursor("[1]") == {}


def test_parallel_keeps_order_and_chunks_slice():
    assert common.parallel(lambda n: n * n, range(7), 3) == [0, 1, 4, 9, 16, 25, 36]
    assert list(common.chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]


def test_new_api_takes_timeout_and_attempts_and_hides_the_token():
    api = common.new_api("x", {"timeout": 4, "attempts": 2}, "endpoint x", url="https://tool.example.com",
                         auth=common.bearer(" s3cret ", "endpoint x"), rate=2)
    assert api.attempts == 2 and api.client.timeout.read == 4 and api.client.timeout.connect == 4
    assert api.pacer.interval == 0.5 and "s3cret" not in repr(api.client.auth)
    with pytest.raises(ConfigError, match="plain http"):
        common.new_api("x", {}, "endpoint x", url="http://tool.example.com", auth=None, rate=1)
    with pytest.raises(ConfigError, match="token: give the API token"):
        common.bearer(" ", "endpoint x")


def test_check_endpoint_gives_the_config_loaders_messages_to_every_api_connector(tmp_path):
    """Built in code, an endpoint is checked as the config loader checks it: the first missing
    required option named with its help, an unknown key with a did-you-mean."""
    from okrsync import plugins
    from okrsync.connector import Context

    found = plugins.connectors()
    names = ("asana", "clickup", "quantive", "tability", "jira", "perdoo", "viva-goals")
    for name in names:
        cls = found[name].cls
        first = cls.required_options[0]
        with pytest.raises(ConfigError) as missing:
            cls("x", {}, Context(base_dir=tmp_path))
        assert str(missing.value) == f"endpoint x: needs '{first}:' ({first}: {cls.option_help[first]})"
        with pytest.raises(ConfigError, match=f"endpoint x: unknown option '{first}s'; did you mean '{first}'"):
            cls("x", {f"{first}s": "v"}, Context(base_dir=tmp_path))


def test_mapping_source_and_users_option(tmp_path):
    from okrsync.connector import Connector, Context

    class Tool(Connector):
        name = "tool"
        option_help = {"mapping": "overrides", "users": "e-mail → id"}

    conn = Tool("t", {"mapping": {"status": {}}}, Context(base_dir=tmp_path))
    assert common.check_endpoint(conn) == "endpoint t"
    assert common.mapping_source(conn) == ({"status": {}}, tmp_path, "endpoint t: mapping")
    assert common.users_option({"users": {"Ann@X.org": 7}}) == {"ann@x.org": "7"}
    assert common.users_option({"users": {"Ann@X.org": "7"}}, int) == {"ann@x.org": 7}
    assert common.users_option({}) == {} == common.users_option({"users": None})
