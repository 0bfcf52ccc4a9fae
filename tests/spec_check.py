"""Check HTTP traffic against a vendor's own OpenAPI description (../shared/specs).

Connector tests route requests through respx; ``SpecCheck.request`` / ``.response`` say
whether the method and path exist in the vendor's spec and whether a JSON body matches
the schema the spec gives for it (OpenAPI 3.0 or 3.1 rules, ``$ref`` into
``components``). Canned responses are checked the same way, so a test can't pass on a
payload the real API would never send.

    spec = SpecCheck.load("jira-cloud-platform-v3.openapi.json")
    spec.response("GET", "/rest/api/3/search/jql", 200, body)   # raises SpecMismatch
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4, DRAFT202012

SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"
METHODS = ("get", "put", "post", "delete", "patch")


class SpecMismatch(AssertionError):
    """Traffic the vendor's spec does not allow; the message says what and where."""


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class SpecCheck:
    def __init__(self, name: str, document: dict[str, Any]):
        self.name = name
        self.document = document
        # 3.0 schemas are a JSON Schema draft-4 dialect (nullable); 3.1 ones are draft 2020-12
        modern = str(document.get("openapi", "3.0")).startswith("3.1")
        self.validator = OAS31Validator if modern else OAS30Validator
        self.registry = Registry().with_resource("urn:spec", (DRAFT202012 if modern else DRAFT4).create_resource(document))
        # concrete paths match templates: /rest/api/3/issue/{issueIdOrKey} → [^/]+
        self.templates = [(re.compile("^" + "".join("[^/]+" if part.startswith("{") else re.escape(part)
                                                    for part in re.split(r"(\{[^/]+?\})", t)) + "$"), t)
                          for t in document.get("paths", {})]

    @classmethod
    @lru_cache(maxsize=None)
    def load(cls, filename: str) -> SpecCheck:
        path = SPECS / filename
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)
        return cls(filename, document)

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The path template and operation object for a concrete request."""
        matches = [t for rx, t in self.templates if rx.match(path)]
        # prefer the most literal template: /issue/bulk over /issue/{issueIdOrKey}
        matches.sort(key=lambda t: t.count("{"))
        for template in matches:
            op = self.document["paths"][template].get(method.lower())
            if op is not None:
                return template, op
        raise SpecMismatch(f"{self.name}: no operation {method.upper()} {path}")

    def request(self, method: str, path: str, body: Any = None) -> None:
        template, op = self.operation(method, path)
        if body is None:
            return
        content = (op.get("requestBody") or {}).get("content", {})
        if "application/json" not in content:
            raise SpecMismatch(f"{self.name}: {method.upper()} {template} takes no JSON body")
        self._validate(body, _pointer("paths", template, method.lower(), "requestBody", "content", "application/json",
                                      "schema"), f"request body of {method.upper()} {template}")

    def response(self, method: str, path: str, status: int, body: Any) -> None:
        template, op = self.operation(method, path)
        responses = op.get("responses", {})
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
