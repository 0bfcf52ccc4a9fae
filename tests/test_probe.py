"""okrsync doctor --probe: each connector's claims checked against its emulator, a contradicting
emulator caught, no probe without a sandbox, cleanup after an interrupt, results kept."""

import json
import re

import pytest
from click.testing import CliRunner

from okrsync.cli import cli

from .emulators.quantive import ACCOUNT, BASE, QuantiveEmulator
from .emulators.quantive import TOKEN as Q_TOKEN


def probe(name="saas", *, code=0):
    result = CliRunner().invoke(cli, ["--json", "doctor", "--probe", name])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout) if code in (0, 1) else result


def verdicts(out) -> dict[str, tuple[str, str]]:
    return {r["claim"]: (r["verdict"], r["detail"]) for r in out["results"]}


def all_confirmed() -> dict[str, tuple[str, str]]:
    """Probe, and assert the emulator (the sourced behaviour) confirms every claim."""
    found = verdicts(probe())
    assert all(v == "confirmed" for v, _ in found.values()), found
    return found


def write_config(tmp_path, monkeypatch, section: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "okrsync.yaml").write_text(f"endpoints:\n  saas:\n{section}")


# ---------------------------------------------------------------- Quantive

@pytest.fixture
def quantive():
    with QuantiveEmulator() as emu:
        emu.add_session("okrsync sandbox")
        yield emu


def quantive_config(tmp_path, monkeypatch, emu, sandbox="{session: okrsync sandbox}"):
    write_config(tmp_path, monkeypatch, f"    type: quantive\n    url: {emu.url}{BASE}\n    token: {Q_TOKEN}\n"
                                        f"    account_id: {ACCOUNT}\n    rate: 1000\n    sandbox: {sandbox}\n")


def test_quantive_probe_confirms_against_the_emulator_and_leaves_nothing(tmp_path, monkeypatch, quantive):
    quantive_config(tmp_path, monkeypatch, quantive)
    found = all_confirmed()
    assert found["a KR's value moves by POST /metrics/{id}/checkin"][0] == "confirmed"
    assert found["key result (decimal) current 2.5 reads back as written"] == ("confirmed", "")
    assert any(c.startswith("objective title 'okrsync probe — throwaway") for c in found)
    assert not quantive.goals and not quantive.metrics  # every throwaway record deleted
    assert quantive.count("POST", BASE + "/metrics/") >= 2  # the check-ins


def test_quantive_ignoring_actual_on_put_is_reported_contradicted(tmp_path, monkeypatch, quantive):
    quantive.put_ignores_actual = True
    quantive_config(tmp_path, monkeypatch, quantive)
    out = probe(code=1)
    verdict, detail = verdicts(out)["PUT /metrics/{id} takes `actual` (okrsync sends values by check-in instead)"]
    assert (verdict, detail) == ("contradicted", "actual read back 0.0 after PUT {actual: 4.0}")
    # what okrsync does rely on still holds
    assert verdicts(out)["a KR's value moves by POST /metrics/{id}/checkin"][0] == "confirmed"
    assert not quantive.goals and not quantive.metrics


def test_no_probe_without_an_explicit_sandbox(tmp_path, monkeypatch, quantive):
    write_config(tmp_path, monkeypatch, f"    type: quantive\n    url: {quantive.url}{BASE}\n    token: {Q_TOKEN}\n"
                                        f"    account_id: {ACCOUNT}\n")
    result = probe(code=2)
    assert "sandbox" in result.output and quantive.count() == 0  # not one request


def test_a_probe_killed_midway_is_cleaned_up_by_the_next(tmp_path, monkeypatch, quantive):
    from okrsync.connectors.quantive import QuantiveConnector

    quantive_config(tmp_path, monkeypatch, quantive)
    real = QuantiveConnector.read
    monkeypatch.setattr(QuantiveConnector, "read", lambda self, cursor: (_ for _ in ()).throw(KeyboardInterrupt()))
    result = CliRunner().invoke(cli, ["--json", "doctor", "--probe", "saas"])
    assert result.exit_code != 0
    assert not quantive.goals and not quantive.metrics  # deleted on the way out
    monkeypatch.setattr(QuantiveConnector, "read", real)
    assert probe()["exit_code"] == 0


