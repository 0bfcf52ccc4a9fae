"""ClickUp Goals (API v2): goals as objectives, their targets ("key results") as KRs.

Reads list every goal of the workspace in one request (``GET /v2/team/{team_id}/goal``; no
pagination, goals inside goal folders come under ``folders[].goals``, completed ones only
with ``include_completed=true``), then fetch each goal (``GET /v2/goal/{id}``) for its
targets and owners, which the listing lacks. A target's latest action (``last_action``) is
read as its latest check-in: the API shows no older history. There is no "updated since"
filter, so every read is a full one.

Writes are one request per goal or target: ClickUp has no bulk endpoint. A target's
current value is not part of its create, so a KR whose current value differs from its
start costs a second request (``PUT /v2/key_result/{id}`` with ``steps_current`` and the
required ``note``). Creates are never blindly re-sent: after an answer that got lost, the
goal (or its targets) is read back and a copy that landed is taken instead.

Every request goes through ``okrsync.http.Api``: paced to the workspace plan's documented
rate limit, retried through the core's one policy (a 429's ``X-RateLimit-Reset``, a unix
time, is honoured), counted for the run summary.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from okrsync import http
from okrsync.connector import Capabilities, Connector, Cursor, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, RetryableError, did_you_mean

from .clickup_fields import ClickUpMapping, zone
from .common import API_OPTIONS, check_endpoint, mapping_source, new_api, parallel, read_cursor, users_option

BASE_URL = "https://api.clickup.com/api"
# requests per minute per token, by the plan of the workspace hosting the token
# (https://developer.clickup.com/docs/rate-limits)
STEPS = {"steps_start": "start", "steps_end": "target", "steps_current": "current"}
PLANS = {"free_forever": 100, "unlimited": 100, "business": 100, "business_plus": 1000, "enterprise": 10000}
OPTIONS = {
    **API_OPTIONS,
    "team_id": "the Workspace ID, the number in app.clickup.com/<id>/…",
    "auth": "{token: {$env: CLICKUP_TOKEN}} (a personal token) or {bearer: {$env: …}} (OAuth)",
    "plan": "the Workspace's ClickUp plan, which sets the rate limit (default free_forever)",
    "concurrency": "requests in flight at once (default 4)",
    "timezone": "the time zone ClickUp's due dates are read in (default UTC)",
}


class ClickUpConnector(Connector):
    name = "clickup"
    option_help = OPTIONS
    required_options = ("team_id", "auth")
    description = "ClickUp Goals API v2: objectives as goals, KRs as their targets (key results)"
    capabilities = Capabilities(
        kinds=("objective", "key_result", "check_in"),
        kr_directions=("increase", "decrease"),  # only start and target are held; the direction follows from them
        kr_units=("number", "percent", "currency", "boolean"),  # target types; automatic (task-based) read as number
        alignment="none", alignment_depth=0,  # goals have no parent goal; folders are not hierarchy
        weights=False, confidence=False,
        check_ins="latest",  # a target's last_action; the API shows no older updates
        custom_fields=True, deletes=True, incremental=False, writes="records",
        rate_limit="100/min per token (Free Forever, Unlimited, Business), 1,000/min (Business Plus), "
                   "10,000/min (Enterprise); set `plan`",
        # writing another tool's check-ins would move the target's current value back in time
        read_only=("check_in",),
        unconfirmed=("decimal start, target and current values: the spec types steps_start/steps_end/"
                     "steps_current as integers; okrsync reads every decimal it writes back and reports a "
                     "truncated one as a loss",),
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)
        self.team = str(options["team_id"])
        if not self.team.isdigit():
            raise ConfigError(f"{where}: team_id {self.team!r} is not a Workspace ID (a number, as in "
                              "app.clickup.com/<id>/home)")
        plan = str(options.get("plan", "free_forever")).lower().replace(" ", "_").replace("-", "_")
        if plan not in PLANS:
            raise ConfigError(f"{where}: plan {options['plan']!r} is not a ClickUp plan ({', '.join(PLANS)})"
                              + did_you_mean(plan, PLANS, listing=""))
        rate = float(options["rate"]) if options.get("rate") else PLANS[plan] / 60
        self.mapping = ClickUpMapping.load(*mapping_source(self), zone(options.get("timezone"), f"{where}: timezone"))
        self.concurrency = int(options.get("concurrency", 4))
        self.users: dict[str, int] = users_option(options, int)
        self.emails: dict[int, str] = {v: k for k, v in self.users.items()}
        self._members_loaded = False
        self.api = new_api(endpoint, options, where, url=options.get("url") or BASE_URL,
                           auth=_auth(options["auth"], where), rate=rate)
        self._lock = threading.Lock()
        self._people = threading.Lock()
        self._goals: dict[str, dict[str, Any]] = {}  # goal id → owners and colour, as last seen
        self._targets: set[str] = set()  # target ids seen or made: a lost create's copy is a new one
        self._state: dict[str, Any] | None = None  # the cursor as read this run (None: no read yet)
        self._wrote: dict[str, dict[str, Any]] = {}  # goal/target id → what okrsync wrote that ClickUp can't tell

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    def doctor(self, kit) -> None:
        """The token, and that ``team_id`` is one of its Workspaces: ``GET /v2/team``."""
        answer = kit.call("reachable", {401: "ClickUp refused the token: a personal token starts with pk_ "
                                             "(Settings → Apps) and goes in auth.token"},
                          lambda: self.api.call("GET", "/v2/team"))
        if answer is None:
            return
        teams = {str(t.get("id")): t.get("name", "") for t in answer.get("teams") or []}
        if self.team in teams:
            kit.add("reachable", "ok", f"workspace {self.team} ({teams[self.team]}) is visible to the token")
        else:
            kit.add("reachable", "fail", f"team_id {self.team} is not one of the token's workspaces "
                    f"({', '.join(f'{k} {v}' for k, v in teams.items()) or 'none'})",
                    "team_id is the number in app.clickup.com/<id>/…; or use a token of a member of that workspace")

    def probe(self, sandbox, kit):
        """``sandbox: {team_id: <a Workspace ID the probe may write to>}`` (the endpoint's own
        is fine: the goal it makes is deleted at once; ClickUp's create takes no folder).
        Checks decimals in steps_start/steps_end/steps_current, a decreasing target, a long
        non-ASCII name and the due date by reading them back."""
        from okrsync import probe as p

        team = str(sandbox.get("team_id") or "")
        if not team.isdigit():
            raise ConfigError(f"endpoint {self.endpoint}: sandbox: give team_id: <the Workspace ID where the probe may "
                              "create and delete a throwaway goal> (a number, as in app.clickup.com/<id>/…)")
        self.team = team
        objective, krs = p.standard()
        rows = kit.round_trip({k: objective[k] for k in ("title", "description", "due")}, krs,
                              reader={"team_id": team})
        decimal = ("creates a key result (decimal)",) + tuple(f"key result (decimal) {n} " for n in STEPS.values())
        rows.append(p.summary(self.capabilities.unconfirmed[0], rows, lambda r: r.claim.startswith(decimal)))
        return rows

    def migration_risks(self, entities):
        """KRs with a decimal start, target or current value: ClickUp may keep only integers."""
        ids = [cid for cid, kind, f in entities if kind == "key_result" and f.get("unit") != "boolean"
               and f.get("target") is not None  # one without a target (a range) is refused anyway
               and any(isinstance(f.get(n), float) and not f[n].is_integer() for n in STEPS.values())]
        return [{"what": "key result decimal values (ClickUp's spec types them as integers; read back, a "
                         "truncation is reported as a loss)", "count": len(ids), "examples": ids[:3]}] if ids else []

    def fields(self, kind: str) -> set[str] | None:
        if kind == "objective":
            return {"title", "description", "owner", "due", "period"}  # period: see ClickUpMapping.objective
        if kind == "key_result":
            return {"title", "objective_id", "owner", "unit", "currency", "start", "target", "current",
                    f"extra.{self.endpoint}"}
        if kind == "check_in":
            return {"key_result_id", "at", "value", "note", "author"}
        return set()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API request; a refused token gets ClickUp's own advice."""
        try:
            return self.api.call(method, "/v2" + path, **kwargs)
        except FatalError as e:
            if getattr(e, "status", None) == 401:
                raise FatalError(f"{method} /v2{path} → 401: ClickUp refused the token, or it has no access to "
                                 f"workspace {self.team} (team_id). A personal token starts with pk_ (Settings → "
                                 "Apps) and goes in auth.token; an OAuth access token goes in auth.bearer",
                                 endpoint=self.endpoint) from None
            raise

    # ------------------------------------------------------------ people

    def _members(self) -> None:
        """E-mail ↔ user id for the workspace's members (GET /v2/team), once per run."""
        with self._people:  # workers asking at once wait for the one request
            if not self._members_loaded:
                self._load_members()

    def _load_members(self) -> None:
        teams = (self._call("GET", "/team") or {}).get("teams") or []
        team = next((t for t in teams if str(t.get("id")) == self.team), None)
        if team is None:
            seen = ", ".join(f"{t.get('name')} ({t.get('id')})" for t in teams) or "none"
            raise FatalError(f"the token cannot see workspace {self.team}; it sees: {seen}. Check team_id",
                             endpoint=self.endpoint)
        for member in team.get("members") or []:
            user = member.get("user") or {}
            if user.get("id") is not None and user.get("email"):
                self.users.setdefault(user["email"].casefold(), int(user["id"]))
                self.emails.setdefault(int(user["id"]), user["email"])
        self._members_loaded = True

    def _owner_ids(self, owner: str | None) -> list[int]:
        """The user id of an owner given by e-mail; KeyError when no member has it."""
        if not owner:
            return []
        if owner.casefold() not in self.users:
            self._members()
        if owner.casefold() not in self.users:
            raise KeyError(f"owner {owner!r} is not a member of ClickUp workspace {self.team}; invite them, or name "
                           "their user id in the endpoint's 'users:' map (e-mail: id)")
        return [self.users[owner.casefold()]]

    def _note_people(self, owners: Any) -> None:
        for owner in owners or []:
            if isinstance(owner, dict) and owner.get("email") and owner.get("id") is not None:
                self.users.setdefault(owner["email"].casefold(), int(owner["id"]))
                self.emails.setdefault(int(owner["id"]), owner["email"])

    def _person(self, userid: Any) -> str | None:
        """The e-mail of an owner given as a user id. Owners come as user objects (the spec's
        ``GET /v2/goal/{goal_id}`` and ``KeyResult`` ``Owner`` schema; third-party clients) or
        as ids (the spec types the listing's ``owners`` as strings); an id is looked up in the
        workspace's members (``GET /v2/team``, asked at most once a read and only for an id
        not known yet). Raises ValueError for an id no member has: read without its owner,
        the record would clear the owner everywhere else."""
        uid = _user_id(userid)
        if uid is None:
            return None
        email = self._author(uid)
        if email is None:
            raise ValueError(f"its owner, user id {uid}, is not a member of ClickUp workspace {self.team} (GET /v2/team); "
                             "it is skipped this run rather than read without an owner. Give it a current member as "
                             "owner in ClickUp, or name the id in the endpoint's 'users:' map (e-mail: id)")
        return email

    def _author(self, userid: Any) -> str | None:
        if userid is None:
            return None
        if int(userid) not in self.emails and not self._members_loaded:
            self._members()
        return self.emails.get(int(userid))

    # ------------------------------------------------------------ reading

    def _listing(self) -> list[dict[str, Any]]:
        """Every goal of the workspace, foldered or not, each once."""
        answer = self._call("GET", f"/team/{self.team}/goal", params={"include_completed": "true"})
        if not isinstance(answer, dict) or not isinstance(answer.get("goals"), list):
            raise RetryableError("GET /goal answered without a goal list", endpoint=self.endpoint)
        goals: dict[str, dict[str, Any]] = {}
        for goal in answer["goals"] + [g for f in answer.get("folders") or [] for g in f.get("goals") or []]:
            goals.setdefault(goal["id"], goal)
        return list(goals.values())

    def _goal(self, goal_id: str) -> dict[str, Any] | None:
        """A goal with its targets; None when it is gone (deleted since the listing)."""
        try:
            goal = (self._call("GET", f"/goal/{goal_id}") or {}).get("goal")
        except FatalError as e:
            if getattr(e, "status", None) == 404:
                return None
            raise
        if goal is not None:
            self._remember(goal)
        return goal

    def _remember(self, goal: dict[str, Any]) -> None:
        owners = [int(i) for i in map(_user_id, goal.get("owners") or []) if i is not None]
        with self._lock:
            self._goals[goal["id"]] = {"owners": owners, "color": goal.get("color"), "name": goal.get("name")}
            self._targets.update(t["id"] for t in goal.get("key_results") or [] if isinstance(t, dict))
        self._note_people(goal.get("owners"))
        for target in goal.get("key_results") or []:
            if isinstance(target, dict):
                self._note_people(target.get("owners"))

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Cursor]:
        state = _load(cursor)
        seen_check_ins = set(state["check_ins"])
        with self._lock:  # notes of a write whose cursor never reached the store (it failed midway)
            wrote = {**state["wrote"], **self._wrote}
            self._wrote.clear()
        self._members_loaded = False  # a member who joined since the last read is found (one GET /v2/team at most)
        listing = self._listing()
        stamps = {g["id"]: g.get("date_updated") for g in listing}
        present: set[str] = set(seen_check_ins)
        later: list[Record | Rejected] = []
        check_ins: list[Record] = []
        for goal in parallel(lambda g: self._goal(g["id"]), listing, self.concurrency):
            if goal is None:
                continue
            present.add(goal["id"])
            where = self._where(goal)
            try:
                fields = _overlay(self.mapping.objective(goal, self._person), wrote.get(goal["id"]))
            except ValueError as e:
                later.append(Rejected(where, str(e)))  # still present: never taken as deleted
            else:
                yield Record("objective", goal["id"], fields, updated=_iso(stamps.get(goal["id"])), where=where)
            for target in goal.get("key_results") or []:
                if not isinstance(target, dict):  # the spec's string form: an id without the target
                    present.add(str(target))  # still there: never taken as deleted
                    later.append(Rejected(where, f"key result {target!r} came as a bare id (the spec's form), "
                                                 "without its values; ClickUp has no call to read one target (only "
                                                 "POST, PUT and DELETE), so it is skipped this run"))
                    continue
                present.add(target["id"])
                item = self._target(target, goal, where)
                later.append(item)
                if isinstance(item, Record):
                    note = wrote.get(target["id"]) or {}
                    if note.get("lost"):  # an edit made in ClickUp since ends the loss of that value
                        note["lost"] = _truncated(item.fields, note["lost"])
                        if note["lost"]:  # a rejection every run, until the value is whole or changed
                            later.append(_loss(item.where, target["id"], note["lost"]))
                    item.fields = _overlay(item.fields, note)
                if isinstance(item, Record):
                    check_in = self._check_in(target, where)
                    if check_in is not None:
                        check_ins.append(check_in)
        yield from later  # parents first: every goal before any target
        for record in check_ins:
            record.fields["author"] = self._author(record.fields.pop("userid"))
            present.add(record.external_id)
            yield record
        # check-ins are history: one replaced by a newer update is not deleted, so the ids of
        # every check-in seen so far stay "present" (the cursor keeps them)
        state["check_ins"] = sorted(seen_check_ins | {r.external_id for r in check_ins})
        state["wrote"] = {k: v for k, v in wrote.items() if k in present}  # forget what was deleted
        self._state = state
        ids = frozenset(present)  # check-ins are not listed kinds: the hub never takes them as deleted
        yield Cursor(json.dumps(state, sort_keys=True), full_listing=False,
                     present={"objective": ids, "key_result": ids})

    def _where(self, goal: dict[str, Any], target: dict[str, Any] | None = None) -> str:
        """A goal (or one of its targets) as run summaries name it."""
        where = f"{self.endpoint} goal {goal.get('pretty_id') or goal['id']}"
        return f"{where} key result {target.get('name') or target['id']}" if target else where

    def _target(self, target: dict[str, Any], goal: dict[str, Any], where: str) -> Record | Rejected:
        where = self._where(goal, target)
        try:
            fields = self.mapping.key_result(target, goal["id"], self.endpoint, self._person)
        except ValueError as e:
            return Rejected(where, str(e))
        return Record("key_result", target["id"], fields, updated=_iso((target.get("last_action") or {})
                                                                        .get("date_modified")), where=where)

    def _check_in(self, target: dict[str, Any], where: str) -> Record | None:
        try:
            fields = self.mapping.check_in(target)
        except ValueError:
            return None  # the target itself was read; an unreadable value only costs the check-in
        if fields is None:
            return None
        action = target["last_action"]
        return Record("check_in", f"{target['id']}:{action['id']}", {"key_result_id": target["id"], **fields},
                      updated=fields["at"], where=f"{where} update {action['id']}")

    # ------------------------------------------------------------ writing

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        made: dict[str, str] = {}  # canonical id → new goal id
        failed: set[str] = set()
        goals = self._prepare([r for r in batch.creates if r.kind == "objective"], result, self._goal_create)
        for record, goal_id in parallel(lambda pair: self._create_goal(*pair, result), goals, self.concurrency):
            if goal_id:
                made[record.canonical_id] = goal_id
                result.external_ids[record.canonical_id] = goal_id
        failed |= {r.canonical_id for r, _ in goals if r.canonical_id not in made}
        failed |= {r.canonical_id for r in batch.creates if r.kind == "objective"} - {r.canonical_id for r, _ in goals}
        targets = []
        for record in (r for r in batch.creates if r.kind == "key_result"):
            parent = record.fields.get("objective_id")
            if parent in failed or not parent:
                result.rejected.append(Rejected(record.canonical_id, "its objective is not in ClickUp (it could not "
                                                                     "be created there)" if parent else
                                                "ClickUp keeps key results only inside a goal; give it an objective"))
                continue
            targets.append(record)
        prepared = self._prepare(targets, result, self._target_create)
        for record, target_id in parallel(lambda pair: self._create_target(*pair, made, result), prepared, self.concurrency):
            if target_id:
                result.external_ids[record.canonical_id] = target_id
        parallel(lambda r: self._update(r, made, result), [r for r in batch.updates if r.kind != "check_in"], self.concurrency)
        # targets first: a goal's delete then finds nothing of ours left under it
        deletes = sorted((r for r in batch.deletes if r.kind in ("objective", "key_result")),
                         key=lambda r: r.kind == "objective")
        parallel(lambda r: self._delete(r, result), [r for r in deletes if r.kind == "key_result"], self.concurrency)
        parallel(lambda r: self._delete(r, result), [r for r in deletes if r.kind == "objective"], self.concurrency)
        if self._wrote:  # after a read this run, into its state; without one (a push), into the stored cursor
            state = self._state if self._state is not None else _load(batch.cursor)
            state["wrote"].update(self._wrote)
            self._wrote.clear()
            result.cursor = json.dumps(state, sort_keys=True)
        return result

    def _prepare(self, records: list[Record], result: WriteResult, build: Callable[[Record], dict]) -> list:
        """(record, body) pairs; a record whose body can't be built is rejected, untouched."""
        out = []
        for record in records:
            try:
                out.append((record, build(record)))
            except (KeyError, ValueError) as e:
                result.rejected.append(Rejected(record.canonical_id, str(e.args[0] if e.args else e)))
        return out

    def _goal_create(self, record: Record) -> dict[str, Any]:
        return self.mapping.goal_body(record.fields, self._owner_ids(record.fields.get("owner")))

    def _target_create(self, record: Record) -> dict[str, Any]:
        return self.mapping.target_body(record.fields, self._owner_ids(record.fields.get("owner")), self.endpoint)

    def _create_goal(self, record: Record, body: dict[str, Any], result: WriteResult) -> tuple[Record, str | None]:
        def landed() -> str | None:
            return _newest(self._listing(), body["name"], set(self._goals))

        goal = self._create(record, f"/team/{self.team}/goal", body, "goal", landed, result)
        goal_id = goal["id"] if isinstance(goal, dict) else goal
        if isinstance(goal, dict):
            self._remember(goal)
        if goal_id:
            self._note_written(goal_id, record.fields, body)
        return record, goal_id

    def _note_written(self, external_id: str, fields: dict[str, Any], body: dict[str, Any]) -> None:
        note = {"filled": self.mapping.filled(fields, body)}
        if "due_date" in body:
            note["period"] = fields.get("period")
        with self._lock:
            self._wrote[external_id] = note

    def _create_target(self, record: Record, body: dict[str, Any], made: dict[str, str],
                       result: WriteResult) -> tuple[Record, str | None]:
        goal_id = made.get(record.fields["objective_id"], record.fields["objective_id"])

        def landed() -> str | None:
            known = set(self._targets)  # before the read below adds what it finds
            goal = self._goal(goal_id) or {}
            return _newest([t for t in goal.get("key_results") or [] if isinstance(t, dict)], body["name"], known)

        target = self._create(record, f"/goal/{goal_id}/key_result", body, "key_result", landed, result)
        target_id = target["id"] if isinstance(target, dict) else target
        if target_id is None:
            return record, None
        with self._lock:
            self._targets.add(target_id)
        self._note_written(target_id, record.fields, body)
        current = record.fields.get("current")
        if current is not None and current != record.fields.get("start"):
            # the create has no current value: set it (a failure here leaves the KR created, at its start)
            update = self.mapping.update_body(record.fields, body["owners"], self.endpoint)
            try:
                self._call("PUT", f"/key_result/{target_id}", json=update)
            except FatalError as e:
                result.rejected.append(Rejected(record.canonical_id, f"created, but its current value was refused: {e}"))
            else:
                self._note_written(target_id, record.fields, update)
                body = {**body, **update}
        self._verify_steps(target_id, goal_id, body, result)
        return record, target_id

    def _verify_steps(self, target_id: str, goal_id: str, body: dict[str, Any], result: WriteResult) -> None:
        """Read back a target written with a decimal steps_* value (the spec types them as
        integers, so ClickUp may keep only the whole part): a value kept otherwise is
        rejected as a loss, and remembered so every later read rejects it again. The
        rejection names the target, not the record: the write itself went through, so the
        hub links it and the next read finds it in step."""
        sent = {key: body[key] for key in STEPS if isinstance(body.get(key), float)}
        if not sent:
            return
        goal = self._goal(goal_id) or {"id": goal_id}
        target = next((t for t in goal.get("key_results") or [] if isinstance(t, dict) and t.get("id") == target_id),
                      {"id": target_id, "name": body.get("name")})
        lost = {STEPS[key]: [value, target.get(key)] for key, value in sent.items() if _as_float(target.get(key)) != value}
        if not lost:
            return
        with self._lock:
            self._wrote.setdefault(target_id, {})["lost"] = lost
        result.rejected.append(_loss(self._where(goal, target), target_id, lost))

    def _create(self, record: Record, path: str, body: dict[str, Any], key: str, landed: Callable[[], str | None],
                result: WriteResult) -> dict[str, Any] | str | None:
        """POST a create; after a lost answer, take the copy that landed instead of sending another."""
        for attempt in range(self.api.attempts):
            try:
                return (self._call("POST", path, json=body, replay_safe=False) or {})[key]
            except FatalError as e:
                result.rejected.append(Rejected(record.canonical_id, f"ClickUp refused it: {e}"))
                return None
            except (RetryableError, KeyError):
                if attempt + 1 == self.api.attempts:
                    raise
                found = landed()
                if found:
                    return found
        return None

    def _update(self, record: Record, made: dict[str, str], result: WriteResult) -> None:
        f = record.fields
        try:
            owners = self._owner_ids(f.get("owner"))
            if record.kind == "objective":
                known = self._goals.get(record.external_id) or self._goal(record.external_id)
                if known is None:
                    raise FatalError("no longer in ClickUp (deleted?); the next read unlinks it", endpoint=self.endpoint)
                known = self._goals[record.external_id]
                body = self.mapping.goal_body(f, owners, color=known.get("color"),
                                              remove=[o for o in known["owners"] if o not in owners])
                self._call("PUT", f"/goal/{record.external_id}", json=body)
                self._note_written(record.external_id, f, body)
                with self._lock:
                    self._goals[record.external_id]["owners"] = owners
            else:
                body = self.mapping.update_body(f, owners, self.endpoint)
                self._call("PUT", f"/key_result/{record.external_id}", json=body)
                self._note_written(record.external_id, f, body)
                self._verify_steps(record.external_id, f.get("objective_id"), body, result)
        except (KeyError, ValueError) as e:
            result.rejected.append(Rejected(record.external_id, str(e.args[0] if e.args else e)))
        except FatalError as e:
            reason = ("no longer in ClickUp (deleted?); the next read unlinks it"
                      if getattr(e, "status", None) == 404 else str(e))
            result.rejected.append(Rejected(record.external_id, reason))

    def _delete(self, record: Record, result: WriteResult) -> None:
        path = f"/goal/{record.external_id}" if record.kind == "objective" else f"/key_result/{record.external_id}"
        try:
            # the spec lists Content-Type: application/json as a required header of DeleteGoal
            self._call("DELETE", path, headers={"Content-Type": "application/json"})
        except FatalError as e:
            if getattr(e, "status", None) != 404:  # already gone is what we wanted
                result.rejected.append(Rejected(record.external_id, str(e)))



