"""Reading ``okrsync.yaml``: endpoints, store, sync policy, with errors that say where.

Secrets are never written in the file itself: a value ``{"$env": "NAME"}`` is read from
the environment and ``{"$file": "path"}`` from a file (the Datasette convention), when an
endpoint's ``options`` are first used: a secret one endpoint lacks stops only the commands
that use that endpoint. Resolved secrets live only in memory, and ``read_secret`` is the
one place they are read: it registers each with the log redaction (``okrsync.logs``).

Given the installed connector classes, ``load`` checks each endpoint's keys against what
its connector declares (``Connector.option_help``): an unknown key is a ConfigError with
the file, the line, the endpoint and a did-you-mean, before any connector is built.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .connector import Connector
from .errors import ConfigError, did_you_mean
from .logs import REDACTOR, SENSITIVE

DEFAULT_PATH = "okrsync.yaml"
TOP_LEVEL_KEYS = ("store", "endpoints", "sync", "notify")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that remembers the line of every mapping key (for error messages); LibYAML's
    parser where PyYAML has it (the wheels do): a run loads its config and a mapping or two,
    and the pure-Python parser spent ~60 ms of every command on them."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
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


def without(mapping: dict[str, Any], key: str) -> LineDict:
    """A copy of ``mapping`` without ``key``, keeping a ``LineDict``'s lines."""
    out = LineDict({k: v for k, v in mapping.items() if k != key})
    if isinstance(mapping, LineDict):
        out.lines, out.line = mapping.lines, mapping.line
    return out


def load_yaml(path: Path) -> Any:
    """Parse a YAML file safely; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (create one with `okrsync init`)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
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


def read_secret(ref: dict[str, Any], path: Path, base_dir: Path, key: str = "") -> str | None:
    """The value a ``{"$env": NAME}`` or ``{"$file": PATH}`` reference names (None for any
    other dict), registered with the log redaction (``okrsync.logs.REDACTOR``) before it is
    returned: this is the one place okrsync reads a secret, so whatever it reads is masked in
    every log line, summary and report. A ConfigError (file, line, what to do) if it is missing."""
    if set(ref) == {"$env"}:
        name = ref["$env"]
        if name not in os.environ:
            raise ConfigError(f"{where(path, ref, '$env')}: environment variable {name} is not set ({key} needs it; "
                              "export it, or leave this endpoint out of the command)")
        value = os.environ[name]
    elif set(ref) == {"$file"}:
        secret_path = base_dir / os.path.expanduser(str(ref["$file"]))
        try:
            value = secret_path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"{where(path, ref, '$file')}: cannot read secret file {secret_path}: {reason}") from None
    else:
        return None
    REDACTOR.add(_secret_parts(value))
    return value


def _secret_parts(value: str) -> list[str]:
    """A secret and the secrets inside it: a service-account JSON's private key may show up alone."""
    parts = [value]
    try:
        inner = json.loads(value)
    except ValueError:
        return parts
    parts.extend(_plain_secrets(inner))
    return parts


