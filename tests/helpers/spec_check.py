"""Check HTTP traffic against a vendor's own OpenAPI description (tests/specs).

Connector tests route requests through respx; ``SpecCheck.request`` / ``.response`` say
whether the method and path exist in the vendor's spec and whether a JSON body matches
the schema the spec gives for it (OpenAPI 3.0 or 3.1 rules, ``$ref`` into
``components``). Canned responses are checked the same way, so a test can't pass on a
payload the real API would never send.

    spec = SpecCheck.load("jira-cloud-platform-v3.openapi.json")
    spec.response("GET", "/rest/api/3/search/jql", 200, body)   # raises SpecMismatch

The spec is read as its vendor means it:

- response codes written as YAML integers (``200:``) are the same as ``"200"``;
- a request path may carry the base path of the spec's server (``servers[0].url``, e.g.
  ``/api/1.0``); it is stripped before matching;
- ``allOf: [X, {nullable: true}]`` is X or null (OpenAPI 3.0 has no other way to make a
  referenced schema nullable);
- the undeclared-key check follows ``allOf`` (and ``$ref`` in it) to any depth;
- array query parameters are checked item by item (``items.enum``, ``items.type``),
  comma-separated values one by one unless the parameter is ``explode: true``;
- path parameters are checked by the same rules (type integer/number/boolean, enum):
  ``/v2/team/abc/goal`` is refused where ``team_id`` is a number.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator, OAS31Validator
from openapi_schema_validator import _keywords as oas_keywords
from referencing import Registry
from referencing.jsonschema import DRAFT4, DRAFT202012

# The vendors' documents trimmed to what okrsync uses (tests/specs/trim.py, from the shared specs folder), so the
# suite needs nothing beside the checkout; tests/test_specs.py keeps them true to the full ones.
SPECS = Path(__file__).resolve().parents[1] / "specs"
SAMPLES = SPECS / "samples"  # the vendors' documented example payloads
METHODS = ("get", "put", "post", "delete", "patch")


class SpecMismatch(AssertionError):
    """Traffic the vendor's spec does not allow; the message says what and where."""


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _all_of(validator: Any, parts: list[Any], instance: Any, schema: dict[str, Any]) -> Any:
    """``allOf`` where a ``{nullable: true}`` member makes the whole of it nullable."""
    if instance is None and any(isinstance(p, dict) and p.get("nullable") is True and "$ref" not in p for p in parts):
        return
    yield from oas_keywords.allOf(validator, parts, instance, schema)


OAS30 = extend(OAS30Validator, {"allOf": _all_of})


def _string_codes(document: dict[str, Any]) -> None:
    """Response codes as strings, as JSON has them (YAML reads ``200:`` as an integer)."""
    for item in (document.get("paths") or {}).values():
        for op in item.values() if isinstance(item, dict) else ():
            if isinstance(op, dict) and isinstance(op.get("responses"), dict):
                op["responses"] = {str(code): answer for code, answer in op["responses"].items()}


