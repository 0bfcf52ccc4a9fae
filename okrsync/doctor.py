"""``okrsync doctor``: is this config ready to run unattended?

Checks, in order, each with advice when it fails:

1. the config parses and every key is known, each endpoint's against what its connector
   declares (every unknown key listed, located as a run reports the first);
2. each endpoint's credentials are there: every ``$env`` variable set and non-empty, every
   ``$file`` readable and non-empty (and no secret written into the file itself);
3. each endpoint's connector accepts its options (the connector's own checks);
4. each endpoint answers: one cheap authenticated request per API connector (a probe per
   connector type, below; no retries, short timeouts), and the file endpoints' files can be
   read and written;
5. what the mapping needs is there, where the API can say: Jira's mapped issue types in the
   project at the right hierarchy levels, its permissions (``GET /rest/api/3/mypermissions``,
   the global bulk-change one too) and the mapping's custom fields by name, with usable
   types; each failure says the mapping change that fixes it;
6. the store's folder is writable and no lock is left behind; the webhook notifier's
   settings are valid.

Exit 0 when all is well (warnings allowed), 1 when a check failed, 2 for a bad config.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import click
import httpx
from rich.table import Table
from rich.text import Text

from . import config as config_mod
from . import plugins, storefile
from .connector import Context
from .errors import ConfigError, MappingError, OkrsyncError, RetryableError
from .lock import StoreLock

JIRA_PERMISSIONS = ("BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "ASSIGN_ISSUES",
                    "DELETE_ISSUES", "BULK_CHANGE")  # BULK_CHANGE (global): status changes and deletes go through Jira's bulk API
FILE_TYPES = ("csv", "xlsx", "viva-goals")
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
    from .ops import SENSITIVE

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


# ------------------------------------------------------------------ probes


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
    api = conn.api
    api.attempts = 1
    api.pacer.interval = 0.0
    api.client.timeout = httpx.Timeout(10.0, connect=5.0)


def probe_jira(report: Report, name: str, conn: Any) -> None:
    api, project = conn.api, conn.project
    me = _call(report, name, "reachable", {401: "Jira refused the e-mail and API token: the e-mail is the "
                                                "Atlassian account's, the token one from id.atlassian.com → "
                                                "Security → API tokens (or auth.bearer for OAuth)"},
               lambda: api.call("GET", "/rest/api/3/myself"))
    if me is None:
        return
    who = f"{me.get('displayName', '?')} <{me.get('emailAddress', 'e-mail hidden')}>"
    report.add(name, "reachable", "ok", f"{api.client.base_url.host}: authenticated as {who}")
    found = _call(report, name, "project", {404: f"no project {project!r} is visible to {who}: check project: "
                                                 "(the key, e.g. OKR) and that this user may browse it"},
                  lambda: api.call("GET", f"/rest/api/3/project/{project}"))
    if found is None:
        return
    report.add(name, "project", "ok", f"{found.get('key')} ({found.get('name', '')})")
    type_problems = conn.mapping.check_types(found.get("issueTypes") or [])
    for problem, fix in type_problems:
        report.add(name, "issue types", "fail", problem, f"in the endpoint's mapping: {fix}")
    if not type_problems:
        report.add(name, "issue types", "ok", "the mapped issue types exist at the right hierarchy levels")
    # the plan's permissions: owners set as assignees, parents joined by issue links where mapped so
    wanted = JIRA_PERMISSIONS + (("LINK_ISSUES",) if any(conn.mapping.present(k) and conn.mapping.via(k) == "link"
                                                         for k in ("key_result", "initiative")) else ())
    perms = _call(report, name, "permissions", {}, lambda: api.call(
        "GET", "/rest/api/3/mypermissions", params={"permissions": ",".join(wanted), "projectKey": project}))
    if perms is not None:
        held = {k: bool(v.get("havePermission")) for k, v in (perms.get("permissions") or {}).items()}
        lacking = [k for k in wanted if not held.get(k)]
        needed = [k for k in lacking if k not in ("DELETE_ISSUES", "BULK_CHANGE")]
        if needed:
            report.add(name, "permissions", "fail", f"{who} lacks {', '.join(needed)} in {project}",
                       "ask a Jira admin to grant them in the project's permission scheme "
                       "(Project settings → Permissions)")
        if "BULK_CHANGE" in lacking:
            report.add(name, "permissions", "fail", f"{who} lacks the global BULK_CHANGE permission",
                       "okrsync changes statuses and deletes issues through Jira's bulk API: ask a Jira admin to "
                       "grant 'Make bulk changes' (Settings → System → Global permissions)")
        if "DELETE_ISSUES" in lacking:
            report.add(name, "permissions", "warn", f"{who} lacks DELETE_ISSUES in {project}",
                       "a record deleted elsewhere cannot be deleted in Jira: grant Delete issues, or set "
                       "deletes: archive (or ignore) on this endpoint")
        if not lacking:
            report.add(name, "permissions", "ok", ", ".join(wanted))
    fields = _call(report, name, "fields", {}, lambda: api.call("GET", "/rest/api/3/field"))
    if fields is not None:
        missing = conn.mapping.resolve(fields)
        for problem in missing:
            report.add(name, "fields", "fail", problem,
                       "create the field in Jira (Settings → Issues → Custom fields) and add it to the project's "
                       "screens, or change the endpoint's mapping: as the message says")
        unusable = conn.mapping.check_fields(fields)
        for problem, fix in unusable:
            report.add(name, "fields", "fail", problem, f"in the endpoint's mapping: {fix}")
        if not missing and not unusable:
            report.add(name, "fields", "ok", f"the mapping's {len(conn.mapping.names())} custom field(s) exist "
                                             "with usable types")


def probe_asana(report: Report, name: str, conn: Any) -> None:
    me = _call(report, name, "reachable", {401: "Asana refused the token: a personal access token from "
                                                "app.asana.com/0/my-apps, or an OAuth access token"},
               lambda: conn.api.call("GET", "/users/me", params={"opt_fields": "name"}))
    if me is not None:
        report.add(name, "reachable", "ok", f"authenticated as {(me.get('data') or {}).get('name', '?')}")


def probe_clickup(report: Report, name: str, conn: Any) -> None:
    answer = _call(report, name, "reachable", {401: "ClickUp refused the token: a personal token starts with pk_ "
                                                    "(Settings → Apps) and goes in auth.token"},
                   lambda: conn.api.call("GET", "/v2/team"))
    if answer is None:
        return
    teams = {str(t.get("id")): t.get("name", "") for t in answer.get("teams") or []}
    if conn.team in teams:
        report.add(name, "reachable", "ok", f"workspace {conn.team} ({teams[conn.team]}) is visible to the token")
    else:
        report.add(name, "reachable", "fail", f"team_id {conn.team} is not one of the token's workspaces "
                   f"({', '.join(f'{k} {v}' for k, v in teams.items()) or 'none'})",
                   "team_id is the number in app.clickup.com/<id>/…; or use a token of a member of that workspace")


def probe_google_sheets(report: Report, name: str, conn: Any) -> None:
    answer = _call(report, name, "reachable", {404: "no spreadsheet with this id, or it is not shared with the "
                                                    "account okrsync uses (share it with the service account's e-mail)",
                                               403: "share the spreadsheet with the account okrsync uses "
                                                    "(the service account's client_email) as an editor"},
                   lambda: conn._call("GET", conn.base, params={"fields": "spreadsheetId"}))
    if answer is not None:
        report.add(name, "reachable", "ok", f"spreadsheet {answer.get('spreadsheetId', conn.spreadsheet)} is readable")


def probe_perdoo(report: Report, name: str, conn: Any) -> None:
    answer = _call(report, name, "reachable", {401: "Perdoo refused the token: create one under Personal "
                                                    "Settings → API Tokens"},
                   lambda: conn._graphql("query Doctor { timeframes(first: 1) { edges { node { id } } } }"))
    if answer is not None:
        report.add(name, "reachable", "ok", "the GraphQL API answers an authenticated query")


def probe_quantive(report: Report, name: str, conn: Any) -> None:
    answer = _call(report, name, "reachable", {401: "Quantive refused the token or the account id "
                                                    "(gtmhub-accountId): check both, and region:"},
                   lambda: conn.api.call("GET", "/sessions", params={"skip": 0, "limit": 1}))
    if answer is not None:
        report.add(name, "reachable", "ok", "sessions are listed for this account")


def probe_tability(report: Report, name: str, conn: Any) -> None:
    answer = _call(report, name, "reachable", {401: "Tability refused the token: a personal API token from "
                                                    "tability.app/account",
                                               404: f"no workspace {conn.workspace!r}: use the slug from the "
                                                    "workspace's URL"},
                   lambda: conn.api.call("GET", f"/v2/workspaces/{conn.workspace}/plans", params={"page": 1}))
    if answer is not None:
        report.add(name, "reachable", "ok", f"workspace {conn.workspace} lists its plans")


def probe_smartsheet(report: Report, name: str, conn: Any) -> None:
    for sheet in dict.fromkeys(s for _, _, s in conn.table_files()):
        answer = _call(report, name, "reachable", {401: "Smartsheet refused the token: generate one under Account "
                                                        "→ Personal settings → API access",
                                                   404: f"no sheet {sheet}, or it is not shared with the token's "
                                                        "user: check the id (File → Properties)"},
                       lambda: conn.api.call("GET", f"/sheets/{sheet}", params={"rowNumbers": "1"}))
        if answer is not None:
            report.add(name, "reachable", "ok", f"sheet {sheet} ({answer.get('name', '?')}) is readable, access "
                       f"{answer.get('accessLevel', 'unknown')}")


def probe_notion(report: Report, name: str, conn: Any) -> None:
    for part, database in conn.tables.items():
        answer = _call(report, name, "reachable", {401: "Notion refused the token: use the integration's secret "
                                                        "(notion.so/my-integrations)",
                                                   404: f"database {database} ({part}) is not shared with the "
                                                        "integration: open it → ⋯ → Connections → add it"},
                       lambda: conn.api.call("GET", f"/v1/databases/{database}"))
        if answer is not None:
            report.add(name, "reachable", "ok", f"{part} database {database} is readable "
                       f"({len(answer.get('properties') or {})} properties)")


def probe_airtable(report: Report, name: str, conn: Any) -> None:
    answer = _call(report, name, "reachable", {401: "Airtable refused the token: create a personal access token "
                                                    "(airtable.com/create/tokens)",
                                               403: "give the token the scopes data.records:read/write and "
                                                    "schema.bases:read, and access to this base",
                                               404: f"no base {conn.base}: check base: (appXXXX in its URL)"},
                   lambda: conn.api.call("GET", f"/v0/meta/bases/{conn.base}/tables"))
    if answer is not None:
        names = {t.get("name") for t in answer.get("tables") or []} | {t.get("id") for t in answer.get("tables") or []}
        for part, table in conn.tables.items():
            if table in names:
                report.add(name, "reachable", "ok", f"{part} table {table!r} is in base {conn.base}")
            else:
                report.add(name, "reachable", "fail", f"base {conn.base} has no table {table!r}",
                           "fix tables: (a table's name or tblXXXX id)")


def probe_graph_excel(report: Report, name: str, conn: Any) -> None:
    answer = _call(report, name, "reachable", {401: "Graph refused the sign-in or token: check auth: (tenant, "
                                                    "client_id, the secret or refresh token)",
                                               403: "grant Files.ReadWrite.All (app) or Files.ReadWrite (user), or "
                                                    "share the file",
                                               404: "no such drive or item: check drive: and item: (or file:)"},
                   lambda: conn.api.call("GET", conn.item, params={"$select": "name,eTag,size"}))
    if answer is not None:
        report.add(name, "reachable", "ok", f"workbook {answer.get('name', conn.item)} is readable "
                   f"({int(answer.get('size') or 0) // 1024} kB)")


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (or in the folder that would hold it)."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def probe_sheet(report: Report, name: str, conn: Any) -> None:
    for _, path, _ in conn.table_files():
        if path.exists():
            problems = [w for w, mode in (("read", os.R_OK), ("write", os.W_OK)) if not os.access(path, mode)]
            if not _writable(path.parent):
                problems.append("replace (its folder is not writable)")
            if problems:
                report.add(name, "file", "fail", f"{path}: cannot {' or '.join(problems)} it",
                           "give the user okrsync runs as read and write access to the file and its folder")
            else:
                report.add(name, "file", "ok", f"{path}: readable and writable")
        elif _writable(path.parent):
            report.add(name, "file", "warn", f"{path}: not there yet; the first push creates it",
                       "fine for a new endpoint; if it was synced before, restore the file (the next run fails)")
        else:
            report.add(name, "file", "fail", f"{path}: missing, and its folder cannot be written",
                       "create the folder and give the user okrsync runs as write access, or fix path:")


def probe_viva_goals(report: Report, name: str, conn: Any) -> None:
    path = conn.path
    if not path.exists():
        report.add(name, "file", "fail", f"{path}: not found",
                   "point path: at the Viva Goals export ZIP, its unzipped folder or a .json file")
    elif not os.access(path, os.R_OK):
        report.add(name, "file", "fail", f"{path}: not readable", "give the user okrsync runs as read access")
    else:
        report.add(name, "file", "ok", f"{path}: readable")


PROBES: dict[str, Callable[[Report, str, Any], None]] = {
    "jira": probe_jira, "asana": probe_asana, "clickup": probe_clickup, "google-sheets": probe_google_sheets,
    "perdoo": probe_perdoo, "quantive": probe_quantive, "tability": probe_tability,
    "csv": probe_sheet, "xlsx": probe_sheet, "viva-goals": probe_viva_goals, "smartsheet": probe_smartsheet,
    "notion": probe_notion, "airtable": probe_airtable, "graph-excel": probe_graph_excel,
}


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
    classes = {n: i.cls for n, i in plugins.connectors().items()}
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


def _unknown_options(report: Report, cfg: config_mod.Config, classes: dict[str, Any], only: tuple[str, ...]) -> set[str]:
    """Every endpoint key its connector does not declare, each a failed check (a run stops
    at the first); returns the endpoints that have any."""
    bad = set()
    for name, endpoint in cfg.endpoints.items():
        if only and name not in only:
            continue
        cls = classes[endpoint.type]
        if cls.declared_options() is None:
            report.add(name, "options", "warn", f"connector {endpoint.type!r} does not declare its options: "
                       "a mistyped key is not caught", "ask its author to set option_help (see Plugins in the README)")
            continue
        for problem in config_mod.endpoint_problems(cls, endpoint.section, f"{cfg.path}: endpoints.{name}"):
            report.add(name, "options", "fail", problem, "fix the key (README, section Connectors)", bad_config=True)
            bad.add(name)
    return bad


def _endpoint(report: Report, cfg: config_mod.Config, name: str, endpoint: config_mod.Endpoint,
              classes: dict[str, Any], creds_ok: bool, offline: bool) -> None:
    try:
        conn = classes[endpoint.type](name, endpoint.options, Context(base_dir=cfg.base_dir))
    except (ConfigError, MappingError) as e:
        if not creds_ok:  # an empty secret is refused by the connector too: said above
            report.add(name, "options", "skip", f"not fully checked while the credentials are missing ({e})")
            return
        report.add(name, "options", "fail", str(e), "fix the endpoint's options (README, section Connectors)",
                   bad_config=True)
        return
    except Exception as e:  # noqa: BLE001 - a third-party connector's bug: say so, go on
        report.add(name, "options", "fail", f"{type(e).__name__}: {e}", "the connector could not start")
        return
    probe = PROBES.get(endpoint.type)
    try:
        if probe is None:
            report.add(name, "reachable", "skip", f"no doctor probe for connector type {endpoint.type!r}")
        elif endpoint.type not in FILE_TYPES and not creds_ok:
            report.add(name, "reachable", "skip", "not tried: the credentials above are missing")
        elif endpoint.type not in FILE_TYPES and offline:
            report.add(name, "reachable", "skip", "not tried (--offline)")
        else:
            if hasattr(conn, "api"):
                _quick(conn)
            probe(report, name, conn)
    finally:
        api = getattr(conn, "api", None)
        if api is not None:
            api.close()


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
        report.add("notify", "config", "fail", str(e), "fix notify.webhook (README, Running on a schedule)",
                   bad_config=True)
        return
    if settings is not None:
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
    from .ops import REDACTOR, collect_secrets

    REDACTOR.add(collect_secrets(env.config_path))
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
