"""The mapping of a json or yaml endpoint: where each part's records are, how values are read.

``StructuredMapping.load(path)`` reads a mapping file (see ``structured`` and docs/mappings.md,
"JSON and YAML files") into ``Part``s, each with a compiled RFC 9535 JSONPath query for its
records (relative to the parent record), a ``Source`` per field and for the id, and its
child parts. A ``Source`` is a function of (the record's ``Frame``, the frames above it,
the ``Doc``) giving (raw value, location of the value or None); values are converted later,
by the connector, with the spreadsheet transforms. Mistakes in a mapping raise
``MappingError`` naming the file, line where known, and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonpath_rfc9535 as jsonpath

from okrsync import transforms as tf
from okrsync.config import LineDict, load_yaml
from okrsync.errors import MappingError
from okrsync.mapping import Mapping
from okrsync.model import ENTITY_TYPES

from . import line_grammar

PART_KEYS = {"kind", "path", "id", "scope", "fields", "extra", "records", "grammar", "links"}
MAPPING_KEYS = {"name", "options", "vocabularies", "files", "records", "strict_values"}
SOURCE_FROM = {"record", "root", "parent", "file", "key", "position"}  # besides part names


# ---------------------------------------------------------------- the mapping


@dataclass
class Frame:
    """One record being read: its node, where it is, and what it was found under."""

    part: str
    kind: str
    node: Any
    location: tuple  # from the document's root
    key: str | None  # the object key holding it (``goals_q3``), if any
    position: int  # 1-based index in its array (or among its parent's matches)
    ext: str | None = None  # its external id, once known
    taken: frozenset = frozenset()  # keys of the node its part's fields read (not extra)


@dataclass
class Doc:
    """One parsed file and what its path told about it."""

    name: str  # shown in messages: the file's path relative to the endpoint
    root: Any
    captured: dict[str, str] = field(default_factory=dict)
    lines: list[int] | None = None  # JSON Lines: the line of each item of the root list


Source = Callable[[Frame, list[Frame], Doc], tuple[Any, tuple | None]]  # → (value, location or None)


@dataclass
class Part:
    name: str
    kind: str
    path: str
    query: Any  # a compiled JSONPath query
    id: Source | None
    scope: str | None
    fields: dict[str, tuple[Source, str | None]]
    extra: bool
    children: list[Part]
    keys: set[str]  # a record's own keys that fields read: not kept in extra
    # for writing back (``structured_writer``): the key holding the records when the path is
    # a plain ``$.key[*]``, and the key steps of the id and of each field read by a plain key
    list_key: str | None = None
    id_steps: tuple[str, ...] | None = None
    field_steps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rules: list[line_grammar.Rule] | None = None  # a text part: lines → records (``line_grammar``)


@dataclass
class StructuredMapping:
    source: str
    parts: list[Part]  # the top-level parts; children hang below them
    values: Mapping  # transforms, options and vocabularies (spreadsheet rules)
    files: str | None = None

    @classmethod
    def load(cls, path: str | Path, base_dir: Path) -> StructuredMapping:
        path = Path(path)
        path = path if path.is_absolute() else base_dir / path
        raw = load_yaml(path)
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> StructuredMapping:
        if not isinstance(raw, dict) or not isinstance(raw.get("records"), dict):
            raise MappingError(f"{source}: a JSON/YAML mapping is a YAML mapping with a 'records' key "
                               "(see docs/mappings.md, 'JSON and YAML files')")
        for key in raw:
            if key not in MAPPING_KEYS:
                raise MappingError(f"{_at(source, raw, key)}: unknown key; expected one of {', '.join(sorted(MAPPING_KEYS))}")
        values = Mapping.from_dict({"extends": "spreadsheet", "options": raw.get("options") or {},
                                    "vocabularies": raw.get("vocabularies") or {},
                                    "strict_values": bool(raw.get("strict_values"))}, source)
        parts = [_part(name, spec, f"records.{name}", source, raw["records"]) for name, spec in raw["records"].items()]
        mapping = cls(source, parts, values, raw.get("files"))
        names = {part.name for part in mapping.all_parts()}
        for origin in _origins(raw["records"]):
            if origin not in SOURCE_FROM and origin not in names:
                raise MappingError(f"{source}: from: {origin!r} is neither one of {', '.join(sorted(SOURCE_FROM))} "
                                   f"nor a part of this mapping ({', '.join(sorted(names))})")
        return mapping

    def all_parts(self) -> Iterator[Part]:
        todo = list(self.parts)
        while todo:
            part = todo.pop(0)
            yield part
            todo.extend(part.children)


def _origins(raw: Any) -> Iterator[str]:
    """Every ``from:`` value in a mapping's records (an unknown one would read nothing)."""
    if isinstance(raw, dict):
        if isinstance(raw.get("from"), str):
            yield raw["from"]
        for value in raw.values():
            yield from _origins(value)
    elif isinstance(raw, list):
        for value in raw:
            yield from _origins(value)


