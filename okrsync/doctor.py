"""``okrsync doctor``: is this config ready to run unattended?

Checks, in order, each with advice when it fails:

1. the config parses and every key is known, each endpoint's against what its connector
   declares (every unknown key listed, located as a run reports the first);
2. each endpoint's credentials are there: every ``$env`` variable set and non-empty, every
   ``$file`` readable and non-empty (and no secret written into the file itself);
3. each endpoint's connector accepts its options (the connector's own checks);
4. each endpoint's own checks, declared by its connector (``Connector.doctor``, run through a
   ``Kit``): one cheap authenticated request for an API connector (no retries, short
   timeouts), its files readable and writable for a file connector, and what the mapping
   needs where the API can say (Jira: the mapped issue types at the right hierarchy levels,
   the permissions the plan needs, the mapping's custom fields with usable types), each
   failure with what to change; a connector that declares none gets a "no checks declared"
   line. This module holds no vendor's checks: a third-party connector takes part the same way;
5. the store's folder is writable and no lock is left behind; the webhook notifier's
   settings are valid.

Exit 0 when all is well (warnings allowed), 1 when a check failed, 2 for a bad config.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from . import config as config_mod
from . import plugins, storefile
from .connector import Connector, Context
from .errors import ConfigError, MappingError, OkrsyncError, RetryableError
from .lock import StoreLock

PLACEHOLDER = "okrsync-doctor-placeholder"
ENV_ADVICE = ("cron and systemd start okrsync with an almost empty environment: set it where the job is "
              "defined (see deploy/), or use {\"$file\": PATH} instead")


@dataclass
class Check:
    target: str  # an endpoint's name, or config / store / notify
    check: str  # config, credentials, options, reachable, project, permissions, fields, file, lock
    status: str  # ok | warn | fail | skip
    detail: str
    advice: str = ""
    bad_config: bool = False


class Report:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, *args: Any, **kwargs: Any) -> Check:
        check = Check(*args, **kwargs)
        self.checks.append(check)
        return check

    @property
    def exit_code(self) -> int:
        if any(c.bad_config for c in self.checks):
            return 2
        return 1 if any(c.status == "fail" for c in self.checks) else 0


# ------------------------------------------------------------------ credentials


def secret_refs(value: Any, key: str = "") -> list[tuple[str, dict]]:
    """(key path, {"$env": …} or {"$file": …}) of every secret reference in a section."""
    found: list[tuple[str, dict]] = []
    if isinstance(value, dict):
        if set(value) in ({"$env"}, {"$file"}):
            return [(key, value)]
        for k, v in value.items():
            found += secret_refs(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            found += secret_refs(v, f"{key}[{n}]")
    return found


def literal_secrets(value: Any, key: str = "") -> list[str]:
    """Key paths holding a plain string under a secret-looking key (``token: abc…``)."""
    from .logs import SENSITIVE

    found: list[str] = []
    if isinstance(value, dict) and set(value) not in ({"$env"}, {"$file"}):
        for k, v in value.items():
            path = f"{key}.{k}" if key else str(k)
            if isinstance(v, str) and v and SENSITIVE.search(str(k)):
                found.append(path)
            else:
                found += literal_secrets(v, path)
    return found


def check_credentials(report: Report, target: str, section: Any, base_dir: Path) -> tuple[bool, set[str]]:
    """Report on a section's secrets; (all present, names of missing $env variables)."""
    refs = secret_refs(section)
    missing_env: set[str] = set()
    problems = []
    for key, ref in refs:
        if "$env" in ref:
            name = str(ref["$env"])
            if name not in os.environ:
                missing_env.add(name)
                problems.append((f"{key}: environment variable {name} is not set",
                                 f"export {name}=… before running okrsync; {ENV_ADVICE}"))
            elif not os.environ[name].strip():
                problems.append((f"{key}: environment variable {name} is empty", f"give {name} the secret's value"))
        else:
            path = base_dir / os.path.expanduser(str(ref["$file"]))
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                problems.append((f"{key}: cannot read secret file {path}: {e.strerror}",
                                 "create it (mode 600, readable by the user okrsync runs as) or fix the path; "
                                 "a relative path is relative to the config file"))
                continue
            if not text.strip():
                problems.append((f"{key}: secret file {path} is empty", "put the secret in it"))
    for key in literal_secrets(section):
        report.add(target, "credentials", "warn", f"{key}: a secret is written in the config file itself",
                   'move it to the environment or a file: {"$env": NAME} or {"$file": PATH}')
    for detail, advice in problems:
        report.add(target, "credentials", "fail", detail, advice)
    if refs and not problems:
        report.add(target, "credentials", "ok", f"{len(refs)} secret(s) resolved, none empty")
    return not problems, missing_env