def test_leftovers_of_a_killed_probe_are_deleted_first(tmp_path, monkeypatch, quantive):
    from okrsync.store import Store

    quantive_config(tmp_path, monkeypatch, quantive)
    goal = quantive.add_goal("okrsync probe leftover", next(iter(quantive.sessions)))
    store = Store(tmp_path / "okrsync.db")
    run = store.begin_run("doctor --probe")  # as a SIGKILLed probe leaves it: the intent, no delete
    store.add_intents(run, "saas#probe", [("objective", f"probe:objective:{goal}", {"external_id": goal})])
    store.close()
    found = verdicts(probe())
    assert found["an interrupted probe's throwaway records are deleted"] == ("confirmed", "1 deleted")
    assert goal not in quantive.goals


def test_the_result_is_kept_for_migrate_and_connectors(tmp_path, monkeypatch, quantive):
    from okrsync import probe as probe_mod
    from okrsync.connectors.quantive import QuantiveConnector
    from okrsync.store import Store

    quantive_config(tmp_path, monkeypatch, quantive)
    probe()
    store = Store(tmp_path / "okrsync.db")
    notes = probe_mod.fact_notes(store, "saas", QuantiveConnector.capabilities.unconfirmed)
    assert len(notes) == 3 and all(n.startswith("confirmed on this account by okrsync doctor --probe") for n in notes)
    store.close()
    shown = CliRunner().invoke(cli, ["connectors", "quantive"])
    assert shown.exit_code == 0 and "confirmed on this account" in shown.output and "saas" in shown.output


# ---------------------------------------------------------------- ClickUp

@pytest.fixture
def clickup(tmp_path, monkeypatch):
    """A ClickUp emulator checked against the spec, and a config probing it."""
    from .emulators.clickup import ClickUpEmulator
    from .helpers.clickup_spec import ClickUpSpec

    with ClickUpEmulator(team_id="512") as emu:
        emu.spec = ClickUpSpec.load()
        write_config(tmp_path, monkeypatch, f"    type: clickup\n    url: {emu.url}/api\n    team_id: '512'\n"
                                            "    auth: {token: pk_183_TESTTOKEN}\n    rate: 1000\n"
                                            "    sandbox: {team_id: '512'}\n")
        yield emu


DECIMALS = "decimal start, target and current values: the spec types steps_start/steps_end/"


def test_clickup_probe_confirms_decimals_and_the_rest_against_the_emulator(tmp_path, monkeypatch, clickup):
    found = all_confirmed()
    [decimal] = [v for c, v in found.items() if c.startswith(DECIMALS)]
    assert decimal == ("confirmed", "4 check(s)")  # the create, start, target, current of the decimal KR
    assert [v for c, (v, _) in found.items() if c.startswith("objective due ")] == ["confirmed"]
    assert [v for c, (v, _) in found.items() if c.startswith("objective title 'okrsync probe")] == ["confirmed"]
    assert not clickup.goals and not clickup.targets


def test_clickup_truncating_decimals_is_reported_contradicted(tmp_path, monkeypatch, clickup):
    clickup.truncate_decimals = True
    out = probe(code=1)
    found = verdicts(out)
    [decimal] = [v for c, v in found.items() if c.startswith(DECIMALS)]
    assert decimal[0] == "contradicted" and "key result (decimal) current 2.5 reads back as written: read back 2.0" in decimal[1]
    assert found["key result (decreasing) start 10.0 reads back as written"] == ("confirmed", "")
    assert not clickup.goals and not clickup.targets


# ---------------------------------------------------------------- Perdoo

@pytest.fixture
def perdoo(tmp_path, monkeypatch):
    """A Perdoo emulator with a current and a past timeframe, and a config probing it."""
    from .emulators.perdoo import PerdooEmulator

    with PerdooEmulator() as emu:
        emu.add_timeframe("Q1 2026")
        emu.past_timeframes.add(emu.add_timeframe("Q4 2025"))
        emu.add_group("Sandbox")
        sandbox = "{group: Sandbox, timeframe: Q1 2026, past_timeframe: Q4 2025}"
        write_config(tmp_path, monkeypatch, f"    type: perdoo\n    url: {emu.url}/graphql/\n"
                                            f"    token: perdoo-test-token\n    rate: 1000\n    sandbox: {sandbox}\n")
        yield emu


