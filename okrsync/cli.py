"""The ``okrsync`` command: a thin click layer over the library.

Each command parses its arguments, calls the library and prints; ``OkrsyncError``s
become a one-line message and an exit code (see EXIT_CODES), tracebacks only with --debug.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import config as config_mod
from . import logs, plugins, runs, storefile, views
from .errors import ConfigError, OkrsyncError, did_you_mean
from .names import Names, resolve
from .store import Store
from .sync import Hub, ordered

EXIT_CODES = {
    0: "success",
    1: "the run failed (nothing half-written: the failing endpoint's changes were rolled back)",
    2: "bad usage, config or mapping",
    3: "finished, but some records were rejected (listed in the summary)",
    4: "finished, but conflicts wait for a decision (okrsync conflicts list)",
    5: "another run holds the store's lock (one a dead run left on another host: --force-unlock)",
    6: "the delete guard stopped the run before it wrote anything (--allow-mass-delete)",
    7: "okrsync lint found an error-level problem",
}


@dataclass
class Env:
    config_path: str | None
    as_json: bool
    debug: bool
    out: Console
    err: Console
    log_format: str = "text"  # text | json: how runs log on stderr (okrsync.logs)
    new_store: bool = False  # --new-store: an empty store even where signs say one was (storefile)

    def config(self) -> config_mod.Config:
        return config_mod.load(self.config_path, plugins.classes())

    def store(self, cfg: config_mod.Config | None = None) -> Store:
        return Store((cfg or self.config()).store, new=self.new_store)

    def emit(self, data) -> None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    def output(self, data, show, *args) -> None:
        """Every command's last step: ``data`` as JSON under ``--json``, else ``show(self, data, *args)``
        prints it for a person."""
        if self.as_json:
            self.emit(data)
        else:
            show(self, data, *args)


class OkrsyncGroup(click.Group):
    """Turns library errors into messages and exit codes; loads plugin commands lazily."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OkrsyncError as e:
            if ctx.params.get("debug"):
                raise
            click.secho(f"Error: {e}", fg="red", err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:  # a bug: say so plainly, without the traceback
            if ctx.params.get("debug"):
                raise
            click.secho(f"Internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", fg="red", err=True)
            ctx.exit(1)

    def list_commands(self, ctx):
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        self._load_plugin_commands()
        return share_options(super().get_command(ctx, name))

    def _load_plugin_commands(self) -> None:
        if not getattr(self, "_plugins_loaded", False):
            self._plugins_loaded = True
            plugins.get_plugin_manager().hook.register_commands(cli=self)


def _after_json(ctx: click.Context, param, value) -> None:
    if value and ctx.find_object(Env):
        ctx.find_object(Env).as_json = True


def _after_config(ctx: click.Context, param, value) -> None:
    if value is not None and ctx.find_object(Env):
        ctx.find_object(Env).config_path = value


def share_options(cmd: click.Command | None) -> click.Command | None:
    """Give a subcommand (and a subgroup's commands, plugins' too) the group's --json and
    -c/--config, so ``okrsync log --json -c x.yaml`` works as ``okrsync --json -c x.yaml log``
    does: people type options where they think of them. Said after the subcommand, they win."""
    if cmd is None or getattr(cmd, "_shares_options", False):
        return cmd
    cmd._shares_options = True
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            share_options(sub)
        return cmd
    taken = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
    if "--json" not in taken:
        cmd.params.append(click.Option(["--json"], is_flag=True, expose_value=False, callback=_after_json,
                                       help="Print machine-readable JSON (as okrsync --json does)."))
    if "--config" not in taken and "-c" not in taken:
        cmd.params.append(click.Option(["-c", "--config"], metavar="FILE", expose_value=False, callback=_after_config,
                                       help="Config file (as okrsync -c does)."))
    return cmd


@click.group(cls=OkrsyncGroup)
@click.version_option(package_name="okrsync")
@click.option("-c", "--config", "config_path", metavar="FILE", envvar="OKRSYNC_CONFIG",
              help="Config file (default: okrsync.yaml, or $OKRSYNC_CONFIG).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--log-format", type=click.Choice(logs.LOG_FORMATS), default="text", show_default=True,
              envvar="OKRSYNC_LOG_FORMAT", help="How runs log on stderr: text, or JSON lines for log collectors.")
@click.option("--new-store", is_flag=True, help="Start an empty store where the store file is missing or empty "
              "although signs of one remain (its marker, a dead run's lock, WAL, a backup); its history is lost.")
@click.pass_context
def cli(ctx, config_path, as_json, debug, log_format, new_store):
    """okrsync keeps OKRs in step across spreadsheets, Jira and OKR tools.

    \b
    Example:
        okrsync -c config.example.yaml sync
        okrsync -c config.example.yaml show
        okrsync -c config.example.yaml log --since 1h
    """
    logs.setup_logging(log_format, debug)
    ctx.obj = Env(config_path, as_json, debug, Console(), logs.err_console(log_format), log_format, new_store)


@cli.command()
@click.option("--path", default="okrs.csv", show_default=True, help="The spreadsheet to start from.")
@click.option("--force", is_flag=True, help="Overwrite an existing config.")
@click.pass_obj
def init(env: Env, path, force):
    """Write a starter okrsync.yaml next to you.

    \b
    Example:
        okrsync init --path team-okrs.xlsx
    """
    target = Path(env.config_path or config_mod.DEFAULT_PATH)
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists (use --force to overwrite it)")
    kind = "xlsx" if path.lower().endswith((".xlsx", ".xlsm")) else "csv"
    target.write_text(STARTER.format(type=kind, path=path), encoding="utf-8")
    click.echo(f"Wrote {target}. Next: okrsync -c {target} pull sheet")


STARTER = """\
# okrsync configuration. Reference: docs/configuration.md.
store: okrsync.db              # the embedded SQLite store, next to this file

endpoints:
  sheet:                       # a name you choose; used in commands: okrsync pull sheet
    type: {type}
    path: {path}
    layout: flat               # flat | hierarchical | linked
    # mapping: spreadsheet     # the shipped mapping, or your own file (see mappings/sheets/spreadsheet.yaml)
    # fiscal_year_start: 4     # for "FY25 Q1" labels
  # jira:
  #   type: jira
  #   url: https://example.atlassian.net
  #   project: OKR             # the Jira project's key
  #   auth:
  #     email: {{"$env": JIRA_EMAIL}}
  #     token: {{"$env": JIRA_API_TOKEN}}
"""


def _print_probes(env: Env, kind: str, facts: tuple[str, ...]) -> None:
    """What `okrsync doctor --probe` found on this account, for the config's endpoints of ``kind``."""
    from . import probe

    try:
        cfg = env.config()
    except OkrsyncError:  # no config here: nothing was probed with it
        cfg = None
    names = [n for n, e in cfg.endpoints.items() if e.type == kind] if cfg else []
    if not names or not Path(cfg.store).exists():
        if facts:
            env.out.print(f"unconfirmed: {len(facts)} fact(s) above; confirm them on your account with "
                          f"okrsync doctor --probe ENDPOINT", highlight=False)
        return
    store = env.store(cfg)
    for name in names:
        last = probe.load(store, name)
        if last is None:
            env.out.print(f"{name}: not probed yet (okrsync doctor --probe {name})", highlight=False)
            continue
        table = Table("claim", "verdict", "what came back", title=f"{name}: confirmed on this account by "
                                                                   f"okrsync doctor --probe, {last['at']}")
        for row in last["results"]:
            table.add_row(Text(row["claim"]), row["verdict"], Text(row["detail"]))
        env.out.print(table)

@cli.command(name="map")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", help="The workbook sheet to look at (default: the first).")
@click.option("--mapping", "base", default="spreadsheet", show_default=True,
              help="The mapping to start from: a shipped name or your .yaml file.")
@click.option("--rows", default=10, show_default=True, help="Records to preview.")
@click.pass_obj
def map_cmd(env: Env, file, sheet, base, rows):
    """Suggest a mapping for a spreadsheet and preview the records it would give.

    Prints the header row chosen, each column with the field it reads into (known: a name
    the mapping lists; guess: a close name), sheets and merged ranges, a suggested mapping
    YAML to edit and save, then the first records exactly as a pull would read them.

    \b
    Example:
        okrsync map team-okrs.xlsx --sheet "Q3" > team-okrs.yaml
    """
    from okrsync.connectors import sheet_assistant as sa

    from .tabular import TableError
    try:
        s = sa.inspect(file, sheet, base)
        records, notes, rejected, error = sa.preview(s, rows)
    except TableError as e:
        raise ConfigError(str(e)) from None
    data = sa.as_dict(file, s, records, notes, rejected, error)

    def show(env: Env, _) -> None:
        for line in sa.report_lines(file, s, base, records, notes, rejected, error):
            click.echo(line, nl=not line.endswith("\n"))

    env.output(data, show)
    if error or rejected:  # no records at all (2: the mapping needs a hand), or rejected rows (3)
        click.get_current_context().exit(2 if error else 3)


@cli.command(name="connectors")
@click.argument("name", required=False)
@click.pass_obj
def connectors_cmd(env: Env, name: str | None):
    """List the installed connectors, where each comes from, and what it can hold;
    with NAME, every capability of that one.

    \b
    Examples:
        okrsync connectors --json
        okrsync connectors jira
    """
    found = plugins.connectors()
    if name is not None:
        if name not in found:
            raise click.BadParameter(f"no connector {name!r}" + did_you_mean(name, found, "installed:"), param_hint="NAME")
        found = {name: found[name]}
        if not env.as_json:
            info = found[name]
            table = Table("capability", "value", title=f"{name}: {info.cls.description}")
            for key, value in info.cls.capabilities.as_dict().items():
                shown = ", ".join(value) if isinstance(value, (list, tuple)) else "any" if value is None else str(value)
                table.add_row(key.replace("_", " "), shown)
            env.out.print(table)
            declared = info.cls.declared_options()
            options = Table("option", "", "what it is", title=f"options of a {name} endpoint")
            for key, text in sorted((declared or {}).items()):
                options.add_row(key, "required" if key in info.cls.required_options else "", Text(text))
            env.out.print(options if declared else f"{name} does not declare its options (they are not checked)")
            _print_probes(env, name, info.cls.capabilities.unconfirmed)
            return
    if env.as_json:
        env.emit([{"name": n, "source": i.source, "plugin": i.plugin, "description": i.cls.description,
                   "capabilities": i.cls.capabilities.as_dict(), "options": i.cls.declared_options(),
                   "required_options": list(i.cls.required_options)} for n, i in found.items()])
        return
    table = Table("connector", "from", "holds", "KR types", "alignment", "check-ins", "writes")
    for name, info in found.items():
        caps = info.cls.capabilities
        table.add_row(name, info.source, ", ".join(caps.kinds), ", ".join(caps.kr_directions),
                      f"{caps.alignment}" + (f" (depth {caps.alignment_depth})" if caps.alignment_depth is not None else ""),
                      caps.check_ins, caps.writes)
    env.out.print(table)


@cli.command(name="plugins")
@click.pass_obj
def plugins_cmd(env: Env):
    """List every installed plugin, built-in or from another package, and the hooks it
    implements: connectors, commands, run_finished listeners.

    \b
    Examples:
        okrsync plugins
        okrsync plugins --json
    """
    found = plugins.installed()
    if env.as_json:
        env.emit([p.as_dict() for p in found])
        return
    cols = [views.Col("plugin", free=True, least=12), views.Col("from", 2, free=True, least=10),
            views.Col("hooks", free=True, least=14), views.Col("connectors", 1, free=True, least=10)]
    env.out.print(views.fitted(env.out.width, cols, [[p.name, p.source, ", ".join(p.hooks) or "(none)",
                                                      ", ".join(p.connectors)] for p in found],
                               title=f"{len(found)} plugin(s)"))


def _dry_run_option(f):
    return click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")(f)


def _strict_option(f):
    return click.option("--strict", is_flag=True, help="Fail the run if any record is rejected.")(f)


def _safety_options(f):
    f = click.option("--force-unlock", is_flag=True,
                     help="Clear a lock another host's run left (a dead local run's is cleared anyway; "
                          "never one held by a live process).")(f)
    return click.option("--allow-mass-delete", is_flag=True,
                        help="Let this run delete more than sync.deletes.max_ratio of an endpoint's records.")(f)


def _reading_run(f):
    """The arguments and options of a run that reads endpoints (pull, sync)."""
    for decorate in (click.pass_obj, _safety_options, _strict_option, _dry_run_option,
                     click.argument("endpoints", nargs=-1)):
        f = decorate(f)
    return f


@cli.command()
@_reading_run
def pull(env: Env, endpoints, dry_run, strict, allow_mass_delete, force_unlock):
    """Read ENDPOINTS (default: all) into the store.

    \b
    Example:
        okrsync pull planning-sheet --dry-run
    """
    _run(env, "pull", endpoints, dry_run, strict, pull=True, push=False,
         allow_mass_delete=allow_mass_delete, force_unlock=force_unlock)


@cli.command()
@click.argument("endpoints", nargs=-1)
@_dry_run_option
@click.option("--force-unlock", is_flag=True, help="Clear a lock another host's run left.")
@click.pass_obj
def push(env: Env, endpoints, dry_run, force_unlock):
    """Write the store out to ENDPOINTS (default: all).

    \b
    Example:
        okrsync push board
    """
    _run(env, "push", endpoints, dry_run, False, pull=False, push=True, force_unlock=force_unlock)


@cli.command()
@_reading_run
def sync(env: Env, endpoints, dry_run, strict, allow_mass_delete, force_unlock):
    """Pull every endpoint into the store, then push the result to every endpoint.

    A dry run computes the whole sync inside a transaction that is rolled back, so its
    push plan includes what the pulls would bring in.

    \b
    Example:
        okrsync -c config.example.yaml sync --dry-run
        okrsync -c config.example.yaml --json sync
    """
    _run(env, "sync", endpoints, dry_run, strict, pull=True, push=True,
         allow_mass_delete=allow_mass_delete, force_unlock=force_unlock)


def _run(env: Env, command: str, names, dry_run: bool, strict: bool, *, pull: bool, push: bool,
         allow_mass_delete: bool = False, force_unlock: bool = False) -> None:
    """Every pull, push and sync: observed (step events, summary line, run_finished hook)."""
    with runs.RunObserver(env, command, names, dry_run) as obs:
        cfg = obs.load_config()
        for name in names:
            cfg.endpoint(name)  # unknown names fail before anything runs
        if dry_run and not Path(cfg.store).exists():
            # a dry run writes nothing, not even an empty store: it plans against an empty one in memory
            if not env.new_store:  # signs of a lost store still stop it (with --new-store: nothing to delete)
                storefile.refuse_a_lost_store(Path(cfg.store), False)
            store = Store(None)
        else:
            store = env.store(cfg)
        hub = obs.closing(Hub(cfg, store, plugins.classes(), strict=strict,
                              allow_mass_delete=allow_mass_delete))
        hub.every_change = env.as_json  # --json lists every change: a large first import holds them all
        selected = ordered(names or cfg.endpoints, cfg.sync.get("order"))
        for name in selected:
            _ = cfg.endpoint(name).options  # a missing secret of an endpoint this run uses fails before anything runs
        outcome = runs.sync_run(obs, hub, command, selected, dry_run=dry_run, pull=pull, push=push,
                                force_unlock=force_unlock, progress=lambda label: _progress(env, label))
        plans = obs.plans
        totals = runs.totals(plans)
        # the plan's records are named in a dry run, in --json and beside rejections only: a quiet
        # scheduled run skips reading every title
        named = Names.of(store, env.debug) if dry_run or env.as_json or outcome.rejected else None
        views.print_run(env, command, outcome.run_id, plans, totals, dry_run, outcome.open_rejections, named)
        if outcome.waiting and not env.as_json:
            env.err.print(f"{outcome.waiting} conflict(s) wait for you: okrsync conflicts list")
        if outcome.exit_code:
            sys.exit(outcome.exit_code)


@contextmanager
def _progress(env: Env, label: str):
    """A spinner on long work, only where a person is watching."""
    if env.as_json or not env.err.is_terminal:
        yield
        return
    with env.err.status(f"{label} …"):
        yield


@cli.group()
def conflicts():
    """Conflicts waiting for a decision (policy manual), and how to settle them.

    \b
    Example:
        okrsync conflicts list
        okrsync conflicts show 3
        okrsync conflicts resolve 3 --take finance-sheet
        okrsync conflicts resolve 4 --value 0.8
    """


@conflicts.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Also settled ones.")
@click.pass_obj
def conflicts_list(env: Env, show_all):
    """List conflicts (open and resolved-but-not-yet-applied by default).

    \b
    Example:
        okrsync --json conflicts list
    """
    store = env.store()
    rows = [c for c in store.conflicts() if show_all or c["status"] != "applied"]
    keys, names = store.keys(), Names.of(store, env.debug)
    for row in rows:
        row["keys"] = keys.get(row["entity_id"], [])
        row.update(names.describe(row["entity_id"]))
    env.output(rows, lambda env, rows: views.print_conflicts(env, names, rows))


@conflicts.command(name="show")
@click.argument("conflict_id", type=int)
@click.pass_obj
def conflicts_show(env: Env, conflict_id):
    """Show one conflict: the base, each side's value, and the record.

    \b
    Example:
        okrsync conflicts show 3
    """
    store = env.store()
    row = _conflict(store, conflict_id)
    current = store.get(row["entity_id"])
    names = Names.of(store, env.debug)
    data = row | {"record": current[1] if current else None} | names.describe(row["entity_id"])
    env.output(data, lambda env, data: views.print_conflict(env, names, data))


@conflicts.command(name="resolve")
@click.argument("conflict_id", type=int)
@click.option("--take", "endpoint", metavar="ENDPOINT", help="Keep this side's value.")
@click.option("--value", metavar="VALUE", help="Use this value instead (JSON, or plain text).")
@click.pass_obj
def conflicts_resolve(env: Env, conflict_id, endpoint, value):
    """Settle a conflict; the next sync writes the value everywhere.

    \b
    Example:
        okrsync conflicts resolve 3 --take finance-sheet
        okrsync conflicts resolve 3 --value '"On track"'
    """
    if (endpoint is None) == (value is None):
        raise click.UsageError("give exactly one of --take ENDPOINT or --value VALUE")
    store = env.store()
    row = _conflict(store, conflict_id)
    if row["status"] == "applied":
        raise OkrsyncError(f"conflict {conflict_id} was settled already")
    if endpoint is not None:
        if endpoint not in row["candidates"]:
            raise click.BadParameter(f"{endpoint!r} is not a side of this conflict; sides: "
                                     f"{', '.join(row['candidates'])}", param_hint="--take")
        chosen, source = row["candidates"][endpoint], endpoint
    else:
        try:
            chosen = json.loads(value)
        except ValueError:
            chosen = value
        source = "user"
    store.resolve_conflict(conflict_id, chosen, source)
    click.echo(f"conflict {conflict_id}: {row['field']} = {chosen!r}; applied on the next sync")


def _conflict(store: Store, conflict_id: int) -> dict:
    row = next((c for c in store.conflicts() if c["id"] == conflict_id), None)
    if row is None:
        raise OkrsyncError(f"no conflict {conflict_id} (okrsync conflicts list shows them)")
    return row


@cli.command()
@click.option("--run", "run_id", type=int, required=True, metavar="N", help="The run to undo.")
@click.option("--force-unlock", is_flag=True, help="Clear a lock another host's run left.")
@click.pass_obj
def revert(env: Env, run_id, force_unlock):
    """Undo the canonical changes of run N, as new changes pushed by the next sync.

    A field changed again after run N is left alone (and listed).

    \b
    Example:
        okrsync revert --run 12 && okrsync sync
    """
    from .revert import revert_recorded

    cfg = env.config()
    store = env.store(cfg)
    new_run, count, notes = revert_recorded(store, cfg.store, run_id, Names.of(store, env.debug), force_unlock)

    def show(env: Env, _) -> None:
        click.echo(f"run {new_run}: reverted {count} record(s) of run {run_id}; `okrsync sync` pushes them")
        for note in notes:
            click.echo(f"skipped: {note}", err=True)

    env.output({"run": new_run, "reverted": count, "skipped": notes}, show)


@cli.command()
@click.pass_obj
def status(env: Env):
    """Show the store: entity counts, endpoints with their links and cursors, recent runs.

    \b
    Example:
        okrsync status --json
    """
    cfg = env.config()
    store = env.store(cfg)
    data = views.status(cfg, store)
    env.output(data, views.print_status)


@cli.command()
@click.option("--entity", metavar="ID", help="Only this record: an endpoint's id or key for it (KR-1, OKR-12), "
              "its canonical id, or a piece of its title that no other record has.")
@click.option("--since", metavar="WHEN", help="An ISO date or time (UTC), or an age such as 2h, 3d, 1w.")
@click.option("--run", "run_id", type=int, metavar="N", help="Only changes made by run N.")
@click.option("--limit", type=int, default=200, show_default=True, help="At most this many rows (the newest).")
@click.pass_obj
def log(env: Env, entity, since, run_id, limit):
    """Read the change log: who changed which field, when, from where.

    \b
    Example:
        okrsync log --since 1d
        okrsync log --entity kr_3f2a9c1b7d10
        okrsync log --entity OKR-12
        okrsync log --entity "net revenue retention"
    """
    store = env.store()
    entity = resolve(store, entity) if entity else None
    rows = store.changes(entity=entity, since=parse_since(since) if since else None, run=run_id, limit=limit)
    keys, names = store.keys(), Names.of(store, env.debug)
    for row in rows:
        row["keys"] = keys.get(row["entity_id"], [])
        row.update(names.describe(row["entity_id"]))
    env.output(rows, views.print_log, names)


def parse_since(text: str) -> str:
    """"2h", "3d", "1w" or an ISO date/time → an ISO UTC timestamp."""
    m = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        when = dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(m.group(1))})
    else:
        from . import transforms

        try:
            when = transforms.parse_datetime(text)
        except ValueError as e:
            raise click.BadParameter(f"{e}; or an age such as 2h, 3d, 1w", param_hint="--since") from None
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@cli.command()
@click.option("--period", help="Only objectives of this period (e.g. 2026-Q1).")
@click.pass_obj
def show(env: Env, period):
    """Show objectives with their key results, progress and scores.

    \b
    Example:
        okrsync show --period 2026-Q1
    """
    store = env.store()
    tree = views.okr_tree(store, period)
    env.output(tree, views.print_tree)


