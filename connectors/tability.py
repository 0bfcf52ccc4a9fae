"""Tability (REST v2, ``Authorization: API <personal token>``): plans, objectives, outcomes
(key results), initiatives and check-ins.

Reads list the workspace's plans (page-number pagination, following the ``Link`` header's
``rel="next"`` page), then each plan's objectives, outcomes and initiatives, then each
outcome's check-ins; every read is a full listing. A plan is a period: its dates (or its
title) give the objectives' canonical period label; its id and title stay in extra.

Writes: Tability's public API documents no create or update for plans, objectives,
outcomes or initiatives, so those kinds are ``read_only`` (okrsync never pushes them). The
one documented write is the "remote check-ins" webhook (Plus/Premium, enabled per outcome:
``POST /webhooks/checkins?remote_checkins_token=…`` with the personal API token, score,
body and confidence); check-ins created in another endpoint are written through it for
outcomes whose token is configured. The webhook answers nothing we can rely on and
stamps the check-in with the time it arrives, so the new check-in is found in the
outcome's list afterwards (also after a lost answer: never posted twice), and the time
okrsync meant is kept in the cursor so it is not read back as an edit.

Every request goes through ``okrsync.http.Api`` (paced, retried, counted).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from okrsync import http
from okrsync import transforms as tf
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, RetryableError
from okrsync.model import band

from .common import API_OPTIONS, check_endpoint, load_mapping, mapping_source, new_api, parallel, read_cursor

API = "/v2"
DEFAULT_URL = "https://api.tability.app"
OPTIONS = {
    **{k: v for k, v in API_OPTIONS.items() if k != "users"},
    "workspace": "the workspace slug or id, as in https://tability.app/<workspace>",
    "token": "your personal API token from https://tability.app/account, e.g. token: {$env: TABILITY_TOKEN}",
    "concurrency": "requests in flight at once (default 4)",
    "history": "read every check-in, not only the latest (default true)",
    "archived": "also read archived plans (default false)",
    "remote_checkins": "outcome id → its remote check-ins token (the outcome's menu › Check-ins API), to write check-ins",
}
LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')
MAX_PAGES = 10_000  # a server repeating "next" forever must not hang the run


class TabilityConnector(Connector):
    name = "tability"
    option_help = OPTIONS
    required_options = ("workspace", "token")
    description = "Tability REST v2: plans as periods, objectives, outcomes (KRs), initiatives, check-ins"
    capabilities = Capabilities(
        kinds=("objective", "key_result", "initiative", "check_in"),
        kr_directions=("increase", "decrease", "stay_above", "stay_below", "binary", "milestone"),
        kr_units=("number", "percent", "currency"), alignment="none", alignment_depth=0,
        weights=True, confidence=True, check_ins="history", custom_fields=True,
        deletes=False, incremental=False, writes="records",
        rate_limit="not documented; set `rate` (default 5 requests/s)",
        # no documented create/update endpoint for these: read, never written
        read_only=("objective", "key_result", "initiative"),
        unconfirmed=("outcome_type spellings other than improve_metric (stay_above, stay_below, no_metric, rollup, "
                     "milestones, kpi: guessed)",),
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)
        self.workspace = str(options["workspace"])
        self._token = str(options["token"])
        self.mapping = load_mapping("tability", *mapping_source(self))
        self.history = bool(options.get("history", True))
        self.archived = bool(options.get("archived", False))
        remote = options.get("remote_checkins") or {}
        if not isinstance(remote, dict):
            raise ConfigError(f"{where}: remote_checkins: give a map of outcome id → remote check-ins token "
                              "(from the outcome's menu › Check-ins API)")
        self._remote = {str(k): str(v) for k, v in remote.items()}
        self.concurrency = int(options.get("concurrency", 4))
        # Authorization: API <token> (guides.tability.app/api/tability-api/authentication)
        self.api = new_api(endpoint, options, where, url=str(options.get("url", DEFAULT_URL)),
                           auth=http.HeaderAuth(f"API {self._token}"), rate=float(options.get("rate", 5)))
        self._links = threading.local()  # the last response's Link header, per worker thread
        self.api.client.event_hooks["response"].append(self._keep_link)
        self._state: _State | None = None

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    def doctor(self, kit) -> None:
        """The token and the workspace: its first page of plans."""
        answer = kit.call("reachable", {401: "Tability refused the token: a personal API token from "
                                             "tability.app/account",
                                        404: f"no workspace {self.workspace!r}: use the slug from the "
                                             "workspace's URL"},
                          lambda: self.api.call("GET", f"/v2/workspaces/{self.workspace}/plans", params={"page": 1}))
        if answer is not None:
            kit.add("reachable", "ok", f"workspace {self.workspace} lists its plans")

    def probe(self, sandbox, kit):
        """Tability's API writes nothing but check-ins, which it cannot delete, so this probe only
        reads (``sandbox:`` is still required, e.g. ``{read_only: true}``): it checks that every
        outcome_type on the account is one the mapping knows; the check-in date is not testable."""
        from okrsync import probe as p

        known = self.mapping["outcome_types"]
        seen: dict[str, int] = {}
        for item in kit.fresh().read(None):
            if isinstance(item, Record) and item.kind == "key_result":
                kind = item.fields.get(f"extra.{self.endpoint}.outcome_type") or "improve_metric"
                seen[kind] = seen.get(kind, 0) + 1
        unknown = {k: n for k, n in seen.items() if k not in known}
        rows = [p.ProbeResult(self.capabilities.unconfirmed[0],
                              p.CONTRADICTED if unknown else p.CONFIRMED if set(seen) - {"improve_metric"} else p.UNTESTABLE,
                              ", ".join(f"{k!r} ({n} outcome(s)) is not in the mapping: read as from → to" for k, n in
                                        sorted(unknown.items())) or ", ".join(f"{k}: {n}" for k, n in sorted(seen.items()))
                              or "no outcomes on the account")]
        rows.append(p.ProbeResult("a check-in written by okrsync keeps its date", p.UNTESTABLE,
                                  "the remote check-in webhook takes no date, and a check-in cannot be deleted "
                                  "through the API: documented as a loss (migrate plans it)"))
        return rows

    def migration_risks(self, entities):
        """Check-ins lose their date: the remote check-in webhook stamps the time it arrives
        (its documented payload has no date field), so history cannot be backdated."""
        ids = [cid for cid, kind, _ in entities if kind == "check_in"]
        return [{"what": "check-in dates (Tability's remote check-in webhook stamps the arrival time: no backdating)",
                 "count": len(ids), "examples": ids[:3]}] if ids else []

    def fields(self, kind: str) -> set[str] | None:
        held = {
            "objective": {"title", "description", "period"},
            "key_result": {"objective_id", "title", "description", "owner", "direction", "unit", "currency", "start",
                           "current", "target", "weight", "confidence", "confidence_scale", "status"},
            "initiative": {"key_result_id", "title", "description", "owner", "status", "due"},
            "check_in": {"key_result_id", "at", "value", "confidence", "status", "note", "author"} if self.history else set(),
        }.get(kind, set())
        return held | {f"extra.{self.endpoint}"} if held else set()

    # ------------------------------------------------------------ listing

    def _keep_link(self, response: httpx.Response) -> None:
        self._links.value = response.headers.get("Link")

    def _list(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a listing: page by page while the Link header names a next page."""
        page, seen = None, set()
        for _ in range(MAX_PAGES):
            self._links.value = None
            answer = self.api.call("GET", path, params={"page": page} if page else None)
            if not isinstance(answer, list):
                raise FatalError(f"GET {path} answered {type(answer).__name__}, not the list Tability documents",
                                 endpoint=self.endpoint)
            yield from answer
            seen.add(page or 1)
            page = _next_page(self._links.value)
            if page is None or page in seen:
                return
        raise FatalError(f"GET {path}: more than {MAX_PAGES} pages; is the server repeating itself?", endpoint=self.endpoint)

    def _check_ins_of(self, outcome_id: str) -> list[dict[str, Any]]:
        return list(self._list(f"{API}/workspaces/{self.workspace}/outcomes/{outcome_id}/checkins"))

    # ------------------------------------------------------------ reading

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Cursor]:
        state = self._state = _State.load(cursor)
        ws = f"{API}/workspaces/{self.workspace}"
        plans = [p for p in self._list(f"{ws}/plans") if self.archived or not p.get("archived")]

        def plan_items(plan):
            return {part: [x for x in self._list(f"{ws}/plans/{plan['id']}/{part}") if self.archived or not x.get("archived")]
                    for part in ("objectives", "outcomes", "initiatives")}

        listed = parallel(plan_items, plans, self.concurrency)
        objectives = {o["id"]: (plan, o) for plan, items in zip(plans, listed) for o in items["objectives"]}
        outcomes = [o for items in listed for o in items["outcomes"]]
        for plan, objective in objectives.values():
            yield self._guard("objective", objective, lambda plan=plan, objective=objective: self._objective(plan, objective))
        for outcome in outcomes:
            yield self._guard("outcome", outcome, lambda outcome=outcome: self._key_result(outcome))
        # outcome_type spellings beyond improve_metric are unconfirmed (T11): an unknown one is
        # read as from → to and kept as text in extra, and said on every read
        unknown: dict[str, list[str]] = {}
        for outcome in outcomes:
            kind = outcome.get("outcome_type") or "improve_metric"
            if kind not in self.mapping["outcome_types"]:
                unknown.setdefault(str(kind), []).append(str(outcome.get("nano_slug") or outcome.get("id")))
        for kind, ids in sorted(unknown.items()):
            yield Note(f"{self.endpoint}: outcome_type {kind!r} is not in the mapping (outcome_types); {len(ids)} "
                       f"outcome(s) read as from → to, the type kept in extra.{self.endpoint}.outcome_type "
                       f"(e.g. {', '.join(ids[:3])}). Map it under mapping: outcome_types: if it means another kind")
        for initiative in (i for items in listed for i in items["initiatives"]):
            yield self._guard("initiative", initiative, lambda initiative=initiative: self._initiative(initiative))
        if self.history:
            for check_ins in parallel(lambda o: self._check_ins_of(o["id"]), outcomes, self.concurrency):
                for check_in in check_ins:
                    yield self._guard("check-in", check_in, lambda check_in=check_in: self._check_in(check_in, state))
        state.sent_at = {k: v for k, v in state.sent_at.items() if k in state.seen}  # forget deleted ones
        yield Cursor(state.dump(), full_listing=True)

    def _guard(self, what: str, item: dict[str, Any], build: Callable[[], Record]) -> Record | Rejected:
        """The record ``build`` makes of ``item``, or a rejection naming it (the read goes on)."""
        try:
            return build()
        except (ValueError, TypeError, KeyError) as e:
            return Rejected(f"{self.endpoint} {what} {item.get('id')}", f"cannot be read: {e}")

    def _objective(self, plan: dict[str, Any], o: dict[str, Any]) -> Record:
        ns = f"extra.{self.endpoint}."
        fields = {"title": o["title"], "description": o.get("description") or None, "period": _period(plan),
                  ns + "plan_id": plan["id"], ns + "plan": plan.get("title")}
        return Record("objective", o["id"], fields, updated=_iso(o.get("updated_at")),
                      where=f"{self.endpoint} objective {o.get('nano_slug') or o['id']}")

    def _key_result(self, o: dict[str, Any]) -> Record:
        ns, m = f"extra.{self.endpoint}.", self.mapping
        start, target = _num(o.get("from")), _num(o.get("to"))
        kind = m["outcome_types"].get(o.get("outcome_type") or "improve_metric", "from_to")
        direction = ("decrease" if start is not None and target is not None and target < start else "increase") \
            if kind == "from_to" else kind
        unit, currency = _unit(o.get("score_format"), m["currency_signs"])
        current = o.get("current_checkin") or {}
        colour = current.get("confidence")
        status = m["status"]["completed"] if o.get("completed") else m["status"].get(colour)
        fields = {"objective_id": o.get("objective_id"), "title": o["title"], "description": o.get("description") or None,
                  "owner": _email(o), "direction": direction, "unit": unit, "currency": currency, "start": start,
                  "target": target, "current": _num(current.get("score")), "weight": _num(o.get("weight")),
                  "confidence": m["confidence"].get(colour), "confidence_scale": "0-1" if colour in m["confidence"] else None,
                  "status": status, ns + "score_format": o.get("score_format"), ns + "outcome_type": o.get("outcome_type")}
        return Record("key_result", o["id"], fields, updated=_iso(o.get("updated_at")),
                      where=f"{self.endpoint} outcome {o.get('nano_slug') or o['id']}")

    def _initiative(self, i: dict[str, Any]) -> Record:
        states = self.mapping["initiative_status"]
        status = states.get(i.get("state")) if i.get("state") == "closed" else states.get(i.get("work_state"))
        fields = {"key_result_id": i.get("outcome_id"), "title": i["title"], "description": i.get("body") or None,
                  "owner": _email(i), "status": status, "due": _day(i.get("due_at"))}
        return Record("initiative", i["id"], fields, updated=_iso(i.get("updated_at")),
                      where=f"{self.endpoint} initiative {i.get('nano_slug') or i['id']}")

    def _check_in(self, c: dict[str, Any], state: _State) -> Record:
        state.seen.add(c["id"])
        colour = c.get("confidence")
        fields = {"key_result_id": c["outcome_id"], "at": state.sent_at.get(c["id"]) or _iso(c["checkin_date"]),
                  "value": _num(c.get("score")), "confidence": self.mapping["confidence"].get(colour),
                  "status": self.mapping["status"].get(colour), "note": c.get("body") or None, "author": _email(c)}
        return Record("check_in", c["id"], fields, updated=_iso(c.get("updated_at")),
                      where=f"{self.endpoint} check-in {c.get('nano_slug') or c['id']}")

    # ------------------------------------------------------------ writing

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        for record in (*batch.updates, *batch.deletes):
            result.rejected.append(Rejected(record.external_id, "Tability's API documents no way to edit or delete "
                                                                "a check-in (or any other record); change it in Tability"))
        for record in batch.creates:
            if record.kind != "check_in":
                result.rejected.append(Rejected(record.canonical_id, f"Tability's API documents no way to create "
                                                                     f"a {record.kind.replace('_', ' ')}"))
                continue
            self._post_check_in(record, result)
        if self._state is not None:  # keep what was read: the new check-ins' intended times ride along
            result.cursor = self._state.dump()
        return result

    def _post_check_in(self, record: Record, result: WriteResult) -> None:
        outcome, f = str(record.fields.get("key_result_id")), record.fields
        token = self._remote.get(outcome)
        if token is None:
            result.rejected.append(Rejected(record.canonical_id, f"outcome {outcome} takes no remote check-ins: in "
                "Tability open it › Check-ins API, enable remote check-ins (Plus/Premium) and add "
                f"`remote_checkins: {{{outcome}: <token>}}` to the endpoint"))
            return
        body: dict[str, Any] = {"personal_api_token": self._token, "score": _score_text(f.get("value")),
                                "body": f.get("note") or ""}
        if f.get("confidence") is not None:
            body["confidence"] = {"green": "green", "yellow": "yellow", "red": "red"}.get(band(f["confidence"]))
        try:
            before = {c["id"] for c in self._check_ins_of(outcome)}
        except FatalError as e:
            result.rejected.append(Rejected(record.canonical_id, f"outcome {outcome}: {e}"))
            return
        for attempt in range(self.api.attempts):
            try:
                self.api.call("POST", "/webhooks/checkins", params={"remote_checkins_token": token}, json=body,
                              replay_safe=False)
            except FatalError as e:
                result.rejected.append(Rejected(record.canonical_id, str(e)))
                return
            except RetryableError:  # the answer was lost: did it land?
                if self._landed(outcome, before, body) is None and attempt + 1 < self.api.attempts:
                    continue
            new = self._landed(outcome, before, body)
            if new is None:
                result.rejected.append(Rejected(record.canonical_id, "posted, but the check-in did not appear in the "
                                                                     "outcome's list; the next read links it if it did land"))
                return
            result.external_ids[record.canonical_id] = new
            if self._state is not None and f.get("at"):
                self._state.sent_at[new] = f["at"]
            return

    def _landed(self, outcome: str, before: set[str], body: dict[str, Any]) -> str | None:
        """The newest check-in of ``outcome`` not in ``before`` that carries this score and body."""
        fresh = [c for c in self._check_ins_of(outcome) if c["id"] not in before
                 and _score_text(_num(c.get("score"))) == body["score"] and (c.get("body") or "") == body["body"]]
        fresh.sort(key=lambda c: c.get("created_at") or "")
        return fresh[-1]["id"] if fresh else None


