"""Trim the vendors' API descriptions to what okrsync's connectors, emulators and tests use.

    python tests/specs/trim.py SOURCE_DIR    # SOURCE_DIR: a folder holding the vendors' full documents

reads the four full documents in SOURCE_DIR and writes, beside this script, each one cut down
to the operations in ``KEEP`` plus everything they ``$ref``, transitively (a ``$ref`` may point
anywhere: into ``components`` or, as ClickUp's do, into another path's response schema; only
the node it names is kept). Structure only: paths, methods, parameters, request bodies,
responses, schemas, types, formats, enums, required lists, servers and security stay;
descriptions, summaries, examples, external docs, tags and ``x-`` extensions go. Nothing is
rewritten, so each trimmed document is an exact sub-tree of its source (tests/test_specs.py
checks that when the full documents are present). Output is deterministic (the source's key
order, fixed formatting), so running this again gives byte-identical files and SOURCES.md.

A connector or test that needs another operation: add it to ``KEEP`` and run this again (a
request to an operation that is not kept fails its test with "no operation METHOD PATH").
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

HERE = Path(__file__).resolve().parent

# Operations the connectors call and the emulators answer (tests/emulators/*.py), by document.
# OpenAPI: path → methods. Google's discovery document: method ids.
KEEP: dict[str, Any] = {
    "jira-cloud-platform-v3.openapi.json": {
        "/rest/api/3/bulk/issues/delete": ["post"],
        "/rest/api/3/bulk/issues/transition": ["get", "post"],
        "/rest/api/3/bulk/queue/{taskId}": ["get"],
        "/rest/api/3/changelog/bulkfetch": ["post"],
        "/rest/api/3/field": ["get"],
        "/rest/api/3/issue": ["post"],
        "/rest/api/3/issue/bulk": ["post"],
        "/rest/api/3/issue/bulkfetch": ["post"],
        "/rest/api/3/issue/{issueIdOrKey}": ["get", "put", "delete"],
        "/rest/api/3/issue/{issueIdOrKey}/transitions": ["get", "post"],
        "/rest/api/3/issueLink": ["post"],
        "/rest/api/3/issueLink/{linkId}": ["delete"],
        "/rest/api/3/issueLinkType": ["get"],
        "/rest/api/3/mypermissions": ["get"],
        "/rest/api/3/myself": ["get"],
        "/rest/api/3/project/{projectIdOrKey}": ["get"],
        "/rest/api/3/search/jql": ["get", "post"],
        "/rest/api/3/serverInfo": ["get"],
        "/rest/api/3/user/search": ["get"],
        "/rest/api/3/users/search": ["get"],
    },
    "asana.openapi.yaml": {
        "/batch": ["post"],
        "/goal_relationships": ["get"],
        "/goal_relationships/{goal_relationship_gid}": ["get", "put"],
        "/goals": ["get", "post"],
        "/goals/{goal_gid}": ["get", "put", "delete"],
        "/goals/{goal_gid}/addSupportingRelationship": ["post"],
        "/goals/{goal_gid}/parentGoals": ["get"],
        "/goals/{goal_gid}/removeSupportingRelationship": ["post"],
        "/goals/{goal_gid}/setMetric": ["post"],
        "/goals/{goal_gid}/setMetricCurrentValue": ["post"],
        "/status_updates": ["get", "post"],
        "/status_updates/{status_update_gid}": ["delete"],
        "/time_periods": ["get"],
        "/users/{user_gid}": ["get"],
    },
    "clickup-api-v2.openapi.json": {
        "/v2/goal/{goal_id}": ["get", "put", "delete"],
        "/v2/goal/{goal_id}/key_result": ["post"],
        "/v2/key_result/{key_result_id}": ["put", "delete"],
        "/v2/team": ["get"],
        "/v2/team/{team_id}/goal": ["get", "post"],
    },
    "google-sheets-v4.discovery.json": [
        "sheets.spreadsheets.get",
        "sheets.spreadsheets.batchUpdate",
        "sheets.spreadsheets.values.batchGet",
        "sheets.spreadsheets.values.batchUpdate",
        "sheets.spreadsheets.values.append",
    ],
}

# Where each full document came from (SOURCES.md in the shared specs folder has the whole story).
ORIGIN = {
    "jira-cloud-platform-v3.openapi.json": "Atlassian's published Jira Cloud platform v3 spec (verbatim copy in jarekbird/jira-api-mcp-wrapper `swagger-v3.v3.json`, commit 9a9e84d)",
    "asana.openapi.yaml": "Asana/openapi `defs/asana_oas.yaml`, commit fc9f8dc",
    "clickup-api-v2.openapi.json": "ClickUp's published API v2 reference (copy in Npab19/clickup-mcp `clickup-api-v2-reference.json`, commit 4e036bc)",
    "google-sheets-v4.discovery.json": "googleapis/google-api-python-client 2.202.0 wheel, `discovery_cache/documents/sheets.v4.json`",
}

DROP = {"description", "summary", "example", "examples", "externalDocs", "tags", "enumDescriptions"}
# Keys whose value maps names the vendor chose (a property may be called "description")
NAMED = {"properties", "paths", "schemas", "parameters", "responses", "content", "headers", "securitySchemes",
         "methods", "resources", "variables", "links", "callbacks", "requestBodies", "mapping"}
# Keys whose value is data, copied whole
OPAQUE = {"default", "enum", "const"}
DISCOVERY_TOP = ("kind", "id", "name", "version", "revision", "title", "rootUrl", "servicePath", "baseUrl",
                 "basePath", "batchPath", "protocol", "parameters")


def _strip(node: Any, named: bool = False) -> Any:
    """``node`` without descriptive keys; ``named``: its keys are names, all kept."""
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if named:
            out[k] = _strip(v)
        elif k not in DROP and not k.startswith("x-"):
            out[k] = v if k in OPAQUE else _strip(v, k in NAMED)
    return out


def _refs(node: Any, discovery: bool) -> set[tuple[str, ...]]:
    """The pointer (as a tuple of keys) of every ``$ref`` in node."""
    found: set[tuple[str, ...]] = set()
    if isinstance(node, list):
        for v in node:
            found |= _refs(v, discovery)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and discovery:  # a schema's name
                found.add(("schemas", v))
            elif k == "$ref" and isinstance(v, str):  # a JSON pointer, URI-escaped
                parts = v.split("#", 1)[1].strip("/").split("/")
                found.add(tuple(unquote(p).replace("~1", "/").replace("~0", "~") for p in parts))
            else:
                found |= _refs(v, discovery)
    return found


def _project(node: Any, keep: Any, named: bool = False) -> Any:
    """The parts of ``node`` that ``keep`` (nested dicts, ``True`` for a whole sub-tree) names,
    in the source's order."""
    if keep is True:
        return _strip(node, named)
    return {k: _project(v, keep[k], not named and k in NAMED) for k, v in node.items() if k in keep}


