"""Cron-ready runs: one log line per step and a run summary, JSON or text, secrets masked,
and the ``run_finished`` hook.

Every ``okrsync pull``/``push``/``sync`` goes through ``RunObserver`` (see ``cli._run``):

- ``--log-format text`` (the default) keeps the human output and adds one summary line on
  stderr (``okrsync: sync ok in 3.2 s: read 52, created 0, …``); ``--log-format json`` writes
  only JSON lines on stderr: one ``step`` event per pull/push, ``message`` events for what
  would have been text (notes, rejected rows), an ``error`` event, and one ``summary`` event.
- Every line goes through ``REDACTOR``, which masks each secret the config resolves
  (``$env``/``$file`` values, and plain values under keys such as ``token`` or ``password``).
- The exit code is the run's own (0–6, README "Exit codes"); the summary is handed to the
  ``run_finished`` hook, whose failures are warnings and never change the exit code.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable

import click
from rich.console import Console

from . import __version__
from . import config as config_mod
from .errors import OkrsyncError

LOG = logging.getLogger("okrsync")
LOG_FORMATS = ("text", "json")
STATUS_BY_CODE = {0: "ok", 1: "failure", 2: "bad-config", 3: "rejected", 4: "conflicts", 5: "locked", 6: "guard"}
STATUSES = tuple(STATUS_BY_CODE.values())
SHOWN = {"ok": "ok", "failure": "failed", "bad-config": "bad config", "rejected": "finished with rejected records",
         "conflicts": "finished with conflicts waiting", "locked": "locked", "guard": "stopped by the delete guard"}
COUNTERS = ("read", "created", "updated", "deleted", "unchanged", "conflicts", "rejected", "requests", "retried")
MASK = "***"
QUIET_IN_TEXT = ("step", "notified")  # events text logs show only with --debug
SENSITIVE = re.compile(r"token|secret|password|passwd|api[_-]?key|authorization|private[_-]?key|credential|bearer",
                       re.IGNORECASE)
MIN_SECRET = 4  # shorter values would mask letters all over every line
AUTH_SCHEME = re.compile(r"(?:bearer|basic|token|api|apikey)\s+(\S+)", re.IGNORECASE)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ redaction


class Redactor:
    """Masks known secret values in text and in JSON-able data."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[Any]) -> None:
        for value in values:
            if isinstance(value, str) and len(value.strip()) >= MIN_SECRET:
                self.secrets.update({value, value.strip()})
                scheme = AUTH_SCHEME.fullmatch(value.strip())  # "Bearer <token>": the token alone too
                if scheme and len(scheme.group(1)) >= MIN_SECRET:
                    self.secrets.add(scheme.group(1))
        ordered = sorted(self.secrets, key=len, reverse=True)  # a secret inside another: the longer first
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def clear(self) -> None:
        self.secrets.clear()
        self._pattern = None

    def __call__(self, text: Any) -> Any:
        if self._pattern is None or not isinstance(text, str):
            return text
        return self._pattern.sub(MASK, text)

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.deep(v) for v in value]
        return value


REDACTOR = Redactor()