def _plain_secrets(value: Any, key: str = "") -> list[str]:
    """Strings written under keys that name secrets (``token``, ``password``, ``private_key`` …)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _plain_secrets(v, str(k))]
    if isinstance(value, list):
        return [s for v in value for s in _plain_secrets(v, key)]
    return [value] if isinstance(value, str) and value and SENSITIVE.search(key) else []


def resolve_secrets(value: Any, path: Path, base_dir: Path, key: str = "") -> Any:
    """Replace ``{"$env": NAME}`` and ``{"$file": PATH}`` values, recursively (through
    ``read_secret``); ``key`` is the dotted path of ``value`` in the file, for messages."""
    if isinstance(value, dict):
        secret = read_secret(value, path, base_dir, key)
        if secret is not None:
            return secret
        out = LineDict({k: resolve_secrets(v, path, base_dir, f"{key}.{k}" if key else str(k)) for k, v in value.items()})
        if isinstance(value, LineDict):
            out.lines, out.line = value.lines, value.line
        return out
    if isinstance(value, list):
        return [resolve_secrets(v, path, base_dir, key) for v in value]
    return value


def collect_secrets(path: str | os.PathLike | None) -> list[str]:
    """Every secret the config at ``path`` names, read through ``read_secret`` (so each is
    registered with the log redaction), plus plain values under secret-like keys (a secret
    written into the file itself, which the docs say not to do). A run calls it first, so the
    secrets of endpoints it does not use are masked too; what cannot be read is skipped here
    (the run itself reports it)."""
    path = Path(path or os.environ.get("OKRSYNC_CONFIG") or DEFAULT_PATH)
    try:
        raw = load_yaml(path)
    except Exception:  # the run reports a broken config itself
        return []
    found: list[str] = []
    plain: list[str] = []  # read_secret registers what it reads; these only are left to register

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            try:
                secret = read_secret(value, path, path.parent, key)
            except ConfigError:
                return
            if secret is not None:
                found.extend(_secret_parts(secret))
                return
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value and SENSITIVE.search(key):
            plain.extend(_secret_parts(value))

    walk(raw, "")
    REDACTOR.add(plain)
    return found + plain


def option_problems(options: dict[str, Any], known: Iterable[str], where: str, required: Iterable[str] = (),
                    example: str = "") -> list[str]:
    """A message for each key of ``options`` not in ``known`` (with a did-you-mean, or the
    list of options) and each ``required`` one missing or empty, explained by ``example`` or
    else by its help when ``known`` is a {name: help} declaration. ``where`` starts each
    message (the file and endpoint, or "endpoint NAME"); a ``LineDict`` adds the key's line."""
    helps = known if isinstance(known, dict) else {}
    known = sorted(known)
    problems = []
    for key in options:
        if key not in known:
            line = options.lines.get(key) if isinstance(options, LineDict) else None
            problems.append(f"{where}{f': line {line}' if line else ''}: unknown option {key!r}"
                            + did_you_mean(key, known, "the options are"))
    for key in required:
        if options.get(key) in (None, ""):
            explained = example or (f"{key}: {helps[key]}" if key in helps else "")
            problems.append(f"{where}: needs '{key}:'" + (f" ({explained})" if explained else ""))
    return problems


def check_options(options: dict[str, Any], known: Iterable[str], where: str, required: Iterable[str] = (),
                  example: str = "") -> None:
    """ConfigError for the first of ``option_problems``."""
    problems = option_problems(options, known, where, required, example)
    if problems:
        raise ConfigError(problems[0])


def endpoint_problems(cls: type[Connector], section: dict[str, Any], where: str) -> list[str]:
    """``option_problems`` of an endpoint's section (``type`` aside) against what its
    connector declares; none for a connector that declares nothing."""
    declared = cls.declared_options()
    if declared is None:
        return []
    return option_problems(without(section, "type"), declared, where, cls.required_options)


@dataclass
class Endpoint:
    """One configured connector instance.

    ``section`` holds the options as written (``$env``/``$file`` references unresolved);
    ``options`` resolves them the first time it is read (and keeps the result), so a
    secret missing for one endpoint fails only what uses that endpoint, with the file and
    line of the reference. Read ``section`` for options that are never secrets.
    """

    name: str
    type: str
    section: dict[str, Any]
    where: str  # "okrsync.yaml: line 7: endpoints.finance-sheet"
    path: Path | None = None  # the config file: secrets' paths are relative to it
    _options: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def options(self) -> dict[str, Any]:
        """The endpoint's options with secrets resolved (a ConfigError if one is missing)."""
        if self._options is None:
            path = self.path or Path(DEFAULT_PATH)
            self._options = resolve_secrets(self.section, path, path.parent, f"endpoints.{self.name}")
        return self._options


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
        made = {name: Endpoint(name, opts["type"], {k: v for k, v in opts.items() if k != "type"}, f"{path}: endpoints.{name}",
                               path)
                for name, opts in endpoints.items()}
        return cls(path=path, store=Path(base_dir) / store, endpoints=made, sync=sync or {})

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def endpoint(self, name: str) -> Endpoint:
        if name not in self.endpoints:
            suggestion = did_you_mean(name, self.endpoints, "")
            known = ", ".join(self.endpoints) or "none"
            raise ConfigError(f"{self.path}: no endpoint named {name!r}{suggestion} (configured: {known})")
        return self.endpoints[name]