def _at(source: str, mapping: Any, key: str) -> str:
    line = mapping.lines.get(key) if isinstance(mapping, LineDict) else None
    return f"{source}: line {line}: {key}" if line else f"{source}: {key}"


def _part(name: str, spec: Any, where: str, source: str, holder: Any) -> Part:
    loc = _at(source, holder, name).replace(f": {name}", f": {where}")
    if not isinstance(spec, dict):
        raise MappingError(f"{loc}: a part is a mapping with at least 'path:' and 'fields:'")
    for key in spec:
        if key not in PART_KEYS:
            raise MappingError(f"{loc}.{key}: unknown key; expected one of {', '.join(sorted(PART_KEYS))}")
    kind = spec.get("kind", name if "grammar" not in spec else "objective")  # a text part's rules give the kinds
    if kind not in ENTITY_TYPES:
        raise MappingError(f"{loc}: unknown entity {kind!r}; use one of {', '.join(ENTITY_TYPES)} (or give the part a 'kind:')")
    if "path" not in spec:
        raise MappingError(f"{loc}: no 'path:' (where its records are, e.g. $.objectives[*]; $ is the parent record)")
    path = str(spec["path"])
    query = _compile(path, f"{loc}.path")
    if spec.get("scope") not in (None, "parent"):
        raise MappingError(f"{loc}.scope: use 'scope: parent' (ids that repeat under each parent), or leave it out")
    fields, keys = {}, set()
    for fname, fspec in (spec.get("fields") or {}).items():
        transform = fspec.get("transform") if isinstance(fspec, dict) else None
        fields[fname] = (_source(fspec, f"{loc}.fields.{fname}", keys), transform)
    id_source = _source(spec["id"], f"{loc}.id", keys) if spec.get("id") is not None else None
    children = [_part(n, s, f"{where}.records.{n}", source, spec["records"]) for n, s in (spec.get("records") or {}).items()]
    plain = re.fullmatch(r"\$(?:\.([A-Za-z_][\w-]*)|\[['\"]([^'\"]+)['\"]\])\[\*\]", path)
    steps = {n: tuple(v.split(".")) for n, v in (spec.get("fields") or {}).items() if _plain_key(v)}
    rules = line_grammar.compile_rules(spec["grammar"], spec.get("links"), loc) if "grammar" in spec else None
    return Part(name, kind, path, query, id_source, spec.get("scope"), fields, bool(spec.get("extra", True)), children,
                keys, list_key=(plain.group(1) or plain.group(2)) if plain else None,
                id_steps=tuple(spec["id"].split(".")) if _plain_key(spec.get("id")) else None, field_steps=steps,
                rules=rules)


def _plain_key(spec: Any) -> bool:
    return isinstance(spec, str) and not spec.startswith("$")


def _compile(path: str, where: str):
    try:
        return jsonpath.compile(path)
    except jsonpath.JSONPathError as e:
        hint = "; write [*] for every item" if "[]" in path else ""
        raise MappingError(f"{where}: {path!r} is not a JSONPath query (RFC 9535): {e}{hint}") from None


def _source(spec: Any, where: str, keys: set[str]) -> Source:
    """A value spec → a function of (frame, ancestors, doc) giving (value, location)."""
    if isinstance(spec, list):
        options = [_source(s, f"{where}[{i}]", keys) for i, s in enumerate(spec)]
        return lambda frame, up, doc: _first(options, frame, up, doc)
    if isinstance(spec, str):
        if not spec.startswith("../"):  # keys of the record itself: not kept again in its extra
            keys.add(spec.split(".", 1)[0] if not spec.startswith("$") else first_key(spec))
        return _path_reader(spec, where)
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: give a key (title), a JSONPath ($.a[0]), a list of them, "
                           "{value: CONST} or {from: root|parent|PART|file|key|position, path: ...}")
    unknown = set(spec) - {"value", "from", "path", "match", "transform", "join", "sep"}
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; use value, from, path, match, "
                           "transform, join or sep")
    if "value" in spec:
        const = spec["value"]
        base: Source = lambda frame, up, doc: (const, None)  # noqa: E731
    elif "join" in spec:
        parts = [_source(s, f"{where}.join[{i}]", keys) for i, s in enumerate(spec["join"] or [])]
        sep = str(spec.get("sep", " "))
        base = lambda frame, up, doc: _join(parts, sep, frame, up, doc)  # noqa: E731
    else:
        base = _from(spec.get("from", "record"), spec.get("path"), where, keys)
    if spec.get("match") is not None:
        return _matching(base, spec["match"], where)
    return base


