"""``okrsync doctor --probe ENDPOINT``: a connector's claims checked on the user's own account.

No connector has met a live vendor service, so what public sources do not confirm (each
connector's ``Capabilities.unconfirmed``) is checked where it matters: on the account. In the
place the endpoint's config names as its ``sandbox:``, the connector's ``probe`` creates a
throwaway objective and key results holding the values that exercise those facts (a decimal,
a decreasing KR, a long non-ASCII title, a due date), reads them back through a fresh
connector (no memory of what it wrote), compares field by field, deletes them and returns a
row per claim: confirmed, contradicted (with what came back) or not testable.

Never runs without ``--probe`` and an explicit ``sandbox:`` (ConfigError, exit 2). Every
remote record is tracked as a write intent (under ``<endpoint>#probe``, apart from the
sync's own) as soon as it exists and closed once deleted: an interrupted probe deletes what
it made on the way out, and one killed outright leaves intents the next probe cleans up first.
The result is kept in the store (``load``), for ``okrsync connectors NAME`` and ``okrsync
migrate``'s plan.

A connector whose sandbox is a place its own options name (a Notion database, a Smartsheet
sheet) says so in ``Connector.sandbox_options``: every connector built here gets those
overrides, the one cleaning up a killed probe's leftovers too. A snapshot writer (a table
written whole) is handed what the sandbox holds besides as unchanged (``Kit.batch``), so
the probe's creates and deletes touch only its own records.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .connector import Connector, Context, ProbeResult, Record, WriteBatch
from .errors import ConfigError

STREAM = "probe"  # the store cursor stream holding an endpoint's last probe
CONFIRMED, CONTRADICTED, UNTESTABLE = "confirmed", "contradicted", "not testable"
# a long title with text beyond ASCII: accents, CJK, an emoji, a right-to-left word
TITLE = ("okrsync probe — throwaway, deleted at once · Ünïcødé 目標 ✓ 🚀 هدف · "
         + "long title " * 12).strip()
DESCRIPTION = "Created by okrsync doctor --probe to check what this account keeps; deleted right after."


def standard() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The throwaway objective and KRs (label → fields) exercising the usual unconfirmed facts;
    a connector adds what its sandbox names (period, team, owner) and drops what it cannot hold."""
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    objective = {"title": TITLE, "description": DESCRIPTION, "due": due}
    krs = {
        "decimal": {"title": "okrsync probe: decimal ½", "start": 0.5, "target": 10.5, "current": 2.5,
                    "direction": "increase", "unit": "number"},
        "decreasing": {"title": "okrsync probe: décroissant ↓", "start": 10.0, "target": 4.0, "current": 7.0,
                       "direction": "decrease", "unit": "number"},
    }
    return objective, krs


