"""Microsoft Viva Goals export importer (read only): ``type: viva-goals``, ``path:`` a ZIP,
a folder or one JSON file of the organisation's JSON export, or the CSV of one Explorer
view that Graph's export job returns (``viva_goals_csv``: its rows become the same items).

Viva Goals was retired on 2025-12-31; what its customers kept is the export: JSON arrays
named TimePeriods, Teams, Users, objectives, checkins and comments (field names as read
by public importers; Microsoft's pages do not list them: see ``mappings/vendors/viva_goals.yaml``).
Every OKR item sits in the objectives array, its ``Type`` in the organisation's own words
(Objective / Key Result / Project …), linked by ``Parent IDs``.

Reading turns it into canonical records: objectives (period from the time period, team,
owner, primary parent), key results (start/target/direction/unit from ``Outcome``, current
value from the latest check-in), initiatives (projects, under a KR, objective or project),
extra parents as alignment edges, and check-ins on key results. A record that cannot be
read is rejected with file, item index, ID, field and what to do; the rest still imports.
The export is a whole snapshot, so every read is a full listing.

Nothing is ever written back: every kind is ``read_only`` (the hub never plans a push to
it) and ``write`` raises a FatalError saying so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from okrsync import transforms as tf
from okrsync.connector import Capabilities, Connector, Cursor, Note, Record, Rejected, WriteBatch, WriteResult
from okrsync.errors import FatalError, MappingError

from .common import check_endpoint, load_mapping, mapping_source
from .viva_goals_csv import explorer_rows

OPTIONS = {
    "path": "the Viva Goals export: the ZIP, its unzipped folder or one objectives JSON file",
    "mapping": "overrides of the shipped mapping: a map, or the path of your own YAML file",
}
KINDS = ("objective", "key_result", "initiative", "alignment", "check_in")
# file role → words its name contains (case-insensitive), in the order they are tried
ROLES = (("periods", ("timeperiod", "time_period", "time period")), ("checkins", ("checkin", "check-in", "check_in")),
         ("comments", ("comment",)), ("teams", ("team",)), ("users", ("user",)), ("objectives", ("objective", "okr")))
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
HELD = {
    "objective": {"title", "description", "owner", "team", "period", "parent_id", "type", "status", "start", "due"},
    "key_result": {"objective_id", "title", "description", "owner", "direction", "unit", "currency", "start",
                   "current", "target", "weight", "status", "due"},
    "initiative": {"title", "key_result_id", "objective_id", "parent_id", "description", "owner", "status",
                   "progress", "start", "due"},
    "alignment": {"child_id", "parent_id", "type", "primary", "weight"},
    "check_in": {"key_result_id", "at", "value", "status", "note", "author"},
}


class Bad(ValueError):
    """One field of one item that cannot be read: ``field`` names it, the message says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


@dataclass
class Item:
    """One element of an export array, with where it came from."""

    data: dict[str, Any]
    file: str
    index: int
    line: int | None = None  # a CSV row's line number
    headers: dict[str, str] | None = None  # a CSV's export field → its header, to name the column

    @property
    def where(self) -> str:
        ident = self.data.get("ID") if isinstance(self.data, dict) else None
        at = f"{self.file} row {self.line}" if self.line else f"{self.file} [{self.index}]"
        return at + (f" (ID {ident})" if ident is not None else "")

    def column(self, field: str) -> str:
        """A field as the file names it: a CSV's header, else the JSON key."""
        return (self.headers or {}).get(field, field)


