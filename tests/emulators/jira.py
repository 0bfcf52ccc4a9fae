"""A stateful emulator of the Jira Cloud platform REST API v3 subset okrsync uses.

Answers in the shapes of ``tests/specs/jira-cloud-platform-v3.openapi.json`` (the tests
in ``tests/test_jira_emulator.py`` check every body against it) with Jira's behaviour where
the spec only describes it in prose: bounded JQL, minute-precision dates in the user's time
zone, ``nextPageToken`` paging without ``total``, partial bulk-create failure, changelog
histories on every change, asynchronous bulk tasks.

State is public so tests can arrange and inspect it:

- ``issues``: id → ``{"id", "key", "fields": {…}, "properties": {…}}`` in insertion order.
  Stored fields hold Jira's value shapes except that references (``parent``, issue links)
  are rendered at answer time, so a parent's summary or status is never stale.
- ``links``: link id → ``{"id", "type": {…}, "inward": issue id, "outward": issue id}``.
- ``changelog``: issue id → histories, oldest first, in Jira's ``Changelog`` shape.
- ``tasks``: bulk task id → its bookkeeping.

Helpers act as a person in the UI would: ``add_issue``, ``edit``, ``transition``,
``delete``, ``run_tasks``. Switches: ``conflict_next_edit`` (the next PUT answers 409),
``expire_tokens()`` (outstanding ``nextPageToken``s become invalid), ``bulk_polls``.

Where the documented service is less kind than a naive fake, so is this one:

- ``search_lag``: seconds (on the emulator's clock) before a new issue shows in JQL search;
  a direct read (``GET /issue``, ``bulkfetch``) sees it at once. Search is eventually
  consistent, as the spec says of ``/search/jql``.
- ``page_size``: field-rich pages hold at most this many issues, whatever ``maxResults``
  asked; a ``maxResults`` outside 0–5,000 is refused with 400, not clamped.
- ``endpoint_rates``: ``{(METHOD, path regex): requests per second}``, Jira's per-endpoint
  burst limits (429 + ``Retry-After``); a retry on that endpoint before the ``Retry-After``
  has passed is refused again, with a longer wait (``early_retries`` counts them).
- ``GET /serverInfo``; an over-50 bulk create answers 400 with one error per element, each
  with its ``failedElementNumber``, as clients parse it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from .server import Emulator, HttpError, PageExpired, Request, route

API = "/rest/api/3"
CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
CUSTOM_TYPES = {  # our short type name → (schema.type, schema.custom)
    "number": ("number", CF + "float"),
    "text": ("string", CF + "textfield"),
    "select": ("option", CF + "select"),
}
DEFAULT_CUSTOM_FIELDS = [
    {"name": "Start value", "type": "number"},
    {"name": "Target value", "type": "number"},
    {"name": "Current value", "type": "number"},
    {"name": "Unit", "type": "text"},
    {"name": "OKR period", "type": "select", "options": None},  # None: any value, added on first use
    {"name": "Confidence", "type": "number"},
]
FIRST_CUSTOM_ID = 10050
DEFAULT_USERS = [
    {"accountId": "712020:5f0c0b6e-0d5b-4a4c-9d3f-b07b07b07b07", "emailAddress": "bot@example.com",
     "displayName": "okrsync bot"},
    {"accountId": "5b10a2844c20165700ede21g", "emailAddress": "mia@example.com", "displayName": "Mia Krystof"},
    # a user whose profile hides the e-mail address: found by search, but without emailAddress
    {"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": "emma@example.com", "displayName": "Emma Richards",
     "emailVisible": False},
]
DEFAULT_ISSUE_TYPES = [  # hierarchyLevel: 1 epic, 0 standard, -1 subtask; a parent is exactly one level up
    {"id": "10000", "name": "Epic", "hierarchyLevel": 1},
    {"id": "10001", "name": "Story", "hierarchyLevel": 0},
    {"id": "10002", "name": "Task", "hierarchyLevel": 0},
    {"id": "10003", "name": "Sub-task", "hierarchyLevel": -1},
]
CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
STATUSES = {  # ids as in the spec's bulk-transition example
    "10001": {"id": "10001", "name": "To Do", "statusCategory": CATEGORIES["new"]},
    "10002": {"id": "10002", "name": "In Progress", "statusCategory": CATEGORIES["indeterminate"]},
    "10003": {"id": "10003", "name": "Done", "statusCategory": CATEGORIES["done"]},
}
TRANSITIONS = {"11": "10001", "21": "10002", "31": "10003"}  # transition id → target status id (all global)
RESOLUTION_DONE = {"id": "10000", "name": "Done", "description": "Work has been completed on this issue."}
PRIORITIES = {str(i): {"id": str(i), "name": n} for i, n in enumerate(["Highest", "High", "Medium", "Low", "Lowest"], 1)}
DEFAULT_LINK_TYPES = [
    {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
    {"id": "10001", "name": "Cloners", "inward": "is cloned by", "outward": "clones"},
    {"id": "10002", "name": "Duplicate", "inward": "is duplicated by", "outward": "duplicates"},
    {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"},
    {"id": "10004", "name": "Contributes", "inward": "is contributed to by", "outward": "contributes to"},
]
SYSTEM_FIELDS = [  # id, name, schema type ("array/item type" for an array); the schema names the id as system
    ("summary", "Summary", "string"),
    ("description", "Description", "string"),
    ("issuetype", "Issue Type", "issuetype"),
    ("parent", "Parent", "issuelink"),
    ("project", "Project", "project"),
    ("labels", "Labels", "array/string"),
    ("assignee", "Assignee", "user"),
    ("reporter", "Reporter", "user"),
    ("status", "Status", "status"),
    ("resolution", "Resolution", "resolution"),
    ("priority", "Priority", "priority"),
    ("fixVersions", "Fix Version/s", "array/version"),
    ("issuelinks", "Linked Issues", "array/issuelinks"),
    ("created", "Created", "datetime"),
    ("updated", "Updated", "datetime"),
    ("duedate", "Due date", "date"),
]
READ_ONLY = {"status", "resolution", "created", "updated", "issuelinks", "reporter", "project"}
CHANGELOG_NAMES = {"parent": "IssueParentAssociation"}  # what Jira calls a field in histories, when not its id
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
BAD_DATE = ("Date value '{}' for field '{}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
            "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")
SEARCH_KEYS = {"jql", "fields", "maxResults", "nextPageToken", "properties", "expand", "fieldsByKeys",
               "reconcileIssues", "failFast"}


class Rejected(Exception):
    """A request (or one element of a bulk request) Jira refuses: ErrorCollection content."""

    def __init__(self, errors: dict[str, str] | None = None, messages: list[str] | None = None, status: int = 400):
        super().__init__(f"{status}: {messages or ''} {errors or ''}")
        self.errors, self.messages, self.status = errors or {}, messages or [], status

    def collection(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


@lru_cache(maxsize=65536)
def parse_time(text: str) -> datetime:
    """A Jira timestamp (``2026-11-25T14:40:12.345+0100``) as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def adf_text(doc: Any) -> str:
    """The plain text of an Atlassian Document Format tree (for changelog strings)."""
    if isinstance(doc, dict):
        return doc.get("text", "") + "".join(adf_text(c) for c in doc.get("content", []))
    return ""


def _number(key: str) -> tuple[str, int]:
    project, _, n = key.rpartition("-")
    return project, int(n)


