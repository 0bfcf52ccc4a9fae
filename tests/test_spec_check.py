"""The spec-check helper connector tests use: real vendor examples pass, broken ones don't."""

import json
from pathlib import Path

import pytest

from .helpers.spec_check import SAMPLES, SPECS, SpecCheck, SpecMismatch


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


def test_path_parameters_are_type_checked():
    spec = SpecCheck.load("clickup-api-v2.openapi.json")
    spec.request("GET", "/v2/team/512/goal", query={"include_completed": "true"})
    spec.request("GET", "/api/v2/team/512/goal")  # with the server's base path
    with pytest.raises(SpecMismatch, match="path parameter team_id='abc' is not a number"):
        spec.request("GET", "/v2/team/abc/goal")
    with pytest.raises(SpecMismatch, match="path parameter team_id='abc' is not a number"):
        spec.request("POST", "/api/v2/team/abc/goal", {"name": "x"})
    spec.request("DELETE", "/v2/goal/e53a033c-900e-462d-a849-4a216b06d930")  # a string id: any text


def test_literal_paths_win_over_templates():
    template, _ = SpecCheck.load("jira-cloud-platform-v3.openapi.json").operation("POST", "/rest/api/3/issue/bulk")
    assert template == "/rest/api/3/issue/bulk"


def test_yaml_specs_load():
    template, op = SpecCheck.load("asana.openapi.yaml").operation("GET", "/goals/12345")
    assert template == "/goals/{goal_gid}" and "responses" in op


def test_spec_files_are_where_the_helper_looks():
    assert Path(SPECS, "jira-cloud-platform-v3.openapi.json").is_file()


# ------------------------------------------------------------------ how a spec is read

def tiny(**schemas):
    """A small OpenAPI 3.0 document, as YAML would load it (integer response codes)."""
    return SpecCheck("tiny", {
        "openapi": "3.0.0", "servers": [{"url": "https://api.example.com/api/1.0"}],
        "paths": {"/things": {"post": {
            "parameters": [{"name": "opt_fields", "in": "query", "style": "form", "explode": False,
                            "schema": {"type": "array", "items": {"type": "string", "enum": ["name", "owner"]}}},
                           {"name": "ids", "in": "query", "explode": True,
                            "schema": {"type": "array", "items": {"type": "integer"}}}],
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
            "responses": {200: {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Thing"}}}}}}}},
        "components": {"schemas": {
            "Request": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {
                "extra": {"type": "string"}}}]},
            "Base": {"allOf": [{"$ref": "#/components/schemas/Root"}, {"type": "object", "properties": {
                "owner": {"allOf": [{"$ref": "#/components/schemas/User"}, {"nullable": True}]}}}]},
            "Root": {"type": "object", "properties": {"name": {"type": "string"}}},
            "User": {"type": "object", "properties": {"gid": {"type": "string"}}},
            "Thing": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "owner": {"allOf": [{"$ref": "#/components/schemas/User"}, {"type": "object", "nullable": True}]},
                "team": {"allOf": [{"$ref": "#/components/schemas/User"}]}}},
            **schemas}}})


def test_integer_response_codes_are_read_as_strings():
    spec = tiny()
    spec.response("POST", "/things", 200, {"name": "a"})
    with pytest.raises(SpecMismatch, match="name: 5 is not of type 'string'"):  # checked, not skipped
        spec.response("POST", "/things", 200, {"name": 5})
    with pytest.raises(SpecMismatch, match="never answers 404"):
        spec.response("POST", "/things", 404, {})
    asana = SpecCheck.load("asana.openapi.yaml")
    assert "200" in asana.operation("GET", "/goals/1")[1]["responses"]
    goal = sample("asana-goal-response.json")
    asana.response("GET", "/goals/1", 200, goal)
    goal["data"]["name"] = 7
    with pytest.raises(SpecMismatch, match="data/name"):
        asana.response("GET", "/goals/1", 200, goal)


