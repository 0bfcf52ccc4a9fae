"""Jira Cloud (REST API v3): objectives and KRs as issues, initiatives as linked issues.

Reads are one bounded JQL search (``POST /rest/api/3/search/jql``, explicit field list,
``nextPageToken`` pages), plus one per kind the mapping selects by a JQL filter of its own;
later reads ask only for issues updated since the last one,
with an overlap for JQL's minute precision (de-duplicated by id and update time). A
periodic id-only listing finds deleted issues. KR check-ins come from the change history
of the current-value field (``POST /rest/api/3/changelog/bulkfetch``).

Writes use the bulk forms where Jira has them: creates 50 a request (partial failures
mapped back to their records), status changes as bulk transitions, deletes as a bulk
delete. Edits are one ``PUT`` per issue (Jira's bulk edit sets the *same* values on every
issue it is given). Creates are never blindly re-sent: after an answer that got lost, what
landed is found by a direct read of the keys after the project's top one, then by polling the eventually
consistent search (with backoff, up to ``search_lag``, the connector's listing lag) for our
``okrsync`` property; what stays unseen is *unsettled*: reported, kept in the cursor, and
settled by the next run, never created twice.

Reading is robust to what real sites answer: an issue without ``id`` is rejected alone with
its key, repeated issues are read once, empty summaries and unknown status categories are
located notes, and kinds map to issue types, lists of them, JQL filters, or nothing.

Every request goes through ``okrsync.http.Api``: paced to the configured ``rate``,
retried through the core's one policy, counted for the run summary.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from okrsync import http
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, MappingError, RetryableError

from .common import API_OPTIONS, check_endpoint, chunks, mapping_source, new_api, parallel, read_cursor, users_option
from .jira_fields import KIND_KEYS, PROPERTY, JiraMapping, jira_time

API = "/rest/api/3"
BULK_CREATE = 50  # documented maximum per POST /issue/bulk
BULK_TASK = 1000  # documented maximum per bulk delete / transition
CHANGELOG_IDS = 1000
PAGE = 100
LISTING_PAGE = 5000  # documented maximum when only ids are asked for
USER_SEARCHES = 10  # more unknown owners than this: list all users instead of searching each
USER_PAGE = 1000
PENDING_DAYS = 1  # an unsettled create is held back from reads this long at most
KEY_WINDOWS = 3  # after a lost create, keys after the top one are fetched 100 a request, this many times at most
clock = time.time  # the connector's idea of now; tests move it
OPTIONS = {
    **API_OPTIONS,
    "url": "the site, https://<site>.atlassian.net",
    "project": "the key of the Jira project that holds the OKRs, e.g. OKR",
    "auth": "{email: …, token: {$env: JIRA_API_TOKEN}} (an API token), or {bearer: {$env: …}} (OAuth)",
    "concurrency": "requests in flight at once (default 4)",
    "overlap_minutes": "how far back an incremental read looks again, for clocks that differ (default 5)",
    "listing_every_hours": "hours between full id listings that find deleted issues (default 6)",
    "history": "read check-ins from the KR's change history (default true)",
    "poll_interval": "seconds between polls of a bulk operation's progress (default 0.5)",
    "jql": "a JQL clause that narrows every search, e.g. 'labels = okr' (ANDed with the project and issue types)",
    "search_lag": "seconds the search index may lag new issues: how long a lost create answer is polled for (default 30)",
    "task_deadline": "seconds a bulk task may run before the run fails with a clear message (default 600)",
}

# what `okrsync doctor` asks for; BULK_CHANGE (global): status changes and deletes go through Jira's bulk API
JIRA_PERMISSIONS = ("BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "ASSIGN_ISSUES",
                    "DELETE_ISSUES", "BULK_CHANGE")


class JiraConnector(Connector):
    name = "jira"
    option_help = OPTIONS
    required_options = ("url", "project", "auth")
    description = "Jira Cloud REST v3: objectives and KRs as issues (KR → parent), initiatives as linked issues"
    capabilities = Capabilities(
        kinds=("objective", "key_result", "initiative", "check_in"),
        kr_directions=("increase", "decrease"),  # read from start vs target; no field holds the rest
        kr_units=("number", "percent", "currency", "boolean"),  # through the mapping's unit text field
        alignment="none", alignment_depth=0,  # objectives have no parent objective in Jira's issue hierarchy
        weights=False, confidence=False,  # unless the mapping names a Number field for it
        check_ins="history", custom_fields=True, deletes=True,
        holds_id=True,  # the okrsync issue property carries the canonical id (written with the create)
        incremental=True, writes="records",
        rate_limit="per-second burst limits (numbers undocumented); set `rate`",
        read_only=("check_in",),  # history is made by edits, never written directly
        # UNCONFIRMED: Jira documents its search as eventually consistent (reconcileIssues),
        # never how long a new issue takes to show; `search_lag` is a model, not a measurement
        unconfirmed=("a new issue shows in JQL search within search_lag seconds (Jira documents the search as "
                     "eventually consistent, not how long it lags)",),
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)
        self.project = str(options["project"])
        self.mapping = JiraMapping.load(*mapping_source(self))
        self.concurrency = int(options.get("concurrency", 4))
        self.overlap = float(options.get("overlap_minutes", 5))
        self.listing_every = float(options.get("listing_every_hours", 6)) * 3600
        self.poll_interval = float(options.get("poll_interval", 0.5))
        # Jira's search is eventually consistent: how long a new issue may take to show in it
        # (the listing lag). A create whose answer was lost is looked for that long, with backoff.
        self.search_lag = float(options.get("search_lag", 30))
        self.task_deadline = float(options.get("task_deadline", 600))  # bulk tasks polled at most this long
        self.jql = str(options["jql"]).strip() if options.get("jql") else None
        self.history = bool(options.get("history", True))
        self.users: dict[str, str] = users_option(options)
        self.emails: dict[str, str] = {v: k for k, v in self.users.items()}  # accountId → e-mail
        self.api = new_api(endpoint, options, where, url=options["url"], auth=_auth(options["auth"], where),
                           rate=float(options.get("rate", 10)))
        self._resolved = False
        self._issues: dict[str, dict[str, Any]] = {}  # id → fields seen this run (status, labels, type)
        self._transitions: dict[tuple[str, str], dict[str, str]] = {}  # (type, status) → category → transition
        self._state: _State | None = None  # the cursor this run read, with its unsettled creates
        self._since: float | None = None  # when the read before this one started (_actor)
        self._me: str | None = None  # the account id okrsync signs in as (_actor)
        self._pending_changed = False
        self._landed_seen: dict[str, str] = {}  # unsettled creates this run's read found: canonical id → issue id
        self._new_keys: dict[str, str | None] = {}  # issue id → key, of issues this run created

    @property
    def listing_lag(self) -> float:
        """Seconds a record written here may take to show in a listing (Jira's search index).
        A create whose answer was lost and that no listing has shown is unsettled until
        then: this connector does not send it again before, and reports it."""
        return self.search_lag

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    def fields(self, kind: str) -> set[str] | None:
        held = self.mapping.holds(kind)
        if kind == "check_in":
            return {"key_result_id", "at", "value", "author"} if self.history else set()
        return held | {f"extra.{self.endpoint}"} if held else set()

    # ------------------------------------------------------------ lookups

    def _resolve(self, cached: dict[str, str] | None = None) -> None:
        """Field ids by name: from the cursor's cache when it names them all, else GET /field."""
        if self._resolved:
            return
        names = self.mapping.names()
        if cached and all(n in cached for n in names):
            self.mapping.ids.update({n: cached[n] for n in names})
        elif names:
            fields = self.api.call("GET", f"{API}/field")
            missing = self.mapping.resolve(fields)
            missing += [f"{problem} ({fix})" for problem, fix in self.mapping.check_fields(fields)]
            if missing:
                raise MappingError(f"endpoint {self.endpoint}: " + "; ".join(missing))
        self._resolved = True

    def _account(self, owner: str | None) -> str | None:
        """The accountId of an owner given by e-mail (or display name); KeyError if none."""
        if not owner:
            return None
        key = owner.casefold()
        if key not in self.users:
            found = self.api.call("GET", f"{API}/user/search", params={"query": owner, "maxResults": 10}) or []
            exact = [u for u in found if (u.get("emailAddress") or "").casefold() == key
                     or (u.get("displayName") or "").casefold() == key]
            pick = exact or (found if len(found) == 1 else [])
            if len(pick) != 1:
                raise KeyError(f"owner {owner!r} matches {len(found)} Jira users visible to the token; "
                               "name the account in the endpoint's 'users:' map (e-mail: accountId)")
            self.users[key] = pick[0]["accountId"]
            self.emails.setdefault(pick[0]["accountId"], owner)
        return self.users[key]

    def _learn_users(self, owners: Iterable[str | None]) -> None:
        """Many owners unknown: one listing of every user beats a search per owner."""
        unknown = {o.casefold() for o in owners if o} - set(self.users)
        if len(unknown) <= USER_SEARCHES:
            return
        start = 0
        while True:
            page = self.api.call("GET", f"{API}/users/search", params={"startAt": start, "maxResults": USER_PAGE}) or []
            for user in page:
                email = (user.get("emailAddress") or "").casefold()
                if email and user.get("accountId"):
                    self.users.setdefault(email, user["accountId"])
                    self.emails.setdefault(user["accountId"], user["emailAddress"])
            if len(page) < USER_PAGE:  # a site paging smaller ends early: owners left are searched one by one
                return
            start += len(page)

    def _owner(self, assignee: dict[str, Any] | None) -> str | None:
        if not assignee:
            return None
        account = assignee.get("accountId")
        email = self.emails.get(account) or assignee.get("emailAddress")  # the users map names people as the hub does
        if email and account:
            self.emails[account] = email
            self.users.setdefault(email.casefold(), account)
        return email or assignee.get("displayName")

    # ------------------------------------------------------------ reading

    def _jql(self, minutes: int | None = None, kind: str | None = None, since_field: str = "updated") -> str:
        """The bounded JQL of one search: the project, the issue types of the kinds without a
        filter of their own (or ``kind``'s filter and types), the endpoint's ``jql``."""
        clauses = [f"project = {json.dumps(self.project)}"]
        types = self.mapping.types(kind) if kind else self.mapping.issue_types()
        if kind:
            clauses.append(f"({self.mapping.raw[kind]['jql']})")
        if types:
            clauses.append(f"issuetype in ({', '.join(json.dumps(t) for t in types)})")
        if self.jql:
            clauses.append(f"({self.jql})")
        if minutes is not None:
            clauses.append(f'{since_field} >= "-{minutes}m"')  # relative: no site timezone to guess
        return " AND ".join(clauses) + " ORDER BY updated ASC, id ASC"

    def _searches(self) -> list[str | None]:
        """One combined search for the kinds known by issue type (None), one per kind with a filter."""
        return ([None] if self.mapping.issue_types() else []) + self.mapping.filtered()

    def _search(self, jql: str, fields: list[str], page: int = PAGE,
                notes: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every issue ``jql`` finds, page by page. A legacy answer's ``total`` that disagrees
        with what was listed is a note in ``notes``."""
        body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": page}
        if fields != ["id"]:
            body["properties"] = [PROPERTY]
            # each issue's recent change history in the same answer, no request more (spec:
            # SearchAndReconcileRequestBean.expand "changelog", IssueBean.changelog): who
            # made the changes a read finds (_actor)
            body["expand"] = "changelog"
        listed, total = 0, None
        while True:
            answer = self.api.call("POST", f"{API}/search/jql", json=body)
            if not isinstance(answer, dict) or not isinstance(answer.get("issues"), list):
                raise RetryableError("POST /search/jql answered without an issue list", endpoint=self.endpoint)
            if total is None and isinstance(answer.get("total"), int):
                total = answer["total"]
            listed += len(answer["issues"])
            yield from answer["issues"]
            token = answer.get("nextPageToken")
            if answer.get("isLast", not token) or not token:
                break
            body["nextPageToken"] = token
        if notes is not None and total is not None and total != listed:
            notes.append(f"Jira's search said total {total} but listed {listed} issue(s) (a legacy answer's "
                         "count is an estimate; issues changed while it was read); the next read lists again")

    def doctor(self, kit) -> None:
        """The account (``GET /myself``), the project and its issue types at the mapping's
        hierarchy levels, the permissions the plan needs (``GET /mypermissions``, the global
        BULK_CHANGE too) and the mapping's custom fields by name with usable types."""
        api, project = self.api, self.project
        me = kit.call("reachable", {401: "Jira refused the e-mail and API token: the e-mail is the "
                                         "Atlassian account's, the token one from id.atlassian.com → "
                                         "Security → API tokens (or auth.bearer for OAuth)"},
                      lambda: api.call("GET", "/rest/api/3/myself"))
        if me is None:
            return
        who = f"{me.get('displayName', '?')} <{me.get('emailAddress', 'e-mail hidden')}>"
        kit.add("reachable", "ok", f"{api.client.base_url.host}: authenticated as {who}")
        found = kit.call("project", {404: f"no project {project!r} is visible to {who}: check project: "
                                          "(the key, e.g. OKR) and that this user may browse it"},
                         lambda: api.call("GET", f"/rest/api/3/project/{project}"))
        if found is None:
            return
        kit.add("project", "ok", f"{found.get('key')} ({found.get('name', '')})")
        type_problems = self.mapping.check_types(found.get("issueTypes") or [])
        for problem, fix in type_problems:
            kit.add("issue types", "fail", problem, f"in the endpoint's mapping: {fix}")
        if not type_problems:
            kit.add("issue types", "ok", "the mapped issue types exist at the right hierarchy levels")
        # the plan's permissions: owners set as assignees, parents joined by issue links where mapped so
        wanted = JIRA_PERMISSIONS + (("LINK_ISSUES",) if any(self.mapping.present(k) and self.mapping.via(k) == "link"
                                                             for k in ("key_result", "initiative")) else ())
        perms = kit.call("permissions", {}, lambda: api.call(
            "GET", "/rest/api/3/mypermissions", params={"permissions": ",".join(wanted), "projectKey": project}))
        if perms is not None:
            held = {k: bool(v.get("havePermission")) for k, v in (perms.get("permissions") or {}).items()}
            lacking = [k for k in wanted if not held.get(k)]
            needed = [k for k in lacking if k not in ("DELETE_ISSUES", "BULK_CHANGE")]
            if needed:
                kit.add("permissions", "fail", f"{who} lacks {', '.join(needed)} in {project}",
                        "ask a Jira admin to grant them in the project's permission scheme "
                        "(Project settings → Permissions)")
            if "BULK_CHANGE" in lacking:
                kit.add("permissions", "fail", f"{who} lacks the global BULK_CHANGE permission",
                        "okrsync changes statuses and deletes issues through Jira's bulk API: ask a Jira admin to "
                        "grant 'Make bulk changes' (Settings → System → Global permissions)")
            if "DELETE_ISSUES" in lacking:
                kit.add("permissions", "warn", f"{who} lacks DELETE_ISSUES in {project}",
                        "a record deleted elsewhere cannot be deleted in Jira: grant Delete issues, or set "
                        "deletes: archive (or ignore) on this endpoint")
            if not lacking:
                kit.add("permissions", "ok", ", ".join(wanted))
        fields = kit.call("fields", {}, lambda: api.call("GET", "/rest/api/3/field"))
        if fields is not None:
            missing = self.mapping.resolve(fields)
            for problem in missing:
                kit.add("fields", "fail", problem,
                        "create the field in Jira (Settings → Issues → Custom fields) and add it to the project's "
                        "screens, or change the endpoint's mapping: as the message says")
            unusable = self.mapping.check_fields(fields)
            for problem, fix in unusable:
                kit.add("fields", "fail", problem, f"in the endpoint's mapping: {fix}")
            if not missing and not unusable:
                kit.add("fields", "ok", f"the mapping's {len(self.mapping.names())} custom field(s) exist "
                        "with usable types")

    def probe(self, sandbox, kit):
        """``sandbox: {project: <the key of a project for throwaway issues>}`` (the mapping's
        issue types and custom fields must be there too: ``okrsync doctor`` checks them). Creates
        an objective and two KRs (a decimal and a decreasing one, a long non-ASCII title, a due
        date), times how long Jira's search takes to list them against ``search_lag`` (waiting
        on, up to four times as long or 120 s, to say what to set), reads them back, compares
        field by field, checks the ``okrsync`` property gave back each canonical id, and deletes
        them (bulk delete)."""
        from okrsync import probe as p

        if not sandbox.get("project"):
            raise ConfigError(f"endpoint {self.endpoint}: sandbox: give project: <the key of a Jira project where "
                              "the probe may create and delete throwaway issues>")
        self.project = str(sandbox["project"])  # every create and search of this probe goes there
        objective, krs = p.standard()
        facts = self.capabilities.unconfirmed

        def settle(made: dict[str, str]) -> list[p.ProbeResult]:
            started = clock()
            found = self._landed(set(made), started, started + self.search_lag)
            if found.keys() >= made.keys():
                return [p.ProbeResult(facts[0], p.CONFIRMED, f"listed after {clock() - started:.1f} s "
                                      f"(search_lag {self.search_lag:g} s)")]
            # wait on, so the read-back sees them and the user learns what to set
            found.update(self._landed(set(made) - found.keys(), started, started + max(120.0, 4 * self.search_lag)))
            took = clock() - started
            return [p.ProbeResult(facts[0], p.CONTRADICTED, (
                f"not listed within search_lag {self.search_lag:g} s; " + (
                    f"listed after {took:.1f} s: set search_lag: {math.ceil(took * 2)} or more"
                    if found.keys() >= made.keys() else f"{len(made) - len(found)} still not listed after "
                    f"{took:.0f} s")))]

        rows = kit.round_trip(objective, krs, reader={"project": self.project}, settle=settle)
        ids = {ext: cid for cid, ext in kit.ids.items()}
        held = [(ids[r.external_id], r.canonical_id) for r in kit.seen.values() if r.external_id in ids]
        wrong = [f"{cid} read back as {got!r}" for cid, got in held if got != cid]
        rows.append(p.ProbeResult("issues carry okrsync's canonical id in their `okrsync` property",
                                  p.CONTRADICTED if wrong or not held else p.CONFIRMED,
                                  "; ".join(wrong) or ("" if held else "no issue was read back")))
        return rows

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        state = _State.load(cursor)
        self._state = state
        # an unsettled create no push has settled within a day (its record left the hub?) is read
        # as any issue again: first contact links or imports it
        state.pending = {c: t for c, t in state.pending.items() if clock() - t < PENDING_DAYS * 86400}
        self._resolve(state.fields)
        self._since = state.since  # the histories after it are what this read can find changed
        now = clock()
        minutes = None
        if state.since is not None:
            minutes = max(1, math.ceil((now - state.since) / 60 + self.overlap))
        stamps: dict[str, str] = {}
        later: list[tuple[dict[str, Any], str]] = []  # children, built once every parent's key is known
        notes: list[str] = []
        seen: dict[str, str] = {}  # issue id → the kind it was read as
        repeated = 0
        ids_by_key: dict[str, str] = {}
        fields = self.mapping.search_fields()
        for searched in self._searches():
            for issue in self._search(self._jql(minutes, searched), fields, notes=notes):
                f = issue.get("fields") if isinstance(issue.get("fields"), dict) else {}
                issue_id = issue.get("id")
                if (issue_id or issue.get("key") or "") in seen:
                    repeated += 1  # a page repeated (issues moved while paging), or two kinds' filters overlap
                    continue
                if not isinstance(issue_id, str) or not issue_id:
                    if issue.get("key"):
                        seen[issue["key"]] = ""
                    yield Rejected(f"{self.endpoint} {issue.get('key') or 'an issue without key'}",
                                   "Jira's answer gives no 'id' for it (a trimmed answer, or a proxy in between); "
                                   "not read. Ask the site admin, or run again")
                    continue
                if issue.get("key"):
                    ids_by_key[issue["key"]] = issue_id
                    state.see(issue["key"])
                itype = f.get("issuetype") if isinstance(f.get("issuetype"), dict) else {}
                if searched is None and not itype.get("name"):
                    seen[issue_id] = ""
                    yield Rejected(f"{self.endpoint} {issue.get('key') or issue_id}",
                                   "Jira's answer gives no issue type for it, so its kind is unknown; not read")
                    continue
                kind = self.mapping.kind_of(f, searched)
                if kind is None:
                    continue
                seen[issue_id] = kind
                try:
                    updated = jira_time(f.get("updated"))
                except ValueError:
                    updated = None
                if updated:
                    stamps[issue_id] = updated
                cid = ((issue.get("properties") or {}).get(PROPERTY) or {}).get("id")
                if cid in state.pending:  # an unsettled create that landed: the push settles it as made
                    self._landed_seen[cid] = issue_id  # (and moves it to its status, as any create)
                    self._new_keys[issue_id] = issue.get("key")
                    continue
                if state.recent.get(issue_id) == updated and updated:
                    continue  # read last time already, in the overlap
                if kind != "objective":
                    later.append((issue, kind))
                    continue
                yield from self._record(issue, kind, ids_by_key, notes)  # parents first
        if state.moves:
            notes.append(f"{len(state.moves)} issue(s) wait for a status change whose answer was lost (e.g. "
                         f"{next(iter(state.moves))}); read with the status okrsync wrote, moved by the next push "
                         "that writes to Jira")
        if repeated:
            notes.append(f"{repeated} issue(s) were listed more than once by Jira's search (pages shift while "
                         "issues change, or two kinds' filters overlap); each was read once")
        self._learn_keys(later, ids_by_key)
        krs: list[str] = []
        rest: list[Record | Rejected | Note] = []
        for issue, kind in later:
            for item in self._record(issue, kind, ids_by_key, notes):
                if isinstance(item, Record) and item.kind == "key_result":
                    krs.append(item.external_id)
                rest.append(item)
        yield from sorted(rest, key=lambda r: 1 if isinstance(r, Record) and r.kind != "key_result" else 0)
        yield from (Note(n) for n in _capped(notes))
        if self.history and krs and self.mapping.raw["numbers"].get("current"):
            yield from self._check_ins(krs)
        present = None
        if minutes is None:
            state.listed = now
        elif now - state.listed >= self.listing_every:
            ids = frozenset(i["id"] for s in self._searches() for i in self._search(self._jql(None, s), ["id"], LISTING_PAGE)
                            if i.get("id"))
            present = {kind: ids for kind in KIND_KEYS if self.mapping.present(kind)}
            state.listed = now
        # the next read starts where this one did, less the overlap; what it shows again
        # of this read is skipped there unless it changed since
        state.since = now
        edge = now - self.overlap * 60 - 60
        state.recent = {i: u for i, u in stamps.items() if _epoch(u) >= edge}
        state.fields = dict(self.mapping.ids)
        yield Cursor(state.dump(), full_listing=minutes is None, present=present)

    def _learn_keys(self, issues: list[tuple[dict[str, Any], str]], ids_by_key: dict[str, str]) -> None:
        """Epic Link fields hold the epic's key: the ids of epics this read did not list
        (an incremental read) come from one bulk fetch per 100 keys."""
        field_id = self.mapping.ids.get(self.mapping.raw["epic_link"])
        if not field_id:
            return
        keys = sorted({k for issue, _ in issues if isinstance(k := (issue.get("fields") or {}).get(field_id), str)
                       and k and k not in ids_by_key})
        for chunk in chunks(keys, 100):
            answer = self.api.call("POST", f"{API}/issue/bulkfetch", json={"issueIdsOrKeys": chunk, "fields": ["issuetype"]}) or {}
            for issue in answer.get("issues") or []:
                if issue.get("key") and issue.get("id"):
                    ids_by_key[issue["key"]] = issue["id"]

    def _record(self, issue: dict[str, Any], kind: str, ids_by_key: dict[str, str],
                notes: list[str]) -> Iterator[Record | Rejected]:
        """The record of one listed issue, or its rejection; located warnings go to ``notes``."""
        f = issue.get("fields") if isinstance(issue.get("fields"), dict) else {}
        where = f"{self.endpoint} {issue.get('key') or issue['id']}"
        prop = ((issue.get("properties") or {}).get(PROPERTY) or {})
        if not isinstance(prop, dict):
            prop = {}
        self._remember(issue["id"], f)
        try:
            updated = jira_time(f.get("updated"))
            fields = self.mapping.to_fields(kind, f, prop.get("status"), self._owner(f.get("assignee")), self.endpoint,
                                            ids_by_key)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            yield Rejected(where, str(e).strip("'\""))
            return
        if self._state is not None and issue["id"] in self._state.moves and prop.get("status"):
            fields["status"] = prop["status"]  # its move is owed, not undone in Jira: keep what okrsync wrote
        if not (f.get("summary") or "").strip():
            notes.append(f"{where}: the issue has an empty summary; read with an empty title (give it one in Jira)")
        if (why := self.mapping.status_unknown(f)) is not None:
            notes.append(f"{where}: {why}")
        yield Record(kind, issue["id"], fields, updated=updated, where=where, canonical_id=prop.get("id"),
                     key=issue.get("key"), actor=self._actor(issue))

    def _actor(self, issue: dict[str, Any]) -> str | None:
        """Who made the changes this read finds in an issue: the one author (display name, else
        account id; spec: Changelog.author, UserDetails) of its field changes since the last read,
        from the changelog the search returns (IssueBean.changelog, "sorted by date, starting from
        the most recent"). okrsync's own changes are left out: edits carry historyMetadata type
        PROPERTY, and bulk transitions, which cannot, are the account okrsync signs in as
        (``GET /myself``, asked once, only when an issue has someone else's history to name).
        None, never a guess, when several people changed it, only okrsync did, the page does not
        reach back to the last read (or, on a first read, to the issue's start), or Jira sent none."""
        log = issue.get("changelog")
        if not isinstance(log, dict):
            return None
        histories = [h for h in log.get("histories") or [] if isinstance(h, dict)]
        try:
            recent = [h for h in histories if self._since is None or _epoch(jira_time(h.get("created")) or "") > self._since]
        except ValueError:
            return None
        total = log.get("total")
        whole = len(recent) < len(histories) or not isinstance(total, int) or total <= len(histories)
        authors = [h.get("author") if isinstance(h.get("author"), dict) else {} for h in recent
                   if ((h.get("historyMetadata") or {}).get("type") or "") != PROPERTY]
        if authors and self._me is None:
            self._me = (self.api.call("GET", "/rest/api/3/myself") or {}).get("accountId") or ""
        people = {a.get("displayName") or a.get("accountId") for a in authors if not a or a.get("accountId") != self._me}
        return next(iter(people)) if whole and len(people) == 1 else None

    def _check_ins(self, krs: list[str]) -> Iterator[Record]:
        field_id = self.mapping.ids[self.mapping.raw["numbers"]["current"]]
        for chunk in chunks(krs, CHANGELOG_IDS):
            body: dict[str, Any] = {"issueIdsOrKeys": chunk, "fieldIds": [field_id], "maxResults": 1000}
            while True:
                answer = self.api.call("POST", f"{API}/changelog/bulkfetch", json=body) or {}
                for log in answer.get("issueChangeLogs") or []:
                    for history in log.get("changeHistories") or []:
                        if ((history.get("historyMetadata") or {}).get("type") or "") == PROPERTY:
                            continue  # our own write: the value came from another endpoint
                        for item in history.get("items") or []:
                            if item.get("fieldId") == field_id:
                                yield self._check_in(log["issueId"], history, item)
                token = answer.get("nextPageToken")
                if not token:
                    break
                body["nextPageToken"] = token

    def _check_in(self, issue_id: str, history: dict[str, Any], item: dict[str, Any]) -> Record:
        value = None
        for raw in (item.get("toString"), item.get("to")):  # Jira puts a number field's value in toString
            try:
                value = float(raw)
                break
            except (TypeError, ValueError):
                continue
        return Record("check_in", f"{issue_id}:{history.get('id')}",
                      {"key_result_id": issue_id, "at": jira_time(history.get("created")), "value": value,
                       "author": self._owner(history.get("author"))},
                      updated=jira_time(history.get("created")), where=f"{self.endpoint} {issue_id} history {history.get('id')}")

    # ------------------------------------------------------------ writing

    def write(self, batch: WriteBatch) -> WriteResult:
        self._resolve()
        self._learn_users(r.fields.get("owner") for r in (*batch.creates, *batch.updates))
        result = WriteResult()
        made: dict[str, str] = {}  # canonical id → new Jira id (parents created in this batch)
        failed: set[str] = set()
        moves: dict[str, str] = {}  # Jira id → wanted status category
        for kind in ("objective", "key_result", "initiative"):
            records = [r for r in batch.creates if r.kind == kind]
            for record, new_id in self._create_all(records, made, failed, result):
                made[record.canonical_id] = new_id
                result.external_ids[record.canonical_id] = new_id
                # new issues start in their workflow's first status: no need to fetch it
                self._remember(new_id, {"status": {"id": "(initial)", "statusCategory": {"key": "new"}},
                                        "issuetype": {"name": self.mapping.create_type(kind)}})
                category = self.mapping.category(record.fields.get("status"))
                if category and category != "new":
                    moves[new_id] = category
            failed |= {r.canonical_id for r in records if r.canonical_id not in made}
        links = [link for r in batch.creates if r.canonical_id in made
                 for link in self._links_of(r, made[r.canonical_id], made)]
        edits = []
        for record in batch.updates:
            issue = self._payload(record, made, failed, result, create=False)
            if issue is not None:
                edits.append((record, issue))
        parallel(lambda pair: self._edit(pair[0], pair[1], result), edits, self.concurrency)
        self._current([r.external_id for r, _ in edits])
        for record, _ in edits:
            wanted = self.mapping.category(record.fields.get("status"))
            have = ((self._issues.get(record.external_id) or {}).get("status") or {}).get("statusCategory", {}).get("key")
            if wanted and wanted != have:
                moves[record.external_id] = wanted
            links.extend(self._links_of(record, record.external_id, made))
        self._link(links)
        self._transition(moves, result)
        self._delete([r for r in batch.deletes if r.kind != "check_in"], result)
        result.keys = {i: k for i, k in self._new_keys.items() if k}
        if self._pending_changed:  # unsettled creates outlive the run in the cursor
            result.cursor = (self._state or _State({})).dump()
        return result

    def _links_of(self, record: Record, issue_id: str, made: dict[str, str]) -> list[tuple[str, str, str]]:
        """The issue links a record written as ``issue_id`` needs: (issue, other issue, link type)."""
        if record.kind not in ("key_result", "initiative") or self.mapping.via(record.kind) != "link":
            return []
        target = record.fields.get("objective_id" if record.kind == "key_result" else "key_result_id")
        link_type = self.mapping.raw[record.kind].get("link_type")
        return [(issue_id, made.get(target, target), link_type)] if target and link_type else []

    def _payload(self, record: Record, made: dict[str, str], failed: set[str], result: WriteResult,
                 *, create: bool) -> dict[str, Any] | None:
        """IssueUpdateDetails for a record, or None (and a rejection) when it can't be written."""
        where = record.canonical_id if create else record.external_id
        f = record.fields
        via = self.mapping.via(record.kind) if record.kind in ("key_result", "initiative") else None
        parent = None
        if via in ("parent", "epic_link"):  # a child issue: of its objective, or an initiative's KR or objective
            parent = f.get("objective_id") if record.kind == "key_result" else (f.get("key_result_id") or f.get("objective_id"))
        up = [p for p in (parent, f.get("key_result_id"), f.get("objective_id")) if p in failed]
        if up:
            unsettled = self._state is not None and up[0] in self._state.pending
            result.rejected.append(Rejected(where, "its parent's create is unsettled (its answer was lost); it follows "
                                                   "once the parent is settled" if unsettled else
                                                   "its parent could not be created in Jira"))
            return None
        if create and not self.mapping.create_type(record.kind):
            result.rejected.append(Rejected(where, f"the mapping names no issue type to create a "
                                                   f"{record.kind.replace('_', ' ')} as (mapping.{record.kind}.issue_type)"))
            return None
        try:
            fields = self.mapping.to_issue(record.kind, f, self._account(f.get("owner")))
        except KeyError as e:
            result.rejected.append(Rejected(where, str(e.args[0])))
            return None
        except FatalError as e:
            result.rejected.append(Rejected(where, str(e)))
            return None
        if via in ("parent", "epic_link"):
            fields["parent"] = {"id": made.get(parent, parent)} if parent else None
        label = self.mapping.period_label(f.get("period")) if record.kind == "objective" else None
        property_value = {"id": record.canonical_id, "status": f.get("status")}
        issue: dict[str, Any] = {"properties": [{"key": PROPERTY, "value": property_value}]}
        if create:
            fields = {k: v for k, v in fields.items() if v is not None}
            fields["project"] = {"key": self.project}
            fields["issuetype"] = {"name": self.mapping.create_type(record.kind)}
            marker = self.mapping.raw[record.kind].get("label")
            labels = [x for x in (marker, label) if x]
            if labels:
                fields["labels"] = labels
        else:
            if via in ("parent", "epic_link") and not parent:
                fields.pop("parent")
                issue["update"] = {"parent": [{"set": {"none": True}}]}
            if record.kind == "objective" and self.mapping.raw["period"]["as"] == "label":
                ops = [{"remove": x} for x in (self._issues.get(record.external_id) or {}).get("labels", [])
                       if self.mapping.is_period_label(x) and x != label]
                issue["update"] = {"labels": ops + ([{"add": label}] if label else [])}
            issue["historyMetadata"] = {"type": PROPERTY, "description": "okrsync sync"}
        issue["fields"] = fields
        return issue

    def _create_all(self, records: list[Record], made: dict[str, str], failed: set[str],
                    result: WriteResult) -> list[tuple[Record, str]]:
        records, found = self._settle(records)

        def build_and_create(chunk: list[Record]) -> list[tuple[Record, str]]:
            # payloads are built in the workers, so building one chunk overlaps another's wait
            todo = [(r, issue) for r in chunk if (issue := self._payload(r, made, failed, result, create=True))]
            return self._create(todo, result) if todo else []

        return found + [pair for part in parallel(build_and_create, chunks(records, BULK_CREATE), self.concurrency)
                        for pair in part]

    def _settle(self, records: list[Record]) -> tuple[list[Record], list[tuple[Record, str]]]:
        """Creates a past run sent without learning the outcome, and that this run's read did
        not show: looked for once more (until their listing lag has passed); what is found is
        linked, the rest did not land and is sent now."""
        pending = self._state.pending if self._state else {}
        mine = {r.canonical_id: r for r in records if r.canonical_id in pending}
        if not mine:
            return records, []
        landed = {c: self._landed_seen[c] for c in mine if c in self._landed_seen}  # this run's read saw them
        look = set(mine) - set(landed)
        if look:
            landed.update(self._landed(look, min(pending[c] for c in look), max(pending[c] for c in look) + self.search_lag))
        for cid in mine:
            pending.pop(cid, None)
        self._pending_changed = True
        return ([r for r in records if r.canonical_id not in landed],
                [(mine[c], issue_id) for c, issue_id in landed.items()])

    def _create(self, chunk: list[tuple[Record, dict]], result: WriteResult) -> list[tuple[Record, str]]:
        """One bulk create. Its answer lost, what landed is decided only from a read that can
        see it: the search is polled with backoff for up to ``search_lag`` seconds; issues
        still not shown are *unsettled*: not sent again, rejected (reported, exit 3) and kept
        in the cursor, for the next run to settle (its read, or ``_settle``). Only a site
        declared without lag (``search_lag: 0``) takes one look as final and sends the rest."""
        done: list[tuple[Record, str]] = []
        started = clock()
        for attempt in range(self.api.attempts):
            try:
                answer = self.api.call("POST", f"{API}/issue/bulk", replay_safe=False,
                                       json={"issueUpdates": [issue for _, issue in chunk]})
            except FatalError as e:  # 400: every issue failed; the body says why, per issue
                answer = getattr(e, "body", None) if getattr(e, "status", None) == 400 else None
                if not isinstance(answer, dict) or "errors" not in answer:
                    result.rejected.extend(Rejected(r.canonical_id, str(e)) for r, _ in chunk)
                    return done
            except RetryableError as e:
                cids = {r.canonical_id for r, _ in chunk}
                landed = self._probe_keys(cids)  # a direct read: no lag
                if cids - landed.keys():
                    landed.update(self._landed(cids - landed.keys(), started, clock() + self.search_lag))
                done.extend((r, landed[r.canonical_id]) for r, _ in chunk if r.canonical_id in landed)
                chunk = [(r, i) for r, i in chunk if r.canonical_id not in landed]
                if not chunk:
                    return done
                if self.search_lag <= 0 and attempt + 1 < self.api.attempts:
                    continue  # search shows every issue at once here: what it does not show did not land
                self._unsettled([r for r, _ in chunk], started, str(e), result)
                return done
            created = iter(answer.get("issues") or [])
            errors = {e.get("failedElementNumber"): e for e in answer.get("errors") or []}
            for n, (record, _) in enumerate(chunk):
                if n in errors:
                    result.rejected.append(Rejected(record.canonical_id, _element_error(errors[n])))
                else:
                    made = next(created)
                    self._new_keys[made["id"]] = made.get("key")
                    if self._state is not None:
                        self._state.see(made.get("key"))
                    done.append((record, made["id"]))
            return done
        return done

    def _unsettled(self, records: list[Record], sent: float, why: str, result: WriteResult) -> None:
        """Creates sent at ``sent`` whose outcome no read has shown: kept in the cursor, reported."""
        state = self._state if self._state is not None else _State({})
        self._state = state
        for record in records:
            state.pending[record.canonical_id] = sent
            result.rejected.append(Rejected(record.canonical_id, (
                f"its create was sent but the answer was lost ({why}), and Jira's search has not shown it "
                f"within {self.search_lag:g} s; not sent again, so it cannot be created twice: the next run "
                "links it if it landed, or creates it")))
        self._pending_changed = True

    def _probe_keys(self, cids: set[str]) -> dict[str, str]:
        """Issues carrying these canonical ids among the keys after the project's top one
        (new issues take the next numbers), by bulk fetch: a direct read, which Jira's search
        lag does not touch. Up to KEY_WINDOWS windows of 100 keys; {} when no key is known."""
        top = self._state.top if self._state else None
        if not top or not cids:
            return {}
        prefix, start = top.rpartition("-")[0], _key_number(top) + 1
        found: dict[str, str] = {}
        for window in range(KEY_WINDOWS):
            keys = [f"{prefix}-{n}" for n in range(start + 100 * window, start + 100 * (window + 1))]
            answer = self.api.call("POST", f"{API}/issue/bulkfetch", json={
                "issueIdsOrKeys": keys, "fields": ["issuetype"], "properties": [PROPERTY]}) or {}
            issues = answer.get("issues") or []
            for issue in issues:
                cid = ((issue.get("properties") or {}).get(PROPERTY) or {}).get("id")
                if cid in cids and issue.get("id"):
                    found[cid] = issue["id"]
                    self._new_keys[issue["id"]] = issue.get("key")
            if found.keys() >= cids or not issues:
                break
        return found

    def _landed(self, cids: set[str], since: float, until: float) -> dict[str, str]:
        """Issues created since ``since`` that carry one of these canonical ids in their
        property, polling the (lagging) search with doubling waits until all are found or
        ``until`` has passed: at most about log2(lag / poll_interval) + 2 searches."""
        found: dict[str, str] = {}
        for wait in [0.0, *_backoff(self.poll_interval, until - clock())]:
            if wait:
                self.api.sleep(wait)
            minutes = max(1, math.ceil((clock() - since) / 60 + self.overlap))
            for searched in self._searches():
                for issue in self._search(self._jql(minutes, searched, "created"), ["summary"]):
                    cid = ((issue.get("properties") or {}).get(PROPERTY) or {}).get("id")
                    if cid in cids and issue.get("id"):
                        found[cid] = issue["id"]
                        self._new_keys[issue["id"]] = issue.get("key")
            if found.keys() >= cids:
                break
        return found

    def _edit(self, record: Record, issue: dict[str, Any], result: WriteResult) -> None:
        try:
            self.api.call("PUT", f"{API}/issue/{record.external_id}", params={"notifyUsers": "false"}, json=issue)
        except FatalError as e:
            reason, status = str(e), getattr(e, "status", None)
            if status == 409:
                reason = "edited in Jira while okrsync wrote it; read again and merged"
            elif status == 404:
                reason = "no longer in Jira (deleted?); the next full listing unlinks it"
            result.rejected.append(Rejected(record.external_id, reason, replan=status == 409))

    def _current(self, ids: list[str]) -> None:
        """Status, labels and type of issues this run has not read (a push without a pull)."""
        unknown = [i for i in ids if i not in self._issues]
        for chunk in chunks(unknown, 100):
            answer = self.api.call("POST", f"{API}/issue/bulkfetch",
                                   json={"issueIdsOrKeys": chunk, "fields": ["status", "labels", "issuetype"]}) or {}
            for issue in answer.get("issues") or []:
                self._remember(issue["id"], issue.get("fields") or {})

    def _remember(self, issue_id: str, f: dict[str, Any]) -> None:
        """What a later write needs of an issue: its status (transitions), labels, type."""
        self._issues[issue_id] = {"status": f.get("status") or {}, "labels": f.get("labels") or [],
                                  "type": (f.get("issuetype") or {}).get("name", "")}

    def _link(self, links: list[tuple[str, str, str]]) -> None:
        parallel(lambda link: self.api.call("POST", f"{API}/issueLink", json={
            "type": {"name": link[2]}, "inwardIssue": {"id": link[0]}, "outwardIssue": {"id": link[1]}}), links, self.concurrency)

    def _transition(self, moves: dict[str, str], result: WriteResult) -> None:
        """Bulk transitions: one transition id per group of issues sharing a workflow step.
        Moves a past run could not confirm (a lost answer) are settled here too: made only
        if the issue is not in the wanted category by now."""
        owed = self._state.moves if self._state is not None else {}
        if owed:
            for issue_id in owed:
                self._issues.pop(issue_id, None)  # read afresh: the lost task may have run since
            moves = {**owed, **moves}
            owed.clear()
            self._pending_changed = True
        if not moves:
            return
        self._current(list(moves))
        # an issue gone from Jira, or already where it should be (an owed move that ran late), needs nothing
        moves = {i: c for i, c in moves.items() if i in self._issues
                 and ((self._issues[i].get("status") or {}).get("statusCategory") or {}).get("key") != c}
        if not moves:
            return
        def step(issue_id: str) -> tuple[str, str]:
            seen = self._issues.get(issue_id) or {}
            return seen.get("type", ""), str((seen.get("status") or {}).get("id", ""))

        def learn(key_and_issue: tuple[tuple[str, str], str]) -> None:
            answer = self.api.call("GET", f"{API}/issue/{key_and_issue[1]}/transitions") or {}
            found: dict[str, str] = {}
            for t in answer.get("transitions") or []:
                found.setdefault((((t.get("to") or {}).get("statusCategory")) or {}).get("key"), t["id"])
            self._transitions[key_and_issue[0]] = found

        # one lookup per workflow step (issue type and status), asked side by side
        unknown: dict[tuple[str, str], str] = {}
        for issue_id in moves:
            if step(issue_id) not in self._transitions:
                unknown.setdefault(step(issue_id), issue_id)
        parallel(learn, unknown.items(), self.concurrency)
        groups: dict[str, list[str]] = {}
        for issue_id, category in moves.items():
            status = (self._issues.get(issue_id) or {}).get("status") or {}
            transition = self._transitions[step(issue_id)].get(category)
            if transition is None:
                result.rejected.append(Rejected(issue_id, f"its workflow has no transition into a "
                                                          f"{category!r} status from {status.get('name')!r}"))
                continue
            groups.setdefault(str(transition), []).append(issue_id)
        pairs = [(t, issue_id) for t, group in groups.items() for issue_id in group]

        def submit(part: list[tuple[str, str]]) -> dict[str, Any] | None:
            inputs: dict[str, list[str]] = {}
            for t, issue_id in part:
                inputs.setdefault(t, []).append(issue_id)
            body = {"bulkTransitionInputs": [{"selectedIssueIdsOrKeys": ids, "transitionId": t} for t, ids in inputs.items()],
                    "sendBulkNotification": False}
            try:
                return self.api.call("POST", f"{API}/bulk/issues/transition", replay_safe=False, json=body)
            except RetryableError as e:
                if e.status is not None:  # the server answered that it failed (429, 5xx): nothing was queued
                    return self.api.call("POST", f"{API}/bulk/issues/transition", json=body)
                return {"lost": [issue_id for _, issue_id in part], "why": str(e)}  # no answer at all

        # at most 1,000 issues an operation, in all its inputs together
        answers = parallel(submit, chunks(pairs, BULK_TASK), self.concurrency)
        self._wait([a for a in answers if not (a or {}).get("lost")], result)
        for lost in (a for a in answers if (a or {}).get("lost")):
            self._confirm_moves(lost["lost"], moves, lost["why"], result)

    def _confirm_moves(self, ids: list[str], moves: dict[str, str], why: str, result: WriteResult) -> None:
        """A bulk transition whose answer was lost may or may not run: never sent again blindly.
        The issues' statuses are read (a direct read, not the lagging search) with backoff for
        up to ``search_lag`` seconds; those not moved by then are rejected, and the next run
        moves them if they still need it."""
        def unmoved() -> list[str]:
            for i in ids:
                self._issues.pop(i, None)
            self._current(ids)
            return [i for i in ids if ((self._issues.get(i) or {}).get("status") or {})
                    .get("statusCategory", {}).get("key") != moves[i]]

        left = ids
        for wait in [0.0, *_backoff(self.poll_interval, self.search_lag)]:
            if wait:
                self.api.sleep(wait)
            left = unmoved()
            if not left:
                return
        result.rejected.extend(Rejected(i, f"its status change was sent but the answer was lost ({why}) and it has not "
                                           f"moved within {self.search_lag:g} s; not sent again: the next run's push "
                                           "moves it if it still needs to") for i in left)
        state = self._state if self._state is not None else _State({})
        self._state = state
        state.moves.update({i: moves[i] for i in left})  # the hub may take it as written: the cursor remembers
        self._pending_changed = True

    def _delete(self, records: list[Record], result: WriteResult) -> None:
        self._wait(parallel(lambda chunk: self.api.call("POST", f"{API}/bulk/issues/delete", json={
            "selectedIssueIdsOrKeys": chunk, "sendBulkNotification": False}),
            chunks([r.external_id for r in records], BULK_TASK), self.concurrency), result)

    def _wait(self, tasks: list[dict[str, Any] | None], result: WriteResult) -> None:
        """Poll bulk tasks (all submitted first, so they run side by side) to their end;
        issues a task failed on are rejected with its reasons."""
        pending = []
        for task in tasks:
            if not (task or {}).get("taskId"):
                raise FatalError("a bulk operation was accepted without a task id", endpoint=self.endpoint)
            pending.append(task["taskId"])
        started, polls = clock(), 0
        while pending:
            if max(clock() - started, polls * self.poll_interval) >= self.task_deadline:
                raise FatalError(f"bulk task(s) {', '.join(pending)} still not finished after {self.task_deadline:g} s "
                                 "(task_deadline); see Jira's bulk operations queue, or raise task_deadline. Statuses "
                                 "or deletes they hold may still happen; the next run reads what they did",
                                 endpoint=self.endpoint)
            polls += 1
            time.sleep(self.poll_interval)  # a task is never done at once: asking now is a wasted request
            states = parallel(lambda task_id: self.api.call("GET", f"{API}/bulk/queue/{task_id}") or {}, pending, self.concurrency)
            for task_id, state in zip(list(pending), states):
                if state.get("status") not in ("COMPLETE", "FAILED", "CANCELLED", "DEAD"):
                    continue
                pending.remove(task_id)
                for issue_id, reasons in (state.get("failedAccessibleIssues") or {}).items():
                    result.rejected.append(Rejected(issue_id, "; ".join(reasons) or "the bulk operation failed on it"))
                if state.get("status") != "COMPLETE":
                    raise RetryableError(f"bulk task {task_id} ended {state.get('status')}", endpoint=self.endpoint)



class _State:
    """The cursor: where the next incremental read starts, and lookups worth keeping."""

    def __init__(self, raw: dict[str, Any]):
        self.since: float | None = raw.get("since")
        self.recent: dict[str, str] = raw.get("recent") or {}
        self.listed: float = raw.get("listed") or 0.0
        self.fields: dict[str, str] = raw.get("fields") or {}
        # creates whose answer was lost and that no read has shown yet: canonical id → when sent
        self.pending: dict[str, float] = raw.get("pending") or {}
        # status changes whose answer was lost and that had not happened: issue id → category
        self.moves: dict[str, str] = raw.get("moves") or {}
        # the highest issue key seen in the project ("OKR-41"): issues created after it take the
        # next numbers, which a direct read can check when search lags
        self.top: str | None = raw.get("top")

    @classmethod
    def load(cls, cursor: str | None) -> _State:
        return cls(read_cursor(cursor))  # {} (read everything once) for one from another version

    def dump(self) -> str:
        return json.dumps({"since": self.since, "recent": self.recent, "listed": self.listed, "fields": self.fields,
                           "pending": self.pending, "top": self.top, "moves": self.moves}, sort_keys=True)

    def see(self, key: Any) -> None:
        """Keep ``key`` as the top one when it is the project's highest yet."""
        if isinstance(key, str) and _key_number(key) is not None and (
                self.top is None or _key_number(key) > _key_number(self.top)):
            self.top = key


def _auth(auth: Any, where: str) -> httpx.Auth:
    if not isinstance(auth, dict):
        raise ConfigError(f"{where}: auth: give either {{email: …, token: …}} (API token) or {{bearer: …}} (OAuth)")
    if auth.get("bearer"):
        return http.BearerAuth(str(auth["bearer"]))
    if auth.get("email") and auth.get("token"):
        return httpx.BasicAuth(str(auth["email"]), str(auth["token"]))
    raise ConfigError(f"{where}: auth needs email and token (an Atlassian API token, e.g. token: {{$env: JIRA_API_TOKEN}}) "
                      "or bearer (an OAuth 2.0 access token)")


def _key_number(key: str) -> int | None:
    """The number of an issue key ("OKR-41" → 41), or None."""
    prefix, _, number = key.rpartition("-")
    return int(number) if prefix and number.isdigit() else None


def _backoff(first: float, budget: float) -> list[float]:
    """Waits doubling from ``first`` whose sum is ``budget`` (the last one cut short)."""
    waits: list[float] = []
    wait, left = first, budget
    while left > 1e-9 and first > 0:
        waits.append(min(wait, left))
        left -= waits[-1]
        wait *= 2
    return waits


def _capped(notes: list[str], shown: int = 20) -> list[str]:
    """At most ``shown`` located notes, then how many more (a site-wide quirk is one fix)."""
    return notes[:shown] + ([f"… and {len(notes) - shown} more like these"] if len(notes) > shown else [])


def _element_error(error: dict[str, Any]) -> str:
    inner = error.get("elementErrors") or {}
    parts = list(inner.get("errorMessages") or []) + [f"{k}: {v}" for k, v in (inner.get("errors") or {}).items()]
    return "Jira refused it: " + ("; ".join(parts) or f"status {error.get('status')}")


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
