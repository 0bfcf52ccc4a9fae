"""Asana's OpenAPI document for the tests, and the one check SpecCheck cannot do alone:
the actions inside a ``POST /batch`` (each is a request of its own, with its own answer).

SpecCheck reads the document as Asana means it (integer response codes, nested ``allOf``,
``allOf: [$ref, {nullable: true}]``, the ``/api/1.0`` server path, ``opt_fields`` values),
so nothing here adapts it.
"""

from __future__ import annotations

from typing import Any

from .spec_check import SpecCheck

SPEC = "asana.openapi.yaml"
PREFIX = "/api/1.0"  # the server URL's path: requests carry it, the spec's paths start after it


def asana_spec() -> SpecCheck:
    return SpecCheck.load(SPEC)


def check_action(spec: SpecCheck, action: dict[str, Any], answer: dict[str, Any]) -> None:
    """One action of a POST /batch, and its answer, against the operation it stands for:
    ``data`` is the query of a GET and the body's ``data`` otherwise; ``options.fields`` is
    ``opt_fields``."""
    method, path = action["method"], action["relative_path"]
    options = action.get("options") or {}
    query = {"opt_fields": ",".join(options["fields"])} if options.get("fields") else {}
    if method == "get":
        spec.request(method, path, None, {**{k: str(v) for k, v in (action.get("data") or {}).items()}, **query})
    else:
        spec.request(method, path, {"data": action["data"]} if "data" in action else None, query)
    if answer["status_code"] < 400:
        spec.response(method, path, answer["status_code"], answer["body"])