@dataclass
class Kit:
    """What a connector's ``probe`` works with (see ``Connector.probe``)."""

    conn: Connector
    store: Any
    run_id: int
    fresh: Callable[..., Connector]  # a new instance (options overridden by keywords): no memory of our writes
    made: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, external id) → intent id
    ids: dict[str, str] = field(default_factory=dict)  # the last round trip's canonical id → external id
    seen: dict[tuple[str, str], Record] = field(default_factory=dict)  # what its read-back listed

    @property
    def key(self) -> str:
        return f"{self.conn.endpoint}#probe"

    def track(self, kind: str, external_id: str) -> None:
        """Record a remote record the probe made, before anything else can go wrong."""
        cid = f"probe:{kind}:{external_id}"
        self.store.add_intents(self.run_id, self.key, [(kind, cid, {"external_id": external_id})])
        self.made[(kind, external_id)] = cid

    def untrack(self, kind: str, external_id: str) -> None:
        cid = self.made.pop((kind, external_id), f"probe:{kind}:{external_id}")
        self.store.close_intents(self.key, [cid])

    def delete(self, records: list[tuple[str, str]]) -> list[str]:
        """Delete (kind, external id) records through the connector (KRs before objectives);
        the reasons of those it could not delete (they stay tracked)."""
        if not records:
            return []
        batch = self.batch(deletes=[Record(kind, ext, {}, canonical_id=f"probe:{kind}:{ext}") for kind, ext in records])
        result = self.conn.write(batch)
        refused = {r.where: r.reason for r in result.rejected}
        for kind, ext in records:
            if ext not in refused and f"probe:{kind}:{ext}" not in refused:
                self.untrack(kind, ext)
        return [f"{where}: {reason}" for where, reason in refused.items()]

    def batch(self, **parts: list[Record]) -> WriteBatch:
        """A write of the probe's records. A snapshot writer (``writes: snapshot``: a table
        written whole) is also handed every other record it holds now, as unchanged: it would
        otherwise drop them, and the probe touches only its own records."""
        batch = WriteBatch(**parts)
        if self.conn.capabilities.writes == "snapshot":
            mine = {(r.kind, r.external_id) for r in [*batch.creates, *batch.deletes]}
            batch.unchanged = [r for r in self.conn.read(None)
                               if isinstance(r, Record) and (r.kind, r.external_id) not in mine]
        return batch

    def leftovers(self) -> list[ProbeResult]:
        """Delete what an earlier, killed probe left behind."""
        found = [(kind, payload["external_id"]) for kind, cid, payload, _ in self.store.open_intents(self.key)]
        for kind, ext in found:
            self.made[(kind, ext)] = f"probe:{kind}:{ext}"
        if not found:
            return []
        refused = self.delete(found)
        return [ProbeResult("an interrupted probe's throwaway records are deleted",
                            CONTRADICTED if refused else CONFIRMED, "; ".join(refused) or f"{len(found)} deleted")]

    def finish(self) -> list[str]:
        """Delete everything still tracked (also after an interrupt)."""
        return self.delete(sorted(self.made, key=lambda k: k[0] == "objective"))

    def round_trip(self, objective: dict[str, Any], key_results: dict[str, dict[str, Any]],
                   reader: dict[str, Any] | None = None,
                   settle: Callable[[dict[str, str]], list[ProbeResult]] | None = None) -> list[ProbeResult]:
        """Create the objective and its KRs (canonical ids ``probe-objective``,
        ``probe-kr-<label>``) through the connector's ``write``, read them back through a
        fresh instance (``reader``: option overrides for it), compare every field the
        connector holds, delete them. ``ids`` and ``seen`` keep what was made and read.
        ``settle``, given canonical id → external id of what was made, runs between the
        creates and the read-back (a tool whose listing lags waits there) and adds its rows."""
        records = [Record("objective", "probe-objective", dict(objective), canonical_id="probe-objective")]
        records += [Record("key_result", f"probe-kr-{label}", {**fields, "objective_id": "probe-objective"},
                           canonical_id=f"probe-kr-{label}") for label, fields in key_results.items()]
        labels = {"probe-objective": "objective"} | {f"probe-kr-{label}": f"key result ({label})" for label in key_results}
        result = self.conn.write(self.batch(creates=records))
        made = dict(result.external_ids)
        for record in records:
            if record.canonical_id in made:
                self.track(record.kind, made[record.canonical_id])
        refused = {r.where: r.reason for r in result.rejected}
        settled = settle(dict(made)) if settle else []
        rows = [ProbeResult(f"creates a{'n' if labels[r.canonical_id][0] == 'o' else ''} {labels[r.canonical_id]}",
                            CONTRADICTED if r.canonical_id in refused or r.canonical_id not in made else CONFIRMED,
                            refused.get(r.canonical_id, "" if r.canonical_id in made else "no id came back"))
                for r in records] + settled
        reader_conn = self.fresh(**(reader or {}))
        read = {(item.kind, item.external_id): item for item in reader_conn.read(None) if isinstance(item, Record)}
        self.ids, self.seen = made, read
        ext_of = dict(made)
        for record in records:
            ext = made.get(record.canonical_id)
            if ext is None:
                continue
            got = read.get((record.kind, ext))
            label = labels[record.canonical_id]
            if got is None:
                rows.append(ProbeResult(f"reads back the {label}", CONTRADICTED, "not in the listing after its create"))
                continue
            held = reader_conn.fields(record.kind)
            for name, want in record.fields.items():
                if name.startswith("extra.") or (held is not None and name not in held):
                    continue
                want = ext_of.get(want, want) if name.endswith("_id") else want
                have = got.fields.get(name)
                rows.append(ProbeResult(f"{label} {name} {_shown(want)} reads back as written",
                                        CONFIRMED if same(want, have) else CONTRADICTED,
                                        "" if same(want, have) else f"read back {_shown(have)}{_where_differs(want, have)}"))
        gone = self.delete([(r.kind, made[r.canonical_id]) for r in records if r.canonical_id in made])
        rows.append(ProbeResult("deletes the throwaway records", CONTRADICTED if gone else CONFIRMED, "; ".join(gone)))
        return rows