class VivaGoalsConnector(Connector):
    name = "viva-goals"
    option_help = OPTIONS
    required_options = ("path",)
    description = "Microsoft Viva Goals JSON export (ZIP, folder or file): import only; Viva Goals retired 2025-12-31"
    capabilities = Capabilities(
        kinds=KINDS, kr_directions=("increase", "decrease", "stay_above", "stay_below"),
        kr_units=("number", "percent", "currency"), alignment="multi-parent", alignment_depth=None,
        weights=True, confidence=False,  # the export carries no confidence
        check_ins="history", custom_fields=True, deletes=False, incremental=False, writes="records",
        rate_limit=None, read_only=KINDS,  # an archive of a retired product: never written
    )

    def __init__(self, endpoint, options, context=None):
        super().__init__(endpoint, options, context)
        where = check_endpoint(self)
        self.path = self.context.base_dir / Path(str(options["path"])).expanduser()
        self.mapping = load_mapping("viva_goals", *mapping_source(self))
        self.kind_of = _vocabulary(self.mapping["types"], f"{where}: mapping.types")
        self.statuses = _vocabulary(self.mapping["status"], f"{where}: mapping.status")
        self.directions = _vocabulary(self.mapping["directions"], f"{where}: mapping.directions")
        self.goal_types = _vocabulary(self.mapping["goal_types"], f"{where}: mapping.goal_types")
        self.percent_units = {tf.choice_key(u) for u in self.mapping["percent_units"]}
        self.currencies = {tf.choice_key(k): v for k, v in self.mapping["currency_units"].items()}
        self.csv_columns = _vocabulary(self.mapping["csv_columns"], f"{where}: mapping.csv_columns")

    def fields(self, kind: str) -> set[str] | None:
        held = HELD.get(kind)
        return held | {f"extra.{self.endpoint}"} if held else set()

    def write(self, batch: WriteBatch) -> WriteResult:
        raise FatalError("a viva-goals endpoint is import only: Viva Goals was retired on 2025-12-31 and its "
                         "export is an archive. Use it as a source (pull, or first in sync.order) and write to "
                         "another endpoint", endpoint=self.endpoint)

    # ------------------------------------------------------------ files

    def _files(self) -> tuple[dict[str, tuple[str, bytes]], list[str]]:
        """role → (label, bytes) of the export's JSON files, and the names not recognised."""
        if not self.path.exists():
            raise FatalError(f"{self.path}: not found; point 'path:' at the Viva Goals export ZIP, its folder or "
                             "its objectives JSON file", endpoint=self.endpoint)
        raw: list[tuple[str, bytes]] = []
        if self.path.is_dir():
            raw = [(str(p.relative_to(self.path)), p.read_bytes()) for p in sorted(self.path.rglob("*.json"))]
        elif zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as archive:
                raw = [(f"{self.path.name} › {n}", archive.read(n)) for n in sorted(archive.namelist())
                       if n.lower().endswith(".json") and not n.endswith("/")]
        elif self.path.suffix.lower() == ".json":
            raw = [(self.path.name, self.path.read_bytes())]
        else:
            raise FatalError(f"{self.path}: not a ZIP, a folder or a .json file; give the export as Viva Goals "
                             "produced it", endpoint=self.endpoint)
        found: dict[str, tuple[str, bytes]] = {}
        unknown = []
        for label, data in raw:
            base = label.rsplit("/", 1)[-1].rsplit("›", 1)[-1].strip().lower()
            role = next((r for r, words in ROLES if any(w in base for w in words)), None)
            if role is None or role in found:
                unknown.append(label)
            else:
                found[role] = (label, data)
        if "objectives" not in found:
            names = ", ".join(label for label, _ in raw) or "no JSON files"
            raise FatalError(f"{self.path}: no objectives file (a JSON file whose name contains 'objectives'); "
                             f"found {names}. Unzip nothing: give the export ZIP as downloaded", endpoint=self.endpoint)
        return found, unknown

    def _items(self, label: str, data: bytes) -> list[Item]:
        try:
            parsed = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as e:
            raise FatalError(f"{label}: byte {e.start}: not UTF-8 text; export the data again", endpoint=self.endpoint) from None
        except json.JSONDecodeError as e:
            raise FatalError(f"{label}: line {e.lineno}, column {e.colno}: not valid JSON ({e.msg}); the file was "
                             "cut short or edited: export it again, or fix it there", endpoint=self.endpoint) from None
        if not isinstance(parsed, list):
            raise FatalError(f"{label}: holds a JSON {type(parsed).__name__}, not the array of records the export "
                             "has", endpoint=self.endpoint)
        return [Item(d, label, i) for i, d in enumerate(parsed)]

    # ------------------------------------------------------------ reading

    def _csv(self) -> tuple[dict[str, tuple[str, bytes]], dict[str, list[Item]]]:
        """The Explorer view CSV as the objectives role's items."""
        label, data = self.path.name, self.path.read_bytes()
        try:
            rows, headers = explorer_rows(label, data, self.csv_columns)
        except ValueError as e:
            raise FatalError(str(e), endpoint=self.endpoint) from None
        items = [Item(d, label, i, line=line, headers=headers) for i, (line, d) in enumerate(rows)]
        return {"objectives": (label, data)}, {"objectives": items}

    def doctor(self, kit) -> None:
        """The export (ZIP, folder or file) is there and readable."""
        path = self.path
        if not path.exists():
            kit.add("file", "fail", f"{path}: not found",
                    "point path: at the Viva Goals export ZIP, its unzipped folder or a .json file")
        elif not os.access(path, os.R_OK):
            kit.add("file", "fail", f"{path}: not readable", "give the user okrsync runs as read access")
        else:
            kit.add("file", "ok", f"{path}: readable")

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        if self.path.suffix.lower() == ".csv" and self.path.is_file():
            files, items = self._csv()
            yield Note(f"{files['objectives'][0]}: an Explorer view CSV holds no check-ins, alignment weights or "
                       "period dates: key results take their current value from its column, periods their "
                       "label from the period's name; import the JSON export for the history")
        else:
            files, unknown = self._files()
            items = {role: self._items(label, data) for role, (label, data) in files.items()}
            for label in unknown:
                yield Note(f"{label}: not a part of the Viva Goals export okrsync reads; skipped")
        digest = hashlib.sha256()
        for _role, (label, data) in sorted(files.items()):
            digest.update(label.encode() + b"\0" + data)
        periods = {p.data.get("ID"): p.data for p in items.get("periods", []) if isinstance(p.data, dict)}
        emails = {u.data.get("ID"): u.data.get("Email") for u in items.get("users", []) if isinstance(u.data, dict)}
        state = _Export(self, periods, emails)
        for item in items["objectives"]:
            bad = state.index(item)
            if bad:
                yield bad
        check_ins = list(state.check_ins(items.get("checkins", [])))  # first: KRs take their current value from them
        yield from state.okrs()
        yield from check_ins
        if items.get("comments"):
            yield Note(f"{len(items['comments'])} comment(s) in {files['comments'][0]} are not imported: the "
                       "canonical model has no comments")
        yield Cursor(digest.hexdigest(), full_listing=True)


