"""The plugin manager: built-in connectors, then the ``okrsync`` entry-point group.

Nothing loads at import time: ``get_plugin_manager()`` builds the manager on first call.
``OKRSYNC_LOAD_PLUGINS=a,b`` limits the installed (entry-point) plugins to those names; an
empty value loads none. Built-in connectors always load. A connector registered by name
and place (``register("csv", "okrsync.connectors.spreadsheet:CsvConnector")``, as the
built-ins are) is imported only when its class is first asked for (``classes()``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pluggy

from . import hookspecs
from .connector import Connector
from .errors import OkrsyncError

DEFAULT_PLUGINS = (
    "okrsync.connectors",  # the built-in connectors, registered by name: each loads when first used
    "okrsync.notify",  # the webhook notifier (run_finished), not a connector
)


class StartupError(OkrsyncError):
    """Plugins could not be loaded (duplicate connector names, unknown hooks)."""


@dataclass(frozen=True)
class ConnectorInfo:
    ref: type[Connector] | str  # the class, or where it is ("package.module:Class"), loaded on first use
    plugin: str  # module or distribution that registered it
    source: str  # "built-in" or "entry point (dist version)"
    name: str = ""

    @property
    def cls(self) -> type[Connector]:
        """The connector class (its module imported now if it was registered by where it is)."""
        return self.ref if isinstance(self.ref, type) else _load(self.ref, self.name, self.plugin)


@functools.cache
def _load(ref: str, name: str, plugin: str) -> type[Connector]:
    module, _, attr = ref.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise StartupError(f"plugin {plugin!r} registered connector {name!r} as {ref!r}, which does not load: {e}") from e
    if not _named_connector(cls) or cls.name != name:
        raise StartupError(f"plugin {plugin!r} registered connector {name!r} as {ref!r}, which is "
                           f"{'connector ' + repr(cls.name) if _named_connector(cls) else 'not a named okrsync.Connector subclass'}")
    return cls


def _named_connector(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Connector) and bool(getattr(cls, "name", None))


class Classes(Mapping[str, type[Connector]]):
    """Connector name → class, each class loaded when it is first looked up: a run imports
    only the connectors its endpoints use (``classes()``)."""

    def __init__(self, found: dict[str, ConnectorInfo]):
        self._found = found

    def __getitem__(self, name: str) -> type[Connector]:
        return self._found[name].cls

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)


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


def classes(pm: pluggy.PluginManager | None = None) -> Classes:
    """Every registered connector's class by name, loaded as it is looked up (``Classes``)."""
    return Classes(connectors(pm))


def connectors(pm: pluggy.PluginManager | None = None) -> dict[str, ConnectorInfo]:
    """Every registered connector by name; duplicate names are a StartupError. A class
    registered by where it is (``register(name, "module:Class")``) is not imported here."""
    pm = pm or get_plugin_manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    found: dict[str, ConnectorInfo] = {}
    for impl in pm.hook.register_connectors.get_hookimpls():
        plugin_name = impl.plugin_name
        dist = dists.get(id(impl.plugin))
        source = f"entry point ({dist.project_name} {dist.version})" if dist else "built-in"

        def register(connector: type[Connector] | str, ref: str | None = None, _plugin=plugin_name, _source=source) -> None:
            if ref is not None:  # register(name, "module:Class"): loaded on first use
                name = connector
                if not (isinstance(name, str) and name and isinstance(ref, str) and ":" in ref):
                    raise StartupError(f"plugin {_plugin!r} registered {name!r} as {ref!r}; "
                                       "register a class, or a name and \"package.module:Class\"")
            elif _named_connector(connector):
                name, ref = connector.name, connector
            else:
                raise StartupError(f"plugin {_plugin!r} registered {connector!r}, which is not a named okrsync.Connector subclass")
            if name in found:
                raise StartupError(f"two plugins register a connector named {name!r}: "
                                   f"{found[name].plugin} and {_plugin}; uninstall one or set OKRSYNC_LOAD_PLUGINS")
            found[name] = ConnectorInfo(ref, _plugin, _source, name)

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