@contextmanager
def _placeholders(names: set[str]):
    """Stand-ins for missing variables, so the rest of the config can still be checked."""
    added = [n for n in names if n not in os.environ]
    os.environ.update({n: PLACEHOLDER for n in added})
    try:
        yield
    finally:
        for n in added:
            os.environ.pop(n, None)


# ------------------------------------------------------------------ each endpoint's own checks


def _advice(error: BaseException, hints: dict[Any, str]) -> tuple[str, str]:
    """(detail, advice) for a failed request."""
    status = getattr(error, "status", None)
    detail = str(error)
    if isinstance(error, RetryableError) and status is None:
        return detail, hints.get("network", "the host did not answer: check url: (and the region), DNS, "
                                            "a proxy (HTTPS_PROXY) and the firewall")
    if status == 401:
        return detail, hints.get(401, "the credentials were refused: check that the token is current, complete "
                                      "and belongs to this service")
    if status == 403:
        return detail, hints.get(403, "the token works but may not do this: grant the user or token the access, "
                                      "or use a token with the right scopes")
    if status == 404:
        return detail, hints.get(404, "not found: check the id or key in the config")
    if status == 429 or (status or 0) >= 500:
        return detail, "the service is busy or failing right now: try again later"
    return detail, hints.get("other", "see the message")


def _call(report: Report, target: str, check: str, hints: dict[Any, str], fn: Callable[[], Any]) -> Any:
    """Run one probe request; on failure add a failed check and return None."""
    import httpx  # here, not with the module: the CLI imports this one for every command

    try:
        return fn()
    except OkrsyncError as e:
        detail, advice = _advice(e, hints)
        report.add(target, check, "fail", detail, advice)
    except httpx.HTTPError as e:
        report.add(target, check, "fail", f"{type(e).__name__}: {e}", _advice(RetryableError(""), hints)[1])
    return None


def _quick(conn: Any) -> None:
    """One attempt, short timeouts, no pacing: a doctor must answer in seconds."""
    import httpx

    api = conn.api
    api.attempts = 1
    api.pacer.interval = 0.0
    api.client.timeout = httpx.Timeout(10.0, connect=5.0)


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (or in the folder that would hold it)."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


class NotTried(Exception):
    """Raised by ``Kit.call`` when no request may be sent; ends the connector's checks there."""

    def __init__(self, check: str):
        super().__init__(check)
        self.check = check


@dataclass
class Kit:
    """What a connector's ``doctor`` works with (see ``Connector.doctor``): its checks land in
    ``report`` under the endpoint's name, in the order they are made."""

    report: Report
    target: str  # the endpoint's name
    not_tried: str = ""  # why no request may be sent (--offline, missing credentials); "" when they may

    def add(self, check: str, status: str, detail: str, advice: str = "") -> Check:
        """One line of the doctor's table: ``status`` ok | warn | fail | skip; ``advice`` says
        what to do about a warn or fail (shown under the table)."""
        return self.report.add(self.target, check, status, detail, advice)

    def call(self, check: str, hints: dict[Any, str], fn: Callable[[], Any]) -> Any:
        """Send one request (``fn``); its answer, or None after adding a failed ``check`` whose
        advice comes from ``hints`` (HTTP status, or "network"/"other" → advice) or the usual
        words. Under --offline or without credentials it sends nothing: the connector's checks
        stop here and one skipped ``check`` says why."""
        if self.not_tried:
            raise NotTried(check)
        return _call(self.report, self.target, check, hints, fn)

    @staticmethod
    def writable(folder: Path) -> bool:
        """Whether files can be created in ``folder`` (or in the folder that would hold it)."""
        return _writable(folder)


def check_endpoint(report: Report, name: str, conn: Connector, not_tried: str = "") -> None:
    """Run ``conn``'s own checks (``Connector.doctor``) into ``report``; one request at a time,
    no retries, short timeouts for connectors on ``okrsync.http.Api``."""
    if type(conn).doctor is Connector.doctor:
        report.add(name, "reachable", "skip", f"no checks declared by connector {conn.name!r} (Connector.doctor): "
                   "only its config and credentials were checked")
        return
    if hasattr(conn, "api"):
        _quick(conn)
    kit = Kit(report, name, not_tried)
    try:
        conn.doctor(kit)
    except NotTried as e:
        report.add(name, e.check, "skip", not_tried)




