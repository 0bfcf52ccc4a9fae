"""Small pieces every API connector's set-up shares: option names checked with a
did-you-mean, and a mapping override that may be a file of the user's own."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Iterable

from okrsync.config import load_yaml
from okrsync.errors import ConfigError


def check_options(options: dict[str, Any], known: Iterable[str], where: str) -> None:
    """ConfigError for the first option not in ``known``, suggesting the nearest name."""
    known = list(known)
    for key in options:
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            raise ConfigError(f"{where}: unknown option {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))


def read_overrides(overrides: Any, base_dir: Path, where: str) -> tuple[dict[str, Any], str]:
    """An endpoint's ``mapping:`` section, or the YAML file it names (relative to the config),
    and where it came from, for messages."""
    if isinstance(overrides, str):  # a file of the user's own
        path = base_dir / overrides
        overrides = load_yaml(path) or {}
        overrides.pop("extends", None)
        where = str(path)
    return overrides or {}, where
