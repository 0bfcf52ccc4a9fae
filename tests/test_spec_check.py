"""The spec-check helper connector tests use: real vendor examples pass, broken ones don't."""

import json
from pathlib import Path

import pytest

from .spec_check import SPECS, SpecCheck, SpecMismatch

SAMPLES = SPECS.parent / "research" / "samples"
pytestmark = pytest.mark.skipif(not SPECS.exists(), reason="../shared/specs is not beside the checkout")


def sample(name):
    return json.loads((SAMPLES / name).read_text())


@pytest.mark.parametrize("spec, method, path, status, name", [
    ("jira-cloud-platform-v3.openapi.json", "GET", "/rest/api/3/search/jql", 200, "jira-search-jql-response.json"),
    ("jira-cloud-platform-v3.openapi.json", "POST", "/rest/api/3/issue/bulk", 201, "jira-create-issues-bulk-response.json"),
    ("jira-cloud-platform-v3.openapi.json", "GET", "/rest/api/3/field", 200, "jira-get-fields-response.json"),
    ("clickup-api-v2.openapi.json", "GET", "/v2/team/123/goal", 200, "clickup-get-goals-response.json"),
    ("clickup-api-v2.openapi.json", "PUT", "/v2/key_result/abc-1", 200, "clickup-edit-key-result-response.json"),
])
def test_vendor_examples_match_their_specs(spec, method, path, status, name):
    SpecCheck.load(spec).response(method, path, status, sample(name))


def test_a_wrong_type_is_caught_and_located():
    body = sample("jira-search-jql-response.json")
    body["issues"][0]["id"] = 10002
    with pytest.raises(SpecMismatch, match=r"issues/0/id: 10002 is not of type 'string'"):
        SpecCheck.load("jira-cloud-platform-v3.openapi.json").response("GET", "/rest/api/3/search/jql", 200, body)


def test_requests_are_checked_too():
    spec = SpecCheck.load("jira-cloud-platform-v3.openapi.json")
    spec.request("POST", "/rest/api/3/issue", sample("jira-create-issue-request.json"))
    with pytest.raises(SpecMismatch, match="no operation PATCH /rest/api/3/issue/KEY-1"):
        spec.request("PATCH", "/rest/api/3/issue/KEY-1")
    with pytest.raises(SpecMismatch, match="never answers 418"):
        spec.response("GET", "/rest/api/3/field", 418, {})


def test_literal_paths_win_over_templates():
    template, _ = SpecCheck.load("jira-cloud-platform-v3.openapi.json").operation("POST", "/rest/api/3/issue/bulk")
    assert template == "/rest/api/3/issue/bulk"


def test_yaml_specs_load():
    template, op = SpecCheck.load("asana.openapi.yaml").operation("GET", "/goals/12345")
    assert template == "/goals/{goal_gid}" and "responses" in op


def test_spec_files_are_where_the_helper_looks():
    assert Path(SPECS, "jira-cloud-platform-v3.openapi.json").is_file()