def _newest(items: list[dict[str, Any]], name: str, known: set[str]) -> str | None:
    """The most recently created item called ``name`` that is not one we knew of."""
    fresh = [i for i in items if i.get("name") == name and i.get("id") not in known]
    fresh.sort(key=lambda i: int(i.get("date_created") or 0))
    return fresh[-1]["id"] if fresh else None


def _load(cursor: str | None) -> dict[str, Any]:
    """The cursor: ids of every check-in read so far, and what okrsync wrote to each goal
    that ClickUp cannot hold (the period; whether the due date was filled in from it)."""
    raw = read_cursor(cursor)
    return {"check_ins": list(raw.get("check_ins") or []), "wrote": dict(raw.get("wrote") or {})}


def _user_id(owner: Any) -> int | None:
    """A user id from an owner given as a user object or as the id itself."""
    value = owner.get("id") if isinstance(owner, dict) else owner
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _as_float(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _lost_text(lost: dict[str, list[Any]]) -> str:
    kept = ", ".join(f"{name} {was!r} is {now!r} there" for name, (was, now) in lost.items())
    return (f"{kept} (ClickUp's spec types steps_* as integers). The difference is a loss: round the value "
            "in the other tool, or keep this KR out of ClickUp")


def _truncated(fields: dict[str, Any], lost: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The decimals okrsync wrote (name → [sent, kept]) that a read still shows truncated."""
    return {name: pair for name, pair in lost.items() if fields.get(name) == _as_float(pair[1])}


def _loss(where: str, target_id: str, lost: dict[str, list[Any]]) -> Rejected:
    """The rejection of a target whose decimals ClickUp truncated: made by the write that
    found it and by every read while ClickUp still holds the truncated value (the read shows
    what okrsync wrote, so the loss is not pulled back, but it is never silent)."""
    return Rejected(where, "ClickUp did not keep the decimals okrsync wrote: " + _lost_text(lost),
                    record=f"key_result {target_id}")


def _overlay(fields: dict[str, Any], wrote: dict[str, Any] | None) -> dict[str, Any]:
    """A read record with what only okrsync knows put back: the period it wrote, and empty
    fields it had to fill in for ClickUp, while ClickUp still holds the filled-in value."""
    if not wrote:
        return fields
    if "period" in wrote:
        fields["period"] = wrote["period"]
    for name, value in (wrote.get("filled") or {}).items():
        if fields.get(name) == value:
            fields[name] = None
    for name, (sent, kept) in (wrote.get("lost") or {}).items():
        if fields.get(name) == _as_float(kept):  # still the truncated value: the loss, not an edit
            fields[name] = sent
    return fields


def _iso(millis: Any) -> str | None:
    if millis in (None, ""):
        return None
    return dt.datetime.fromtimestamp(int(millis) / 1000, dt.UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def _auth(auth: Any, where: str) -> httpx.Auth:
    if not isinstance(auth, dict) or not (auth.get("token") or auth.get("bearer")):
        raise ConfigError(f"{where}: auth: give {{token: …}} (a personal token, pk_…, e.g. token: {{$env: CLICKUP_TOKEN}}) "
                          "or {bearer: …} (an OAuth 2.0 access token)")
    if auth.get("bearer"):
        return http.BearerAuth(str(auth["bearer"]))
    token = str(auth["token"]).strip()
    if not token.startswith("pk_"):
        raise ConfigError(f"{where}: auth.token is not a ClickUp personal token (those start with pk_); "
                          "an OAuth access token goes in auth.bearer")
    return http.HeaderAuth(token)  # ClickUp takes the personal token as the whole header value
