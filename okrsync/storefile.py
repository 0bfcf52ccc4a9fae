"""The store's file on disk: was there one, is it SQLite and whole, and a consistent copy of it.

Once a store exists okrsync keeps a marker beside it (``okrsync.db.marker``). A store that
later goes missing or is emptied (a volume not mounted, a truncated file, a path changed) would
otherwise be recreated empty, and the change log and run history would be gone without a word.
So ``Store`` refuses to start an empty store while something says there was one: the marker,
a lock left by a dead run, a WAL or SHM sidecar, or a backup. ``okrsync --new-store`` starts
afresh on purpose. ``okrsync doctor`` runs SQLite's integrity check (``problems``), and
``okrsync migrate`` takes a ``backup`` first.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

from .errors import StoreError
from .lock import StoreLock

HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
RECOVERY = ("stop the scheduled runs; copy the store with its -wal and -shm files aside; then restore the newest "
            "backup ({backups}) or save what is readable: sqlite3 {name} .recover | sqlite3 recovered.db, and point "
            "store: at recovered.db; okrsync --new-store starts an empty store instead (history lost)")


class StoreLostError(StoreError):
    """The store file is missing or empty, but signs say there was one: bad usage until the
    user restores it or asks for a new store."""

    exit_code = 2


def marker(path: Path) -> Path:
    return Path(f"{path}.marker")


def backups(path: Path) -> list[Path]:
    """The store's backups, oldest first (their names sort by time)."""
    return sorted(path.parent.glob(f"{path.name}.backup-*"))


def signs_of_a_store(path: Path) -> list[str]:
    """What says a store existed at ``path``: its marker, a dead run's lock, sidecars, backups."""
    found = [f"{what} {p.name}" for p, what in ((marker(path), "its marker"), (Path(f"{path}-wal"), "its WAL file"),
                                                (Path(f"{path}-shm"), "its SHM file")) if p.exists()]
    lock = StoreLock(path, "check")
    if lock.path.exists() and not lock.held_by_someone():  # a live holder may be creating it right now
        found.append(f"the lock {lock.path.name} of a run that died")
    return found + [f"the backup {b.name}" for b in backups(path)]


def lost(path: Path) -> str | None:
    """Why ``path``, missing or 0 bytes, must not become a new empty store (with what to do), or
    None when it exists with content or nothing says a store was there."""
    if path.exists() and path.stat().st_size > 0:
        return None
    signs = signs_of_a_store(path)
    if not signs:
        return None
    state = "empty (0 bytes)" if path.exists() else "missing"
    newest = backups(path)[-1:]
    restore = f"restore it (the newest backup is {newest[0]})" if newest else "restore it from your backups"
    verb = "says" if len(signs) == 1 else "say"
    return (f"store {path} is {state}, but {', '.join(signs)} {verb} there was one; okrsync does not start an "
            f"empty store over it (its change log and run history would be lost): {restore} or point store: at "
            f"it; to start afresh on purpose, run again as okrsync --new-store …")


def refuse_a_lost_store(path: Path, new: bool) -> None:
    """Raise ``StoreLostError`` when ``lost(path)`` says why; ``new``: the user asked for an
    empty store, so the stale sidecars of a missing or empty one go instead."""
    if new:
        if not path.exists() or path.stat().st_size == 0:
            for sidecar in (Path(f"{path}-wal"), Path(f"{path}-shm")):  # SQLite would replay an old WAL into it
                sidecar.unlink(missing_ok=True)
        return
    why = lost(path)
    if why:
        raise StoreLostError(why)


def mark(path: Path) -> None:
    """Leave the marker beside a store that exists (once; readable by its owner only)."""
    note = {"store": str(path), "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "why": "okrsync refuses to start an empty store while this says there was one (okrsync --new-store does)"}
    try:
        fd = os.open(marker(path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        json.dump(note, f)


def problems(path: Path) -> list[str]:
    """What is wrong with the store file: not SQLite, or SQLite's integrity check lines (at most
    20); empty when it is whole. Read-only; never raises for a bad file."""
    with open(path, "rb") as f:
        head = f.read(len(HEADER))
    if not head:
        return ["the file is empty (0 bytes)"]
    if head != HEADER:
        return [f"not an SQLite database: it starts with {head!r}"]
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            lines = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        return [str(e)]
    return [] if lines == ["ok"] else lines


def recovery_advice(path: Path) -> str:
    names = ", ".join(b.name for b in backups(path)[-3:]) or f"{path.name}.backup-* beside it: none yet"
    return RECOVERY.format(backups=names, name=path.name)


def backup(conn: sqlite3.Connection, path: Path) -> Path:
    """A consistent copy of the open store (SQLite's online backup API, so a WAL's committed
    pages are in it) beside it, named by the UTC time; readable by its owner only."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    dest = Path(f"{path}.backup-{stamp}")
    os.close(os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    target = sqlite3.connect(dest)
    try:
        conn.backup(target)
    finally:
        target.close()
    return dest.resolve()
