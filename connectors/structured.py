"""JSON, YAML and JSON Lines files of any shape, read through a declarative mapping.

An endpoint ``type: json`` (also .jsonl) or ``type: yaml`` names a file (or a folder and a
``files:`` pattern) and a mapping file that says, per entity part, where its records are
and how each field is read::

    records:
      objective:
        path: $.objectives[*]          # RFC 9535 JSONPath, relative to the parent record
        id: id                         # a key of the record (``a.b`` walks into objects)
        fields: {title: objective, period: quarter, owner: {from: root, path: owner}}
        records:                       # children: their paths start at this record
          key_result:
            path: $.key_results[*]
            id: id
            scope: parent              # "KR1" inside O1 becomes "O1/KR1"
            fields: {title: text, target: target}

**Why JSONPath (RFC 9535, the ``jsonpath-rfc9535`` library) and not JMESPath.** Every
node a JSONPath query finds comes with its *location* (the keys and indices that lead to
it). That gives each record and field a JSON Pointer for error messages for free
(``okrs.json: /objectives/2/key_results/0/target``), and gives the key that holds a list
of records (``goals_q3``), which a mapping can read as a value (a period). JMESPath
returns values only, so both would need a second, hand-written walk. JSONPath is an IETF
standard since 2024 (one grammar, with a compliance suite), filters included
(``$[?@.type == 'objective']``); the library follows it exactly and is maintained.

A value (a field, an id) is read by a *source*: a key path (``attributes.name``), a
JSONPath query relative to the record (``$.owners[0].email``; ``$`` is the record itself,
for arrays of plain strings), or a table ``{value: CONST}`` or
``{from: root|parent|<part>|file|key|position, path: ..., match: REGEX, transform: NAME}``;
a list of sources takes the first that is not blank, and ``{join: [...], sep: " "}`` glues
several. Values then go through the same transforms as spreadsheets (``okrsync.mapping``:
measures, percent scales, vocabularies, periods, dates). Keys of a record no field reads
are kept in ``extra``.

Reads are located: a malformed file names its line and column; a record of the wrong
shape or a value that does not parse is rejected alone with its file and JSON Pointer; a
path that matches nothing in a file says which path and where. A mapping that can be
inverted (plain ``$.key[*]`` paths, ids and fields from plain keys, one file) is written
back in the file's own shape (``structured_writer``); any other makes the endpoint
read-only: every kind is declared read-only, so the hub never plans a push to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okrsync import documents, unparsed
from okrsync import transforms as tf
from okrsync.config import check_options
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError
from okrsync.mapping import MODEL_FIELDS, Mapping, Measure, lacking, nest_extra, settle_key_result, settle_record
from okrsync.model import DIRECTIONS, ENTITY_TYPES, KINDS, REFERENCES, UNITS, problems, to_fields

from . import line_grammar, structured_writer
from .structured_mapping import Doc, Frame, Part, StructuredMapping, blank, files_regex, first_key, id_text

__all__ = ["JsonConnector", "YamlConnector", "StructuredConnector", "StructuredMapping", "files_regex"]

OPTION_HELP = {
    "path": "the file (or the folder that `files:` is relative to)",
    "mapping": "the mapping file that says where each kind's records are (relative to the config)",
    "files": "a file-name pattern with captured parts, e.g. teams/{team}/{quarter}/{objective}.json",
    "max_bytes": "refuse files larger than this (default 64 MB)",
    "read_only": "true: never write this endpoint, even when its mapping could be inverted",
    "percent_scale": "how percent values are written: 100 (45 = 45 %) or 1 (0.45 = 45 %)",
    "progress_scale": "how progress values are written: 100 or 1",
    "date_order": "ymd | dmy | mdy: how ambiguous dates are read",
    "fiscal_year_start": "the month a fiscal year starts (1-12), for FY period labels",
    "decimal": "the decimal separator of numbers written as text (. or ,)",
}
_MISS = object()
_MEMO_MAX = 100_000  # parsed values remembered per field
_UNIQUE = {"title", "description", "note"}  # values that rarely repeat: not worth remembering
_SCALARS = frozenset({str, int, float, bool})
# what a record lacking what it needs is refused with (mapping.lacking)
_LACKING = {"title": "{kind} has no title (the mapping's title field is blank or missing)",
            "objective": "key result has no objective: nest it under an objective part or map objective_id",
            "key result and date": "a check-in needs a key result (its parent) and a date (at)"}
_IMMUTABLE = (str, int, float, bool, dt.date, Measure, tf.PeriodLabel)  # parsed values safe to share


# ---------------------------------------------------------------- the connector


class StructuredConnector(Connector):
    """Shared by ``json`` and ``yaml``; they differ in the file suffixes they take."""

    formats: tuple[str, ...] = ()
    capabilities = Capabilities(
        kinds=KINDS, kr_directions=DIRECTIONS, kr_units=UNITS,
        alignment="multi-parent", weights=True, confidence=True, check_ins="history", custom_fields=True,
        deletes=False, incremental=False, writes="snapshot", read_only=KINDS, levels=True,
    )
    option_help = OPTION_HELP
    required_options = ("path", "mapping")

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        check_options(options, self.declared_options(), f"endpoint {endpoint}")
        if not options.get("path"):
            raise ConfigError(f"endpoint {endpoint}: a {self.name} endpoint needs 'path: FILE' (or a folder with 'files:')")
        if not options.get("mapping"):
            raise ConfigError(f"endpoint {endpoint}: a {self.name} endpoint needs 'mapping: FILE.yaml' saying where "
                              "the records are (see docs/mappings.md, 'JSON and YAML files')")
        self.path = self.context.base_dir / Path(options["path"]).expanduser()
        self.mapping = StructuredMapping.load(options["mapping"], self.context.base_dir)
        self.mapping.values = self.mapping.values.with_options(**{k: options.get(k) for k in
                                                                  ("percent_scale", "progress_scale", "date_order",
                                                                   "fiscal_year_start", "decimal")})
        self.files = options.get("files", self.mapping.files)
        self._memo: dict[tuple, tuple[dict, Callable]] = {}  # (kind, field, transform) → (parsed values, converter)
        self.max_bytes = options.get("max_bytes", documents.MAX_BYTES)
        if not isinstance(self.max_bytes, int) or isinstance(self.max_bytes, bool) or self.max_bytes < 1:
            raise ConfigError(f"endpoint {endpoint}: max_bytes is a number of bytes, e.g. 200000000; got {self.max_bytes!r}")
        suffix = documents.format_of(self.path)
        if suffix and suffix not in self.formats:
            other = "yaml" if suffix == "yaml" else "json"
            raise ConfigError(f"endpoint {endpoint}: path {options['path']!r} is not a {self.name} file; use type: {other}")
        if self.files and suffix:
            raise ConfigError(f"endpoint {endpoint}: 'files:' picks files under a folder; make 'path:' that folder")
        # written back only through an invertible mapping (structured_writer); else read-only
        self.read_only = "the endpoint says read_only: true" if options.get("read_only") else \
            structured_writer.why_not(self.mapping, suffix) or ("it is a folder" if not suffix else None)
        if self.read_only is None:
            self.capabilities = dataclasses.replace(type(self).capabilities, read_only=(), deletes=True)

    # ------------------------------------------------------------ files

    def documents(self) -> tuple[list[tuple[Path, dict[str, str]]], int]:
        """The files read, with the parts of their path the pattern captured; and how many
        files under the folder the pattern did not name (ignored)."""
        if self.path.is_file():
            return [(self.path, {})], 0
        if not self.path.is_dir():
            raise FatalError(f"{self.path}: no such file or folder", endpoint=self.endpoint)
        regex = files_regex(self.files) if self.files else None
        found, ignored = [], 0
        for file in sorted(p for p in self.path.rglob("*") if p.is_file()):
            rel = file.relative_to(self.path).as_posix()
            m = regex.fullmatch(rel) if regex else None
            if documents.format_of(file) in self.formats and (m is not None or regex is None):
                found.append((file, m.groupdict() if m else {}))
            elif not rel.startswith("."):
                ignored += 1
        return found, ignored

    def fingerprint(self, files: list[tuple[Path, dict]]) -> str:
        h = hashlib.sha256()
        for path, _ in files:
            st = path.stat()
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        return h.hexdigest()[:32]

    # ------------------------------------------------------------ reading

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        files, ignored = self.documents()
        fingerprint = self.fingerprint(files)
        if cursor == fingerprint:
            yield Cursor(cursor, full_listing=False)
            return
        if ignored:
            yield Note(f"{self.path.name}: {ignored} file(s) the mapping's files pattern {self.files!r} does not name "
                       "were ignored")
        if not files:
            yield Rejected(str(self.path), f"no file matches the files pattern {self.files!r}")
            yield Cursor(None, full_listing=False)
            return
        state = _State()
        for path, captured in files:
            name = path.relative_to(self.path).as_posix() if path != self.path else path.name
            try:
                root = documents.load(path, max_bytes=self.max_bytes)
            except documents.DocumentError as e:
                raise FatalError(str(e), endpoint=self.endpoint) from None
            state.updated = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat().replace("+00:00", "Z")
            doc = Doc(name, root, captured, lines=getattr(root, "numbers", None))
            for bad in (v for v in root if isinstance(v, documents.BadLine)) if doc.lines else ():
                yield Rejected(f"{name}: line {bad.line}, column {bad.column}", f"{bad.reason}; the line is skipped")
            yield from self.read_document(doc, state)
        for part, where in state.unmatched():
            yield Rejected(where, f"the mapping's path {part.path!r} for {part.name} matched nothing; check the key "
                           f"names in {self.mapping.source}")
        yield Cursor(fingerprint, full_listing=True)

    def read_document(self, doc: Doc, state: _State) -> Iterator[Record | Rejected | Note]:
        """Every record of one parsed document, parents before children."""
        top = Frame("", "", doc.root, (), None, 1)
        for part in self.mapping.parts:
            yield from self._read_part(part, top, [], doc, state)

    def _read_part(self, part: Part, parent: Frame, up: list[Frame], doc: Doc, state: _State) -> Iterator:
        nodes = part.query.find(parent.node)
        state.tried(part, lambda: self._where(doc, parent.location), bool(nodes))
        frames = []
        for i, node in enumerate(nodes, 1):
            location = tuple(node.location)
            key = next((s for s in reversed(location) if isinstance(s, str)), None)
            # a part at ``$`` reads its parent's own node: keys the parent read are not its extra,
            # nor are the keys a child part at ``$`` reads
            taken = part.keys | parent.taken if node.value is parent.node else part.keys
            taken |= {k for c in part.children if c.path == "$" for k in c.keys}
            frames.append(Frame(part.name, part.kind, node.value, parent.location + location, key, i,
                                taken=frozenset(taken)))
        if part.rules is not None:
            for frame in frames:
                yield from self._read_text(part, frame, up, doc, state)
            return
        items = [(frame, self._record(part, frame, up, doc, state)) for frame in frames]
        if part.kind == "check_in":  # check-in arrays are often newest first, or unsorted: oldest first
            items.sort(key=lambda item: item[1].fields.get("at") or "" if isinstance(item[1], Record) else "")
        for frame, item in items:
            if isinstance(item, Rejected):
                yield item
                continue
            if item is None:
                continue
            yield from state.add(item)
            frame.ext = item.external_id
            for child in part.children:
                yield from self._read_part(child, frame, [*up, frame], doc, state)

    def _read_text(self, part: Part, frame: Frame, up: list[Frame], doc: Doc, state: _State) -> Iterator:
        """The records of one text through the part's line grammar, in line order; lines
        with links come last, so they may name records further down."""
        where = self._where(doc, frame.location)
        if not isinstance(frame.node, str):
            yield Rejected(where, f"expected text to split into lines (the mapping's grammar), got {_shape(frame.node)}")
            return
        last = {f.kind: f.ext for f in up if f.ext}  # the nearest record of each kind above
        ids: dict[str, set[str]] = {}
        counts: dict[str, int] = {}
        later = []
        for number, rule, groups in line_grammar.split(frame.node, part.rules):
            at = f"{where} line {number}"
            if rule is None:
                yield Rejected(at, f"matches no rule of the grammar ({', '.join(r.name for r in part.rules)}): {groups[:60]!r}")
                continue
            if rule.links and groups.get("links"):
                later.append((at, rule, groups))
                continue
            yield from self._text_record(rule, groups, at, last, ids, counts, state)
        for at, rule, groups in later:
            yield from self._text_record(rule, groups, at, last, ids, counts, state)

    def _text_record(self, rule, groups: dict, at: str, last: dict, ids: dict, counts: dict, state: _State) -> Iterator:
        kind, fields, extra = rule.kind, {}, {}
        refs = REFERENCES.get(kind, {})
        for name, value in groups.items():
            if name not in ("id", "links"):
                rejected = self.convert(kind, name, None, value, fields, extra, lambda: at)
                if rejected:
                    yield rejected
                    return
        links: list[str] = []
        if rule.links and groups.get("links"):
            try:
                named = line_grammar.parse_links(groups["links"])
            except ValueError as e:
                yield Rejected(at, f"links: {e}")
                return
            known = ids.get(rule.links, set())
            links = [line_grammar.resolve(link, known) for link in named]
            missing = [n for n, link in zip(named, links) if link is None]
            if missing:
                yield Rejected(at, f"links to {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} no "
                               f"{rule.links.replace('_', ' ')} of this text")
                return
            relation = line_grammar.RELATIONS[(kind, rule.links)]
            if relation != "alignment":
                fields[relation] = links[0]
                if len(links) > 1:  # the model holds one; the rest must not vanish
                    extra[f"extra.{self.endpoint}.{rule.links}s"] = links
        for ref, target in refs.items():  # a KR belongs to the objective line above it …
            if ref in fields or target == kind or target not in last or (rule.links and kind == "initiative"):
                continue  # … but lines of one kind are siblings, and an initiative's links say what it serves
            fields[ref] = last[target]
        local = groups.get("id")
        if not local:
            counts[kind] = counts.get(kind, 0) + 1
            parent = next((fields[r] for r in refs if fields.get(r)), None)
            local = f"{parent}/{counts[kind]}" if parent else str(counts[kind])
        record = self.finish(kind, local.strip(), fields, extra, at, state)
        if isinstance(record, Rejected):
            yield record
            return
        last[kind] = record.external_id
        ids.setdefault(kind, set()).add(record.external_id)
        yield from state.add(record)
        if rule.links and len(links) > 1 and line_grammar.RELATIONS[(kind, rule.links)] != "alignment":
            yield Note(f"{at}: {kind.replace('_', ' ')} {record.external_id} serves {len(links)} "
                       f"{rule.links.replace('_', ' ')}s ({', '.join(links)}); the model holds one per {kind.replace('_', ' ')} "
                       f"(the first), all are kept in extra.{self.endpoint}.{rule.links}s")
        for parent in links if line_grammar.RELATIONS.get((kind, rule.links)) == "alignment" else ():
            edge = self.finish("alignment", f"{record.external_id}->{parent}",
                               {"child_id": record.external_id, "parent_id": parent}, {}, at, state)
            yield from (state.add(edge) if isinstance(edge, Record) else [edge])

    def _where(self, doc: Doc, location: tuple) -> str:
        if doc.lines and location:
            return f"{doc.name}: line {doc.lines[location[0]]}{documents.pointer(location[1:])}"
        return documents.where(doc.name, location)

    def _record(self, part: Part, frame: Frame, up: list[Frame], doc: Doc, state: _State) -> Record | Rejected | None:
        kind, node = part.kind, frame.node
        where = self._where(doc, frame.location)
        if isinstance(node, documents.BadLine):
            return None  # reported once per file, whichever path would have matched it
        needs_object = any(k for k in part.keys)
        if needs_object and not isinstance(node, dict):
            return Rejected(where, f"expected an object (the mapping reads keys {', '.join(sorted(part.keys))}), "
                            f"got {_shape(node)}; the record is skipped")
        fields: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, (source, transform) in part.fields.items():
            value, loc = source(frame, up, doc)
            if blank(value):
                continue
            converted = self.convert(kind, name, transform, value, fields, extra,
                                     lambda loc=loc: self._where(doc, loc) if loc is not None else where)
            if converted is not None:
                return converted
        if part.extra and isinstance(node, dict):
            children = {c.path for c in part.children}
            for key, value in node.items():
                if key not in frame.taken and not any(first_key(p) == key for p in children):
                    extra[f"extra.{self.endpoint}.{key}"] = value
        for name in [n for n in fields if n.endswith("_id")]:
            fields[name] = id_text(fields[name])
        ext = self._external_id(part, frame, up, doc, fields)
        if isinstance(ext, Rejected):
            return ext
        self._fill_references(kind, fields, up)
        return self.finish(kind, ext, fields, extra, where, state)

    def convert(self, kind: str, name: str, transform: str | None, value: Any, fields: dict, extra: dict,
                at: Callable[[], str]) -> Rejected | None:
        """One raw value through the spreadsheet transforms into ``fields`` (or, for a
        field the model lacks, as it is into ``extra``). A value that does not convert is kept
        as text in ``extra`` with the reason and its JSON pointer (``unparsed.keep``), unless it
        identifies or places the record or the mapping says ``strict_values``: then a Rejected
        located at ``at()``
        (made only then: building pointers for every value showed on 50,000-KR files)."""
        if name not in MODEL_FIELDS[kind]:
            extra[f"extra.{self.endpoint}.{name}"] = value
            return None
        key = (kind, name, transform)
        memo = self._memo.get(key)
        if memo is None:  # once per field: resolving the transform per value is most of a read
            memo = self._memo[key] = ({}, self.mapping.values.converter(kind, name, transform))
        seen, converter = memo
        cacheable = name not in _UNIQUE and value.__class__ in _SCALARS
        parsed = seen.get((value.__class__, value), _MISS) if cacheable else _MISS
        if parsed is _MISS:
            try:
                # a period may be a list of parts; a KR's levels are a list of names or {name, description}
                if isinstance(value, (dict, list)) and not (name in ("period", "levels") and isinstance(value, list)):
                    raise tf.TransformError(f"expected a single value, got {_shape(value)}")
                parsed = _period(value, self.mapping.values, converter) if name == "period" else converter(value)
            except tf.TransformError as e:
                # tolerant values (okrsync/unparsed.py): only what identifies or places a record rejects it
                if self.mapping.values.strict_values or unparsed.rejects(name):
                    return Rejected(at(), f"{name}: {e}")
                kept = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                unparsed.keep(extra, self.endpoint, name, kept, f"at {at()}: {e}")
                return None
            # statuses, owners, periods, dates repeat record after record: parse each once
            if cacheable and len(seen) < _MEMO_MAX and isinstance(parsed, _IMMUTABLE):
                seen[(value.__class__, value)] = parsed
        if parsed is not None:
            fields[name] = parsed
        return None

    def finish(self, kind: str, ext: str, fields: dict, extra: dict, where: str, state: _State) -> Record | Rejected:
        """Converted fields (references filled) → a checked record, or why it is rejected."""
        gap = lacking(kind, fields)
        if gap:
            return Rejected(where, _LACKING[gap].format(kind=kind.replace("_", " ")))
        if kind == "key_result":
            settle_key_result(fields)
        settle_record(fields, extra, self.endpoint)
        try:
            entity = ENTITY_TYPES[kind](id=ext, extra=nest_extra(extra), **fields)
        except TypeError as e:
            return Rejected(where, f"cannot build a {kind}: {e}")
        found = problems(entity)
        errors = [p for p in found if p.severity == "error"]
        if errors:
            return Rejected(where, "; ".join(f"{p.field}: {p.message}" for p in errors))
        if found:  # kept with the record: siblings are all made before any is yielded
            state.warnings[(kind, ext)] = [Note(f"{where}: {p}") for p in found]
        return Record(kind, ext, to_fields(entity), where=where, updated=state.updated)

    def _external_id(self, part: Part, frame: Frame, up: list[Frame], doc: Doc, fields: dict) -> str | Rejected:
        """From the id source, else the position; scoped under the parent's id when asked
        (and always for positions, which repeat under every parent)."""
        value = part.id(frame, up, doc)[0] if part.id else None
        ext = id_text(value)
        if part.id and ext is None:
            return Rejected(self._where(doc, frame.location), f"{part.kind.replace('_', ' ')} has no id "
                            f"(the mapping's id is blank{' or not text' if value is not None else ''} here)")
        scoped = part.scope == "parent" or ext is None
        if ext is None:
            ext = str(frame.position)
        if scoped and up and up[-1].ext:
            ext = f"{up[-1].ext}/{ext}"
        return ext

    @staticmethod
    def _fill_references(kind: str, fields: dict[str, Any], up: list[Frame]) -> None:
        """A child points at its nearest ancestor of each kind it refers to (a KR at its
        objective, a nested objective at its parent objective)."""
        for ref, target in REFERENCES.get(kind, {}).items():
            if fields.get(ref):
                continue
            for frame in reversed(up):
                if frame.kind == target and frame.ext:
                    fields[ref] = frame.ext
                    break

    def write(self, batch: WriteBatch) -> WriteResult:
        """Rewrite the file in its own shape (``structured_writer``); only when the mapping
        is invertible; the hub plans no push to a read-only endpoint."""
        if self.read_only:
            raise FatalError(f"{self.path.name} is read-only ({self.read_only})", endpoint=self.endpoint)
        result = structured_writer.write(self, batch)
        result.cursor = self.fingerprint(self.documents()[0])
        return result

    def fields(self, kind: str) -> set[str] | None:
        """The fields the mapping reads for ``kind`` (with references, and a KR's unit,
        direction and currency, which its values imply). A pull keeps only these, so a
        field the file does not have never blanks another endpoint's value. Whether the
        hub may push here is said by ``capabilities.read_only``, not by this."""
        names: set[str] = set()
        found = False  # whether the mapping reads records of this kind at all
        for part in self.mapping.all_parts():
            for rule in part.rules or ():
                if rule.kind == kind:
                    found, names = True, names | set(rule.regex.groupindex)
                if kind == "alignment" and line_grammar.RELATIONS.get((rule.kind, rule.links)) == "alignment":
                    found, names = True, names | {"type", "primary"}
            if part.rules is None and part.kind == kind:
                found, names = True, names | set(part.fields)
        if not found:
            return set()
        if kind == "key_result" and names & {"start", "current", "target", "range_low", "range_high"}:
            names |= {"unit", "direction", "currency"}
        return (names & MODEL_FIELDS[kind]) - {"id"} | set(REFERENCES.get(kind, {})) | {f"extra.{self.endpoint}"}


def _period(value: Any, values: Mapping, converter: Callable) -> Any:
    """A period as the mapping reads it ("Q3 2026"), or a month range ("Jul–Sep 2026"), or a
    two-date list ``["2026-07-01", "2026-09-30"]``: the calendar period it spans exactly."""
    if not isinstance(value, list):
        try:
            return converter(value)
        except tf.TransformError as first:
            label = tf.parse_month_range(value)  # raises for a range that is no quarter, half or year
            if label is None:
                raise first from None
            return label
    order = values.options.get("date_order", "ymd")
    if len(value) != 2:
        raise tf.TransformError(f"expected a period or a [start, end] pair of dates, got {len(value)} values")
    start, end = (tf.parse_date(v, order=order) for v in value)
    label = tf.period_for_dates(start, end) if start and end else None
    if label is None:
        raise tf.TransformError(f"{value[0]} – {value[1]} is not a calendar quarter, half or year")
    return label


def _shape(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


@dataclass
class _State:
    """What a read remembers across records and files."""

    seen: dict[tuple[str, str], tuple[dict, str]] = field(default_factory=dict)
    matched: dict[str, tuple[Part, str | None]] = field(default_factory=dict)  # part → (part, first place it found nothing)
    warnings: dict[tuple[str, str], list[Note]] = field(default_factory=dict)  # (kind, id) → its warnings
    updated: str | None = None

    def tried(self, part: Part, where: Callable[[], str], found: bool) -> None:
        got = self.matched.get(part.name)
        if found:
            self.matched[part.name] = (part, None)
        elif got is None:
            self.matched[part.name] = (part, where())

    def unmatched(self) -> list[tuple[Part, str]]:
        """Parts whose path found nothing anywhere, with the first place looked at."""
        return [(part, where) for part, where in self.matched.values() if where is not None]

    def add(self, record: Record) -> Iterator[Record | Rejected | Note]:
        """The record once: the same id again with the same values is the same record (an
        objective named by the folder of each of its KR files); with other values, an error."""
        key = (record.kind, record.external_id)
        first = self.seen.get(key)
        if first is not None:
            if first[0] != record.fields:
                yield Rejected(record.where, f"{record.kind.replace('_', ' ')} id {record.external_id!r} is also at "
                               f"{first[1]} with other values; ids must be unique (scope: parent makes them unique "
                               "under each parent)")
            return
        self.seen[key] = (record.fields, record.where)
        yield from self.warnings.pop(key, [])
        yield record


class JsonConnector(StructuredConnector):
    name = "json"
    description = "JSON or JSON Lines files of any shape, read through a mapping (read-only)"
    formats = ("json", "jsonl")


class YamlConnector(StructuredConnector):
    name = "yaml"
    description = "YAML files of any shape, read through a mapping (safe loader, read-only)"
    formats = ("yaml",)