class SpecCheck:
    def __init__(self, name: str, document: dict[str, Any]):
        self.name = name
        self.document = document
        _string_codes(document)
        # 3.0 schemas are a JSON Schema draft-4 dialect (nullable); 3.1 ones are draft 2020-12
        modern = str(document.get("openapi", "3.0")).startswith("3.1")
        self.validator = OAS31Validator if modern else OAS30
        self.registry = Registry().with_resource("urn:spec", (DRAFT202012 if modern else DRAFT4).create_resource(document))
        # requests name the whole path; the spec's paths start after its server's base path
        servers = document.get("servers") or [{}]
        self.base = urlsplit(str(servers[0].get("url") or "")).path.rstrip("/")
        # concrete paths match templates: /rest/api/3/issue/{issueIdOrKey} → [^/]+
        self.templates = [(re.compile("^" + "".join("[^/]+" if part.startswith("{") else re.escape(part)
                                                    for part in re.split(r"(\{[^/]+?\})", t)) + "$"), t)
                          for t in document.get("paths", {})]

    @classmethod
    @cache
    def load(cls, filename: str) -> SpecCheck:
        path = SPECS / filename
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)
        return cls(filename, document)

    def _strip(self, path: str) -> str:
        return path[len(self.base):] if self.base and path.startswith(self.base + "/") else path

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The path template and operation object for a concrete request (with or without
        the server's base path)."""
        path = self._strip(path)
        matches = [t for rx, t in self.templates if rx.match(path)]
        # prefer the most literal template: /issue/bulk over /issue/{issueIdOrKey}
        matches.sort(key=lambda t: t.count("{"))
        for template in matches:
            op = self.document["paths"][template].get(method.lower())
            if op is not None:
                return template, op
        raise SpecMismatch(f"{self.name}: no operation {method.upper()} {path}")

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> None:
        template, op = self.operation(method, path)
        self._path(template, method, path)
        self._query(template, method, query or {})
        if body is None:
            return
        content = (op.get("requestBody") or {}).get("content", {})
        if "application/json" not in content:
            raise SpecMismatch(f"{self.name}: {method.upper()} {template} takes no JSON body")
        pointer = _pointer("paths", template, method.lower(), "requestBody", "content", "application/json", "schema")
        what = f"request body of {method.upper()} {template}"
        self._validate(body, pointer, what)
        # a key the schema does not declare is ignored by a lenient server, so it would pass
        # silently in production too: for what *we* send, an undeclared key is a mistake
        stray = self._undeclared(body, self._resolve({"$ref": "urn:spec#" + pointer}), "")
        if stray:
            raise SpecMismatch(f"{self.name}: {what} sends keys the spec does not declare: {', '.join(stray)}")

    def _query(self, template: str, method: str, query: dict[str, Any]) -> None:
        params = [self._resolve(p) for p in (*self.document["paths"][template].get("parameters", []),
                                             *self.document["paths"][template][method.lower()].get("parameters", []))]
        known = {p["name"]: p for p in params if p.get("in") == "query"}
        for name, value in query.items():
            if name not in known:
                raise SpecMismatch(f"{self.name}: {method.upper()} {template} has no query parameter {name!r} "
                                   f"(documented: {', '.join(known) or 'none'})")
            schema = self._resolve(known[name].get("schema") or {})
            values = value if isinstance(value, list) else [value]
            if schema.get("type") == "array":  # each item; a=1,2 is two unless each is a value of its own
                schema = self._resolve(schema.get("items") or {})
                if known[name].get("explode") is not True:
                    values = [part for v in values for part in str(v).split(",")]
            for v in values:
                self._query_value(name, v, schema)
        for name, p in known.items():
            if p.get("required") and name not in query:
                raise SpecMismatch(f"{self.name}: {method.upper()} {template} needs query parameter {name!r}")

    def _path(self, template: str, method: str, path: str) -> None:
        """Each path parameter's value against its schema (the template's ``{name}`` parts)."""
        names = re.findall(r"\{([^/]+?)\}", template)
        if not names:
            return
        rx = "^" + "".join("([^/]+)" if part.startswith("{") else re.escape(part)
                           for part in re.split(r"(\{[^/]+?\})", template)) + "$"
        found = re.match(rx, self._strip(path))
        params = [self._resolve(p) for p in (*self.document["paths"][template].get("parameters", []),
                                             *self.document["paths"][template][method.lower()].get("parameters", []))]
        known = {p["name"]: p for p in params if p.get("in") == "path"}
        for name, value in zip(names, found.groups() if found else ()):
            if name in known:
                self._query_value(name, value, self._resolve(known[name].get("schema") or {}), "path parameter")

    def _query_value(self, name: str, v: Any, schema: dict[str, Any], where: str = "query") -> None:
        kind = schema.get("type")
        if kind == "integer" and not str(v).lstrip("-").isdigit():
            raise SpecMismatch(f"{self.name}: {where} {name}={v!r} is not an integer")
        if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", str(v)):
            raise SpecMismatch(f"{self.name}: {where} {name}={v!r} is not a number")
        if kind == "boolean" and str(v) not in ("true", "false"):
            raise SpecMismatch(f"{self.name}: {where} {name}={v!r} is not true or false")
        if schema.get("enum") and v not in schema["enum"]:
            raise SpecMismatch(f"{self.name}: {where} {name}={v!r} is not one of {schema['enum']}")

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            ref, node = node["$ref"].split("#", 1)[1], self.document
            for part in ref.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _parts(self, schema: Any) -> list[dict[str, Any]]:
        """A schema and every ``allOf`` member in it, to any depth, ``$ref`` resolved."""
        schema = self._resolve(schema)
        if not isinstance(schema, dict):
            return []
        return [part for member in schema.get("allOf", []) for part in self._parts(member)] + [schema]

    def _undeclared(self, body: Any, schema: Any, at: str) -> list[str]:
        parts = self._parts(schema)
        if not parts:
            return []
        if isinstance(body, dict):
            declared: dict[str, Any] = {}
            for part in parts:
                declared.update(part.get("properties") or {})
            extra = next((p["additionalProperties"] for p in parts if p.get("additionalProperties")), None)
            stray = []
            for key, value in body.items():
                if key in declared:
                    stray += self._undeclared(value, declared[key], f"{at}/{key}")
                elif isinstance(extra, dict):
                    stray += self._undeclared(value, extra, f"{at}/{key}")
                elif declared and extra is None:
                    stray.append(f"{at}/{key}")
            return stray
        if isinstance(body, list):
            items = next((p.get("items") for p in parts if p.get("items")), None)
            return [s for i, v in enumerate(body) for s in (self._undeclared(v, items, f"{at}/{i}") if items else [])]
        return []

    def response(self, method: str, path: str, status: int, body: Any) -> None:
        template, op = self.operation(method, path)
        responses = op.get("responses", {})  # codes are strings (see _string_codes)
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        if key is None:
            raise SpecMismatch(f"{self.name}: {method.upper()} {template} never answers {status} "
                               f"(documented: {', '.join(responses)})")
        content = responses[key].get("content", {})
        media = next((m for m in content if "json" in m), None)
        if media is None or "schema" not in content[media]:
            return  # nothing documented to check against
        self._validate(body, _pointer("paths", template, method.lower(), "responses", key, "content", media, "schema"),
                       f"{status} response of {method.upper()} {template}")

    def _validate(self, body: Any, pointer: str, what: str) -> None:
        validator = self.validator({"$ref": "urn:spec#" + pointer}, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            shown = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5])
            raise SpecMismatch(f"{self.name}: {what} does not match the spec: {shown}")


