"""Perdoo (GraphQL, ``https://api-eu.perdoo.com/graphql/``, bearer token): objectives, key
results and initiatives (Perdoo keyResults of type KEY_RESULT / INITIATIVE), timeframes as
periods, groups as teams, one parent per objective, KPIs read as context.

Reads list every root connection (Relay ``first``/``after``, ``pageInfo``) and ask for the
next pages of all of them in one document, so a small account is read in one request.
Writes use the documented upserts (``upsertObjective``, ``upsertKeyResult``: no ``id``
creates), up to ``batch`` aliased mutations a request; each alias answers for itself, and
its ``errors{field messages}`` become that record's rejection. Creates are never blindly
re-sent: after an answer that got lost, what landed is looked up by name and creation time.

Perdoo computes status and progress from check-ins, so they are read into
``extra.<endpoint>`` and never written. KR and initiative writes go through
``upsertKeyResult``, whose input no source shows answered by the live API: the capabilities
declare it ``unconfirmed`` (so ``okrsync migrate`` plans it as a risk) until ``okrsync
doctor --probe`` confirms it on the account. Every name sent is in ``tests/helpers/perdoo_schema.py``
with its source; the few inferred ones (objective delete, an initiative's parent on write)
are listed there and in docs/connectors/perdoo.md.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

from okrsync.connector import Capabilities, Connector, Cursor, Note, ProbeResult, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import ConfigError, FatalError, RetryableError

from .common import API_OPTIONS, bearer, check_endpoint, chunks, load_mapping, mapping_source, new_api, period_label, users_option

URL = "https://api-eu.perdoo.com/graphql/"
OPTIONS = {
    **API_OPTIONS,
    "token": "a Perdoo API token (Personal Settings → API Tokens), e.g. token: {$env: PERDOO_TOKEN}",
    "page_size": "records a page of a listing (default 100)",
    "batch": "writes sent in one GraphQL request (default 10)",
}
RATE = 2.0  # req/s: Perdoo documents no limit; a third-party client paces at 3/s — stay under it
PAGE_INFO = "pageInfo { hasNextPage endCursor }"
USER = "lead { id name email }"
OBJECTIVE = (f"id name description status stage progress weight lastEditedDate {USER} timeframe {{ id name }} "
             "parent { id } groups { edges { node { id name } } } kpi { id name }")
RESULT = (f"id name description status type weight startValue endValue currentValue metricUnit targetType "
          f"archived lastEditedDate {USER} objective {{ id }} parent {{ id }}")
KPI = "id name metricUnit currentValue"
READS = {  # alias: (root field, literal arguments, node selection)
    # every timeframe: `objectives` takes includePastTimeframes (root Query arguments in the
    # introspection a third-party client captured, Natural-Heroes/workflows mcp/perdoo
    # .planning/phases/01-foundation-objectives/introspection-output.json), so the default
    # may hide past quarters — and this listing is the one deletes are inferred from
    "objectives": ("objectives", "includePastTimeframes: true", OBJECTIVE),
    "keyResults": ("keyResults", 'type: "KEY_RESULT", archived: false', RESULT),
    "initiatives": ("initiatives", "archived: false", RESULT),
    "kpis": ("allKpis", "archived: false", KPI),
}
LOOKUPS = {
    "timeframes": ("timeframes", "", "id name"),
    "groups": ("allGroups", "", "id name"),
    "users": ("allUsers", "", "id name email"),
}
PAYLOAD = {"objective": "objective { id } errors { field messages }",
           "result": "keyResult { id } errors { field messages }"}
# the commit type and the mutations, asked of the account by the probe (__type only: full
# introspection is off on Perdoo); NON_NULL and LIST wrap the named type up to three levels ([ID!]!)
COMMIT_TYPE = ('query CommitType { commit: __type(name: "commit") { fields { name type { name kind ofType { name kind '
               'ofType { name kind ofType { name kind } } } } } } mutation: __type(name: "Mutation") { fields { name } } }')
CREATED_MARGIN = 300  # seconds of clock difference tolerated when looking up lost creates


class PerdooConnector(Connector):
    name = "perdoo"
    option_help = OPTIONS
    required_options = ("token",)
    description = "Perdoo GraphQL: objectives (one parent), key results and initiatives; KPIs read as context"
    capabilities = Capabilities(
        kinds=("objective", "key_result", "initiative"),
        kr_directions=("increase", "decrease", "stay_above", "stay_below"),
        kr_units=("number", "percent", "currency"),
        alignment="single-parent",  # objective.parent; more alignment edges are not kept
        weights=True, confidence=False, check_ins="none", custom_fields=True, deletes=True,
        incremental=False, writes="records",
        unconfirmed=(
            "key result and initiative writes: upsertKeyResult and its input fields are inferred from "
            "read names, never seen answered by the live API",
            "a key result's current value written as currentValue; Perdoo may move it only through a "
            "progress update (commit), whose mutation no source shows",
        ),
        rate_limit=f"undocumented; okrsync paces at {RATE:g} req/s by default (set `rate`)",
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)
        self.mapping = load_mapping("perdoo", *mapping_source(self))
        self.page = int(options.get("page_size", 100))
        self.batch = max(1, int(options.get("batch", 10)))
        self.users: dict[str, str] = users_option(options)
        self.api = new_api(endpoint, options, where, url=options.get("url") or URL, auth=bearer(options["token"], where),
                           rate=float(options.get("rate", RATE)))
        self._lookups: dict[str, dict[str, str]] | None = None  # timeframes/groups/users: name → id
        self._objective_of: dict[str, str] = {}  # KR id → its objective (initiatives need one)

    def take_counts(self) -> tuple[int, int]:
        return self.api.take_counts()

    def doctor(self, kit) -> None:
        """The token: one small authenticated GraphQL query."""
        answer = kit.call("reachable", {401: "Perdoo refused the token: create one under Personal "
                                             "Settings → API Tokens"},
                          lambda: self._graphql("query Doctor { timeframes(first: 1) { edges { node { id } } } }"))
        if answer is not None:
            kit.add("reachable", "ok", "the GraphQL API answers an authenticated query")

    def probe(self, sandbox, kit):
        """``sandbox: {group: <a Perdoo group>, timeframe: <a timeframe's name>, past_timeframe:
        <an ended timeframe's name, optional>}``. Checks KR writes through upsertKeyResult
        (every input field read back), a current value written as currentValue, and — with
        ``past_timeframe`` — that the objectives listing okrsync takes deletes from shows
        objectives of past timeframes."""
        from okrsync import probe as p

        if not sandbox.get("group") or not sandbox.get("timeframe"):
            raise ConfigError(f"endpoint {self.endpoint}: sandbox: give group: <a Perdoo group> and timeframe: <a "
                              "timeframe's name> where the probe may create and delete a throwaway objective")
        objective, krs = p.standard()
        objective = {"title": objective["title"], "description": objective["description"],
                     "team": str(sandbox["group"]), "period": period_label(str(sandbox["timeframe"]))}
        rows = kit.round_trip(objective, krs)
        writes, values = self.capabilities.unconfirmed
        rows.append(p.summary(writes, rows, lambda r: r.claim.startswith(("creates a key result", "key result ("))))
        rows.append(p.summary(values, rows, lambda r: r.claim.startswith("key result (") and " current " in r.claim))
        rows.append(self._probe_past(sandbox.get("past_timeframe"), kit))
        rows.append(self._probe_commits())
        return rows

    def _probe_commits(self) -> ProbeResult:
        """What this account says of the ``commit`` type (progress updates), always "not
        testable": no public source shows its fields or a mutation that makes one, so okrsync
        neither reads Perdoo check-ins nor writes values through commits, and has nothing to
        compare. The answer is shown so it can be reported. Full introspection is switched off
        on Perdoo, but ``__type`` queries answered live (Natural-Heroes/workflows, mcp/perdoo
        .planning/phases/01-foundation-objectives/01-03-SUMMARY.md); the type's name ``commit``
        is that of ``objective.lastCommit`` in the same introspection."""
        from okrsync import probe as p

        claim = ("check-ins from Perdoo commits (lastCommit, allCommits, commit(id)): the commit type's fields and a "
                 "mutation creating one are unconfirmed")
        try:
            answer = self._graphql(COMMIT_TYPE)
        except (FatalError, RetryableError) as e:
            return p.ProbeResult(claim, p.UNTESTABLE, f"the account did not answer __type(name: \"commit\"): {e}")
        fields = ", ".join(f"{f.get('name')}: {_type_name(f.get('type'))}" for f in (answer.get("commit") or {})
                           .get("fields") or [] if isinstance(f, dict))
        mutations = [f.get("name") for f in (answer.get("mutation") or {}).get("fields") or []
                     if isinstance(f, dict) and "commit" in str(f.get("name")).casefold()]
        shown = (f"this account's commit type has {fields}" if fields else "this account answered no type named commit")
        return p.ProbeResult(claim, p.UNTESTABLE, f"{shown}; mutations naming commits: {', '.join(mutations) or 'none'}. "
                             "okrsync reads no Perdoo check-ins and writes values as currentValue until these are "
                             "sourced: report this line")

    def _probe_past(self, past: str | None, kit) -> ProbeResult:
        from okrsync import probe as p

        claim = "the objectives listing (includePastTimeframes: true) shows objectives of past timeframes"
        if not past:
            return p.ProbeResult(claim, p.UNTESTABLE, "give sandbox: past_timeframe: <an ended timeframe's name>")
        made = self.write(WriteBatch(creates=[Record("objective", "o", {"title": "okrsync probe: past timeframe",
                                                                         "period": period_label(str(past))},
                                                     canonical_id="o")]))
        if "o" not in made.external_ids:
            return p.ProbeResult(claim, p.UNTESTABLE, "; ".join(str(r) for r in made.rejected) or "no objective made")
        oid = made.external_ids["o"]
        kit.track("objective", oid)
        listed = any(isinstance(i, Record) and i.external_id == oid for i in kit.fresh().read(None))
        kit.delete([("objective", oid)])
        return p.ProbeResult(claim, p.CONFIRMED if listed else p.CONTRADICTED,
                             "" if listed else f"an objective of timeframe {past!r} was not listed: okrsync would "
                                               "take past quarters' objectives as deleted")

    def migration_risks(self, entities):
        """Key results whose current value rides on the unconfirmed ``currentValue`` input."""
        ids = [cid for cid, kind, f in entities if kind == "key_result" and f.get("current") is not None]
        return [{"what": "key result current values (written as currentValue, UNCONFIRMED)", "count": len(ids),
                 "examples": ids[:3]}] if ids else []

    def fields(self, kind: str) -> set[str] | None:
        common = {"title", "description", "owner", f"extra.{self.endpoint}"}
        return {
            "objective": common | {"team", "period", "parent_id"},
            "key_result": common | {"objective_id", "start", "target", "current", "unit", "currency", "direction", "weight"},
            "initiative": common | {"objective_id", "key_result_id", "parent_id"},
        }.get(kind, set())

    # ------------------------------------------------------------ transport

    def _graphql(self, query: str, variables: dict[str, Any] | None = None, *, replay_safe: bool = True,
                 partial: bool = False) -> dict[str, Any]:
        """POST one document; its ``data``. Errors without data fail the call, and so do errors
        beside data unless ``partial`` (a mutation document: each alias answers for itself,
        its top-level errors kept under ``__errors__``)."""
        try:
            answer = self.api.call("POST", "", json={"query": query, "variables": variables or {}},
                                   replay_safe=replay_safe)
        except FatalError as e:
            # Perdoo answers a document naming an unknown field or argument with HTTP 400 and
            # the GraphQL errors (Natural-Heroes/workflows commit 6da1b01): say which
            body = getattr(e, "body", None)
            errors = body.get("errors") if isinstance(body, dict) else None
            if getattr(e, "status", None) != 400 or not isinstance(errors, list):
                raise
            messages = "; ".join(str(x.get("message") if isinstance(x, dict) else x) for x in errors)
            raise FatalError(f"Perdoo refused the GraphQL request (HTTP 400): {messages}. A name okrsync sends is "
                             "not in this account's API: run okrsync doctor --probe and report it",
                             endpoint=self.endpoint) from None
        if not isinstance(answer, dict):
            raise RetryableError("Perdoo answered without a GraphQL result", endpoint=self.endpoint)
        data = answer.get("data")
        if not isinstance(data, dict):
            messages = "; ".join(str(e.get("message")) for e in answer.get("errors") or [] if isinstance(e, dict))
            raise FatalError(f"Perdoo refused the request: {messages or 'no data'}", endpoint=self.endpoint)
        if answer.get("errors") and not partial:  # a query's error is never partial success
            first = answer["errors"][0]
            raise FatalError(f"Perdoo refused a query: {first.get('message') if isinstance(first, dict) else first}",
                             endpoint=self.endpoint)
        data["__errors__"] = answer.get("errors") or []
        return data

    def _list(self, specs: dict[str, tuple[str, str, str]]) -> dict[str, list[dict[str, Any]]]:
        """Every node of every connection in ``specs``; next pages of all in one document."""
        found: dict[str, list[dict[str, Any]]] = {alias: [] for alias in specs}
        after: dict[str, str | None] = {alias: None for alias in specs}
        while after:
            parts, declared, variables = [], [], {}
            for n, (alias, cursor) in enumerate(after.items()):
                root, args, selection = specs[alias]
                declared.append(f"$a{n}: String")
                variables[f"a{n}"] = cursor
                extra = f", {args}" if args else ""
                parts.append(f"{alias}: {root}(first: {self.page}, after: $a{n}{extra}) "
                             f"{{ {PAGE_INFO} edges {{ node {{ {selection} }} }} }}")
            data = self._graphql(f"query Read({', '.join(declared)}) {{ {' '.join(parts)} }}", variables)
            for alias in list(after):
                connection = data.get(alias) or {}
                found[alias].extend(e["node"] for e in connection.get("edges") or [] if e and e.get("node"))
                info = connection.get("pageInfo") or {}
                if info.get("hasNextPage") and info.get("endCursor"):
                    after[alias] = info["endCursor"]
                else:
                    del after[alias]
        return found

    # ------------------------------------------------------------ reading

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        found = self._list(READS)
        objectives = {o["id"] for o in found["objectives"]}
        for node in _parents_first(found["objectives"]):
            yield self._objective(node, objectives)
        krs = {}
        for node in found["keyResults"]:
            krs[node["id"]] = node
            self._objective_of[node["id"]] = (node.get("objective") or {}).get("id")
            yield self._result("key_result", node)
        initiatives = {n["id"] for n in found["initiatives"]}
        for node in _parents_first(found["initiatives"]):
            yield self._result("initiative", node, krs, initiatives)
        if found["kpis"]:
            names = ", ".join(k["name"] for k in found["kpis"][:10]) + (" …" if len(found["kpis"]) > 10 else "")
            yield Note(f"{self.endpoint}: {len(found['kpis'])} Perdoo KPI(s) read as context, not synced "
                       f"(okrsync has no KPI kind): {names}")
        yield Cursor(None, full_listing=True)

    def _extra(self, node: dict[str, Any], *names: str) -> dict[str, Any]:
        if not self.mapping.get("extra_fields", True):
            return {}
        out = {f"extra.{self.endpoint}.{n}": node.get(n) for n in names}
        if "status" in names:
            out[f"extra.{self.endpoint}.status"] = self.mapping["status"].get(node.get("status"))
        return out

    def _objective(self, node: dict[str, Any], known: set[str]) -> Record:
        groups = [e["node"]["name"] for e in ((node.get("groups") or {}).get("edges") or []) if e and e.get("node")]
        parent = (node.get("parent") or {}).get("id")
        fields = {"title": node.get("name") or "", "description": node.get("description") or None,
                  "owner": _email(node), "team": groups[0] if groups else None,
                  "period": period_label((node.get("timeframe") or {}).get("name")),
                  "parent_id": parent if parent in known else None,  # a parent we cannot see: not ours to hold
                  **self._extra(node, "status", "stage", "progress")}
        if self.mapping.get("extra_fields", True):
            fields[f"extra.{self.endpoint}.kpi"] = (node.get("kpi") or {}).get("name")
            if len(groups) > 1:
                fields[f"extra.{self.endpoint}.groups"] = groups[1:]
        return Record("objective", node["id"], fields, updated=_utc(node.get("lastEditedDate")),
                      where=f"{self.endpoint} objective {node['id']}")

    def _result(self, kind: str, node: dict[str, Any], krs: dict | None = None, initiatives: set | None = None) -> Record | Rejected:
        where = f"{self.endpoint} {kind.replace('_', ' ')} {node['id']}"
        fields: dict[str, Any] = {"title": node.get("name") or "", "description": node.get("description") or None,
                                  "owner": _email(node), "objective_id": (node.get("objective") or {}).get("id"),
                                  **self._extra(node, "status")}
        if kind == "key_result":
            unit = node.get("metricUnit")
            direction = self.mapping["target_type"].get(node.get("targetType") or "INCREASE_TO")
            if direction is None:
                return Rejected(where, f"target type {node.get('targetType')!r} has no okrsync direction")
            fields.update(start=_float(node.get("startValue")), target=_float(node.get("endValue")),
                          current=_float(node.get("currentValue")), direction=direction,
                          unit=self.mapping["metric_unit"].get(unit, "currency" if unit else "number"),
                          currency=unit if unit and unit not in self.mapping["metric_unit"] else None,
                          weight=_float(node.get("weight")))
        else:
            parent = (node.get("parent") or {}).get("id")
            fields["key_result_id"] = parent if parent in (krs or {}) else None
            fields["parent_id"] = parent if parent in (initiatives or set()) else None
        return Record(kind, node["id"], fields, updated=_utc(node.get("lastEditedDate")), where=where)

    # ------------------------------------------------------------ writing

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        made: dict[str, str] = {}  # canonical id → Perdoo id, for children created in this batch
        failed: set[str] = set()
        for kind in ("objective", "key_result", "initiative"):
            pending = [r for r in batch.creates if r.kind == kind]
            while pending:  # waves: a parent created in this batch goes first
                wave = [r for r in pending if not _waits(r, {p.canonical_id for p in pending})]
                wave = wave or pending  # a loop of parents: let Perdoo judge
                pending = [r for r in pending if r not in wave]
                self._send(kind, wave, made, failed, result, create=True)
        self._send_updates(batch.updates, made, failed, result)
        self._delete([r for r in batch.deletes if r.kind in ("objective", "key_result", "initiative")], result)
        return result

    def _send_updates(self, records: list[Record], made, failed, result) -> None:
        for kind in ("objective", "key_result", "initiative"):
            self._send(kind, [r for r in records if r.kind == kind], made, failed, result, create=False)

    def _send(self, kind: str, records: list[Record], made: dict[str, str], failed: set[str],
              result: WriteResult, *, create: bool) -> None:
        ready = []
        for record in records:
            where = record.canonical_id if create else record.external_id
            try:
                ready.append((record, self._input(kind, record, made, failed, create)))
            except KeyError as e:
                result.rejected.append(Rejected(where, str(e.args[0])))
                if create:
                    failed.add(record.canonical_id)
        for chunk in chunks(ready, self.batch):
            answers = self._mutate(kind, chunk, create)
            for (record, _), (new_id, reason) in zip(chunk, answers):
                where = record.canonical_id if create else record.external_id
                if reason:
                    result.rejected.append(Rejected(where, reason))
                    if create:
                        failed.add(record.canonical_id)
                elif create:
                    made[record.canonical_id] = result.external_ids[record.canonical_id] = new_id
                    if kind == "key_result":
                        self._objective_of[new_id] = self._ref(record.fields.get("objective_id"), made)

    def _mutate(self, kind: str, chunk: list[tuple[Record, dict]], create: bool) -> list[tuple[str | None, str | None]]:
        """One aliased mutation document; per record (new id, rejection reason)."""
        field, payload = ("upsertObjective", "objective") if kind == "objective" else ("upsertKeyResult", "result")
        input_type = "UpsertObjectiveMutationInput" if kind == "objective" else "UpsertKeyResultMutationInput"
        declared = ", ".join(f"$i{n}: {input_type}!" for n in range(len(chunk)))
        body = " ".join(f"m{n}: {field}(input: $i{n}) {{ {PAYLOAD[payload]} }}" for n in range(len(chunk)))
        query = f"mutation Write({declared}) {{ {body} }}"
        variables = {f"i{n}": data for n, (_, data) in enumerate(chunk)}
        started = time.time()
        try:
            data = self._graphql(query, variables, replay_safe=not create, partial=True)
        except FatalError as e:
            return [(None, str(e))] * len(chunk)
        except RetryableError:
            if not create:
                raise
            landed = self._landed(kind, chunk, started)  # the answer got lost: did the creates land?
            rest = [(r, d) for r, d in chunk if r.canonical_id not in landed]
            again = iter(self._mutate(kind, rest, create) if rest else [])
            return [(landed[r.canonical_id], None) if r.canonical_id in landed else next(again) for r, _ in chunk]
        errors = {str((e.get("path") or [""])[0]): e.get("message") for e in data["__errors__"] if isinstance(e, dict)}
        out = []
        for n in range(len(chunk)):
            answer = data.get(f"m{n}") or {}
            refused = answer.get("errors") or []
            node = answer.get("objective" if kind == "objective" else "keyResult") or {}
            if refused:
                out.append((None, "Perdoo refused it: " + "; ".join(
                    f"{e.get('field')}: {' '.join(e.get('messages') or [])}" for e in refused)))
            elif node.get("id"):
                out.append((node["id"], None))
            else:
                out.append((None, f"Perdoo refused it: {errors.get(f'm{n}') or 'no record in the answer'}"))
        return out

    def _landed(self, kind: str, chunk: list[tuple[Record, dict]], since: float) -> dict[str, str]:
        """Records of ``chunk`` created since ``since`` (by exact name and parent), by canonical id."""
        root = {"objective": "objectives", "key_result": "keyResults", "initiative": "initiatives"}[kind]
        gte = dt.datetime.fromtimestamp(since - CREATED_MARGIN, dt.UTC).isoformat()
        parts, declared, variables = [], ["$since: DateTime"], {"since": gte}
        for n, (_, data) in enumerate(chunk):
            declared.append(f"$n{n}: String")
            variables[f"n{n}"] = data["name"]
            scope = "timeframe { id }" if kind == "objective" else "objective { id }"
            parts.append(f"l{n}: {root}(first: {self.page}, name_Icontains: $n{n}, createdDate_Gte: $since) "
                         f"{{ edges {{ node {{ id name {scope} }} }} }}")
        data = self._graphql(f"query Landed({', '.join(declared)}) {{ {' '.join(parts)} }}", variables)
        found: dict[str, str] = {}
        taken: set[str] = set()
        for n, (record, sent) in enumerate(chunk):
            for edge in (data.get(f"l{n}") or {}).get("edges") or []:
                node = edge.get("node") or {}
                scope = (node.get("timeframe") or node.get("objective") or {}).get("id")
                want = sent.get("timeframe") if kind == "objective" else sent.get("objective")
                if node.get("name") == sent["name"] and scope == want and node["id"] not in taken:
                    found[record.canonical_id] = node["id"]
                    taken.add(node["id"])
                    break
        return found

    def _input(self, kind: str, record: Record, made: dict[str, str], failed: set[str], create: bool) -> dict[str, Any]:
        """The upsert input of a record; KeyError(reason) when Perdoo cannot hold it."""
        f = record.fields
        for ref in ("parent_id", "objective_id", "key_result_id"):
            if f.get(ref) in failed:
                raise KeyError(f"its {ref.removesuffix('_id').replace('_', ' ')} could not be written to Perdoo")
        data: dict[str, Any] = {"name": f.get("title") or "", "description": f.get("description") or ""}
        if not create:
            data["id"] = record.external_id
        owner = f.get("owner")
        data["lead"] = self._lookup("users", owner, "no Perdoo user has the e-mail {!r}; invite them or map it under "
                                                    "the endpoint's 'users:' (e-mail: Perdoo user id)") if owner else None
        if kind == "objective":
            period = f.get("period")
            data["timeframe"] = self._timeframe(period) if period else None
            team = f.get("team")
            others = f.get(f"extra.{self.endpoint}.groups") or []
            data["groups"] = [self._lookup("groups", name, "no Perdoo group is named {!r}; create the group in Perdoo")
                              for name in ([team] if team else []) + list(others)]
            data["parent"] = self._ref(f.get("parent_id"), made)
            if create:
                data["stage"] = self.mapping["objective"]["stage"]
        else:
            data["objective"] = self._ref(f.get("objective_id"), made)
            if kind == "key_result":
                data.update(self._numbers(f))
            else:
                data["type"] = "INITIATIVE"
                parent = self._ref(f.get("parent_id") or f.get("key_result_id"), made)
                data["parent"] = parent
                data["objective"] = data["objective"] or self._objective_of.get(parent or "")
            if not data["objective"]:
                raise KeyError(f"Perdoo keeps every {kind.replace('_', ' ')} under an objective; give it one")
        return data

    def _numbers(self, f: dict[str, Any]) -> dict[str, Any]:
        units = {v: k for k, v in self.mapping["metric_unit"].items()}
        directions = {v: k for k, v in self.mapping["target_type"].items()}
        unit = f.get("unit") or "number"
        if unit == "currency":
            metric = (f.get("currency") or "").upper() or None
        else:
            metric = units.get(unit)
        if metric is None:
            raise KeyError(f"Perdoo has no KR unit for {unit!r}" + (" without a currency code" if unit == "currency" else
                           " (binary KRs: use a number from 0 to 1)"))
        target_type = directions.get(f.get("direction") or "increase")
        if target_type is None:
            raise KeyError(f"Perdoo has no KR target type for direction {f.get('direction')!r} "
                           f"(it takes {', '.join(directions)})")
        out = {"type": "KEY_RESULT", "startValue": f.get("start"), "endValue": f.get("target"),
               "currentValue": f.get("current"), "metricUnit": metric, "targetType": target_type}
        if f.get("weight") is not None:
            out["weight"] = f["weight"]
        return out

    def _ref(self, value: str | None, made: dict[str, str]) -> str | None:
        return made.get(value, value) if value else None

    def _timeframe(self, period: str) -> str:
        frames = self._lookup_table("timeframes")
        for name, frame_id in frames.items():
            if name.casefold() == period.casefold() or period_label(name) == period:
                return frame_id
        raise KeyError(f"no Perdoo timeframe is named or means {period!r}; create it in Perdoo first")

    def _lookup(self, table: str, name: str, missing: str) -> str:
        if table == "users" and name.casefold() in self.users:
            return self.users[name.casefold()]
        found = self._lookup_table(table).get(name.casefold() if table != "timeframes" else name)
        if found is None:
            found = next((v for k, v in self._lookup_table(table).items() if k.casefold() == name.casefold()), None)
        if found is None:
            raise KeyError(missing.format(name))
        return found

    def _lookup_table(self, table: str) -> dict[str, str]:
        if self._lookups is None:
            found = self._list(LOOKUPS)
            self._lookups = {
                "timeframes": {n["name"]: n["id"] for n in found["timeframes"]},
                "groups": {n["name"]: n["id"] for n in found["groups"]},
                "users": {(n.get("email") or "").casefold(): n["id"] for n in found["users"] if n.get("email")},
            }
        return self._lookups[table]

    def _delete(self, records: list[Record], result: WriteResult) -> None:
        """KRs and initiatives are archived (``archived: true``); objectives are deleted."""
        results = [(r, {"id": r.external_id, "archived": True}) for r in records if r.kind != "objective"]
        for chunk in chunks(results, self.batch):
            for (record, _), (_, reason) in zip(chunk, self._mutate("key_result", chunk, create=False)):
                if reason and "not found" not in reason.casefold():
                    result.rejected.append(Rejected(record.external_id, reason))
        objectives = [r for r in records if r.kind == "objective"]
        for chunk in chunks(objectives, self.batch):
            declared = ", ".join(f"$d{n}: DeleteObjectiveMutationInput!" for n in range(len(chunk)))
            body = " ".join(f"d{n}: deleteObjective(input: $d{n}) {{ clientMutationId }}" for n in range(len(chunk)))
            data = self._graphql(f"mutation Delete({declared}) {{ {body} }}",
                                 {f"d{n}": {"id": r.external_id} for n, r in enumerate(chunk)}, partial=True)
            for error in data["__errors__"]:
                alias = str((error.get("path") or [""])[0]) if isinstance(error, dict) else ""
                if alias.startswith("d") and alias[1:].isdigit() and "not found" not in str(error.get("message")).casefold():
                    result.rejected.append(Rejected(chunk[int(alias[1:])].external_id, f"Perdoo refused the delete: "
                                                                                       f"{error.get('message')}"))


def _waits(record: Record, pending: set[str]) -> bool:
    f = record.fields
    return any(f.get(ref) in pending for ref in ("parent_id", "key_result_id") if f.get(ref) != record.canonical_id)


def _parents_first(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nodes ordered so a parent (``parent.id``) comes before its children."""
    by_id = {n["id"]: n for n in nodes}
    done: set[str] = set()
    out = []

    def visit(node, trail=()):
        if node["id"] in done or node["id"] in trail:
            return
        parent = (node.get("parent") or {}).get("id")
        if parent in by_id:
            visit(by_id[parent], (*trail, node["id"]))
        done.add(node["id"])
        out.append(node)

    for node in nodes:
        visit(node)
    return out


def _email(node: dict[str, Any]) -> str | None:
    lead = node.get("lead") or {}
    return lead.get("email") or lead.get("name")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _utc(text: str | None) -> str | None:
    if not text:
        return None
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _type_name(ref: Any) -> str:
    """An introspected type reference as GraphQL writes it (``[UUID!]``, ``Float``)."""
    if not isinstance(ref, dict):
        return "?"
    if ref.get("kind") == "NON_NULL":
        return _type_name(ref.get("ofType")) + "!"
    if ref.get("kind") == "LIST":
        return f"[{_type_name(ref.get('ofType'))}]"
    return str(ref.get("name"))
