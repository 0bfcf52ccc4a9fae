"""Logging for okrsync's commands: lines on stderr as text or JSON, every one masked.

Every line goes through ``REDACTOR``, which masks each secret the config resolves: the
resolver in ``okrsync.config`` registers every ``$env``/``$file`` value it reads (and plain
values under keys such as ``token`` or ``password``), so a new secret source added there is
masked here without a second list. ``setup_logging`` routes the ``okrsync`` loggers;
``err_console`` is the console for human messages on stderr.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console

LOG = logging.getLogger("okrsync")
LOG_FORMATS = ("text", "json")
MASK = "***"
QUIET_IN_TEXT = ("step", "notified")  # events text logs show only with --debug
SENSITIVE = re.compile(r"token|secret|password|passwd|api[_-]?key|authorization|private[_-]?key|credential|bearer",
                       re.IGNORECASE)
MIN_SECRET = 4  # shorter values would mask letters all over every line
AUTH_SCHEME = re.compile(r"(?:bearer|basic|token|api|apikey)\s+(\S+)", re.IGNORECASE)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        when = dt.datetime.fromtimestamp(record.created, dt.UTC)
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
