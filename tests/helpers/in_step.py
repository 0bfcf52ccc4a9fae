"""Spies on the store's loads of the records in step an endpoint holds (WriteBatch.in_step)."""

from __future__ import annotations

from okrsync.store import Store


def spy_loads(monkeypatch) -> tuple[list[list], list[str]]:
    """(the keys of each load of some records in step, sorted; the endpoints of each load of
    all of them), filled as the test runs."""
    loaded, everything = [], []
    in_step_of, in_step = Store.in_step_of, Store.in_step

    def spy_of(self, endpoint, keys):
        loaded.append(sorted(keys))
        return in_step_of(self, endpoint, keys)

    def spy(self, endpoint, **kw):
        if not kw.get("count"):
            everything.append(endpoint)
        return in_step(self, endpoint, **kw)

    monkeypatch.setattr(Store, "in_step_of", spy_of)
    monkeypatch.setattr(Store, "in_step", spy)
    return loaded, everything