def same(want: Any, have: Any) -> bool:
    """Equal as okrsync compares: numbers to 1e-9, dates by their day, text exactly."""
    if isinstance(want, (int, float)) and isinstance(have, (int, float)) and not isinstance(want, bool):
        return math.isclose(float(want), float(have), rel_tol=1e-9, abs_tol=1e-9)
    return want == have


def summary(claim: str, rows: list[ProbeResult], match: Callable[[ProbeResult], bool],
            untestable: str = "the probe made no record that exercises it") -> ProbeResult:
    """One verdict for ``claim`` from the rows ``match`` picks: contradicted if one is, confirmed
    if all are (and there is one), else not testable."""
    picked = [r for r in rows if match(r)]
    against = [f"{r.claim}: {r.detail}" for r in picked if r.verdict == CONTRADICTED]
    if against:
        return ProbeResult(claim, CONTRADICTED, "; ".join(against))
    if picked and all(r.verdict == CONFIRMED for r in picked):
        return ProbeResult(claim, CONFIRMED, f"{len(picked)} check(s)")
    return ProbeResult(claim, UNTESTABLE, untestable)


def _where_differs(want: Any, have: Any) -> str:
    """For long texts (shown cut): how long each is and where they part."""
    if not (isinstance(want, str) and isinstance(have, str)) or max(len(want), len(have)) <= 37:
        return ""
    at = next((i for i, (a, b) in enumerate(zip(want, have)) if a != b), min(len(want), len(have)))
    return f" ({len(have)} characters for {len(want)}, differing from character {at + 1})"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…'"


def run(cfg: Any, store: Any, classes: Mapping[str, type[Connector]], name: str) -> list[ProbeResult]:
    """Probe endpoint ``name``: leftovers of a killed probe first, then the connector's probe,
    then whatever is still tracked is deleted (also on Ctrl-C); the rows are stored."""
    endpoint = cfg.endpoint(name)
    sandbox = endpoint.section.get("sandbox")
    if not isinstance(sandbox, dict) or not sandbox:
        raise ConfigError(f"{endpoint.where}: --probe creates and deletes throwaway records on the account, so it runs "
                          "only where the endpoint names a sandbox: add e.g. `sandbox: {session: \"okrsync sandbox\"}` "
                          f"(see `okrsync connectors {endpoint.type}` and the connector's page in docs/connectors/)")
    cls = classes[endpoint.type]
    if cls.probe is Connector.probe:
        raise ConfigError(f"{endpoint.where}: connector {endpoint.type} declares no probe (Connector.probe)")

    built: list[Connector] = []  # closed when the probe ends (their HTTP clients)
    try:  # every connector of the probe works in the sandbox
        placed = cls.sandbox_options(dict(sandbox), dict(endpoint.options))
    except ConfigError as e:
        raise ConfigError(f"{endpoint.where}: {e}") from None

    def fresh(**overrides: Any) -> Connector:
        built.append(cls(name, {**endpoint.options, **placed, **overrides}, Context(base_dir=cfg.base_dir)))
        return built[-1]

    run_id = store.begin_run("doctor --probe")
    kit = Kit(fresh(), store, run_id, fresh)
    status, rows = "failed", []
    try:
        rows = kit.leftovers()
        rows += kit.conn.probe(dict(sandbox), kit)
        status = "ok"
    finally:
        left = kit.finish()  # after an interrupt too: nothing of ours stays behind
        if left:
            rows.append(ProbeResult("deletes the throwaway records", CONTRADICTED, "; ".join(left) +
                                    " (still tracked: the next probe tries again)"))
        if status == "ok":
            save(store, name, rows, run_id)
        store.finish_run(run_id, status, {})
        for conn in built:
            conn.close()
    return rows


