"""Smartsheet's own OpenAPI description (a trimmed copy in tests/specs, see SOURCES.md) read
as Smartsheet means it: ``smartsheet_spec()`` is the ``SpecCheck`` every Smartsheet test
checks traffic with (tests/test_smartsheet.py through respx, the end-to-end tests and
tests/helpers/vendors.py through the emulator's ``spec``)."""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import unquote

from .spec_check import SPECS, SpecCheck

NAME = "smartsheet-2.0.trimmed.openapi.json"


class SmartsheetSpec(SpecCheck):
    """Smartsheet's document points ``$ref``s into other operations' parameter lists
    (``#/paths/~1reports~1%7BreportId%7D/parameters/1``): list indexes and %-escapes."""

    def _resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            ref, node = unquote(node["$ref"].split("#", 1)[1]), self.document
            for part in ref.strip("/").split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def request(self, method, path, body=None, query=None):
        # POST …/columns: the schema is one Column object, the operation's text says "one or
        # more columns … use one common index": a list is checked item by item
        if method == "POST" and path.endswith("/columns") and isinstance(body, list):
            assert len({c.get("index") for c in body}) == 1, "one common index for all new columns"
            for column in body:
                super().request(method, path, column, query)
            return None
        return super().request(method, path, body, query)

    def response(self, method, path, status, body):
        # GET /sheets/{sheetId} answers oneOf [Sheet, {version}]: the second branch is any
        # object, so every sheet matches both and oneOf fails. Checked against Sheet instead.
        if method == "GET" and self.operation(method, path)[0] == "/sheets/{sheetId}" and status == 200:
            return self._validate(body, "/components/schemas/Folder/properties/sheets/items",
                                  "200 response of GET /sheets/{sheetId} (as a Sheet)")
        return super().response(method, path, status, body)


@cache
def smartsheet_spec() -> SmartsheetSpec:
    return SmartsheetSpec(NAME, json.loads((SPECS / NAME).read_text(encoding="utf-8")))