class JiraEmulator(Emulator):
    """Jira Cloud for one project. Constructor arguments:

    - ``project``: the project key (issue keys ``KEY-1``…); ``users``: dicts with
      ``accountId``, ``emailAddress``, ``displayName`` and optionally ``emailVisible: False``.
    - ``email``/``token``: the accepted Basic credentials; ``bearer``: an accepted OAuth
      token too. The user with ``email`` is "myself" (added when not among ``users``).
    - ``custom_fields``: dicts ``{"name", "type": number|text|select, "id"?, "options"?}``;
      ids default to ``customfield_10050`` upwards in order. Select ``options=None`` accepts
      any value (auto-added), a list restricts them.
    - ``now``: a clock returning an aware datetime or an epoch float (default: real time).
    - ``time_zone``: myself's zone; timestamps are rendered in it and JQL dates read in it.
    - ``page_size``: the largest search page with fields (5000 when only id/key are asked).
    - ``bulk_polls``: how many polls of a bulk task answer RUNNING before it completes; the
      task's work is applied when it completes.
    """

    def __init__(self, *, project: str = "OKR", users: list[dict] | None = None, email: str = "bot@example.com",
                 token: str = "t0ken", bearer: str | None = None, custom_fields: list[dict] | None = None,
                 now: Callable[[], Any] | None = None, page_size: int = 50, time_zone: str = "Europe/Berlin",
                 bulk_polls: int = 1, link_types: list[dict] | None = None, issue_types: list[dict] | None = None,
                 search_lag: float = 0.0, endpoint_rates: dict[tuple[str, str], float] | None = None):
        super().__init__()
        self.search_lag = search_lag
        self.endpoint_rates = dict(endpoint_rates or {})
        self.early_retries = 0
        self._indexed: dict[str, datetime] = {}  # issue id → when search shows it (new issues, while lagging)
        self._buckets: dict[str, tuple[float, float]] = {}  # endpoint regex → (tokens, at)
        self._refused_until: dict[str, float] = {}  # endpoint regex → when its Retry-After ends
        self.project = {"id": "10000", "key": project, "name": f"{project} project"}
        self.users = [dict(u) for u in (users if users is not None else DEFAULT_USERS)]
        me = next((u for u in self.users if u.get("emailAddress") == email), None)
        if me is None:
            me = {"accountId": "712020:" + hashlib.sha1(email.encode()).hexdigest()[:24], "emailAddress": email,
                  "displayName": email.split("@")[0]}
            self.users.insert(0, me)
        self.me = me
        self._credentials = {"Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()}
        if bearer:
            self._credentials.add("Bearer " + bearer)
        self.tz = ZoneInfo(time_zone)
        self._clock = now
        self.page_size = page_size
        self.bulk_polls = bulk_polls
        self.issue_types = [dict(t, subtask=t["hierarchyLevel"] < 0, description="")
                            for t in (issue_types or DEFAULT_ISSUE_TYPES)]
        self.link_types = [dict(t) for t in (link_types or DEFAULT_LINK_TYPES)]
        self.custom_fields: dict[str, dict] = {}
        for n, spec in enumerate(custom_fields if custom_fields is not None else DEFAULT_CUSTOM_FIELDS):
            fid = spec.get("id") or f"customfield_{FIRST_CUSTOM_ID + n}"
            options = spec.get("options")
            self.custom_fields[fid] = {"id": fid, "name": spec["name"], "type": spec["type"],
                                       "options": None if options is None else list(options), "seen": {}}
        self.all_fields = [fid for fid, _, _ in SYSTEM_FIELDS] + list(self.custom_fields)
        self.fields_known = set(self.all_fields)
        self.field_ids = {name.lower(): fid for fid, name, _ in SYSTEM_FIELDS}
        self.field_ids.update({f["name"].lower(): fid for fid, f in self.custom_fields.items()})

        self.issues: dict[str, dict] = {}
        self.links: dict[str, dict] = {}
        self.changelog: dict[str, list[dict]] = {}
        self.tasks: dict[str, dict] = {}
        self.conflict_next_edit = False
        self.denied: set[str] = set()  # permission keys /mypermissions answers false for
        self._by_key: dict[str, str] = {}
        self._children: dict[str, dict[str, None]] = {}  # parent id → child ids (an ordered set)
        self._links_of: dict[str, list[str]] = {}
        self._seq = {"issue": 10000, "number": 0, "history": 10000, "link": 10000, "task": 10000, "option": 10100}
        self._version = 0  # bumped by every change; keys the search cache
        self._search_cache: dict[str, tuple[int, list[str]]] = {}
        self._token_generation = 0

    # -- vendor dialect ----------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        return headers.get("Authorization", "") in self._credentials

    def error_body(self, status: int, message: str) -> Any:
        return {"errorMessages": [message] if message else [], "errors": {}}

    def rate_limit_headers(self, wait: int) -> dict[str, str]:
        # Jira sends the reset as an ISO 8601 minute (rounded up) besides Retry-After seconds
        reset = datetime.now(UTC) + timedelta(seconds=wait + 59)
        return {"Retry-After": str(wait), "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "RateLimit-Reason": "jira-burst-based"}

    # -- small utilities ---------------------------------------------------------------

    def now(self) -> datetime:
        value = self._clock() if self._clock else datetime.now(UTC)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def stamp(self, when: datetime | None = None) -> str:
        """A timestamp as Jira writes it, in myself's zone: ``2026-11-25T14:40:12.345+0100``."""
        local = (when or self.now()).astimezone(self.tz)
        return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")

    def _next(self, kind: str) -> str:
        self._seq[kind] += 1
        return str(self._seq[kind])

    @property
    def _site(self) -> str:
        return self.url if self._server is not None else "http://127.0.0.1"

    def expire_tokens(self) -> None:
        """Invalidate every ``nextPageToken`` handed out so far (as after Jira's 7 days)."""
        with self.lock:
            self._token_generation += 1

    def _token(self, scope: str, offset: int) -> str:
        raw = json.dumps({"s": hashlib.sha1(scope.encode()).hexdigest()[:12], "o": offset, "g": self._token_generation})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _offset(self, token: str | None, scope: str) -> int:
        if not token:
            return 0
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if data["s"] == hashlib.sha1(scope.encode()).hexdigest()[:12] and data["g"] == self._token_generation:
                return int(data["o"])
        except (ValueError, KeyError, TypeError):
            pass
        raise Rejected(messages=["The provided next page token is invalid or expired."])

    def _paged(self, offset: int, limit: int) -> int:
        """The offset a page really starts at, after a page fault (``faults.inject_page``)."""
        try:
            return self.faults.page(offset, limit)
        except PageExpired:
            raise Rejected(messages=["The provided next page token is invalid or expired."]) from None

    def issue(self, id_or_key: str) -> dict:
        """The stored issue by id or key; 404 as Jira answers it."""
        issue = self.issues.get(str(id_or_key)) or self.issues.get(self._by_key.get(str(id_or_key).upper(), ""))
        if issue is None:
            raise HttpError(404, NOT_FOUND)
        return issue

    def _find(self, ref: Any) -> dict | None:
        """An issue by a ``{"id"}``/``{"key"}`` reference or an id/key string."""
        if isinstance(ref, dict):
            ref = ref.get("id") or ref.get("key")
        if not isinstance(ref, (str, int)):
            return None
        return self.issues.get(str(ref)) or self.issues.get(self._by_key.get(str(ref).upper(), ""))

    def _user_by(self, ref: Any) -> dict | None:
        if isinstance(ref, dict):
            ref = ref.get("accountId") or ref.get("id")
        return next((u for u in self.users if ref in (u["accountId"], u.get("emailAddress"))), None)

    def user_json(self, user: dict) -> dict:
        """A user as the API shows it: no ``emailAddress`` when the profile hides it."""
        out = {"self": f"{self._site}{API}/user?accountId={user['accountId']}", "accountId": user["accountId"],
               "accountType": "atlassian", "active": True, "displayName": user["displayName"],
               "timeZone": user.get("timeZone", str(self.tz))}
        if user.get("emailVisible", True) and user.get("emailAddress"):
            out["emailAddress"] = user["emailAddress"]
        return out

    def _changed(self) -> None:
        self._version += 1

    # -- rendering ---------------------------------------------------------------------

    def _status_json(self, status: dict) -> dict:
        category = dict(status["statusCategory"], self=f"{self._site}{API}/statuscategory/{status['statusCategory']['id']}")
        return {"self": f"{self._site}{API}/status/{status['id']}", "description": "", "iconUrl": "",
                "name": status["name"], "id": status["id"], "statusCategory": category}

    def _ref_json(self, issue: dict) -> dict:
        """An issue as a reference inside another (parent, linked issue)."""
        f = issue["fields"]
        return {"id": issue["id"], "key": issue["key"], "self": f"{self._site}{API}/issue/{issue['id']}",
                "fields": {"summary": f["summary"], "status": self._status_json(f["status"]),
                           "priority": f["priority"], "issuetype": f["issuetype"]}}

    def _field_json(self, issue: dict, fid: str) -> Any:
        f = issue["fields"]
        if fid == "parent":
            parent = self.issues.get((f.get("parent") or {}).get("id", ""))
            return self._ref_json(parent) if parent else None
        if fid == "issuelinks":
            out = []
            for lid in self._links_of.get(issue["id"], []):
                link = self.links[lid]
                item = {"id": lid, "self": f"{self._site}{API}/issueLink/{lid}", "type": link["type"]}
                if link["inward"] == issue["id"]:  # this issue is the inward side: show the outward one
                    item["outwardIssue"] = self._ref_json(self.issues[link["outward"]])
                else:
                    item["inwardIssue"] = self._ref_json(self.issues[link["inward"]])
                out.append(item)
            return out
        if fid == "status":
            return self._status_json(f["status"])
        if fid in ("assignee", "reporter"):
            user = self._user_by(f.get(fid))
            return self.user_json(user) if user else None
        if fid == "project":
            return dict(self.project, self=f"{self._site}{API}/project/{self.project['id']}")
        return f.get(fid)

    def render(self, issue: dict, selection: tuple[bool, set, set] = (True, set(), set()),
               properties: list[str] = (), expand: set[str] = frozenset()) -> dict:
        """An issue as ``IssueBean``; ``selection`` is ``(all, include, exclude)`` from ``_fields``."""
        every, include, exclude = selection
        if not every and include <= {"id"} and not properties:
            return {"id": issue["id"]}  # search/jql's default: ids only
        wanted = self.all_fields if every else [f for f in self.all_fields if f in include]
        out = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
               "id": issue["id"], "self": f"{self._site}{API}/issue/{issue['id']}", "key": issue["key"],
               "fields": {fid: self._field_json(issue, fid) for fid in wanted if fid not in exclude}}
        if out["fields"].get("parent", 0) is None:
            del out["fields"]["parent"]  # Jira leaves the field out rather than sending null
        if properties:
            out["properties"] = {k: issue["properties"][k] for k in properties if k in issue["properties"]}
        if "changelog" in expand:
            histories = list(reversed(self.changelog.get(issue["id"], [])))  # most recent first
            out["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                                "histories": [self._history_json(h) for h in histories]}
        if "names" in expand:
            out["names"] = {fid: self._field_name(fid) for fid in out["fields"]}
        return out

    def _field_name(self, fid: str) -> str:
        if fid in self.custom_fields:
            return self.custom_fields[fid]["name"]
        return next((name for f, name, _ in SYSTEM_FIELDS if f == fid), fid)

    @staticmethod
    def _fields(spec: list[str] | None, default: str = "id") -> tuple[bool, set, set]:
        """``fields`` as ``(all, include, exclude)``: ``*all``/``*navigable``, ``-x`` excludes."""
        every, include, exclude = False, set(), set()
        for item in spec or [default]:
            item = item.strip()
            if item in ("*all", "*navigable"):
                every = True
            elif item.startswith("-"):
                exclude.add(item[1:])
            elif item:
                include.add(item)
        if exclude and not include:
            every = True  # "-description": every navigable field except description
        return every, include, exclude

    # -- field values: validation shared by create, edit and transitions --------------

    def _custom_value(self, fid: str, value: Any, errors: dict) -> Any:
        spec = self.custom_fields[fid]
        if value is None:
            return None
        if spec["type"] == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors[fid] = "Operation value must be a number"
            return value
        if spec["type"] == "text":
            if not isinstance(value, str):
                errors[fid] = "Operation value must be a string"
            elif len(value) > 255:
                errors[fid] = "The entered text is too long. It exceeds the allowed limit of 255 characters."
            return value
        # select: {"value": …} or {"id": …} among the options (auto-added when options is None)
        if not isinstance(value, dict) or not ({"value", "id"} & value.keys()):
            errors[fid] = "Could not find valid 'id' or 'value' in the Parent Option object."
            return None
        seen = spec["seen"]  # value → option id
        if "id" in value:
            match = next((v for v, i in seen.items() if i == str(value["id"])), None)
            if match is None:
                errors[fid] = f"Option id '{value['id']}' is not valid"
                return None
            return {"self": f"{self._site}{API}/customFieldOption/{value['id']}", "value": match, "id": str(value["id"])}
        text = value["value"]
        if spec["options"] is not None and text not in spec["options"]:
            errors[fid] = f"Option value '{text}' is not valid"
            return None
        if text not in seen:
            seen[text] = self._next("option")
        return {"self": f"{self._site}{API}/customFieldOption/{seen[text]}", "value": text, "id": seen[text]}

    def _value(self, fid: str, value: Any, errors: dict, issue: dict | None, itype: dict | None) -> Any:
        """Validate one field value; return it in the stored shape (errors go to ``errors``)."""
        if fid in self.custom_fields:
            return self._custom_value(fid, value, errors)
        if fid == "summary":
            if not isinstance(value, str) or not value.strip():
                errors[fid] = "You must specify a summary of the issue."
            elif len(value) > 255:
                errors[fid] = "Summary must be less than 255 characters."
            return value
        if fid == "description":
            if value is not None and not (isinstance(value, dict) and value.get("type") == "doc"
                                          and value.get("version") == 1 and isinstance(value.get("content"), list)):
                errors[fid] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            return value
        if fid == "labels":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[fid] = "data was not an array"
                return []
            for label in value:
                if re.search(r"\s", label) or not label:
                    errors[fid] = f"The label '{label}' contains spaces which is invalid."
                elif len(label) > 255:
                    errors[fid] = f"The label '{label}' exceeds maximum length of 255 characters."
            return list(dict.fromkeys(value))
        if fid == "assignee":
            if value is None:
                return None
            user = self._user_by(value)
            if user is None:
                errors[fid] = "Specified user does not exist or you do not have required permissions"
                return None
            return {"accountId": user["accountId"]}
        if fid == "issuetype":
            found = self._issue_type(value)
            if found is None:
                errors[fid] = "The issue type selected is invalid."
            return found
        if fid == "parent":
            if value is None or (isinstance(value, dict) and value.get("none")):
                return None
            parent = self._find(value)
            if parent is None:
                errors[fid] = "Could not find issue by id or key."
                return None
            child_level = (itype or {}).get("hierarchyLevel", 0)
            if parent["fields"]["issuetype"]["hierarchyLevel"] != child_level + 1 or \
                    (issue is not None and parent["id"] == issue["id"]):
                errors[fid] = "Given parent work item does not belong to appropriate hierarchy."
                return None
            return {"id": parent["id"], "key": parent["key"]}
        if fid == "priority":
            found = next((p for p in PRIORITIES.values()
                          if isinstance(value, dict) and value.get("id", value.get("name")) in (p["id"], p["name"])), None)
            if found is None:
                errors[fid] = "The priority selected is invalid."
            return found
        if fid == "duedate":
            if value is not None:
                try:
                    datetime.strptime(value, "%Y-%m-%d")
                except (TypeError, ValueError):
                    errors[fid] = f"Error parsing date string: {value}"
            return value
        if fid == "fixVersions":
            if not isinstance(value, list):
                errors[fid] = "data was not an array"
            return value
        errors[fid] = f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
        return None

    def _issue_type(self, ref: Any) -> dict | None:
        if isinstance(ref, dict):
            ref = ref.get("id") or ref.get("name")
        return next((t for t in self.issue_types if ref in (t["id"], t["name"])), None)

    def _changes(self, body: dict, issue: dict | None) -> tuple[dict[str, Any], dict]:
        """The stored field values an IssueUpdateDetails body asks for: ``fields`` (set) and
        ``update`` (operations). Raises ``Rejected`` with Jira's per-field messages."""
        if not isinstance(body, dict):
            raise Rejected(messages=["The request body must be a JSON object."])
        fields, update = body.get("fields") or {}, body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise Rejected(messages=["'fields' and 'update' must be objects."])
        errors: dict[str, str] = {}
        current = issue["fields"] if issue else {}
        itype = self._issue_type(fields.get("issuetype")) if "issuetype" in fields else current.get("issuetype")
        out: dict[str, Any] = {}
        for fid, value in fields.items():
            if fid == "project" and issue is None:
                continue  # checked by create
            if fid in update:
                errors[fid] = f"Field '{fid}' may not appear in both 'fields' and 'update'."
                continue
            if fid in READ_ONLY or (fid not in self.fields_known):
                errors[fid] = f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
                continue
            out[fid] = self._value(fid, value, errors, issue, itype)
        for fid, operations in update.items():
            if fid in READ_ONLY or fid not in self.fields_known or not isinstance(operations, list):
                errors[fid] = f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
                continue
            value = out.get(fid, current.get(fid))
            for op in operations:
                if not isinstance(op, dict) or len(op) != 1:
                    errors[fid] = "Each operation must name exactly one of set, add, remove, edit."
                    break
                (verb, arg), = op.items()
                if verb == "set":
                    value = self._value(fid, arg, errors, issue, itype)
                elif fid == "labels" and verb in ("add", "remove"):
                    self._value(fid, [arg], errors, issue, itype)
                    labels = list(value or [])
                    if verb == "add" and arg not in labels:
                        labels.append(arg)
                    elif verb == "remove" and arg in labels:
                        labels.remove(arg)
                    value = labels
                else:
                    errors[fid] = f"Operation '{verb}' is not supported on field '{fid}'."
            out[fid] = value
        if errors:
            raise Rejected(errors)
        return out, body.get("historyMetadata")

    @staticmethod
    def _properties(body: dict) -> dict[str, Any]:
        props = body.get("properties") or []
        if not isinstance(props, list) or not all(isinstance(p, dict) and isinstance(p.get("key"), str) for p in props):
            raise Rejected(messages=["'properties' must be a list of {key, value} objects."])
        for p in props:
            if len(p["key"]) > 255:
                raise Rejected(messages=["The property key can not be longer than 255 characters."])
        return {p["key"]: p.get("value") for p in props}

    # -- changes and their history -----------------------------------------------------

    def _item(self, fid: str, old: Any, new: Any) -> dict:
        """One ChangeDetails; ``from``/``to`` carry ids, the strings what a person reads."""
        item = {"field": CHANGELOG_NAMES.get(fid, fid), "fieldtype": "jira", "fieldId": fid}
        if fid in self.custom_fields:
            item["field"], item["fieldtype"] = self.custom_fields[fid]["name"], "custom"

        def sides(value: Any) -> tuple[str | None, str | None]:
            if value is None or value == []:
                return None, None
            if fid == "labels":
                return None, " ".join(value)
            if fid == "description":
                return None, adf_text(value)
            if fid in ("assignee", "reporter"):
                user = self._user_by(value)
                return value["accountId"], user["displayName"] if user else None
            if fid == "parent":
                return value["id"], value["key"]
            if isinstance(value, dict):  # status, issuetype, priority, resolution, select options
                return value.get("id"), value.get("name", value.get("value"))
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return None, str(value)

        (item["from"], item["fromString"]), (item["to"], item["toString"]) = sides(old), sides(new)
        return {k: v for k, v in item.items() if v is not None}  # the spec's strings are not nullable

    def _apply(self, issue: dict, changes: dict[str, Any], author: dict, metadata: dict | None = None) -> bool:
        """Write ``changes`` to the issue; when anything changed, one history and a new ``updated``."""
        fields = issue["fields"]
        items = []
        for fid, new in changes.items():
            old = fields.get(fid)
            if old == new or (fid == "parent" and (old or {}).get("id") == (new or {}).get("id")):
                continue
            items.append(self._item(fid, old, new))
            if fid == "parent":
                if old:
                    self._children.get(old["id"], {}).pop(issue["id"], None)
                if new:
                    self._children.setdefault(new["id"], {})[issue["id"]] = None
            fields[fid] = new
        if not items:
            return False
        self._history(issue, items, author, metadata)
        fields["updated"] = self.stamp()
        self._changed()
        return True

    def _history(self, issue: dict, items: list[dict], author: dict, metadata: dict | None) -> None:
        history = {"id": self._next("history"), "author": {"accountId": author["accountId"]},
                   "created": self.stamp(), "items": items}
        if metadata:
            history["historyMetadata"] = metadata
        self.changelog.setdefault(issue["id"], []).append(history)

    def _history_json(self, history: dict) -> dict:
        return dict(history, author=self.user_json(self._user_by(history["author"]) or self.me))

    def _status_changes(self, issue: dict, status_id: str) -> dict[str, Any]:
        status = STATUSES[status_id]
        done = status["statusCategory"]["key"] == "done"
        return {"status": status, "resolution": RESOLUTION_DONE if done else None}

    # -- create / delete ---------------------------------------------------------------

    def _create(self, body: dict, author: dict) -> tuple[dict, dict | None]:
        """Create one issue from IssueUpdateDetails; returns it and the transition result."""
        if not isinstance(body, dict):
            raise Rejected(messages=["The issue to create must be a JSON object."])
        fields = body.get("fields") or {}
        errors: dict[str, str] = {}
        project = fields.get("project") if isinstance(fields, dict) else None
        if not isinstance(project, dict) or (project.get("key") != self.project["key"]
                                             and str(project.get("id")) != self.project["id"]):
            errors["project"] = "Specify a valid project ID or key"
        if isinstance(fields, dict) and "issuetype" not in fields:
            errors["issuetype"] = "Specify an issue type"
        if isinstance(fields, dict) and "summary" not in fields and "summary" not in (body.get("update") or {}):
            errors["summary"] = "You must specify a summary of the issue."
        try:
            changes, _ = self._changes(body, None)
        except Rejected as e:
            if e.messages:
                raise
            raise Rejected({**errors, **e.errors}) from None
        if errors:
            raise Rejected(errors)
        itype = changes["issuetype"]
        if itype["subtask"] and not changes.get("parent"):
            raise Rejected({"parent": "Subtasks must have a parent."})
        properties = self._properties(body)
        transition = body.get("transition")
        status_id = "10001"
        if transition is not None:
            status_id = TRANSITIONS.get(str((transition or {}).get("id")), "")
            if not status_id:
                raise Rejected({"transition": f"Transition id '{(transition or {}).get('id')}' is not valid for this issue."})

        now = self.stamp()
        issue_id = self._next("issue")
        key = f"{self.project['key']}-{self._next('number')}"
        stored = {"summary": None, "description": None, "issuetype": None, "parent": None, "labels": [],
                  "assignee": None, "reporter": {"accountId": author["accountId"]}, "status": None,
                  "resolution": None, "priority": PRIORITIES["3"], "fixVersions": [], "created": now,
                  "updated": now, "duedate": None, **{fid: None for fid in self.custom_fields}}
        stored.update(changes)
        stored.update(self._status_changes(None, status_id))
        issue = {"id": issue_id, "key": key, "fields": stored, "properties": properties}
        self.issues[issue_id] = issue
        self._by_key[key] = issue_id
        if self.search_lag:
            self._indexed[issue_id] = self.now() + timedelta(seconds=self.search_lag)
        if stored["parent"]:
            self._children.setdefault(stored["parent"]["id"], {})[issue_id] = None
        self._changed()
        result = {"status": 200, "errorCollection": {"errorMessages": [], "errors": {}}} if transition else None
        return issue, result

    def _created_json(self, issue: dict, transition: dict | None) -> dict:
        out = {"id": issue["id"], "key": issue["key"], "self": f"{self._site}{API}/issue/{issue['id']}"}
        if transition:
            out["transition"] = transition
        return out

    def _delete(self, issue: dict) -> None:
        """Remove an issue with its subtasks, links and history; other children lose their parent."""
        for child_id in list(self._children.pop(issue["id"], {})):
            child = self.issues.get(child_id)
            if child is None:
                continue
            if child["fields"]["issuetype"]["subtask"]:
                self._delete(child)
            else:
                child["fields"]["parent"] = None
        parent = issue["fields"].get("parent")
        if parent:
            self._children.get(parent["id"], {}).pop(issue["id"], None)
        for lid in list(self._links_of.get(issue["id"], [])):
            self._unlink(lid)
        self._links_of.pop(issue["id"], None)
        self.changelog.pop(issue["id"], None)
        self._by_key.pop(issue["key"], None)
        del self.issues[issue["id"]]
        self._changed()

    def _unlink(self, lid: str) -> None:
        link = self.links.pop(lid)
        for side in ("inward", "outward"):
            ids = self._links_of.get(link[side], [])
            if lid in ids:
                ids.remove(lid)

    # -- helpers for tests: what a person does in the UI -------------------------------

    def _person(self, author: Any) -> dict:
        if author is None:
            return next((u for u in self.users if u is not self.me), self.me)
        user = self._user_by(author)
        if user is None:
            raise ValueError(f"no user {author!r}")
        return user

    def _field_id(self, name: str) -> str:
        return name if name in self.fields_known else self.field_ids.get(name.lower(), name)

    def add_issue(self, type: str, summary: str, *, author: Any = None, status: str | None = None,
                  properties: dict | None = None, **fields: Any) -> str:
        """Create an issue as a person would; returns its id. ``fields`` by id (``labels=…``,
        ``customfield_10052=…``); ``parent`` and ``assignee`` may be plain keys/ids/e-mails."""
        with self.lock:
            if isinstance(fields.get("parent"), str):
                fields["parent"] = {"key": fields["parent"]}
            if isinstance(fields.get("assignee"), str):
                fields["assignee"] = {"accountId": self._person(fields["assignee"])["accountId"]}
            body = {"fields": {"project": {"key": self.project["key"]}, "issuetype": {"name": type},
                               "summary": summary, **{self._field_id(k): v for k, v in fields.items()}},
                    "properties": [{"key": k, "value": v} for k, v in (properties or {}).items()]}
            try:
                issue, _ = self._create(body, self._person(author))
            except Rejected as e:
                raise ValueError(f"add_issue refused: {e.collection()}") from None
            if status:
                self.transition(issue["id"], status, author=author)
            return issue["id"]

    def edit(self, id_or_key: str, fields: dict[str, Any], *, author: Any = None,
             metadata: dict | None = None) -> bool:
        """Edit as a person in the UI: fields by id or display name (``{"Current value": 40}``);
        bumps ``updated`` and writes a history when something changed (returns whether it did)."""
        with self.lock:
            issue = self.issue(id_or_key)
            body = {"fields": {self._field_id(k): v for k, v in fields.items()}}
            try:
                changes, _ = self._changes(body, issue)
            except Rejected as e:
                raise ValueError(f"edit refused: {e.collection()}") from None
            return self._apply(issue, changes, self._person(author), metadata)

    def transition(self, id_or_key: str, status: str, *, author: Any = None) -> bool:
        """Move an issue to the status named ``status`` (or with that id)."""
        with self.lock:
            issue = self.issue(id_or_key)
            status_id = next(s["id"] for s in STATUSES.values() if status in (s["id"], s["name"]))
            return self._apply(issue, self._status_changes(issue, status_id), self._person(author))

    def delete(self, id_or_key: str) -> None:
        """Delete an issue (and its subtasks) as a person would."""
        with self.lock:
            self._delete(self.issue(id_or_key))

    def run_tasks(self) -> None:
        """Complete every pending bulk task now, as if it had been polled to the end."""
        with self.lock:
            for task in self.tasks.values():
                self._finish(task)

    # -- JQL -----------------------------------------------------------------------------

    def _compile(self, jql: str) -> tuple[Callable[[dict], bool], list[tuple[str, bool]], bool]:
        try:
            return Jql(self, jql).compile()
        except JqlError as e:
            raise Rejected(messages=[str(e)]) from None

    def _matching(self, jql: str) -> list[str]:
        """Issue ids matching ``jql`` in its order, less those the index has not caught up with."""
        ids = self._matching_all(jql)
        if self._indexed:
            now = self.now()
            for issue_id in [i for i, at in self._indexed.items() if at <= now]:
                del self._indexed[issue_id]
            ids = [i for i in ids if i not in self._indexed]
        return ids

    def _matching_all(self, jql: str) -> list[str]:
        """Issue ids matching ``jql`` in its order; cached until the next change."""
        cached = self._search_cache.get(jql)
        if cached and cached[0] == self._version:
            return cached[1]
        predicate, order, relative = self._compile(jql)
        ids = [i for i, issue in self.issues.items() if predicate(issue)]
        for fid, descending in reversed(order):  # stable sorts, last key first
            ids.sort(key=lambda i: self._sort_value(self.issues[i], fid), reverse=descending)
        if not relative:  # "-15m" moves with the clock: never reuse
            self._search_cache[jql] = (self._version, ids)
        return ids

    @staticmethod
    def _sort_value(issue: dict, fid: str) -> Any:
        if fid in ("created", "updated"):
            return parse_time(issue["fields"][fid])
        if fid == "key":
            return _number(issue["key"])
        return int(issue["id"])

    # -- routes: metadata ------------------------------------------------------------

    @route("GET", API + "/field")
    def get_fields(self, req: Request):
        out = []
        for fid, name, kind in SYSTEM_FIELDS:
            kind, _, items = kind.partition("/")
            schema = {"type": kind, **({"items": items} if items else {}), "system": fid}
            out.append({"id": fid, "key": fid, "name": name, "custom": False, "orderable": fid not in READ_ONLY,
                        "navigable": True, "searchable": True, "clauseNames": [fid], "schema": schema})
        for fid, spec in self.custom_fields.items():
            number = int(fid.rsplit("_", 1)[-1])
            kind, custom = CUSTOM_TYPES[spec["type"]]
            out.append({"id": fid, "key": fid, "name": spec["name"], "custom": True, "orderable": True,
                        "navigable": True, "searchable": True, "clauseNames": [f"cf[{number}]", spec["name"]],
                        "schema": {"type": kind, "custom": custom, "customId": number}})
        return 200, out

    @route("GET", API + "/serverInfo")
    def get_server_info(self, req: Request):
        return 200, {"baseUrl": self._site, "displayUrl": self._site, "deploymentType": "Cloud", "version": "1001.0.0-SNAPSHOT",
                     "versionNumbers": [1001, 0, 0], "buildNumber": 100284, "buildDate": "2026-11-20T03:04:05.000+0000",
                     "serverTime": self.stamp(), "scmInfo": "0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6",
                     "serverTitle": "Jira", "serverTimeZone": str(self.tz)}

    def _respond(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        """Jira's per-endpoint burst limits before anything else (see ``endpoint_rates``)."""
        for (method, pattern), rate in self.endpoint_rates.items():
            if method == req.method and re.fullmatch(pattern, req.path):
                wait = self._admit_endpoint(pattern, rate)
                if wait is not None:
                    return 429, self.error_body(429, "Rate limit exceeded."), self.rate_limit_headers(wait)
                break
        return super()._respond(req)

    def _admit_endpoint(self, pattern: str, rate: float) -> int | None:
        """A token bucket of one second's worth per endpoint; None when admitted, else the
        whole seconds to wait. Coming back before that wait is over is refused again, and the
        wait grows (the documented 'same or longer')."""
        with self.lock:
            now = time.monotonic()
            until = self._refused_until.get(pattern, 0.0)
            if now < until:
                self.early_retries += 1
                self._refused_until[pattern] = until + 1
                return math.ceil(until + 1 - now)
            capacity = max(1.0, rate)  # one second's worth, and at least one request
            tokens, at = self._buckets.get(pattern, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * rate)
            if tokens >= 1:
                self._buckets[pattern] = (tokens - 1, now)
                return None
            wait = max(1, math.ceil((1 - tokens) / rate))
            self._buckets[pattern] = (tokens, now)
            self._refused_until[pattern] = now + wait
            return wait

    @route("GET", API + "/myself")
    def get_myself(self, req: Request):
        return 200, dict(self.user_json(self.me), locale="en_US")

    @route("GET", API + "/mypermissions")
    def get_my_permissions(self, req: Request):
        """The caller's permissions (``permissions`` is required, comma-separated keys);
        ``self.denied`` holds the keys this token lacks."""
        keys = [k for k in (req.arg("permissions") or "").split(",") if k]
        if not keys:
            raise HttpError(400, "The permissions query parameter is required.")
        project = req.arg("projectKey")
        if project and project not in (self.project["key"], self.project["id"]):
            raise HttpError(404, f"No project could be found with key '{project}'.")
        return 200, {"permissions": {k: {"id": str(n), "key": k, "name": k.replace("_", " ").title(), "type": "PROJECT",
                                         "description": "", "havePermission": k not in self.denied}
                                     for n, k in enumerate(keys)}}

    @route("GET", API + "/user/search")
    def search_users(self, req: Request):
        query, account = req.arg("query"), req.arg("accountId")
        if not query and not account:
            raise HttpError(400, "The query parameter 'query' or 'accountId' is required.")
        found = []
        for user in self.users:
            if account:
                ok = user["accountId"] == account
            else:
                words = [w.lower() for w in user["displayName"].split()] + [user["displayName"].lower()]
                ok = any(w.startswith(query.lower()) for w in words) or \
                    user.get("emailAddress", "").lower().startswith(query.lower())
            if ok:
                found.append(self.user_json(user))
        start, limit = int(req.arg("startAt", "0")), int(req.arg("maxResults", "50"))
        return 200, found[start:start + limit]

    @route("GET", API + "/users/search")
    def list_users(self, req: Request):
        """Every user, paged by startAt/maxResults (Jira caps a page at 1,000)."""
        start, limit = int(req.arg("startAt", "0")), min(1000, int(req.arg("maxResults", "50")))
        return 200, [self.user_json(u) for u in self.users[start:start + limit]]

    @route("GET", API + "/issueLinkType")
    def get_link_types(self, req: Request):
        return 200, {"issueLinkTypes": [dict(t, self=f"{self._site}{API}/issueLinkType/{t['id']}")
                                        for t in self.link_types]}

    @route("GET", API + r"/project/(?P<ref>[^/]+)")
    def get_project(self, req: Request):
        if req.params["ref"] not in (self.project["key"], self.project["id"]):
            raise HttpError(404, f"No project could be found with key '{req.params['ref']}'.")
        types = [{"self": f"{self._site}{API}/issuetype/{t['id']}", "id": t["id"], "name": t["name"],
                  "description": t["description"], "subtask": t["subtask"], "hierarchyLevel": t["hierarchyLevel"]}
                 for t in self.issue_types]
        return 200, {"self": f"{self._site}{API}/project/{self.project['id']}", **self.project,
                     "projectTypeKey": "software", "simplified": False, "style": "classic", "isPrivate": False,
                     "assigneeType": "UNASSIGNED", "lead": self.user_json(self.me), "issueTypes": types}

    # -- routes: search ----------------------------------------------------------------

    @route("POST", API + "/search/jql")
    def search_post(self, req: Request):
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, "The request body must be a JSON object.")
        unknown = set(body) - SEARCH_KEYS
        if unknown:
            raise HttpError(400, f'Unrecognized field "{min(unknown)}"')
        return self._search(body)

    @route("GET", API + "/search/jql")
    def search_get(self, req: Request):
        params: dict[str, Any] = {"jql": req.arg("jql"), "nextPageToken": req.arg("nextPageToken"),
                                  "fields": req.args("fields"), "properties": req.args("properties"),
                                  "expand": req.arg("expand"), "reconcileIssues": req.args("reconcileIssues")}
        if req.arg("maxResults") is not None:
            try:
                params["maxResults"] = int(req.arg("maxResults"))
            except ValueError:
                raise HttpError(400, "maxResults must be an integer.") from None
        return self._search(params)

    def _search(self, params: dict) -> tuple[int, dict]:
        try:
            jql = params.get("jql") or ""
            fields = params.get("fields") or []
            properties = params.get("properties") or []
            if not isinstance(fields, list) or not isinstance(properties, list):
                raise Rejected(messages=["'fields' and 'properties' must be lists."])
            if len(properties) > 5:
                raise Rejected(messages=["You can request up to 5 issue properties."])
            if len(params.get("reconcileIssues") or []) > 50:
                raise Rejected(messages=["You can reconcile up to 50 issues."])
            selection = self._fields(fields)
            every, include, _ = selection
            cap = 5000 if not every and include <= {"id", "key"} and not properties else self.page_size
            limit = params.get("maxResults", 50)
            if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 5000:
                raise Rejected(messages=[f"maxResults must be between 0 and 5000 (was {limit!r})."])
            limit = max(1, min(limit, cap))  # Jira returns fewer than asked when the page would be heavy
            ids = self._matching(jql)
            offset = self._offset(params.get("nextPageToken"), "search:" + jql)
            offset = self._paged(offset, limit)
        except Rejected as e:
            return 400, e.collection()
        expand = {e.strip() for e in (params.get("expand") or "").split(",") if e.strip()}
        page = ids[offset:offset + limit]
        out: dict[str, Any] = {"issues": [self.render(self.issues[i], selection, properties, expand) for i in page]}
        out["isLast"] = offset + limit >= len(ids)
        if not out["isLast"]:
            out["nextPageToken"] = self._token("search:" + jql, offset + limit)
        return 200, out

    # -- routes: issues ----------------------------------------------------------------

    @route("GET", API + r"/issue/(?P<ref>[^/]+)")
    def get_issue(self, req: Request):
        issue = self.issue(req.params["ref"])
        expand = {e for e in (req.arg("expand") or "").split(",") if e}
        return 200, self.render(issue, self._fields(req.args("fields"), "*all"), req.args("properties"), expand)

    @route("POST", API + "/issue/bulkfetch")
    def fetch_issues(self, req: Request):
        """Up to 100 issues by id or key, ascending id; the unknown ones as ``issueErrors``."""
        body = req.json()
        refs = body.get("issueIdsOrKeys") if isinstance(body, dict) else None
        if not isinstance(refs, list) or not 1 <= len(refs) <= 100:
            raise HttpError(400, "issueIdsOrKeys must list between 1 and 100 issues.")
        found, errors = {}, []
        for ref in refs:
            issue = self._find(ref)
            if issue is None:
                errors.append({"id": str(ref), "errorMessage": NOT_FOUND})
            else:
                found[issue["id"]] = issue
        selection = self._fields(body.get("fields"), "*navigable")
        expand = set(body.get("expand") or [])
        issues = [self.render(found[i], selection, body.get("properties") or [], expand) for i in sorted(found, key=int)]
        return 200, {"issues": issues, "issueErrors": errors}

    @route("POST", API + "/issue")
    def create_issue(self, req: Request):
        try:
            issue, transition = self._create(req.json(), self.me)
        except Rejected as e:
            return e.status, e.collection()
        return 201, self._created_json(issue, transition)

    @route("POST", API + "/issue/bulk")
    def create_issues(self, req: Request):
        body = req.json()
        updates = body.get("issueUpdates") if isinstance(body, dict) else None
        if not isinstance(updates, list):
            raise HttpError(400, "'issueUpdates' must be a list.")
        if len(updates) > 50:
            message = f"The number of issues to create ({len(updates)}) exceeds the limit of 50."
            return 400, {"issues": [], "errors": [{"elementErrors": {"errorMessages": [message], "errors": {}},
                                                   "failedElementNumber": n, "status": 400} for n in range(len(updates))]}
        created, errors = [], []
        for n, details in enumerate(updates):
            try:
                created.append(self._created_json(*self._create(details, self.me)))
            except Rejected as e:
                errors.append({"status": e.status, "elementErrors": e.collection(), "failedElementNumber": n})
        return (201 if created or not updates else 400), {"issues": created, "errors": errors}

    @route("PUT", API + r"/issue/(?P<ref>[^/]+)")
    def edit_issue(self, req: Request):
        issue = self.issue(req.params["ref"])
        body = req.json()
        if self.conflict_next_edit:
            self.conflict_next_edit = False
            raise HttpError(409, "The issue was changed by someone else; retry the edit.")
        try:
            changes, metadata = self._changes(body, issue)
            properties = self._properties(body)
        except Rejected as e:
            return e.status, e.collection()
        if changes.get("parent") and issue["id"] in self._ancestors(changes["parent"]["id"]):
            return 400, Rejected({"parent": "Given parent work item does not belong to appropriate hierarchy."}).collection()
        self._apply(issue, changes, self.me, metadata)
        if properties:
            issue["properties"].update(properties)
            self._changed()
        if req.arg("returnIssue") == "true":
            return 200, self.render(issue)
        return 204, None

    def _ancestors(self, issue_id: str) -> set[str]:
        seen = set()
        while issue_id and issue_id not in seen:
            seen.add(issue_id)
            issue_id = ((self.issues.get(issue_id) or {}).get("fields", {}).get("parent") or {}).get("id")
        return seen

    @route("DELETE", API + r"/issue/(?P<ref>[^/]+)")
    def delete_issue(self, req: Request):
        issue = self.issue(req.params["ref"])
        subtasks = [c for c in self._children.get(issue["id"], {}) if self.issues[c]["fields"]["issuetype"]["subtask"]]
        if subtasks and req.arg("deleteSubtasks", "false") != "true":
            raise HttpError(400, f"The issue '{issue['key']}' has subtasks. Set 'deleteSubtasks' to true to delete them.")
        self._delete(issue)
        return 204, None

    # -- routes: transitions -------------------------------------------------------------

    def _transitions_json(self, issue: dict | None) -> list[dict]:
        current = issue["fields"]["status"]["id"] if issue else None
        return [{"id": tid, "name": STATUSES[sid]["name"], "to": self._status_json(STATUSES[sid]),
                 "hasScreen": False, "isGlobal": True, "isInitial": False, "isAvailable": True,
                 "isConditional": False, "looped": False}
                for tid, sid in TRANSITIONS.items() if sid != current]

    @route("GET", API + r"/issue/(?P<ref>[^/]+)/transitions")
    def get_transitions(self, req: Request):
        return 200, {"expand": "transitions", "transitions": self._transitions_json(self.issue(req.params["ref"]))}

    @route("POST", API + r"/issue/(?P<ref>[^/]+)/transitions")
    def do_transition(self, req: Request):
        issue = self.issue(req.params["ref"])
        body = req.json()
        tid = str(((body or {}).get("transition") or {}).get("id", ""))
        if not tid:
            raise HttpError(400, "'transition' identifier must be specified.")
        if tid not in {t["id"] for t in self._transitions_json(issue)}:
            raise HttpError(400, f"Transition id '{tid}' is not valid for this issue.")
        try:
            changes, metadata = self._changes({k: v for k, v in body.items() if k != "transition"}, issue)
        except Rejected as e:
            return e.status, e.collection()
        changes.update(self._status_changes(issue, TRANSITIONS[tid]))
        self._apply(issue, changes, self.me, metadata)
        return 204, None

    # -- routes: bulk tasks --------------------------------------------------------------

    def _bulk_error(self, message: str) -> tuple[int, dict]:
        return 400, {"errors": [{"message": message}]}  # the spec's BulkOperationErrorResponse

    def _submit(self, kind: str, work: list[tuple[str, str | None]], invalid: int) -> tuple[int, dict]:
        tid = self._next("task")
        self.tasks[tid] = {"taskId": tid, "kind": kind, "work": work, "invalid": invalid, "polls": self.bulk_polls,
                           "created": self.stamp(), "started": None, "updated": self.stamp(), "result": None}
        return 201, {"taskId": tid}

    def _resolve_refs(self, refs: Any) -> tuple[list[str], int] | None:
        if not isinstance(refs, list) or not refs or len(refs) > 1000:
            return None
        ids = [issue["id"] for issue in map(self._find, refs) if issue]
        return (ids, len(refs) - len(ids)) if ids else None

    @route("POST", API + "/bulk/issues/delete")
    def bulk_delete(self, req: Request):
        body = req.json()
        resolved = self._resolve_refs((body or {}).get("selectedIssueIdsOrKeys"))
        if resolved is None:
            return self._bulk_error("Some of the issues in the issueIdsOrKeys are not valid")
        ids, invalid = resolved
        return self._submit("delete", [(i, None) for i in ids], invalid)

    @route("POST", API + "/bulk/issues/transition")
    def bulk_transition(self, req: Request):
        body = req.json()
        inputs = (body or {}).get("bulkTransitionInputs")
        if not isinstance(inputs, list) or not inputs:
            return self._bulk_error("bulkTransitionInputs must be a non-empty list")
        work, invalid = [], 0
        for item in inputs:
            tid = str((item or {}).get("transitionId", ""))
            resolved = self._resolve_refs((item or {}).get("selectedIssueIdsOrKeys"))
            if tid not in TRANSITIONS or resolved is None:
                return self._bulk_error("Some of the issues in the issueIdsOrKeys are not valid")
            work += [(i, tid) for i in resolved[0]]
            invalid += resolved[1]
        if len(work) > 1000:
            return self._bulk_error("You can transition up to 1000 issues in one request.")
        return self._submit("transition", work, invalid)

    @route("GET", API + "/bulk/issues/transition")
    def bulk_transitions_available(self, req: Request):
        refs = req.args("issueIdsOrKeys")
        if not refs or len(refs) > 1000 or any(self._find(r) is None for r in refs):
            return self._bulk_error("Some of the issues in the issueIdsOrKeys are not valid")
        # one workflow for every issue type here, all of its transitions global
        transitions = [{"transitionId": int(tid), "transitionName": STATUSES[sid]["name"],
                        "to": {"statusId": int(sid), "statusName": STATUSES[sid]["name"]}}
                       for tid, sid in TRANSITIONS.items()]
        return 200, {"availableTransitions": [{"isTransitionsFiltered": False, "issues": refs,
                                               "transitions": transitions}]}

    @route("GET", API + r"/bulk/queue/(?P<task>[^/]+)")
    def bulk_progress(self, req: Request):
        task = self.tasks.get(req.params["task"])
        if task is None:
            return self._bulk_error("The task associated with this taskId is not a bulk operation task")
        if task["result"] is None and task["polls"] > 0:
            task["polls"] -= 1
            task["started"] = task["started"] or self.stamp()
            task["updated"] = self.stamp()
            return 200, self._task_json(task, "RUNNING", 0)
        self._finish(task)
        return 200, self._task_json(task, "COMPLETE", 100)

    def _finish(self, task: dict) -> None:
        """Do a bulk task's work, once."""
        if task["result"] is not None:
            return
        processed, failed = [], {}
        for issue_id, tid in task["work"]:
            issue = self.issues.get(issue_id)
            if issue is None:
                failed[issue_id] = [NOT_FOUND]
                continue
            if task["kind"] == "delete":
                self._delete(issue)
            else:
                self._apply(issue, self._status_changes(issue, TRANSITIONS[tid]), self.me)
            processed.append(int(issue_id))
        task["result"] = (processed, failed)
        task["started"] = task["started"] or self.stamp()
        task["updated"] = self.stamp()

    def _task_json(self, task: dict, status: str, percent: int) -> dict:
        out = {"taskId": task["taskId"], "status": status, "progressPercent": percent,
               "submittedBy": {"accountId": self.me["accountId"]}, "created": self._iso(task["created"]),
               "updated": self._iso(task["updated"]), "totalIssueCount": len(task["work"]) + task["invalid"],
               "invalidOrInaccessibleIssueCount": task["invalid"]}
        if task["started"]:
            out["started"] = self._iso(task["started"])
        if task["result"] is not None:
            out["processedAccessibleIssues"], out["failedAccessibleIssues"] = task["result"]
        return out

    @staticmethod
    def _iso(stamp: str) -> str:
        # the schema says format: date-time (RFC 3339), which needs a colon in the offset
        return parse_time(stamp).isoformat(timespec="milliseconds")

    # -- routes: links -------------------------------------------------------------------

    @route("POST", API + "/issueLink")
    def create_link(self, req: Request):
        body = req.json()
        if not isinstance(body, dict) or not all(k in body for k in ("type", "inwardIssue", "outwardIssue")):
            raise HttpError(400, "'type', 'inwardIssue' and 'outwardIssue' are required.")
        ref = body["type"] if isinstance(body["type"], dict) else {}
        ltype = next((t for t in self.link_types if ref.get("id") == t["id"] or ref.get("name") == t["name"]), None)
        if ltype is None:
            raise HttpError(404, f"No issue link type with name '{ref.get('name', ref.get('id'))}' found.")
        inward, outward = self._find(body["inwardIssue"]), self._find(body["outwardIssue"])
        if inward is None or outward is None:
            raise HttpError(404, NOT_FOUND)
        for lid in self._links_of.get(inward["id"], []):  # Jira reports a duplicate as created
            link = self.links[lid]
            if (link["type"]["id"], link["inward"], link["outward"]) == (ltype["id"], inward["id"], outward["id"]):
                return 201, None
        lid = self._next("link")
        self.links[lid] = {"id": lid, "type": dict(ltype, self=f"{self._site}{API}/issueLinkType/{ltype['id']}"),
                           "inward": inward["id"], "outward": outward["id"]}
        for issue, other, verb in ((inward, outward, ltype["outward"]), (outward, inward, ltype["inward"])):
            self._links_of.setdefault(issue["id"], []).append(lid)
            self._history(issue, [{"field": "Link", "fieldtype": "jira", "to": other["key"],
                                   "toString": f"This issue {verb} {other['key']}"}], self.me, None)
            issue["fields"]["updated"] = self.stamp()
        self._changed()
        return 201, None

    @route("DELETE", API + r"/issueLink/(?P<link>[^/]+)")
    def delete_link(self, req: Request):
        if req.params["link"] not in self.links:
            raise HttpError(404, f"No issue link with id '{req.params['link']}' exists.")
        self._unlink(req.params["link"])
        self._changed()
        return 204, None

    # -- routes: changelog -----------------------------------------------------------------

    @route("POST", API + "/changelog/bulkfetch")
    def bulk_changelog(self, req: Request):
        body = req.json()
        refs = (body or {}).get("issueIdsOrKeys") if isinstance(body, dict) else None
        field_ids = body.get("fieldIds") or [] if isinstance(body, dict) else []
        limit = body.get("maxResults", 1000) if isinstance(body, dict) else 1000
        if not isinstance(refs, list) or not 1 <= len(refs) <= 1000:
            raise HttpError(400, "issueIdsOrKeys must list between 1 and 1000 issues.")
        if not isinstance(field_ids, list) or len(field_ids) > 10:
            raise HttpError(400, "fieldIds can list up to 10 fields.")
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise HttpError(400, "maxResults must be between 1 and 10000.")
        ids = sorted({issue["id"] for issue in map(self._find, refs) if issue}, key=int)
        entries = []
        for issue_id in ids:
            for history in self.changelog.get(issue_id, []):
                items = [i for i in history["items"] if not field_ids or i.get("fieldId") in field_ids]
                if items:
                    entries.append((parse_time(history["created"]), int(issue_id), history, items))
        entries.sort(key=lambda e: (e[0], e[1]))  # oldest first, then smallest issue id
        scope = "changelog:" + json.dumps([ids, sorted(field_ids)])
        try:
            offset = self._offset(body.get("nextPageToken"), scope)
            offset = self._paged(offset, limit)
        except Rejected as e:
            return 400, e.collection()
        page = entries[offset:offset + limit]
        grouped: dict[int, list] = {}
        for _, issue_id, history, items in page:
            grouped.setdefault(issue_id, []).append(dict(self._history_json(history), items=items))
        out: dict[str, Any] = {"issueChangeLogs": [{"issueId": str(i), "changeHistories": h} for i, h in grouped.items()]}
        if offset + limit < len(entries):
            out["nextPageToken"] = self._token(scope, offset + limit)
        return 200, out


# -- the JQL subset ---------------------------------------------------------------------

class JqlError(ValueError):
    pass


TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|[=<>(),])|(?P<word>[^\s=!<>(),"']+))""")
RELATIVE = re.compile(r"^([-+]?)((?:\s*\d+\s*[wdhm])+)$")
UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


class Jql:
    """A parser for ``clause (AND clause)* [ORDER BY field [ASC|DESC], …]``, each clause
    ``field op value`` or ``field [NOT] IN (v, …)``. Fields: project, issuetype/type, labels,
    status, statusCategory, parent, key/issuekey/id, created, updated. Anything else is a
    400 naming the problem, as Jira answers (real Jira also has OR, functions, …)."""

    FIELDS: ClassVar = {"project", "issuetype", "type", "labels", "status", "statuscategory", "parent", "key", "issuekey",
              "id", "issue", "created", "updated"}
    ORDERABLE: ClassVar = {"created", "updated", "key", "issuekey", "id"}

    def __init__(self, jira: JiraEmulator, text: str):
        self.jira, self.text = jira, text
        self.tokens: list[tuple[str, str]] = []
        pos, text = 0, text.rstrip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise JqlError(f"Error in the JQL Query: The character '{text[pos]}' is a reserved JQL character. "
                               f"(line 1, character {pos + 1})")
            kind = m.lastgroup
            value = m.group(kind)
            if kind == "str":
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            self.tokens.append((kind, value))
            pos = m.end()
        self.i = 0
        self.relative = False

    def peek(self, upper: bool = True) -> str | None:
        if self.i >= len(self.tokens):
            return None
        kind, value = self.tokens[self.i]
        return value.upper() if upper and kind == "word" else value

    def take(self, what: str) -> str:
        if self.i >= len(self.tokens):
            raise JqlError(f"Error in the JQL Query: Expecting {what} but reached the end of the query.")
        self.i += 1
        return self.tokens[self.i - 1][1]

    def expect(self, token: str, what: str) -> None:
        got = self.take(what)
        if got.upper() != token:
            raise JqlError(f"Error in the JQL Query: Expecting {what} but got '{got}'.")

    def compile(self) -> tuple[Callable[[dict], bool], list[tuple[str, bool]], bool]:
        clauses = []
        if self.peek() not in (None, "ORDER"):
            clauses.append(self.clause())
            while self.peek() == "AND":
                self.take("AND")
                clauses.append(self.clause())
            if self.peek() == "OR":
                raise JqlError("Error in the JQL Query: 'OR' is not supported by the emulator's JQL subset.")
        if not clauses:
            raise JqlError("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
        order: list[tuple[str, bool]] = []
        if self.peek() == "ORDER":
            self.take("ORDER")
            self.expect("BY", "'by'")
            while True:
                field = self.take("a field to order by").lower()
                if field not in self.ORDERABLE:
                    raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")
                descending = False
                if self.peek() in ("ASC", "DESC"):
                    descending = self.take("direction").upper() == "DESC"
                order.append(({"issuekey": "key"}.get(field, field), descending))
                if self.peek() != ",":
                    break
                self.take(",")
            if len(order) > 7:
                raise JqlError("The ORDER BY clause can contain at most 7 fields.")
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{self.peek(False)}'.")
        return (lambda issue: all(c(issue) for c in clauses)), order, self.relative

    def clause(self) -> Callable[[dict], bool]:
        field = self.take("a field name").lower()
        if field not in self.FIELDS:
            raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")
        op = self.take("an operator").upper()
        if op == "NOT":
            self.expect("IN", "'in'")
            op = "NOT IN"
        if op in ("IN", "NOT IN"):
            self.expect("(", "'('")
            values = [self.take("a value")]
            while self.peek() == ",":
                self.take(",")
                values.append(self.take("a value"))
            self.expect(")", "')'")
        elif op in ("=", "!=", ">", ">=", "<", "<="):
            values = [self.take("a value")]
        else:
            raise JqlError(f"Error in the JQL Query: Expecting operator but got '{op}'.")
        if field in ("created", "updated"):
            if op in ("IN", "NOT IN"):
                raise JqlError(f"The operator '{op.lower()}' is not supported by the '{field}' field.")
            return self.date_clause(field, op, values[0])
        if op not in ("=", "!=", "IN", "NOT IN"):
            raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
        getter, wanted = self.values(field, values)
        positive = op in ("=", "IN")
        return lambda issue: bool(getter(issue) & wanted) == positive

    def values(self, field: str, values: list[str]) -> tuple[Callable[[dict], set], set]:
        """A getter of an issue's comparable values for ``field`` and the normalised wanted set."""
        jira = self.jira
        field = {"type": "issuetype", "issuekey": "key", "issue": "key"}.get(field, field)

        def unknown(value: str) -> JqlError:
            return JqlError(f"The value '{value}' does not exist for the field '{field}'.")

        if field == "project":
            for v in values:
                if v.upper() != jira.project["key"] and v != jira.project["id"]:
                    raise unknown(v)
            return (lambda issue: {1}), {1}
        if field == "issuetype":
            wanted = set()
            for v in values:
                itype = jira._issue_type(v) or next((t for t in jira.issue_types if t["name"].lower() == v.lower()), None)
                if itype is None:
                    raise unknown(v)
                wanted.add(itype["id"])
            return (lambda issue: {issue["fields"]["issuetype"]["id"]}), wanted
        if field == "labels":
            return (lambda issue: set(issue["fields"]["labels"])), set(values)
        if field == "status":
            wanted = {s["id"] for s in STATUSES.values() for v in values if v.lower() in (s["name"].lower(), s["id"])}
            if not wanted:
                raise unknown(values[0])
            return (lambda issue: {issue["fields"]["status"]["id"]}), wanted
        if field == "statuscategory":
            wanted = {c["key"] for c in CATEGORIES.values() for v in values
                      if v.lower() in (c["key"], c["name"].lower(), str(c["id"]))}
            if not wanted:
                raise unknown(values[0])
            return (lambda issue: {issue["fields"]["status"]["statusCategory"]["key"]}), wanted
        # key, id, parent: issue references, each of which must exist (Jira refuses unknown keys)
        wanted = set()
        for v in values:
            issue = jira._find(v)
            if issue is None:
                raise JqlError(f"An issue with key '{v}' does not exist for field '{field}'.")
            wanted.add(issue["id"])
        if field == "parent":
            return (lambda issue: {(issue["fields"]["parent"] or {}).get("id")}), wanted
        return (lambda issue: {issue["id"]}), wanted

    def date_clause(self, field: str, op: str, value: str) -> Callable[[dict], bool]:
        """Dates are minutes in myself's zone, or periods relative to now ("-15m", "-1w 2d")."""
        jira = self.jira
        m = RELATIVE.match(value.strip())
        if m:
            self.relative = True
            delta = sum((int(n) * UNIT[u] for n, u in re.findall(r"(\d+)\s*([wdhm])", m.group(2))), timedelta())
            bound = jira.now() + (-delta if m.group(1) == "-" else delta)
        else:
            for fmt in DATE_FORMATS:
                try:
                    bound = datetime.strptime(value, fmt).replace(tzinfo=jira.tz)
                    break
                except ValueError:
                    continue
            else:
                raise JqlError(BAD_DATE.format(value, field))
        compare = {"=": lambda t: t == bound, "!=": lambda t: t != bound, ">": lambda t: t > bound,
                   ">=": lambda t: t >= bound, "<": lambda t: t < bound, "<=": lambda t: t <= bound}[op]
        return lambda issue: compare(parse_time(issue["fields"][field]))
