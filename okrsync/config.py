"""Reading ``okrsync.yaml``: endpoints, store, sync policy, with errors that say where.

Secrets are never written in the file itself: a value ``{"$env": "NAME"}`` is read from
the environment and ``{"$file": "path"}`` from a file, when the config is loaded (the
Datasette convention). Resolved secrets live only in memory.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

DEFAULT_PATH = "okrsync.yaml"
TOP_LEVEL_KEYS = ("store", "endpoints", "sync", "notify")


class _Loader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key (for error messages)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> "LineDict":
    mapping = LineDict(loader.construct_mapping(node, deep=True))
    for key_node, _ in node.value:
        # keyed like the dict itself: ``2025:`` is the int 2025, not the text "2025"
        key = loader.construct_object(key_node, deep=True)
        if key in mapping.lines:  # YAML would keep the last silently: a lost endpoint
            raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r} (first on line {mapping.lines[key]})",
                                       problem_mark=key_node.start_mark)
        mapping.lines[key] = key_node.start_mark.line + 1
    mapping.line = node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class LineDict(dict):
    """A dict that knows the line of each key in its YAML file."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.lines: dict[str, int] = {}
        self.line = 0


def load_yaml(path: Path) -> Any:
    """Parse a YAML file safely; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (create one with `okrsync init`)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(f"{path}: {where}: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None


def where(path: Path, mapping: Any, key: str) -> str:
    """``file: line N: key`` for messages."""
    line = mapping.lines.get(key) if isinstance(mapping, LineDict) else None
    return f"{path}: line {line}: {key}" if line else f"{path}: {key}"


def resolve_secrets(value: Any, path: Path, base_dir: Path, key: str = "") -> Any:
    """Replace ``{"$env": NAME}`` and ``{"$file": PATH}`` values, recursively."""
    if isinstance(value, dict):
        if set(value) == {"$env"}:
            name = value["$env"]
            if name not in os.environ:
                raise ConfigError(f"{where(path, value, '$env')}: environment variable {name} is not set ({key} needs it)")
            return os.environ[name]
        if set(value) == {"$file"}:
            secret_path = base_dir / os.path.expanduser(str(value["$file"]))
            try:
                return secret_path.read_text(encoding="utf-8").strip()
            except OSError as e:
                raise ConfigError(f"{where(path, value, '$file')}: cannot read secret file {secret_path}: {e.strerror}") from None
        out = LineDict({k: resolve_secrets(v, path, base_dir, k) for k, v in value.items()})
        if isinstance(value, LineDict):
            out.lines, out.line = value.lines, value.line
        return out
    if isinstance(value, list):
        return [resolve_secrets(v, path, base_dir, key) for v in value]
    return value


@dataclass
class Endpoint:
    """One configured connector instance."""

    name: str
    type: str
    options: dict[str, Any]
    where: str  # "okrsync.yaml: line 7: endpoints.finance-sheet"


@dataclass
class Config:
    path: Path
    store: Path
    endpoints: dict[str, Endpoint]
    sync: dict[str, Any] = field(default_factory=dict)
    notify: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, base_dir: Path, endpoints: dict[str, dict[str, Any]], sync: dict[str, Any] | None = None,
           store: str = "okrsync.db") -> Config:
        """A config built in code (tests, embedding): ``{name: {"type": …, **options}}``."""
        path = Path(base_dir) / DEFAULT_PATH
        made = {name: Endpoint(name, opts["type"], {k: v for k, v in opts.items() if k != "type"}, f"{path}: endpoints.{name}")
                for name, opts in endpoints.items()}
        return cls(path=path, store=Path(base_dir) / store, endpoints=made, sync=sync or {})

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def endpoint(self, name: str) -> Endpoint:
        if name not in self.endpoints:
            hint = difflib.get_close_matches(name, self.endpoints, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            known = ", ".join(self.endpoints) or "none"
            raise ConfigError(f"{self.path}: no endpoint named {name!r}{suggestion} (configured: {known})")
        return self.endpoints[name]


def load(path: str | os.PathLike | None = None, connector_names: set[str] | None = None) -> Config:
    """Load and check a config file. ``connector_names`` lets it reject unknown types."""
    path = Path(path or os.environ.get("OKRSYNC_CONFIG") or DEFAULT_PATH)
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping with an 'endpoints' key")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            hint = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1)
            raise ConfigError(f"{where(path, raw, key)}: unknown key" + (f"; did you mean {hint[0]!r}?" if hint else
                              f"; expected one of {', '.join(TOP_LEVEL_KEYS)}"))
    base_dir = path.parent
    endpoints_raw = raw.get("endpoints")
    if not isinstance(endpoints_raw, dict) or not endpoints_raw:
        raise ConfigError(f"{where(path, raw, 'endpoints')}: needs at least one endpoint, e.g.\n"
                          "endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv")
    endpoints = {}
    for name, section in endpoints_raw.items():
        loc = where(path, endpoints_raw, name)
        if not isinstance(section, dict):
            raise ConfigError(f"{loc}: an endpoint is a mapping with at least a 'type'")
        type_ = section.get("type")
        if not type_:
            raise ConfigError(f"{loc}: missing 'type' (one of: {', '.join(sorted(connector_names or [])) or 'see okrsync connectors'})")
        if not isinstance(type_, str):
            raise ConfigError(f"{where(path, section, 'type')}: the type is a connector name, e.g. type: csv")
        if connector_names is not None and type_ not in connector_names:
            hint = difflib.get_close_matches(str(type_), connector_names, n=1)
            raise ConfigError(f"{where(path, section, 'type')}: unknown connector type {type_!r}"
                              + (f"; did you mean {hint[0]!r}?" if hint else f"; installed: {', '.join(sorted(connector_names))}"))
        options = resolve_secrets(section, path, base_dir, str(name))
        options.pop("type")
        endpoints[str(name)] = Endpoint(str(name), type_, options, f"{path}: endpoints.{name}")
    store = raw.get("store", "okrsync.db")
    if not isinstance(store, str):
        raise ConfigError(f"{where(path, raw, 'store')}: the store is a file path, e.g. store: okrsync.db")
    sync = raw.get("sync") or {}
    if not isinstance(sync, dict):
        raise ConfigError(f"{where(path, raw, 'sync')}: must be a mapping")
    order = sync.get("order") or []
    if not isinstance(order, list):
        raise ConfigError(f"{where(path, sync, 'order')}: must be a list of endpoint names, e.g. order: [{next(iter(endpoints))}]")
    for name in order:
        if name not in endpoints:
            raise ConfigError(f"{where(path, sync, 'order')}: unknown endpoint {name!r}")
    return Config(path=path, store=base_dir / os.path.expanduser(store), endpoints=endpoints, sync=sync,
                  notify=raw.get("notify") or {})
