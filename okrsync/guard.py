"""The delete guard: a read that would delete too much stops the run before anything is written.

A listing that lost pages, a wrong filter or a token scoped to the wrong team looks, to a
sync, like a mass delete. Deletes are taken from a read only when they are at most
``sync.deletes.max_ratio`` of the endpoint's linked records (exactly that share passes, one
record more stops), and never from a read that listed nothing at all. ``--allow-mass-delete``
lets both pass for one run.
"""

from __future__ import annotations

from .errors import DeleteGuardError


def check(endpoint: str, missing: int, linked: int, *, listed: bool, max_ratio: float, allow: bool = False) -> None:
    """Raise DeleteGuardError when a read of ``endpoint`` that no longer shows ``missing``
    of its ``linked`` records would delete more than ``max_ratio`` of them, or when it
    ``listed`` no records at all; ``allow`` (``--allow-mass-delete``) lets both pass."""
    if allow:
        return
    if not listed:
        why = "listed no records at all"
    elif missing > max_ratio * linked:
        why = f"would delete {missing} of its {linked} linked records (more than {max_ratio:.0%})"
    else:
        return
    raise DeleteGuardError(f"{endpoint} {why}; stopped before writing anything. If that is right, run again "
                           "with --allow-mass-delete (once), or raise sync.deletes.max_ratio")
