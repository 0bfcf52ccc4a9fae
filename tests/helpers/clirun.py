"""The okrsync command run in-process, for tests that drive it end to end."""

from click.testing import CliRunner

from okrsync.cli import cli


def run(*args: str, code: int = 0):
    """``okrsync ARGS``: asserts the exit code and that no traceback was shown."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result
