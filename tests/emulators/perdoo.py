"""A stateful emulator of the Perdoo GraphQL API subset okrsync uses.

It *executes* documents with graphql-core against ``tests/helpers/perdoo_schema.py`` — the schema of
documented names — so a field, argument or input field Perdoo does not document is answered
with a GraphQL validation error, as Perdoo's own server would — and, through ``spec``
(``tests/perdoo_schema.SchemaCheck``, on by default), fails the test that sent it, as an
answer whose values do not fit the schema's types does. Behaviour follows the sources
named there: Relay connections with graphene's ``arrayconnection:N`` cursors, upserts that
create without ``id`` and answer ``errors{field messages}`` for invalid input, initiatives as
keyResults of type INITIATIVE, archived results hidden by ``archived: false``.

State is public for tests: ``users``, ``timeframes``, ``groups``, ``objectives``,
``results`` (KRs and initiatives), ``kpis`` — id → dict. Helpers act as a person in the
UI would: ``add_user``, ``add_timeframe``, ``add_group``, ``add_objective``, ``add_result``,
``edit`` (bumps ``lastEditedDate``). Undocumented by Perdoo, chosen here: the error body of
a refused HTTP request (``{"errors": [{"message"}]}``) and the 429 headers (``Retry-After``).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import uuid
from typing import Any

from graphql import graphql_sync

from ..helpers.perdoo_schema import SCHEMA, SchemaCheck
from .server import Emulator, HttpError, PageExpired, Request, route

TOKEN = "perdoo-test-token"
REQUIRED = "This field is required."


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _cursor(n: int) -> str:
    return base64.b64encode(f"arrayconnection:{n}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split(":")[1]) + 1
    except (ValueError, IndexError):
        raise ValueError(f"Invalid cursor {cursor!r}") from None


class PerdooEmulator(Emulator):
    def __init__(self, token: str = TOKEN, max_page: int = 100):
        super().__init__()
        self.token, self.max_page = token, max_page
        self.users: dict[str, dict] = {}
        self.timeframes: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.objectives: dict[str, dict] = {}
        self.results: dict[str, dict] = {}
        self.kpis: dict[str, dict] = {}
        # `objectives` takes includePastTimeframes (introspected root arguments, see
        # tests/helpers/perdoo_schema.py [I]); what it hides without it is unknown: here, objectives of
        # timeframes in ``past_timeframes``. ``ignore_include_past`` hides them even when asked
        # (the contradicting behaviour a probe must catch)
        self.past_timeframes: set[str] = set()
        self.ignore_include_past = False
        self._seq = itertools.count(1)
        self.spec = SchemaCheck()  # every exchange of every test, end to end included, against the schema
        self.units = set(SCHEMA.get_type("MetricUnit").values)
        self.targets = set(SCHEMA.get_type("TargetType").values)

    # -- dialect -------------------------------------------------------------------------

    def authorize(self, headers: Any) -> bool:
        return headers.get("Authorization") == f"Bearer {self.token}"

    def error_body(self, status: int, message: str) -> Any:
        return {"errors": [{"message": message}]}

    # -- state helpers (a person in the UI) --------------------------------------------

    def _id(self) -> str:
        return str(uuid.UUID(int=next(self._seq)))

    def _add(self, table: dict[str, dict], **fields: Any) -> str:
        """``fields`` as a new record of ``table`` under a fresh id; that id."""
        with self.lock:
            rid = self._id()
            table[rid] = {"id": rid, **fields}
            return rid

    def add_user(self, email: str, name: str | None = None) -> str:
        return self._add(self.users, name=name or email.split("@")[0], email=email)

    def add_timeframe(self, name: str) -> str:
        return self._add(self.timeframes, name=name)

    def add_group(self, name: str) -> str:
        return self._add(self.groups, name=name)

    def add_kpi(self, name: str, **fields) -> str:
        return self._add(self.kpis, **{"name": name, "archived": False, "metricUnit": "NUMERICAL", "currentValue": None,
                                       **fields})

    def add_objective(self, name: str, timeframe: str, **fields) -> str:
        return self._add(self.objectives, **{
            "name": name, "description": "", "status": "NO_STATUS", "stage": "ACTIVE", "progress": 0.0, "weight": 1.0,
            "timeframe": timeframe, "lead": None, "parent": None, "groups": [], "kpi": None, "created": _now(),
            "lastEditedDate": _now(), **fields})

    def add_result(self, name: str, objective: str, type: str = "KEY_RESULT", **fields) -> str:
        return self._add(self.results, **{
            "name": name, "description": "", "status": "NO_STATUS", "type": type, "weight": 1.0, "startValue": 0.0,
            "endValue": 100.0, "currentValue": 0.0, "metricUnit": "NUMERICAL", "targetType": "INCREASE_TO",
            "archived": False, "objective": objective, "lead": None, "parent": None, "created": _now(),
            "lastEditedDate": _now(), **fields})

    def edit(self, record_id: str, **fields) -> None:
        with self.lock:
            target = self.objectives.get(record_id) or self.results[record_id]
            target.update(fields, lastEditedDate=_now())

    # -- rendering ---------------------------------------------------------------------

    def _user(self, uid: str | None) -> dict | None:
        return dict(self.users[uid]) if uid in self.users else None

    def _objective(self, oid: str | None) -> dict | None:
        o = self.objectives.get(oid or "")
        if o is None:
            return None
        groups = [self.groups[g] for g in o["groups"] if g in self.groups]
        return {**o, "lead": self._user(o["lead"]), "timeframe": self.timeframes.get(o["timeframe"]),
                "parent": lambda info: self._objective(o["parent"]),
                "groups": {"pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
                           "edges": [{"cursor": _cursor(n), "node": g} for n, g in enumerate(groups)]},
                "kpi": self.kpis.get(o["kpi"] or "")}

    def _result(self, rid: str | None) -> dict | None:
        r = self.results.get(rid or "")
        if r is None:
            return None
        return {**r, "lead": self._user(r["lead"]), "objective": lambda info: self._objective(r["objective"]),
                "parent": lambda info: self._result(r["parent"])}

    def _connection(self, items: list[dict], first: int | None, after: str | None) -> dict:
        size = min(first or self.max_page, self.max_page)
        try:
            start = self.faults.page(_offset(after), size)
        except PageExpired:
            raise ValueError(f"Invalid cursor {after!r}") from None
        page = items[start:start + size]
        return {"pageInfo": {"hasNextPage": start + size < len(items), "hasPreviousPage": start > 0,
                             "startCursor": _cursor(start) if page else None,
                             "endCursor": _cursor(start + len(page) - 1) if page else None},
                "edges": [{"cursor": _cursor(start + n), "node": node} for n, node in enumerate(page)]}

    # -- queries -----------------------------------------------------------------------

    def _filter(self, rows, *, name_Icontains=None, createdDate_Gte=None, **_):
        if name_Icontains:
            rows = [r for r in rows if name_Icontains.casefold() in r["name"].casefold()]
        if createdDate_Gte:
            rows = [r for r in rows if r["created"] >= createdDate_Gte]
        return rows

    def _q_objectives(self, info, first=None, after=None, stage=None, timeframe=None, includePastTimeframes=None, **kw):
        rows = self._filter(list(self.objectives.values()), **kw)
        if not includePastTimeframes or self.ignore_include_past:
            rows = [o for o in rows if o["timeframe"] not in self.past_timeframes]
        rows = [o for o in rows if (stage is None or o["stage"] == stage) and (timeframe is None or o["timeframe"] == timeframe)]
        return self._connection([self._objective(o["id"]) for o in rows], first, after)

    def _results(self, type_, first=None, after=None, objective=None, archived=None, type=None, **kw):
        rows = self._filter(list(self.results.values()), **kw)
        rows = [r for r in rows if (type_ is None or r["type"] == type_) and (type is None or r["type"] == type)
                and (objective is None or r["objective"] == objective) and (archived is None or r["archived"] == archived)]
        return self._connection([self._result(r["id"]) for r in rows], first, after)

    def _plain(self, table: dict, first=None, after=None, **filters):
        rows = [r for r in table.values() if all(v is None or r.get(k) == v for k, v in filters.items())]
        return self._connection(rows, first, after)

    def _root(self) -> dict[str, Any]:
        return {
            "objectives": self._q_objectives,
            "keyResults": lambda info, **kw: self._results(None, **kw),
            "initiatives": lambda info, **kw: self._results("INITIATIVE", **kw),
            "timeframes": lambda info, **kw: self._plain(self.timeframes, **kw),
            "allGroups": lambda info, **kw: self._plain(self.groups, **kw),
            "allKpis": lambda info, **kw: self._plain(self.kpis, **kw),
            "allUsers": lambda info, **kw: self._plain(self.users, **kw),
            "objective": lambda info, id: self._objective(id),
            "result": lambda info, id: self._result(id),
            "upsertObjective": lambda info, input: self._upsert_objective(input),
            "upsertKeyResult": lambda info, input: self._upsert_result(input),
            "deleteObjective": lambda info, input: self._delete_objective(input),
        }

    # -- mutations ---------------------------------------------------------------------

    def _check_upsert(self, data: dict, table: dict[str, dict], what: str, required: str,
                      references: dict[str, dict[str, dict]]) -> tuple[dict | None, list[dict]]:
        """What every upsert checks first: the record its ``id`` names (None: a create, which
        needs ``name`` and ``required``), and the errors: an id that names nothing, a create
        without those fields, a reference (field → the table it names a record of) to nothing."""
        errors = []
        target = table.get(data["id"]) if data.get("id") else None
        if data.get("id") and target is None:
            errors.append({"field": "id", "messages": [f"{what} matching query does not exist (not found)."]})
        for key in ("name", required):
            if target is None and not data.get(key):
                errors.append({"field": key, "messages": [REQUIRED]})
        for key, named in references.items():
            if data.get(key) and data[key] not in named:
                errors.append({"field": key, "messages": [f"Invalid {key}."]})
        return target, errors

    def _upsert_objective(self, data: dict) -> dict:
        target, errors = self._check_upsert(data, self.objectives, "Objective", "timeframe",
                                            {"timeframe": self.timeframes, "lead": self.users, "parent": self.objectives})
        for gid in data.get("groups") or []:
            if gid not in self.groups:
                errors.append({"field": "groups", "messages": ["Invalid group."]})
        if data.get("stage") and data["stage"] not in ("DRAFT", "ACTIVE", "CLOSED"):
            errors.append({"field": "stage", "messages": ["Invalid stage."]})
        if errors:
            return {"objective": None, "errors": errors, "clientMutationId": data.get("clientMutationId")}
        values = {k: v for k, v in data.items() if k in ("name", "description", "lead", "stage", "timeframe", "parent", "groups")}
        if target is None:
            oid = self.add_objective(values.pop("name"), values.pop("timeframe"), **values)
        else:
            oid = target["id"]
            self.edit(oid, **values)
        return {"objective": self._objective(oid), "errors": [], "clientMutationId": data.get("clientMutationId")}

    def _upsert_result(self, data: dict) -> dict:
        target, errors = self._check_upsert(data, self.results, "Result", "objective",
                                            {"objective": self.objectives, "lead": self.users, "parent": self.results})
        if data.get("metricUnit") and data["metricUnit"] not in self.units:
            errors.append({"field": "metricUnit", "messages": [f"{data['metricUnit']!r} is not a valid choice."]})
        if data.get("targetType") and data["targetType"] not in self.targets:
            errors.append({"field": "targetType", "messages": [f"{data['targetType']!r} is not a valid choice."]})
        if data.get("type") and data["type"] not in ("KEY_RESULT", "INITIATIVE"):
            errors.append({"field": "type", "messages": ["Invalid type."]})
        if errors:
            return {"keyResult": None, "errors": errors, "clientMutationId": data.get("clientMutationId")}
        values = {k: v for k, v in data.items() if k not in ("id", "clientMutationId")}
        if values.get("weight") is None:
            values.pop("weight", None)  # weight is non-null in Perdoo: absent keeps (or defaults to) 1.0
        if target is None:
            rid = self.add_result(values.pop("name"), values.pop("objective"), values.pop("type", None) or "KEY_RESULT",
                                  **values)
        else:
            rid = target["id"]
            self.edit(rid, **values)
        return {"keyResult": self._result(rid), "errors": [], "clientMutationId": data.get("clientMutationId")}

    def _delete_objective(self, data: dict) -> dict:
        if data.get("id") not in self.objectives:
            raise ValueError("Objective matching query does not exist (not found).")
        del self.objectives[data["id"]]
        for rid in [r for r, row in self.results.items() if row["objective"] == data["id"]]:
            del self.results[rid]
        return {"clientMutationId": data.get("clientMutationId")}

    # -- the endpoint --------------------------------------------------------------------

    @route("POST", r"/graphql/?")
    def graphql(self, req: Request):
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise HttpError(400, "Must provide query string.")
        result = graphql_sync(SCHEMA, body["query"], root_value=self._root(),
                              variable_values=body.get("variables") or {}, operation_name=body.get("operationName"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
            if result.data is None:
                return 400, out  # graphene answers invalid documents with 400
        return 200, out