PAST = "the objectives listing (includePastTimeframes: true) shows objectives of past timeframes"
COMMITS = "check-ins from Perdoo commits (lastCommit, allCommits, commit(id)): the commit type's fields and a " \
          "mutation creating one are unconfirmed"


def test_perdoo_probe_confirms_kr_writes_and_past_timeframes_against_the_emulator(tmp_path, monkeypatch, perdoo):
    from okrsync.connectors.perdoo import PerdooConnector

    found = verdicts(probe())
    assert found.pop(COMMITS)[0] == "not testable"  # the one claim no source lets okrsync test
    assert all(v == "confirmed" for v, _ in found.values()), found
    writes, values = PerdooConnector.capabilities.unconfirmed
    assert found[writes][0] == found[values][0] == found[PAST][0] == "confirmed"
    assert not perdoo.objectives and all(r["archived"] for r in perdoo.results.values())  # KRs: archived, as deletes are


def test_perdoo_hiding_past_timeframes_is_reported_contradicted(tmp_path, monkeypatch, perdoo):
    perdoo.ignore_include_past = True
    found = verdicts(probe(code=1))
    assert found[PAST] == ("contradicted", "an objective of timeframe 'Q4 2025' was not listed: okrsync would take "
                                           "past quarters' objectives as deleted")
    assert not perdoo.objectives


def test_perdoo_probe_says_commit_fields_are_not_testable_and_what_the_account_shows(tmp_path, monkeypatch, perdoo):
    # the emulator's schema holds only sourced names: no commit type, no commit mutation
    verdict, detail = verdicts(probe())[COMMITS]
    assert verdict == "not testable"
    assert detail.startswith("this account answered no type named commit; mutations naming commits: none.")
    assert "writes values as currentValue until these are sourced" in detail


def test_perdoo_probe_lists_the_commit_fields_an_account_answers(tmp_path, monkeypatch, perdoo):
    from graphql import extend_schema, parse

    from .emulators import perdoo as emulator

    # made up for this test only (no source shows commit's fields): the probe must show
    # whatever the account answers, wrapped types written as GraphQL writes them
    made_up = "type commit { id: UUID! someValue: Float tags: [ID!]! } " \
              "input CommitInput { id: ID } extend type Mutation { someCommitMutation(input: CommitInput!): commit }"
    monkeypatch.setattr(emulator, "SCHEMA", extend_schema(emulator.SCHEMA, parse(made_up)))
    verdict, detail = verdicts(probe())[COMMITS]
    assert verdict == "not testable"
    assert detail.startswith("this account's commit type has id: UUID!, someValue: Float, tags: [ID!]!; "
                             "mutations naming commits: someCommitMutation.")


# ---------------------------------------------------------------- Asana

def test_asana_probe_confirms_against_the_emulator(tmp_path, monkeypatch):
    from .emulators.asana import TOKEN, AsanaEmulator
    from .helpers.asana_spec import asana_spec

    with AsanaEmulator(users=[], periods=[("Q1", "Q1 FY26", "2026-01-01", "2026-03-31")]) as emu:
        emu.spec = asana_spec()
        write_config(tmp_path, monkeypatch, f"    type: asana\n    url: {emu.url}/api/1.0\n    workspace: '{emu.workspace}'\n"
                                            f"    token: {TOKEN}\n    rate: 1000\n    sandbox: {{period: 2026-Q1}}\n")
        found = all_confirmed()
        assert len([c for c in found if c.startswith("key result (decimal)")]) >= 5
        assert not emu.goals


# ---------------------------------------------------------------- Tability (reads only)

