"""Key results measured by levels (ordinal KRs): the rules in one place.

An ordinal KR (direction ``levels``) names its levels in order, lowest first, each with a
description in words: the *Commit, Target, Stretch* model of Ben Lamorte's "OKRs Field
Book" (https://sokr.app/knowledge-base/commit-target-stretch-a-model-for-classifying-key-results/).
A check-in records the level reached (``level``); ``NONE`` says no level was reached yet.

Its score comes from the level reached (``scores``):

- a level's own ``score`` (0.0–1.0) where the data gives one (a cell's ``target (0.7): …``,
  okr-json's ``"score"``);
- otherwise level *i* of *n* (counted from 1) scores *i / n*. For commit / target / stretch
  that is ⅓, ⅔ and 1, graded (one decimal, ``model.score``) 0.3, 0.7 and 1.0: Google's grades
  as Marty Cagan's "Inspired" gives them (0.3 the minimum you knew you could do, 0.7 what you
  hoped for, 1.0 a truly exceptional result);
- ``NONE`` scores 0.0; no level reached known scores nothing (``–``).

Levels are stored as a list of ``{"name", "description"?, "score"?}``. In a spreadsheet
cell they are written separated by ``;`` (read: ``;``, ``|`` or a new line), as JSON where
a name or a description holds those characters: ``commit: 2 pilots; target (0.7): 5
pilots; stretch: 10 pilots`` (``parse`` / ``text``).

A tool that cannot hold levels gets the KR as a numeric one (``as_numeric``): start 0,
target *n*, current the number of the level reached, the levels listed in its description;
a whole number from 0 to *n* read back from there is a level reached (``from_number``,
``read_back``), in the KR and in its check-ins.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

NONE = "none"  # the level reached before the first level is
_LINE = re.compile(r"\s*(?P<name>[^:()]+?)\s*(?:\((?P<score>[^()]*)\))?\s*(?::\s*(?P<description>.*?))?\s*$", re.S)
_SEPARATORS = re.compile(r"\s*(?:\n|;|\|)\s*")
_SPECIAL = re.compile(r"[\n;|:()\[]|^\s|\s$")  # in a name: written as JSON


def names(levels: list[dict[str, Any]] | None) -> list[str]:
    """The levels' names, lowest first."""
    return [str(lv.get("name")) for lv in levels or () if isinstance(lv, dict)]


def index(levels: list[dict[str, Any]] | None, reached: str | None) -> int | None:
    """Position of the level reached counted from 1 (0 for ``NONE``); None when unknown."""
    if reached is None:
        return None
    key = reached.strip().casefold()
    if key == NONE:
        return 0
    found = [i for i, name in enumerate(names(levels), 1) if name.strip().casefold() == key]
    return found[0] if found else None


def canonical(levels: list[dict[str, Any]] | None, reached: str | None) -> str | None:
    """A level reached as the KR spells it ("Target" → "target"); unknown names unchanged."""
    i = index(levels, reached)
    if i is None:
        return reached
    return NONE if i == 0 else names(levels)[i - 1]


def scores(levels: list[dict[str, Any]]) -> list[float]:
    """Each level's score: its own where given, else i / n."""
    n = len(levels)
    return [float(lv["score"]) if lv.get("score") is not None else i / n for i, lv in enumerate(levels, 1)]


def from_number(levels: list[dict[str, Any]] | None, value: Any) -> str | None:
    """The level a tool holding the KR as numbers (``as_numeric``) means by ``value``: a whole
    number from 0 (``NONE``) to n; None for anything else."""
    n = len(names(levels))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer() or not 0 <= value <= n:
        return None
    return NONE if value == 0 else names(levels)[int(value) - 1]


def progress(levels: list[dict[str, Any]] | None, reached: str | None) -> float | None:
    """The score of the level reached (0.0 for ``NONE``), None when unknown."""
    i = index(levels, reached)
    if i is None or not levels:
        return None
    return 0.0 if i == 0 else min(1.0, max(0.0, scores(levels)[i - 1]))


