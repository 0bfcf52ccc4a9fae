"""How the CLI names a record: by its title and the ids people know it by in their tools.

The store's canonical ids (``kr_9502fdada171``) are nobody's: a person knows ``KR-1`` in
the planning sheet and ``OKR-12`` in Jira. ``Names`` labels records that way for every
command's text output (the canonical id only with --debug; ``--json`` carries both), and
``resolve`` turns what a person typed (an endpoint's id, a canonical id, or a piece of
the title) back into the canonical id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import OkrsyncError
from .store import Store

MAX_CANDIDATES = 10
TITLE_WIDTH = 50


class AmbiguousRecord(OkrsyncError):
    """A reference names no record, or several: bad usage (exit 2), with the candidates."""

    exit_code = 2


@dataclass
class Names:
    """Titles and endpoint ids of every record the store knows (deleted ones too: the
    change log names them), read once per command."""

    titles: dict[str, str] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)  # canonical id → ["planning-sheet KR-1", "jira OKR-12"]
    debug: bool = False

    @classmethod
    def of(cls, store: Store, debug: bool = False) -> Names:
        titles = {cid: str(title) for cid, title in store.db.execute(
            "SELECT id, json_extract(fields, '$.title') FROM entities") if title}
        ids: dict[str, list[str]] = {}
        # the key (Jira's OKR-12) where the tool shows one, else the id the endpoint gave (a sheet's KR-1)
        for cid, endpoint, ext, key in store.db.execute(
                "SELECT canonical_id, endpoint, external_id, key FROM links ORDER BY endpoint, kind"):
            ids.setdefault(cid, []).append(f"{endpoint} {key or ext}")
        return cls(titles, ids, debug)

    def known_as(self, cid: str) -> list[str]:
        return self.ids.get(cid, [])

    def label(self, cid: str, title: str | None = None, known_as: list[str] | None = None) -> str:
        """``'Grow ARR' (planning-sheet KR-1, jira OKR-12)``; the canonical id is added with
        --debug, and is all there is for a record with neither a title nor a link."""
        title = title or self.titles.get(cid)
        ids = self.ids_text(cid, title, known_as)
        text = repr(_short(title)) if title else "(no title)"
        return f"{text} ({ids})" if ids else text

    def ids_text(self, cid: str, title: str | None = None, known_as: list[str] | None = None) -> str:
        """``'KR-1 on planning-sheet; OKR-12 on jira'``: what is printed beside a record's
        title (reports print it as it is, ``label`` in brackets). The canonical id is added
        with --debug, and is all there is for a record with neither a title nor a link."""
        ids = list(known_as if known_as is not None else self.known_as(cid))
        if self.debug or not (title or self.titles.get(cid) or ids):
            ids.append(cid)
        return _grouped(ids)

    def describe(self, cid: str) -> dict:
        """What --json adds beside a canonical id."""
        return {"title": self.titles.get(cid), "known_as": self.known_as(cid)}

    def record(self, cid: str, title: str | None = None) -> dict:
        """A record as reports' data names it: ``{"id", "title", "known_as"}`` (the canonical
        id is for --json; the text renderings print the title and ``ids_text``)."""
        return {"id": cid, "title": title or self.titles.get(cid), "known_as": self.known_as(cid)}


def _grouped(ids: list[str]) -> str:
    """["board KR-2", "planning-sheet KR-2", "jira OKR-9"] → "KR-2 on board, planning-sheet; OKR-9 on jira"."""
    on: dict[str, list[str]] = {}
    for text in ids:
        # "endpoint id": an endpoint's name has no space, a sheet's id may ("Grow ARR/Hire 5 people")
        endpoint, _, key = text.partition(" ") if " " in text else ("", "", text)
        on.setdefault(key, []).append(endpoint)
    return "; ".join(f"{key} on {', '.join(e for e in endpoints if e)}" if any(endpoints) else key
                     for key, endpoints in on.items())


def _short(text: str, width: int = TITLE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def resolve(store: Store, ref: str) -> str:
    """The canonical id ``ref`` names: a canonical id, the id or key an endpoint knows a
    record by (``KR-1``, ``OKR-12``, ``jira OKR-12``), or a piece of one record's title
    (case-insensitive; an exact title wins over pieces). Several or no records:
    AmbiguousRecord, listing the candidates."""
    ref = ref.strip()
    if store.get_any(ref) is not None:
        return ref
    endpoint, _, bare = ref.partition(" ")
    found = sorted({cid for (cid,) in store.db.execute(
        "SELECT canonical_id FROM links WHERE (external_id = ? OR key = ? COLLATE NOCASE) "
        "OR (endpoint = ? AND (external_id = ? OR key = ? COLLATE NOCASE))", [ref, ref, endpoint, bare, bare])})
    if not found:
        rows = list(store.db.execute("SELECT id, json_extract(fields, '$.title') FROM entities "
                                     "WHERE instr(lower(json_extract(fields, '$.title')), lower(?)) > 0 "
                                     "ORDER BY deleted, rowid", [ref]))
        exact = [cid for cid, title in rows if str(title).casefold() == ref.casefold()]
        found = exact or [cid for cid, _ in rows]
    if len(found) == 1:
        return found[0]
    names = Names.of(store, debug=True)
    if not found:
        raise AmbiguousRecord(f"no record is known as {ref!r}: give an endpoint's id (KR-1, OKR-12), a canonical id, "
                              "or a piece of its title (okrsync show lists them)")
    listed = "; ".join(names.label(cid) for cid in found[:MAX_CANDIDATES])
    more = f"; and {len(found) - MAX_CANDIDATES} more" if len(found) > MAX_CANDIDATES else ""
    raise AmbiguousRecord(f"{ref!r} names {len(found)} records: {listed}{more}; give one of their ids")
