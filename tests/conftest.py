import pytest

from okrsync.store import Store

# fixtures more than one test module asks for, by name
from .helpers.jira_e2e import clock, jira  # noqa: F401
from .helpers.memory import fresh_world  # noqa: F401
from .helpers.plugins import site  # noqa: F401


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Run every test in its own directory, with no installed (entry-point) plugins."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OKRSYNC_LOAD_PLUGINS", "")


@pytest.fixture
def store():
    s = Store(None)
    yield s
    s.close()