def test_undeclared_keys_are_found_through_nested_all_of():
    spec = tiny()
    spec.request("POST", "/things", {"name": "a", "owner": {"gid": "1"}, "extra": "x"})  # three levels of allOf
    with pytest.raises(SpecMismatch, match="does not declare: /nmae"):
        spec.request("POST", "/things", {"nmae": "a"})
    with pytest.raises(SpecMismatch, match="does not declare: /owner/email"):  # $ref inside a nested allOf
        spec.request("POST", "/things", {"owner": {"gid": "1", "email": "a@b"}})
    asana = SpecCheck.load("asana.openapi.yaml")  # GoalRequest → GoalRequestBase → GoalBase
    asana.request("POST", "/goals", {"data": {"name": "G", "workspace": "1", "followers": ["2"]}})
    with pytest.raises(SpecMismatch, match="/data/nmae"):
        asana.request("POST", "/goals", {"data": {"nmae": "G", "workspace": "1"}})


def test_all_of_with_a_nullable_member_is_nullable():
    spec = tiny()
    spec.response("POST", "/things", 200, {"name": "a", "owner": None})
    spec.request("POST", "/things", {"owner": None})  # {nullable: true} alone, too
    with pytest.raises(SpecMismatch, match="owner"):  # still the schema when not null
        spec.response("POST", "/things", 200, {"name": "a", "owner": "u1"})
    with pytest.raises(SpecMismatch, match="team"):  # no nullable member: null is refused
        spec.response("POST", "/things", 200, {"name": "a", "team": None})
    goal = sample("asana-goal-response.json")
    goal["data"].update(owner=None, time_period=None)
    SpecCheck.load("asana.openapi.yaml").response("GET", "/goals/1", 200, goal)


def test_the_servers_base_path_is_stripped_before_matching():
    spec = tiny()
    assert spec.operation("POST", "/api/1.0/things")[0] == "/things"
    assert spec.operation("POST", "/things")[0] == "/things"
    with pytest.raises(SpecMismatch, match="no operation POST /api/2.0/things"):
        spec.operation("POST", "/api/2.0/things")
    assert SpecCheck.load("asana.openapi.yaml").operation("GET", "/api/1.0/goals/1")[0] == "/goals/{goal_gid}"
    assert SpecCheck.load("clickup-api-v2.openapi.json").operation("GET", "/api/v2/team/1/goal")[0] == \
        "/v2/team/{team_id}/goal"
    assert SpecCheck.load("jira-cloud-platform-v3.openapi.json").base == ""  # a host without a path


def test_array_query_parameters_are_checked_item_by_item():
    spec = tiny()
    spec.request("POST", "/things", query={"opt_fields": "name,owner", "ids": ["1", "2"]})
    with pytest.raises(SpecMismatch, match="opt_fields='nmae' is not one of"):  # comma-separated, one by one
        spec.request("POST", "/things", query={"opt_fields": "owner,nmae"})
    with pytest.raises(SpecMismatch, match="opt_fields='bad' is not one of"):
        spec.request("POST", "/things", query={"opt_fields": ["name", "bad"]})
    with pytest.raises(SpecMismatch, match="ids='1,2' is not an integer"):  # explode: each value whole
        spec.request("POST", "/things", query={"ids": "1,2"})
    asana = SpecCheck.load("asana.openapi.yaml")
    asana.request("GET", "/goals", query={"workspace": "1", "opt_fields": "name,metric.progress_source"})
    with pytest.raises(SpecMismatch, match="opt_fields='progress' is not one of"):
        asana.request("GET", "/goals", query={"workspace": "1", "opt_fields": "name,progress"})


def test_spec_mock_takes_a_loaded_spec():
    from .helpers.spec_check import SpecMock

    spec = tiny()
    with SpecMock(spec, "https://api.example.com") as api:
        assert api.spec is spec