# ------------------------------------------------------------------ the whole run


def diagnose(config_path: str | None, only: tuple[str, ...] = (), offline: bool = False) -> Report:
    report = Report()
    path = Path(config_path or os.environ.get("OKRSYNC_CONFIG") or config_mod.DEFAULT_PATH)
    try:
        raw = config_mod.load_yaml(path)
    except ConfigError as e:
        report.add("config", "config", "fail", str(e), "fix the file (okrsync init writes a starter)", bad_config=True)
        return report
    sections = raw.get("endpoints") if isinstance(raw, dict) else None
    sections = sections if isinstance(sections, dict) else {}
    creds_ok: dict[str, bool] = {}
    missing_env: set[str] = set()
    for name, section in sections.items():
        if only and name not in only:
            continue
        creds_ok[str(name)], missing = check_credentials(report, str(name), section, path.parent)
        missing_env |= missing
    if isinstance(raw, dict) and raw.get("notify"):
        _, missing = check_credentials(report, "notify", raw["notify"], path.parent)
        missing_env |= missing
    classes = plugins.classes()
    with _placeholders(missing_env):
        try:
            cfg = config_mod.load(path, set(classes))
        except ConfigError as e:
            secret_trouble = any(c.check == "credentials" and c.status == "fail" for c in report.checks)
            if secret_trouble and ("secret file" in str(e) or "environment variable" in str(e)):
                report.add("config", "config", "skip", "the other checks need the credentials above", "")
            else:
                report.add("config", "config", "fail", str(e), "fix the file where the message points",
                           bad_config=True)
            return report
        for name in only:
            if name not in cfg.endpoints:
                try:
                    cfg.endpoint(name)
                except ConfigError as e:
                    report.add(name, "config", "fail", str(e), "", bad_config=True)
        unknown = _unknown_options(report, cfg, classes, only)
        report.add("config", "config", "ok", f"{path}: {len(cfg.endpoints)} endpoint(s)"
                   + (f"; {len(unknown)} with unknown or missing options (below)" if unknown else ", every key known"))
        for name, endpoint in cfg.endpoints.items():
            if (only and name not in only) or name in unknown:
                continue
            _endpoint(report, cfg, name, endpoint, classes, creds_ok.get(name, True), offline)
    _store(report, cfg)
    _notify(report, cfg)
    return report


def _unknown_options(report: Report, cfg: config_mod.Config, classes: Mapping[str, Any], only: tuple[str, ...]) -> set[str]:
    """Every endpoint key its connector does not declare, each a failed check (a run stops
    at the first); returns the endpoints that have any."""
    bad = set()
    for name, endpoint in cfg.endpoints.items():
        if only and name not in only:
            continue
        cls = classes[endpoint.type]
        if cls.declared_options() is None:
            report.add(name, "options", "warn", f"connector {endpoint.type!r} does not declare its options: "
                       "a mistyped key is not caught", "ask its author to set option_help (docs/plugins.md)")
            continue
        for problem in config_mod.endpoint_problems(cls, endpoint.section, f"{cfg.path}: endpoints.{name}"):
            report.add(name, "options", "fail", problem, "fix the key (docs: the connector's page, or okrsync connectors TYPE)",
                       bad_config=True)
            bad.add(name)
    return bad


def _endpoint(report: Report, cfg: config_mod.Config, name: str, endpoint: config_mod.Endpoint,
              classes: Mapping[str, Any], creds_ok: bool, offline: bool) -> None:
    try:
        conn = classes[endpoint.type](name, endpoint.options, Context(base_dir=cfg.base_dir))
    except (ConfigError, MappingError) as e:
        if not creds_ok:  # an empty secret is refused by the connector too: said above
            report.add(name, "options", "skip", f"not fully checked while the credentials are missing ({e})")
            return
        report.add(name, "options", "fail", str(e), "fix the endpoint's options (docs: the connector's page, or okrsync connectors TYPE)",
                   bad_config=True)
        return
    except Exception as e:  # a third-party connector's bug: say so, go on
        report.add(name, "options", "fail", f"{type(e).__name__}: {e}", "the connector could not start")
        return
    not_tried = ("not tried: the credentials above are missing" if not creds_ok
                 else "not tried (--offline)" if offline else "")
    try:
        check_endpoint(report, name, conn, not_tried)
    finally:
        conn.close()


