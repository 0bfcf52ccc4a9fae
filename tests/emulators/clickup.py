"""A stateful emulator of the ClickUp API v2 Goals subset okrsync uses.

Answers in the shapes of ``tests/specs/clickup-api-v2.openapi.json`` (``tests/test_clickup.py``
checks its bodies against it), with two documented deviations where real responses are
known to differ from the spec's types:

- a goal's ``key_results`` are target *objects* (the spec says strings), carrying
  ``steps_start``, ``steps_end`` and ``steps_current`` as third-party clients model them
  (UNVERIFIED against live ClickUp: no public example shows a populated list);
- the goal listing's ``owners`` are user objects as in ``GET /goal/{id}`` (the spec's
  listing types them as strings; its only example is empty).

Decimals: the spec types ``steps_start``/``steps_end``/``steps_current`` as integers (int32)
while its answers carry ``steps_*_float`` companions; what live ClickUp does with a fraction
is unknown. Here it is kept unless ``truncate_decimals`` is set, which stores ``int(value)``
as an integer-only server would (the contradicting behaviour a probe must catch). The spec's
own types can be switched on: ``owners_as_ids`` answers owners (of goals and targets) as user
ids, ``key_results_as_ids`` a goal's ``key_results`` as id strings.

State is public so tests can arrange and inspect it: ``goals`` (id → goal, stored in the
response shape minus targets), ``targets`` (id → target with ``goal_id``), ``folders``,
``members``. Helpers act as a person in the app would: ``add_goal``, ``add_target``,
``check_in`` (a target update with a note), ``edit_goal``, ``delete_goal``. The token
``pk_…`` personal token or ``Bearer`` OAuth token given at construction is the only one
accepted. A 429 carries ``X-RateLimit-Limit/Remaining/Reset`` (a unix time), no
``Retry-After``, as ClickUp documents.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .server import Emulator, HttpError, Request, route

V2 = "/api/v2"
TARGET_TYPES = ("number", "currency", "boolean", "percentage", "automatic")
DEFAULT_MEMBERS = [
    {"id": 183, "username": "okrsync bot", "email": "bot@example.com"},
    {"id": 184, "username": "Maria Keller", "email": "maria.keller@example.com"},
]
COLOR = "#827718"


def _now() -> str:
    return str(int(time.time() * 1000))


def _num(value: float | None) -> int | float | None:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ClickUpEmulator(Emulator):
    def __init__(self, *, team_id: str = "512", token: str = "pk_183_TESTTOKEN", bearer: str | None = None,
                 members: list[dict[str, Any]] | None = None, limit_per_minute: int = 100):
        super().__init__()
        self.team_id, self.token, self.bearer = team_id, token, bearer
        self.limit_per_minute = limit_per_minute  # shown in X-RateLimit-Limit; faults.rate does the limiting
        self.members = [dict(m) for m in (members or DEFAULT_MEMBERS)]
        self.goals: dict[str, dict[str, Any]] = {}
        self.targets: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.truncate_decimals = False
        self.owners_as_ids = False
        self.key_results_as_ids = False
        self._pretty = 0

    # -- dialect ------------------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        value = headers.get("Authorization") or ""
        return value == self.token or (self.bearer is not None and value == f"Bearer {self.bearer}")

    def error_body(self, status: int, message: str) -> Any:
        # ClickUp's error shape: {"err": …, "ECODE": …}; the codes are UNVERIFIED examples
        code = {401: "OAUTH_025", 404: "GOAL_NOT_FOUND", 429: "APP_002"}.get(status, "INPUT_000")
        return {"err": message, "ECODE": code}

    def rate_limit_headers(self, wait: int) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit_per_minute), "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + wait)}

    # -- people -------------------------------------------------------------------------

    def add_member(self, email: str, username: str | None = None) -> int:
        with self.lock:
            new_id = max([m["id"] for m in self.members] + [182]) + 1
            self.members.append({"id": new_id, "username": username or email.split("@")[0], "email": email})
            return new_id

    def _user(self, user_id: Any) -> dict[str, Any]:
        member = next((m for m in self.members if m["id"] == user_id), None)
        if member is None:
            raise HttpError(400, f"User {user_id} is not a member of this Workspace.")
        return {"id": member["id"], "username": member["username"], "initials": member["username"][:2].upper(),
                "email": member["email"], "color": COLOR, "profilePicture": ""}

    def _owners(self, ids: Any) -> list[dict[str, Any]]:
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise HttpError(400, "owners must be an array of user ids.")
        return [self._user(i) for i in ids]

    @route("GET", V2 + "/team")
    def get_teams(self, req: Request):
        users = [{"user": {"id": m["id"], "username": m["username"], "email": m["email"], "color": COLOR,
                           "profilePicture": "", "initials": m["username"][:2].upper()}} for m in self.members]
        return 200, {"teams": [{"id": self.team_id, "name": "Acme", "color": COLOR, "avatar": "", "members": users}]}

    # -- goals ----------------------------------------------------------------------------

    def _check_team(self, req: Request) -> None:
        if req.params["team"] != self.team_id:
            raise HttpError(401, "Team not authorized")  # what ClickUp answers for a workspace the token lacks

    def _find_goal(self, goal_id: str) -> dict[str, Any]:
        if goal_id not in self.goals:
            raise HttpError(404, "Goal not found")
        return self.goals[goal_id]

    def _goal_view(self, goal: dict[str, Any]) -> dict[str, Any]:
        targets = [self._target_view(t) for t in self.targets.values() if t["goal_id"] == goal["id"]]
        done = [float(t["percent_completed"] or 0) for t in targets]
        view = {k: v for k, v in goal.items() if not k.startswith("_")}
        view.update(key_results=targets, percent_completed=int(sum(done) / len(done)) if done else 0)
        if self.owners_as_ids:  # the spec's listing types owners as strings (user ids)
            view["owners"] = [str(o["id"]) for o in view["owners"]]
            for target in targets:
                target["owners"] = [str(o["id"]) for o in target["owners"]]
        if self.key_results_as_ids:  # the spec's Goal.key_results: array<string>
            view["key_results"] = [t["id"] for t in targets]
        return view

    def _summary(self, goal: dict[str, Any]) -> dict[str, Any]:
        """A goal as the listing shows it (GetGoals' Goal2 shape)."""
        full = self._goal_view(goal)
        out = {k: full[k] for k in ("id", "pretty_id", "name", "team_id", "creator", "color", "date_created",
                                    "start_date", "due_date", "description", "private", "archived",
                                    "multiple_owners", "folder_id", "owners", "percent_completed")}
        out.update(owner=None, editor_token=f"goal:{goal['id']}", date_updated=goal["_updated"],
                   last_update=goal["_updated"], pinned=False, key_result_count=len(full["key_results"]),
                   members=[], group_members=[])
        if goal["folder_id"]:
            out["folder_access"] = True
        return out

    @route("GET", V2 + r"/team/(?P<team>[^/]+)/goal")
    def get_goals(self, req: Request):
        self._check_team(req)
        include = req.arg("include_completed", "false") == "true"
        shown = [g for g in self.goals.values() if include or self._goal_view(g)["percent_completed"] < 100]
        folders = []
        for folder in self.folders.values():
            inside = [self._summary(g) for g in shown if g["folder_id"] == folder["id"]]
            folders.append({**folder, "goal_count": len(inside), "members": [], "goals": inside})
        return 200, {"goals": [self._summary(g) for g in shown if g["folder_id"] is None], "folders": folders}

    @route("POST", V2 + r"/team/(?P<team>[^/]+)/goal")
    def create_goal(self, req: Request):
        self._check_team(req)
        body = req.json()
        missing = [k for k in ("name", "due_date", "description", "multiple_owners", "owners", "color") if k not in body]
        if missing:
            raise HttpError(400, f"Missing {', '.join(missing)}")
        if not isinstance(body["due_date"], int) or not str(body["name"]).strip():
            raise HttpError(400, "Goal name and an integer due_date are required")
        goal = self.add_goal(body["name"], due_date=body["due_date"], description=body["description"],
                             owners=self._owners(body["owners"]), color=body["color"],
                             multiple_owners=bool(body["multiple_owners"]))
        return 200, {"goal": self._goal_view(goal)}

    def add_goal(self, name: str, *, due_date: int, description: str = "", owners: list[dict] | None = None,
                 color: str = "#32a852", multiple_owners: bool = True, folder_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            self._pretty += 1
            now = _now()
            goal = {"id": str(uuid.uuid4()), "name": name, "team_id": self.team_id, "date_created": now,
                    "start_date": None, "due_date": str(due_date), "description": description, "private": False,
                    "archived": False, "creator": self.members[0]["id"], "color": color,
                    "pretty_id": str(self._pretty), "multiple_owners": multiple_owners, "folder_id": folder_id,
                    "members": [], "owners": owners or [], "history": [],
                    "pretty_url": f"https://app.clickup.com/{self.team_id}/goals/{self._pretty}", "_updated": now}
            self.goals[goal["id"]] = goal
            return goal

    @route("GET", V2 + r"/goal/(?P<goal>[^/]+)")
    def get_goal(self, req: Request):
        return 200, {"goal": self._goal_view(self._find_goal(req.params["goal"]))}

    @route("PUT", V2 + r"/goal/(?P<goal>[^/]+)")
    def update_goal(self, req: Request):
        goal = self._find_goal(req.params["goal"])
        body = req.json()
        owners = [o for o in goal["owners"] if o["id"] not in (body.get("rem_owners") or [])]
        for added in self._owners(body.get("add_owners") or []):
            if added["id"] not in [o["id"] for o in owners]:
                owners.append(added)
        changes = {"owners": owners}
        for key in ("name", "description", "color"):
            if key in body:
                changes[key] = body[key]
        if "due_date" in body:
            changes["due_date"] = str(body["due_date"])
        self.edit_goal(goal["id"], **changes)
        return 200, {"goal": self._goal_view(goal)}

    def edit_goal(self, goal_id: str, **changes: Any) -> None:
        with self.lock:
            self.goals[goal_id].update(changes, _updated=_now())

    @route("DELETE", V2 + r"/goal/(?P<goal>[^/]+)")
    def delete_goal_route(self, req: Request):
        self.delete_goal(self._find_goal(req.params["goal"])["id"])
        return 200, {}

    def delete_goal(self, goal_id: str) -> None:
        with self.lock:
            del self.goals[goal_id]
            for target_id in [t for t, v in self.targets.items() if v["goal_id"] == goal_id]:
                del self.targets[target_id]

    def add_folder(self, name: str) -> str:
        with self.lock:
            folder_id = str(uuid.uuid4())
            self.folders[folder_id] = {"id": folder_id, "name": name, "team_id": self.team_id, "private": False,
                                       "date_created": _now(), "creator": self.members[0]["id"]}
            return folder_id

    # -- targets ------------------------------------------------------------------------

    def _target_view(self, target: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in target.items() if not k.startswith("_")}
        span = (target["steps_end"] or 0) - (target["steps_start"] or 0)
        done = (target["steps_current"] - target["steps_start"]) / span * 100 if span else 0
        out["percent_completed"] = str(int(max(0, min(100, done))))
        out["completed"] = done >= 100
        for key in ("steps_start", "steps_end", "steps_current"):
            out[key] = _num(target[key])
        return out

    @route("POST", V2 + r"/goal/(?P<goal>[^/]+)/key_result")
    def create_target(self, req: Request):
        goal = self._find_goal(req.params["goal"])
        body = req.json()
        missing = [k for k in ("name", "owners", "type", "steps_start", "steps_end", "unit", "task_ids", "list_ids")
                   if k not in body]
        if missing:
            raise HttpError(400, f"Missing {', '.join(missing)}")
        target = self.add_target(goal["id"], body["name"], type=body["type"], steps_start=body["steps_start"],
                                 steps_end=body["steps_end"], unit=body["unit"], owners=self._owners(body["owners"]))
        return 200, {"key_result": self._created_view(target)}

    def _created_view(self, target: dict[str, Any]) -> dict[str, Any]:
        """CreateKeyResult's answer: the KeyResult shape (no steps_* fields, last_action without *_float)."""
        view = self._target_view(target)
        for key in ("steps_start", "steps_end", "steps_current"):
            view.pop(key)
        view["last_action"] = {k: v for k, v in view["last_action"].items() if not k.endswith("_float")}
        return view

    def add_target(self, goal_id: str, name: str, *, type: str = "number", steps_start: float = 0,
                   steps_end: float = 10, unit: str = "", owners: list[dict] | None = None) -> dict[str, Any]:
        if type not in TARGET_TYPES:
            raise HttpError(400, f"Invalid key result type {type!r}")
        for value in (steps_start, steps_end):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise HttpError(400, "steps_start and steps_end must be numbers")
        if not str(name).strip():
            raise HttpError(400, "Key result name is required")
        with self.lock:
            target_id, now = str(uuid.uuid4()), _now()
            goal = self.goals[goal_id]
            target = {"id": target_id, "goal_id": goal_id, "name": name, "type": type, "unit": unit,
                      "creator": self.members[0]["id"], "date_created": now, "goal_pretty_id": goal["pretty_id"],
                      "percent_completed": None, "completed": False, "task_ids": [], "subcategory_ids": [],
                      "owners": owners or [], "steps_start": self._step(steps_start),
                      "steps_end": self._step(steps_end), "steps_current": self._step(steps_start),
                      "last_action": self._action(target_id, "Created Key Result", None, None, now)}
            self.targets[target_id] = target
            goal["_updated"] = now
            return target

    def _step(self, value: float) -> float:
        return float(int(value)) if self.truncate_decimals else float(value)

    def _action(self, target_id: str, note: str, before: float | None, current: float | None, now: str,
                user: int | None = None) -> dict[str, Any]:
        taken = None if before is None or current is None else current - before
        return {"id": str(uuid.uuid4()), "key_result_id": target_id, "userid": user or self.members[0]["id"],
                "date_modified": now, "steps_taken": None if taken is None else str(_num(taken)), "note": note,
                "steps_before": None if before is None else str(_num(before)),
                "steps_current": None if current is None else str(_num(current)),
                "steps_before_float": _num(before or 0.0), "steps_taken_float": _num(taken or 0.0),
                "steps_current_float": None if current is None else str(_num(current))}

    @route("PUT", V2 + r"/key_result/(?P<target>[^/]+)")
    def edit_target(self, req: Request):
        target = self.targets.get(req.params["target"])
        if target is None:
            raise HttpError(404, "Key result not found")
        body = req.json()
        allowed = {"name", "owners", "type", "steps_start", "steps_end", "unit", "task_ids", "list_ids",
                   "steps_current", "note"}
        if set(body) - allowed:
            raise HttpError(400, f"Unknown keys {sorted(set(body) - allowed)}")
        if "type" in body and body["type"] not in TARGET_TYPES:
            raise HttpError(400, f"Invalid key result type {body['type']!r}")
        for key in ("steps_start", "steps_end", "steps_current"):
            if key in body and (isinstance(body[key], bool) or not isinstance(body[key], (int, float))):
                raise HttpError(400, f"{key} must be a number")
        owners = self._owners(body["owners"]) if "owners" in body else None
        with self.lock:
            for key in ("name", "type", "unit", "task_ids", "list_ids"):
                if key in body:
                    target[key] = body[key]
            for key in ("steps_start", "steps_end"):
                if key in body:
                    target[key] = self._step(body[key])
            if owners is not None:
                target["owners"] = owners
            if "steps_current" in body or "note" in body:
                self.check_in(target["id"], body.get("steps_current", target["steps_current"]), body.get("note", ""))
        return 200, {"key_result": self._target_view(target)}

    def check_in(self, target_id: str, value: float, note: str, user: int | None = None) -> None:
        """An update of a target's current value with a note, as a person makes it in the app."""
        with self.lock:
            target, now = self.targets[target_id], _now()
            value = self._step(value)
            target["last_action"] = self._action(target_id, note, target["steps_current"], value, now, user)
            target["steps_current"] = value
            self.goals[target["goal_id"]]["_updated"] = now

    @route("DELETE", V2 + r"/key_result/(?P<target>[^/]+)")
    def delete_target(self, req: Request):
        with self.lock:
            if self.targets.pop(req.params["target"], None) is None:
                raise HttpError(404, "Key result not found")
        return 200, {}