def test_tability_probe_reads_only_and_names_unknown_outcome_types(tmp_path, monkeypatch):
    from .emulators.tability import TabilityEmulator

    with TabilityEmulator() as emu:
        plan = emu.add_plan("Company OKRs 2026 Q1", "2026-01-01", "2026-03-31")
        objective = emu.add_objective(plan, "Grow", "")
        emu.add_outcome(objective, "Revenue", start=1.0, target=2.0, score_format="_number_", weight=1.0, owner=None)
        odd = emu.add_outcome(objective, "North star", start=1.0, target=2.0, score_format="_number_", weight=1.0,
                              owner=None)
        emu.outcomes[odd]["outcome_type"] = "north_star"
        write_config(tmp_path, monkeypatch, f"    type: tability\n    url: {emu.url}\n    workspace: {emu.workspace}\n"
                                            f"    token: {emu.token}\n    rate: 1000\n    sandbox: {{read_only: true}}\n")
        out = probe(code=1)
        [types] = [r for r in out["results"] if r["claim"].startswith("outcome_type spellings")]
        assert types["verdict"] == "contradicted" and "'north_star' (1 outcome(s)) is not in the mapping" in types["detail"]
        assert emu.count("POST") == 0


# ---------------------------------------------------------------- Jira

SEARCH_LAG = "a new issue shows in JQL search within search_lag seconds"


@pytest.fixture
def jira_probe(tmp_path, monkeypatch):
    """A Jira emulator whose only project is the sandbox SBX (the endpoint's own is OKR: the
    probe must create and search where the sandbox says), and a config probing it."""
    from .emulators.jira import JiraEmulator
    from .helpers.jira_e2e import ISSUE_TYPES

    def start(search_lag=0.0, config_lag=5):
        emu = JiraEmulator(project="SBX", token="probe-T0ken", issue_types=ISSUE_TYPES, search_lag=search_lag)
        emu.__enter__()
        started.append(emu)
        write_config(tmp_path, monkeypatch, f"    type: jira\n    url: {emu.url}\n    project: OKR\n"
                                            "    auth: {email: bot@example.com, token: probe-T0ken}\n    rate: 1000\n"
                                            f"    poll_interval: 0.05\n    search_lag: {config_lag}\n"
                                            "    sandbox: {project: SBX}\n")
        return emu

    started = []
    yield start
    for emu in started:
        emu.__exit__(None, None, None)
        assert not emu.errors, emu.errors[0]


def test_jira_probe_confirms_against_the_emulator_and_leaves_nothing(jira_probe):
    jira = jira_probe()
    found = all_confirmed()
    [(lag, detail)] = [v for c, v in found.items() if c.startswith(SEARCH_LAG)]
    assert lag == "confirmed" and detail.startswith("listed after 0.") and detail.endswith("(search_lag 5 s)")
    assert found["key result (decimal) current 2.5 reads back as written"] == ("confirmed", "")
    # Jira holds no direction: a decreasing KR is its target below its start, read back as written
    assert found["key result (decreasing) target 4.0 reads back as written"] == ("confirmed", "")
    assert [v for c, (v, _) in found.items() if c.startswith("objective title 'okrsync probe")] == ["confirmed"]
    assert [v for c, (v, _) in found.items() if c.startswith("objective due ")] == ["confirmed"]
    assert found["issues carry okrsync's canonical id in their `okrsync` property"] == ("confirmed", "")
    assert found["deletes the throwaway records"] == ("confirmed", "")
    assert jira.count("POST", "/rest/api/3/issue/bulk") == 2 and not jira.issues  # the objective, then its KRs


def test_jira_search_lagging_beyond_search_lag_is_reported_contradicted_with_what_to_set(jira_probe):
    jira = jira_probe(search_lag=1.0, config_lag=0.2)  # the site lags 1 s; the config promises 0.2 s
    found = verdicts(probe(code=1))
    [(lag, detail)] = [v for c, v in found.items() if c.startswith(SEARCH_LAG)]
    assert lag == "contradicted" and detail.startswith("not listed within search_lag 0.2 s; listed after 1.")
    assert int(re.search(r"set search_lag: (\d+) or more", detail)[1]) >= 2  # twice what it took, at least 1 s
    # the probe waited for the listing, so the read-back still compares every field
    assert found["key result (decimal) current 2.5 reads back as written"] == ("confirmed", "")
    assert sum(v == "contradicted" for v, _ in found.values()) == 1 and not jira.issues


# ---------------------------------------------------------------- table connectors (Notion, Airtable, Smartsheet, Graph)

def probe_rows(found, start):
    return {c: v for c, v in found.items() if c.startswith(start)}


# ---------------------------------------------------------------- Notion

