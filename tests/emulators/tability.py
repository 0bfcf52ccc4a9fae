"""A stateful Tability API v2 emulator: the documented read endpoints and the remote
check-ins webhook, with the shapes of the docs' examples (guides.tability.app/api/…).

State is plain dicts of the vendor's JSON objects. Tests seed it with ``add_plan`` …
``add_check_in`` (what a user does in the app) and read it back. Listing plans is paged
(``per_page`` items, ``X-Per-Page`` / ``X-Page`` / ``X-Total`` and a ``Link`` header, as the
pagination page documents); plan-scoped lists and check-ins come whole, as their pages show
no ``page`` parameter. Error bodies and rate-limit headers are not documented by Tability:
``{"error": message}`` and ``Retry-After`` are stand-ins.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import uuid
from typing import Any

from .server import Emulator, HttpError, Request, route

WS = r"/v2/workspaces/(?P<ws>[^/]+)"
_SEQ = itertools.count(1)


def _now() -> str:
    # strictly increasing, so "newest" is well defined even within one millisecond
    base = dt.datetime(2026, 2, 15, tzinfo=dt.UTC) + dt.timedelta(seconds=next(_SEQ))
    return base.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TabilityEmulator(Emulator):
    def __init__(self, *, workspace: str = "acme", token: str = "tab-SECRET-token", per_page: int = 25):
        super().__init__()
        self.workspace, self.token, self.per_page = workspace, token, per_page
        self.workspace_id = str(uuid.uuid4())
        self.plans: dict[str, dict] = {}
        self.objectives: dict[str, dict] = {}
        self.outcomes: dict[str, dict] = {}
        self.initiatives: dict[str, dict] = {}
        self.check_ins: dict[str, dict] = {}
        self.remote_tokens: dict[str, str] = {}  # remote check-ins token → outcome id
        self.members: dict[str, dict] = {}

    # -- dialect -------------------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        return headers.get("Authorization") == f"API {self.token}"

    # -- seeding (what a user does in the app) ---------------------------------------------

    def _base(self, **fields) -> dict:
        now = _now()
        return {"id": str(uuid.uuid4()), "workspace_id": self.workspace_id, "nano_slug": secrets.token_urlsafe(9),
                "created_at": now, "updated_at": now, **fields}

    def member(self, email: str | None) -> dict | None:
        if not email:
            return None
        if email not in self.members:
            first = email.split("@")[0].split(".")[0].title()
            self.members[email] = self._base(user_id=str(uuid.uuid4()), role="user", cached_email=email,
                                             cached_firstname=first, cached_lastname="", cached_avatar_url="")
        return self.members[email]

    def add_plan(self, title: str, start: str, finish: str, *, archived: bool = False, parent_id: str | None = None) -> str:
        with self.lock:
            plan = self._base(parent_id=parent_id, title=title, plan_icon="", start_at=f"{start}T00:00:00.000Z",
                              finish_at=f"{finish}T00:00:00.000Z", state="published", archived=archived,
                              cached_tag_list=None, reminders_period="week", reminders_interval=1, reminders_hour=8,
                              active=True, expired=False, parent=None)
            self.plans[plan["id"]] = plan
            return plan["id"]

    def add_objective(self, plan_id: str, title: str, description: str = "") -> str:
        with self.lock:
            obj = self._base(plan_id=plan_id, title=title, description=description, archived=False, cached_tag_list=[])
            self.objectives[obj["id"]] = obj
            return obj["id"]

    def add_outcome(self, objective_id: str, title: str, *, start: float | None, target: float | None,
                    score_format: str = "_number_", outcome_type: str = "improve_metric", weight: float = 1,
                    owner: str | None = None, description: str = "") -> str:
        with self.lock:
            out = self._base(objective_id=objective_id, rank="~n", title=title, description=description,
                             **{"from": start, "to": target}, score_format=score_format, is_pending_checkin=False,
                             archived=False, completed=False, outcome_type=outcome_type, weight=weight,
                             membership=self.member(owner), cached_tag_list="")
            self.outcomes[out["id"]] = out
            return out["id"]

    def add_initiative(self, outcome_id: str, title: str, *, state: str = "open", work_state: str = "planned",
                       owner: str | None = None, due: str | None = None) -> str:
        with self.lock:
            member = self.member(owner)
            item = self._base(outcome_id=outcome_id, title=title, rank="~f", column_rank="~n", state=state,
                              work_state=work_state, roadmap_state="later", closed_at=None, archived=False,
                              due_at=f"{due}T00:00:00.000Z" if due else None, body="", cached_tag_list=None,
                              membership_id=member["id"] if member else None, membership=member)
            self.initiatives[item["id"]] = item
            return item["id"]

    def add_check_in(self, outcome_id: str, score: float, *, confidence: str = "green", body: str = "",
                     author: str | None = None, date: str | None = None, remote: bool = False) -> str:
        with self.lock:
            now = _now()
            item = self._base(outcome_id=outcome_id, checkin_date=f"{date}T00:00:00.000Z" if date else now,
                              score=float(score), confidence=confidence, body=body, is_remote=remote,
                              cached_reactions="{}", cached_views_count=0, membership=self.member(author))
            self.check_ins[item["id"]] = item
            self.outcomes[outcome_id]["updated_at"] = now
            return item["id"]

    def enable_remote_check_ins(self, outcome_id: str) -> str:
        token = secrets.token_hex(8)
        self.remote_tokens[token] = outcome_id
        return token

    def edit(self, table: str, item_id: str, **fields) -> None:
        with self.lock:
            getattr(self, table)[item_id].update(fields, updated_at=_now())

    def check_ins_of(self, outcome_id: str) -> list[dict]:
        return sorted((c for c in self.check_ins.values() if c["outcome_id"] == outcome_id),
                      key=lambda c: (c["checkin_date"], c["created_at"]))

    # -- views -----------------------------------------------------------------------------

    def _outcome_view(self, out: dict) -> dict:
        history = self.check_ins_of(out["id"])
        return {**out, "current_checkin": history[-1] if history else None,
                "previous_checkin": history[-2] if len(history) > 1 else None}

    def _workspace(self, req: Request) -> None:
        if req.params["ws"] not in (self.workspace, self.workspace_id):
            raise HttpError(404, "Workspace not found")

    def _found(self, table: dict, item_id: str, what: str) -> dict:
        for item in table.values():
            if item_id in (item["id"], item["nano_slug"]):  # "UUID or Nano ID"
                return item
        raise HttpError(404, f"{what} not found")

    # -- routes ----------------------------------------------------------------------------

    @route("GET", WS + r"/plans")
    def list_plans(self, req: Request):
        self._workspace(req)
        plans = list(self.plans.values())
        page = int(req.arg("page") or 1)
        last = max(1, -(-len(plans) // self.per_page))
        chunk = plans[(page - 1) * self.per_page: page * self.per_page]
        url = f"https://api.tability.app/v2/workspaces/{req.params['ws']}/plans?page="
        links = [f'<{url}1>; rel="first"', f'<{url}{last}>; rel="last"']
        if page < last:
            links.append(f'<{url}{page + 1}>; rel="next"')
        if page > 1:
            links.append(f'<{url}{page - 1}>; rel="prev"')
        return 200, chunk, {"X-Per-Page": str(self.per_page), "X-Page": str(page), "X-Total": str(len(plans)),
                            "Link": ", ".join(links)}

    @route("GET", WS + r"/plans/(?P<plan>[^/]+)/objectives")
    def plan_objectives(self, req: Request):
        self._workspace(req)
        plan = self._found(self.plans, req.params["plan"], "Plan")
        return 200, [o for o in self.objectives.values() if o["plan_id"] == plan["id"]]

    @route("GET", WS + r"/plans/(?P<plan>[^/]+)/outcomes")
    def plan_outcomes(self, req: Request):
        self._workspace(req)
        plan = self._found(self.plans, req.params["plan"], "Plan")
        mine = {o["id"] for o in self.objectives.values() if o["plan_id"] == plan["id"]}
        return 200, [self._outcome_view(o) for o in self.outcomes.values() if o["objective_id"] in mine]

    @route("GET", WS + r"/plans/(?P<plan>[^/]+)/initiatives")
    def plan_initiatives(self, req: Request):
        self._workspace(req)
        plan = self._found(self.plans, req.params["plan"], "Plan")
        mine = {o["id"] for o in self.objectives.values() if o["plan_id"] == plan["id"]}
        outcomes = {o["id"] for o in self.outcomes.values() if o["objective_id"] in mine}
        return 200, [i for i in self.initiatives.values() if i["outcome_id"] in outcomes]

    @route("GET", WS + r"/outcomes/(?P<outcome>[^/]+)/checkins")
    def outcome_check_ins(self, req: Request):
        self._workspace(req)
        outcome = self._found(self.outcomes, req.params["outcome"], "Outcome")
        return 200, list(reversed(self.check_ins_of(outcome["id"])))  # newest first, as the docs' example

    @route("POST", r"/webhooks/checkins")
    def remote_check_in(self, req: Request):
        outcome_id = self.remote_tokens.get(req.arg("remote_checkins_token") or "")
        if outcome_id is None:
            raise HttpError(404, "Remote check-ins are not enabled for this token")
        body = req.json()
        if body.get("personal_api_token") != self.token:
            raise HttpError(401, "Invalid personal API token")
        try:
            score = float(body["score"])
        except (KeyError, TypeError, ValueError):
            raise HttpError(422, "score must be a number") from None
        confidence = body.get("confidence") or self._projected(outcome_id, score)
        if confidence not in ("red", "yellow", "green"):
            raise HttpError(422, "confidence must be red, yellow or green")
        if body.get("increment"):
            history = self.check_ins_of(outcome_id)
            score += history[-1]["score"] if history else 0
        self.add_check_in(outcome_id, score, confidence=confidence, body=body.get("body") or "", remote=True)
        return 200, {}

    def _projected(self, outcome_id: str, score: float) -> str:
        """Docs: green above 70 % of the projected growth, yellow 50–70 %, red below."""
        out = self.outcomes[outcome_id]
        start, target = out["from"] or 0.0, out["to"]
        if target in (None, start):
            return "green"
        share = (score - start) / (target - start)
        return "green" if share >= 0.7 else "yellow" if share >= 0.5 else "red"
