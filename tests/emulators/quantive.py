"""A stateful emulator of the Quantive Results REST subset okrsync uses (``/results/api/v1``).

Documented behaviour (see mappings/vendors/quantive.yaml for the sources): both headers required,
``skip``/``limit`` paging with limit 100 by default, a Mongo-style ``filter`` (only
equality on top-level fields here), POST /goals answering the new goal with its ``id``.
Chosen here because no source shows it (UNCONFIRMED, as in the connector): the
``{"items", "totalCount"}`` wrapper's ``totalCount``, PUT/DELETE paths, POST /metrics,
the error body ``{"error": message}``, ``dateModified``.

Sourced behaviour (issue 18): a metric's value moves through ``POST
/metrics/{id}/checkin {actual, checkInDate, comment, confidence, customFields}`` —
gtmhub/gtmhub-cli ``gtmhub_client/krs.go`` (``UpdateMetric`` posts to ``…/checkin``) and
``model/metric.go`` (``CheckInMetricRequest``); each check-in sets the metric's ``actual``
and ``lastCheckInDate`` and joins its history, read at ``GET /metrics/{id}/values``
(UNCONFIRMED path and shape: a third-party Apps Script, ghelleks/quantive-export). POST
/goals answers 201 (Nathraichean/Excel-To-Account-Using-API-Gtmhub ``apiHandler.js``);
POST /metrics takes ``ownerId`` (same scripts) or ``ownerIds`` (the UI SDK doc).
Whether ``PUT /metrics/{id}`` honours ``actual`` is unknown: it does here unless
``put_ignores_actual`` is set (the contradicting behaviour a probe must catch).

State for tests: ``sessions``, ``users``, ``goals``, ``metrics`` (id → dict); helpers
``add_session``, ``add_user``, ``add_goal``, ``add_metric``, ``edit``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from typing import Any

from .server import Emulator, HttpError, PageExpired, Request, route

TOKEN = "quantive-test-token"
ACCOUNT = "5be26318e5274a0007f17f61"  # the documented sample account id
BASE = "/results/api/v1"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class QuantiveEmulator(Emulator):
    def __init__(self, token: str = TOKEN, account: str = ACCOUNT):
        super().__init__()
        self.token, self.account = token, account
        self.max_page = 10**9  # the largest page served
        self.sessions: dict[str, dict] = {}
        self.users: dict[str, dict] = {}
        self.goals: dict[str, dict] = {}
        self.metrics: dict[str, dict] = {}
        self.check_ins: dict[str, list[dict]] = {}  # metric id → its check-ins, oldest first
        self.put_ignores_actual = False
        self._seq = itertools.count(1)

    def authorize(self, headers: Any) -> bool:
        return (headers.get("Authorization") == f"Bearer {self.token}"
                and headers.get("gtmhub-accountId") == self.account)

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def _id(self) -> str:
        return f"{next(self._seq):024x}"  # Mongo ObjectId-shaped, as the documented samples

    def _add(self, table: dict[str, dict], **fields: Any) -> str:
        """``fields`` as a new record of ``table`` under a fresh id; that id."""
        with self.lock:
            rid = self._id()
            table[rid] = {"id": rid, **fields}
            return rid

    def add_session(self, title: str) -> str:
        return self._add(self.sessions, title=title)

    def add_user(self, email: str) -> str:
        return self._add(self.users, email=email)

    def add_goal(self, name: str, sessionId: str, **fields) -> str:
        return self._add(self.goals, **{"name": name, "description": "", "sessionId": sessionId, "ownerId": None,
                                        "dateCreated": _now(), "dateModified": _now(), **fields})

    def add_metric(self, name: str, goalId: str, **fields) -> str:
        return self._add(self.metrics, **{
            "name": name, "description": "", "goalId": goalId, "ownerIds": [], "initialValue": 0.0, "target": 100.0,
            "actual": 0.0, "targetOperator": "at_least", "manualType": "double",
            "format": {"prefix": "", "suffix": "", "fractionSize": 0}, "dateCreated": _now(), "dateModified": _now(),
            **fields})

    def edit(self, record_id: str, **fields) -> None:
        with self.lock:
            (self.goals.get(record_id) or self.metrics[record_id]).update(fields, dateModified=_now())

    # -- listing -------------------------------------------------------------------------

    def _page(self, req: Request, rows: list[dict]) -> tuple[int, dict]:
        raw = req.arg("filter")
        if raw:
            try:
                wanted = json.loads(raw)
            except ValueError:
                raise HttpError(400, "filter is not valid JSON") from None
            rows = [r for r in rows if all(r.get(k) == v for k, v in wanted.items())]
        skip, limit = int(req.arg("skip", "0")), min(int(req.arg("limit", "100")), self.max_page)
        try:
            skip = self.faults.page(skip, limit)
        except PageExpired:
            raise HttpError(400, "skip: the listing changed since its first page; start again") from None
        return 200, {"items": rows[skip:skip + limit], "totalCount": len(rows)}

    @route("GET", BASE + r"/(?P<listing>sessions|users|goals|metrics)")
    def listing(self, req):
        """``GET /sessions``, ``/users``, ``/goals`` and ``/metrics``: one page of the table."""
        return self._page(req, list(getattr(self, req.params["listing"]).values()))

    # -- writing ---------------------------------------------------------------------------

    def _check_goal(self, body: dict, create: bool) -> None:
        if create and not body.get("name"):
            raise HttpError(400, "name is required")
        if body.get("sessionId") and body["sessionId"] not in self.sessions:
            raise HttpError(400, "session not found")
        if body.get("ownerId") and body["ownerId"] not in self.users:
            raise HttpError(400, "owner not found")

    @route("POST", BASE + r"/goals")
    def create_goal(self, req):
        body = req.json()
        self._check_goal(body, True)
        if not body.get("sessionId"):
            raise HttpError(400, "sessionId is required")
        gid = self.add_goal(body.pop("name"), body.pop("sessionId"), **body)
        return 201, self.goals[gid]

    def _update(self, req: Request, table: dict[str, dict], what: str, check: Callable[[dict, bool], None],
                ignored: tuple[str, ...] = ("id",)) -> tuple[int, dict]:
        """A PUT of a goal or a metric: 404 for an id that names none, the body checked as an
        update, its fields but ``ignored`` applied; the record as it is now."""
        if req.params["id"] not in table:
            raise HttpError(404, f"{what} not found")
        body = req.json()
        check(body, False)
        self.edit(req.params["id"], **{k: v for k, v in body.items() if k not in ignored})
        return 200, table[req.params["id"]]

    @route("PUT", BASE + r"/goals/(?P<id>\w+)")
    def update_goal(self, req):
        return self._update(req, self.goals, "goal", self._check_goal)

    @route("DELETE", BASE + r"/goals/(?P<id>\w+)")
    def delete_goal(self, req):
        if self.goals.pop(req.params["id"], None) is None:
            raise HttpError(404, "goal not found")
        for mid in [m for m, row in self.metrics.items() if row["goalId"] == req.params["id"]]:
            del self.metrics[mid]
        return 204, None

    def _check_metric(self, body: dict, create: bool) -> None:
        if create and (not body.get("name") or not body.get("goalId")):
            raise HttpError(400, "name and goalId are required")
        if body.get("goalId") and body["goalId"] not in self.goals:
            raise HttpError(400, "goal not found")
        if body.get("targetOperator") not in (None, "at_least", "at_most"):
            raise HttpError(400, "invalid targetOperator")
        for uid in (body.get("ownerIds") or []) + ([body["ownerId"]] if body.get("ownerId") else []):
            if uid not in self.users:
                raise HttpError(400, "owner not found")

    @route("POST", BASE + r"/metrics")
    def create_metric(self, req):
        body = req.json()
        self._check_metric(body, True)
        if body.get("ownerId"):
            body["ownerIds"] = [body.pop("ownerId")]
        mid = self.add_metric(body.pop("name"), body.pop("goalId"), **body)
        return 201, self.metrics[mid]

    @route("PUT", BASE + r"/metrics/(?P<id>\w+)")
    def update_metric(self, req):
        return self._update(req, self.metrics, "metric", self._check_metric,
                            ("id", "actual") if self.put_ignores_actual else ("id",))

    @route("POST", BASE + r"/metrics/(?P<id>\w+)/checkin")
    def check_in(self, req):
        if req.params["id"] not in self.metrics:
            raise HttpError(404, "metric not found")
        body = req.json()
        if not isinstance(body.get("actual"), (int, float)) or isinstance(body.get("actual"), bool):
            raise HttpError(400, "actual must be a number")
        with self.lock:
            entry = {"id": self._id(), "actual": float(body["actual"]), "checkInDate": body.get("checkInDate") or _now(),
                     "comment": body.get("comment") or "", "confidence": body.get("confidence"),
                     "dateCreated": _now()}
            self.check_ins.setdefault(req.params["id"], []).append(entry)
            self.edit(req.params["id"], actual=entry["actual"], lastCheckInDate=entry["checkInDate"])
        return 200, entry

    @route("GET", BASE + r"/metrics/(?P<id>\w+)/values")
    def list_check_ins(self, req):
        if req.params["id"] not in self.metrics:
            raise HttpError(404, "metric not found")
        return self._page(req, list(self.check_ins.get(req.params["id"], [])))

    @route("DELETE", BASE + r"/metrics/(?P<id>\w+)")
    def delete_metric(self, req):
        if self.metrics.pop(req.params["id"], None) is None:
            raise HttpError(404, "metric not found")
        self.check_ins.pop(req.params["id"], None)
        return 204, None
