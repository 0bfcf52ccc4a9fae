"""The connector toolkit (public: ``okrsync.connectors.common`` once installed; third-party
connectors may import it, and a change to these signatures is a breaking change): what every
API connector's set-up shares, in one place: option names checked with a did-you-mean, the
shipped vendor mapping merged with an endpoint's overrides, and the two helpers for batched
and concurrent requests. Listed in the plugin guide (docs/plugins.md, "The connector toolkit").

- ``check_options(options, known, where, required=(), example="")``: an unknown key is a
  ConfigError with a did-you-mean (or the list of options), a missing required one too
  (``okrsync.config``'s, which the config loader also uses on ``Connector.option_help``).
- ``check_endpoint(conn)``: that check of a connector's options against its own
  ``option_help`` and ``required_options``; returns ``"endpoint NAME"`` for its messages.
- ``merge(base, over, where)``: ``over`` laid on ``base``; an unknown key is a MappingError
  naming where it is, sub-maps merge key by key, status maps are replaced whole.
- ``load_mapping(name, overrides, base_dir, where)``: ``mappings/vendors/<name>.yaml`` with the
  endpoint's ``mapping:`` section (a dict, or a YAML file named relative to the config)
  merged over it; ``read_overrides`` and ``shipped`` are its two halves, for a connector
  that checks the result and names the file in its messages; ``mapping_source(conn)`` gives
  a loader the endpoint's three arguments.
- ``new_api(endpoint, options, where, url=…, auth=…, rate=…)``: the endpoint's ``http.Api``
  with its ``timeout`` and ``attempts`` options.
- ``bearer(token, where)``: the token option as ``Authorization: Bearer``, checked.
- ``users_option(options, cast=str)``: the ``users`` option, e-mail (casefolded) → user id.
- ``read_cursor(cursor)``: the JSON object a connector wrote as its cursor.
- ``period_label(name)``: a tool's period name as okrsync's label where it reads as one.
- ``parallel(fn, items, workers)`` and ``chunks(items, size)``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okrsync.config import check_options, load_yaml  # check_options: re-exported for connectors too
from okrsync.errors import ConfigError, MappingError, did_you_mean
from okrsync.transforms import TransformError, parse_period

if TYPE_CHECKING:  # the connector module imports nothing from here; the name is for hints only
    import httpx

    from okrsync import http
    from okrsync.connector import Connector

REPLACED_WHOLE = ("status", "read_status")  # maps whose keys are the user's own vocabulary
# the options every API connector shares (``new_api`` reads timeout and attempts), for
# their ``option_help`` declarations
API_OPTIONS = {
    "url": "the API's base URL, for another region or a test server (https; http only to loopback)",
    "rate": "requests a second okrsync sends at most (default: the vendor's documented limit)",
    "timeout": "seconds one request may take (default 30)",
    "attempts": "tries of a request that fails with 429, 5xx or a timeout (default 5)",
    "mapping": "overrides of the shipped mapping: a map, or the path of your own YAML file",
    "users": "e-mail → the tool's user id, for owners it cannot find by e-mail",
}


def merge(base: dict, over: dict, where: str) -> dict:
    """A copy of ``base`` with ``over`` laid on it; every key of ``over`` must exist in ``base``."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if key not in base:
            raise MappingError(f"{where}: unknown key {key!r}" + did_you_mean(key, base))
        if isinstance(base[key], dict) and isinstance(value, dict) and key not in REPLACED_WHOLE:
            out[key] = merge(base[key], value, f"{where}.{key}")
        else:
            out[key] = value
    return out


def shipped(name: str) -> dict[str, Any]:
    """The mapping okrsync ships for a vendor, ``mappings/vendors/<name>.yaml``."""
    with resources.as_file(resources.files("okrsync.mappings") / "vendors" / f"{name}.yaml") as path:
        return load_yaml(path)


