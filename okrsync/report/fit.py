"""What each tool can hold of the client's own OKRs (from the store), and the migration effort.

For every tool and every *aspect* of the data (objectives, KRs, KR types, units,
alignment edges, weights, confidence, check-in history, initiatives, custom fields) the
records are counted as **held** (kept as they are), **transformed** (kept in another form,
e.g. a range KR as "stay above" its lower bound), **lost**, or **unknown** (the catalogue
does not know whether the tool can hold them: never guessed). Each bucket keeps a few
examples, each record named by its title and the ids its tools show ("Grow ARR (KR-1 on
planning-sheet)").

The migration effort is the number of write requests the data needs (one per record or
check-in the tool holds) and the minimum time at the tool's documented rate limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import periods
from ..model import from_fields
from ..names import Names
from ..store import Store
from .catalogue import LEVELS, Tool, per_second

BUCKETS = ("held", "transformed", "lost", "unknown")
MAX_EXAMPLES = 3
# A KR type a tool lacks is kept as the first of these it has (the meaning changes).
FALLBACK = {
    "decrease": ("increase",),
    "stay_above": ("increase",),
    "stay_below": ("decrease", "increase"),
    "range": ("stay_above", "stay_below", "increase"),
    "binary": ("milestone", "increase"),
    "milestone": ("increase",),
    "increase": (),
}
UNIT_FALLBACK = {"percent": "number", "currency": "number", "boolean": "number"}


@dataclass
class Aspect:
    name: str
    label: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    examples: dict[str, list[str]] = field(default_factory=lambda: {b: [] for b in BUCKETS})
    note: str = ""

    def add(self, bucket: str, example: str, n: int = 1) -> None:
        self.counts[bucket] += n
        if len(self.examples[bucket]) < MAX_EXAMPLES and example not in self.examples[bucket]:
            self.examples[bucket].append(example)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ToolFit:
    tool: Tool
    aspects: list[Aspect]
    requests: int | None  # None: the tool has no (known) write API
    min_seconds: float | None  # None: unknown rate limit or no write API
    effort_note: str

    def totals(self) -> dict[str, int]:
        return {b: sum(a.counts[b] for a in self.aspects) for b in BUCKETS}


@dataclass
class ClientData:
    """The store's OKRs, read once for every tool."""

    objectives: list
    key_results: list
    initiatives: list
    edges: list[tuple[str, str, bool]]  # (child title, parent title, primary)
    history: dict[str, int]  # KR id → earlier values recorded (check-ins and logged updates)
    custom: dict[str, int]  # extra field name → values held
    labels: dict[str, str] = field(default_factory=dict)  # id → "title (KR-1 on planning-sheet)"

    def name(self, record) -> str:
        """How an example names ``record``: its label, else its title."""
        return self.labels.get(record.id, record.title)

    @classmethod
    def read(cls, store: Store, period: str | None = None, names: Names | None = None) -> ClientData:
        """The store's OKRs (of ``period``); examples name records as ``names`` does
        (default: title and endpoint ids, no canonical id)."""
        objectives = [from_fields("objective", i, f) for i, _, f in store.entities("objective")]
        if period:
            objectives = [o for o in objectives if periods.same(o.period, period, o.extra)]
        ids = {o.id for o in objectives}
        krs = [from_fields("key_result", i, f) for i, _, f in store.entities("key_result")]
        krs = [k for k in krs if k.objective_id in ids]
        kr_ids = {k.id for k in krs}
        initiatives = [from_fields("initiative", i, f) for i, _, f in store.entities("initiative")]
        initiatives = [n for n in initiatives if n.objective_id in ids or n.key_result_id in kr_ids]
        names = names or Names.of(store)
        labels = {r.id: f"{r.title} ({known})" if (known := names.ids_text(r.id, r.title)) else r.title
                  for r in (*objectives, *krs, *initiatives)}
        title = {i: labels[i] for i in (*(o.id for o in objectives), *kr_ids)}
        edges = [(title[o.id], title[o.parent_id], True) for o in objectives if o.parent_id in title]
        for _, _, f in store.entities("alignment"):
            if f["child_id"] in title and f["parent_id"] in title and not (f.get("primary") and _is_parent(objectives, f)):
                edges.append((title[f["child_id"]], title[f["parent_id"]], bool(f.get("primary"))))
        history = dict.fromkeys(kr_ids, 0)
        for _, _, f in store.entities("check_in"):
            if f["key_result_id"] in history:
                history[f["key_result_id"]] += 1
        for kr_id, n in store.db.execute(
                "SELECT entity_id, count(*) FROM changes WHERE entity_kind = 'key_result' AND field = 'current' "
                "AND kind = 'update' GROUP BY entity_id"):
            if kr_id in history:
                history[kr_id] += n
        custom: dict[str, int] = {}
        for entity in (*objectives, *krs, *initiatives):
            for values in entity.extra.values():
                for key in values:
                    custom[key] = custom.get(key, 0) + 1
        return cls(objectives, krs, initiatives, edges, history, custom, labels)


def _is_parent(objectives, f) -> bool:
    """An alignment edge that only repeats an objective's primary parent field."""
    return any(o.id == f["child_id"] and o.parent_id == f["parent_id"] for o in objectives)


def analyse(data: ClientData, tools: Iterable[Tool]) -> list[ToolFit]:
    return [tool_fit(data, tool) for tool in tools]


