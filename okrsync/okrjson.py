"""okr-json: an open, versioned interchange format for OKRs (docs/okr-json.md).

One JSON object: ``format: "okr-json"``, ``version`` (an integer), optional ``generator``
and ``exported_at``, then one list per kind — ``periods``, ``people``, ``teams``,
``objectives``, ``key_results``, ``initiatives``, ``check_ins``, ``alignments`` — whose
items are the canonical model's fields (``okrsync.model``) with an ``id``, references by
those ids, and ``extra: {tool: {field: value}}`` for what the model lacks. Blank (null)
fields may be left out. The JSON Schema (draft 2020-12) ships as package data
(``okrsync/schemas/okr-json-1.schema.json``).

Versions: ``VERSION`` is what this okrsync writes. A file of an older version is read by
upgrading it one version at a time (``UPGRADES[n]`` turns version n into n + 1; pure
functions on the parsed document), a newer one is refused with a message naming both
versions. Version 1 is the first, so ``UPGRADES`` is empty for now.

- ``export(store)`` → a document of the store's live entities (canonical ids);
- ``dump(doc, path)`` writes it atomically; ``load(path)`` parses and upgrades;
- ``check(doc, name)`` lists located problems (schema, duplicate ids, dangling references,
  model rules) as ``Problem(pointer, message)``; ``okrsync validate FILE`` prints them;
- ``entities(doc)`` yields (kind, id, fields, pointer) parents first, fields as
  ``model.to_fields`` makes them (what the hub stores).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__, documents
from .model import ENTITY_TYPES, KINDS, REFERENCES, from_fields, problems, to_fields

FORMAT = "okr-json"
VERSION = 1
LISTS = {"period": "periods", "person": "people", "team": "teams", "objective": "objectives",
         "key_result": "key_results", "initiative": "initiatives", "check_in": "check_ins", "alignment": "alignments"}
KIND_OF = {name: kind for kind, name in LISTS.items()}
_ORDER = {kind: [f.name for f in dataclasses.fields(cls) if f.name not in ("id", "extra")] for kind, cls in ENTITY_TYPES.items()}
# UPGRADES[n]: a version-n document → version n + 1 (none yet: version 1 is the first)
UPGRADES: dict[int, Callable[[dict], dict]] = {}


class OkrJsonError(documents.DocumentError):
    """A file that is not okr-json at all, or of a version this okrsync cannot read."""


@dataclass(frozen=True)
class Problem:
    pointer: str  # JSON Pointer into the file ("" is the whole document)
    message: str
    item: tuple[str, int] | None = None  # (list name, index) of the record it concerns, if one

    def located(self, name: str) -> str:
        return f"{name}: {self.pointer or '/'}: {self.message}"


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The okr-json JSON Schema (draft 2020-12) shipped with okrsync."""
    text = (resources.files("okrsync") / "schemas" / f"okr-json-{VERSION}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


# ---------------------------------------------------------------- writing


def document(items: Iterator[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """(kind, id, fields as the store holds them) → an okr-json document, parents first."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "generator": f"okrsync {__version__}",
                           "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}
    lists: dict[str, list] = {LISTS[kind]: [] for kind in KINDS}
    for kind, entity_id, fields in items:
        lists[LISTS[kind]].append(item(kind, entity_id, fields))
    for kind in KINDS:
        lists[LISTS[kind]] = _parents_first(lists[LISTS[kind]])
    doc.update({name: records for name, records in lists.items() if records})
    return doc


def export(store) -> dict[str, Any]:
    """Every live entity of a store as an okr-json document (canonical ids)."""
    return document((kind, entity_id, fields) for entity_id, kind, fields in store.entities())


def item(kind: str, entity_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """One record: id, the non-null model fields in model order, then extra nested by tool."""
    out: dict[str, Any] = {"id": entity_id}
    for name in _ORDER[kind]:
        if fields.get(name) is not None:
            out[name] = fields[name]
    extra: dict[str, dict[str, Any]] = {}
    for key, value in sorted(fields.items()):
        if key.startswith("extra.") and value is not None:
            _, ns, name = key.split(".", 2)
            extra.setdefault(ns, {})[name] = value
    if extra:
        out["extra"] = extra
    return out


def dump(doc: dict[str, Any], path: Path) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    documents.write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


# ---------------------------------------------------------------- reading


def load(path: Path) -> dict[str, Any]:
    """Parse an okr-json file and bring it to the current version."""
    return upgrade(documents.parse_json(documents.read_text(path), path.name), path.name)


def upgrade(doc: Any, name: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise OkrJsonError(f"{name}: /format: not an okr-json file (its top level needs \"format\": \"okr-json\")")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise OkrJsonError(f"{name}: /version: expected a version number such as {VERSION}, got {version!r}")
    if version > VERSION:
        raise OkrJsonError(f"{name}: /version: okr-json version {version} is newer than this okrsync reads "
                           f"(up to {VERSION}); upgrade okrsync")
    while version < VERSION:
        doc = UPGRADES[version](doc)
        version = doc["version"]
    return doc


def check(doc: dict[str, Any]) -> list[Problem]:
    """Every problem of a (current-version) document, located by JSON Pointer, in file order:
    schema errors, then duplicate ids, references to nothing, and the model's rules."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema(), format_checker=FormatChecker())
    found = []
    for error in validator.iter_errors(doc):
        path = tuple(error.absolute_path)
        at = (path[0], path[1]) if len(path) >= 2 and path[0] in KIND_OF and isinstance(path[1], int) else None
        found.append(Problem(documents.pointer(path), _message(error), at))
    broken = {p.item for p in found}
    ids: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
    for name, kind in KIND_OF.items():
        for index, record in enumerate(doc.get(name) or []):
            if (name, index) in broken or not isinstance(record, dict):
                continue
            first = ids[kind].setdefault(record["id"], index)
            if first != index:
                found.append(Problem(f"/{name}/{index}/id", f"id {record['id']!r} is also /{name}/{first}; ids are unique "
                                     "per kind", (name, index)))
    for name, kind in KIND_OF.items():
        for index, record in enumerate(doc.get(name) or []):
            if (name, index) in broken or not isinstance(record, dict):
                continue
            for ref, target in REFERENCES.get(kind, {}).items():
                value = record.get(ref)
                targets = ("objective", "key_result") if target == "*" else (target,)
                if value is not None and not any(value in ids[t] for t in targets):
                    found.append(Problem(f"/{name}/{index}/{ref}", f"points at {value!r}, which is not in "
                                         f"{' or '.join(LISTS[t] for t in targets)}", (name, index)))
            try:
                entity = from_fields(kind, record["id"], _fields(record))
            except (ValueError, TypeError) as e:
                found.append(Problem(f"/{name}/{index}", str(e), (name, index)))
                continue
            for p in problems(entity):
                if p.severity == "error":
                    found.append(Problem(f"/{name}/{index}/{p.field}", p.message, (name, index)))
    return sorted(found, key=_file_order)


def _file_order(problem: Problem) -> tuple:
    """The document's own problems first, then by record as the lists come (stable)."""
    if problem.item is None:
        return (-1, 0)
    name, index = problem.item
    return (KINDS.index(KIND_OF[name]), index)


def _message(error) -> str:
    if error.validator == "additionalProperties":
        return f"{error.message}; tool-specific fields go in extra: {{tool: {{field: value}}}}"
    return error.message


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in record.items() if k not in ("id", "extra")}
    for ns, values in (record.get("extra") or {}).items():
        for key, value in values.items():
            fields[f"extra.{ns}.{key}"] = value
    return fields


def entities(doc: dict[str, Any], skip: set[tuple[str, int]] = frozenset()) -> Iterator[tuple[str, str, dict, str]]:
    """(kind, id, fields, pointer) of every record not in ``skip``, kinds in dependency
    order and parents before children within a kind; fields as ``to_fields`` makes them."""
    for kind in KINDS:
        name = LISTS[kind]
        records = [(i, r) for i, r in enumerate(doc.get(name) or []) if (name, i) not in skip]
        order = {id(r): i for i, r in records}
        for record in _parents_first([r for _, r in records]):
            entity = from_fields(kind, record["id"], _fields(record))
            yield kind, record["id"], to_fields(entity), f"/{name}/{order[id(record)]}"


def _parents_first(records: list[dict]) -> list[dict]:
    """Records whose ``parent_id`` is in the same list come after that parent (stable)."""
    by_id = {r.get("id"): r for r in records}
    if not any(r.get("parent_id") in by_id for r in records):
        return records
    out: list[dict] = []
    placed: set[int] = set()
    for record in records:
        chain, seen = [], set()
        node = record
        while node is not None and id(node) not in placed and id(node) not in seen:
            seen.add(id(node))
            chain.append(node)
            node = by_id.get(node.get("parent_id"))
        for r in reversed(chain):
            placed.add(id(r))
            out.append(r)
    return out


__all__ = ["FORMAT", "VERSION", "UPGRADES", "OkrJsonError", "Problem", "schema", "document", "export", "item", "dump",
           "load", "upgrade", "check", "entities"]
