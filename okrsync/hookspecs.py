"""Every hook okrsync calls. The docstring of each is its contract.

Plugins implement hooks with ``from okrsync import hookimpl``. Built-in connectors in
``okrsync.connectors`` use exactly these hooks, as a third-party package does through the
entry-point group ``okrsync``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("okrsync")
hookimpl = pluggy.HookimplMarker("okrsync")


@hookspec
def register_connectors(register: Callable[..., None]) -> None:
    """Register connector classes by calling ``register(ConnectorClass)``, or by name and
    place, ``register("name", "package.module:ConnectorClass")``: then the module is imported
    only when the connector is first used (a run imports only its endpoints' connectors).

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


@hookspec
def run_finished(summary: dict[str, Any], config: Any) -> None:
    """Called once when an observed run (``okrsync pull``, ``push``, ``sync``) ends, however
    it ends: success, rejected records, conflicts waiting, the lock, the delete guard, a bad
    config or a failure. Never called for a run that did not start (``--help``, usage errors
    found by click before the command ran).

    ``summary`` is a plain JSON-able dict, secrets already masked:

    - ``command`` (``"sync"``…), ``status`` (``ok``, ``failure``, ``bad-config``,
      ``rejected``, ``conflicts``, ``locked``, ``guard``) and ``exit_code`` (0–6, see the
      exit-code table in docs/commands.md), ``dry_run``, ``run`` (the store's run id, or None),
    - ``endpoints`` (the names selected), ``counters`` (totals: read, created, updated,
      deleted, unchanged, conflicts, rejected, requests, retried), ``conflicts_waiting``,
    - ``started_at`` / ``finished_at`` (ISO 8601 UTC), ``duration_s``, ``error`` (the message
      shown to the user, or None), ``host``, ``config`` (the config file's path),
      ``okrsync`` (the version), ``text`` (the one-line run summary).

    ``config`` is the loaded ``okrsync.config.Config``, or None when it could not be loaded.
    An exception raised here is shown as a warning line and never changes the run's exit
    code; so is a slow implementation's delay, so keep it short (seconds). Return nothing.
    The built-in ``okrsync.notify`` plugin implements it (the webhook notifier).
    """