@pytest.fixture
def notion(tmp_path, monkeypatch):
    """A Notion emulator with the endpoint's two databases (one page of someone's in each)
    and their copies named as the sandbox, and a config probing it."""
    from .emulators.notion import Notion
    from .helpers.notion_seed import TOKEN, seed

    with Notion(token=TOKEN) as emu:
        seed(emu)
        own = emu.objectives, emu.krs
        seed(emu)  # the copies: same properties
        emu.own = own
        write_config(tmp_path, monkeypatch, f"    type: notion\n    url: {emu.url}\n    token: {TOKEN}\n    rate: 1000\n"
                                            f"    tables: {{objective: {own[0]}, key_result: {own[1]}}}\n"
                                            f"    sandbox: {{tables: {{objective: {emu.objectives}, "
                                            f"key_result: {emu.krs}}}}}\n")
        yield emu


TEXT = "text longer than 2,000 characters, sent as several rich text objects, reads back whole as plain text"
ARCHIVED = "archived pages are left out of database queries (okrsync takes a page it no longer lists as deleted)"
RELATION = "a key result's relation reads back as its objective"
LEFT = "nothing the probe made is left in the sandbox"


def test_notion_probe_confirms_against_the_emulator_in_the_sandbox_only(notion):
    mine = notion.rows(notion.own[0])
    found = all_confirmed()
    assert found[TEXT] == ("confirmed", "1 check(s)")
    assert found[RELATION] == ("confirmed", "2 check(s)")  # each KR's objective
    assert found[ARCHIVED] == ("confirmed", "3 deleted record(s) no longer listed")
    assert [v for c, (v, _) in found.items() if c.startswith("key result (decimal) due ")] == ["confirmed"]
    assert len(probe_rows(found, "key result (decimal)")) >= 6
    # the throwaway pages were made in the sandbox's databases, archived there; the endpoint's untouched
    made = [p for p in notion.pages.values() if p["parent"] == notion.objectives]
    assert len(made) == 1 and made[0]["archived"]
    assert not notion.rows(notion.objectives) and not notion.rows(notion.krs)
    assert notion.rows(notion.own[0]) == mine == [] and not any(p["parent"] in notion.own for p in notion.pages.values())


def test_notion_truncating_rich_text_and_dropping_relations_is_reported_contradicted(notion):
    notion.truncate_rich_text = notion.drop_relations = True
    found = verdicts(probe(code=1))
    verdict, detail = found[TEXT]
    assert verdict == "contradicted" and detail.startswith("objective description 'Created by okrsync doctor") \
        and detail.endswith("(2000 characters for 2500, differing from character 2001)")
    verdict, detail = found[RELATION]
    assert verdict == "contradicted" and detail == ("reads back the key result (decimal): not in the listing after its "
                                                    "create; reads back the key result (decreasing): not in the listing "
                                                    "after its create")
    # a KR page without its relation is no record okrsync can read, so its delete cannot find it: said, not hidden
    left = sorted(r["id"] for r in notion.rows(notion.krs))
    assert len(left) == 2 and found[LEFT] == ("contradicted", f"still listed after the delete: {', '.join(left)} "
                                                              "(delete them in the sandbox by hand)")
    assert found[ARCHIVED] == ("confirmed", "1 deleted record(s) no longer listed")  # the objective
    assert not notion.rows(notion.objectives)


def test_notion_probe_refuses_a_sandbox_that_is_the_endpoint_itself(notion, tmp_path):
    config = (tmp_path / "okrsync.yaml").read_text()
    (tmp_path / "okrsync.yaml").write_text(config.replace(notion.objectives, notion.own[0]))
    result = probe(code=2)
    assert "sandbox: tables: names the endpoint's own tables" in result.output
    assert not notion.pages  # not one page made


# ---------------------------------------------------------------- Airtable