def tool_fit(data: ClientData, tool: Tool) -> ToolFit:
    """What ``tool`` would hold, transform and lose of ``data``."""
    aspects = [
        _objectives(data),
        _key_results(data, tool),
        _kr_types(data, tool),
        _kr_units(data, tool),
        _edges(data, tool),
        _flag(data, tool, "weights", "KR weights", [k for k in data.key_results if k.weight is not None]),
        _flag(data, tool, "confidence", "KR confidence values", [k for k in data.key_results if k.confidence is not None]),
        _history(data, tool),
        _flag(data, tool, "initiatives", "initiatives", data.initiatives),
        _custom(data, tool),
    ]
    requests, seconds, note = _effort(aspects, tool)
    return ToolFit(tool, aspects, requests, seconds, note)


def _objectives(data: ClientData) -> Aspect:
    a = Aspect("objectives", "objectives")
    for o in data.objectives:
        a.add("held", data.name(o))  # every tool in the catalogue holds objectives (goals)
    return a


def _key_results(data: ClientData, tool: Tool) -> Aspect:
    a = Aspect("key_results", "key results")
    cell = tool.cell("max_krs_per_objective")
    limit = cell.value if cell.known and cell.value != "none" else None
    if not cell.known:
        a.note = "no per-objective KR limit documented (unknown)"
    seen: dict[str, int] = {}
    for kr in data.key_results:
        seen[kr.objective_id] = seen.get(kr.objective_id, 0) + 1
        over = limit is not None and seen[kr.objective_id] > limit
        a.add("lost" if over else "held", data.name(kr))
    if limit is not None and a.counts["lost"]:
        a.note = f"at most {limit} KRs per objective: split the objective or drop KRs"
    return a


def _kr_types(data: ClientData, tool: Tool) -> Aspect:
    a = Aspect("kr_types", "KR types")
    cell = tool.cell("kr_types")
    for kr in data.key_results:
        if not cell.known:
            a.add("unknown", f"{data.name(kr)}: {kr.direction}")
        elif kr.direction in cell.value:
            a.add("held", f"{data.name(kr)}: {kr.direction}")
        else:
            other = next((d for d in FALLBACK.get(kr.direction, ()) if d in cell.value), None)
            a.add("transformed" if other else "lost", f"{data.name(kr)}: {kr.direction}" + (f" → {other}" if other else ""))
    return a


def _kr_units(data: ClientData, tool: Tool) -> Aspect:
    a = Aspect("kr_units", "KR units")
    cell = tool.cell("kr_units")
    for kr in data.key_results:
        unit = kr.unit + (f" {kr.currency}" if kr.currency else "")
        if not cell.known:
            a.add("unknown", f"{data.name(kr)}: {unit}")
        elif kr.unit in cell.value or (kr.unit == "boolean" and "binary" in (tool.cell("kr_types").value or ())):
            a.add("held", f"{data.name(kr)}: {unit}")  # a binary KR type holds a yes/no value
        elif UNIT_FALLBACK.get(kr.unit) in cell.value:
            a.add("transformed", f"{data.name(kr)}: {unit} → number")
        else:
            a.add("lost", f"{data.name(kr)}: {unit}")
    return a


def _edges(data: ClientData, tool: Tool) -> Aspect:
    a = Aspect("alignment", "alignment edges")
    cell = tool.cell("alignment")
    for child, parent, primary in data.edges:
        example = f"{child} → {parent}"
        if not cell.known:
            a.add("unknown", example)
        else:
            level = LEVELS["alignment"].index(cell.value)  # 0 none, 1 single parent, 2 many
            a.add("held" if level == 2 or (level == 1 and primary) else "lost", example)
    return a


def _flag(data: ClientData, tool: Tool, field_name: str, label: str, records: list) -> Aspect:
    """Records that use a feature the tool has (held), lacks (lost) or may have (unknown)."""
    a = Aspect(field_name, label)
    cell = tool.cell(field_name)
    bucket = "unknown" if not cell.known else "held" if cell.value else "lost"
    for r in records:
        a.add(bucket, data.name(r))
    return a


def _history(data: ClientData, tool: Tool) -> Aspect:
    a = Aspect("check_ins", "check-in history (earlier values)")
    cell = tool.cell("check_ins")
    bucket = "unknown" if not cell.known else "held" if cell.value == "history" else "lost"
    for kr_id, n in data.history.items():
        if n:
            a.add(bucket, f"{data.labels[kr_id]}: {n}", n)
    if cell.known and cell.value == "latest":
        a.note = "only the latest value is kept"
    return a


def _custom(data: ClientData, tool: Tool) -> Aspect:
    a = Aspect("custom_fields", "custom-field values")
    cell = tool.cell("custom_fields")
    bucket = "unknown" if not cell.known else "held" if cell.value else "lost"
    for name, n in sorted(data.custom.items()):
        a.add(bucket, name, n)
    return a


def _effort(aspects: list[Aspect], tool: Tool) -> tuple[int | None, float | None, str]:
    """Write requests (one per record or check-in the tool holds) and the minimum time."""
    api = tool.cell("api")
    if api.known and api.value != "read-write":
        how = "a file import" if api.value == "none" else "the vendor's import (no write API documented)"
        return None, None, f"by {how}"
    counted = {"objectives", "key_results", "alignment", "initiatives", "check_ins"}
    requests = sum(a.counts["held"] + a.counts["transformed"] for a in aspects if a.name in counted
                   and a.name != "alignment") + sum(a.counts["held"] for a in aspects if a.name == "alignment"
                                                    and tool.cell("alignment").value == "multi-parent")
    rate = tool.cell("rate_limit")
    per_s = per_second(rate.value) if rate.known else None
    note = "" if api.known else "write API unknown; "
    if per_s is None:
        return requests, None, note + "rate limit unknown"
    return requests, requests / per_s, note + f"at {rate.value}"
