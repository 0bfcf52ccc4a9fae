"""Asana Goals (REST API 1.0): objectives as goals, KRs as measured sub-goals, check-ins as
goal status updates.

Reads list the workspace's (or team's) goals with their metrics (``GET /goals``, 100 a
page, ``next_page.offset``), then the sub-goal relationships of every goal that is not
measured by hand (``GET /goal_relationships?supported_goal=``), and the status updates of
KRs that have any. A goal measured by hand (a ``manual`` or ``external`` number metric)
that is a sub-goal of another goal is a KR of it; every other goal is an objective, whose
first supported goal is its parent. Each read is a full listing, so deletes are seen.

Writes run in dependency rounds, each as ``POST /batch`` requests of up to 10 actions:
creates (``POST /goals``, ``POST /status_updates``); then metrics (``setMetric``, which
creates or replaces one), sub-goal links with their contribution weight and edits; then
statuses (writable only once a goal has a metric); deletes. Asana counts every action of a
batch against its rate limit, so the pacer reserves one slot per action. A batch holding
creates is never re-sent blindly: after a lost answer the goals that landed are looked up
by name first.

What Asana cannot hold as given (a KR without a start, a boolean unit, a weight above 1, a
check-in's time, an edited check-in: status updates are never edited) is written as near as
Asana allows, and the difference is kept in the cursor, so reading it back is not taken
for an edit in Asana (a declared loss, not a write repeated on every run).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from okrsync import http
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, RetryableError

from .asana_fields import GOAL_FIELDS, HELD, REFERENCE_FIELDS, AsanaMapping, Periods, check_in_status, contribution, read_check_in_status
from .common import API_OPTIONS, check_endpoint, chunks, mapping_source, new_api, parallel, read_cursor, users_option

URL = "https://app.asana.com/api/1.0"
BATCH = 10  # documented maximum actions per POST /batch
PAGE = 100  # documented maximum `limit`
MEASURED = ("manual", "external")  # progress sources of a value kept by hand (or by us): a KR
OPTIONS = {
    **API_OPTIONS,
    "workspace": "the gid of the workspace the goals live in (GET /workspaces lists them)",
    "team": "only the goals of this team (its gid)",
    "token": 'a personal access token or OAuth token, e.g. token: {"$env": ASANA_TOKEN}',
    "concurrency": "requests in flight at once (default 4)",
    "check_ins": "read goal status updates as check-ins (default true)",
}
UPDATE_FIELDS = ["text", "status_type", "created_at", "author", "author.name"]


@dataclass
class Action:
    """One action of a batch: what a single request would have been."""

    method: str
    path: str
    data: dict[str, Any] | None = None
    options: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "relative_path": self.path}
        if self.data is not None:
            out["data"] = self.data
        if self.options:
            out["options"] = self.options
        return out


class AsanaConnector(Connector):
    name = "asana"
    option_help = OPTIONS
    required_options = ("workspace", "token")
    description = "Asana Goals: objectives as goals, KRs as sub-goals with a metric, check-ins as status updates"
    capabilities = Capabilities(
        kinds=("objective", "key_result", "check_in"),
        kr_directions=("increase", "decrease"),  # a metric runs from its start to its target, either way
        kr_units=("number", "percent", "currency"),  # boolean KRs are held as 0 → 1 numbers
        alignment="single-parent", alignment_depth=None,  # sub-goals of sub-goals; the first parent is read
        weights=True, confidence=False, check_ins="history", custom_fields=False, deletes=True,
        incremental=False, writes="records",
        rate_limit="1,500 requests/min (paid), 150/min (free), per token; every Batch API action counts "
                   "(developers.asana.com/docs/rate-limits)",
        unconfirmed=(
            "an objective's metric written with progress_source subgoal_progress (in the spec's enum; its write "
            "behaviour undocumented)",
            "a goal's status written only once it has a metric (the order okrsync follows; not in the spec)",
        ),
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)
        self.workspace = str(options["workspace"])
        self.team = str(options["team"]) if options.get("team") else None
        self.mapping = AsanaMapping.load(*mapping_source(self))
        self.concurrency = int(options.get("concurrency", 4))
        # Asana publishes per-minute limits but not how many requests may be in flight at
        # once (developers.asana.com/docs/rate-limits): a 429 lowers the workers, not only waits
        self.workers = Workers(self.concurrency)
        self.check_ins = bool(options.get("check_ins", True))
        rate = float(options.get("rate", 25))  # 1,500/min on paid plans; set 2.5 on a free one
        if rate <= 0:
            raise ConfigError(f"{where}: rate must be a positive number of requests per second (25 = Asana's 1,500/min)")
        self.api = new_api(endpoint, options, where, url=options.get("url") or URL,
                           auth=http.BearerAuth(str(options["token"])), rate=rate)
        self.api.client.event_hooks["response"].append(self._on_response)
        self.emails: dict[str, str] = users_option(options)
        self.users: dict[str, str] = {v: k for k, v in self.emails.items()}  # gid → e-mail
        self.periods: Periods | None = None
        self.state: _State | None = None  # the cursor of this run's read, once read
        self._goals: dict[str, dict[str, Any]] = {}  # gid → goal as read this run
        self._parent: dict[str, tuple[str, str | None, float | None]] = {}  # child → (parent, relationship, weight)
        self._updates: dict[str, dict[str, Any]] = {}  # status update gid → fields as Asana shows them

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    def doctor(self, kit) -> None:
        """The token: ``GET /users/me``."""
        me = kit.call("reachable", {401: "Asana refused the token: a personal access token from "
                                         "app.asana.com/0/my-apps, or an OAuth access token"},
                      lambda: self.api.call("GET", "/users/me", params={"opt_fields": "name"}))
        if me is not None:
            kit.add("reachable", "ok", f"authenticated as {(me.get('data') or {}).get('name', '?')}")

    def probe(self, sandbox, kit):
        """``sandbox: {period: <a time period, e.g. 2026-Q1>}``: a throwaway goal (in the
        endpoint's workspace and team) with two sub-goal KRs — a decimal and a decreasing
        metric, a long non-ASCII name, a due date and an on-track status — read back and deleted."""
        from okrsync import probe as p

        if not sandbox.get("period"):
            raise ConfigError(f"endpoint {self.endpoint}: sandbox: give period: <a time period such as 2026-Q1> for "
                              "the throwaway goal the probe creates and deletes")
        objective, krs = p.standard()
        objective = {**objective, "period": str(sandbox["period"]), "status": "on_track"}
        rows = kit.round_trip(objective, krs)
        metric, status = self.capabilities.unconfirmed
        rows.append(p.summary(metric, rows, lambda r: r.claim.startswith("creates an objective")))
        rows.append(p.summary(status, rows, lambda r: r.claim.startswith("objective status ")))
        return rows

    def _on_response(self, response) -> None:
        if response.status_code == 429:
            self.workers.lower()

    def fields(self, kind: str) -> set[str] | None:
        if kind == "check_in" and not self.check_ins:
            return set()
        return set(HELD.get(kind, ()))

    # ------------------------------------------------------------ batches

    def _batch(self, actions: list[Action], *, replay_safe: bool = True) -> list[tuple[int, Any] | None]:
        """Run actions as POST /batch requests, in parallel; one (status, body) per action.

        ``replay_safe=False`` (creates): a batch whose answer was lost gives ``None`` for
        its actions, for the caller to find out what landed. Actions that failed with a 5xx
        are sent again (replay-safe ones only)."""
        results: list[tuple[int, Any] | None] = [None] * len(actions)
        todo = list(range(len(actions)))
        for attempt in range(self.api.attempts):
            parts = list(chunks(todo, BATCH))
            answers = parallel(lambda idx: self._send([actions[i] for i in idx], replay_safe), parts, self.concurrency)
            todo = []
            for idx, answer in zip(parts, answers):
                for i, got in zip(idx, answer or [None] * len(idx)):
                    results[i] = got
                    if got is not None and got[0] == 429:  # an action rate limited inside the batch
                        self.workers.lower()
                    if replay_safe and got is not None and (got[0] >= 500 or got[0] == 429):
                        todo.append(i)
            if not todo:
                break
            self.api.sleep(min(30.0, 2.0 ** attempt))
        return results

    def _send(self, chunk: list[Action], replay_safe: bool) -> list[tuple[int, Any]] | None:
        with self.workers:
            return self._send_now(chunk, replay_safe)

    def _send_now(self, chunk: list[Action], replay_safe: bool) -> list[tuple[int, Any]] | None:
        try:  # every action counts against the rate limit: paced as that many requests
            answer = self.api.call("POST", "/batch", json={"data": {"actions": [a.as_json() for a in chunk]}},
                                   replay_safe=replay_safe, cost=len(chunk))
        except RetryableError:
            if replay_safe:
                raise
            return None
        data = (answer or {}).get("data")
        if not isinstance(data, list) or len(data) != len(chunk):
            if replay_safe:
                raise RetryableError("POST /batch answered without one result per action", endpoint=self.endpoint)
            return None
        return [(int(r.get("status_code") or 0), r.get("body")) for r in data]

    def _get_all(self, actions: list[Action]) -> list[list[dict[str, Any]]]:
        """GET listings (batched), each followed to its last page."""
        out: list[list[dict[str, Any]]] = []
        for action, got in zip(actions, self._batch(actions)):
            status, body = got
            if status >= 400:
                raise FatalError(f"GET {action.path}: {status} {_message(body)}", endpoint=self.endpoint)
            items = list(body.get("data") or [])
            offset = (body.get("next_page") or {}).get("offset")
            while offset:
                params = {**(action.data or {}), "limit": PAGE, "offset": offset,
                          "opt_fields": ",".join((action.options or {}).get("fields", []))}  # pages 2…: one by one
                page = self.api.call("GET", action.path, params={k: v for k, v in params.items() if v}) or {}
                items += page.get("data") or []
                offset = (page.get("next_page") or {}).get("offset")
            out.append(items)
        return out

    def _list(self, path: str, params: dict[str, Any], fields: Iterable[str]) -> list[dict[str, Any]]:
        """A paginated GET, page by page (no batch: each page needs the previous one's offset)."""
        params = {**params, "limit": PAGE, "opt_fields": ",".join(fields)}
        items: list[dict[str, Any]] = []
        while True:
            page = self.api.call("GET", path, params=params) or {}
            items += page.get("data") or []
            offset = (page.get("next_page") or {}).get("offset")
            if not offset:
                return items
            params["offset"] = offset

    # ------------------------------------------------------------ lookups

    def _goal_scope(self) -> dict[str, str]:
        return {"workspace": self.workspace, **({"team": self.team} if self.team else {})}

    def _load_periods(self) -> Periods:
        if self.periods is None:
            found = self._list("/time_periods", {"workspace": self.workspace},
                               ["display_name", "start_on", "end_on", "period"])
            self.periods = Periods.build(found, self.mapping.raw["periods"])
        return self.periods

    def _resolve_emails(self, emails: Iterable[str]) -> None:
        """Learn the gids of owners by e-mail (GET /users/{email}, batched)."""
        wanted = sorted({e.casefold() for e in emails if e and e.casefold() not in self.emails})
        actions = [Action("get", f"/users/{quote(e, safe='@')}", options={"fields": ["email", "name"]}) for e in wanted]
        for email, got in zip(wanted, self._batch(actions)):
            status, body = got
            user = (body or {}).get("data") if status < 400 else None
            if user:
                self.emails[email] = user["gid"]
                self.users.setdefault(user["gid"], user.get("email") or email)

    def _resolve_gids(self, gids: Iterable[str]) -> None:
        """Learn the e-mails of owners and authors seen in a read."""
        wanted = sorted({g for g in gids if g and g not in self.users})
        actions = [Action("get", f"/users/{g}", options={"fields": ["email", "name"]}) for g in wanted]
        for gid, got in zip(wanted, self._batch(actions)):
            status, body = got
            user = (body or {}).get("data") if status < 400 else None
            if user and user.get("email"):
                self.users[gid] = user["email"]
                self.emails.setdefault(user["email"].casefold(), gid)

    def _owner_gid(self, email: str | None) -> str | None:
        if not email:
            return None
        gid = self.emails.get(email.casefold())
        if gid is None:
            raise KeyError(f"no Asana user with the e-mail {email!r} is visible to the token; invite them, or name "
                           "their gid in the endpoint's 'users:' map (e-mail: gid)")
        return gid

    def _email(self, user: dict[str, Any] | None) -> str | None:
        if not user:
            return None
        return self.users.get(user.get("gid")) or user.get("name")

    # ------------------------------------------------------------ reading

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        self.state = state = _State.load(cursor)
        for gid, email in state.users.items():  # owners met before: no need to look them up again
            self.users.setdefault(gid, email)
            self.emails.setdefault(email.casefold(), gid)
        goals = self._list("/goals", self._goal_scope(), GOAL_FIELDS)
        self._goals = {g["gid"]: g for g in goals}
        self._parent = {}
        unmeasured = [g["gid"] for g in goals if not _measured(g)]
        listings = self._get_all([Action("get", "/goal_relationships", {"supported_goal": gid, "resource_subtype": "subgoal"},
                                         {"fields": ["contribution_weight", "supporting_resource", "resource_subtype"],
                                          "limit": PAGE})
                                  for gid in unmeasured])
        extra_parents = 0
        unlisted: set[str] = set()
        for parent, rels in zip(unmeasured, listings):
            for rel in rels:
                resource = rel.get("supporting_resource") or {}
                child = resource.get("gid")
                if child not in self._goals and resource.get("resource_type") == "goal":
                    unlisted.add(child)  # a sub-goal the listing did not show: a page lost, or out of scope
                if child not in self._goals or child == parent:
                    continue  # a project or task supporting the goal, or a goal outside the scope
                if child in self._parent:
                    extra_parents += 1
                    continue
                self._parent[child] = (parent, rel.get("gid"), rel.get("contribution_weight"))
        if extra_parents:
            yield Note(f"{self.endpoint}: {extra_parents} goal(s) support more than one goal; only the first is read "
                       "as the parent")
        self._resolve_gids((g.get("owner") or {}).get("gid") for g in goals)
        periods = Periods.build([g["time_period"] for g in goals if g.get("time_period")], self.mapping.raw["periods"])
        krs = [g for g in goals if _measured(g) and g["gid"] in self._parent]
        objectives = [g for g in goals if not (_measured(g) and g["gid"] in self._parent)]
        for goal in _parents_first(objectives, self._parent):
            yield self._record("objective", goal, periods)
        for goal in krs:
            yield self._record("key_result", goal, periods)
        if self.check_ins:
            yield from self._read_check_ins([g for g in krs if g.get("current_status_update")])
        state.prune(set(self._goals) | state.check_ins)
        state.users = self.users
        if self.workers.limit < self.concurrency:
            yield Note(f"{self.endpoint}: Asana answered 429 (rate limited); okrsync lowered its requests in flight "
                       f"from {self.concurrency} to {self.workers.limit} for this run. If it keeps happening, set "
                       f"concurrency: {self.workers.limit}")
        if unlisted:  # deletes are only taken from a listing known to be whole
            yield Note(f"{self.endpoint}: {len(unlisted)} sub-goal(s) linked to listed goals were not in the goal "
                       "listing (outside the configured team, or a page lost); no deletes are taken from this read")
        yield Cursor(state.dump(), full_listing=not unlisted)

    def _record(self, kind: str, goal: dict[str, Any], periods: Periods) -> Record:
        gid = goal["gid"]
        options = self.mapping.raw["periods"]
        fields = self.mapping.read_goal(kind, goal, self._email(goal.get("owner")), periods.label(goal.get("time_period"), options))
        parent, _, weight = self._parent.get(gid, (None, None, None))
        fields["objective_id" if kind == "key_result" else "parent_id"] = parent
        fields["weight"] = weight if parent else None
        return Record(kind, gid, self.state.apply(gid, fields), where=f"{self.endpoint} goal {gid}")

    def _read_check_ins(self, krs: list[dict[str, Any]]) -> Iterator[Record]:
        actions = [Action("get", "/status_updates", {"parent": g["gid"]}, {"fields": UPDATE_FIELDS, "limit": PAGE})
                   for g in krs]
        listings = self._get_all(actions)
        self._resolve_gids((u.get("author") or {}).get("gid") for updates in listings for u in updates)
        self.state.check_ins = set()
        for goal, updates in zip(krs, listings):
            for u in updates:
                self.state.check_ins.add(u["gid"])
                fields = {"key_result_id": goal["gid"], "at": u.get("created_at"),
                          "status": read_check_in_status(self.mapping, u.get("status_type")),
                          "note": u.get("text") or None, "author": self._email(u.get("author"))}
                self._updates[u["gid"]] = dict(fields)
                yield Record("check_in", u["gid"], self.state.apply(u["gid"], fields), updated=u.get("created_at"),
                             where=f"{self.endpoint} status update {u['gid']}")

    # ------------------------------------------------------------ writing

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        state = self.state or _State({})
        goals = [r for r in (*batch.creates, *batch.updates) if r.kind in ("objective", "key_result")]
        if any(r.kind == "objective" and r.fields.get("period") for r in goals):
            self._load_periods()
        self._resolve_emails(r.fields.get("owner") or "" for r in goals)
        made: dict[str, str] = {}  # canonical id → new gid
        failed: set[str] = set()
        rounds: dict[int, list[tuple[Action, Record, str]]] = {2: [], 3: []}  # metrics, links, edits; then statuses
        views: dict[str, tuple[Record, dict[str, Any]]] = {}  # gid → (record, what Asana will show)
        # an objective whose KRs carry weights gets its progress weighted by them
        weighted = {r.fields.get("objective_id") if r.kind == "key_result" else r.fields.get("parent_id")
                    for r in goals if r.fields.get("weight") is not None}

        creates: list[tuple[Record, tuple]] = []
        periods: dict[str, str | None] = {}  # objective → its time period: its new KRs run in it
        for kind in ("objective", "key_result"):
            for record in (r for r in batch.creates if r.kind == kind):
                prepared = self._prepare(record, result, failed, create=True, periods=periods,
                                         weighted=record.canonical_id in weighted)
                if prepared is not None:
                    creates.append((record, prepared))
                    periods[record.canonical_id] = prepared[0].get("time_period")
        for record, gid in self._create_goals(creates, result):
            made[record.canonical_id] = gid
            result.external_ids[record.canonical_id] = gid
        failed |= {r.canonical_id for r, _ in creates if r.canonical_id not in made}
        for record, (_data, metric, status) in creates:
            gid = made.get(record.canonical_id)
            if gid is None:
                continue
            if metric is not None:
                rounds[2].append((Action("post", f"/goals/{gid}/setMetric", metric), record, gid))
                if status is not None:  # writable once the goal has a metric
                    rounds[3].append((Action("put", f"/goals/{gid}", {"status": status}), record, gid))
            rounds[2] += [(a, record, gid) for a in self._links(record, gid, made, (None, None, None))]
            views[gid] = (record, self._view(record))
        for record in (r for r in batch.updates if r.kind in ("objective", "key_result")):
            prepared = self._prepare(record, result, failed, create=False, weighted=record.external_id in weighted)
            if prepared is not None:
                for n, action in self._edits(record, prepared, made):
                    rounds[n].append((action, record, record.external_id))
                views[record.external_id] = (record, self._view(record))
        for n in (2, 3):
            self._apply(rounds[n], result)
        self._undo_partial(made, result)
        self._check_ins(batch, made, failed, result, state)
        rejected = {r.where for r in result.rejected}
        for gid, (record, view) in views.items():
            if gid not in rejected and record.canonical_id not in rejected:
                state.remember(gid, view, record.fields)
        self._delete(batch.deletes, result)
        result.cursor = state.dump() if self.state is not None else None  # a push without a read keeps the old one
        return result

    def _prepare(self, record: Record, result: WriteResult, failed: set[str], *, create: bool,
                 periods: dict[str, str | None] | None = None, weighted: bool = False):
        """(goal data, metric, status) of a record, or None with a rejection."""
        where = record.canonical_id if create else record.external_id
        f = record.fields
        parent = f.get("objective_id") if record.kind == "key_result" else f.get("parent_id")
        if parent in failed:
            result.rejected.append(Rejected(where, "its parent could not be created in Asana"))
            return None
        if record.kind == "key_result" and not parent:
            result.rejected.append(Rejected(where, "Asana holds a key result as a sub-goal of its objective, and this "
                                                   "one has no objective"))
            return None
        try:
            period = self._load_periods().gid(f.get("period")) if record.kind == "objective" and f.get("period") else None
            data = self.mapping.goal_data(record.kind, f, self._owner_gid(f.get("owner")), period)
            metric = self.mapping.metric(record.kind, f, custom_weight=weighted)
        except (KeyError, ValueError) as e:  # an unknown period or owner, a metric Asana refuses
            result.rejected.append(Rejected(where, str(e.args[0])))
            return None
        if record.kind == "key_result" and create:  # a new KR runs in its objective's time period
            known = ((self._goals.get(parent or "") or {}).get("time_period") or {}).get("gid")
            data["time_period"] = (periods or {}).get(parent, known)
        return data, metric, self.mapping.status(f.get("status"))

    def _view(self, record: Record) -> dict[str, Any]:
        f = record.fields
        parent = f.get("objective_id") if record.kind == "key_result" else f.get("parent_id")
        owner = self.users.get(self.emails.get((f.get("owner") or "").casefold(), ""), f.get("owner"))
        weight = contribution(f.get("weight")) if parent else None
        if parent and weight is None:
            weight = 0.0  # Asana's default contribution weight
        return self.mapping.remote_view(record.kind, f, owner, f.get("period"), weight)

    def _create_goals(self, todo: list[tuple[Record, tuple]], result: WriteResult) -> list[tuple[Record, str]]:
        """POST /goals for each record; a lost answer is settled by looking up what landed."""
        if not todo:
            return []
        if self.state is None and not self._goals:  # a push without a read: know what was there before
            self._goals = {g["gid"]: g for g in self._list("/goals", self._goal_scope(), ["name"])}
        done: list[tuple[Record, str]] = []
        for _attempt in range(self.api.attempts):
            actions = [Action("post", "/goals", {**data, **self._goal_scope()}) for _, (data, _, _) in todo]
            lost = []
            for (record, prepared), got in zip(todo, self._batch(actions, replay_safe=False)):
                if got is None:
                    lost.append((record, prepared))
                elif got[0] >= 400:
                    result.rejected.append(Rejected(record.canonical_id, f"Asana refused it: {_message(got[1])}"))
                else:
                    gid = got[1]["data"]["gid"]
                    self._goals[gid] = got[1]["data"]
                    done.append((record, gid))
            if not lost:
                return done
            landed = self._landed(lost)
            done += [(r, landed[r.canonical_id]) for r, _ in lost if r.canonical_id in landed]
            todo = [(r, p) for r, p in lost if r.canonical_id not in landed]
            if not todo:
                return done
        raise RetryableError(f"creating {len(todo)} goal(s) failed {self.api.attempts} times; nothing was duplicated, "
                             "the next run sends them again", endpoint=self.endpoint)

    def _landed(self, lost: list[tuple[Record, tuple]]) -> dict[str, str]:
        """Goals of a lost batch that exist now: new gids with the name, notes and due date sent."""
        found = self._list("/goals", self._goal_scope(), ["name", "notes", "due_on"])
        fresh: dict[tuple, list[str]] = {}
        for g in found:
            if g["gid"] not in self._goals:
                fresh.setdefault((g.get("name"), g.get("notes") or "", g.get("due_on")), []).append(g["gid"])
        out = {}
        for record, (data, _, _) in lost:
            gids = fresh.get((data["name"], data["notes"] or "", data["due_on"]))
            if gids:
                out[record.canonical_id] = gid = gids.pop(0)
                self._goals[gid] = {"gid": gid, "name": data["name"]}
        return out

    def _links(self, record: Record, gid: str, made: dict[str, str],
               known: tuple[str | None, str | None, float | None]) -> list[Action]:
        """Actions that put a goal under its parent (objective or KR's objective) with its weight."""
        f = record.fields
        parent = f.get("objective_id") if record.kind == "key_result" else f.get("parent_id")
        parent = made.get(parent, parent)
        weight = contribution(f.get("weight"))
        old_parent, rel, old_weight = known
        if parent == old_parent:
            wanted = 0.0 if weight is None else weight  # no weight: Asana's default, 0
            if parent and rel and wanted != old_weight:
                return [Action("put", f"/goal_relationships/{rel}", {"contribution_weight": wanted})]
            return []
        actions = []
        if old_parent:
            actions.append(Action("post", f"/goals/{old_parent}/removeSupportingRelationship", {"supporting_resource": gid}))
        if parent:
            data = {"supporting_resource": gid, **({"contribution_weight": weight} if weight is not None else {})}
            actions.append(Action("post", f"/goals/{parent}/addSupportingRelationship", data))
        return actions

    def _edits(self, record: Record, prepared: tuple, made: dict[str, str]) -> list[tuple[int, Action]]:
        """The actions an update needs, by round: only what differs from the goal as read
        (everything when this run did not read it)."""
        gid = record.external_id
        data, metric, status = prepared
        seen = self._goals.get(gid) or {}
        known = self._parent.get(gid, (None, None, None)) if seen else self._parents_of(gid)
        changed = {k: v for k, v in data.items() if _differs(seen, k, v)}
        if record.kind == "objective":  # never replace a metric someone keeps on an objective
            new_metric = metric if seen and not seen.get("metric") else None
            has_metric = bool(seen.get("metric")) or not seen
        else:
            new_metric = metric if _metric_differs(seen.get("metric"), metric) else None
            has_metric = True
        out: list[tuple[int, Action]] = []
        if status != seen.get("status") or not seen:
            if status is None or has_metric:
                changed["status"] = status
            elif new_metric is not None:
                out.append((3, Action("put", f"/goals/{gid}", {"status": status})))  # once the metric exists
        if changed:
            out.append((2, Action("put", f"/goals/{gid}", changed)))
        if new_metric is not None:
            have = seen.get("metric") or {}
            if have and all(have.get(k) == v for k, v in new_metric.items() if k not in ("current_number_value", "precision")):
                out.append((2, Action("post", f"/goals/{gid}/setMetricCurrentValue",
                                      {"current_number_value": new_metric["current_number_value"]})))
            else:
                out.append((2, Action("post", f"/goals/{gid}/setMetric", new_metric)))
        return out + [(2, a) for a in self._links(record, gid, made, known)]

    def _parents_of(self, gid: str) -> tuple[str | None, str | None, float | None]:
        """A goal's parent, its relationship and weight, for an edit this run did not read."""
        parents = self.api.call("GET", f"/goals/{gid}/parentGoals", params={"opt_fields": "name"}) or {}
        first = next(iter(parents.get("data") or []), None)
        if first is None:
            return None, None, None
        rels = self._list("/goal_relationships", {"supported_goal": first["gid"], "resource_subtype": "subgoal"},
                          ["contribution_weight", "supporting_resource"])
        rel = next((r for r in rels if (r.get("supporting_resource") or {}).get("gid") == gid), {})
        return first["gid"], rel.get("gid"), rel.get("contribution_weight")

    def _check_ins(self, batch: WriteBatch, made: dict[str, str], failed: set[str], result: WriteResult,
                   state: _State) -> None:
        """Check-ins are created; status updates are never edited, so an edit is remembered
        (Asana keeps the old text: a declared loss), not written."""
        todo = []
        for record in (r for r in batch.creates if r.kind == "check_in"):
            kr = record.fields.get("key_result_id")
            if kr in failed or kr is None:
                result.rejected.append(Rejected(record.canonical_id, "its key result could not be created in Asana"))
                continue
            data = {"parent": made.get(kr, kr), "text": record.fields.get("note") or "",
                    "status_type": check_in_status(self.mapping.status(record.fields.get("status")))}
            todo.append((Action("post", "/status_updates", data), record))
        for record in (r for r in batch.updates if r.kind == "check_in"):
            state.hold(record.external_id, self._updates.get(record.external_id), record.fields)
        started = time.time()
        for (action, record), got in zip(todo, self._batch([a for a, _ in todo], replay_safe=False)):
            if got is None:
                got = self._landed_update(action, started, state)
            if got is None:
                result.rejected.append(Rejected(record.canonical_id, "the answer to its creation was lost and it is "
                                                                     "not in Asana; it is sent again next run"))
            elif got[0] >= 400:
                result.rejected.append(Rejected(record.canonical_id, f"Asana refused it: {_message(got[1])}"))
            else:
                update = got[1]["data"]
                result.external_ids[record.canonical_id] = update["gid"]
                state.check_ins.add(update["gid"])
                view = {"key_result_id": record.fields.get("key_result_id"), "at": update.get("created_at"),
                        "status": read_check_in_status(self.mapping, action.data["status_type"]),
                        "note": action.data["text"] or None, "author": self._email(update.get("author"))}
                state.remember(update["gid"], view, record.fields)

    def _apply(self, actions: list[tuple[Action, Record, str]], result: WriteResult) -> None:
        """One round of replay-safe actions; a refused one rejects its record."""
        for (action, record, gid), got in zip(actions, self._batch([a for a, _, _ in actions])):
            status, body = got
            if status >= 400 and not (status == 404 and action.path.endswith("removeSupportingRelationship")):
                created = result.external_ids.get(record.canonical_id) == gid
                result.rejected.append(Rejected(record.canonical_id if created else gid,
                                                f"Asana refused {action.method.upper()} {action.path}: {_message(body)}"))

    def _undo_partial(self, made: dict[str, str], result: WriteResult) -> None:
        """A goal created this run whose metric or link was refused is deleted again, so a
        record is either written whole or rejected (a half-made KR would read as an objective)."""
        refused = {r.where for r in result.rejected}
        undo = [(cid, gid) for cid, gid in made.items() if cid in refused]
        if not undo:
            return
        self._batch([Action("delete", f"/goals/{gid}") for _, gid in undo])
        for cid, gid in undo:
            result.external_ids.pop(cid, None)
            self._goals.pop(gid, None)

    def _landed_update(self, action: Action, since: float, state: _State) -> tuple[int, Any] | None:
        """A status update whose creation answer was lost, if it exists."""
        updates = self._list("/status_updates", {"parent": action.data["parent"]}, UPDATE_FIELDS)
        for u in updates:
            if u.get("text") == action.data["text"] and u["gid"] not in state.check_ins:
                state.check_ins.add(u["gid"])
                return 201, {"data": u}
        return None

    def _delete(self, records: list[Record], result: WriteResult) -> None:
        actions = [Action("delete", f"/status_updates/{r.external_id}" if r.kind == "check_in" else f"/goals/{r.external_id}")
                   for r in records]
        for record, got in zip(records, self._batch(actions)):
            if got[0] >= 400 and got[0] != 404:  # 404: already gone, which is what was asked
                result.rejected.append(Rejected(record.external_id, f"Asana refused the delete: {_message(got[1])}"))


class _State:
    """The cursor: what Asana shows for values it cannot hold as given, per gid:
    ``{field: [what a read gives, the canonical value]}``. A read that still gives the
    first reports the second; one that gives anything else is a real edit in Asana.
    Also the status updates seen (a lost create is looked up among the others) and the
    e-mails of users met, so a read does not look them up again."""

    def __init__(self, raw: dict[str, Any]):
        self.memo: dict[str, dict[str, list]] = raw.get("memo") or {}
        self.check_ins: set[str] = set(raw.get("check_ins") or [])
        self.users: dict[str, str] = raw.get("users") or {}  # gid → e-mail

    @classmethod
    def load(cls, cursor: str | None) -> _State:
        return cls(read_cursor(cursor))

    def dump(self) -> str:
        return json.dumps({"memo": self.memo, "check_ins": sorted(self.check_ins), "users": self.users}, sort_keys=True)

    def apply(self, gid: str, fields: dict[str, Any]) -> dict[str, Any]:
        held = self.memo.get(gid)
        if not held:
            return fields
        for name, (shown, canonical) in list(held.items()):
            if fields.get(name) == shown:
                fields[name] = canonical
            else:
                del held[name]  # edited in Asana since: the edit is news
        if not held:
            del self.memo[gid]
        return fields

    def remember(self, gid: str, view: dict[str, Any], fields: dict[str, Any]) -> None:
        held = {name: [view.get(name), value] for name, value in fields.items()
                if name in view and name not in REFERENCE_FIELDS and view.get(name) != value}
        if held:
            self.memo[gid] = held
        else:
            self.memo.pop(gid, None)

    def hold(self, gid: str, shown: dict[str, Any] | None, fields: dict[str, Any]) -> None:
        """An edit Asana cannot take: keep reading the hub's values while Asana still shows
        ``shown`` (what this run read, before the memo)."""
        held = self.memo.setdefault(gid, {})
        for name, value in fields.items():
            if name in REFERENCE_FIELDS:
                continue
            if name in held:
                held[name][1] = value
            elif shown is not None and name in shown and shown[name] != value:
                held[name] = [shown[name], value]
        if not held:
            del self.memo[gid]

    def prune(self, alive: set[str]) -> None:
        for gid in [g for g in self.memo if g not in alive]:
            del self.memo[gid]


def _measured(goal: dict[str, Any]) -> bool:
    return (goal.get("metric") or {}).get("progress_source") in MEASURED


def _parents_first(goals: list[dict[str, Any]], parent: dict[str, tuple]) -> list[dict[str, Any]]:
    by_gid = {g["gid"]: g for g in goals}
    out, placed = [], set()

    def place(gid: str, path: set[str]) -> None:
        if gid in placed or gid in path:
            return
        up = parent.get(gid, (None,))[0]
        if up in by_gid:
            place(up, path | {gid})
        placed.add(gid)
        out.append(by_gid[gid])

    for g in goals:
        place(g["gid"], set())
    return out


def _differs(seen: dict[str, Any], key: str, value: Any) -> bool:
    if not seen:
        return True
    have = seen.get(key)
    if isinstance(have, dict):
        have = have.get("gid")
    return (have or None) != (value or None)


def _metric_differs(have: dict[str, Any] | None, want: dict[str, Any]) -> bool:
    if not have:
        return True
    return any(have.get(k) != v for k, v in want.items() if k not in ("is_custom_weight", "precision"))


def _message(body: Any) -> str:
    errors = (body or {}).get("errors") if isinstance(body, dict) else None
    if errors:
        return "; ".join(str(e.get("message") or e) for e in errors)[:300]
    return "no reason given"


class Workers:
    """At most ``limit`` requests in flight; ``lower()`` halves the limit (down to one) and
    requests already in flight finish, the next ones wait for a free slot."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._busy = 0
        self._free = threading.Condition()

    def lower(self) -> None:
        with self._free:
            self.limit = max(1, self.limit // 2)

    def __enter__(self) -> Workers:
        with self._free:
            self._free.wait_for(lambda: self._busy < self.limit)
            self._busy += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._free:
            self._busy -= 1
            self._free.notify_all()
