"""``spec_check`` for Google *discovery* documents (tests/specs/google-sheets-v4.discovery.json).

A discovery document describes the same things as OpenAPI in other words (methods with an
``httpMethod`` and ``flatPath``, ``parameters`` with a ``location``, ``request`` and
``response`` naming schemas, ``$ref`` by schema name, ``type: any``). ``DiscoveryCheck.load``
rewrites it as an OpenAPI 3.0 document once, so every check — methods, paths, query
parameters, bodies, undeclared keys, canned answers — is ``SpecCheck``'s own:

    spec = DiscoveryCheck.load("google-sheets-v4.discovery.json")
    spec.request("POST", "/v4/spreadsheets/ID/values:batchUpdate", body)   # raises SpecMismatch

Discovery documents describe successes only; every other status is checked against the one
JSON error shape all Google APIs share (``default``: ``{"error": {"code", "message",
"status", "details"}}``, the status one of the canonical codes; "HTTP mapping" in
https://cloud.google.com/apis/design/errors).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from .spec_check import SPECS, SpecCheck, SpecMock

# the canonical error codes (google.rpc.Code) an error's "status" names
CODES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
         "PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
         "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS")
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "status"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "status": {"type": "string", "enum": list(CODES)},
                   "details": {"type": "array", "items": {"type": "object"}}}}}}
_KEEP = ("type", "enum", "format", "items", "properties", "additionalProperties", "$ref")


def _schema(node: Any) -> Any:
    """A discovery schema as an OpenAPI 3.0 schema."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key in _KEEP:
        if key not in node:
            continue
        value = node[key]
        if key == "$ref":
            return {"$ref": f"#/components/schemas/{value}"}
        if key == "type" and value == "any":
            continue  # any JSON value
        if key == "properties":
            value = {name: _schema(v) for name, v in value.items()}
        elif key in ("items", "additionalProperties"):
            value = _schema(value)
        out[key] = value
    return out


def _parameter(name: str, p: dict[str, Any]) -> dict[str, Any]:
    schema = {k: p[k] for k in ("type", "enum", "format") if k in p}
    out = {"name": name, "in": p.get("location", "query"), "required": bool(p.get("required")), "schema": schema}
    if p.get("repeated"):  # ranges=A&ranges=B: an array, each value whole (a tab name may hold a comma)
        out.update(schema={"type": "array", "items": schema}, style="form", explode=True)
    return out


def _methods(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(resource.get("methods", {}).values())
    for child in resource.get("resources", {}).values():
        found += _methods(child)
    return found


def to_openapi(discovery: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.0 reading of a discovery document (paths, parameters, bodies, schemas)."""
    prefix = "/" + (discovery.get("servicePath") or "").strip("/")
    paths: dict[str, dict[str, Any]] = {}
    common = [_parameter(n, p) for n, p in discovery.get("parameters", {}).items()]
    for method in _methods(discovery):
        path = (prefix.rstrip("/") + "/" + method.get("flatPath", method["path"])).replace("//", "/")
        op: dict[str, Any] = {
            "operationId": method["id"],
            "parameters": [_parameter(n, p) for n, p in method.get("parameters", {}).items()],
            "responses": {"default": {"description": "Google's JSON error shape",
                                      "content": {"application/json": {"schema": ERROR}}}},
        }
        if method.get("request"):
            op["requestBody"] = {"content": {"application/json": {"schema": _schema(method["request"])}}}
        if method.get("response"):
            op["responses"]["200"] = {"description": "OK", "content": {"application/json": {"schema": _schema(method["response"])}}}
        paths.setdefault(path, {"parameters": common})[method["httpMethod"].lower()] = op
    return {"openapi": "3.0.3", "info": {"title": discovery.get("title", ""), "version": discovery.get("version", "")},
            "paths": paths, "components": {"schemas": {n: _schema(s) for n, s in discovery.get("schemas", {}).items()}}}


class DiscoveryCheck(SpecCheck):
    """``SpecCheck`` over a discovery document; same ``request`` / ``response`` / ``operation``."""

    @classmethod
    @cache
    def load(cls, filename: str) -> DiscoveryCheck:
        return cls(filename, to_openapi(json.loads((SPECS / filename).read_text(encoding="utf-8"))))


class DiscoveryMock(SpecMock):
    """``SpecMock`` whose requests and canned answers are checked against a discovery document."""

    def __init__(self, spec: str, base_url: str):
        super().__init__(DiscoveryCheck.load(spec), base_url)
