"""Asana's OpenAPI document, adapted where tests/spec_check.py reads it differently from
what Asana means (each a candidate fix for spec_check itself):

- response codes are YAML integers (``200:``); SpecCheck looks them up as strings;
- request schemas nest ``allOf`` (GoalRequest → GoalRequestBase → GoalBase) and the
  undeclared-key check looks one level deep: nested lists are flattened (same meaning);
- ``allOf: [$ref, {nullable: true}]`` is how Asana marks a nullable object (``metric``,
  ``owner``, ``time_period``), which OpenAPI 3.0 validators do not honour: such a schema
  becomes "that, or null".

The document is the cached one from ``SpecCheck.load``, adapted once.
"""

from __future__ import annotations

from typing import Any

from .spec_check import SpecCheck

SPEC = "asana.openapi.yaml"
PREFIX = "/api/1.0"  # the spec's paths are relative to its server URL


def asana_spec() -> SpecCheck:
    spec = SpecCheck.load(SPEC)
    if not spec.document.get("x-okrsync-adapted"):
        _adapt(spec)
        spec.document["x-okrsync-adapted"] = True
    return spec


def _adapt(spec: SpecCheck) -> None:
    for item in spec.document["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and isinstance(op.get("responses"), dict):
                op["responses"] = {str(k): v for k, v in op["responses"].items()}
    schemas = spec.document["components"]["schemas"]
    for schema in schemas.values():
        if isinstance(schema, dict) and "allOf" in schema:
            schema["allOf"] = _flat(spec, schema["allOf"])
    for schema in list(schemas.values()):
        for part in [schema, *(schema.get("allOf") or [])] if isinstance(schema, dict) else []:
            props = part.get("properties") if isinstance(part, dict) else None
            for name, prop in (props or {}).items():
                if isinstance(prop, dict) and any(isinstance(p, dict) and p.get("nullable") for p in prop.get("allOf", [])):
                    props[name] = {"anyOf": [prop, {"type": "object", "nullable": True, "maxProperties": 0}]}


def _flat(spec: SpecCheck, parts: list[Any]) -> list[Any]:
    out = []
    for part in parts:
        target = spec._resolve(part)
        if isinstance(target, dict) and "allOf" in target:
            out += _flat(spec, target["allOf"]) + [{k: v for k, v in target.items() if k != "allOf"}]
        else:
            out.append(part)
    return out


class Prefixed:
    """SpecCheck's request/response checks for paths under the server's base path."""

    def __init__(self, spec: SpecCheck):
        self.spec = spec

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> None:
        self.spec.request(method, path.removeprefix(PREFIX), body, query)

    def response(self, method: str, path: str, status: int, body: Any) -> None:
        self.spec.response(method, path.removeprefix(PREFIX), status, body)


def check_action(spec: SpecCheck, action: dict[str, Any], answer: dict[str, Any]) -> None:
    """One action of a POST /batch, and its answer, against the operation it stands for."""
    method, path = action["method"], action["relative_path"]
    options = action.get("options") or {}
    if method == "get":
        query = {**{k: str(v) for k, v in (action.get("data") or {}).items()},
                 **({"opt_fields": ",".join(options["fields"])} if options.get("fields") else {})}
        spec.request(method, path, None, query)
    else:
        spec.request(method, path, {"data": action["data"]} if "data" in action else None)
    enum = opt_fields(spec, method, path)
    for name in options.get("fields", []):
        assert enum is None or name in enum, f"{method} {path}: opt_fields has no {name!r}"
    if answer["status_code"] < 400:
        spec.response(method, path, answer["status_code"], answer["body"])


def opt_fields(spec: SpecCheck, method: str, path: str) -> list[str] | None:
    """The documented values of an operation's opt_fields (SpecCheck checks no array items)."""
    _, op = spec.operation(method, path)
    for p in op.get("parameters", []):
        p = spec._resolve(p)
        if p.get("name") == "opt_fields":
            return p["schema"]["items"].get("enum")
    return None
