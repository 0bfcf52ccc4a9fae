"""``okrsync report fit``, ``okrsync report progress`` and ``okrsync lint``: parse, call the
library, write or print."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from .. import config as config_mod
from .. import lint as lint_mod
from ..errors import ConfigError
from ..names import Names
from . import catalogue, fit, history, pdf, profile, progress, render, review, scoring

LINT_ERRORS_EXIT = 7  # also in cli.EXIT_CODES and docs/commands.md
FIT_FORMATS = (*render.FORMATS, "pdf")
BOARD_FORMATS = ("html", "pdf", "json")  # the board has no markdown rendering
REVIEW_FORMATS = ("html", "pdf", "md", "json")


@click.group()
def report():
    """Reports over the store: tool fit, the progress board and the quarter review pack.

    \b
    Example:
        okrsync report fit --profile corporation --out fit.html
        okrsync report progress --period 2026-Q1 --out board.html
        okrsync report review --period 2026-Q1 --out review.pdf
    """


@report.command(name="fit")
@click.option("--profile", "preset", type=click.Choice(list(profile.PRESETS)),
              help="Weight preset (default: the client file's preset, else its size class, else scaleup).")
@click.option("--client", "client_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Client profile YAML: size, it_landscape, must_haves, budget_per_seat, weights.")
@click.option("--period", help="Only the client's OKRs of this period.")
@click.option("--format", "fmt", type=click.Choice(FIT_FORMATS), help="Default: from --out's suffix, else html.")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write here; - for standard output (default: fit.html or fit.md next to the config when "
                   "standard output is a terminal, else standard output).")
@click.pass_obj
def fit_cmd(env, preset, client_path, period, fmt, out):
    """Rank ~25 OKR tools for a client, and show what each would keep of the client's OKRs.

    Each tool gets a fit over its known cells, its evidence (the share of the weight that is
    known) and the range its score could take if its unknown cells went either way; tools
    rank apart only when their ranges separate, otherwise they tie and the report lists the
    unknowns to ask the vendors about. Must-haves knock tools out; a ±20 % sensitivity check
    says whether the top rank holds. The title and date come from the client profile.

    \b
    Example:
        okrsync -c config.example.yaml report fit --profile corporation --out fit.html
        okrsync report fit --client client.yaml --format md --out fit.md
        okrsync report fit --client client.yaml --out fit.pdf
        okrsync --json report fit --profile startup
    """
    client = profile.load_client(client_path) if client_path else profile.Client()
    preset = preset or client.preset or client.size_class or "scaleup"
    weights = profile.weights_for(preset, client)
    weights = weights | dict.fromkeys(scoring.unscored(weights, client), 0.0)
    tools = catalogue.load()
    scores = scoring.score_tools(tools, weights, client)
    flips = scoring.sensitivity(scores, weights)
    store = env.store()
    data = fit.ClientData.read(store, period, Names.of(store, env.debug))
    fits = fit.analyse(data, tools.values())
    counts = {"objectives": len(data.objectives), "key_results": len(data.key_results), "alignment_edges": len(data.edges),
              "check_in_history": sum(data.history.values()), "initiatives": len(data.initiatives),
              "custom_values": sum(data.custom.values())}
    result = render.fit_data(preset, client, weights, scores, flips, fits, counts)
    top = [tools[k].name for k in result["top_tier"]]
    if out is None and not env.as_json and fmt != "json" and _stdout_is_terminal():
        # a terminal cannot read 255 KB of HTML: the report goes next to the config, and we say where
        out = str(Path(env.config_path or config_mod.DEFAULT_PATH).parent / f"fit.{fmt or 'html'}")
    _write(env, result, fmt, out, FIT_FORMATS, f"{len(scores)} tools, top: " + (
           "none" if not top else top[0] if len(top) == 1 else ", ".join(top) + " (tied: their ranges overlap)"
           if len(top) <= 3 else f"{len(top)} tools tied (their ranges overlap; the report lists what to ask the vendors)")
           + ("" if result["sensitivity"]["stable"] else " (changes under ±20 % weights)"))


@report.command(name="progress")
@click.option("--team", help="Only objectives of this team.")
@click.option("--period", help="Only objectives of this period (e.g. 2026-Q1).")
@click.option("--stale-days", type=click.IntRange(min=1), default=progress.STALE_DAYS, show_default=True,
              help="A KR without a check-in for longer is stale.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="The board as it was at the end of this day: values, scores, trends and ages from the change log "
                   "and check-ins up to then (default: now).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="The last review: 'since the last review' covers the end of this day to --as-of (default: a week before).")
@click.option("--format", "fmt", type=click.Choice(BOARD_FORMATS), help="Default: from --out's suffix, else html.")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE", help="Write here (default: standard output).")
@click.pass_obj
def progress_cmd(env, team, period, stale_days, as_of, since, fmt, out):
    """The progress board: scores and colour bands, trends, stale KRs, check-in cadence,
    and what changed since the last review, per owner.

    \b
    Example:
        okrsync -c config.example.yaml report progress --out board.html
        okrsync report progress --team Platform --period 2026-Q1 --stale-days 7 --out board.html
        okrsync report progress --as-of 2026-03-15 --since 2026-03-08 --out board-w11.html
    """
    board = progress.build(env.store(), team=team, period=period, as_of=_day_end(as_of), stale_days=stale_days,
                           since=_day_end(since))
    objectives = sum(len(rows) for rows in board.sections.values())
    _write(env, render.board_data(board), fmt, out, BOARD_FORMATS, f"{objectives} objectives, {len(board.stale)} stale KRs")
    for note in board.notes:
        click.echo(f"note: {note}", err=True)


@report.command(name="review")
@click.option("--period", required=True, help="The period to review, e.g. 2026-Q1.")
@click.option("--stale-days", type=click.IntRange(min=1), default=progress.STALE_DAYS, show_default=True,
              help="A KR without a check-in for longer at the period's end is stale.")
@click.option("--format", "fmt", type=click.Choice(REVIEW_FORMATS), help="Default: from --out's suffix, else html.")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE", help="Write here (default: standard output).")
@click.pass_obj
def review_cmd(env, period, stale_days, fmt, out):
    """The quarter review pack for the review workshop: final scores and bands, trajectories and
    confidence over the period, what changed (and from which tool), KRs with no or stale
    check-ins, objectives whose KRs disagree, and candidates to carry over.

    \b
    Example:
        okrsync -c config.example.yaml report review --period 2026-Q1 --out review.html
        okrsync report review --period 2026-Q1 --out review.pdf
        okrsync report review --period 2026-Q1 --format md --out review.md   # for a wiki
    """
    pack = review.build(env.store(), period, stale_days=stale_days)
    objectives = sum(len(rows) for rows in pack.board.sections.values())
    _write(env, render.review_data(pack), fmt, out, REVIEW_FORMATS, f"{period}: {objectives} objectives, {len(pack.carry)} carry-over "
           f"candidates, {len(pack.unchecked)} KRs with no or stale check-ins")
    for note in pack.notes:
        click.echo(f"note: {note}", err=True)


def _day_end(day: dt.datetime | None) -> dt.datetime | None:
    return None if day is None else history.end_of_day(day.date())


def _write(env, data: dict, fmt: str | None, out: str | None, formats: tuple[str, ...], summary: str) -> None:
    """Render in ``fmt`` (else --json's json, else --out's suffix, else html) and write or print;
    a format this report does not have (``board.md`` for the board) is a usage error, exit 2."""
    fmt = fmt or ("json" if env.as_json else _suffix_format(out))
    if fmt not in formats:
        raise click.UsageError(f"--out {out}: this report is written as {', '.join(formats[:-1])} or {formats[-1]}, not {fmt}; "
                               f"name the file .{formats[0]} or pass --format {formats[0]}")
    if fmt == "pdf" and out in (None, "-"):
        raise ConfigError("--format pdf writes a file: give --out FILE.pdf")
    text = render.render(data, "html" if fmt == "pdf" else fmt, env.debug)
    if out is None or out == "-":
        click.echo(text, nl=False)
        return
    path = Path(out)
    try:
        if fmt == "pdf":
            pdf.html_to_pdf(text, path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write: {e.strerror}") from None
    click.echo(f"wrote {path} ({fmt}): {summary}", err=True)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _suffix_format(out: str | None) -> str:
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    return {"md": "md", "markdown": "md", "json": "json", "pdf": "pdf"}.get(suffix, "html")


@click.command()
@click.option("--period", help="Only objectives of this period.")
@click.option("--severity", "overrides", multiple=True, metavar="RULE=LEVEL",
              help="Change a rule's severity: error, warning or off (repeatable).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="Judge 'period ended' on this date (default: today).")
@click.pass_obj
def lint(env, period, overrides, as_of):
    """Check OKR quality; exit 7 when an error-level rule fires.

    \b
    Rules (default severity):
    """
    levels = lint_mod.severities(dict(_pair(o) for o in overrides))
    store = env.store()
    found = lint_mod.lint(store, levels, period=period, today=as_of.date() if as_of else None)
    errors = sum(f.severity == "error" for f in found)
    names = Names.of(store, env.debug)
    if env.as_json:
        env.emit({"findings": [f.__dict__ | {"known_as": names.known_as(f.entity)} for f in found], "errors": errors,
                  "warnings": len(found) - errors, "severities": levels})
    else:
        for f in found:
            colour = "red" if f.severity == "error" else "yellow"
            # the title and the ids people know it by in their tools; the canonical id with --debug
            click.echo(click.style(f"{f.severity:7}", fg=colour) + f" {f.rule}: {names.label(f.entity, f.title)}: {f.message}")
        click.echo(f"{errors} error(s), {len(found) - errors} warning(s)", err=True)
    if errors:
        sys.exit(LINT_ERRORS_EXIT)


# The help lists every rule, so it cannot drift from RULES.
lint.help = lint.help.rstrip() + "".join(f"\n        {r.id} ({r.severity}): {r.description}" for r in lint_mod.RULES.values()) + """

    \b
    Example:
        okrsync -c config.example.yaml lint
        okrsync lint --severity missing-owner=error --severity objective-too-many-krs=off
        okrsync --json lint --period 2026-Q1 --as-of 2026-04-01
"""


def _pair(text: str) -> tuple[str, str]:
    rule, sep, level = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r}: expected RULE=LEVEL, e.g. missing-owner=error", param_hint="--severity")
    return rule.strip(), level.strip()
