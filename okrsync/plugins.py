"""The plugin manager: built-in connectors, then the ``okrsync`` entry-point group.

Nothing loads at import time: ``get_plugin_manager()`` builds the manager on first call.
``OKRSYNC_LOAD_PLUGINS=a,b`` limits the installed (entry-point) plugins to those names; an
empty value loads none. Built-in connectors always load.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from dataclasses import dataclass
from functools import lru_cache

import pluggy

from . import hookspecs
from .connector import Connector
from .errors import OkrsyncError

DEFAULT_PLUGINS = (
    "okrsync.connectors.spreadsheet",
    "okrsync.connectors.jira",
    "okrsync.connectors.tability",
    "okrsync.connectors.viva_goals",
    "okrsync.connectors.google_sheets",
    "okrsync.connectors.clickup",
    "okrsync.connectors.perdoo",
    "okrsync.connectors.quantive",
    "okrsync.connectors.asana",
    "okrsync.connectors.structured",  # json, yaml (read through a mapping)
    "okrsync.connectors.okr_json",

    "okrsync.connectors.smartsheet",
    "okrsync.connectors.notion",
    "okrsync.connectors.airtable",
    "okrsync.connectors.graph_excel",
    "okrsync.notify",  # the webhook notifier (run_finished), not a connector
)


class StartupError(OkrsyncError):
    """Plugins could not be loaded (duplicate connector names, unknown hooks)."""


@dataclass(frozen=True)
class ConnectorInfo:
    cls: type[Connector]
    plugin: str  # module or distribution that registered it
    source: str  # "built-in" or "entry point (dist version)"


def new_plugin_manager(*, builtins: tuple[str, ...] = DEFAULT_PLUGINS, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the built-in plugins and (optionally) the installed ones."""
    pm = pluggy.PluginManager("okrsync")
    pm.add_hookspecs(hookspecs)
    for name in builtins:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        allowed = os.environ.get("OKRSYNC_LOAD_PLUGINS")
        if allowed is None:
            pm.load_setuptools_entrypoints("okrsync")
        else:
            for name in filter(None, (n.strip() for n in allowed.split(","))):
                pm.load_setuptools_entrypoints("okrsync", name=name)
    try:
        pm.check_pending()  # a misspelt hook name fails loudly, as in pytest
    except pluggy.PluginValidationError as e:
        raise StartupError(f"plugin {e.plugin!r} implements a hook okrsync does not have: {e}") from e
    return pm


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    return new_plugin_manager()


def connectors(pm: pluggy.PluginManager | None = None) -> dict[str, ConnectorInfo]:
    """Every registered connector by name; duplicate names are a StartupError."""
    pm = pm or get_plugin_manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    found: dict[str, ConnectorInfo] = {}
    for impl in pm.hook.register_connectors.get_hookimpls():
        plugin_name = impl.plugin_name
        dist = dists.get(id(impl.plugin))
        source = f"entry point ({dist.project_name} {dist.version})" if dist else "built-in"

        def register(cls: type[Connector], _plugin=plugin_name, _source=source) -> None:
            if not (isinstance(cls, type) and issubclass(cls, Connector) and getattr(cls, "name", None)):
                raise StartupError(f"plugin {_plugin!r} registered {cls!r}, which is not a named okrsync.Connector subclass")
            if cls.name in found:
                raise StartupError(f"two plugins register a connector named {cls.name!r}: "
                                   f"{found[cls.name].plugin} and {_plugin}; uninstall one or set OKRSYNC_LOAD_PLUGINS")
            found[cls.name] = ConnectorInfo(cls, _plugin, _source)

        impl.function(register=register)
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin, as ``okrsync plugins`` lists it."""

    name: str  # the module (built-in) or the entry point's name
    source: str  # "built-in" or "entry point (dist version)"
    hooks: tuple[str, ...]  # the okrsync hooks it implements
    connectors: tuple[str, ...]  # the connector names it registers
    about: str  # the first line of its docstring

    def as_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "hooks": list(self.hooks),
                "connectors": list(self.connectors), "about": self.about}


def installed(pm: pluggy.PluginManager | None = None) -> list[PluginInfo]:
    """Every plugin the manager holds, built-in or installed, with the hooks it implements:
    also one that only adds commands or listens to ``run_finished``, which ``connectors()``
    cannot show. Built-ins first, in loading order."""
    pm = pm or get_plugin_manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    by_plugin: dict[str, list[str]] = {}
    for name, info in connectors(pm).items():
        by_plugin.setdefault(info.plugin, []).append(name)
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked (pluggy keeps the name)
            continue
        dist = dists.get(id(plugin))
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        about = ((getattr(plugin, "__doc__", None) or "").strip().splitlines() or [""])[0]
        out.append(PluginInfo(name, f"entry point ({dist.project_name} {dist.version})" if dist else "built-in", hooks,
                              tuple(by_plugin.get(name, ())), about))
    return out
