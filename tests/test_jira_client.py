"""The Jira emulator driven by a real client: pycontribs' ``jira`` library (the test extra),
so the emulator stays close to what real clients expect of Jira Cloud: server info, token
search paging, creates (single and bulk, with per-element errors), transitions, fields."""

import pytest

from tests.emulators.jira import JiraEmulator

jira_lib = pytest.importorskip("jira")


@pytest.fixture
def site():
    with JiraEmulator(page_size=2) as emulator:
        client = jira_lib.JIRA(server=emulator.url, basic_auth=("bot@example.com", "t0ken"),
                               options={"rest_api_version": "3"}, max_retries=0)
        yield emulator, client
        client.close()
        assert not emulator.errors, emulator.errors[0]


def test_the_client_sees_a_cloud_site_and_its_fields(site):
    emulator, client = site
    assert client._is_cloud and client.server_info()["deploymentType"] == "Cloud"
    names = {f["name"]: f for f in client.fields()}
    assert names["Current value"]["schema"]["type"] == "number" and names["Summary"]["custom"] is False


def test_create_search_by_token_pages_and_transition(site):
    emulator, client = site
    made = [client.create_issue(fields={"project": {"key": "OKR"}, "issuetype": {"name": "Story"},
                                        "summary": f"Story {n}"}) for n in range(5)]
    assert [i.key for i in made] == [f"OKR-{n}" for n in range(1, 6)]
    found = client.enhanced_search_issues("project = OKR ORDER BY key ASC", maxResults=0, fields=["summary"])
    assert [i.fields.summary for i in found] == [f"Story {n}" for n in range(5)]  # 3 short pages of 2, 2 and 1
    assert emulator.count("GET", "/rest/api/3/search/jql") == 3
    by_name = {t["name"]: t["id"] for t in client.transitions(made[0])}
    client.transition_issue(made[0], by_name["Done"])
    assert client.issue(made[0].key).fields.status.statusCategory.key == "done"


def test_bulk_create_errors_map_back_to_their_elements(site):
    emulator, client = site
    good = {"project": {"key": "OKR"}, "issuetype": {"name": "Story"}, "summary": "Fine"}
    bad = {"project": {"key": "OKR"}, "issuetype": {"name": "Story"}}  # no summary
    results = client.create_issues([good, bad], prefetch=False)
    assert [r["status"] for r in results] == ["Success", "Error"]
    assert "summary" in results[1]["error"]
    too_many = client.create_issues([good] * 51, prefetch=False)  # over Jira's 50: every element refused
    assert {r["status"] for r in too_many} == {"Error"} and len(too_many) == 51 and len(emulator.issues) == 1