@cli.command()
@click.option("--from", "source", required=True, metavar="ENDPOINT", help="Where the OKRs are now (never written).")
@click.option("--to", "target", required=True, metavar="ENDPOINT", help="Where they go.")
@click.option("--users-map", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="E-mail → target user for owners the target can't find by e-mail (YAML or CSV).")
@_dry_run_option
@click.option("--yes", is_flag=True, help="Go ahead without asking (needed where standard input is not a terminal).")
@click.option("--force-unlock", is_flag=True, help="Clear a lock another host's run left.")
@click.pass_obj
def migrate(env: Env, source, target, users_map, dry_run, yes, force_unlock):
    """Move every OKR from one endpoint to another: plan, then copy, then verify.

    The plan shows counts per kind, what the target cannot hold, owners and an estimate of
    the time the target's rate limit sets. Interrupted (even killed), run the same command
    again: it finds what already landed and sends only the rest, never a duplicate. The
    end is a field-by-field verification of the target against the source.

    \b
    Examples:
        okrsync migrate --from planning-sheet --to jira-prod --dry-run
        okrsync migrate --from viva-export --to jira-prod --users-map users.csv --yes
    """
    if source == target:
        raise click.BadParameter("--from and --to name the same endpoint", param_hint="--to")
    with runs.RunObserver(env, "migrate", [source, target], dry_run) as obs:
        _migrate(obs, env, source, target, users_map, dry_run, yes, force_unlock)