def read_overrides(overrides: Any, base_dir: Path, where: str) -> tuple[dict[str, Any], str]:
    """An endpoint's ``mapping:`` section, or the YAML file it names (relative to the config;
    an ``extends:`` line in it is redundant), and where it came from, for messages."""
    if isinstance(overrides, str):  # a file of the user's own
        path = base_dir / overrides
        overrides = load_yaml(path) or {}
        overrides.pop("extends", None)
        where = str(path)
    return overrides or {}, where


def load_mapping(name: str, overrides: Any, base_dir: Path, where: str) -> dict[str, Any]:
    """The shipped mapping with the endpoint's overrides (see ``read_overrides``) merged over it."""
    overrides, where = read_overrides(overrides, base_dir, where)
    return merge(shipped(name), overrides, where)


def new_api(endpoint: str, options: dict[str, Any], where: str, *, url: str, auth: httpx.Auth | None, rate: float,
            headers: dict[str, str] | None = None) -> http.Api:
    """The endpoint's ``http.Api``: a client for ``url`` (https, or http to loopback) with
    ``auth``, the ``timeout`` option (seconds, 30; connecting at most 10), paced at ``rate``
    requests a second and retried up to the ``attempts`` option (5)."""
    import httpx  # here, not with the module: a file connector's run never needs it

    from okrsync import http

    timeout = float(options.get("timeout", 30))
    client = http.new_client(url, auth=auth, where=f"{where}: url", headers=headers)
    client.timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
    return http.Api(client, endpoint, rate=rate, attempts=int(options.get("attempts", 5)))


def read_cursor(cursor: str | None) -> dict[str, Any]:
    """The JSON object a connector wrote as its cursor; ``{}`` for none, or for one it cannot
    read (from another version: the next read starts afresh)."""
    try:
        raw = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    return raw if isinstance(raw, dict) else {}


def bearer(token: Any, where: str) -> http.BearerAuth:
    """``Authorization: Bearer <token>``; the token never appears in a repr or message."""
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(f"{where}: token: give the API token, e.g. token: {{$env: NAME}} (never the value itself)")
    from okrsync import http

    return http.BearerAuth(token.strip())


def period_label(name: str | None) -> str | None:
    """A period's name as okrsync's label ("Q1 2026" → "2026-Q1"); else the name as it is."""
    if not name:
        return None
    try:
        label = parse_period(name)
    except TransformError:
        return name
    return label.label if label else name


def parallel(fn: Callable[[Any], Any], items: Iterable[Any], workers: int) -> list[Any]:
    """``fn`` over ``items`` in order, on up to ``workers`` threads (inline for one item)."""
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def chunks(items: list, size: int) -> Iterator[list]:
    """``items`` in consecutive slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def check_endpoint(conn: Connector) -> str:
    """Check ``conn.options`` against what its class declares and return ``"endpoint NAME"``,
    which starts the connector's own messages. An unknown key is a ConfigError with a
    did-you-mean, a missing ``required_options`` key one that gives the option's help: the
    messages the config loader gives before any connector is built, so an endpoint built in
    code (a script, a test) is checked the same way. Call it first thing after
    ``Connector.__init__``."""
    where = f"endpoint {conn.endpoint}"
    check_options(conn.options, conn.declared_options() or conn.options, where, required=conn.required_options)
    return where


def mapping_source(conn: Connector) -> tuple[Any, Path, str]:
    """What a vendor mapping loader takes from an endpoint, ``(overrides, base_dir, where)``:
    its ``mapping:`` option, the config's folder and ``"endpoint NAME: mapping"``; so
    ``load_mapping("perdoo", *mapping_source(self))`` or ``AsanaMapping.load(*mapping_source(self))``."""
    return conn.options.get("mapping"), conn.context.base_dir, f"endpoint {conn.endpoint}: mapping"


def users_option(options: dict[str, Any], cast: Callable[[Any], Any] = str) -> dict[str, Any]:
    """The ``users`` option (e-mail → the tool's user id) keyed by the casefolded e-mail, each
    id through ``cast`` (``int`` for a tool with numeric ids); ``{}`` without one."""
    return {str(k).casefold(): cast(v) for k, v in (options.get("users") or {}).items()}