def save(store: Any, name: str, rows: list[ProbeResult], run_id: int) -> None:
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    store.set_cursor(name, STREAM, json.dumps({"at": stamp, "results": [asdict(r) for r in rows]}), run_id)


def load(store: Any, name: str) -> dict[str, Any] | None:
    """The endpoint's last probe: ``{"at": ISO time, "results": [{claim, verdict, detail}]}``."""
    raw = store.cursor(name, STREAM)
    return json.loads(raw) if raw else None


def fact_notes(store: Any, name: str, facts: tuple[str, ...]) -> list[str]:
    """One line per unconfirmed fact for a migration plan: what the last probe of ``name`` said."""
    last = load(store, name) or {"results": []}
    said = {r["claim"]: r for r in last["results"]}
    out = []
    for fact in facts:
        row = said.get(fact)
        if row and row["verdict"] == CONFIRMED:
            out.append(f"confirmed on this account by okrsync doctor --probe ({last['at']}): {fact}")
        elif row and row["verdict"] == CONTRADICTED:
            out.append(f"risk: CONTRADICTED on this account by okrsync doctor --probe ({last['at']}): {fact} — "
                       f"{row['detail']}")
        else:
            out.append(f"risk: {name} relies on an unconfirmed fact: {fact} (check it with okrsync doctor --probe {name})")
    return out


def command(env: Any, name: str) -> None:
    """``okrsync doctor --probe NAME``: run, print the table (or JSON), exit 1 if a claim was
    contradicted, 0 otherwise (2 for a config without a sandbox, from ``run``)."""
    import sys

    from rich.table import Table
    from rich.text import Text

    from . import plugins
    from .lock import StoreLock
    from .logs import REDACTOR

    cfg = env.config()
    cfg.endpoint(name)  # an unknown name fails before the store is opened
    store = env.store(cfg)
    with StoreLock(cfg.store, "doctor --probe") as lock:
        lock.acquire()
        rows = run(cfg, store, plugins.classes(), name)
    code = 1 if any(r.verdict == CONTRADICTED for r in rows) else 0
    if env.as_json:
        env.emit(REDACTOR.deep({"endpoint": name, "exit_code": code, "results": [asdict(r) for r in rows]}))
    else:
        style = {CONFIRMED: "green", CONTRADICTED: "red", UNTESTABLE: "yellow"}
        table = Table("claim", "verdict", "what came back", title=f"okrsync doctor --probe {name}")
        for r in rows:
            table.add_row(Text(r.claim), Text(r.verdict, style=style[r.verdict]), Text(REDACTOR(r.detail)))
        env.out.print(table)
        counts = {v: sum(r.verdict == v for r in rows) for v in (CONFIRMED, CONTRADICTED, UNTESTABLE)}
        env.out.print(f"probe: {counts[CONFIRMED]} confirmed, {counts[CONTRADICTED]} contradicted, "
                      f"{counts[UNTESTABLE]} not testable (exit {code})", highlight=False)
    if code:
        sys.exit(code)