def problems(levels: Any, reached: str | None, report) -> None:
    """Report what breaks the rules of a levels KR through ``report(field, message, severity)``."""
    if not isinstance(levels, list) or len(levels) < 2:
        report("levels", "a KR measured by levels needs at least two named levels, lowest first "
               "(e.g. 'commit: …; target: …; stretch: …')")
        return
    seen: set[str] = set()
    for n, lv in enumerate(levels, 1):
        name = lv.get("name") if isinstance(lv, dict) else None
        if not isinstance(name, str) or not name.strip():
            report("levels", f"level {n} has no name")
            continue
        key = name.strip().casefold()
        if key == NONE:
            report("levels", f"level {n}: {NONE!r} is reserved for 'no level reached'; rename the level")
        elif key in seen:
            report("levels", f"level {n}: the name {name!r} is used twice")
        seen.add(key)
        score = lv.get("score")
        if score is not None and (not isinstance(score, (int, float)) or not 0 <= score <= 1):
            report("levels", f"level {n} ({name}): score {score!r} is not a number from 0 to 1")
            return
    if all(isinstance(lv, dict) for lv in levels):
        got = scores(levels)
        if any(b < a for a, b in zip(got, got[1:])):
            report("levels", f"level scores {', '.join(f'{s:g}' for s in got)} fall somewhere; "
                   "levels go lowest first, each scoring at least the one before")
    if reached is not None and index(levels, reached) is None:
        report("level", f"level reached {reached!r} is not one of its levels ({', '.join(names(levels))}) "
               f"nor {NONE!r}; its score is unknown until it is", "warning")


def parse(value: Any) -> list[dict[str, Any]] | None:
    """A cell's levels: ``commit: 2 pilots; target (0.7): 5 pilots; stretch: 10`` (or one
    level per line, or ``|`` between them) → ``[{"name": "commit", "description": "2 pilots"}, …]``.

    A list (JSON/YAML sources) is taken as it is: names as strings, or dicts. Raises
    ValueError (a ``TransformError`` in the mapping) with what was expected."""
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip().startswith("["):  # what ``text`` writes when words would not do
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"expected levels like 'commit: …; target: …; stretch: …' or a JSON list, got {value!r}") from None
        if not isinstance(value, list):
            raise ValueError(f"expected a JSON list of levels, got {value!r}")
    if isinstance(value, list):
        out = [{"name": str(v)} if not isinstance(v, dict) else dict(v) for v in value]
        return out or None
    parts = [p for p in _SEPARATORS.split(str(value).strip()) if p]
    out = []
    for part in parts:
        m = _LINE.fullmatch(part)
        if not m or not m.group("name"):
            raise ValueError(f"expected levels like 'commit: …; target: …; stretch: …', got {value!r}")
        level: dict[str, Any] = {"name": m.group("name")}
        if m.group("description"):
            level["description"] = m.group("description")
        if m.group("score") is not None:
            level["score"] = _score(m.group("score"), value)
        out.append(level)
    if len(out) < 2:
        raise ValueError(f"expected at least two levels like 'commit: …; target: …; stretch: …', got {value!r}")
    return out


def _score(text: str, cell: Any) -> float:
    text = text.strip().replace(",", ".")
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"expected a level score like '(0.7)' or '(70%)', got {text!r} in {cell!r}") from None


def text(levels: list[dict[str, Any]] | None) -> str | None:
    """Levels as one cell (``parse`` reads it back): words, or JSON where a name or a
    description holds what the words use to separate levels (";", "|", a new line) or a name
    what they use inside one (":", brackets)."""
    if not levels:
        return None
    if any(_SPECIAL.search(str(lv.get("name"))) or _SEPARATORS.search(str(lv.get("description") or ""))
           for lv in levels):
        return json.dumps(levels, ensure_ascii=False)
    out = []
    for lv in levels:
        part = str(lv.get("name"))
        if lv.get("score") is not None:
            part += f" ({lv['score']:.15g})"
        if lv.get("description"):
            part += f": {lv['description']}"
        out.append(part)
    return "; ".join(out)