class _State:
    """The cursor: the time okrsync meant for each check-in it wrote (the webhook stamps its own)."""

    def __init__(self, sent_at: dict[str, str]):
        self.sent_at = sent_at
        self.seen: set[str] = set()

    @classmethod
    def load(cls, cursor: str | None) -> _State:
        sent = read_cursor(cursor).get("sent_at")
        return cls(dict(sent) if isinstance(sent, dict) else {})

    def dump(self) -> str:
        return json.dumps({"sent_at": self.sent_at}, sort_keys=True)


def _next_page(link: str | None) -> int | None:
    """The page number of the Link header's rel="next" URL (docs: api-reference pagination)."""
    for url, rel in LINK.findall(link or ""):
        if rel == "next":
            page = parse_qs(urlsplit(url).query).get("page")
            try:
                return int(page[0]) if page else None
            except ValueError:
                return None
    return None


def _period(plan: dict[str, Any]) -> str | None:
    """A plan's canonical period: its dates when they are a calendar quarter/half/year,
    else a period named in its title ("Company OKRs 2023 Q4"), else the title itself."""
    start, end = _day(plan.get("start_at")), _day(plan.get("finish_at"))
    if start and end:
        label = tf.period_for_dates(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        if label:
            return label
    title = plan.get("title") or ""
    for word in re.findall(r"(?:FY\s?)?\d{2,4}[\s\-/]*[QH][1-4]|[QH][1-4][\s\-/]*(?:FY\s?)?\d{2,4}", title, re.I):
        try:
            return tf.parse_period(word).label
        except tf.TransformError:
            continue
    return title or None


def _unit(fmt: Any, signs: dict[str, str]) -> tuple[str, str | None]:
    text = str(fmt or "")
    if "%" in text:
        return "percent", None
    for sign, code in signs.items():
        if sign in text:
            return "currency", code
    return "number", None


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _score_text(value: Any) -> str:
    """A score as the webhook example sends it: a string, "25000" (no trailing .0)."""
    if value is None:
        return ""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _email(item: dict[str, Any]) -> str | None:
    member = item.get("membership") or {}
    name = " ".join(x for x in (member.get("cached_firstname"), member.get("cached_lastname")) if x)
    return member.get("cached_email") or name or None


def _iso(value: Any) -> str | None:
    moment = tf.parse_datetime(value) if value else None
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _day(value: Any) -> str | None:
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None
