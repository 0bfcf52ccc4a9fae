"""A project directory for the CLI's tests: the linked CSV import (objectives, key results and
check-ins in three files) that test_checkins, test_levels and test_tolerant_values share, and
the store's KRs read back by title."""

from okrsync.store import Store

CONFIG = """\
store: state/okrsync.db
endpoints:
  sheet:
    type: csv
    path: objectives.csv
    layout: linked
    tables: {objective: objectives.csv, key_result: key-results.csv, check_in: check-ins.csv}
"""


def make_project(tmp_path, monkeypatch, files: dict[str, str]):
    """A project directory with ``files`` written, as the working directory."""
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def krs(project) -> dict[str, dict]:
    """The store's KRs by title (state/okrsync.db)."""
    store = Store(project / "state" / "okrsync.db")
    try:
        return {f["title"]: f for _, _, f in store.entities("key_result")}
    finally:
        store.close()
