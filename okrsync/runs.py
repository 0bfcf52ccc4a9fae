"""Cron-ready runs: one log line per step and a run summary, JSON or text, secrets masked,
and the ``run_finished`` hook.

Every ``okrsync pull``/``push``/``sync``/``migrate`` goes through ``RunObserver``:

- ``--log-format text`` (the default) keeps the human output and adds one summary line on
  stderr (``okrsync: sync ok in 3.2 s: read 52, created 0, …``); ``--log-format json`` writes
  only JSON lines on stderr: one ``step`` event per pull/push, ``message`` events for what
  would have been text (notes, rejected rows), an ``error`` event, and one ``summary`` event.
- Every line is masked by ``okrsync.logs.REDACTOR``; at the start of a run every secret the
  config names is registered with it (``okrsync.config.collect_secrets``), also those of
  endpoints the run does not use.
- The exit code is the run's own (0–6, docs "Exit codes"); the summary is handed to the
  ``run_finished`` hook, whose failures are warnings and never change the exit code.
- What a run opens (the hub and its connectors' HTTP clients) is handed to ``closing`` and
  closed when the run ends, whichever way it ends.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from . import config as config_mod
from .errors import OkrsyncError
from .logs import LOG, REDACTOR, utc_now

STATUS_BY_CODE = {0: "ok", 1: "failure", 2: "bad-config", 3: "rejected", 4: "conflicts", 5: "locked", 6: "guard"}
STATUSES = tuple(STATUS_BY_CODE.values())
SHOWN = {"ok": "ok", "failure": "failed", "bad-config": "bad config", "rejected": "finished with rejected records",
         "conflicts": "finished with conflicts waiting", "locked": "locked", "guard": "stopped by the delete guard"}
COUNTERS = ("read", "created", "updated", "deleted", "unchanged", "conflicts", "rejected", "requests", "retried")
Closeable = TypeVar("Closeable")

def _outcome(error: BaseException | None) -> tuple[int, str | None]:
    """(exit code, message shown to the user) of how a run ended."""
    if error is None:
        return 0, None
    if isinstance(error, SystemExit):
        code = error.code
        return (code if isinstance(code, int) else 0 if code is None else 1), None
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code, None
    if isinstance(error, click.ClickException):
        return error.exit_code, error.format_message()
    if isinstance(error, OkrsyncError):
        return error.exit_code, str(error)
    if isinstance(error, (KeyboardInterrupt, click.Abort)):
        return 1, "interrupted"
    return 1, f"Internal error: {type(error).__name__}: {error} (run with --debug for the traceback)"


def summary_text(summary: dict[str, Any]) -> str:
    """``sync ok in 3.2 s: read 52, created 0, … requests 7, retried 0`` (without the prefix)."""
    counters = ", ".join(f"{k} {summary['counters'].get(k, 0)}" for k in COUNTERS)
    code = summary["exit_code"]
    head = f"{summary['command']}{' (dry run)' if summary['dry_run'] else ''} {SHOWN.get(summary['status'], summary['status'])}"
    text = f"{head}{f' (exit {code})' if code else ''} in {summary['duration_s']:.1f} s: {counters}"
    if summary.get("conflicts_waiting"):
        text += f"; {summary['conflicts_waiting']} conflict(s) waiting"
    if summary.get("kept_as_text"):  # every run, until the cells are fixed (docs/mappings.md, "Tolerant values")
        text += f"; {summary['kept_as_text']} cell(s) kept as text"
    if summary.get("error"):
        error = summary["error"].splitlines()[0]
        text += f"; error: {error[:300]}"
    return text


class RunObserver:
    """Wraps one run: times its steps, logs them, prints the summary, calls ``run_finished``.

    A caller sets ``plans`` (appended by the hub), ``run_id`` and ``waiting`` as it learns
    them, loads the config through ``load_config()`` and wraps each step in ``step()``.
    On exit a library error becomes its exit code (as ``OkrsyncGroup`` does elsewhere),
    shown once, redacted."""

    def __init__(self, env: Any, command: str, names: Iterable[str] = (), dry_run: bool = False):
        self.env, self.command, self.names, self.dry_run = env, command, list(names), dry_run
        self.plans: list = []
        self.run_id: int | None = None
        self.waiting = 0
        self.still_rejected = 0  # open rejections of steps the run did not take (counted as rejected)
        self.config: config_mod.Config | None = None
        self.json_logs = getattr(env, "log_format", "text") == "json"
        self._open = ExitStack()  # what the run opened: closed when it ends, whichever way

    def config_path(self) -> Path:
        return Path(self.env.config_path or os.environ.get("OKRSYNC_CONFIG") or config_mod.DEFAULT_PATH)

    def load_config(self) -> config_mod.Config:
        self.config = self.env.config()
        if not self.names:
            self.names = list(self.config.endpoints)
        return self.config

    def closing(self, thing: Closeable) -> Closeable:
        """``thing`` (anything with ``close()``: the hub, a connector), closed when the run ends."""
        self._open.callback(thing.close)  # type: ignore[attr-defined]
        return thing

    def __enter__(self) -> RunObserver:
        self._t0, self.started_at = time.monotonic(), utc_now()
        config_mod.collect_secrets(self.config_path())  # registers each with REDACTOR
        return self

    @contextmanager
    def step(self, label: str, inner: Any = None):
        """Around one pull or push: a ``step`` event when it ends (counters, duration)."""
        direction, _, endpoint = label.partition(" ")
        t0, before, status, error = time.monotonic(), len(self.plans), "ok", None
        try:
            if inner is None:
                yield
            else:
                with inner:
                    yield
        except BaseException as e:
            status, error = "failure", _outcome(e)[1]
            raise
        finally:
            fields: dict[str, Any] = {"command": self.command, "step": direction, "endpoint": endpoint,
                                      "status": status, "duration_s": round(time.monotonic() - t0, 3)}
            if len(self.plans) > before:
                plan = self.plans[-1]
                fields["counters"] = dict(plan.counters.__dict__)
                fields["notes"] = len(plan.notes)
            if error:
                fields["error"] = error
            LOG.info("%s %s %s in %.1f s", direction, endpoint, "ok" if status == "ok" else "failed",
                      fields["duration_s"], extra={"event": "step", "fields": fields})

    def progress(self, inner_factory):
        """A ``progress(label)`` for ``Hub.run`` that wraps ``inner_factory(label)`` in ``step``."""
        return lambda label: self.step(label, inner_factory(label))

    def summary(self, code: int, error: str | None) -> dict[str, Any]:
        totals = {k: 0 for k in COUNTERS}
        for plan in self.plans:
            for k in COUNTERS:
                totals[k] += getattr(plan.counters, k, 0)
        totals["rejected"] += self.still_rejected
        out = {"command": self.command, "status": STATUS_BY_CODE.get(code, "failure"), "exit_code": code,
               "dry_run": self.dry_run, "run": self.run_id, "endpoints": self.names, "counters": totals,
               "conflicts_waiting": self.waiting, "kept_as_text": sum(p.counters.kept for p in self.plans),
               "started_at": self.started_at, "finished_at": utc_now(),
               "duration_s": round(time.monotonic() - self._t0, 3), "error": error, "host": socket.gethostname(),
               "config": str(self.config_path()), "okrsync": __version__}
        out = REDACTOR.deep(out)
        out["text"] = summary_text(out)
        return out

    def __exit__(self, etype, error, tb) -> bool:
        self._open.close()  # HTTP clients closed before the summary: a run's end is its end
        code, message = _outcome(error)
        if message:
            self._show_error(error, message)
        summary = self.summary(code, message)
        fields = {k: v for k, v in summary.items() if k != "text"}
        if self.json_logs or not getattr(self.env, "as_json", False):  # --json: stdout's document says it all
            LOG.info(summary["text"], extra={"event": "summary", "fields": fields})
        call_run_finished(summary, self.config)
        if error is None or isinstance(error, (SystemExit, click.exceptions.Exit)):
            return False
        if getattr(self.env, "debug", False) and not isinstance(error, click.ClickException):
            return False  # the traceback, as --debug promises
        raise click.exceptions.Exit(code)

    def _show_error(self, error: BaseException, message: str) -> None:
        if self.json_logs:
            LOG.error(message, extra={"event": "error", "fields": {"command": self.command,
                                                                   "exit_code": _outcome(error)[0]}})
        elif isinstance(error, click.ClickException):
            click.echo(REDACTOR(f"Error: {message}"), err=True)
        elif not (getattr(self.env, "debug", False) and not isinstance(error, OkrsyncError)):
            prefix = "" if message.startswith("Internal error") else "Error: "
            click.secho(REDACTOR(f"{prefix}{message}"), fg="red", err=True)


def call_run_finished(summary: dict[str, Any], config: Any) -> None:
    """Each ``run_finished`` implementation in turn; one that fails is a warning line."""
    from . import plugins

    try:
        impls = plugins.get_plugin_manager().hook.run_finished.get_hookimpls()
    except Exception as e:  # plugins that fail to load were reported already
        LOG.warning("run_finished hooks not called: %s", e, extra={"event": "warning"})
        return
    args = {"summary": summary, "config": config}
    for impl in reversed(impls):  # pluggy's order: last registered first
        try:
            impl.function(**{name: args[name] for name in impl.argnames})
        except Exception as e:  # a hook never fails the run
            LOG.warning("plugin %s: run_finished failed: %s: %s", impl.plugin_name, type(e).__name__, e,
                        extra={"event": "warning", "fields": {"plugin": impl.plugin_name}})


# ------------------------------------------------------------------ run bookkeeping


def acquire(lock: Any, store: Any, force: bool, dry_run: bool = False) -> None:
    """Take the store's lock and say what taking it cleared: a dead run's lock, and the runs
    a dead process left ``running`` (holding the lock, none can be going on), now ``interrupted``
    (a dry run writes nothing: status shows them so anyway)."""
    lock.acquire(force=force)
    for note in lock.notes:
        LOG.warning(note, extra={"event": "warning"})
    stale = [] if dry_run else store.interrupt_runs()
    if stale:
        LOG.warning("run %s ended without finishing (its process died): marked interrupted in okrsync status",
                    ", ".join(map(str, stale)), extra={"event": "warning", "fields": {"runs": stale}})


def totals(plans: Iterable[Any]) -> Any:
    """The counters of every plan, added up (an ``okrsync.sync.Counters``)."""
    from .sync import Counters

    out = Counters()
    for p in plans:
        out.add(p.counters)
    return out


def counters_by_endpoint(plans: Iterable[Any]) -> dict:
    """The counters a run stores: endpoint → direction → counters."""
    out: dict = {}
    for p in plans:
        out.setdefault(p.endpoint, {})[p.direction] = p.counters.__dict__
    return out


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back(store: Any):
    """Run inside a transaction and undo it: a dry run sees its own pulls."""
    try:
        with store.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


@dataclass
class SyncOutcome:
    """How a pull, push or sync ended, for the caller to print and exit by."""

    run_id: int | None  # None for a dry run (nothing was recorded)
    open_rejections: list  # rejections still open (this run's and earlier runs' untouched steps)
    rejected: int  # rejected records: this run's, plus open ones of steps the run did not take
    waiting: int  # open conflicts

    @property
    def exit_code(self) -> int:
        return 3 if self.rejected else 4 if self.waiting else 0


def sync_run(obs: RunObserver, hub: Any, command: str, selected: list[str], *, dry_run: bool, pull: bool,
             push: bool, force_unlock: bool, progress: Any) -> SyncOutcome:
    """One observed pull, push or sync under the store's lock: the run recorded (begun,
    finished ``ok``, ``partial`` with rejections or ``failed`` with its error), or, for a dry
    run, planned inside a transaction that is rolled back. ``progress(label)`` as ``Hub.run``."""
    from . import views
    from .lock import StoreLock

    store, plans = hub.store, obs.plans
    with StoreLock(hub.config.store, command) as lock:
        acquire(lock, store, force_unlock, dry_run)
        run_id = None
        if dry_run:
            with rolled_back(store):
                hub.run(selected, store.begin_run(command, dry_run=True), pull=pull, push=push, write_remote=False,
                        plans=plans, progress=obs.progress(progress))
        else:
            run_id = obs.run_id = store.begin_run(command)
            try:
                hub.run(selected, run_id, pull=pull, push=push, plans=plans, progress=obs.progress(progress))
            except BaseException as e:
                error = str(e) if isinstance(e, OkrsyncError) else type(e).__name__
                store.finish_run(run_id, "failed", counters_by_endpoint(plans), error=error)
                raise
        # rejections are state: those of steps this run did not take are still open, and said
        open_rows = store.rejections(selected)
        obs.still_rejected = len(views.untouched(plans, open_rows))
        rejected = sum(len(p.rejected) for p in plans) + obs.still_rejected
        waiting = obs.waiting = len(store.conflicts("open"))
        if run_id is not None:
            store.finish_run(run_id, "partial" if rejected else "ok", counters_by_endpoint(plans))
    return SyncOutcome(run_id, open_rows, rejected, waiting)


@dataclass
class MigrationOutcome:
    """How ``okrsync migrate`` ended (None fields: it stopped at the plan)."""

    plan: Any  # okrsync.migrate.MigrationPlan
    backup: Path | None = None
    plans: list | None = None
    rejected: list[str] | None = None
    check: Any = None  # okrsync.migrate.Verification

    @property
    def exit_code(self) -> int:
        if self.check is not None and not self.check.ok:
            return 1
        return 3 if self.rejected else 0


def migration_run(obs: RunObserver, hub: Any, source: str, target: str, users: dict[str, str], *, dry_run: bool,
                  force_unlock: bool, go_ahead: Any, progress: Any, say_backup: bool = True) -> MigrationOutcome:
    """One observed migration under the store's lock: the hub's policy made a move's
    (``Policy.for_move``), the plan made; a dry run stops there (rolled back); otherwise the
    store is backed up, ``go_ahead(plan)`` decides (False: the run is recorded ``cancelled``),
    the push runs with ``progress`` (a context manager yielding ``advance(done, total)`` or
    None) and the target is verified against the source."""
    from . import migrate as mig
    from . import storefile
    from .lock import StoreLock

    store = hub.store
    hub.policy.for_move(source, target)
    with StoreLock(hub.config.store, "migrate") as lock:
        acquire(lock, store, force_unlock, dry_run)
        if dry_run:
            with rolled_back(store):
                return MigrationOutcome(mig.plan(hub, source, target, store.begin_run("migrate", dry_run=True), users))
        # a migration rewrites much of the store: a consistent copy first, to go back to
        saved = storefile.backup(store.db.conn, hub.config.store)
        if say_backup:  # off under --json with text logs: stdout's document names it
            LOG.info("backed up the store to %s before migrating", saved,
                     extra={"event": "backup", "fields": {"backup": str(saved)}})
        run_id = obs.run_id = store.begin_run("migrate")
        try:
            the_plan = mig.plan(hub, source, target, run_id, users)
            if not go_ahead(the_plan):
                store.finish_run(run_id, "cancelled", {})
                return MigrationOutcome(the_plan, saved)
            with progress as advance:
                plans = mig.execute(hub, target, run_id, progress=advance)
            obs.plans.extend(plans)
            check = mig.verify(hub, target)
        except BaseException as e:
            store.finish_run(run_id, "failed", {}, error=str(e) if isinstance(e, OkrsyncError) else type(e).__name__)
            raise
        rejected = [str(r) for p in plans for r in p.rejected]
        store.finish_run(run_id, "partial" if rejected or not check.ok else "ok", counters_by_endpoint(plans))
    return MigrationOutcome(the_plan, saved, plans, rejected, check)
