"""What the CLI shows: run summaries, store status, the change log and the OKR tree.

Each view is a function that builds plain data (also the ``--json`` output) and a
``print_*`` function that renders it with rich.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from . import levels as ordinal
from . import periods
from .lock import StoreLock
from .model import band, from_fields, objective_progress, progress, score
from .names import Names
from .plan import LISTED
from .store import Store

MAX_LISTED = LISTED


def untouched(plans: list, open_rows: list[dict]) -> list[dict]:
    """Open rejections (store rows) of the endpoint steps no plan of this run took: still
    open, though not seen again (a push-only run says so of the pull's)."""
    stepped = {(p.endpoint, p.direction) for p in plans}
    return [r for r in open_rows if (r["endpoint"], r["step"]) not in stepped]


def print_run(env, command: str, run_id: int | None, plans: list, totals, dry_run: bool,
              open_rows: list[dict] = (), names: Names | None = None) -> None:
    """The run's summary; ``open_rows`` are the store's open rejections of its endpoints
    (``Store.rejections``): each rejected line says since which run, and those of steps
    this run did not take are listed too. ``names`` (the store's, after the run) name the
    records of a dry run's plan by their titles and the ids their tools show."""
    still = untouched(plans, list(open_rows))
    names = _with_plans(names or Names(debug=env.debug), plans)
    if env.as_json:
        endpoints = [p.as_dict() for p in plans]
        for plan, data in zip(plans, endpoints):  # beside each canonical id: the title and the ids people know
            for change, entry in zip(plan.changes, data["changes"]):
                entry.update(names.describe(change.canonical_id))
            for conflict, entry in zip(plan.conflicts, data["conflicts"]):
                entry.update(names.describe(conflict.entity_id))
        env.emit({"command": command, "run": run_id, "dry_run": dry_run,
                  "endpoints": endpoints, "totals": totals.__dict__, "still_rejected": still})
        return
    out = env.out
    if dry_run:
        for plan in plans:
            print_plan(env, plan, names)
    table = fitted(out.width, [Col("endpoint", free=True, least=8), Col("step"), Col("read"), Col("created"),
                               Col("updated"), Col("unchanged", 1), Col("conflicts"), Col("rejected")],
                   [[p.endpoint, p.direction, p.counters.read, p.counters.created, p.counters.updated,
                     p.counters.unchanged, p.counters.conflicts, len(p.rejected)] for p in plans],
                   title=f"{command} {'(dry run: nothing written)' if dry_run else f'run {run_id}'}")
    out.print(table)
    since = {(r["endpoint"], r["step"], r["where"]): r["first_run"] for r in open_rows}
    for p in plans:
        for note in p.notes:
            env.err.print(f"note: {p.endpoint}: {note}", markup=False, highlight=False)
        for r in p.rejected[:MAX_LISTED]:
            first = since.get((p.endpoint, p.direction, r.where))
            earlier = f" (rejected since run {first})" if first is not None and first != run_id else ""
            env.err.print(f"rejected: {p.endpoint}: {_where(r.where, names)}: {r.reason}{earlier}", markup=False, highlight=False)
        if len(p.rejected) > MAX_LISTED:
            env.err.print(f"rejected: {p.endpoint}: … and {len(p.rejected) - MAX_LISTED} more (use --json for all)")
    for r in still[:MAX_LISTED]:
        env.err.print(f"rejected: {r['endpoint']}: {_where(r['where'], names)}: {r['reason']} (on {r['step']}, since run {r['first_run']}; "
                      f"not tried again by this {command})", markup=False, highlight=False)
    if len(still) > MAX_LISTED:
        env.err.print(f"rejected: … and {len(still) - MAX_LISTED} more still open (okrsync status lists them)")


def _where(where: str, names: Names) -> str:
    """A rejection's place: a push names the record by its canonical id, shown as its title
    and the ids its tools show (a read's file, sheet and row stay as they are)."""
    return names.label(where) if where in names.titles or where in names.ids else where


def print_plan(env, plan, names: Names) -> None:
    """One step of a dry run, for a person: what it would create, change and delete
    (counted), then each record by title and the ids its tools show, with every field it
    would change as old → new."""
    out = env.out
    ops = plan.ops()  # a large first import holds its first changes only, and counts the rest
    total = sum(ops.values())
    if not (total or plan.conflicts):
        out.print(f"{plan.direction} {plan.endpoint}: nothing to change", markup=False, highlight=False)
        return
    counted = ", ".join(f"{ops[op]} {_PAST.get(op, op)}" for op in sorted(ops, key=_ORDER.index) if op in _ORDER)
    out.print(f"[bold]{_esc(plan.direction)} {_esc(plan.endpoint)}[/bold] would: {_esc(counted or 'change nothing')}"
              + (f"; {len(plan.conflicts)} conflict(s)" if plan.conflicts else ""))
    for c in plan.changes[:MAX_LISTED]:
        out.print(f"  {c.op} {c.kind.replace('_', ' ')} {names.label(c.canonical_id)}", markup=False, highlight=False)
        if c.op in ("delete", "archive"):
            continue
        for k, (o, n) in sorted(c.diff.items()):
            new = _value_of(k, n, names)
            shown = new if c.op == "create" else f"{_value_of(k, o, names)} → {new}"
            out.print(f"      {k}: {shown}", markup=False, highlight=False)
    if total > min(len(plan.changes), MAX_LISTED):
        out.print(f"  … and {total - min(len(plan.changes), MAX_LISTED)} more record(s) (use --json for all)")
    for k in plan.conflicts[:MAX_LISTED]:
        outcome = {"theirs": f"{plan.endpoint} wins", "ours": f"{k.ours_origin or 'the hub'} wins",
                   "manual": "waits for you"}[k.decision]
        out.print(f"  conflict {k.kind.replace('_', ' ')} {names.label(k.entity_id)} {k.field}: {plan.endpoint} {k.theirs!r} vs "
                  f"{k.ours_origin or 'hub'} {k.ours!r} (base {k.base!r}) → {outcome} ({k.rule})", markup=False, highlight=False)


_ORDER = ["create", "update", "restore", "delete", "archive"]
_PAST = {"create": "to create", "update": "to update", "restore": "to restore", "delete": "to delete",
         "archive": "to archive"}


def _with_plans(names: Names, plans: list) -> Names:
    """``names`` and the titles and endpoint ids of the records the plans read: a dry run
    rolls its writes back, so a record it would create is known by these only."""
    titles, ids = dict(names.titles), {cid: list(known) for cid, known in names.ids.items()}
    for p in plans:
        for c in p.changes:
            if (c.fields or {}).get("title"):
                titles.setdefault(c.canonical_id, str(c.fields["title"]))
            if p.direction == "pull" and c.external_id and not names.ids.get(c.canonical_id):
                ids.setdefault(c.canonical_id, []).append(f"{p.endpoint} {c.external_id}")
    return Names(titles, ids, names.debug)


def _value_of(field: str, value: Any, names: Names) -> str:
    """A field's value as a person reads it: a reference (objective_id …) by the record's name."""
    if field.endswith("_id") and isinstance(value, str) and value in names.titles:
        return names.label(value)
    return repr(value)


def status(cfg, store: Store) -> dict[str, Any]:
    counts = {k: n for k, n in store.db.execute(
        "SELECT kind, count(*) FROM entities WHERE deleted = 0 GROUP BY kind ORDER BY kind")}
    endpoints = []
    for name, ep in cfg.endpoints.items():
        links = store.db.execute("SELECT count(*) FROM links WHERE endpoint = ?", [name]).fetchone()[0]
        cursor = store.db.execute("SELECT updated FROM cursors WHERE endpoint = ? ORDER BY updated DESC LIMIT 1",
                                  [name]).fetchone()
        endpoints.append({"name": name, "type": ep.type, "linked": links, "last_read": cursor[0] if cursor else None,
                          "unknown_creates": len(store.pending_creates(name))})
    runs = store.runs(10)
    if not StoreLock(cfg.store, "status").held_by_someone():  # nobody is running: a `running` run died
        for run in runs:
            if run["status"] == "running":
                run["status"] = "interrupted"
    return {"store": str(cfg.store), "entities": counts, "endpoints": endpoints, "runs": runs,
            "conflicts_waiting": len(store.conflicts("open")), "rejections": store.rejections(cfg.endpoints)}


def print_status(env, data: dict) -> None:
    out = env.out
    out.print(f"store: {data['store']}", markup=False)
    out.print("entities: " + (", ".join(f"{n} {k.replace('_', ' ')}" for k, n in data["entities"].items()) or "none"))
    if data["conflicts_waiting"]:
        out.print(f"conflicts waiting for you: {data['conflicts_waiting']} (okrsync conflicts list)")
    for e in data["endpoints"]:
        if e["unknown_creates"]:  # held, never sent twice: a sync's full read of the endpoint settles them
            out.print(f"{e['name']}: {e['unknown_creates']} create(s) of unknown outcome (a run died or lost the answer); "
                      "not sent again until a sync reads whether they landed", markup=False)
    table = Table("endpoint", "type", "linked records", "last read or written")
    for e in data["endpoints"]:
        table.add_row(e["name"], e["type"], str(e["linked"]), e["last_read"] or "never")
    out.print(table)
    if data["rejections"]:
        cols = [Col("endpoint", 4, free=True, least=8), Col("step", 2), Col("where", free=True, least=10),
                Col("record", free=True, least=12), Col("reason", free=True, least=16), Col("since run", 3),
                Col("last seen", 1)]
        # fitted makes every cell Text: a cell's [brackets] are not markup
        out.print(fitted(out.width, cols, [[r["endpoint"], r["step"], r["where"], r["record"] or "", r["reason"],
                                            r["first_run"], r["last_run"]] for r in data["rejections"]],
                         title=f"{len(data['rejections'])} open rejection(s): fix or remove the rows, then sync"))
    cols = [Col("run"), Col("command", free=True, least=8), Col("started", 1, free=True, least=10), Col("status"),
            Col("error", free=True, least=10)]
    out.print(fitted(out.width, cols, [[r["id"], r["command"] + (" (dry run)" if r["dry_run"] else ""), r["started"],
                                        r["status"], r["error"] or ""] for r in data["runs"]], title="recent runs"))


@dataclass
class Col:
    """A column of a table that must fit the terminal: ``keep`` ranks it (the lowest is
    dropped first when the columns do not fit at their narrowest; 0: never), ``free`` text
    folds over lines down to ``least`` characters where short values stay on one."""

    header: str
    keep: int = 0
    free: bool = False
    least: int = 0

    @property
    def narrowest(self) -> int:
        return max(len(self.header), self.least)


def fitted(width: int, cols: list[Col], rows: list[list], **kwargs) -> Table:
    """A table of ``rows`` no wider than ``width``: every header whole (none cut to
    "conflic…"), columns dropped by rank until they fit, free text folded."""
    kept = list(range(len(cols)))
    # a column needs its narrowest (a short column: its longest value) and 3 characters of
    # border and padding; the table 1 more
    need = [c.narrowest if c.free else max([c.narrowest, *(len(str(r[i])) for r in rows)]) for i, c in enumerate(cols)]
    while sum(need[i] + 3 for i in kept) + 1 > width and any(cols[i].keep for i in kept):
        kept.remove(min((i for i in kept if cols[i].keep), key=lambda i: cols[i].keep))
    table = Table(**kwargs)
    for i in kept:
        c = cols[i]
        table.add_column(c.header, min_width=c.narrowest, no_wrap=not c.free, overflow="fold" if c.free else "ellipsis")
    for row in rows:
        table.add_row(*(row[i] if isinstance(row[i], Text) else Text(str(row[i])) for i in kept))
    return table


def print_log(env, rows: list[dict], names: Names) -> None:
    """The change log, one row per change: the record by its title and the ids its tools
    show (the canonical id with --debug only), each field's old → new, who made it when the
    tool says so ("–" otherwise) and from which tool."""
    cols = [Col("time", 3), Col("run", 4), Col("record", free=True, least=20), Col("field", free=True, least=8),
            Col("old → new", free=True, least=14), Col("who", 2, free=True, least=6), Col("from", 2, free=True, least=8),
            Col("kind", 1)]
    table_rows = []
    for r in rows:
        field, old, new = r["field"], r["old"], r["new"]
        if field == "*":  # a whole record created or deleted: the record column names it
            field, change = "(record)", r["kind"]
        else:
            change = _short(new) if old is None else f"{_short(old)} → {_short(new)}"
        table_rows.append([r["at"][5:16].replace("T", " "), r["run_id"], names.label(r["entity_id"], known_as=_known(r)),
                           field, change, r.get("actor") or "–", r["origin"], r["kind"]])
    env.out.print(fitted(env.out.width, cols, table_rows))
    if not rows:
        env.err.print("no changes match")


def _known(row: dict) -> list[str] | None:
    return row.get("known_as")


def _short(value: Any, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def okr_tree(store: Store, period: str | None = None) -> dict[str, Any]:
    """Every record kind the store holds, as ``okrsync show`` lists them:

    - ``objectives``: objectives (children under their primary parent) with their KRs,
      progress and scores; initiatives under the KR or objective they drive;
    - ``orphan_key_results``: KRs whose objective is not in the store;
    - ``orphan_initiatives``: initiatives under neither a live objective nor a live KR;
    - ``other``: how many records of the remaining kinds (check-ins, periods, people …).

    ``period`` keeps the objectives of that period; orphans belong to none and are always shown.
    """
    live = {kind: {cid: f for cid, _, f in store.entities(kind)} for kind in ("objective", "key_result", "initiative")}
    keys, known = store.keys(), Names.of(store)
    check_ins: dict[str, int] = {}
    for _, _, f in store.entities("check_in"):
        check_ins[f.get("key_result_id")] = check_ins.get(f.get("key_result_id"), 0) + 1
    initiatives = {cid: from_fields("initiative", cid, f) for cid, f in live["initiative"].items()}
    under: dict[str | None, list] = {}  # the id an initiative hangs under → its initiatives
    for ini in initiatives.values():
        parent = next((p for p in (ini.parent_id, ini.key_result_id, ini.objective_id)
                       if p in initiatives or p in live["key_result"] or p in live["objective"]), None)
        under.setdefault(parent, []).append(ini)

    def ini_node(ini) -> dict[str, Any]:
        return {"id": ini.id, "keys": keys.get(ini.id, []), "known_as": known.known_as(ini.id), "title": ini.title,
                "owner": ini.owner, "status": ini.status,
                "progress": ini.progress, "initiatives": [ini_node(c) for c in under.get(ini.id, [])]}

    krs_of: dict[str | None, list] = {}
    for cid, fields in live["key_result"].items():
        kr = from_fields("key_result", cid, fields)
        krs_of.setdefault(kr.objective_id if kr.objective_id in live["objective"] else None, []).append(kr)

    def kr_node(kr) -> dict[str, Any]:
        return {"id": kr.id, "keys": keys.get(kr.id, []), "known_as": known.known_as(kr.id), "title": kr.title,
                "owner": kr.owner, "direction": kr.direction,
                "unit": kr.unit, "currency": kr.currency, "range_low": kr.range_low,
                "range_high": kr.range_high, "start": kr.start, "current": kr.current, "target": kr.target,
                "levels": kr.levels, "level": kr.level,
                "progress": None if progress(kr) is None else round(progress(kr), 3),
                "score": score(kr), "band": band(score(kr)), "status": kr.status,
                "check_ins": check_ins.get(kr.id, 0), "initiatives": [ini_node(i) for i in under.get(kr.id, [])]}

    objectives = [from_fields("objective", cid, f) for cid, f in live["objective"].items()]
    if period:
        objectives = [o for o in objectives if periods.same(o.period, period, o.extra)]
    ids = {o.id for o in objectives}

    def node(obj) -> dict[str, Any]:
        krs = krs_of.get(obj.id, [])
        p = objective_progress(krs)
        return {
            "id": obj.id, "keys": keys.get(obj.id, []), "known_as": known.known_as(obj.id), "title": obj.title,
            "owner": obj.owner, "period": obj.period,
            "status": obj.status,
            "progress": None if p is None else round(p, 3), "band": band(None if p is None else round(p, 1)),
            "key_results": [kr_node(kr) for kr in krs],
            "initiatives": [ini_node(i) for i in under.get(obj.id, [])],
            "children": [node(child) for child in objectives if child.parent_id == obj.id],
        }

    shown = {"objective", "key_result", "initiative"}
    other = {k: n for k, n in store.db.execute("SELECT kind, count(*) FROM entities WHERE deleted = 0 GROUP BY kind ORDER BY kind")
             if k not in shown}
    return {"objectives": [node(o) for o in objectives if o.parent_id not in ids],
            "orphan_key_results": [kr_node(kr) for kr in krs_of.get(None, [])],
            "orphan_initiatives": [ini_node(i) for i in under.get(None, [])], "other": other}


_COLOURS = {"green": "green", "yellow": "yellow", "red": "red", "unknown": "dim"}


def print_tree(env, tree: dict[str, Any]) -> None:
    sections = (("objectives", "[bold]OKRs[/bold]"),
                ("orphan_key_results", "[bold]Key results without an objective[/bold] (okrsync lint: kr-orphan)"),
                ("orphan_initiatives", "[bold]Initiatives without an objective or key result[/bold]"))
    if not any(tree[key] for key, _ in sections) and not tree["other"]:
        env.err.print("the store is empty: run `okrsync pull` first")
        return
    names = Names(debug=env.debug)

    def _keys(node: dict) -> str:
        """The ids people know a record by in their tools ("  (KR-1 on planning-sheet; OKR-12 on
        jira)"); the canonical id with --debug."""
        text = names.ids_text(node["id"], node["title"], node["known_as"])
        return f"  ({_esc(text)})" if text else ""

    def add_ini(parent: Tree, n: dict) -> None:
        state = " ".join(x for x in (n["status"], None if n["progress"] is None else f"{n['progress'] * 100:.0f}%") if x)
        branch = parent.add(f"[italic]initiative[/italic] {_esc(n['title'] or '(no title)')}"
                            + (f"  [dim]{_esc(n['owner'] or '')} {_esc(state)}[/dim]" if n["owner"] or state else "")
                            + f"[dim]{_keys(n)}[/dim]")
        for child in n["initiatives"]:
            add_ini(branch, child)

    def add_kr(parent: Tree, kr: dict) -> None:
        value = _value(kr)
        grade = "–" if kr["score"] is None else f"{kr['score']:.1f}"
        checked = f"  [dim]{kr['check_ins']} check-in(s)[/dim]" if kr["check_ins"] else ""
        branch = parent.add(f"{_esc(kr['title'] or '(no title)')}  [dim]{value}[/dim]  score [{_COLOURS[kr['band']]}]{grade}[/]{checked}"
                            f"[dim]{_keys(kr)}[/dim]")
        for n, level in enumerate(kr["levels"] or () if kr["direction"] == "levels" else (), 1):
            mark = "[bold]▶[/bold]" if ordinal.index(kr["levels"], kr["level"]) == n else " "
            branch.add(f"{mark} [dim]{n}[/dim] {_esc(str(level.get('name')))}"
                       + (f"  [dim]{_esc(level['description'])}[/dim]" if level.get("description") else ""))
        for ini in kr["initiatives"]:
            add_ini(branch, ini)

    def add(parent: Tree, n: dict) -> None:
        pct = "–" if n["progress"] is None else f"{n['progress'] * 100:.0f}%"
        branch = parent.add(f"[bold]{_esc(n['title'] or '(no title)')}[/bold] [{_COLOURS[n['band']]}]{pct}[/]"
                            + (f"  [dim]{_esc(n['owner'] or '')} {_esc(n['period'] or '')}{_keys(n)}[/dim]"))
        for kr in n["key_results"]:
            add_kr(branch, kr)
        for ini in n["initiatives"]:
            add_ini(branch, ini)
        for child in n["children"]:
            add(branch, child)

    draw = {"objectives": add, "orphan_key_results": add_kr, "orphan_initiatives": add_ini}
    for key, title in sections:
        if tree[key]:
            root = Tree(title)
            for n in tree[key]:
                draw[key](root, n)
            env.out.print(root)
    if not tree["objectives"]:
        env.err.print("no objectives to show")
    if tree["other"]:
        env.out.print("also in the store: " + ", ".join(f"{n} {k.replace('_', ' ')}(s)" for k, n in tree["other"].items()),
                      markup=False)


_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def _num(value: Any, unit: str = "number", currency: str | None = None) -> str:
    """45 → "45", 9050000 → "9,050,000", percent → "45%", currency → "€9,050,000"."""
    if value is None:
        return "?"
    text = f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:,.10g}"
    if unit == "percent":
        return f"{text}%"
    if unit == "currency" and currency:
        sign = _SIGNS.get(currency)
        return f"{sign}{text}" if sign else f"{text} {currency}"
    return text


def _value(kr: dict) -> str:
    """A KR's current value against its goal, as the direction reads it."""
    unit, cur = kr["unit"], kr["currency"]
    if kr["direction"] == "levels":
        return "level " + ordinal.reached_text(kr["levels"], kr["level"])
    if kr["direction"] == "binary":
        return "done" if kr["current"] else "not done"
    if kr["direction"] == "range":
        return f"{_num(kr['current'], unit, cur)} in {_num(kr['range_low'], unit, cur)}–{_num(kr['range_high'], unit, cur)}"
    goal = {"stay_above": "≥ ", "stay_below": "≤ "}.get(kr["direction"], "/ ")
    return f"{_num(kr['current'], unit, cur)} {goal}{_num(kr['target'], unit, cur)}"


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_conflicts(env, names: Names, rows: list[dict]) -> None:
    """Conflicts, each record by its title and the ids its tools show."""
    if not rows:
        env.err.print("no conflicts wait")
        return
    cols = [Col("id"), Col("status", 2), Col("record", free=True, least=16), Col("field", free=True, least=6),
            Col("base", 1, free=True, least=8), Col("sides", free=True, least=16), Col("since run", 3)]
    table_rows = [[c["id"], c["status"], names.label(c["entity_id"]), c["field"], _short(c["base"], 16),
                   "; ".join(f"{k}: {_short(v, 24)}" for k, v in c["candidates"].items()), c["run_id"]] for c in rows]
    env.out.print(fitted(env.out.width, cols, table_rows))


def print_conflict(env, names: Names, c: dict) -> None:
    out = env.out
    title = (c["record"] or {}).get("title")
    out.print(f"conflict {c['id']} ({c['status']}) on {names.label(c['entity_id'], title)}, field {c['field']}",
              markup=False, highlight=False)
    out.print(f"  base (last agreed): {c['base']!r}", markup=False)
    for side, value in c["candidates"].items():
        out.print(f"  {side}: {value!r}", markup=False)
    if c["resolution"]:
        out.print(f"  resolved: {c['resolution']['value']!r} (from {c['resolution']['from']})", markup=False)
    else:
        out.print(f"  settle it: okrsync conflicts resolve {c['id']} --take {next(iter(c['candidates']))}", markup=False)


def print_migration_plan(env, plan, dry_run: bool) -> None:
    """The plan of ``okrsync migrate``: counts, losses, owners, time."""
    out = env.err if not dry_run else env.out
    out.print(f"[bold]migrate {plan.source} → {plan.target}[/bold]" + (" (dry run: nothing written)" if dry_run else ""))
    table = Table("kind", "in the hub", "to create", "to update")
    for kind in sorted(plan.counts):
        table.add_row(kind.replace("_", " "), str(plan.counts[kind]), str(plan.creates.get(kind, 0)),
                      str(plan.updates.get(kind, 0)))
    out.print(table)
    if plan.losses:
        losses = Table("what the target cannot hold", "records", "e.g.")
        for loss in plan.losses:
            losses.add_row(loss["what"], str(loss["count"]), ", ".join(loss["examples"]))
        out.print(losses)
    if plan.owners:
        mapped = sum(1 for how in plan.owners.values() if how.startswith("users map"))
        out.print(f"owners: {len(plan.owners)} ({mapped} from the users map, the rest found by e-mail)")
    if plan.estimate_s is not None:
        out.print(f"time the target's rate limit sets: at most {plan.estimate_s:.1f} s")
    for note in plan.notes:
        out.print(f"note: {note}")


def print_migration_result(env, totals, rejected: list[str], check) -> None:
    env.out.print(f"created {totals.created}, updated {totals.updated}, rejected {len(rejected)}, "
                  f"requests {totals.requests}, retried {totals.retried}")
    for line in rejected[:MAX_LISTED]:
        env.out.print(f"  rejected: {line}")
    status = "[green]verified[/green]" if check.ok else "[red]verification found differences[/red]"
    env.out.print(f"{status}: {check.matched} of {check.checked} records match field by field")
    if check.explained:
        env.out.print("  not held by the target (declared losses): " +
                      ", ".join(f"{name} ×{n}" for name, n in check.explained.most_common()))
    for d in check.differences[:MAX_LISTED]:
        env.out.print(f"  [red]differs[/red]: {d}")
    for m in check.missing[:MAX_LISTED]:
        env.out.print(f"  [red]missing on the target[/red]: {m}")
