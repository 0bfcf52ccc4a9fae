"""Writing a json or yaml endpoint back through its mapping, in the file's own shape.

Only an *invertible* mapping can be written: one file (no ``files:`` pattern, not JSON
Lines), every part's path a plain ``$.key[*]`` (no filters or wildcards), ids read from a
key, and every field read from a plain key (no constants, ancestors, captured parts or
regular expressions). ``why_not(mapping, fmt)`` says what stops a mapping; the connector is
read-only then, and the hub never plans a push to it.

A write edits the parsed document in place and saves it atomically: records keep their
place and their keys' order; a field is rewritten only when its canonical value changed
(so "$2M" stays "$2M" until the target really moves); deleted records leave their list;
new ones are appended to their parent's list (made if missing). Choice fields are written
in the vocabulary's first (display) word, integral numbers as integers. YAML comments and
anchors are not kept (PyYAML's safe dumper writes plain YAML).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import yaml

from okrsync import documents
from okrsync import transforms as tf
from okrsync.connector import Rejected, WriteBatch, WriteResult
from okrsync.mapping import MODEL_FIELDS, Measure
from okrsync.model import KINDS, REFERENCES


def why_not(mapping, fmt: str | None) -> str | None:
    """Why a mapping cannot be written back, or None when it can."""
    if mapping.files:
        return "it reads many files (files:)"
    if fmt == "jsonl":
        return "JSON Lines files are read only"
    for part in mapping.all_parts():
        if part.rules is not None:
            return f"{part.name} reads records from text with a line grammar"
        if part.list_key is None:
            return f"{part.name}'s path {part.path!r} is not a plain $.key[*]"
        if part.id_steps is None:
            return f"{part.name} has no id key (ids from positions or other sources)"
        plain = set(part.field_steps)
        other = [name for name in part.fields if name not in plain]
        if other:
            return f"{part.name}.{other[0]} is not read from a plain key"
    return None


def write(conn, batch: WriteBatch) -> WriteResult:
    """Apply a snapshot batch to the endpoint's file and save it in the same shape."""
    path, fmt = conn.path, documents.format_of(conn.path)
    original = documents.read_text(path, conn.max_bytes) if path.exists() else ""
    root = (documents.parse_yaml(original, path.name) if fmt == "yaml" else documents.parse_json(original, path.name)) \
        if original.strip() else {}
    if not isinstance(root, dict):
        root = {}
    result = WriteResult()
    wanted = {(r.kind, r.external_id): r for r in (*batch.unchanged, *batch.updates)}
    gone = {(r.kind, r.external_id) for r in batch.deletes}
    places: dict[tuple[str, str], tuple[Any, Any]] = {}  # (kind, ext) → (node, part)
    for part in conn.mapping.parts:
        _walk(conn, part, root, None, wanted, gone, places, result)
    _create(conn, batch, root, places, result)
    if fmt == "yaml":
        text = yaml.dump(root, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
    else:
        text = json.dumps(root, ensure_ascii=False, allow_nan=False, **_json_style(original))
        text += "\n" if original.endswith("\n") or not original else ""
    documents.write_atomic(path, text)
    return result


class _Dumper(yaml.SafeDumper):
    """The safe dumper, with lists indented under their key as people write them, and
    date-like text (read as text: ``documents`` turns YAML timestamps off) written bare, as
    the file had it, not quoted."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


_Dumper.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}


def _json_style(text: str) -> dict:
    """json.dumps options that keep a file's look: its indent (2, 4, tab), or one line."""
    m = re.search(r"[\[{]\n([ \t]+)\S", text)
    if m:
        return {"indent": m.group(1)}
    if text.strip() and "\n" not in text.strip():
        return {"separators": (",", ":")} if '": ' not in text and '", ' not in text else {}
    return {"indent": 2}


def _walk(conn, part, holder: Any, parent_ext: str | None, wanted, gone, places, result) -> None:
    """Update and delete the records of ``part`` under one parent node, then their children."""
    items = holder.get(part.list_key) if isinstance(holder, dict) else None
    if not isinstance(items, list):
        return
    kept = []
    for node in items:
        ext = _ext(part, node, parent_ext)
        if ext is None:
            kept.append(node)  # not a record we read (wrong shape, no id): left as it was
            continue
        if (part.kind, ext) in gone:
            continue
        record = wanted.get((part.kind, ext))
        if record is not None:
            moved = _moved(part.kind, record.fields, parent_ext)
            if moved:
                result.rejected.append(Rejected(record.canonical_id or ext, moved))
            else:
                _apply(conn, part, node, record.fields)
        places[(part.kind, ext)] = (node, part)
        kept.append(node)
        for child in part.children:
            _walk(conn, child, node, ext, wanted, gone, places, result)
    items[:] = kept


def _create(conn, batch: WriteBatch, root: dict, places, result: WriteResult) -> None:
    """New records, parents first, appended to their parent's list."""
    todo = sorted(batch.creates, key=lambda r: KINDS.index(r.kind))
    renamed: dict[str, str] = {}  # canonical id → external id given here
    while todo:
        left = []
        for record in todo:
            fields = {k: renamed.get(v, v) if k in REFERENCES.get(record.kind, {}) else v for k, v in record.fields.items()}
            target = _home(conn, record.kind, fields, root, places)
            if target is None:
                left.append(record)
                continue
            part, holder, parent_ext = target
            local = record.external_id.rsplit("/", 1)[-1]
            ext = f"{parent_ext}/{local}" if part.scope == "parent" and parent_ext else local
            if (record.kind, ext) in places:
                local = record.canonical_id
                ext = f"{parent_ext}/{local}" if part.scope == "parent" and parent_ext else local
            node: dict[str, Any] = {}
            _set(node, part.id_steps, local)
            _apply(conn, part, node, fields)
            holder.setdefault(part.list_key, []).append(node)
            places[(record.kind, ext)] = (node, part)
            renamed[record.canonical_id] = ext
            result.external_ids[record.canonical_id] = ext
        if len(left) == len(todo):
            for record in left:
                result.rejected.append(Rejected(record.canonical_id, f"no place for this {record.kind.replace('_', ' ')} "
                                                "in the file: its parent is not there, or the mapping has no part for it"))
            return
        todo = left


def _home(conn, kind: str, fields: dict, root: dict, places) -> tuple | None:
    """(part, node whose list gets the record, parent's ext) for a new record, or None."""
    for part in conn.mapping.parts:
        if part.kind == kind and not any(fields.get(ref) for ref, target in REFERENCES.get(kind, {}).items()
                                         if target != kind):
            return part, root, None
    for (pkind, pext), (node, ppart) in places.items():
        for child in ppart.children:
            ref = next((r for r, t in REFERENCES.get(kind, {}).items() if t == pkind), None)
            if child.kind == kind and ref and fields.get(ref) == pext:
                return child, node, pext
    return None


def _ext(part, node: Any, parent_ext: str | None) -> str | None:
    if not isinstance(node, dict):
        return None
    value = _get(node, part.id_steps)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    local = tf.parse_text(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    if local is None:
        return None
    return f"{parent_ext}/{local}" if part.scope == "parent" and parent_ext else local


def _moved(kind: str, fields: dict, parent_ext: str | None) -> str | None:
    if parent_ext is None:
        return None
    for ref in REFERENCES.get(kind, {}):
        if fields.get(ref) and ref != "parent_id" and fields[ref] != parent_ext:
            return (f"now belongs to {fields[ref]!r}, but its place in the file is under {parent_ext!r}; "
                    "moving records between parents is not written: move it in the file")
    return None


def _apply(conn, part, node: dict, fields: dict) -> None:
    """Write the fields whose value changed, each at its key."""
    model = MODEL_FIELDS[part.kind]
    for name, steps in part.field_steps.items():
        value = fields.get(name) if name in model else fields.get(f"extra.{conn.endpoint}.{name}")
        current = _get(node, steps)
        if _same(conn, part, name, current, value):
            continue
        if value is None:
            _drop(node, steps)
        else:
            _set(node, steps, _render(conn, name, value, current))
    own = f"extra.{conn.endpoint}."
    for key, value in fields.items():  # keys kept in extra on reading go back where they were
        if key.startswith(own) and "." not in key[len(own):]:
            name = key[len(own):]
            if name not in part.field_steps and name not in part.keys and value is not None:
                node[name] = value


def _same(conn, part, name: str, current: Any, value: Any) -> bool:
    """Whether the file's value reads as ``value`` already (then it is left as written)."""
    kind = part.kind
    if current is None or (isinstance(current, str) and not current.strip()):
        return value is None
    if value is None:
        return False
    try:
        parsed = conn.mapping.values.converter(kind, name, part.fields[name][1])(current) \
            if name in MODEL_FIELDS[kind] else current
    except (tf.TransformError, TypeError):
        return False
    if isinstance(parsed, Measure):
        parsed = parsed.value
    elif isinstance(parsed, tf.PeriodLabel):
        parsed = parsed.label
    elif isinstance(parsed, dt.datetime):
        parsed = parsed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    elif isinstance(parsed, dt.date):
        parsed = parsed.isoformat()
    return parsed == value


def _render(conn, name: str, value: Any, current: Any) -> Any:
    value = conn.mapping.values.render_value(name, value)
    if isinstance(value, float) and value.is_integer() and not isinstance(current, float):
        return int(value)
    return value


def _get(node: Any, steps: tuple[str, ...]) -> Any:
    for step in steps:
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


def _set(node: dict, steps: tuple[str, ...], value: Any) -> None:
    for step in steps[:-1]:
        node = node.setdefault(step, {})
    node[steps[-1]] = value


def _drop(node: dict, steps: tuple[str, ...]) -> None:
    for step in steps[:-1]:
        node = node.get(step)
        if not isinstance(node, dict):
            return
    node.pop(steps[-1], None)