def _mark(keep: dict, pointer: tuple[str, ...]) -> None:
    for part in pointer[:-1]:
        if keep.get(part) is True:
            return
        keep = keep.setdefault(part, {})
    keep[pointer[-1]] = True


def _get(node: Any, pointer: tuple[str, ...]) -> Any:
    for part in pointer:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _method_pointers(doc: dict[str, Any], ids: list[str]) -> list[tuple[str, ...]]:
    """Discovery method ids → pointers (resources/…/methods/name)."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(resource: dict[str, Any], at: tuple[str, ...]) -> None:
        for name, method in resource.get("methods", {}).items():
            found[method["id"]] = (*at, "methods", name)
        for name, child in resource.get("resources", {}).items():
            walk(child, (*at, "resources", name))

    walk(doc, ())
    missing = [i for i in ids if i not in found]
    if missing:
        raise SystemExit(f"not in the discovery document: {', '.join(missing)}")
    return [found[i] for i in ids]


def trim(doc: dict[str, Any], keep: Any) -> dict[str, Any]:
    """``doc`` cut down to the operations ``keep`` names and what they reference."""
    discovery = isinstance(keep, list)
    if discovery:
        pointers = [(k,) for k in DISCOVERY_TOP if k in doc] + _method_pointers(doc, keep)
    else:
        pointers = [(k,) for k in ("openapi", "jsonSchemaDialect", "servers", "security") if k in doc]
        pointers += [("info", "title"), ("info", "version")]
        if "security" in doc:  # security names schemes, it does not $ref them
            pointers.append(("components", "securitySchemes"))
        for path, methods in keep.items():
            item = doc["paths"].get(path)
            absent = [m for m in methods if item is None or m not in item]
            if absent:
                raise SystemExit(f"not in the document: {', '.join(m.upper() for m in absent)} {path}")
            pointers += [("paths", path, m) for m in methods]
            pointers += [("paths", path, "parameters")] if "parameters" in item else []
    tree: dict = {}
    seen: set[tuple[str, ...]] = set()
    while True:
        for p in pointers:
            _mark(tree, p)
        seen |= set(pointers)
        out = _project(doc, tree)
        pointers = sorted(_refs(out, discovery) - seen)
        if not pointers:
            break
    for p in seen:  # every reference resolves in the trimmed copy
        _get(out, p)
    return out


def dump(doc: dict[str, Any], name: str) -> str:
    if name.endswith(".json"):
        return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"

    class Dumper(yaml.CSafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120)


def load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)


def build(source: Path) -> dict[str, str]:
    """File name → text: the trimmed documents and SOURCES.md."""
    files: dict[str, str] = {}
    rows = []
    for name, keep in KEEP.items():
        raw = (source / name).read_bytes()
        doc = load(source / name)
        text = dump(trim(doc, keep), name)
        files[name] = text
        version = doc.get("revision") or doc.get("info", {}).get("version")
        kind = "revision" if "revision" in doc else "info.version"
        kept = len(keep) if isinstance(keep, list) else sum(map(len, keep.values()))
        rows.append(f"| `{name}` | {ORIGIN[name]} | {kind} `{version}` | `{hashlib.sha256(raw).hexdigest()}` "
                    f"| {len(raw):,} | {len(text.encode()):,} | {kept} |")
    files["SOURCES.md"] = "\n".join([
        "# Trimmed vendor API descriptions: sources",
        "",
        "Written by `tests/specs/trim.py` (do not edit by hand: change its `KEEP` and run it again).",
        "Each file here is the full document of the same name in `specs` of the shared folder beside the checkout (provenance in its",
        "SOURCES.md), cut down to the operations the connectors, emulators and tests use plus everything",
        "they `$ref`, structure only: descriptions, summaries, examples, tags and `x-` extensions dropped.",
        "`tests/test_specs.py` checks, when that folder is present, that each is an exact sub-tree",
        "of its source and that running the trimmer again gives these bytes.",
        "",
        "| file | source | version | source sha256 | source bytes | trimmed bytes | operations kept |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "`samples/` holds the vendors' documented example payloads, copied unchanged from",
        "`shared/research/samples` (their provenance is `samples/SOURCES.md`).",
        "",
        "Specs that are not in that folder were trimmed by hand and carry their provenance in a",
        "`<name>.SOURCES.md` beside them (`smartsheet-2.0.SOURCES.md`).",
        "",
    ])
    return files


def main(argv: list[str]) -> None:
    # the folder is named, never assumed: a fresh clone has no shared folder beside it
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        sys.exit("usage: python tests/specs/trim.py SOURCE_DIR (the folder that holds the vendors' full API "
                 f"documents, as the team's shared specs folder does){f': no folder {argv[0]}' if argv else ''}")
    source = Path(argv[0])
    for name, text in build(source).items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"{HERE / name}: {len(text.encode()):,} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