class _Export:
    """The objectives array indexed by ID, turned into records parents first."""

    def __init__(self, conn: VivaGoalsConnector, periods: dict, emails: dict):
        self.conn, self.periods, self.emails = conn, periods, emails
        self.ns = f"extra.{conn.endpoint}."
        self.items: dict[str, tuple[str, Item]] = {}  # ID → (kind, item)
        self.current: dict[str, tuple[str, float]] = {}  # KR ID → (at, value) of its latest check-in
        self.skipped_check_ins = 0

    def index(self, item: Item) -> Rejected | None:
        d = item.data
        if not isinstance(d, dict):
            return Rejected(item.where, f"is a JSON {type(d).__name__}, not an OKR record; remove it from the array")
        ident, kind_word = d.get("ID"), d.get("Type")
        if ident is None:
            return Rejected(item.where, "ID: missing; every exported OKR has one (was the file edited?)")
        kind = self.conn.kind_of.get(tf.choice_key(kind_word)) if isinstance(kind_word, str) else None
        if kind is None:
            known = ", ".join(w for words in self.conn.mapping["types"].values() for w in words)
            return Rejected(item.where, f"Type: {kind_word!r} is none of the known terms ({known}); add it under "
                                        "the endpoint's mapping.types.objective / key_result / initiative")
        if str(ident) in self.items:
            return Rejected(item.where, f"ID: {ident} appears twice in {item.file}; keep one of them")
        self.items[str(ident)] = (kind, item)
        return None

    def okrs(self) -> Iterator[Record | Rejected]:
        """Objectives (parents first), key results, initiatives (parents first), alignments."""
        order = {"objective": 0, "key_result": 1, "initiative": 2}
        ranked = sorted(self.items.items(), key=lambda kv: (order[kv[1][0]], self._depth(kv[0]), kv[1][1].index))
        edges: list[Record] = []
        for ident, (kind, item) in ranked:
            try:
                fields, parents = self._fields(kind, item)
                updated = _iso(item.data.get("Last Check-in"), "Last Check-in")
            except Bad as e:
                yield Rejected(f"{item.where}, {item.column(e.field)}", str(e))
                continue
            yield Record(kind, ident, fields, updated=updated, where=f"{item.where} {item.data.get('Title')!r}")
            edges += [Record("alignment", f"{ident}>{p}", {"child_id": ident, "parent_id": p, "type": "contributes_to",
                                                           "primary": False, "weight": w},
                             where=f"{item.where}, Parent IDs") for p, w in parents]
        yield from edges

    def _depth(self, ident: str, seen: frozenset = frozenset()) -> int:
        kind, item = self.items[ident]
        parent = self._primary(item, ("objective",) if kind == "objective" else ("initiative",) if kind == "initiative" else ())
        if parent is None or parent in seen:
            return 0
        return 1 + self._depth(parent, seen | {ident})

    def _parents(self, item: Item) -> list[str]:
        ids = item.data.get("Parent IDs") or []
        if not isinstance(ids, list):
            raise Bad("Parent IDs", f"{ids!r} is not a list of IDs; fix the file or export again")
        return [str(i) for i in ids]

    def _primary(self, item: Item, kinds: tuple[str, ...]) -> str | None:
        try:
            parents = self._parents(item)
        except Bad:
            return None
        return next((p for p in parents if p in self.items and self.items[p][0] in kinds), None)

    def _fields(self, kind: str, item: Item) -> tuple[dict[str, Any], list[tuple[str, float | None]]]:
        """Canonical fields, and the extra objective parents (alignment edges) with weights."""
        d, ns = item.data, self.ns
        title = d.get("Title")
        if not isinstance(title, str) or not title.strip():
            raise Bad("Title", "missing or empty; give the OKR a title in the file (or remove it)")
        weights = self._weights(d)
        out: dict[str, Any] = {"title": title.strip(), "description": _text(d.get("Description")),
                               "owner": self._owner(d.get("Owner")), "status": self._choice(d, "Status", self.conn.statuses),
                               "due": _date(d, "End Date")}
        out[ns + "type"] = d.get("Type")
        for header, value in (d.get("_extra") or {}).items():  # a CSV's columns no field claims
            out[ns + header] = value
        for key, name in (("Progress", "progress"), ("Score", "score")):
            if d.get(key) is not None:
                out[ns + name] = _number(d, key)
        parents = [p for p in self._parents(item) if p in self.items]
        objective_parents = [p for p in parents if self.items[p][0] == "objective"]
        if len(parents) < len(self._parents(item)):
            out[ns + "missing_parents"] = [p for p in self._parents(item) if p not in self.items]
        primary: str | None = None
        if kind == "objective":
            primary = objective_parents[0] if objective_parents else None
            out.update({"parent_id": primary, "team": _first_name(d.get("Teams")), "period": self._period(d),
                        "type": self._choice(d, "Goal Type", self.conn.goal_types), "start": _date(d, "Start Date")})
        elif kind == "key_result":
            primary = objective_parents[0] if objective_parents else None
            out.update({"objective_id": primary, "weight": weights.get(primary)})
            out.update(self._outcome(d, item))
        else:
            primary = parents[0] if parents else None
            ref = {"key_result": "key_result_id", "objective": "objective_id", "initiative": "parent_id"}
            out.update({name: None for name in ref.values()})
            if primary:
                out[ref[self.items[primary][0]]] = primary
            progress = _number(d, "Progress")
            out.update({"progress": None if progress is None else progress / 100, "start": _date(d, "Start Date")})
        extra = [(p, weights.get(p)) for p in objective_parents if p != primary] if kind != "initiative" else []
        return out, extra

    def _outcome(self, d: dict, item: Item) -> dict[str, Any]:
        outcome = d.get("Outcome") or {}
        if not isinstance(outcome, dict):
            raise Bad("Outcome", f"{outcome!r} is not an object with Outcome Type, Start and Target")
        ns, out = self.ns, {}
        latest = self.current.get(str(d.get("ID")))
        if outcome.get("Outcome Type") == "Metric":
            start, target = _number(outcome, "Start", "Outcome.Start"), _number(outcome, "Target", "Outcome.Target")
            word = outcome.get("Target Type")
            direction = self.conn.directions.get(tf.choice_key(word)) if word else None
            if word and direction is None:
                raise Bad("Outcome.Target Type", f"{word!r} is not a known target type; add it under the "
                                                 "endpoint's mapping.directions")
            if direction in (None, "increase", "decrease") and start is not None and target is not None:
                direction = "decrease" if target < start else "increase"  # "Reach" goes either way
            unit, currency = self._unit(outcome.get("Metric Unit"))
            out.update({"start": start, "target": target, "direction": direction or "increase", "unit": unit,
                        "currency": currency,
                        "current": latest[1] if latest else _number(outcome, "Current", "Outcome.Current")})
            out[ns + "target_type"] = word
            out[ns + "metric_name"] = outcome.get("Metric Name")
            if outcome.get("Metric Unit") and unit == "number":
                out[ns + "unit"] = outcome.get("Metric Unit")
        else:  # "Percentage": progress 0–100 % is the measure
            progress = _number(d, "Progress")
            out.update({"start": 0.0, "target": 100.0, "direction": "increase", "unit": "percent", "currency": None,
                        "current": latest[1] if latest else progress})
        return out

    def _unit(self, word: Any) -> tuple[str, str | None]:
        if not isinstance(word, str) or not word.strip():
            return "number", None
        key = tf.choice_key(word)
        if key in self.conn.percent_units or word.strip() == "%":
            return "percent", None
        code = self.conn.currencies.get(key) or self.conn.currencies.get(word.strip())
        if code:
            return "currency", code
        if CURRENCY_CODE.match(word.strip()):
            return "currency", word.strip()
        return "number", None

    def _weights(self, d: dict) -> dict[str, float | None]:
        out = {}
        for entry in d.get("Alignment") or []:
            if isinstance(entry, dict) and entry.get("ID") is not None:
                try:
                    value = tf.parse_number(str(entry.get("Weight")).rstrip("%")) if entry.get("Weight") not in (None, "") else None
                except tf.TransformError:
                    raise Bad("Alignment.Weight", f"{entry.get('Weight')!r} is not a weight like \"50%\"") from None
                out[str(entry["ID"])] = None if value is None else value / 100
        return out

    def _owner(self, owners: Any) -> str | None:
        first = owners[0] if isinstance(owners, list) and owners else owners if isinstance(owners, dict) else None
        if not isinstance(first, dict):
            return None
        return first.get("Email") or self.emails.get(first.get("ID")) or first.get("Name")

    def _choice(self, d: dict, key: str, vocabulary: dict[str, str]) -> str | None:
        word = d.get(key)
        if word in (None, ""):
            return None
        found = vocabulary.get(tf.choice_key(word))
        if found is None:
            raise Bad(key, f"{word!r} is not a known value; add it to the endpoint's mapping "
                           f"({', '.join(sorted(set(vocabulary.values())))})")
        return found

    def _period(self, d: dict) -> str | None:
        period = d.get("Time Period")
        if not isinstance(period, dict):
            return None
        known = self.periods.get(period.get("ID")) or {}
        start, end = _date(known, "Start Date"), _date(known, "End Date")
        if start and end:
            label = tf.period_for_dates(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
            if label:
                return label
        name = period.get("Name") or known.get("Time Period Name")
        try:
            found = tf.parse_period(name)
        except tf.TransformError:
            return name  # "FY26 planning": kept as the label the organisation used
        return found.label if found else None

    # ------------------------------------------------------------ check-ins

    def check_ins(self, items: list[Item]) -> Iterator[Record | Rejected | Note]:
        records = []
        for item in items:
            d = item.data
            if not isinstance(d, dict):
                yield Rejected(item.where, "is not a check-in record; remove it from the array")
                continue
            okr = str(d.get("OKR ID"))
            if okr not in self.items:
                yield Rejected(f"{item.where}, OKR ID", f"{d.get('OKR ID')!r} is no OKR in the objectives file "
                                                        "(deleted, or the export is incomplete); export again")
                continue
            if self.items[okr][0] != "key_result":
                self.skipped_check_ins += 1  # on an objective or project: the model keeps KR check-ins
                continue
            try:
                at = _iso(d.get("Activity Date"), "Activity Date") or _iso(d.get("CheckIn Date"), "CheckIn Date")
                if at is None:
                    raise Bad("CheckIn Date", "missing; a check-in needs its date")
                note = d.get("Check In Note")
                fields = {"key_result_id": okr, "at": at, "value": _number(d, "Current Value"),
                          "status": self._choice(d, "Status", self.conn.statuses),
                          "note": _text(note.get("Check In Note") if isinstance(note, dict) else note),
                          "author": self._owner(d.get("Check In Owner"))}
            except Bad as e:
                yield Rejected(f"{item.where}, {e.field}", str(e))
                continue
            records.append(Record("check_in", str(d.get("ID")), fields, updated=at, where=item.where))
            latest = self.current.get(okr)
            if fields["value"] is not None and (latest is None or at >= latest[0]):
                self.current[okr] = (at, fields["value"])
        yield from records
        if self.skipped_check_ins:
            yield Note(f"{self.skipped_check_ins} check-in(s) on objectives or projects are not imported: the "
                       "canonical model keeps check-ins on key results")


def _vocabulary(table: Any, where: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise MappingError(f"{where}: give a map of value → list of words")
    out = {}
    for value, words in table.items():
        for word in words if isinstance(words, list) else [words]:
            out[tf.choice_key(word)] = value
    return out


def _number(d: dict, key: str, field: str | None = None) -> float | None:
    value = d.get(key)
    if value in (None, ""):
        return None
    try:
        return tf.parse_number(value)
    except tf.TransformError:
        raise Bad(field or key, f"{value!r} is not a number; fix it in the file") from None


def _date(d: dict, key: str) -> str | None:
    try:
        day = tf.parse_date(d.get(key))
    except tf.TransformError:
        raise Bad(key, f"{d.get(key)!r} is not a date like \"2025-03-31\"; fix it in the file") from None
    return day.isoformat() if day else None


def _iso(value: Any, field: str = "date") -> str | None:
    try:
        moment = tf.parse_datetime(value)
    except tf.TransformError:
        raise Bad(field, f"{value!r} is not a date and time; fix it in the file") from None
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _first_name(teams: Any) -> str | None:
    if isinstance(teams, list) and teams and isinstance(teams[0], dict):
        return teams[0].get("Name")
    return None