@pytest.fixture
def airtable(tmp_path, monkeypatch):
    """An Airtable base with the endpoint's two tables and copies of them as the sandbox."""
    import copy

    from .emulators.airtable import Airtable, _id
    from .helpers.airtable_seed import TOKEN, seed

    with Airtable(token=TOKEN) as emu:
        seed(emu)
        copies = {}
        for tid in (emu.objectives, emu.krs):
            table = copy.deepcopy(emu.tables[tid])
            copies[tid] = table["id"] = _id("tbl")
            table["name"] = "Probe " + table["name"].lower()
            emu.tables[table["id"]], emu.records[table["id"]] = table, {}
        for tid in copies.values():
            for field in emu.tables[tid]["fields"]:
                linked = (field.get("options") or {}).get("linkedTableId")
                if linked in copies:
                    field["options"]["linkedTableId"] = copies[linked]
        emu.copies = copies
        write_config(tmp_path, monkeypatch, f"    type: airtable\n    url: {emu.url}\n    token: {TOKEN}\n    rate: 1000\n"
                                            f"    base: {emu.base}\n    tables: {{objective: Objectives, key_result: Key results}}\n"
                                            "    sandbox: {tables: {objective: Probe objectives, "
                                            "key_result: Probe key results}}\n")
        yield emu


ROUNDED = "a number field keeps a decimal value as written, whatever its precision option"


def test_airtable_probe_confirms_against_the_emulator_in_the_sandbox_only(airtable):
    sandbox = airtable.copies[airtable.objectives]
    airtable.records[sandbox]["recSOMEONESxxxxxx"] = {"createdTime": "2026-01-05T09:00:00.000Z", "fields": {
        "Objective": "Someone's objective, left in the sandbox", "Team": "Sales"}}
    found = all_confirmed()
    assert found[ROUNDED] == ("confirmed", "3 check(s)")
    assert found["a key result's link reads back as its objective"] == ("confirmed", "2 check(s)")
    assert found["key result (decreasing) target 4.0 reads back as written"] == ("confirmed", "")
    # someone's record in the sandbox kept as it was; nothing of the probe left, nothing ever in the endpoint's
    assert airtable.rows(sandbox) == [{"id": "recSOMEONESxxxxxx", "Objective": "Someone's objective, left in the sandbox",
                                       "Team": "Sales"}]
    assert all(not airtable.records[t] for t in airtable.tables if t != sandbox)
    assert airtable.count("POST", f"/v0/{airtable.base}/{airtable.objectives}") == 0


def test_airtable_rounding_to_the_fields_precision_is_reported_contradicted(airtable):
    airtable.round_to_precision = True
    for field in airtable.tables[airtable.copies[airtable.krs]]["fields"]:
        if field["type"] == "number":
            field["options"]["precision"] = 0  # the sandbox's number fields show whole numbers
    found = verdicts(probe(code=1))
    verdict, detail = found[ROUNDED]
    assert verdict == "contradicted" and "key result (decimal) current 2.5 reads back as written: read back 2" in detail
    assert found["key result (decreasing) target 4.0 reads back as written"] == ("confirmed", "")
    assert all(not airtable.records[t] for t in airtable.tables)


# ---------------------------------------------------------------- Smartsheet

@pytest.fixture
def smartsheet(tmp_path, monkeypatch):
    """A Smartsheet account with the endpoint's hierarchical sheet and an empty sandbox sheet."""
    from .emulators.smartsheet import Smartsheet

    with Smartsheet() as emu:
        emu.add_sheet(4583173393803140, "OKRs")
        emu.add_sheet(2331373580117892, "okrsync sandbox")
        write_config(tmp_path, monkeypatch, f"    type: smartsheet\n    url: {emu.url}/2.0\n    token: test-token\n"
                                            "    rate: 1000\n    layout: hierarchical\n    sheet: '4583173393803140'\n"
                                            "    sandbox: {sheet: '2331373580117892'}\n")
        yield emu


PARENT = "a row added with parentId is a child of that row (the hierarchical layout's KR rows)"


def test_smartsheet_probe_confirms_rows_under_their_parent_in_the_sandbox_only(smartsheet):
    found = all_confirmed()
    assert found[PARENT] == ("confirmed", "2 key result rows under their objective's row")
    assert found["numbers written read back as numbers (not as text)"] == ("confirmed", "")
    assert found["a key result reads back under its objective"] == ("confirmed", "2 check(s)")
    assert not smartsheet.sheets[2331373580117892].rows and not smartsheet.sheets[4583173393803140].rows
    assert smartsheet.count("POST", "/2.0/sheets/4583173393803140") == 0  # the endpoint's own sheet: not one write