def collect_secrets(path: str | os.PathLike | None) -> list[str]:
    """Every secret the config at ``path`` resolves, read the way ``config.load`` reads them;
    what cannot be read is skipped (the run itself reports it)."""
    path = Path(path or os.environ.get("OKRSYNC_CONFIG") or config_mod.DEFAULT_PATH)
    try:
        raw = config_mod.load_yaml(path)
    except Exception:  # noqa: BLE001 - the run reports a broken config itself
        return []
    found: list[str] = []

    def keep(value: Any) -> None:
        if not isinstance(value, str) or not value:
            return
        found.append(value)
        try:  # a service-account JSON: its private key may show up alone
            inner = json.loads(value)
        except ValueError:
            return
        walk(inner, "")

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            if set(value) == {"$env"}:
                keep(os.environ.get(str(value["$env"])))
            elif set(value) == {"$file"}:
                try:
                    keep((path.parent / os.path.expanduser(str(value["$file"]))).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    pass
            else:
                for k, v in value.items():
                    walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and SENSITIVE.search(key):
            keep(value)  # a secret written into the file itself (the README says not to)

    walk(raw, "")
    return found


# ------------------------------------------------------------------ logging


class _Stderr:
    """sys.stderr as it is at write time (click's test runner swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class RedactFilter(logging.Filter):
    """Masks every known secret in a record's message and its structured fields."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redactor(record.getMessage()), None
        if isinstance(getattr(record, "fields", None), dict):
            record.fields = self.redactor.deep(record.fields)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, event, message, then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        data = {"ts": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname.lower(), "event": getattr(record, "event", "message"),
                "message": record.getMessage()}
        data.update(getattr(record, "fields", None) or {})
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        return f"okrsync: {level}{record.getMessage()}"


def setup_logging(log_format: str = "text", debug: bool = False) -> None:
    """Route the ``okrsync`` loggers to stderr in ``log_format``, through the redaction
    filter; called once per command (the secrets of the previous one are forgotten)."""
    REDACTOR.clear()
    for handler in list(LOG.handlers):
        if getattr(handler, "okrsync", False):
            LOG.removeHandler(handler)
    handler = logging.StreamHandler(_Stderr())  # type: ignore[arg-type]
    handler.okrsync = True  # type: ignore[attr-defined]
    handler.addFilter(RedactFilter(REDACTOR))
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.setLevel(logging.DEBUG if log_format == "json" or debug else logging.INFO)
    if log_format != "json" and not debug:  # text: the summary and warnings, not every step
        handler.addFilter(lambda record: getattr(record, "event", "") not in QUIET_IN_TEXT)
    LOG.addHandler(handler)
    LOG.setLevel(logging.DEBUG)
    LOG.propagate = False


class _LinesToLog(io.TextIOBase):
    """A file for rich that turns each printed line into a JSON ``message`` event."""

    def __init__(self) -> None:
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                LOG.info(line.rstrip(), extra={"event": "message"})
        return len(text)

    def isatty(self) -> bool:
        return False


def err_console(log_format: str) -> Console:
    """The console for human messages on stderr; in JSON mode each line becomes an event."""
    if log_format == "json":
        return Console(file=_LinesToLog(), soft_wrap=True, no_color=True, highlight=False, emoji=False)
    return Console(stderr=True)


# ------------------------------------------------------------------ observed runs


def _outcome(error: BaseException | None) -> tuple[int, str | None]:
    """(exit code, message shown to the user) of how a run ended."""
    if error is None:
        return 0, None
    if isinstance(error, SystemExit):
        code = error.code
        return (code if isinstance(code, int) else 0 if code is None else 1), None
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code, None
    if isinstance(error, click.ClickException):
        return error.exit_code, error.format_message()
    if isinstance(error, OkrsyncError):
        return error.exit_code, str(error)
    if isinstance(error, (KeyboardInterrupt, click.Abort)):
        return 1, "interrupted"
    return 1, f"Internal error: {type(error).__name__}: {error} (run with --debug for the traceback)"


def summary_text(summary: dict[str, Any]) -> str:
    """``sync ok in 3.2 s: read 52, created 0, … requests 7, retried 0`` (without the prefix)."""
    counters = ", ".join(f"{k} {summary['counters'].get(k, 0)}" for k in COUNTERS)
    code = summary["exit_code"]
    head = f"{summary['command']}{' (dry run)' if summary['dry_run'] else ''} {SHOWN.get(summary['status'], summary['status'])}"
    text = f"{head}{f' (exit {code})' if code else ''} in {summary['duration_s']:.1f} s: {counters}"
    if summary.get("conflicts_waiting"):
        text += f"; {summary['conflicts_waiting']} conflict(s) waiting"
    if summary.get("kept_as_text"):  # every run, until the cells are fixed (README "Tolerant values")
        text += f"; {summary['kept_as_text']} cell(s) kept as text"
    if summary.get("error"):
        error = summary["error"].splitlines()[0]
        text += f"; error: {error[:300]}"
    return text


class RunObserver:
    """Wraps one run: times its steps, logs them, prints the summary, calls ``run_finished``.

    A caller sets ``plans`` (appended by the hub), ``run_id`` and ``waiting`` as it learns
    them, loads the config through ``load_config()`` and wraps each step in ``step()``.
    On exit a library error becomes its exit code (as ``OkrsyncGroup`` does elsewhere),
    shown once, redacted."""

    def __init__(self, env: Any, command: str, names: Iterable[str] = (), dry_run: bool = False):
        self.env, self.command, self.names, self.dry_run = env, command, list(names), dry_run
        self.plans: list = []
        self.run_id: int | None = None
        self.waiting = 0
        self.still_rejected = 0  # open rejections of steps the run did not take (counted as rejected)
        self.config: config_mod.Config | None = None
        self.json_logs = getattr(env, "log_format", "text") == "json"

    def config_path(self) -> Path:
        return Path(self.env.config_path or os.environ.get("OKRSYNC_CONFIG") or config_mod.DEFAULT_PATH)

    def load_config(self) -> config_mod.Config:
        self.config = self.env.config()
        if not self.names:
            self.names = list(self.config.endpoints)
        return self.config

    def __enter__(self) -> RunObserver:
        self._t0, self.started_at = time.monotonic(), utc_now()
        REDACTOR.add(collect_secrets(self.config_path()))
        return self

    @contextmanager
    def step(self, label: str, inner: Any = None):
        """Around one pull or push: a ``step`` event when it ends (counters, duration)."""
        direction, _, endpoint = label.partition(" ")
        t0, before, status, error = time.monotonic(), len(self.plans), "ok", None
        try:
            if inner is None:
                yield
            else:
                with inner:
                    yield
        except BaseException as e:
            status, error = "failure", _outcome(e)[1]
            raise
        finally:
            fields: dict[str, Any] = {"command": self.command, "step": direction, "endpoint": endpoint,
                                      "status": status, "duration_s": round(time.monotonic() - t0, 3)}
            if len(self.plans) > before:
                plan = self.plans[-1]
                fields["counters"] = dict(plan.counters.__dict__)
                fields["notes"] = len(plan.notes)
            if error:
                fields["error"] = error
            LOG.info("%s %s %s in %.1f s", direction, endpoint, "ok" if status == "ok" else "failed",
                      fields["duration_s"], extra={"event": "step", "fields": fields})

    def progress(self, inner_factory):
        """A ``progress(label)`` for ``Hub.run`` that wraps ``inner_factory(label)`` in ``step``."""
        return lambda label: self.step(label, inner_factory(label))

    def summary(self, code: int, error: str | None) -> dict[str, Any]:
        totals = {k: 0 for k in COUNTERS}
        for plan in self.plans:
            for k in COUNTERS:
                totals[k] += getattr(plan.counters, k, 0)
        totals["rejected"] += self.still_rejected
        out = {"command": self.command, "status": STATUS_BY_CODE.get(code, "failure"), "exit_code": code,
               "dry_run": self.dry_run, "run": self.run_id, "endpoints": self.names, "counters": totals,
               "conflicts_waiting": self.waiting, "kept_as_text": sum(p.counters.kept for p in self.plans),
               "started_at": self.started_at, "finished_at": utc_now(),
               "duration_s": round(time.monotonic() - self._t0, 3), "error": error, "host": socket.gethostname(),
               "config": str(self.config_path()), "okrsync": __version__}
        out = REDACTOR.deep(out)
        out["text"] = summary_text(out)
        return out

    def __exit__(self, etype, error, tb) -> bool:
        code, message = _outcome(error)
        if message:
            self._show_error(error, message)
        summary = self.summary(code, message)
        fields = {k: v for k, v in summary.items() if k != "text"}
        if self.json_logs or not getattr(self.env, "as_json", False):  # --json: stdout's document says it all
            LOG.info(summary["text"], extra={"event": "summary", "fields": fields})
        call_run_finished(summary, self.config)
        if error is None or isinstance(error, (SystemExit, click.exceptions.Exit)):
            return False
        if getattr(self.env, "debug", False) and not isinstance(error, click.ClickException):
            return False  # the traceback, as --debug promises
        raise click.exceptions.Exit(code)

    def _show_error(self, error: BaseException, message: str) -> None:
        if self.json_logs:
            LOG.error(message, extra={"event": "error", "fields": {"command": self.command,
                                                                   "exit_code": _outcome(error)[0]}})
        elif isinstance(error, click.ClickException):
            click.echo(REDACTOR(f"Error: {message}"), err=True)
        elif not (getattr(self.env, "debug", False) and not isinstance(error, OkrsyncError)):
            prefix = "" if message.startswith("Internal error") else "Error: "
            click.secho(REDACTOR(f"{prefix}{message}"), fg="red", err=True)


def call_run_finished(summary: dict[str, Any], config: Any) -> None:
    """Each ``run_finished`` implementation in turn; one that fails is a warning line."""
    from . import plugins

    try:
        impls = plugins.get_plugin_manager().hook.run_finished.get_hookimpls()
    except Exception as e:  # noqa: BLE001 - plugins that fail to load were reported already
        LOG.warning("run_finished hooks not called: %s", e, extra={"event": "warning"})
        return
    args = {"summary": summary, "config": config}
    for impl in reversed(impls):  # pluggy's order: last registered first
        try:
            impl.function(**{name: args[name] for name in impl.argnames})
        except Exception as e:  # noqa: BLE001 - a hook never fails the run
            LOG.warning("plugin %s: run_finished failed: %s: %s", impl.plugin_name, type(e).__name__, e,
                        extra={"event": "warning", "fields": {"plugin": impl.plugin_name}})
