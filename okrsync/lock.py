"""One run at a time per store: a lock file beside it, naming the pid and host that hold it.

The file is created with O_EXCL, so two runs can't both take it, on any filesystem that
honours that. A run that dies without releasing leaves the file behind; the next run sees
that the pid is gone (same host) and says so, and ``--force-unlock`` clears it. A lock
held by a live process is never cleared.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path

from .errors import LockedError


class StoreLock:
    def __init__(self, store_path: Path, command: str):
        self.path = Path(f"{store_path}.lock")
        self.command = command
        self.held = False

    def acquire(self, *, force: bool = False) -> None:
        if force:
            self._clear_if_dead()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise LockedError(self._message()) from None
        with os.fdopen(fd, "w") as f:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                       "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}, f)
        self.held = True

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def _alive(self, info: dict) -> bool | None:
        """True/False for a process on this host; None when it can't be told (other host)."""
        if info.get("host") != socket.gethostname() or not isinstance(info.get("pid"), int):
            return None
        try:
            os.kill(info["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _clear_if_dead(self) -> None:
        info = self.holder()
        if self.path.exists() and self._alive(info):
            raise LockedError(f"{self.path}: pid {info['pid']} on this host is running "
                              f"`okrsync {info.get('command', '?')}`; it is not cleared while it lives")
        self.path.unlink(missing_ok=True)

    def _message(self) -> str:
        info = self.holder()
        who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}, `okrsync {info.get('command', '?')}` since {info.get('since', '?')}"
        alive = self._alive(info)
        if alive is False:
            return (f"the store is locked by a run that is no longer alive ({who}); "
                    f"if nothing else uses {self.path.name}, run again with --force-unlock")
        return f"another run holds the store ({who}); wait for it to finish ({self.path})"