def test_smartsheet_dropping_parent_id_is_reported_contradicted(smartsheet):
    smartsheet.drop_parent_id = True
    found = verdicts(probe(code=1))
    verdict, detail = found[PARENT]
    assert verdict == "contradicted" and detail.startswith("the key result rows' parentId read back [None, None]")
    # the KR rows still name their objective in a cell: the records read back whole
    assert found["a key result reads back under its objective"] == ("confirmed", "2 check(s)")
    assert not smartsheet.sheets[2331373580117892].rows


# ---------------------------------------------------------------- Excel in OneDrive/SharePoint (Graph)

@pytest.fixture
def graph(tmp_path, monkeypatch):
    """A drive with the endpoint's workbook and an empty copy named as the sandbox."""
    from .emulators.graph import Graph
    from .helpers.graph_workbook import DRIVE, ITEM, workbook

    with Graph() as emu:
        emu.add_file(DRIVE, ITEM, "OKRs 2026.xlsx", workbook())
        emu.add_file(DRIVE, "01SANDBOXWORKBOOK", "okrsync sandbox.xlsx", workbook())
        emu.config = lambda mode: write_config(
            tmp_path, monkeypatch, f"    type: graph-excel\n    url: {emu.url}/v1.0\n    drive: '{DRIVE}'\n"
                                   f"    item: {ITEM}\n    sheet: OKRs\n    mode: {mode}\n    rate: 1000\n"
                                   "    auth: {bearer: graph-test-token}\n    sandbox: {item: 01SANDBOXWORKBOOK}\n")
        yield emu


NUMBERS = "numbers written read back as numbers (not as text)"


@pytest.mark.parametrize("mode", ["file", "range"])
def test_graph_probe_confirms_in_the_sandbox_workbook_only(graph, mode):
    from .helpers.graph_workbook import DRIVE, ITEM, cells

    before = graph.data(DRIVE, ITEM)
    graph.config(mode)
    found = all_confirmed()
    assert found[NUMBERS] == ("confirmed", "")
    assert found["a key result reads back under its objective"] == ("confirmed", "2 check(s)")
    assert found["key result (decimal) due " + repr(next(c for c in found if c.startswith("key result (decimal) due "))
                 .split("'")[1]) + " reads back as written"] == ("confirmed", "")
    assert graph.data(DRIVE, ITEM) == before  # the endpoint's workbook: untouched
    # the header is all that is left (range writes blank the rows they emptied)
    assert not [r for r in cells(graph.data(DRIVE, "01SANDBOXWORKBOOK")) if any(v not in (None, "") for v in r.values())]


def test_graph_answering_numbers_as_text_is_reported_contradicted(graph):
    graph.numbers_as_text = True
    graph.config("range")
    found = verdicts(probe(code=1))
    assert found[NUMBERS] == ("contradicted", "read back '0.5', '2.5', '10.5' as text")  # start, current, target


def test_a_smartsheet_probe_interrupted_after_its_creates_deletes_its_rows_on_the_way_out(smartsheet, monkeypatch):
    from okrsync.connectors import remote_tables

    def interrupted(reader, made):
        assert len(smartsheet.sheets[2331373580117892].rows) == 3  # the objective and two KR rows exist now
        raise KeyboardInterrupt()

    real = remote_tables.numbers_kept
    monkeypatch.setattr(remote_tables, "numbers_kept", interrupted)
    result = CliRunner().invoke(cli, ["--json", "doctor", "--probe", "saas"])
    assert result.exit_code != 0
    assert not smartsheet.sheets[2331373580117892].rows and not smartsheet.sheets[4583173393803140].rows
    monkeypatch.setattr(remote_tables, "numbers_kept", real)
    assert probe()["exit_code"] == 0  # nothing left tracked for the next probe to trip on


def test_notion_listing_archived_pages_is_reported_contradicted(notion):
    notion.list_archived = True
    found = verdicts(probe(code=1))
    verdict, detail = found[ARCHIVED]
    made = sorted(p for p, page in notion.pages.items() if page["archived"])
    assert len(made) == 3 and (verdict, detail) == (
        "contradicted", f"still listed after the delete: {', '.join(made)}")
    assert found["deletes the throwaway records"] == ("confirmed", "")  # each page was archived, as asked