def _migrate(obs: runs.RunObserver, env: Env, source, target, users_map, dry_run, yes, force_unlock) -> None:
    from . import migrate as mig

    cfg = obs.load_config()
    cfg.endpoint(source).options, cfg.endpoint(target).options  # unknown names, missing secrets: before anything runs
    users = mig.users_map(Path(users_map).read_text(encoding="utf-8"), users_map) if users_map else {}
    if users:
        declared = plugins.connectors()[cfg.endpoint(target).type].cls.declared_options()
        if declared is not None and "users" not in declared:  # its connector would refuse the option
            raise click.BadParameter(f"{target} (type {cfg.endpoint(target).type}) has no users to map "
                                     "(owners are written as they are)", param_hint="--users-map")
        cfg.endpoint(target).options["users"] = {**(cfg.endpoint(target).options.get("users") or {}), **users}
    if not (yes or dry_run or sys.stdin.isatty()):
        # cron, a pipe, CI: nobody can answer "Go ahead?", so copying without --yes would be a guess
        raise click.UsageError("migrate writes every OKR to --to and asks first, but standard input is not a "
                               "terminal: pass --yes to go ahead (or --dry-run to see the plan)")
    hub = obs.closing(Hub(cfg, env.store(cfg), plugins.classes()))

    def go_ahead(the_plan) -> bool:
        if env.as_json:
            return True
        _print_migration_plan(env, the_plan, dry_run=False)
        return yes or click.confirm("Go ahead?", err=True)

    outcome = runs.migration_run(obs, hub, source, target, users, dry_run=dry_run, force_unlock=force_unlock,
                                 go_ahead=go_ahead, progress=_migration_progress(env),
                                 say_backup=not env.as_json or env.log_format == "json")
    if dry_run:
        _print_migration_plan(env, outcome.plan, dry_run=True)
        return
    if outcome.check is None:  # cancelled at "Go ahead?"
        return
    totals = runs.totals(outcome.plans)
    env.output({"plan": outcome.plan.as_dict(), "totals": totals.__dict__, "rejected": outcome.rejected,
                "verification": outcome.check.as_dict(), "backup": str(outcome.backup)},
               lambda env, _: views.print_migration_result(env, totals, outcome.rejected, outcome.check))
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


