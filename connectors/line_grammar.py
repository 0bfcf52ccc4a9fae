"""Text that holds a whole OKR set, split into records by a line grammar; links in text.

Some files keep OKRs as one string ("O1: …\\nKR1.1: …"). A mapping part with ``grammar:``
reads each string its path finds line by line: the first rule whose regular expression
matches a line makes a record of that rule's kind, its named groups being fields (``id``,
``title``, ``target`` …, read by the same transforms as every value). Rules are tried in
order; a non-blank line no rule matches is rejected with its line number, never dropped.
Full-width CJK punctuation is the user's regex's business (``[:：]``); link text is
NFKC-normalised first, so ``ＫＲ１．２`` reads as ``KR1.2``.

A rule's ``links`` group names records of another kind (``links: {initiative: key_result}``):
a list (``KR1.2, KR1.4``, ``KR1.1、KR1.2``) or a range (``KR2.1–2.3``, ``KR2.1-3``,
``KR2.1〜KR2.3``: three links, the last number counting up). See ``parse_links``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from okrsync.errors import MappingError
from okrsync.model import ENTITY_TYPES

_SPLIT = re.compile(r"\s*(?:[,;、，；]|\band\b|\bund\b|\by\b|\be\b)\s*")
_RANGE = re.compile(r"(?P<prefix>[^\W\d]*)\s*(?P<a>\d+(?:\.\d+)*)\s*[-–—~〜]\s*(?:(?P=prefix))?\s*(?P<b>\d+(?:\.\d+)*)")
_SINGLE = re.compile(r"(?P<prefix>[^\W\d]*)\s*(?P<a>\d+(?:\.\d+)*)")
MAX_RANGE = 100  # "KR1–1000000" is a typo, not a million links
# relations the model can hold for links: (kind of the line, kind linked) → how
RELATIONS = {("initiative", "key_result"): "key_result_id", ("initiative", "objective"): "objective_id",
             ("objective", "objective"): "alignment", ("key_result", "objective"): "alignment"}


@dataclass(frozen=True)
class Rule:
    name: str  # the rule's key in the mapping (a kind, or a part name with its kind)
    kind: str
    regex: re.Pattern
    links: str | None = None  # the kind its ``links`` group points at


def compile_rules(spec: object, links: object, where: str) -> list[Rule]:
    """``grammar: {objective: REGEX, key_result: REGEX}`` (a rule may be ``{kind:, line:}``)."""
    if not isinstance(spec, dict) or not spec:
        raise MappingError(f"{where}.grammar: give one regular expression per kind, e.g. "
                           "{objective: '^O(?P<id>\\d+)[:：]\\s*(?P<title>.+)$'}")
    links = links or {}
    if not isinstance(links, dict):
        raise MappingError(f"{where}.links: give {{rule: kind it links to}}, e.g. {{initiative: key_result}}")
    rules = []
    for name, rule in spec.items():
        kind, pattern = (rule.get("kind", name), rule.get("line")) if isinstance(rule, dict) else (name, rule)
        if kind not in ENTITY_TYPES:
            raise MappingError(f"{where}.grammar.{name}: unknown entity {kind!r}; use one of {', '.join(ENTITY_TYPES)}")
        try:
            regex = re.compile(str(pattern))
        except re.error as e:
            raise MappingError(f"{where}.grammar.{name}: not a regular expression: {e}") from None
        target = links.get(name)
        if target is not None:
            if (kind, target) not in RELATIONS:
                raise MappingError(f"{where}.links.{name}: the model has no link from a {kind} to a {target}; "
                                   f"possible: {', '.join(f'{a} → {b}' for a, b in RELATIONS)}")
            if "links" not in regex.groupindex:
                raise MappingError(f"{where}.grammar.{name}: a rule with links needs a (?P<links>...) group")
        rules.append(Rule(name, kind, regex, target))
    return rules


def split(text: str, rules: list[Rule]):
    """(line number, rule or None, named groups or the line) for each non-blank line."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        for rule in rules:
            m = rule.regex.search(line.strip())
            if m:
                yield number, rule, {k: v for k, v in m.groupdict().items() if v is not None}
                break
        else:
            yield number, None, line.strip()


def parse_links(text: str) -> list[str]:
    """"KR1.2, KR1.4" → ["KR1.2", "KR1.4"]; "KR2.1–2.3" → ["KR2.1", "KR2.2", "KR2.3"].

    Raises ValueError naming the part that is neither an id nor a range.
    """
    out: list[str] = []
    for piece in _SPLIT.split(unicodedata.normalize("NFKC", text).strip()):
        if not piece:
            continue
        m = _RANGE.fullmatch(piece)
        if m:
            prefix, a, b = m.group("prefix"), m.group("a").split("."), m.group("b").split(".")
            head = a[:-1] if len(b) == 1 or b[:-1] == a[:-1] else None
            if head is None:
                raise ValueError(f"{piece!r}: a range counts up the last number only (KR2.1–2.3)")
            first, last = int(a[-1]), int(b[-1])
            if not 0 <= last - first < MAX_RANGE:
                raise ValueError(f"{piece!r}: a range runs from a lower number to a higher one, at most {MAX_RANGE}")
            out.extend(prefix + ".".join([*head, str(n)]) for n in range(first, last + 1))
            continue
        m = _SINGLE.fullmatch(piece)
        if not m:
            raise ValueError(f"{piece!r} is not an id such as KR1.2 or a range such as KR2.1–2.3")
        out.append(piece.replace(" ", ""))
    return out


def resolve(link: str, ids: set[str]) -> str | None:
    """The id a link names: itself, or without its letters ("KR1.2" → "1.2") when the
    grammar's id group captured only the numbers."""
    if link in ids:
        return link
    bare = re.sub(r"^\D+", "", link)
    return bare if bare in ids else None