def _store(report: Report, cfg: config_mod.Config) -> None:
    store = cfg.store
    if store.exists() and not os.access(store, os.R_OK | os.W_OK):
        report.add("store", "file", "fail", f"{store}: not readable and writable",
                   "run okrsync as the store's owner (the store is readable by its owner only)")
    elif not _writable(store.parent):
        report.add("store", "file", "fail", f"{store.parent}: cannot create the store here",
                   "point store: at a writable folder (a volume in a container)")
    elif why := storefile.lost(store):
        report.add("store", "file", "fail", why, "the next run exits 2 until the store is back or okrsync --new-store "
                   "is asked for")
    elif store.exists() and store.stat().st_size:
        found = storefile.problems(store)
        if found:
            report.add("store", "file", "fail", f"{store}: damaged: {'; '.join(found[:5])}", storefile.recovery_advice(store))
        else:
            report.add("store", "file", "ok", f"{store}: an SQLite database, integrity check ok")
    else:
        report.add("store", "file", "ok", f"{store}: created by the first run")
    lock = StoreLock(store, "doctor")
    if lock.path.exists():
        info = lock.holder()
        alive = lock._alive(info)
        who = f"pid {info.get('pid', '?')} on {info.get('host', '?')} (`okrsync {info.get('command', '?')}`)"
        if alive is False:
            report.add("store", "lock", "warn", f"{lock.path}: left by a run that died: {who}",
                       "nothing to do: the next run clears it (and shows the dead run as interrupted)")
        else:
            report.add("store", "lock", "warn", f"{lock.path}: held by {who}",
                       "a run is going on (or one on another host holds it); runs exit 5 until it ends")


def _notify(report: Report, cfg: config_mod.Config) -> None:
    from .notify import webhook_settings

    try:
        settings = webhook_settings(cfg)
    except ConfigError as e:
        report.add("notify", "config", "fail", str(e), "fix notify.webhook (docs/operations.md, Running on a schedule)",
                   bad_config=True)
        return
    if settings is not None:
        import httpx

        report.add("notify", "config", "ok", f"webhook to {httpx.URL(settings['url']).host} on "
                   f"{', '.join(settings['on'])}")


STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


@click.command()
@click.argument("endpoints", nargs=-1)
@click.option("--offline", is_flag=True, help="Check config, credentials and files only; send no request.")
@click.option("--probe", "probe_endpoint", metavar="ENDPOINT",
              help="Create, read back and delete throwaway records in the endpoint's `sandbox:` to check each "
                   "unconfirmed fact on this account (writes; see okrsync.probe).")
@click.pass_obj
def doctor(env: Any, endpoints: tuple[str, ...], offline: bool, probe_endpoint: str | None = None) -> None:
    """Check the config, each endpoint's credentials, that each endpoint answers and that the
    token may do what the mapping needs; with advice for each failure.

    Exits 0 when all is well (warnings allowed), 1 when a check failed, 2 for a bad config.
    Sends only cheap read requests (one to four per endpoint); writes nothing.

    \b
    Examples:
        okrsync doctor
        okrsync doctor jira-prod --json
    """
    from .config import collect_secrets
    from .logs import REDACTOR

    collect_secrets(env.config_path)  # each secret the config names is masked in what doctor prints
    if probe_endpoint:
        from .probe import command

        command(env, probe_endpoint)
        return
    report = diagnose(env.config_path, endpoints, offline)
    code = report.exit_code
    if env.as_json:
        env.emit(REDACTOR.deep({"exit_code": code, "checks": [asdict(c) for c in report.checks]}))
    else:
        table = Table("target", "check", "status", "detail", title="okrsync doctor")
        for c in report.checks:
            table.add_row(Text(c.target), c.check, Text(c.status, style=STYLE[c.status]), Text(REDACTOR(c.detail)))
        env.out.print(table)
        for c in report.checks:
            if c.advice and c.status in ("fail", "warn"):
                env.out.print(Text(c.status, style=STYLE[c.status]) + Text(f" {c.target} {c.check}: {REDACTOR(c.advice)}"))
        verdict = {0: "all good", 1: "some checks failed", 2: "the config is wrong"}[code]
        env.out.print(f"doctor: {verdict} (exit {code})", highlight=False)
    if code:
        sys.exit(code)
