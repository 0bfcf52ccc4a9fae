"""Every API connector that has an emulator, described once for the cross-connector suites
(tests/test_faults.py, tests/test_security.py): how to start its emulator seeded for the
bundled example, the endpoint options (with the secret token), which requests read and
which write, and what the tool holds afterwards.

``direction`` is where the example data flows: ``push`` (sheet → tool: the tool is written)
or ``pull`` (Tability is read only: tool → sheet)."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okrsync import plugins
from okrsync.config import Config
from okrsync.store import Store
from okrsync.sync import Hub

from .saas_e2e import running

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "okrs.csv"
SID = "1FaultFaultFaultFaultFaultFault000000"


def example_rows() -> list[dict[str, str]]:
    with EXAMPLE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def example_emails() -> list[str]:
    rows = example_rows()
    return sorted({r[k] for r in rows for k in ("Objective owner", "Owner") if r[k]})


@dataclass
class Vendor:
    name: str  # the connector type, also the endpoint's name
    token: str
    start: Callable[[], Any]  # a started, seeded emulator (a context manager)
    options: Callable[[Any], dict]  # endpoint options for that emulator (token included)
    titles: Callable[[Any], list[str]]  # what the tool holds: one title per record
    read: tuple[str, str]  # (method, path regex) of a listing request
    write: tuple[str, str] | None  # (method, path regex) of a write request
    direction: str = "push"
    paged: dict = field(default_factory=dict)  # endpoint options and emulator attributes for small pages
    page_emulator: Callable[[Any], None] | None = None


# ------------------------------------------------------------------ emulators, seeded

def _running(emu, seed: Callable[[Any], object] = lambda emu: None, spec: Any = None):
    """``emu`` started and seeded (``saas_e2e.running``); a request a fault hangs hangs 1.2 s:
    the suites' timeout is 1 s, and a loaded CI machine answers a plain request slower than
    0.25 s now and then."""
    return running(emu, seed, spec, hang=1.2)


def _add_users(emu) -> None:
    for email in example_emails():
        emu.add_user(email)


def _jira():
    from ..emulators.jira import JiraEmulator
    from .spec_check import SpecCheck

    users = [{"accountId": f"acc-{n}", "emailAddress": e, "displayName": e.split("@")[0]}
             for n, e in enumerate(example_emails())]
    types = [{"id": "10100", "name": "Objective", "hierarchyLevel": 1},
             {"id": "10101", "name": "Key Result", "hierarchyLevel": 0}, {"id": "10102", "name": "Task", "hierarchyLevel": 0}]
    spec = SpecCheck.load("jira-cloud-platform-v3.openapi.json")
    return _running(JiraEmulator(users=users, email="bot@example.com", token="jira-SECRET-7f3a9c", issue_types=types,
                                 bulk_polls=0), spec=spec)


def _asana():
    from ..emulators.asana import AsanaEmulator
    from .asana_spec import asana_spec

    quarters = [("Q1", "Q1 FY26", "2026-01-01", "2026-03-31"), ("Q2", "Q2 FY26", "2026-04-01", "2026-06-30")]
    spec = asana_spec()
    return _running(AsanaEmulator(users=example_emails(), periods=quarters), spec=spec)


def _clickup():
    from ..emulators.clickup import ClickUpEmulator
    from .clickup_spec import ClickUpSpec

    def seed(emu):
        for email in example_emails():
            emu.add_member(email)

    spec = ClickUpSpec.load()
    return _running(ClickUpEmulator(token="pk_183_SECRET_CLICKUP_9d1e"), seed, spec)


def _sheets():
    from ..emulators.google_sheets import GoogleSheets
    from .discovery_check import DiscoveryCheck

    spec = DiscoveryCheck.load("google-sheets-v4.discovery.json")
    return _running(GoogleSheets(tokens={"ya29.SECRET-sheets-4b7c"}), lambda emu: emu.add_sheet(SID, "OKRs"), spec)


def _perdoo():
    from ..emulators.perdoo import PerdooEmulator

    def seed(emu):
        emu.add_timeframe("Q1 2026")
        for team in ("Company", "Customer Success", "Marketing", "People", "Platform", "Sales", "Security"):
            emu.add_group(team)
        _add_users(emu)

    return _running(PerdooEmulator(token="perdoo-SECRET-31c8"), seed)


def _quantive():
    from ..emulators.quantive import QuantiveEmulator

    def seed(emu):
        emu.add_session("Q1 2026")
        _add_users(emu)

    return _running(QuantiveEmulator(token="quantive-SECRET-e52d"), seed)


def _tability():
    from ..emulators.tability import TabilityEmulator
    from .tability_seed import seed_from_example

    return _running(TabilityEmulator(token="tab-SECRET-a81f"), seed_from_example)


def _smartsheet():
    from ..emulators.smartsheet import Smartsheet
    from .smartsheet_spec import smartsheet_spec

    return _running(Smartsheet(tokens={"ss-SECRET-token-5e2b"}), lambda emu: emu.add_sheet(4583173393803140, "OKRs"),
                    smartsheet_spec())


def _notion():
    from ..emulators.notion import Notion
    from .notion_seed import seed

    return _running(Notion(token="secret_NOTION-SECRET-77aa"), seed)


def _airtable():
    from ..emulators.airtable import Airtable
    from .airtable_seed import seed

    def seed_and_say_when(emu):
        seed(emu)
        # here a 429 says how long to wait, so the suite checks it is honoured; without the
        # header (as Airtable documents it) okrsync waits 30 s: tests/test_airtable_e2e.py
        emu.retry_after_header = True

    return _running(Airtable(token="patSECRET-airtable-4f0c"), seed_and_say_when)


def _graph():
    from ..emulators.graph import Graph
    from .graph_spec import GraphSpec
    from .graph_workbook import DRIVE, ITEM, workbook

    return _running(Graph(tokens={"graph-SECRET-token-9a1b"}), lambda emu: emu.add_file(DRIVE, ITEM, "OKRs 2026.xlsx", workbook()),
                    GraphSpec.load())


def _graph_titles(emu) -> list[str]:
    from .graph_workbook import DRIVE, ITEM, cells

    return [r.get("Key result") or r.get("Objective") for r in cells(emu.data(DRIVE, ITEM))]


def _jira_titles(emu) -> list[str]:
    return [i["fields"]["summary"] for i in emu.issues.values()]


VENDORS: dict[str, Vendor] = {v.name: v for v in [
    Vendor("jira", "jira-SECRET-7f3a9c", _jira,
           lambda emu: {"url": emu.url, "project": "OKR", "auth": {"email": "bot@example.com", "token": "jira-SECRET-7f3a9c"},
                        "concurrency": 2, "poll_interval": 0, "search_lag": 0},  # the emulator's search has no lag
           _jira_titles, ("POST", r"/rest/api/3/search/jql"), ("POST", r"/rest/api/3/issue/bulk"),
           page_emulator=lambda emu: setattr(emu, "page_size", 10)),
    Vendor("asana", "asana-test-token", _asana,
           lambda emu: {"url": emu.url + "/api/1.0", "workspace": emu.workspace, "token": "asana-test-token"},
           lambda emu: [g["name"] for g in emu.goals.values()], ("GET", r"/api/1.0/goals"), ("POST", r"/api/1.0/batch"),
           page_emulator=lambda emu: setattr(emu, "max_page", 10)),
    Vendor("clickup", "pk_183_SECRET_CLICKUP_9d1e", _clickup,
           lambda emu: {"url": emu.url + "/api", "team_id": emu.team_id, "auth": {"token": "pk_183_SECRET_CLICKUP_9d1e"},
                        "concurrency": 2},
           lambda emu: [g["name"] for g in emu.goals.values()] + [t["name"] for t in emu.targets.values()],
           ("GET", r"/api/v2/team/[^/]+/goal"), ("POST", r"/api/v2/")),
    Vendor("google-sheets", "ya29.SECRET-sheets-4b7c", _sheets,
           lambda emu: {"url": emu.url, "spreadsheet": SID, "sheet": "OKRs", "auth": {"bearer": "ya29.SECRET-sheets-4b7c"}},
           lambda emu: [r.get("Key result") or r.get("Objective") for r in emu.records(SID, "OKRs")],
           ("GET", r"/v4/spreadsheets/[^/]+/values:batchGet"), ("POST", r"/v4/spreadsheets/[^/]+/values")),
    Vendor("perdoo", "perdoo-SECRET-31c8", _perdoo,
           lambda emu: {"url": emu.url + "/graphql/", "token": "perdoo-SECRET-31c8"},
           lambda emu: [o["name"] for o in emu.objectives.values()] + [r["name"] for r in emu.results.values()
                                                                       if not r.get("archived")],
           ("POST", r"/graphql"), None, paged={"page_size": 10}),
    Vendor("quantive", "quantive-SECRET-e52d", _quantive,
           lambda emu: {"url": emu.url + "/results/api/v1", "token": "quantive-SECRET-e52d", "account_id": emu.account},
           lambda emu: [g["name"] for g in emu.goals.values()] + [m["name"] for m in emu.metrics.values()],
           ("GET", r"/results/api/v1/(goals|metrics)"), ("POST", r"/results/api/v1/(goals|metrics)"),
           paged={"page_size": 10}),
    Vendor("smartsheet", "ss-SECRET-token-5e2b", _smartsheet,
           lambda emu: {"url": emu.url + "/2.0", "sheet": "4583173393803140", "token": "ss-SECRET-token-5e2b"},
           lambda emu: [r.get("Key result") or r.get("Objective") for r in emu.records(4583173393803140)],
           ("GET", r"/2.0/sheets/\d+$"), ("POST", r"/2.0/sheets/\d+/rows")),
    Vendor("notion", "secret_NOTION-SECRET-77aa", _notion,
           lambda emu: {"url": emu.url, "token": "secret_NOTION-SECRET-77aa",
                        "tables": {"objective": emu.objectives, "key_result": emu.krs}},
           lambda emu: [r.get("Key result") or r.get("Objective") for db in (emu.objectives, emu.krs)
                        for r in emu.rows(db)],
           ("POST", r"/v1/databases/[^/]+/query"), ("POST", r"/v1/pages")),
    Vendor("airtable", "patSECRET-airtable-4f0c", _airtable,
           lambda emu: {"url": emu.url, "token": "patSECRET-airtable-4f0c", "base": emu.base,
                        "tables": {"objective": "Objectives", "key_result": "Key results"}},
           lambda emu: [r.get("Key result") or r.get("Objective") for t in (emu.objectives, emu.krs)
                        for r in emu.rows(t)],
           ("GET", r"/v0/app[A-Za-z0-9]+/tbl"), ("POST", r"/v0/app[A-Za-z0-9]+/tbl")),
    Vendor("graph-excel", "graph-SECRET-token-9a1b", _graph,
           lambda emu: {"url": emu.url + "/v1.0", "drive": "b!drive-okr-team", "item": "01ABCDEFWORKBOOK",
                        "sheet": "OKRs", "auth": {"bearer": "graph-SECRET-token-9a1b"}},
           _graph_titles, ("GET", r"/v1.0/drives/[^/]+/items/[^/]+$"), ("PUT", r"/v1.0/drives/[^/]+/items/[^/]+/content")),
    Vendor("tability", "tab-SECRET-a81f", _tability,
           lambda emu: {"url": emu.url, "workspace": emu.workspace, "token": "tab-SECRET-a81f"},
           lambda emu: [], ("GET", r"/v2/workspaces/[^/]+/plans"), None, direction="pull"),
]}


def endpoint_options(vendor: Vendor, emu, **extra) -> dict:
    return {"type": vendor.name, "rate": 1000, "timeout": 1, "attempts": 4, **vendor.options(emu), **extra}


def make_hub(tmp_path: Path, vendor: Vendor, emu, *, sleeps: list | None = None, store: Store | None = None,
             **extra) -> Hub:
    """The example sheet ("sheet", a copy in tmp_path) and the tool (endpoint ``vendor.name``)
    in one hub over a store file in tmp_path; retry waits are recorded in ``sleeps``, not slept
    (nor are the pacer's)."""
    sheet = tmp_path / "okrs.csv"
    if vendor.direction == "push" and not sheet.exists():
        shutil.copy(EXAMPLE, sheet)
    order = ["sheet", vendor.name] if vendor.direction == "push" else [vendor.name, "sheet"]
    cfg = Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": "flat"},
                               vendor.name: endpoint_options(vendor, emu, **extra)}, {"order": order})
    hub = Hub(cfg, store or Store(tmp_path / "okrsync.db"), plugins.classes())
    api = hub.connector(vendor.name).api
    api.sleep = sleeps.append if sleeps is not None else (lambda s: None)  # retry waits
    api.pacer.sleep = lambda s: None
    return hub


def sync(hub: Hub):
    """One full run; the run is marked failed (and the error re-raised) when it fails."""
    run = hub.store.begin_run("sync")
    try:
        plans = hub.run(list(hub.config.endpoints), run)
    except Exception:
        hub.store.finish_run(run, "failed", {})
        raise
    hub.store.finish_run(run, "ok", {})
    return plans
