"""Small pieces the OKR SaaS connectors (Perdoo, Quantive) share: option checks, the
shipped mapping merged with the user's overrides, and a bearer-token ``httpx.Auth``."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Any

from okrsync.config import load_yaml
from okrsync.errors import ConfigError

from .jira import _Bearer
from .jira_fields import _merge


def check_options(options: dict[str, Any], allowed: set[str], required: tuple[str, ...], where: str,
                  example: str) -> None:
    """Unknown keys (with a did-you-mean) and missing required ones are ConfigErrors."""
    for key in options:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            raise ConfigError(f"{where}: unknown option {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
    for key in required:
        if options.get(key) in (None, ""):
            raise ConfigError(f"{where}: needs '{key}:' ({example})")


def load_mapping(name: str, overrides: Any, base_dir: Path, where: str) -> dict[str, Any]:
    """``mappings/<name>.yaml`` with the endpoint's ``mapping:`` section (or a YAML file it
    names) merged over it; unknown keys are MappingErrors naming where they are."""
    with resources.as_file(resources.files("okrsync.mappings") / f"{name}.yaml") as path:
        defaults = load_yaml(path)
    if isinstance(overrides, str):
        path = base_dir / overrides
        overrides, where = load_yaml(path) or {}, str(path)
    return _merge(defaults, overrides or {}, where)


def bearer(token: Any, where: str) -> _Bearer:
    """``Authorization: Bearer <token>``; the token never appears in a repr or message."""
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(f"{where}: token: give the API token, e.g. token: {{$env: NAME}} (never the value itself)")
    return _Bearer(token.strip())
