"""The okrsync command run in-process, for tests that drive it end to end, and the two-sheet
project the CLI's tests share."""

from click.testing import CliRunner

from okrsync.cli import cli

# a project of two spreadsheets: planning-sheet (okrs.csv) and board (out/board.xlsx), store in state/
CONFIG = """\
store: state/okrsync.db
endpoints:
  planning-sheet:
    type: csv
    path: okrs.csv
  board:
    type: xlsx
    path: out/board.xlsx
    layout: hierarchical
sync:
  order: [planning-sheet, board]
"""


def run(*args: str, code: int = 0):
    """``okrsync ARGS``: asserts the exit code and that no traceback was shown."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result
