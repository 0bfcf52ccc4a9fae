"""Errors okrsync raises, as a tree.

    OkrsyncError                 base; the CLI shows its message without a traceback
    ├── ConfigError              the config file is wrong (names file, line, key)
    ├── MappingError             a mapping file is wrong, or a value does not fit it
    ├── ValidationError          canonical data breaks a model rule
    ├── StoreError               the store cannot be used (not a database, …)
    │   └── LockedError          another run holds the store's lock
    ├── DeleteGuardError         a run would delete too much; stopped before writing
    └── ConnectorError           talking to an endpoint failed
        ├── RetryableError       worth another try (429, 5xx, timeouts)
        ├── FatalError           retrying will not help (401, 403, 404, bad request)
        └── SkippableError       one record is bad; the run goes on without it

Library code raises these; only ``okrsync.cli`` turns them into exit codes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: object, choices: Iterable[str], listing: str = "expected one of") -> str:
    """The tail of an "unknown …" message: ``; did you mean 'x'?`` for the nearest choice,
    else ``; expected one of a, b, c`` (``listing`` words it; empty: no list)."""
    choices = [str(c) for c in choices]
    hint = difflib.get_close_matches(str(word), choices, n=1)
    if hint:
        return f"; did you mean {hint[0]!r}?"
    return f"; {listing} {', '.join(choices)}" if listing and choices else ""


class OkrsyncError(Exception):
    """Base class: its message is shown to the user as it is."""

    exit_code = 1


class ConfigError(OkrsyncError):
    """The config is wrong. The message names the file, the line and the key."""

    exit_code = 2


class MappingError(OkrsyncError):
    """A mapping file is wrong, or a value cannot be read through it."""

    exit_code = 2


class ValidationError(OkrsyncError):
    """Canonical data breaks a model rule (for example target equal to start)."""


class StoreError(OkrsyncError):
    """The store file cannot be used as asked."""


class LockedError(StoreError):
    """Another okrsync run holds the store (or left its lock behind when it died)."""

    exit_code = 5


class DeleteGuardError(OkrsyncError):
    """A run would delete more than the configured share of an endpoint's records, or an
    endpoint listed nothing where it had records. Nothing was written."""

    exit_code = 6


class ConnectorError(OkrsyncError):
    """Talking to an endpoint failed. ``endpoint`` names it when known."""

    def __init__(self, message: str, *, endpoint: str | None = None):
        super().__init__(f"{endpoint}: {message}" if endpoint else message)
        self.endpoint = endpoint


class RetryableError(ConnectorError):
    """A failure that may pass: 429, 5xx, timeouts, dropped connections.

    ``retry_after`` is the number of seconds the server asked us to wait, if it said;
    ``status`` the HTTP status (None when no answer came: the request may have been done).
    """

    def __init__(self, message: str, *, endpoint: str | None = None, retry_after: float | None = None,
                 status: int | None = None):
        super().__init__(message, endpoint=endpoint)
        self.retry_after = retry_after
        self.status = status


class FatalError(ConnectorError):
    """A failure that another try will not mend (bad credentials, bad request)."""


class SkippableError(ConnectorError):
    """One record could not be read or written; the others go on.

    ``where`` says where the record is (file, sheet, row, column or an external id).
    """

    def __init__(self, message: str, *, where: str = "", endpoint: str | None = None):
        super().__init__(f"{where}: {message}" if where else message, endpoint=endpoint)
        self.where = where
        self.reason = message