def first_key(query: str) -> str:
    m = re.match(r"\$(?:\.([A-Za-z_][\w-]*)|\[['\"]([^'\"]+)['\"]\])", query)
    return (m.group(1) or m.group(2)) if m else ""


def _path_reader(path: str, where: str) -> Source:
    """A key path (``a.b``) or a JSONPath query relative to the record; the first node wins."""
    if path.startswith("$"):
        query = _compile(path, where)

        def read_query(frame: Frame, up, doc) -> tuple[Any, tuple | None]:
            node = query.find_one(frame.node)
            return (None, None) if node is None else (node.value, frame.location + tuple(node.location))
        return read_query
    ups = 0
    while path.startswith("../"):  # ../window: a key of the object holding this record
        ups, path = ups + 1, path[3:]
    steps = path.split(".")

    def read_keys(frame: Frame, up, doc) -> tuple[Any, tuple | None]:
        value, base = frame.node, frame.location
        if ups:
            base = enclosing(doc.root, frame.location, ups)
            if base is None:
                return None, None
            value = node_at(doc.root, base)
        for step in steps:
            if not isinstance(value, dict):
                return None, None
            value = value.get(step)
        return value, base + tuple(steps)
    return read_keys


def enclosing(root: Any, location: tuple, ups: int) -> tuple | None:
    """The location of the ``ups``-th object around the one at ``location`` (arrays and
    their keys are stepped over: a goal's ``../`` is the section holding its goals list)."""
    for cut in range(len(location) - 1, -1, -1):
        if isinstance(node_at(root, location[:cut]), dict):
            ups -= 1
            if ups == 0:
                return location[:cut]
    return None


def node_at(root: Any, location: tuple) -> Any:
    node = root
    for step in location:
        node = node[step]
    return node


def _from(origin: str, path: Any, where: str, keys: set[str]) -> Source:
    if origin == "record":
        if path is None:
            raise MappingError(f"{where}: give 'path:' (a key of the record)")
        return _source(str(path), where, keys)
    if origin == "key":
        return lambda frame, up, doc: (frame.key, frame.location[:-1] if frame.key else None)
    if origin == "position":
        return lambda frame, up, doc: (frame.position, frame.location)
    if origin == "file":
        if not path:
            raise MappingError(f"{where}: 'from: file' needs 'path:' naming a part of the files pattern ({{team}} → team)")
        return lambda frame, up, doc: (doc.captured.get(str(path)), None)
    reader = _path_reader(str(path), where) if path is not None else (lambda f, u, d: (f.node, f.location))
    if origin == "root":
        return lambda frame, up, doc: reader(Frame("", "", doc.root, (), None, 1), up, doc)
    if origin == "parent":
        return lambda frame, up, doc: reader(up[-1], up, doc) if up else (None, None)
    # an ancestor part by name: the nearest one
    return lambda frame, up, doc: next((reader(f, up, doc) for f in reversed(up) if f.part == origin), (None, None))


def _first(options: list[Source], frame, up, doc) -> tuple[Any, tuple | None]:
    for option in options:
        value, loc = option(frame, up, doc)
        if not blank(value):
            return value, loc
    return None, None


def _join(parts: list[Source], sep: str, frame, up, doc) -> tuple[Any, tuple | None]:
    values = [v for v, _ in (p(frame, up, doc) for p in parts) if not blank(v)]
    return (sep.join(str(v) for v in values) if values else None), None


def _matching(base: Source, pattern: str, where: str) -> Source:
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise MappingError(f"{where}.match: {pattern!r} is not a regular expression: {e}") from None

    def read(frame, up, doc):
        value, loc = base(frame, up, doc)
        if blank(value):
            return value, loc
        m = regex.search(str(value))
        return (None if m is None else m.group(1) if regex.groups else m.group(0)), loc
    return read


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------- files


def files_regex(pattern: str) -> re.Pattern:
    """``teams/{team}/{quarter}/{objective}-{kr}.json`` → a regex capturing each named part;
    ``*`` is any text within one folder, ``**`` any number of folders."""
    out, i = [], 0
    for m in re.finditer(r"\{(\w+)\}|\*\*/?|\*", pattern):
        out.append(re.escape(pattern[i:m.start()]))
        token = m.group(0)
        out.append(f"(?P<{m.group(1)}>[^/]+?)" if m.group(1) else "(?:.*/)?" if token.startswith("**") else "[^/]*")
        i = m.end()
    out.append(re.escape(pattern[i:]))
    return re.compile("".join(out))


def id_text(value: Any) -> str | None:
    """Ids as text: 7 and "7" are the same id; 7.0 is 7."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (bool, dict, list)):
        return None
    return tf.parse_text(value)
