"""Helpers the vendor connectors share. Shipped vendor mappings (``mappings/<name>.yaml``) merged with an endpoint's overrides.

``load_mapping("tability", overrides, base_dir, where)`` returns the shipped YAML with the
endpoint's ``mapping:`` section (a dict, or a YAML file named relative to the config) laid
over it; an unknown key is a MappingError with a did-you-mean. The merge itself is the
Jira mapping's, so every vendor mapping behaves alike.
"""

from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from okrsync.config import load_yaml
from okrsync.errors import ConfigError

from .jira_fields import _merge


def load_mapping(name: str, overrides: Any, base_dir: Path, where: str) -> dict[str, Any]:
    with resources.as_file(resources.files("okrsync.mappings") / f"{name}.yaml") as path:
        defaults = load_yaml(path)
    if isinstance(overrides, str):  # a file of the user's own
        path = base_dir / overrides
        overrides = load_yaml(path) or {}
        where = str(path)
    return _merge(defaults, overrides or {}, where)


def check_options(options: dict[str, Any], allowed: set[str], where: str) -> None:
    """An unknown option is a ConfigError naming it, with a did-you-mean."""
    for key in options:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            raise ConfigError(f"{where}: unknown option {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else
                              f"; the options are {', '.join(sorted(allowed))}"))


def parallel(fn: Callable[[Any], Any], items: Iterable[Any], workers: int) -> list[Any]:
    """``fn`` over ``items`` in order, on up to ``workers`` threads (inline for one item)."""
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
