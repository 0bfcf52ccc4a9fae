"""Every hook okrsync calls. The docstring of each is its contract.

Plugins implement hooks with ``from okrsync import hookimpl``. Built-in connectors in
``okrsync.connectors`` use exactly these hooks, as a third-party package does through the
entry-point group ``okrsync``.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("okrsync")
hookimpl = pluggy.HookimplMarker("okrsync")


@hookspec
def register_connectors(register: Callable[..., None]) -> None:
    """Register connector classes by calling ``register(ConnectorClass)``.

    Called once, when the plugin manager first loads. ``ConnectorClass`` is a subclass of
    ``okrsync.Connector`` whose ``name`` is unique across all installed plugins: a second
    connector with the same name stops okrsync at start-up with an error naming both
    plugins. Return nothing.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands to the ``okrsync`` command group, e.g. ``@cli.command()``.

    Called once, when the CLI is first invoked (never at import time). Return nothing.
    """
