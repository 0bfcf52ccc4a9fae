"""Reading JSON, YAML and JSON Lines data files safely, with errors that say where.

- ``load(path)`` picks the format by suffix (.json, .yaml/.yml, .jsonl/.ndjson) and returns
  the parsed document; a malformed file raises ``DocumentError`` naming the line and
  column. JSON Lines give a list with one item per line; a bad line is returned as a
  ``BadLine`` in its place, so one broken line does not hide the others.
- YAML goes through PyYAML's *safe* loader only (no Python tags, no code), and the node
  graph is checked before anything is built: its depth, and its size with every alias
  expanded, are limited, so a billion-laughs file fails fast instead of filling memory
  when the records are walked. Recursive aliases are refused.
- ``pointer(location)`` writes a location (keys and indices) as an RFC 6901 JSON Pointer.

Nothing here touches the network: a document is one local file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import OkrsyncError

MAX_BYTES = 64 * 1024 * 1024  # a data file larger than this is refused before it is read
MAX_DEPTH = 64  # nesting deeper than any OKR file needs, shallow enough for the stack
MAX_NODES = 5_000_000  # YAML nodes once aliases are expanded (billion laughs: ~10⁹)
SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class DocumentError(OkrsyncError):
    """A data file cannot be read: missing, too large, malformed (with line and column).

    Connectors turn it into a ``FatalError`` of their endpoint; reaching the CLI directly
    (``okrsync validate``) it is bad input, exit 2.
    """

    exit_code = 2


@dataclass(frozen=True)
class BadLine:
    """A JSON Lines line that does not parse; it stands in the list where its record was."""

    line: int
    column: int
    reason: str


def format_of(path: Path) -> str | None:
    return SUFFIXES.get(path.suffix.lower())


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text (UTF-8, a BOM allowed); size checked before reading."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit for data files "
                                "(set max_bytes on the endpoint to allow it)")
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise DocumentError(f"{path}: file not found") from None
    except UnicodeDecodeError as e:
        raise DocumentError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise DocumentError(f"{path}: cannot read: {e.strerror}") from None


def load(path: Path, fmt: str | None = None, *, max_bytes: int = MAX_BYTES) -> Any:
    """Parse one data file; ``fmt`` (json, yaml, jsonl) defaults to the suffix's format."""
    fmt = fmt or format_of(path)
    text = read_text(path, max_bytes)
    if fmt == "json":
        return parse_json(text, path.name)
    if fmt == "yaml":
        return parse_yaml(text, path.name)
    if fmt == "jsonl":
        return parse_jsonl(text)
    raise DocumentError(f"{path}: not a JSON, YAML or JSON Lines file ({', '.join(SUFFIXES)})")


def parse_json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DocumentError(f"{name}: line {e.lineno}, column {e.colno}: malformed JSON: {e.msg}") from None
    except RecursionError:
        raise DocumentError(f"{name}: nested too deeply to read") from None


class Lines(list):
    """The values of a JSON Lines file; ``numbers[i]`` is the line item i came from."""

    numbers: list[int]


def parse_jsonl(text: str) -> Lines:
    """One value per non-blank line; a line that does not parse becomes a ``BadLine``."""
    out = Lines()
    out.numbers = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            out.append(BadLine(number, e.colno, f"malformed JSON: {e.msg}"))
        out.numbers.append(number)
    return out


class _SafeLoader(yaml.SafeLoader):
    """The safe loader, with timestamps left as text (dates are read by the mapping's
    transforms like any other value, with the same rules as spreadsheets)."""


_SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str, name: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, name, max_depth, max_nodes)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark, start = e.problem_mark or e.context_mark, e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = (f" ({e.context} that starts at line {start.line + 1}, column {start.column + 1})"
                   if e.context and start and start is not mark else "")
        raise DocumentError(f"{name}: {where}malformed YAML: {e.problem or e.context or e}{context}") from None
    except yaml.YAMLError as e:
        raise DocumentError(f"{name}: malformed YAML: {e}") from None
    finally:
        loader.dispose()


def _check_graph(root: yaml.Node, name: str, max_depth: int, max_nodes: int) -> None:
    """Depth and expanded size of a YAML node graph, without expanding it.

    An alias is the same node object reached twice, so each node's expanded size is
    computed once and reused: a billion-laughs file costs a few dozen steps here and is
    refused, where walking its built lists would take 10⁹ steps.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > max_nodes:
                line = node.start_mark.line + 1
                raise DocumentError(f"{name}: line {line}: aliases expand to over {max_nodes:,} values "
                                    "(a 'billion laughs' file?); refused")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise DocumentError(f"{name}: line {node.start_mark.line + 1}: an alias refers to a value that holds it; "
                                "recursive YAML is refused")
        if depth > max_depth:
            raise DocumentError(f"{name}: line {node.start_mark.line + 1}: nested deeper than {max_depth} levels; refused")
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) in on_path:
                raise DocumentError(f"{name}: line {child.start_mark.line + 1}: an alias refers to a value that "
                                    "holds it; recursive YAML is refused")
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> Iterable[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return ()


def write_atomic(path: Path, text: str) -> None:
    """Replace a file whole: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pointer(location: Iterable[str | int]) -> str:
    """RFC 6901: ("objectives", 2, "a/b") → "/objectives/2/a~1b"; () → "" (the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in location)


def where(name: str, location: Iterable[str | int]) -> str:
    """``okrs.json: /objectives/2/key_results/0/target`` for messages."""
    return f"{name}: {pointer(location) or '/'}"
