"""The Jira emulator set up as the end-to-end tests meet it: the bundled example's owners as
Jira users, the issue types of a company-managed project, one clock for Jira and okrsync, and
the okrsync.yaml that joins the sheet okrs.csv to it. The fixtures ``clock`` and ``jira`` are
offered to every test module by tests/conftest.py; a module with its own ``jira`` fixture (a
bare emulator, a spec mock) overrides it."""

import csv
import time

import pytest

from okrsync.connectors import jira as jira_connector

from ..emulators.jira import JiraEmulator
from .saas_e2e import EXAMPLE
from .spec_check import SpecCheck

TOKEN = "jira-e2e-SECRET"
ISSUE_TYPES = [{"id": "10100", "name": "Objective", "hierarchyLevel": 1},
               {"id": "10101", "name": "Key Result", "hierarchyLevel": 0},
               {"id": "10102", "name": "Task", "hierarchyLevel": 0}]


def owners():
    """Jira users (accountId acc-N) for every owner and objective owner of examples/okrs.csv."""
    with EXAMPLE.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    emails = sorted({r["Owner"] for r in rows} | {r["Objective owner"] for r in rows})
    return [{"accountId": f"acc-{n}", "emailAddress": e, "displayName": e.split("@")[0].title()}
            for n, e in enumerate(emails)]


class Clock:
    """One clock for Jira and okrsync that a test can move forward."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


@pytest.fixture
def clock(monkeypatch):
    """The Jira connector's clock, which the test moves by setting ``offset`` (seconds)."""
    c = Clock()
    monkeypatch.setattr(jira_connector, "clock", c)
    return c


@pytest.fixture
def jira(clock):
    """A running Jira emulator on ``clock`` with the example's owners, token TOKEN, every
    exchange checked against Jira's OpenAPI description."""
    with JiraEmulator(users=owners(), email="bot@example.com", token=TOKEN, issue_types=ISSUE_TYPES,
                      bulk_polls=0, now=clock) as emulator:
        emulator.faults.hang = 1.2  # past the client's 1 s timeout
        emulator.spec = SpecCheck.load("jira-cloud-platform-v3.openapi.json")  # every exchange against the spec
        yield emulator


def sheet_and_jira(path, url, after="", store="okrsync.db"):
    """An okrsync.yaml joining the sheet okrs.csv and the Jira emulator at ``url`` (token from
    $JIRA_TOKEN); ``after`` is YAML text that follows the jira endpoint's auth line."""
    (path / "okrsync.yaml").write_text(f"""\
store: {store}
endpoints:
  sheet:
    type: csv
    path: okrs.csv
  jira:
    type: jira
    url: {url}
    project: OKR
    auth: {{email: bot@example.com, token: {{$env: JIRA_TOKEN}}}}
{after}""")
