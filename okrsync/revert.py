"""``okrsync revert --run N``: undo one run's canonical changes, as new changes.

Each field a run changed goes back to its old value, as long as nothing changed it since
(else it is skipped and said so: a revert never overwrites a later edit). Records the run
created are deleted, records it deleted come back. The next sync pushes the result.
"""

from __future__ import annotations

from typing import Any

from .errors import OkrsyncError
from .names import Names
from .store import ALL, Store, local_user


def _per_field(row: dict) -> list[dict]:
    """A ``*`` row (a whole record created or deleted) as one row per field."""
    if row["field"] != ALL:
        return [row]
    old, new = row["old"] or {}, row["new"] or {}
    return [row | {"field": f, "old": old.get(f), "new": new.get(f)} for f in old.keys() | new.keys()]


def revert_run(store: Store, run: int, new_run: int, names: Names | None = None) -> tuple[int, list[str]]:
    """Revert ``run`` inside ``new_run``; returns (entities reverted, notes on what was skipped),
    each note naming its record by ``names`` (default: the store's, without canonical ids)."""
    names = names or Names.of(store)
    rows = [r for r in store.changes(run=run) if r["kind"] != "conflict"]
    if not rows:
        raise OkrsyncError(f"run {run} made no canonical changes (see okrsync status for the runs)")
    by_entity: dict[str, list[dict]] = {}
    for r in rows:
        by_entity.setdefault(r["entity_id"], []).extend(_per_field(r))
    reverted, notes = 0, []
    by = local_user()
    with store.atomic():
        for entity_id, changes in by_entity.items():
            current = store.get_any(entity_id)
            kind = changes[0]["entity_kind"]
            fields = dict(current[1]) if current else {}
            live = bool(current) and current[2] == 0
            ops = {c["kind"] for c in changes}
            if ops & {"delete", "archive"}:
                if live:
                    notes.append(f"{names.label(entity_id)}: restored since run {run}; left as it is")
                    continue
                restored = {c["field"]: c["old"] for c in changes}
                store.mutate(new_run, f"revert:{run}", kind, entity_id, restored, change="revert", actor=by)
                reverted += 1
                continue
            later = [c["field"] for c in changes if fields.get(c["field"]) != c["new"]]
            if not live or later:
                notes.append(f"{names.label(entity_id)}: {', '.join(later) or 'the record'} changed since run {run}; skipped")
                continue
            if "create" in ops:
                store.mutate(new_run, f"revert:{run}", kind, entity_id, None, change="revert", actor=by)
            else:
                target: dict[str, Any] = {**fields, **{c["field"]: c["old"] for c in changes}}
                store.mutate(new_run, f"revert:{run}", kind, entity_id, {k: v for k, v in target.items() if v is not None},
                             change="revert", actor=by)
            reverted += 1
    return reverted, notes


def revert_recorded(store: Store, lock_path: Any, run: int, names: Names, force_unlock: bool = False
                    ) -> tuple[int, int, list[str]]:
    """``revert_run`` as a run of its own under the store's lock (recorded ``ok``, or
    ``failed`` with its error); returns (the new run's id, entities reverted, notes)."""
    from .lock import StoreLock
    from .runs import acquire

    with StoreLock(lock_path, "revert") as lock:
        acquire(lock, store, force_unlock)
        new_run = store.begin_run(f"revert {run}")
        try:
            count, notes = revert_run(store, run, new_run, names)
        except BaseException as e:
            store.finish_run(new_run, "failed", {}, error=str(e))
            raise
        store.finish_run(new_run, "ok", {"reverted": count})
    return new_run, count, notes