class SpecMock:
    """respx routes whose every request and canned answer is checked against a spec.

        with SpecMock("jira-cloud-platform-v3.openapi.json", BASE) as api:
            api.on("POST", "/rest/api/3/search/jql", [(200, page1), (200, page2)])
            ...
            api.sent  # [(method, path, query, body)] in order

    ``spec`` is a file name in tests/specs or a loaded ``SpecCheck`` (or subclass).
    ``answers`` is a list (one per call, the last repeats) of ``(status, body)`` or
    ``(status, body, headers)``, or a function ``(query, body) -> (status, body[, headers])``.
    """

    def __init__(self, spec: str | SpecCheck, base_url: str):
        import respx

        self.spec = spec if isinstance(spec, SpecCheck) else SpecCheck.load(spec)
        self.router = respx.mock(base_url=base_url, assert_all_called=False)
        self.sent: list[tuple[str, str, dict, Any]] = []

    def __enter__(self) -> SpecMock:
        self.router.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.router.__exit__(*exc)

    def on(self, method: str, path_regex: str, answers: Any) -> None:
        import httpx

        queue = list(answers) if isinstance(answers, list) else None

        def respond(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content) if request.content else None
            query = {k: (v if len(v) > 1 else v[0]) for k in request.url.params
                     for v in [request.url.params.get_list(k)]}
            self.spec.request(method, request.url.path, body, query)
            self.sent.append((method, request.url.path, query, body))
            answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue is not None else answers(query, body)
            status, out, headers = (*answer, {})[:3]
            if isinstance(out, Exception):
                raise out
            if out is not None and status < 500 and status != 429:
                self.spec.response(method, request.url.path, status, out)
            return httpx.Response(status, json=out, headers=headers) if out is not None else httpx.Response(status, headers=headers)

        self.router.route(method=method, path__regex=f"^{path_regex}$").mock(side_effect=respond)

    def calls(self, method: str, path_prefix: str = "") -> list[tuple[str, str, dict, Any]]:
        return [s for s in self.sent if s[0] == method and s[1].startswith(path_prefix)]
