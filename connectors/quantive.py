"""Quantive Results (formerly Gtmhub; REST ``…/results/api/v1``): sessions as periods, goals
as objectives, metrics as key results. Every request carries ``Authorization: Bearer`` and
``gtmhub-accountId``; the host follows the account's data centre (``region: eu | us``) or
a full ``url``.

Lists are read with ``skip``/``limit`` pages (answers wrapped as ``{"items": [...]}``) until
a short page. Writes are one request per record (Quantive documents no bulk endpoint).
Creates are never blindly re-sent: after a lost answer, the goal or metric is looked up by
name with the documented Mongo-style ``filter``. Which facts are documented and which are
guesses is written in ``mappings/vendors/quantive.yaml`` and docs/connectors/quantive.md.

A metric's value moves through a check-in, ``POST /metrics/{id}/checkin {actual,
checkInDate, comment, confidence}`` — Quantive's own CLI does exactly that
(gtmhub/gtmhub-cli ``gtmhub_client/krs.go`` ``UpdateMetric``, ``model/metric.go``
``CheckInMetricRequest``) and its extensibility SDK lists ``checkinMetric`` apart from
``updateMetric``. So okrsync never sends ``actual`` in ``PUT /metrics/{id}`` or in the
create body: a new or changed current value, and every check-in okrsync pushes, is one
check-in call. Check-ins are read back from ``GET /metrics/{id}/values`` (UNCONFIRMED: only
a third-party script reads that path, and its answer shape is guessed there).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

from okrsync.connector import Capabilities, Connector, Cursor, ProbeResult, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, RetryableError

from .common import API_OPTIONS, bearer, check_endpoint, load_mapping, mapping_source, new_api, period_label, users_option

REGIONS = {"eu": "https://app.quantive.com/results/api/v1", "us": "https://app.us.quantive.com/results/api/v1"}
# the other data centres gtmhub/extensibility-sdk src/models.ts names (gtmhubDataCenters); their
# hosts follow the us one's pattern — UNCONFIRMED: no source shows them, `url:` overrides
REGIONS.update({dc: f"https://app.{dc}.quantive.com/results/api/v1" for dc in ("us2", "as", "af", "sa", "au")})
OPTIONS = {
    **API_OPTIONS,
    "region": "the data centre: eu (default), us, us2, as, af, sa or au; or give url:",
    "check_ins": "read every metric's check-in history (default true; one request per metric)",
    "token": "a Quantive API token, e.g. token: {$env: QUANTIVE_TOKEN}",
    "account_id": "the Quantive account id (sent as gtmhub-accountId)",
    "page_size": "records a page of a listing (default 100)",
}
RATE = 2.0  # req/s: Quantive documents no limit; a conservative default
CODE = re.compile(r"^[A-Z]{3}$")


class QuantiveConnector(Connector):
    name = "quantive"
    option_help = OPTIONS
    required_options = ("token", "account_id")
    description = "Quantive Results REST: goals as objectives, metrics as KRs, sessions as periods"
    capabilities = Capabilities(
        kinds=("objective", "key_result", "check_in"),
        kr_directions=("increase", "decrease"), kr_units=("number", "percent", "currency"),
        alignment="none", alignment_depth=0, weights=False, confidence=False,
        check_ins="history",  # POST /metrics/{id}/checkin (official CLI); history read UNCONFIRMED
        custom_fields=False, deletes=True, incremental=False, writes="records",
        unconfirmed=(
            "check-in history read from GET /metrics/{id}/values (path and answer shape from a third-party script)",
            "a decreasing KR written as targetOperator at_most (only at_least is seen in any source)",
            "decimal values kept by a metric (manualType double)",
        ),
        rate_limit=f"undocumented; okrsync paces at {RATE:g} req/s by default (set `rate`)",
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)
        region = options.get("region", "eu")
        if options.get("url"):
            base = options["url"]
        elif region in REGIONS:
            base = REGIONS[region]
        else:
            raise ConfigError(f"{where}: region: {region!r} is not one of {', '.join(REGIONS)}; "
                              "or give url: (e.g. another data centre's …/results/api/v1)")
        self.mapping = load_mapping("quantive", *mapping_source(self))
        self.page = int(options.get("page_size", 100))
        self.users: dict[str, str] = users_option(options)
        self.api = new_api(endpoint, options, where, url=base, auth=bearer(options["token"], where),
                           rate=float(options.get("rate", RATE)), headers={"gtmhub-accountId": str(options["account_id"])})
        self._sessions: dict[str, str] | None = None  # id → title
        self._emails: dict[str, str] | None = None  # user id → e-mail
        self.history = bool(options.get("check_ins", True))
        self._checked_in: set[str | None] = set()
        self._actual: dict[str, float | None] = {}  # metric id → the value last read, so an unchanged one is not checked in again

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    def doctor(self, kit) -> None:
        """The token and account id: ``GET /sessions`` (one item)."""
        answer = kit.call("reachable", {401: "Quantive refused the token or the account id "
                                             "(gtmhub-accountId): check both, and region:"},
                          lambda: self.api.call("GET", "/sessions", params={"skip": 0, "limit": 1}))
        if answer is not None:
            kit.add("reachable", "ok", "sessions are listed for this account")

    def probe(self, sandbox, kit):
        """``sandbox: {session: <the title of a Quantive session for throwaway goals>}``. Checks
        the create bodies, values through check-ins (read back as the metric's actual and as
        its check-in history), at_most for a decreasing KR, decimals; and, for the record,
        whether ``PUT /metrics/{id}`` takes ``actual`` (okrsync does not rely on it)."""
        from okrsync import probe as p

        if not sandbox.get("session"):
            raise ConfigError(f"endpoint {self.endpoint}: sandbox: give session: <the title of a Quantive session "
                              "where the probe may create and delete a throwaway goal>")
        period = period_label(str(sandbox["session"]))
        objective, krs = p.standard()
        objective = {"title": objective["title"], "description": objective["description"], "period": period}
        rows = kit.round_trip(objective, krs)
        krs_made = {kit.ids.get(f"probe-kr-{label}") for label in krs} - {None}
        history = [r for r in kit.seen.values() if r.kind == "check_in" and r.fields.get("key_result_id") in krs_made]
        facts = self.capabilities.unconfirmed
        rows.append(p.ProbeResult(facts[0], p.CONFIRMED if {c.fields["key_result_id"] for c in history} == krs_made
                                  and krs_made else p.CONTRADICTED,
                                  f"{len(history)} check-in(s) read back for {len(krs_made)} metric(s)"))
        rows.append(p.summary(facts[1], rows, lambda r: r.claim.startswith("key result (decreasing) direction")))
        rows.append(p.summary(facts[2], rows, lambda r: r.claim.startswith("key result (decimal)")
                              and any(r.claim.startswith(f"key result (decimal) {n} ") for n in ("start", "target", "current"))))
        rows.append(p.summary("a KR's value moves by POST /metrics/{id}/checkin", rows,
                              lambda r: r.claim.startswith("key result (") and " current " in r.claim))
        rows.append(self._probe_put_actual(period, kit))
        return rows

    def _probe_put_actual(self, period: str, kit) -> ProbeResult:
        from okrsync import probe as p

        claim = "PUT /metrics/{id} takes `actual` (okrsync sends values by check-in instead)"
        made = self.write(WriteBatch(creates=[
            Record("objective", "o", {"title": "okrsync probe: PUT actual", "period": period}, canonical_id="o"),
            Record("key_result", "k", {"title": "okrsync probe: PUT actual", "objective_id": "o", "start": 0.0,
                                       "target": 10.0, "direction": "increase", "unit": "number"}, canonical_id="k")]))
        for cid, kind in (("o", "objective"), ("k", "key_result")):
            if cid in made.external_ids:
                kit.track(kind, made.external_ids[cid])
        if "k" not in made.external_ids:
            return p.ProbeResult(claim, p.UNTESTABLE, "; ".join(str(r) for r in made.rejected) or "no metric was made")
        goal, metric = made.external_ids["o"], made.external_ids["k"]
        self.api.call("PUT", f"/metrics/{metric}", json={"actual": 4.0})
        found = [m for m in self._list("/metrics", filter=json.dumps({"goalId": goal})) if m.get("id") == metric]
        actual = _float(found[0].get("actual")) if found else None
        kit.delete([("key_result", metric), ("objective", goal)])
        return p.ProbeResult(claim, p.CONFIRMED if actual == 4.0 else p.CONTRADICTED,
                             "" if actual == 4.0 else f"actual read back {actual!r} after PUT {{actual: 4.0}}")

    def fields(self, kind: str) -> set[str] | None:
        return {"objective": {"title", "description", "owner", "period"},
                "key_result": {"title", "description", "owner", "objective_id", "start", "target", "current",
                               "direction", "unit", "currency"},
                "check_in": {"key_result_id", "at", "value", "confidence", "note"} if self.history else set(),
                }.get(kind, set())

    # ------------------------------------------------------------ reading

    def _list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            answer = self.api.call("GET", path, params={**params, "skip": len(out), "limit": self.page})
            items = answer.get("items") if isinstance(answer, dict) else answer
            if not isinstance(items, list):
                raise RetryableError(f"GET {path} answered without an item list", endpoint=self.endpoint)
            out.extend(items)
            total = answer.get("totalCount") if isinstance(answer, dict) else None
            if not items or len(items) < self.page or (total is not None and len(out) >= total):
                return out

    def _tables(self) -> None:
        if self._sessions is None:
            self._sessions = {s["id"]: s.get("title") or s.get("name") or s["id"] for s in self._list("/sessions")}
        if self._emails is None:
            self._emails = {u["id"]: u["email"] for u in self._list("/users") if u.get("email")}
            for email, uid in self.users.items():
                self._emails.setdefault(uid, email)

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Cursor]:
        self._tables()
        goals = self._list("/goals")
        for goal in goals:
            yield Record("objective", goal["id"], {
                "title": goal.get("name") or "", "description": goal.get("description") or None,
                "owner": self._emails.get(goal.get("ownerId")),
                "period": period_label(self._sessions.get(goal.get("sessionId")))},
                updated=goal.get("dateModified"), where=f"{self.endpoint} goal {goal['id']}")
        metrics = self._list("/metrics")
        for metric in metrics:
            self._actual[metric["id"]] = _float(metric.get("actual"))
            yield self._metric(metric)
        if self.history:
            for metric in metrics:
                for value in self._list(f"/metrics/{metric['id']}/values"):
                    yield self._check_in(metric["id"], value)
        yield Cursor(None, full_listing=True)

    def _check_in(self, metric_id: str, c: dict[str, Any]) -> Record | Rejected:
        """One entry of a metric's check-in history (the CLI's CheckInMetricRequest fields)."""
        when = c.get("checkInDate") or c.get("dateCreated")
        if not when:
            return Rejected(f"{self.endpoint} metric {metric_id} check-in {c.get('id')}", "has no checkInDate")
        return Record("check_in", c.get("id") or f"{metric_id}@{when}", {
            "key_result_id": metric_id, "at": when, "value": _float(c.get("actual")),
            "confidence": _float(c.get("confidence")), "note": c.get("comment") or None},
            where=f"{self.endpoint} metric {metric_id} check-in {when}")

    def _metric(self, m: dict[str, Any]) -> Record | Rejected:
        where = f"{self.endpoint} metric {m['id']}"
        direction = self.mapping["target_operator"].get(m.get("targetOperator") or "at_least")
        if direction is None:
            return Rejected(where, f"target operator {m.get('targetOperator')!r} has no okrsync direction")
        fmt = m.get("format") or {}
        prefix = (fmt.get("prefix") or "").strip()
        unit, currency = ("percent", None) if (fmt.get("suffix") or "").strip() == "%" else \
            ("currency", prefix) if CODE.match(prefix) else ("number", None)
        owners = m.get("ownerIds") or ([m["ownerId"]] if m.get("ownerId") else [])
        return Record("key_result", m["id"], {
            "title": m.get("name") or "", "description": m.get("description") or None,
            "owner": self._emails.get(owners[0]) if owners else None, "objective_id": m.get("goalId"),
            "start": _float(m.get("initialValue")), "target": _float(m.get("target")), "current": _float(m.get("actual")),
            "direction": direction, "unit": unit, "currency": currency}, updated=m.get("dateModified"), where=where)

    # ------------------------------------------------------------ writing

    def write(self, batch: WriteBatch) -> WriteResult:
        self._tables()
        result = WriteResult()
        made: dict[str, str] = {}
        # metrics whose value a pushed check-in moves: their KR update sends no second check-in
        self._checked_in = {r.fields.get("key_result_id") for r in batch.creates if r.kind == "check_in"}
        check_ins = [r for r in batch.creates if r.kind == "check_in"]
        for record in sorted((r for r in batch.creates if r.kind != "check_in"), key=lambda r: r.kind != "objective"):
            self._write_one(record, made, result, create=True)
        for record in batch.updates:
            if record.kind != "check_in":  # a check-in, once made, is not edited (the CLI has no such call)
                self._write_one(record, made, result, create=False)
        for record in check_ins:
            self._post_check_in(record, made, result)
        for record in sorted(batch.deletes, key=lambda r: r.kind == "objective"):  # metrics before their goal
            if record.kind == "check_in":
                continue  # no source shows a check-in delete: the history stays
            path = "/goals" if record.kind == "objective" else "/metrics"
            try:
                self.api.call("DELETE", f"{path}/{record.external_id}")
            except FatalError as e:
                if getattr(e, "status", None) != 404:  # already gone is what we wanted
                    result.rejected.append(Rejected(record.external_id, str(e)))
        return result

    def _write_one(self, record: Record, made: dict[str, str], result: WriteResult, *, create: bool) -> None:
        where = record.canonical_id if create else record.external_id
        try:
            body = self._body(record, made)
        except KeyError as e:
            result.rejected.append(Rejected(where, str(e.args[0])))
            return
        path = "/goals" if record.kind == "objective" else "/metrics"
        try:
            if not create:
                self.api.call("PUT", f"{path}/{record.external_id}", json=body)
                self._value(record, record.external_id)
                return
            try:
                answer = self.api.call("POST", path, json=body, replay_safe=False)
            except RetryableError:
                answer = self._landed(path, body)  # the answer got lost: did it land?
                if answer is None:
                    answer = self.api.call("POST", path, json=body, replay_safe=False)
        except FatalError as e:
            result.rejected.append(Rejected(where, f"Quantive refused it: {e}"))
            return
        if not isinstance(answer, dict) or not answer.get("id"):
            result.rejected.append(Rejected(where, "Quantive answered the create without an id"))
            return
        made[record.canonical_id] = result.external_ids[record.canonical_id] = answer["id"]
        if record.kind == "key_result":
            self._actual[answer["id"]] = _float(answer.get("actual", body.get("initialValue")))
            try:
                self._value(record, answer["id"])
            except FatalError as e:
                result.rejected.append(Rejected(where, f"Quantive created the metric but refused its value check-in: {e}"))

    def _value(self, record: Record, metric_id: str) -> None:
        """Move a metric to the record's current value with a check-in, if it differs from
        what was last read (a check-in okrsync pushes in the same batch carries it instead)."""
        current = record.fields.get("current")
        if record.kind != "key_result" or current is None or self._actual.get(metric_id) == float(current):
            return
        if {metric_id, record.canonical_id} & self._checked_in:
            return
        self._checkin(metric_id, _checkin_body(float(current), None, None, None))
        self._actual[metric_id] = float(current)

    def _checkin(self, metric_id: str, body: dict[str, Any]) -> Any:
        """POST one check-in; after a lost answer, look for it in the history before sending again."""
        path = f"/metrics/{metric_id}/checkin"
        try:
            return self.api.call("POST", path, json=body, replay_safe=False)
        except RetryableError:
            landed = [c for c in self._list(f"/metrics/{metric_id}/values")
                      if c.get("checkInDate") == body["checkInDate"] and _float(c.get("actual")) == body["actual"]]
            return landed[-1] if landed else self.api.call("POST", path, json=body, replay_safe=False)

    def _post_check_in(self, record: Record, made: dict[str, str], result: WriteResult) -> None:
        f = record.fields
        metric = made.get(f.get("key_result_id"), f.get("key_result_id"))
        if not metric or f.get("value") is None:
            result.rejected.append(Rejected(record.canonical_id, "a Quantive check-in needs its metric and a value"))
            return
        body = _checkin_body(float(f["value"]), f.get("at"), f.get("note"), f.get("confidence"))
        try:
            answer = self._checkin(metric, body)
        except FatalError as e:
            result.rejected.append(Rejected(record.canonical_id, f"Quantive refused the check-in: {e}"))
            return
        at = body["checkInDate"]
        ext = answer.get("id") if isinstance(answer, dict) and answer.get("id") else f"{metric}@{at}"
        result.external_ids[record.canonical_id] = ext
        self._actual[metric] = float(f["value"])
    def _landed(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        scope = {"sessionId": body["sessionId"]} if path == "/goals" else {"goalId": body["goalId"]}
        found = self._list(path, filter=json.dumps({"name": body["name"], **scope}))
        return found[-1] if found else None

    def _body(self, record: Record, made: dict[str, str]) -> dict[str, Any]:
        f = record.fields
        body: dict[str, Any] = {"name": f.get("title") or "", "description": f.get("description") or ""}
        owner = self._owner(f.get("owner"))
        if record.kind == "objective":
            body["sessionId"] = self._session(f.get("period"))
            if owner:
                body["ownerId"] = owner
            return body
        goal = f.get("objective_id")
        body["goalId"] = made.get(goal, goal)
        if not body["goalId"]:
            raise KeyError("Quantive keeps every key result under a goal; give it an objective")
        operators = {v: k for k, v in self.mapping["target_operator"].items()}
        operator = operators.get(f.get("direction") or "increase")
        if operator is None:
            raise KeyError(f"Quantive has no target operator okrsync can use for direction {f.get('direction')!r} "
                           f"(it writes {', '.join(operators)})")
        unit = f.get("unit") or "number"
        if unit == "percent":
            fmt = {"prefix": "", "suffix": "%"}
        elif unit == "currency" and CODE.match((f.get("currency") or "").upper()):
            fmt = {"prefix": f["currency"].upper(), "suffix": ""}
        elif unit == "number":
            fmt = {"prefix": "", "suffix": ""}
        else:
            raise KeyError(f"Quantive holds no {unit!r} KR okrsync can read back")
        # no `actual`: the value moves by check-in (see the module's docstring)
        body.update(initialValue=f.get("start") or 0.0, target=f.get("target"),
                    targetOperator=operator, manualType=self.mapping["manual_type"], format=fmt)
        if owner:
            field = self.mapping["metric_owner"]
            body[field] = [owner] if field == "ownerIds" else owner
        return body

    def _owner(self, email: str | None) -> str | None:
        if not email:
            return None
        if email.casefold() in self.users:
            return self.users[email.casefold()]
        found = next((uid for uid, e in self._emails.items() if e.casefold() == email.casefold()), None)
        if found is None:
            raise KeyError(f"no Quantive user has the e-mail {email!r}; invite them or map it under 'users:'")
        return found

    def _session(self, period: str | None) -> str:
        for sid, title in self._sessions.items():
            if period and (title.casefold() == period.casefold() or period_label(title) == period):
                return sid
        raise KeyError(f"no Quantive session is named or means {period!r}; create the session first")


def _checkin_body(actual: float, at: Any, comment: str | None, confidence: float | None) -> dict[str, Any]:
    """The body of ``POST /metrics/{id}/checkin``: gtmhub-cli's CheckInMetricRequest fields."""
    when = at.isoformat() if hasattr(at, "isoformat") else (at or _now())
    body: dict[str, Any] = {"actual": actual, "checkInDate": when, "comment": comment or ""}
    if confidence is not None:
        body["confidence"] = confidence
    return body


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
