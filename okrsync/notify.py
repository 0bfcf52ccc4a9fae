"""The built-in webhook notifier: a ``run_finished`` plugin that POSTs the run summary.

Configured in the config's top-level ``notify:`` section::

    notify:
      webhook:
        url: https://hooks.example.com/okrsync     # https, or http only to 127.0.0.1/localhost
        on: [failure, bad-config, guard]            # statuses that notify (this is the default)
        headers: {Authorization: {"$env": OKRSYNC_HOOK_TOKEN}}
        timeout: 5                                  # seconds (at most 30)

The body is the run summary (see ``hookspecs.run_finished``) as JSON, with a ``text``
field holding the one-line summary (what a chat webhook shows). Secrets are masked in it;
header values are sent, never logged. Dry runs never notify. A notification that fails
(refused URL, timeout, an answer other than 2xx) is a warning line: it never changes the
run's exit code.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from .config import Config, LineDict, resolve_secrets, where
from .errors import ConfigError
from .hookspecs import hookimpl
from .logs import LOG, REDACTOR
from .runs import STATUSES

if TYPE_CHECKING:  # httpx and okrsync.http are imported where a webhook is configured, not with every command
    import httpx

DEFAULT_ON = ("failure", "bad-config", "guard")
KEYS = ("url", "on", "headers", "timeout")
MAX_TIMEOUT = 30.0


def webhook_settings(config: Config) -> dict[str, Any] | None:
    """The checked ``notify.webhook`` section (secrets resolved), or None when there is none.
    Raises ConfigError naming the file, line and key."""
    notify = config.notify or {}
    path = config.path
    if not isinstance(notify, dict):
        raise ConfigError(f"{path}: notify: must be a mapping, e.g. notify: {{webhook: {{url: https://…}}}}")
    for key in notify:
        if key != "webhook":
            raise ConfigError(f"{where(path, notify, key)}: unknown notifier (okrsync has: webhook)")
    section = notify.get("webhook")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{where(path, notify, 'webhook')}: give a mapping with url:, e.g. webhook: {{url: https://…}}")
    section = _on_key(section)
    for key in section:
        if key not in KEYS:
            hint = difflib.get_close_matches(str(key), KEYS, n=1)
            raise ConfigError(f"{where(path, section, key)}: unknown key" + (f"; did you mean {hint[0]!r}?" if hint else
                              f"; expected one of {', '.join(KEYS)}"))
    resolved = resolve_secrets(section, path, config.base_dir, "notify.webhook")
    url = resolved.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where(path, notify, 'webhook')}: needs url: (https://…)")
    from . import http

    url = http.check_url(url, where(path, section, "url"))
    on = resolved.get("on", list(DEFAULT_ON))
    if isinstance(on, str):
        on = [on]
    if not isinstance(on, list):
        raise ConfigError(f"{where(path, section, 'on')}: a list of statuses, e.g. on: [failure, guard]")
    for status in on:
        if status not in STATUSES:
            hint = difflib.get_close_matches(str(status), STATUSES, n=1)
            raise ConfigError(f"{where(path, section, 'on')}: unknown status {status!r}"
                              + (f"; did you mean {hint[0]!r}?" if hint else f"; one of {', '.join(STATUSES)}"))
    headers = resolved.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, (str, int)) for v in headers.values()):
        raise ConfigError(f"{where(path, section, 'headers')}: a mapping of header name to value "
                          '(a secret as {"$env": NAME})')
    try:
        timeout = float(resolved.get("timeout", 5))
    except (TypeError, ValueError):
        raise ConfigError(f"{where(path, section, 'timeout')}: seconds, e.g. timeout: 5") from None
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ConfigError(f"{where(path, section, 'timeout')}: between 0 and {MAX_TIMEOUT:g} seconds")
    return {"url": url, "on": list(on), "headers": {str(k): str(v) for k, v in headers.items()}, "timeout": timeout}


def _on_key(section: dict) -> dict:
    """YAML 1.1 reads a bare ``on:`` key as the boolean true: take it back as "on"."""
    if True not in section:
        return section
    out = LineDict({("on" if k is True else k): v for k, v in section.items()})
    lines = getattr(section, "lines", {})
    out.lines = {("on" if k is True else k): n for k, n in lines.items()}
    out.line = getattr(section, "line", 0)
    return out


def send(settings: dict[str, Any], summary: dict[str, Any], transport: httpx.BaseTransport | None = None) -> int:
    """POST the (redacted) summary; the HTTP status. Raises on a network error or non-2xx."""
    import httpx

    from . import http

    body = json.dumps(REDACTOR.deep(summary), ensure_ascii=False, default=str).encode()
    headers = {"User-Agent": http.USER_AGENT, "Content-Type": "application/json", **settings["headers"]}
    with httpx.Client(timeout=httpx.Timeout(settings["timeout"]), transport=transport,
                      follow_redirects=False) as client:
        response = client.post(settings["url"], content=body, headers=headers)
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"answered {response.status_code}")
    return response.status_code


@hookimpl
def run_finished(summary: dict[str, Any], config: Config | None) -> None:
    """POST the summary to notify.webhook.url when the run's status is one of ``on``."""
    if config is None or summary.get("dry_run"):
        return
    try:
        settings = webhook_settings(config)
    except ConfigError as e:
        LOG.warning("webhook not sent: %s", e, extra={"event": "warning", "fields": {"notifier": "webhook"}})
        return
    if settings is None or summary.get("status") not in settings["on"]:
        return
    import httpx

    host = httpx.URL(settings["url"]).host
    try:
        status = send(settings, summary)
    except Exception as e:  # a notification never fails the run
        reason = str(e) or type(e).__name__
        LOG.warning("webhook to %s failed: %s", host, reason,
                    extra={"event": "warning", "fields": {"notifier": "webhook", "host": host}})
        return
    LOG.info("webhook to %s answered %s", host, status,
              extra={"event": "notified", "fields": {"notifier": "webhook", "host": host, "status": status}})