def load(path: str | os.PathLike | None = None,
         connector_names: set[str] | Mapping[str, type[Connector]] | None = None) -> Config:
    """Load and check a config file. ``connector_names`` lets it reject unknown types; given
    as {name: connector class}, unknown options too (``endpoint_problems``)."""
    path = Path(path or os.environ.get("OKRSYNC_CONFIG") or DEFAULT_PATH)
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping with an 'endpoints' key")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"{where(path, raw, key)}: unknown key" + did_you_mean(key, TOP_LEVEL_KEYS))
    endpoints_raw = raw.get("endpoints")
    if not isinstance(endpoints_raw, dict) or not endpoints_raw:
        raise ConfigError(f"{where(path, raw, 'endpoints')}: needs at least one endpoint, e.g.\n"
                          "endpoints:\n  sheet:\n    type: csv\n    path: okrs.csv")
    endpoints = {str(name): _endpoint(path, endpoints_raw, name, connector_names) for name in endpoints_raw}
    store = raw.get("store", "okrsync.db")
    if not isinstance(store, str):
        raise ConfigError(f"{where(path, raw, 'store')}: the store is a file path, e.g. store: okrsync.db")
    return Config(path=path, store=path.parent / os.path.expanduser(store), endpoints=endpoints,
                  sync=_sync_section(path, raw, endpoints), notify=raw.get("notify") or {})


def _endpoint(path: Path, endpoints_raw: dict[str, Any], name: str,
              connector_names: set[str] | Mapping[str, type[Connector]] | None) -> Endpoint:
    """One endpoint's section, checked: a mapping, a known connector type, known options."""
    loc = where(path, endpoints_raw, name)
    section = endpoints_raw[name]
    if not isinstance(section, dict):
        raise ConfigError(f"{loc}: an endpoint is a mapping with at least a 'type'")
    type_ = section.get("type")
    if not type_:
        raise ConfigError(f"{loc}: missing 'type' (one of: {', '.join(sorted(connector_names or [])) or 'see okrsync connectors'})")
    if not isinstance(type_, str):
        raise ConfigError(f"{where(path, section, 'type')}: the type is a connector name, e.g. type: csv")
    if connector_names is not None and type_ not in connector_names:
        raise ConfigError(f"{where(path, section, 'type')}: unknown connector type {type_!r}"
                          + did_you_mean(type_, sorted(connector_names), "installed:"))
    if isinstance(connector_names, Mapping):
        problems = endpoint_problems(connector_names[type_], section, f"{path}: endpoints.{name}")
        if problems:
            raise ConfigError("\n".join(problems))
    return Endpoint(str(name), type_, without(section, "type"), f"{path}: endpoints.{name}", path)


def _sync_section(path: Path, raw: dict[str, Any], endpoints: dict[str, Endpoint]) -> dict[str, Any]:
    """The ``sync:`` section, checked: a mapping whose ``order`` names configured endpoints."""
    sync = raw.get("sync") or {}
    if not isinstance(sync, dict):
        raise ConfigError(f"{where(path, raw, 'sync')}: must be a mapping")
    order = sync.get("order") or []
    if not isinstance(order, list):
        raise ConfigError(f"{where(path, sync, 'order')}: must be a list of endpoint names, e.g. order: [{next(iter(endpoints))}]")
    for name in order:
        if name not in endpoints:
            raise ConfigError(f"{where(path, sync, 'order')}: unknown endpoint {name!r}")
    return sync