def reached_text(levels: list[dict[str, Any]] | None, reached: str | None) -> str:
    """How reports and ``show`` name the level reached: "target (2 of 3)", "none of 3", "? of 3"."""
    n = len(levels or ())
    i = index(levels, reached)
    if i is None:
        return f"{reached} (not a level of {n})" if reached else f"? of {n} levels"
    return f"none of {n} levels" if i == 0 else f"{names(levels)[i - 1]} ({i} of {n})"


def as_numeric(fields: dict[str, Any]) -> dict[str, Any]:
    """A levels KR's fields as a tool without levels holds them: increase, start 0, target n,
    current the number of the level reached, the levels listed in the description."""
    levels = fields.get("levels") or []
    listed = "; ".join(f"{i} = {lv.get('name')}" + (f": {lv['description']}" if lv.get("description") else "")
                       for i, lv in enumerate(levels, 1))
    description = "\n\n".join(x for x in (fields.get("description"), f"Levels (0 = none): {listed}") if x)
    out = {k: v for k, v in fields.items() if k not in ("levels", "level")}
    reached = index(levels, fields.get("level"))
    out.update(direction="increase", unit="number", start=0.0, target=float(len(levels)),
               current=None if reached is None else float(reached), description=description)
    return out


def held_as_numbers(endpoint: str, krs: list[tuple[str, dict[str, Any]]],
                     label: Callable[[str, str | None], str] | None = None) -> list[str]:
    """The note each push to a tool without levels makes, naming the KRs it holds as numbers
    (``label(id, title)``: how the CLI names a record, ``okrsync.names.Names.label``)."""
    if not krs:
        return []
    shown = ", ".join(label(cid, f.get("title")) if label else repr(f.get("title")) for cid, f in krs[:5])
    more = f" and {len(krs) - 5} more" if len(krs) > 5 else ""
    return [f"{len(krs)} key result(s) measured by levels are held on {endpoint} as numeric KRs from 0 to the number "
            f"of levels (current: the level reached, 0 = none; the levels listed in the description), as {endpoint} "
            f"cannot hold levels: {shown}{more}"]


_LISTED = "Levels (0 = none): "  # how as_numeric lists the levels in a description


def read_back(old: dict[str, Any], merged: dict[str, Any], endpoint: str) -> tuple[dict[str, Any], list[str]]:
    """A levels KR (``old``, the hub's) merged with edits read from a tool that holds it as
    numbers (``as_numeric``): a whole number from 0 to n in ``current`` is the level reached
    there; the description loses the levels list again; other numeric edits are not read,
    and a note says so (with what is not a level)."""
    out = dict(merged)
    notes = []
    n = len(names(old.get("levels")))
    value = out.get("current")
    if value != old.get("current"):
        out["current"] = old.get("current")
        if (level := from_number(old.get("levels"), value)) is not None:
            out["level"] = level
        else:
            notes.append(f"{endpoint}: key result {old.get('title')!r}: current value {value!r} is not a level "
                         f"(0 to {n}); not read — it is measured by levels")
    text = out.get("description")
    if isinstance(text, str) and _LISTED in text:
        kept = text[:text.rindex(_LISTED)].rstrip("\n")
        out["description"] = kept or None
    ignored = [f for f in ("direction", "unit", "start", "target") if out.get(f) != old.get(f)]
    if ignored:
        notes.append(f"{endpoint}: key result {old.get('title')!r}: {', '.join(ignored)} edited there not read: "
                     "it is measured by levels, held there as numbers from 0 to the number of levels")
        out.update({f: old.get(f) for f in ignored})
    return out, notes
