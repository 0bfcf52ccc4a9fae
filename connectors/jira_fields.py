"""Jira issues ↔ okrsync records: the mapping (``mappings/vendors/jira.yaml``) applied both ways.

``JiraMapping.load(overrides)`` merges an endpoint's ``mapping:`` section (or a YAML file
it names) over the shipped defaults and checks every key. ``names()`` lists the Jira
field names the mapping uses; ``resolve(fields_response)`` turns them into the site's ids
(``customfield_10050``). Then ``to_record`` reads an issue and ``to_issue`` builds the
``fields`` of a create or an edit. Nothing here talks to the network.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okrsync import adf, periods
from okrsync.errors import MappingError

from .common import merge, read_overrides, shipped

PROPERTY = "okrsync"  # the issue entity property holding the canonical id and exact status
CATEGORIES = ("new", "indeterminate", "done")
KIND_KEYS = ("objective", "key_result", "initiative")
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass
class JiraMapping:
    raw: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)  # Jira field name → id, once resolved

    @classmethod
    def load(cls, overrides: Any, base_dir: Path, where: str) -> JiraMapping:
        overrides, where = read_overrides(overrides, base_dir, where)
        raw = merge(shipped("jira"), overrides, where)
        period = raw["period"]
        if period["as"] not in ("label", "select", "fix_version"):
            raise MappingError(f"{where}.period.as: {period['as']!r} is not label, select or fix_version")
        if period["as"] == "select" and not period.get("field"):
            raise MappingError(f"{where}.period: 'as: select' needs 'field:', the select field's name")
        for status, category in raw["status"].items():
            if category not in CATEGORIES:
                raise MappingError(f"{where}.status.{status}: {category!r} is not a Jira status category "
                                   f"({', '.join(CATEGORIES)})")
        for kind in KIND_KEYS:
            _check_kind(raw[kind], f"{where}.{kind}", kind)
        return cls(raw)

    # ------------------------------------------------------------ field ids

    # ------------------------------------------------------------ kinds

    def types(self, kind: str) -> list[str]:
        """The issue types ``kind`` is, as the mapping names them ([] when a JQL filter alone says)."""
        value = self.raw[kind].get("issue_type")
        return [value] if isinstance(value, str) else list(value or [])

    def present(self, kind: str) -> bool:
        """Whether ``kind`` lives in Jira at all (``issue_type: null`` and no ``jql``: it does not,
        and is never searched for)."""
        return bool(self.types(kind) or self.raw[kind].get("jql"))

    def filtered(self) -> list[str]:
        """Kinds selected by their own JQL filter: each needs a search of its own."""
        return [k for k in KIND_KEYS if self.present(k) and self.raw[k].get("jql")]

    def create_type(self, kind: str) -> str | None:
        """The issue type a new record of ``kind`` is created as: the first one named."""
        types = self.types(kind)
        return types[0] if types else None

    def via(self, kind: str) -> str:
        """How a KR or initiative names its parent: ``parent``, ``link`` or ``epic_link``."""
        return self.raw[kind].get("via") or ("link" if kind == "initiative" else "parent")

    def names(self) -> dict[str, str]:
        """Jira field name → where the mapping names it, for every custom field it uses."""
        numbers = self.raw["numbers"] if self.present("key_result") else {}
        out = {name: f"mapping.numbers.{key}" for key, name in numbers.items() if name}
        if self.raw.get("epic_link") and any(self.via(k) == "epic_link" for k in ("key_result", "initiative")):
            out[self.raw["epic_link"]] = "mapping.epic_link"
        for key in ("confidence", "unit"):
            if self.raw.get(key) and self.present("key_result"):
                out[self.raw[key]] = f"mapping.{key}"
        if self.raw["period"]["as"] == "select":
            out[self.raw["period"]["field"]] = "mapping.period.field"
        for name in self.raw["extra_fields"]:
            out[name] = "mapping.extra_fields"
        return out

    def resolve(self, fields: list[dict[str, Any]]) -> list[str]:
        """Learn the ids of the named fields from GET /rest/api/3/field; return what is missing."""
        by_name: dict[str, str] = {}
        for f in fields:
            by_name.setdefault(f.get("name", "").casefold(), f["id"])
        missing = []
        for name, where in self.names().items():
            if name.casefold() in by_name:
                self.ids[name] = by_name[name.casefold()]
            else:
                close = difflib.get_close_matches(name, [f.get("name", "") for f in fields], n=1)
                missing.append(f"{where}: Jira has no field named {name!r}" +
                               (f" (did you mean {close[0]!r}?)" if close else
                                f" (create it in Jira as {_field_kind(where)}, or set {where.removeprefix('mapping.')}: null "
                                "to run without it)"))
        return missing

    def check_fields(self, fields: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """What the first run would fail on, of the fields the mapping names: (problem, the
        mapping change that fixes it). Missing fields are ``resolve``'s; here the found ones
        are checked for a usable type (a custom Number field for numbers, text for the unit)."""
        by_name = {f.get("name", "").casefold(): f for f in fields}
        out = []
        for name, where in self.names().items():
            found = by_name.get(name.casefold())
            key = where.removeprefix("mapping.")
            if found is None:
                continue
            schema = found.get("schema") or {}
            wants = "number" if key.startswith("numbers.") or key == "confidence" else "string" if key == "unit" else None
            if wants and not found.get("custom", True):
                out.append((f"{where}: {name!r} is Jira's system field {found.get('id')}, not a custom field okrsync "
                            "can write", f"name a custom {_field_kind(where).removeprefix('a ')} in {key}, or set {key}: null"))
            elif wants and schema.get("type") != wants:
                out.append((f"{where}: {name!r} is a {schema.get('type', 'untyped')} field; okrsync needs "
                            f"{_field_kind(where)} there", f"name {_field_kind(where)} in {key}, or set {key}: null"))
        return out

    def check_types(self, types: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """The mapped issue types against the project's (``GET /project/{key}``'s ``issueTypes``
        with ``hierarchyLevel``): each exists, and a child is one level under its parent."""
        level = {t.get("name", "").casefold(): t.get("hierarchyLevel", 0) for t in types}
        shown = ", ".join(f"{t.get('name')} (level {t.get('hierarchyLevel', 0)})" for t in types)
        out = []
        for kind in KIND_KEYS:
            for name in self.types(kind):
                if name.casefold() not in level:
                    out.append((f"mapping.{kind}.issue_type: the project has no issue type {name!r} (it has {shown})",
                                f"name one of the project's types in {kind}.issue_type, or set {kind}.issue_type: null "
                                f"to keep no {kind.replace('_', ' ')}s in Jira"))
        for kind, parent in (("key_result", "objective"), ("initiative", "key_result"), ("initiative", "objective")):
            if self.via(kind) == "link" or not self.present(parent) or (kind, parent) == ("initiative", "objective") \
                    and self.present("key_result"):
                continue
            tops = {level[t.casefold()] for t in self.types(parent) if t.casefold() in level}
            for name in self.types(kind):
                if name.casefold() in level and tops and level[name.casefold()] + 1 not in tops:
                    fits = [t.get("name") for t in types if t.get("hierarchyLevel", 0) + 1 in tops]
                    out.append((f"mapping.{kind}.issue_type: {name!r} (level {level[name.casefold()]}) cannot be a child "
                                f"of {', '.join(self.types(parent))} (level {', '.join(map(str, sorted(tops)))}): Jira "
                                "puts a child exactly one level under its parent",
                                (f"set {kind}.issue_type to one of {', '.join(fits)}, or " if fits else "set ")
                                + f"{kind}.via: link with a link_type"))
        return out

    def field_id(self, name: str | None) -> str | None:
        return self.ids.get(name) if name else None

    def search_fields(self) -> list[str]:
        """The explicit field list of every search (the default would be ids only)."""
        wanted = ["summary", "description", "issuetype", "parent", "labels", "assignee", "status", "duedate",
                  "updated", "issuelinks"]
        if self.raw["period"]["as"] == "fix_version":
            wanted.append("fixVersions")
        return wanted + sorted(set(self.ids.values()))

    def kind_of(self, issue_fields: dict[str, Any], searched: str | None = None) -> str | None:
        """The kind an issue is: by its type (and marker label), or ``searched``, the kind whose
        own JQL filter listed it."""
        name = ((issue_fields.get("issuetype") or {}).get("name") or "").casefold()
        for kind in ((searched,) if searched else KIND_KEYS):
            if self.raw[kind].get("jql") and kind != searched:
                continue  # only its own search says what it is
            if searched or name in (t.casefold() for t in self.types(kind)):
                label = self.raw[kind].get("label")
                if label and label not in (issue_fields.get("labels") or []):
                    return None  # an epic that is not an OKR
                return kind
        return None

    def issue_types(self) -> list[str]:
        """The issue types of the kinds that one combined search finds (those without ``jql``)."""
        return sorted({t for k in KIND_KEYS if not self.raw[k].get("jql") for t in self.types(k)})

    def holds(self, kind: str) -> set[str]:
        """Canonical fields Jira keeps for ``kind`` (the connector's ``fields``)."""
        common = {"title", "description", "owner", "status", "due"}
        if kind in KIND_KEYS and not self.present(kind):
            return set()
        if kind == "objective":
            return common | {"period"}
        if kind == "key_result":
            out = common | {"objective_id"} | {k for k, v in self.raw["numbers"].items() if v}
            if self.raw.get("unit"):
                out |= {"unit", "currency"}
            if self.raw.get("confidence"):
                out.add("confidence")
            return out
        if kind == "initiative":
            return common | ({"key_result_id", "objective_id"} if self.via(kind) != "link" else {"key_result_id"})
        return set()

    # ------------------------------------------------------------ reading

    def to_fields(self, kind: str, f: dict[str, Any], exact_status: str | None, owner: str | None,
                  endpoint: str, ids_by_key: dict[str, str] | None = None) -> dict[str, Any]:
        """Canonical fields of an issue's ``fields`` (ids of parents are Jira ids; an Epic Link
        holds a key, turned into an id through ``ids_by_key``, or left as the key)."""
        out: dict[str, Any] = {"title": f.get("summary") or "", "description": adf.to_text(f.get("description")),
                               "owner": owner, "status": self._status(f.get("status"), exact_status),
                               "due": f.get("duedate")}
        if kind == "objective":
            out["period"] = self._period(f)
        elif kind == "key_result":
            out["objective_id"] = self._parent(kind, f, "objective", ids_by_key or {})
            for key, name in self.raw["numbers"].items():
                if name:
                    out[key] = _number(f.get(self.ids[name]), name)
            if self.raw.get("confidence"):
                out["confidence"] = _number(f.get(self.ids[self.raw["confidence"]]), self.raw["confidence"])
            if self.raw.get("unit"):
                out["unit"], out["currency"] = _unit(f.get(self.ids[self.raw["unit"]]))
        elif kind == "initiative":
            out["key_result_id"] = self._parent(kind, f, "key_result", ids_by_key or {})
            if self.via(kind) != "link":
                out["objective_id"] = self._parent(kind, f, "objective", ids_by_key or {})
        for name in self.raw["extra_fields"]:
            value = f.get(self.ids[name])
            out[f"extra.{endpoint}.{name}"] = adf.to_text(value) if isinstance(value, dict) and value.get("type") == "doc" else value
        return out

    def status_unknown(self, f: dict[str, Any]) -> str | None:
        """Why an issue's status cannot be read as okrsync's (no status, or a category Jira
        does not document), or None when it can."""
        status = f.get("status")
        if not isinstance(status, dict):
            return "has no status; okrsync keeps its status empty"
        category = (status.get("statusCategory") or {}).get("key")
        if category not in CATEGORIES:
            shown = f"category {category!r}" if category else "no status category"
            return (f"status {status.get('name')!r} has {shown} (Jira's are {', '.join(CATEGORIES)}); "
                    "okrsync keeps the status it wrote last, or none")
        return None

    def _status(self, status: dict[str, Any] | None, exact: str | None) -> str | None:
        category = ((status or {}).get("statusCategory") or {}).get("key")
        if category not in CATEGORIES:
            return exact
        if exact and self.raw["status"].get(exact) == category:
            return exact  # Jira's category still agrees with what okrsync wrote: keep the nuance
        return self.raw["read_status"].get(category)

    def _period(self, f: dict[str, Any]) -> str | None:
        how = self.raw["period"]
        if how["as"] == "label":
            prefix = how.get("prefix") or ""
            found = [label[len(prefix):] for label in f.get("labels") or [] if label.startswith(prefix)]
            return found[0] if found else None
        if how["as"] == "select":
            value = f.get(self.ids[how["field"]])
            return value.get("value") if isinstance(value, dict) else value
        versions = f.get("fixVersions") or []
        return versions[0].get("name") if versions else None

    def _parent(self, kind: str, f: dict[str, Any], target: str, ids_by_key: dict[str, str]) -> str | None:
        """The Jira id of the ``target``-kind issue a ``kind`` issue hangs under, the mapping's way."""
        via = self.via(kind)
        if via == "link":
            return self._linked(kind, f, target)
        if via == "epic_link" and target == "objective":
            key = f.get(self.ids.get(self.raw["epic_link"], ""))
            if isinstance(key, str) and key:
                return ids_by_key.get(key, key)
        parent = f.get("parent") or {}
        if not parent.get("id") or not self._is(target, parent):
            return None
        return parent["id"]

    def _is(self, kind: str, ref: dict[str, Any]) -> bool:
        """Whether a referenced issue (``parent``, a link's other end) is of ``kind``; with no
        type rendered, or a kind known only by JQL, it is taken to be."""
        if not self.present(kind):
            return False  # a kind not kept in Jira is nobody's parent
        name = (((ref.get("fields") or {}).get("issuetype") or {}).get("name") or "").casefold()
        types = [t.casefold() for t in self.types(kind)]
        return not name or not types or name in types

    def _linked(self, kind: str, f: dict[str, Any], target: str) -> str | None:
        link_type = (self.raw[kind].get("link_type") or "").casefold()
        for link in f.get("issuelinks") or []:
            if (link.get("type") or {}).get("name", "").casefold() != link_type:
                continue
            other = link.get("outwardIssue") or link.get("inwardIssue") or {}
            if other.get("id") and self._is(target, other):
                return other["id"]  # either direction: Jira gives link direction no meaning
        return None

    # ------------------------------------------------------------ writing

    def to_issue(self, kind: str, fields: dict[str, Any], account: str | None) -> dict[str, Any]:
        """The ``fields`` of a create or edit (period labels, parent and links are the caller's)."""
        out: dict[str, Any] = {"summary": fields.get("title") or "", "description": adf.to_adf(fields.get("description")),
                               "assignee": {"accountId": account} if account else None,
                               "duedate": fields.get("due")}
        if kind == "objective":
            how = self.raw["period"]
            period = fields.get("period")
            if how["as"] == "select":
                out[self.ids[how["field"]]] = {"value": period} if period else None
            elif how["as"] == "fix_version":
                out["fixVersions"] = [{"name": period}] if period else []
        elif kind == "key_result":
            for key, name in self.raw["numbers"].items():
                if name:
                    out[self.ids[name]] = fields.get(key)
            if self.raw.get("confidence"):
                out[self.ids[self.raw["confidence"]]] = fields.get("confidence")
            if self.raw.get("unit"):
                out[self.ids[self.raw["unit"]]] = _unit_text(fields.get("unit"), fields.get("currency"))
        return out

    def period_label(self, period: str | None) -> str | None:
        """The label a period is written as. A Jira label cannot hold a space ("The label …
        contains spaces which is invalid", the field's own error), and people write "Q1 2026":
        a period okrsync recognises goes by its canonical name (okr-2026-Q1; reading it back is
        the same period, so no edit), any other with its spaces as underscores."""
        how = self.raw["period"]
        if how["as"] != "label" or not period:
            return None
        name = re.sub(r"\s+", "_", periods.key(period) or str(period).strip())
        return f"{how.get('prefix') or ''}{name}"

    def is_period_label(self, label: str) -> bool:
        how = self.raw["period"]
        return how["as"] == "label" and label.startswith(how.get("prefix") or "")

    def category(self, status: str | None) -> str | None:
        return self.raw["status"].get(status) if status else None


def _check_kind(section: dict[str, Any], where: str, kind: str) -> None:
    """One kind's section: issue_type a name, a list of names or null; jql a string or null;
    via parent, link (with link_type) or epic_link."""
    types = section.get("issue_type")
    if types is not None and not (isinstance(types, str) and types.strip()) and not (
            isinstance(types, list) and types and all(isinstance(t, str) and t.strip() for t in types)):
        raise MappingError(f"{where}.issue_type: {types!r} is not an issue type name, a list of names, or null "
                           f"(null: no {kind.replace('_', ' ')}s in Jira)")
    if section.get("jql") is not None and not (isinstance(section["jql"], str) and section["jql"].strip()):
        raise MappingError(f"{where}.jql: give a JQL filter as text, e.g. 'issuetype = Epic AND labels = okr'")
    via = section.get("via")
    if via is not None and via not in ("parent", "link", "epic_link"):
        raise MappingError(f"{where}.via: {via!r} is not parent, link or epic_link")
    if (via or ("link" if kind == "initiative" else "parent")) == "link" and not section.get("link_type"):
        raise MappingError(f"{where}.link_type: 'via: link' needs the issue link type's name (e.g. Relates)")


def _field_kind(where: str) -> str:
    """What kind of Jira field a mapping key needs, for a message."""
    if where.startswith("mapping.numbers") or where == "mapping.confidence":
        return "a Number field"
    if where == "mapping.unit":
        return "a short text field"
    if where == "mapping.epic_link":
        return "Jira Software's Epic Link field; newer sites need via: parent instead"
    return "any field type"


def _number(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"field {name!r} holds {value!r}, not a number")
    return float(value)


def _unit(text: Any) -> tuple[str, str | None]:
    text = (text or "").strip() if isinstance(text, str) else ""
    if text == "%":
        return "percent", None
    if text.casefold() in ("yes/no", "boolean"):
        return "boolean", None
    if CURRENCY.match(text):
        return "currency", text
    return "number", None


def _unit_text(unit: str | None, currency: str | None) -> str | None:
    if unit == "percent":
        return "%"
    if unit == "boolean":
        return "yes/no"
    if unit == "currency":
        return currency or None
    return None


def jira_time(text: str | None) -> str | None:
    """Jira's ``2026-11-25T13:40:12.345+0100`` as ISO 8601 UTC (``…Z``)."""
    if not text:
        return None
    when = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