def _print_migration_plan(env: Env, the_plan, dry_run: bool) -> None:
    env.output({"plan": the_plan.as_dict(), "dry_run": dry_run},
               lambda env, _: views.print_migration_plan(env, the_plan, dry_run))


@contextmanager
def _migration_progress(env: Env):
    """A progress bar with an ETA over the push, where a person is watching."""
    if env.as_json or not env.err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=env.err) as bar:
        task = bar.add_task("migrating", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@cli.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["okr-json"]), default="okr-json", show_default=True,
              help="The file format (okr-json: docs/okr-json.md).")
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True,
              help="Where to write it (written atomically); - for standard output.")
@click.pass_obj
def export_cmd(env: Env, fmt, output):
    """Write every OKR in the store to one file, in okrsync's open okr-json format.

    \b
    Example:
        okrsync export --format okr-json -o okrs.okr.json
    """
    from . import okrjson

    doc = okrjson.export(env.store())
    if output == "-":
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    okrjson.dump(doc, Path(output))
    counts = {name: len(doc[name]) for name in okrjson.LISTS.values() if name in doc}
    env.err.print(f"wrote {output}: " + (", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()) or "no records"))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def validate(env: Env, file: Path):
    """Check an okr-json file against its schema and the OKR model.

    Every problem is listed with its JSON Pointer (okrs.json: /objectives/2/title: ...).
    Exit 0 when the file is valid, 2 when it is not (or cannot be read).

    \b
    Example:
        okrsync validate okrs.okr.json
    """
    from . import okrjson

    doc = okrjson.load(file)
    found = okrjson.check(doc)
    if env.as_json:
        env.emit({"file": str(file), "valid": not found, "version": doc.get("version"),
                  "problems": [{"pointer": p.pointer, "message": p.message} for p in found]})
    else:
        for p in found:
            click.echo(p.located(file.name))
        counts = {name: len(doc.get(name) or []) for name in okrjson.LISTS.values()}
        total = sum(counts.values())
        click.echo(f"{file.name}: okr-json version {doc['version']}, {total} record(s): "
                   + (f"{len(found)} problem(s)" if found else "valid"))
    if found:
        sys.exit(2)


from .report.commands import lint, report  # noqa: E402  (they need the group above)

cli.add_command(report)
cli.add_command(lint)

from .doctor import doctor  # noqa: E402

cli.add_command(doctor)

__all__ = ["cli", "EXIT_CODES"]
