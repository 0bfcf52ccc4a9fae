"""Reports as plain data (the ``--format json`` output), and that data rendered to HTML or
Markdown through the jinja2 templates shipped in ``okrsync/report/templates``.

HTML is one self-contained file: inline CSS (with a print stylesheet) and inline SVG
charts, no scripts, no external requests. Autoescaping is on for HTML; Markdown escapes
every piece of user text with the ``md`` filter, so a title holding ``<script>`` is text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

from ..names import Names
from . import catalogue, scoring
from .catalogue import FIELDS, Tool
from .fit import ToolFit
from .profile import CRITERIA, Client
from .scoring import Flip, Score

if TYPE_CHECKING:  # jinja2 is imported when a report is rendered, not with every command
    import jinja2

FORMATS = ("html", "md", "json")


def fit_data(preset: str, client: Client, weights: dict[str, float], scores: list[Score], flips: list[Flip],
             fits: list[ToolFit], counts: dict[str, int]) -> dict[str, Any]:
    """The fit report as JSON-ready data, tools in ranked order (ties share a rank)."""
    fit_of = {f.tool.key: f for f in fits}
    order = [s.tool.key for s in scores]
    standing = [s for s in scores if not s.knocked_out]
    skipped = scoring.unscored(weights, client)
    weights = weights | dict.fromkeys(skipped, 0.0)
    by_key = {s.tool.key: s for s in standing}
    top = [s for s in standing if s.rank == 1]
    return {
        "report": "fit",
        "generated": _now(),
        "date": client.date or _now()[:10],
        "preset": preset,
        "client": dataclasses.asdict(client) | {"size_class": client.size_class},
        "data": counts,
        "criteria": [{"id": c.id, "label": c.label, "field": c.field, "weight": weights.get(c.id, 0.0),
                      "unscored": skipped.get(c.id)} for c in CRITERIA.values()],
        "ranking": [{"key": s.tool.key, "name": s.tool.name, "rank": s.rank, "fit": _r(s.fit), "low": _r(s.low),
                     "high": _r(s.high), "coverage": _r(s.coverage), "knocked_out": s.knocked_out, "knockouts": s.knockouts,
                     "unresolved": s.unresolved, "ties": s.ties, "tied_with": [by_key[k].tool.name for k in s.ties],
                     "rank_label": _rank_label(s, standing), "values": s.values} for s in scores],
        "top_tier": [s.tool.key for s in top],
        # the tools sharing the top rank, each with the heaviest cells nobody knows: the
        # answers that would separate them (or one of them from the tools it overlaps below)
        "questions": [{"tool": s.tool.key, "name": s.tool.name, "tied_with": [by_key[k].tool.name for k in s.ties],
                       "checked": s.tool.checked,
                       "ask": [{"criterion": c, "label": CRITERIA[c].label, "weight": w} for c, w in scoring.questions(s, weights)]}
                      for s in top if s.ties],
        "sensitivity": {"top": standing[0].tool.key if standing else None, "stable": not flips,
                        "flips": [dataclasses.asdict(f) for f in flips]},
        "due": [{"tool": t, "field": f, "read": r} for t, f, r in catalogue.due({s.tool.key: s.tool for s in scores})],
        "fit": [_tool_fit(fit_of[k]) for k in order if k in fit_of],
        "catalogue": {s.tool.key: _cells(s.tool) for s in scores},
    }


def _rank_label(s: Score, standing: list[Score]) -> str:
    """"3", or "3=" when another tool shares the rank; "out" when knocked out."""
    if s.knocked_out:
        return "out"
    return f"{s.rank}=" if sum(o.rank == s.rank for o in standing) > 1 else str(s.rank)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _tool_fit(f: ToolFit) -> dict[str, Any]:
    return {"key": f.tool.key, "name": f.tool.name, "totals": f.totals(), "requests": f.requests,
            "min_seconds": None if f.min_seconds is None else round(f.min_seconds, 1), "effort": f.effort_note,
            "aspects": [{"name": a.name, "label": a.label, "counts": a.counts, "examples": a.examples, "note": a.note}
                        for a in f.aspects]}


def _cells(tool: Tool) -> dict[str, Any]:
    return {name: {"value": list(c.value) if isinstance(c.value, tuple) else c.value, "source": c.source,
                   "read": c.read, "confidence": c.confidence, "note": c.note}
            for name in FIELDS for c in [tool.cell(name)]}


def board_data(board) -> dict[str, Any]:
    return {"report": "progress", "generated": _now()} | dataclasses.asdict(board) | {
        "stale": [dataclasses.asdict(kr) for kr in board.stale]}


def review_data(review) -> dict[str, Any]:
    """The quarter review pack as JSON-ready data (its board as ``board_data`` gives it)."""
    out = dataclasses.asdict(review)
    out["board"] = board_data(review.board)
    return {"report": "review", "generated": _now()} | out


def render(data: dict[str, Any], fmt: str, debug: bool = False) -> str:
    """``data`` from ``fit_data``, ``board_data`` or ``review_data`` as html, md or json text.

    HTML and Markdown name a record by its title and the ids its tools show (``KR-1 on
    planning-sheet``); its canonical id only with ``debug`` (JSON has it as ``id``)."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    import jinja2

    name = f"{data['report']}.{fmt}"
    try:
        template = _env().get_template(name)
    except jinja2.TemplateNotFound:
        raise ValueError(f"no {fmt} format for the {data['report']} report") from None
    return template.render(d=data, fields=FIELDS, ids=Names(debug=debug).ids_text)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")  # what can start markup inside a line


def md(text: Any) -> str:
    """User text made inert in Markdown: HTML escaped, inline Markdown punctuation
    backslashed, line breaks flattened (a table row stays one line)."""
    s = "" if text is None else str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", " ".join(s.split()))


def pct(value: float | None) -> str:
    return "?" if value is None else f"{value * 100:.0f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


_BAND_COLOURS = {"green": "#2e9d57", "yellow": "#e0b000", "red": "#d2453a", "unknown": "#9aa0a6"}


def heat(value: float | None) -> str:
    """A criterion value's colour on the heat map: red (0) → yellow → green (1); grey unknown."""
    if value is None:
        return "#d9dce0"
    return "#d2453a" if value < 0.34 else "#e0b000" if value < 0.67 else "#2e9d57"


def evidence(coverage: float) -> str:
    """Evidence coverage's colour: blues, kept apart from the fit's red-yellow-green."""
    return "#e8f0fe" if coverage < 0.34 else "#8ab4f8" if coverage < 0.67 else "#1a73e8"


def _env() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("okrsync.report", "templates"),
                             autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(md=md, pct=pct, duration=duration, heat=heat, evidence=evidence)
    env.globals.update(band_colour=_BAND_COLOURS.get)
    return env


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
