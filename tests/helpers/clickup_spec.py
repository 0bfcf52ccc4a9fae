"""ClickUp's published spec, checked with five explicit, documented tolerances.

``ClickUpSpec`` is ``SpecCheck`` on ``clickup-api-v2.openapi.json`` except where the
document itself is known not to describe the traffic:

1. ``Goal.key_results`` is typed ``array<string>``, but ``GET /v2/goal/{id}`` answers
   target *objects* (third-party clients all model them so; no public sample shows a
   populated list). Everything else in the goal is validated as published; each target is
   validated against the spec's own ``KeyResult`` schema (the create answer's), which
   leaves room for the ``steps_start/steps_end/steps_current`` real targets carry.
2. The goal listing types ``owners`` as strings while ``GET /v2/goal/{id}`` types them as
   user objects; owner objects are validated against the latter's ``Owner`` schema.
3. The spec documents no error answer at all (every operation lists only 200). A 4xx is
   checked against ClickUp's error body instead, ``{"err": text, "ECODE": code}``.
4. ``PUT /v2/key_result/{id}`` declares only ``steps_current`` and ``note``; its description
   says "All properties available in the Create Key Result endpoint may also be used".
   The body is validated against the edit schema plus the create schema's properties.

5. ``steps_start``/``steps_end``/``steps_current`` are typed integers; okrsync sends a
   fraction where the value has one, on purpose (issue 18: UNCONFIRMED whether ClickUp keeps
   it; the connector reads every such write back and reports a truncation as a loss). A
   fraction in those three keys of a target's create or edit is checked as a number; any
   other type still fails. Likewise in answers, ``last_action.steps_before_float`` and
   ``steps_taken_float`` are typed integer only because the spec's one example holds 0 and
   5 (their name says float): a fraction there is checked as a number.

Paths: the spec's server URL is ``https://api.clickup.com/api`` and its paths start at
``/v2``; SpecCheck drops the ``/api`` of a request path before matching.
"""

from __future__ import annotations

import copy
from typing import Any

from .spec_check import SpecCheck, SpecMismatch, _pointer

NAME = "clickup-api-v2.openapi.json"
GOAL = _pointer("paths", "/v2/goal/{goal_id}", "get", "responses", "200", "content", "application/json", "schema")
KEY_RESULT = _pointer("paths", "/v2/goal/{goal_id}/key_result", "post", "responses", "200", "content",
                      "application/json", "schema", "properties", "key_result")
OWNER = GOAL + "/properties/goal/properties/owners/items"
CREATE_TARGET = _pointer("paths", "/v2/goal/{goal_id}/key_result", "post", "requestBody", "content",
                         "application/json", "schema")
EDIT_TARGET = _pointer("paths", "/v2/key_result/{key_result_id}", "put", "requestBody", "content",
                       "application/json", "schema")


STEPS = ("steps_start", "steps_end", "steps_current")


def _whole(value: Any) -> Any:
    """A fraction as its integer part, for the integer check; anything else as it is."""
    return int(value) if isinstance(value, float) and value == value and abs(value) != float("inf") else value


def _floats_whole(node: Any) -> Any:
    """A copy with every ``*_float`` fraction as its integer part (tolerance 5)."""
    if isinstance(node, dict):
        return {k: _whole(v) if k.endswith("_float") else _floats_whole(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_floats_whole(v) for v in node]
    return node


ERROR = {"type": "object", "required": ["err", "ECODE"], "additionalProperties": False,
         "properties": {"err": {"type": "string"}, "ECODE": {"type": "string"}}}


class ClickUpSpec(SpecCheck):
    @classmethod
    def load(cls, filename: str = NAME) -> ClickUpSpec:
        return cls(filename, SpecCheck.load(filename).document)

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> None:
        template, _ = self.operation(method, path)
        if template in ("/v2/key_result/{key_result_id}", "/v2/goal/{goal_id}/key_result") and isinstance(body, dict):
            body = {k: _whole(v) if k in STEPS else v for k, v in body.items()}  # tolerance 5
        if template == "/v2/key_result/{key_result_id}" and method.upper() == "PUT" and isinstance(body, dict):
            self._query(template, method, query or {})
            edit = {k: body[k] for k in ("steps_current", "note") if k in body}
            self._validate(edit, EDIT_TARGET, "request body of PUT /v2/key_result/{key_result_id}")
            rest = {k: v for k, v in body.items() if k not in edit}
            create = self._resolve({"$ref": "urn:spec#" + CREATE_TARGET})
            partial = {**create, "required": []}  # any subset of the create keys, each as typed there
            stray = [k for k in rest if k not in create["properties"]]
            if stray:
                raise SpecMismatch(f"{self.name}: PUT /v2/key_result sends keys neither the edit nor the create "
                                   f"schema declares: {', '.join(stray)}")
            self._check(rest, partial, "request body of PUT /v2/key_result/{key_result_id} (create keys)")
            return
        super().request(method, path, body, query)

    def response(self, method: str, path: str, status: int, body: Any) -> None:
        template, op = self.operation(method, path)
        body = _floats_whole(body)  # tolerance 5
        if status == 200 and isinstance(body, dict):
            if template == "/v2/goal/{goal_id}" and isinstance(body.get("goal"), dict):
                targets = body["goal"].get("key_results") or []
                published = copy.deepcopy(body)
                published["goal"]["key_results"] = [t for t in targets if isinstance(t, str)]
                super().response(method, path, status, published)
                for target in (t for t in targets if not isinstance(t, str)):
                    self._validate(target, KEY_RESULT, "a target in GET /v2/goal/{goal_id}")
                return
            if template == "/v2/team/{team_id}/goal" and method.upper() == "GET":
                published = copy.deepcopy(body)
                goals = published.get("goals", []) + [g for f in published.get("folders", []) for g in f.get("goals", [])]
                for goal in goals:
                    for owner in goal.get("owners") or []:
                        if isinstance(owner, dict):
                            self._validate(owner, OWNER, "an owner in GET /v2/team/{team_id}/goal")
                    goal["owners"] = [o for o in goal.get("owners") or [] if isinstance(o, str)]
                super().response(method, path, status, published)
                return
        if status >= 400 and str(status) not in (op.get("responses") or {}):
            self._check(body, ERROR, f"{status} response of {method.upper()} {template}")
            return
        super().response(method, path, status, body)

    def _check(self, body: Any, schema: dict[str, Any], what: str) -> None:
        errors = list(self.validator(schema, registry=self.registry).iter_errors(body))
        if errors:
            shown = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5])
            raise SpecMismatch(f"{self.name}: {what} does not match the spec: {shown}")
