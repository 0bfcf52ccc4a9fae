"""One run at a time per store: a lock file beside it, naming the pid and host that hold it.

The file is created with O_EXCL, so two runs can't both take it, on any filesystem that
honours that. A run that dies without releasing (SIGKILL, a power cut) leaves the file
behind: when its pid is gone on this host, the next run clears it by itself and says so in
``notes``. A lock from another host can't be judged from here: ``--force-unlock`` clears it.
A lock held by a live process is never cleared.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LockedError


class StoreLock:
    def __init__(self, store_path: Path, command: str):
        self.path = Path(f"{store_path}.lock")
        self.command = command
        self.held = False
        self.notes: list[str] = []  # what acquire did that the user should hear about

    def acquire(self, *, force: bool = False) -> None:
        """Take the lock, or raise ``LockedError`` (exit 5). A dead holder on this host is
        cleared (a note says whose); ``force`` also clears one on another host."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._clear_if_dead(force)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise LockedError(self._message()) from None
        with os.fdopen(fd, "w") as f:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                       "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}, f)
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

    def held_by_someone(self) -> bool:
        """A lock file whose holder lives, or may (another host, unreadable); False when there is
        no lock or its process is gone on this host."""
        return self.path.exists() and self._alive(self.holder()) is not False

    def _clear_if_dead(self, force: bool) -> None:
        # Two runs may find the same dead lock: clearing is serialised and the holder read again
        # inside, so the second one sees the first one's live lock and leaves it alone.
        with self._serialised():
            info = self.holder()
            alive = self._alive(info)
            if not self.path.exists() or alive or (alive is None and not force):
                if alive and force:
                    raise LockedError(f"{self.path}: pid {info['pid']} on this host is running "
                                      f"`okrsync {info.get('command', '?')}`; it is not cleared while it lives")
                return  # nothing to clear, or not ours to judge: O_EXCL reports it
            self.path.unlink(missing_ok=True)
        why = "its process is gone" if alive is False else "--force-unlock"
        self.notes.append(f"cleared the lock left by pid {info.get('pid', '?')} on {info.get('host', '?')} "
                          f"(`okrsync {info.get('command', '?')}` since {info.get('since', '?')}): {why}")

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if we die here
            yield
        finally:
            os.close(fd)

    def _message(self) -> str:
        info = self.holder()
        who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}, `okrsync {info.get('command', '?')}` since {info.get('since', '?')}"
        alive = self._alive(info)
        if alive is None and info.get("host") not in (None, socket.gethostname()):
            return (f"another host's run holds the store ({who}); wait for it to finish, or, if it died there, "
                    f"run again with --force-unlock ({self.path})")
        return f"another run holds the store ({who}); wait for it to finish ({self.path})"
