"""A stateful Asana Goals emulator: the subset okrsync uses, in Asana's shapes.

Goals with metrics, sub-goal relationships, read-only time periods, users (found by gid
or e-mail), goal status updates, and ``POST /batch`` (up to 10 actions, dispatched to the
same handlers). ``{"data": …}`` envelopes, ``limit``/``offset`` pages with ``next_page``,
``{"errors": [{"message": …}]}`` errors, ``Authorization: Bearer`` tokens.

Asana counts every action of a batch against its rate limit, so this emulator's ``cost``
does too: with ``faults.rate`` (actions per second, a bucket of ``faults.burst``) a batch
whose actions do not fit answers 429 with ``Retry-After`` as a whole, as Asana documents.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from .server import Emulator, HttpError, PageExpired, Request, route

TOKEN = "asana-test-token"
GOAL_KEYS = ("name", "notes", "html_notes", "due_on", "start_on", "is_workspace_level", "liked")


class AsanaEmulator(Emulator):
    def __init__(self, workspace: str = "1100", *, users: list[str] = (), periods: list[tuple[str, str, str, str]] = ()):
        super().__init__()
        self.workspace = workspace
        self.max_page: int | None = None  # the largest page served (None: as many as asked, up to 100)
        self._ids = itertools.count(1_200_000_000_000_000)
        self.users: dict[str, dict[str, Any]] = {}
        self.goals: dict[str, dict[str, Any]] = {}
        self.relationships: dict[str, dict[str, Any]] = {}
        self.updates: dict[str, dict[str, Any]] = {}
        self.periods: dict[str, dict[str, Any]] = {}
        self.me = self.add_user("okrsync-bot@example.com")
        for email in users:
            self.add_user(email)
        for period, display, start, end in periods:
            gid = self._gid()
            self.periods[gid] = {"gid": gid, "resource_type": "time_period", "period": period, "display_name": display,
                                 "start_on": start, "end_on": end}

    # -- state helpers -------------------------------------------------------------------

    def _gid(self) -> str:
        return str(next(self._ids))

    def add_user(self, email: str, name: str | None = None) -> str:
        gid = self._gid()
        self.users[gid] = {"gid": gid, "resource_type": "user", "name": name or email.split("@")[0].title(), "email": email}
        return gid

    def add_period(self, period: str, display: str, start: str, end: str) -> str:
        gid = self._gid()
        self.periods[gid] = {"gid": gid, "resource_type": "time_period", "period": period, "display_name": display,
                             "start_on": start, "end_on": end}
        return gid

    def goal(self, name: str) -> dict[str, Any]:
        """The one goal with this name (tests)."""
        found = [g for g in self.goals.values() if g["name"] == name]
        assert len(found) == 1, f"{len(found)} goals named {name!r}"
        return found[0]

    # -- dialect -------------------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        return headers.get("Authorization") == f"Bearer {TOKEN}"

    def error_body(self, status: int, message: str) -> Any:
        if status == 429:
            message = "You've made too many requests and hit a rate limit. Please retry after the given amount of time."
        error = {"message": message, "help": "For more information on API status codes and how to handle them, "
                                              "read the docs on errors: https://developers.asana.com/docs/errors"}
        if status >= 500:
            error["phrase"] = "6 sad squid snuggle softly"
        return {"errors": [error]}

    def cost(self, req: Request) -> int:
        """Asana's rate limit counts actions, not requests: a batch takes one per action."""
        if req.method == "POST" and req.path == "/api/1.0/batch":
            try:
                return max(1, len(json.loads(req.body)["data"]["actions"]))
            except (ValueError, KeyError, TypeError):
                return 1
        return 1

    # -- shapes ------------------------------------------------------------------------

    def _user(self, gid: str | None) -> dict[str, Any] | None:
        user = self.users.get(gid or "")
        return {"gid": user["gid"], "resource_type": "user", "name": user["name"]} if user else None

    def _goal_view(self, goal: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in goal.items() if k not in ("owner", "time_period", "metric", "current_status_update")}
        out["owner"] = self._user(goal.get("owner"))
        period = self.periods.get(goal.get("time_period") or "")
        out["time_period"] = dict(period) if period else None
        out["metric"] = dict(goal["metric"]) if goal.get("metric") else None
        latest = [u for u in self.updates.values() if u["parent"] == goal["gid"]]
        out["current_status_update"] = ({"gid": latest[-1]["gid"], "resource_type": "status_update",
                                         "title": latest[-1].get("title") or "", "resource_subtype": "goal_status_update"}
                                        if latest else None)
        out["workspace"] = {"gid": self.workspace, "resource_type": "workspace", "name": "Example workspace"}
        return out

    def _relationship_view(self, rel: dict[str, Any]) -> dict[str, Any]:
        child = self.goals.get(rel["supporting"]) or {}
        parent = self.goals.get(rel["supported"]) or {}
        return {"gid": rel["gid"], "resource_type": "goal_relationship", "resource_subtype": "subgoal",
                "contribution_weight": rel["weight"],
                "supporting_resource": {"gid": rel["supporting"], "resource_type": "goal", "name": child.get("name", "")},
                "supported_goal": {"gid": rel["supported"], "resource_type": "goal", "name": parent.get("name", ""),
                                   "owner": self._user(parent.get("owner"))}}

    def _update_view(self, u: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in u.items() if k not in ("parent", "author")}, "resource_type": "status_update",
                "resource_subtype": "goal_status_update", "author": self._user(u["author"]),
                "parent": {"gid": u["parent"], "resource_type": "goal", "name": self.goals.get(u["parent"], {}).get("name", "")}}

    @staticmethod
    def _select(item: dict[str, Any], fields: list[str], compact: tuple[str, ...]) -> dict[str, Any]:
        """opt_fields: the compact fields plus those asked for (dotted paths pick sub-fields)."""
        if not fields:
            return {k: item[k] for k in compact if k in item}
        out = {k: item[k] for k in ("gid", "resource_type") if k in item}
        for path in fields:
            head, _, rest = path.partition(".")
            if head not in item:
                continue
            value = item[head]
            if rest and isinstance(value, dict):
                sub = out.get(head) if isinstance(out.get(head), dict) else {"gid": value.get("gid")} if "gid" in value else {}
                if rest in value:
                    sub[rest] = value[rest]
                out[head] = sub
            elif not rest or value is None:
                out[head] = value
        return out

    def _page(self, req: Request, items: list[dict[str, Any]], path: str) -> tuple[int, Any]:
        limit = req.arg("limit")
        if limit is None:
            return 200, {"data": items}
        try:
            limit = int(limit)
            start = int(req.arg("offset") or 0)
        except ValueError:
            raise HttpError(400, "offset: Your pagination token is invalid.") from None
        if not 1 <= limit <= 100:
            raise HttpError(400, "limit: Must be between 1 and 100.")
        limit = min(limit, self.max_page or limit)  # a server may answer fewer than asked
        try:
            start = self.faults.page(start, limit)
        except PageExpired:
            raise HttpError(400, "offset: Your pagination token has expired.") from None
        page = items[start:start + limit]
        more = start + limit < len(items)
        next_page = {"offset": str(start + limit), "path": f"{path}?limit={limit}&offset={start + limit}",
                     "uri": f"https://app.asana.com/api/1.0{path}?limit={limit}&offset={start + limit}"} if more else None
        return 200, {"data": page, "next_page": next_page}

    def _listing(self, req: Request, key: str, rows, compact: tuple[str, ...], path: str) -> tuple[int, Any]:
        """A list filtered by a required query parameter, with opt_fields and pages."""
        value = req.arg(key)
        if not value:
            raise HttpError(400, f"{key}: Missing input")
        return self._page(req, [self._select(r, req.args("opt_fields"), compact) for r in rows(value)], path)

    @staticmethod
    def _data(req: Request) -> dict[str, Any]:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise HttpError(400, "data: Missing input")
        return body["data"]

    def _known_goal(self, gid: str) -> dict[str, Any]:
        if gid not in self.goals:
            raise HttpError(404, "goal: Not a recognized ID: " + gid)
        return self.goals[gid]

    # -- goals -----------------------------------------------------------------------

    @route("GET", r"/api/1.0/goals")
    def list_goals(self, req: Request):
        if not req.arg("workspace") and not req.arg("team"):
            raise HttpError(400, "Must specify exactly one of project, portfolio, team or workspace.")
        team = req.arg("team")
        goals = [self._goal_view(g) for g in self.goals.values() if not team or g.get("team") == team]
        fields = req.args("opt_fields")
        return self._page(req, [self._select(g, fields, ("gid", "resource_type", "name", "owner")) for g in goals],
                          "/goals")

    @route("POST", r"/api/1.0/goals")
    def create_goal(self, req: Request):
        data = self._data(req)
        if not data.get("name"):
            raise HttpError(400, "name: Missing input")
        if data.get("workspace") != self.workspace:
            raise HttpError(400, "workspace: Not a recognized ID: " + str(data.get("workspace")))
        if data.get("start_on") and not data.get("due_on"):
            raise HttpError(400, "start_on: Cannot be set without due_on")
        self._check_refs(data)
        gid = self._gid()
        goal = {"gid": gid, "resource_type": "goal", "name": data["name"], "notes": data.get("notes") or "",
                "html_notes": f"<body>{data.get('notes') or ''}</body>", "due_on": data.get("due_on"),
                "start_on": data.get("start_on"), "is_workspace_level": not data.get("team"), "liked": False,
                "num_likes": 0, "likes": [], "followers": [], "owner": data.get("owner"), "team": None,
                "time_period": data.get("time_period"), "metric": None, "status": None,
                "privacy_setting": "public_to_workspace"}
        if data.get("team"):
            goal["team"] = {"gid": data["team"], "resource_type": "team", "name": "Team"}
        self.goals[gid] = goal
        return 201, {"data": self._goal_view(goal)}

    def _check_refs(self, data: dict[str, Any]) -> None:
        if data.get("owner") and data["owner"] not in self.users:
            raise HttpError(400, "owner: Not a recognized ID: " + data["owner"])
        if data.get("time_period") and data["time_period"] not in self.periods:
            raise HttpError(400, "time_period: Not a recognized ID: " + data["time_period"])

    @route("GET", r"/api/1.0/goals/(?P<gid>\d+)")
    def get_goal(self, req: Request):
        return 200, {"data": self._goal_view(self._known_goal(req.params["gid"]))}

    @route("PUT", r"/api/1.0/goals/(?P<gid>\d+)")
    def update_goal(self, req: Request):
        goal = self._known_goal(req.params["gid"])
        data = self._data(req)
        self._check_refs(data)
        if "status" in data and data["status"] is not None:
            if not goal.get("metric"):
                raise HttpError(400, "status: You can only set the status of a goal with a metric.")
            if data["status"] not in ("green", "yellow", "red", "achieved", "partial", "missed", "dropped"):
                raise HttpError(400, "status: Not a valid goal status")
        for key in (*GOAL_KEYS, "owner", "time_period", "status"):
            if key in data:
                goal[key] = data[key]
        if goal.get("start_on") and not goal.get("due_on"):
            raise HttpError(400, "start_on: Cannot be set without due_on")
        return 200, {"data": self._goal_view(goal)}

    @route("DELETE", r"/api/1.0/goals/(?P<gid>\d+)")
    def delete_goal(self, req: Request):
        gid = req.params["gid"]
        self._known_goal(gid)
        del self.goals[gid]
        for rid in [r for r, rel in self.relationships.items() if gid in (rel["supporting"], rel["supported"])]:
            del self.relationships[rid]
        return 200, {"data": {}}

    @route("POST", r"/api/1.0/goals/(?P<gid>\d+)/setMetric")
    def set_metric(self, req: Request):
        goal = self._known_goal(req.params["gid"])
        data = self._data(req)
        initial, target = data.get("initial_number_value"), data.get("target_number_value")
        if initial is not None and target is not None and initial == target:
            raise HttpError(400, "target_number_value: Cannot equal initial_number_value")
        unit = data.get("unit", "none")
        if unit not in ("none", "currency", "percentage"):
            raise HttpError(400, "unit: Not a valid unit")
        precision = data.get("precision", 0)
        if not 0 <= precision <= 6:
            raise HttpError(400, "precision: Must be between 0 and 6, inclusive.")
        goal["metric"] = {"gid": self._gid(), "resource_type": "task", "resource_subtype": "number", "unit": unit,
                          "precision": precision, "currency_code": data.get("currency_code") if unit == "currency" else None,
                          "initial_number_value": initial or 0, "target_number_value": target,
                          "current_number_value": data.get("current_number_value", initial or 0),
                          "current_display_value": str(data.get("current_number_value", initial or 0)),
                          "progress_source": data.get("progress_source", "manual"),
                          "is_custom_weight": bool(data.get("is_custom_weight", False)), "can_manage": True}
        return 200, {"data": self._goal_view(goal)}

    @route("POST", r"/api/1.0/goals/(?P<gid>\d+)/setMetricCurrentValue")
    def set_metric_current(self, req: Request):
        goal = self._known_goal(req.params["gid"])
        if not goal.get("metric"):
            raise HttpError(400, "metric: This goal has no metric.")
        value = self._data(req).get("current_number_value")
        goal["metric"].update(current_number_value=value, current_display_value=str(value))
        return 200, {"data": self._goal_view(goal)}

    @route("GET", r"/api/1.0/goals/(?P<gid>\d+)/parentGoals")
    def parent_goals(self, req: Request):
        gid = req.params["gid"]
        self._known_goal(gid)
        parents = [self.goals[r["supported"]] for r in self.relationships.values() if r["supporting"] == gid]
        return 200, {"data": [{"gid": g["gid"], "resource_type": "goal", "name": g["name"],
                               "owner": self._user(g.get("owner"))} for g in parents]}

    # -- relationships ---------------------------------------------------------------

    @route("POST", r"/api/1.0/goals/(?P<gid>\d+)/addSupportingRelationship")
    def add_relationship(self, req: Request):
        parent = req.params["gid"]
        self._known_goal(parent)
        data = self._data(req)
        child = data.get("supporting_resource")
        self._known_goal(child or "")
        if child == parent:
            raise HttpError(400, "supporting_resource: A goal cannot support itself.")
        if any(r["supported"] == parent and r["supporting"] == child for r in self.relationships.values()):
            raise HttpError(400, "supporting_resource: This resource already supports the goal.")
        weight = data.get("contribution_weight", 0)
        if not 0 <= weight <= 1:
            raise HttpError(400, "contribution_weight: Must be between 0 and 1.")
        gid = self._gid()
        self.relationships[gid] = {"gid": gid, "supported": parent, "supporting": child, "weight": weight}
        return 200, {"data": self._relationship_view(self.relationships[gid])}

    @route("POST", r"/api/1.0/goals/(?P<gid>\d+)/removeSupportingRelationship")
    def remove_relationship(self, req: Request):
        parent = req.params["gid"]
        child = self._data(req).get("supporting_resource")
        found = [r for r, rel in self.relationships.items() if rel["supported"] == parent and rel["supporting"] == child]
        if not found:
            raise HttpError(404, "supporting_resource: Not a supporting resource of this goal.")
        del self.relationships[found[0]]
        return 200, {"data": {}}

    @route("GET", r"/api/1.0/goal_relationships")
    def list_relationships(self, req: Request):
        return self._listing(req, "supported_goal", lambda parent: [
            self._relationship_view(r) for r in self.relationships.values() if r["supported"] == parent],
            ("gid", "resource_type", "resource_subtype", "supporting_resource"), "/goal_relationships")

    @route("PUT", r"/api/1.0/goal_relationships/(?P<gid>\d+)")
    def update_relationship(self, req: Request):
        rel = self.relationships.get(req.params["gid"])
        if rel is None:
            raise HttpError(404, "goal_relationship: Not a recognized ID")
        data = self._data(req)
        if "contribution_weight" in data:
            rel["weight"] = data["contribution_weight"]
        return 200, {"data": self._relationship_view(rel)}

    # -- periods, users, status updates ------------------------------------------------

    @route("GET", r"/api/1.0/time_periods")
    def list_periods(self, req: Request):
        if req.arg("workspace") != self.workspace:
            raise HttpError(400, "workspace: Missing input")
        fields = req.args("opt_fields")
        return self._page(req, [self._select(p, fields, ("gid", "resource_type", "display_name", "period", "start_on", "end_on"))
                                for p in self.periods.values()], "/time_periods")

    @route("GET", r"/api/1.0/users/(?P<who>[^/]+)")
    def get_user(self, req: Request):
        who = req.params["who"].replace("%40", "@")
        if who == "me":
            who = self.me
        user = self.users.get(who) or next((u for u in self.users.values() if u["email"].casefold() == who.casefold()), None)
        if user is None:
            raise HttpError(404, "user: Not a recognized ID: " + who)
        return 200, {"data": self._select(user, req.args("opt_fields"), ("gid", "resource_type", "name"))}

    @route("GET", r"/api/1.0/status_updates")
    def list_updates(self, req: Request):
        return self._listing(req, "parent", lambda parent: [
            self._update_view(u) for u in self.updates.values() if u["parent"] == parent],
            ("gid", "resource_type", "resource_subtype", "title"), "/status_updates")

    @route("POST", r"/api/1.0/status_updates")
    def create_update(self, req: Request):
        data = self._data(req)
        for key in ("parent", "text", "status_type"):
            if key not in data:
                raise HttpError(400, f"{key}: Missing input")
        self._known_goal(data["parent"])
        gid = self._gid()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.updates[gid] = {"gid": gid, "parent": data["parent"], "text": data["text"], "status_type": data["status_type"],
                             "title": data.get("title") or "", "created_at": now, "modified_at": now, "author": self.me}
        return 201, {"data": self._update_view(self.updates[gid])}

    @route("DELETE", r"/api/1.0/status_updates/(?P<gid>\d+)")
    def delete_update(self, req: Request):
        if self.updates.pop(req.params["gid"], None) is None:
            raise HttpError(404, "status_update: Not a recognized ID")
        return 200, {"data": {}}

    # -- batch -----------------------------------------------------------------------

    @route("POST", r"/api/1.0/batch")
    def batch(self, req: Request):
        actions = ((req.json() or {}).get("data") or {}).get("actions")
        if not isinstance(actions, list) or not actions:
            raise HttpError(400, "actions: Missing input")
        if len(actions) > 10:
            raise HttpError(400, "actions: You may only make up to 10 requests in a batch.")
        return 200, {"data": [self._action(a, req.headers) for a in actions]}

    def _action(self, action: dict[str, Any], headers: Any) -> dict[str, Any]:
        method = str(action.get("method", "")).upper()
        path = action.get("relative_path") or ""
        if "?" in path:
            return {"status_code": 400, "body": self.error_body(400, "relative_path: Query parameters are not accepted here.")}
        data = action.get("data")
        options = action.get("options") or {}
        query: dict[str, list[str]] = {}
        body = b""
        if method == "GET":
            query = {k: [str(v).lower() if isinstance(v, bool) else str(v)] for k, v in (data or {}).items()}
        elif data is not None:
            body = json.dumps({"data": data}).encode()
        for key in ("limit", "offset"):
            if key in options:
                query[key] = [str(options[key])]
        if options.get("fields"):
            query["opt_fields"] = [",".join(options["fields"])]
        sub = Request(method, "/api/1.0" + path, query, headers, body)
        status, out, _ = self._respond(sub)  # same routes; the batch paid the rate limit for it
        return {"status_code": status, "body": out, "headers": {}}
