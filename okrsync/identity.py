"""Identity: which canonical record an endpoint's unlinked record already is.

First contact (``Matcher.match``): by id, then by normalised title plus period (objectives)
or parent (everything else). Interrupted creates (``Matcher.sent``): a record a push sent
but never linked (the run died, or the answer was lost) is recognised exactly by the
canonical id the tool holds for us, else by the id the tool answered, else by the fields
sent, even renamed or lightly edited since (``near``); several candidates are reported,
never guessed. A record the tool took in several requests and read before the last may read
as another kind (``Matcher.half_made``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import periods
from .model import REFERENCES
from .store import Store, diff
from .transforms import normalise_key


class Matcher:
    """First contact: find the canonical record an unlinked endpoint record already is.

    By id first (a hub-written id, or the same external id another endpoint uses), then by
    normalised title plus period (objectives) or parent (everything else). Records already
    linked to this endpoint are never candidates. Several candidates: the caller reports them.
    ``sent`` first tells whether the record is a create of an interrupted push.
    """

    def __init__(self, store: Store, taken: set[str], intents: Iterable[tuple[str, str, dict, str | None]] = (),
                 holds_id: bool = False):
        self.store = store
        self.taken = taken
        self.holds_id = holds_id
        self._sent: list[tuple[str, str, dict]] = []  # (kind, canonical id, fields sent)
        self._by_cid: dict[str, dict] = {}
        self._by_answer: dict[tuple[str, str], str] = {}  # (kind, external id the tool answered) → canonical id
        for kind, cid, payload, ext in intents:
            self._sent.append((kind, cid, payload))
            self._by_cid[cid] = payload
            if ext:
                self._by_answer[(kind, ext)] = cid
        self._by_title: dict[tuple, list[str]] | None = None
        self._by_ext: dict[tuple[str, str], set[str]] | None = None

    def match(self, kind: str, external_id: str, fields: dict[str, Any], written_id: str | None = None) -> str | list[str] | None:
        """``written_id`` is a canonical id the endpoint kept for us (an issue property)."""
        if self._by_title is None:
            self._index()
        if not self._by_title and not self._by_ext:
            return None  # an empty hub (a first import): nothing to match
        for cid in filter(None, (written_id, external_id)):
            if cid not in self.taken:
                found = self.store.get_any(cid)
                if found and found[0] == kind and found[2] == 0:
                    return cid
        by_id = sorted(self._by_ext.get((kind, external_id), set()) - self.taken)
        if len(by_id) == 1:
            return by_id[0]
        candidates = [c for c in self._by_title.get(title_key(kind, fields), []) if c not in self.taken]
        if len(candidates) == 1:
            return candidates[0]
        return candidates or None

    def sent(self, kind: str, external_id: str, fields: dict[str, Any],
             written_id: str | None = None) -> tuple[str, dict] | list[str] | None:
        """The create of an interrupted push this record is, as (canonical id, fields sent);
        the candidates when it may be any of several; None when it is none of them.

        Exactly by the canonical id the record carries, where the tool holds one (a record
        without one was not made by okrsync); else by the id the tool answered, if that was
        recorded; else by the fields sent: the same title and place, or ``near`` them."""
        if not self._sent:
            return None
        if written_id or self.holds_id:
            found = written_id in self._by_cid and written_id not in self.taken
            return (written_id, self._by_cid[written_id]) if found else None
        cid = self._by_answer.get((kind, external_id))
        if cid is not None and cid not in self.taken:
            return cid, self._by_cid[cid]
        key = title_key(kind, fields)
        open_ = [(c, p) for k, c, p in self._sent if k == kind and c not in self.taken]
        found = [(c, p) for c, p in open_ if title_key(kind, p) == key]
        if not found:  # changed where it landed: the same place, little else changed
            found = [(c, p) for c, p in open_ if near(kind, p, fields)]
        ids = list(dict.fromkeys(c for c, _ in found))
        if len(ids) > 1:
            return ids
        return found[0] if ids else None

    def half_made(self, kind: str, fields: dict[str, Any]) -> tuple[str, str, dict] | None:
        """The one open create of another kind that had a parent, with this record's title,
        whose fields sent agree with every value the record holds: (its kind, canonical id,
        fields sent). A record without a parent the tool took for another kind (``Hub._half_made``)."""
        if not self._sent:  # no open create (every first import): no title to normalise
            return None
        title = normalise_key(fields.get("title") or "")
        found = [(k, c, p) for k, c, p in self._sent
                 if k != kind and c not in self.taken and title and normalise_key(p.get("title") or "") == title
                 and any(p.get(ref) for ref in REFERENCES.get(k, {}))
                 and all(p.get(name) == value for name, value in fields.items() if value is not None and name in p)]
        return found[0] if len(found) == 1 else None

    @property
    def nothing_to_match(self) -> bool:
        """No open create and an empty hub (indexed now, if no match did yet): no record read
        can be one the hub holds (a first import)."""
        self.ready()
        return not self._sent and not self._by_title and not self._by_ext

    def take(self, cid: str) -> None:
        """No other record of this read may be ``cid``. Not remembered where nothing is ever
        matched (an empty hub indexed, no open create: a first import; 10 MB at 200,000 KRs)."""
        if self._sent or self._by_title is None or self._by_title or self._by_ext:
            self.taken.add(cid)

    def ready(self) -> None:
        """Index the hub's records now, if no match did yet: a pull that writes its records
        as it reads (``Hub.pull``) indexes them before its first write, so its own are not
        candidates (nor make the empty hub's short cut in ``match`` look up every record)."""
        if self._by_title is None:
            self._index()

    def title(self, cid: str) -> str:
        return (self._by_cid.get(cid) or {}).get("title") or cid

    def _index(self) -> None:
        self._by_title = {}
        for cid, kind, fields in self.store.entities():
            self._by_title.setdefault(title_key(kind, fields), []).append(cid)
        self._by_ext = {}
        for _, kind, ext, cid in self.store.all_links():
            self._by_ext.setdefault((kind, ext), set()).add(cid)


# a copy of an interrupted create changed on the tool in at most NEAR fields (its title and
# one more), keeping at least KEPT other fields as sent, is recognised by the fields sent
# where the tool cannot hold our id; a user's new record beside it rarely keeps that much
NEAR, KEPT = 2, 2


def near(kind: str, sent: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Whether a record read may be the create that sent ``sent``, changed since where it
    landed: the same place (period or parent), and only renamed, or at most ``NEAR`` fields
    changed with at least ``KEPT`` others (neither title nor place) unchanged."""
    changed = diff(sent, fields)
    if title_key(kind, sent)[2] != title_key(kind, fields)[2] or len(changed) > NEAR:
        return False
    if set(changed) <= {"title"}:
        return True
    place = {"period", *REFERENCES.get(kind, {})}
    return sum(1 for k, v in sent.items() if v is not None and k != "title" and k not in place
               and fields.get(k) == v) >= KEPT


def title_key(kind: str, fields: dict[str, Any]) -> tuple:
    """(kind, normalised title, period or parent): what first contact matches a record by."""
    # a check-in has no title: a KR's check-ins are told apart by their time, not all one
    title = fields.get("at") or "" if kind == "check_in" else normalise_key(fields.get("title") or "")
    scope = periods.key(fields.get("period")) if kind == "objective" else next(  # "Q1 2026" is "2026-Q1"
        (fields.get(r) for r in REFERENCES.get(kind, {}) if fields.get(r)), None)
    return (kind, title, scope)
