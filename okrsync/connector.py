"""The connector contract: one small class per tool, and the data it exchanges with the hub.

A connector subclasses ``Connector`` (the only base class), sets ``name`` and
``capabilities``, and implements ``read`` and ``write``. It speaks in ``Record``s whose
fields carry canonical field names (see ``okrsync.model``) and whose references
(``objective_id`` …) carry *this endpoint's* ids; the hub maps those to canonical ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Capabilities:
    """What a tool can represent. Shown by ``okrsync connectors``; used by fit reports."""

    kinds: tuple[str, ...] = ("objective", "key_result")
    kr_directions: tuple[str, ...] = ("increase", "decrease")
    kr_units: tuple[str, ...] = ("number", "percent")
    alignment: str = "none"  # none | single-parent | multi-parent
    alignment_depth: int | None = None  # levels of objectives under objectives; None = any
    weights: bool = False
    confidence: bool = False
    # can hold key results measured by levels (direction "levels": named levels and the level
    # reached, okrsync.levels); where not, the hub writes them as numeric KRs 0..n and says so
    levels: bool = False
    check_ins: str = "none"  # none | latest | history
    custom_fields: bool = False  # can keep tool-specific fields (extra)
    deletes: bool = True
    incremental: bool = False
    writes: str = "records"  # records: per-record writes | snapshot: the whole dataset each time
    max_krs_per_objective: int | None = None
    rate_limit: str | None = None  # as documented by the vendor, e.g. "150/min"
    read_only: tuple[str, ...] = ()  # kinds read from the tool but never written to it (Jira's history)
    # identity of creates: the connector writes ``Record.canonical_id`` into each record it
    # creates (an issue property, a custom field, an id column) and ``read`` gives it back as
    # ``Record.canonical_id``, so a create whose answer was lost is recognised exactly, even
    # renamed or edited since; records read without one were not made by okrsync
    holds_id: bool = False
    # seconds a created record may take to appear in a listing (eventual consistency): the hub
    # waits this long, at most, before a read may say that a create of unknown outcome did not land
    listing_lag: float = 0.0

    # facts a write relies on that no public source confirms (each connector's docs page lists them):
    # `okrsync migrate` plans them as risks until `okrsync doctor --probe` confirms them
    unconfirmed: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)  # one per record read: 100,000s in a big import
class Record:
    """One entity as an endpoint holds it."""

    kind: str
    external_id: str
    fields: dict[str, Any]
    updated: str | None = None  # the tool's own last-update time, ISO 8601 UTC, if it has one
    where: str = ""  # where it came from, for messages: "okrs.csv row 7"
    # set by the hub on records it asks a connector to write; set by ``read`` on records that
    # carry the id a create wrote into them (connectors whose capabilities say ``holds_id``)
    canonical_id: str | None = None
    key: str | None = None  # the id people see it by in the tool when not external_id (Jira's OKR-12)
    # who last changed it, as the tool names them (a display name, else the e-mail or account
    # id the tool gives; never a token), when the read okrsync makes anyway says so; None: the tool does not
    # say. Kept with the change log's rows its read causes (``changes.actor``), never guessed
    actor: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A record the connector could not read or write; the run goes on without it.

    The hub keeps it per endpoint (``rejections`` in the store) and reports it on every run
    until a read or write no longer refuses that place (same ``where``): a read that does
    not see every record (``Cursor.full_listing`` false) leaves earlier rejections open."""

    where: str  # file, sheet, row, column — or the tool's record id
    reason: str
    # the tool refused a write because the record changed there meanwhile (Jira's 409): the
    # hub reads the endpoint again and plans the push anew, once, in the same run
    replan: bool = False
    record: str = ""  # the record's kind and id where known ("key_result KR-7"), kept with the rejection

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Note:
    """Something the user should see in the run summary (e.g. unmapped columns kept in extra)."""

    message: str


@dataclass(frozen=True)
class Cursor:
    """Yielded last by ``read``: where the next read starts, and whether this read saw
    every record (a *full listing*, from which missing records can be taken as deleted)."""

    value: str | None
    full_listing: bool
    # a cheap id-only listing made instead of a full read: kind → the ids of every record of
    # that kind still on the endpoint; linked records of a listed kind missing from it were
    # deleted there (kinds not in the mapping are not judged)
    present: dict[str, frozenset[str]] | None = None


@dataclass
class WriteBatch:
    """What the hub asks an endpoint to write. Snapshot writers also get ``unchanged``."""

    creates: list[Record] = field(default_factory=list)
    updates: list[Record] = field(default_factory=list)
    deletes: list[Record] = field(default_factory=list)
    unchanged: list[Record] = field(default_factory=list)
    # the endpoint's stored cursor (its last read's, or a write's since): a connector keeping
    # notes in its cursor merges into it when no read came before the write (``okrsync push``)
    cursor: str | None = None
    # for a snapshot writer with ``Connector.in_step_on_demand``: ``unchanged`` then holds only
    # the records compared equal by this push, and ``in_step`` gives the others as asked:
    # ``in_step.keys()`` their (kind, external id) keys, no record loaded; ``in_step.records(keys)``
    # those of the keys given; ``in_step.records()`` every one, also added to ``unchanged``
    in_step: Any = None

    def __bool__(self) -> bool:
        return bool(self.creates or self.updates or self.deletes)


@dataclass
class WriteResult:
    """What was written: ``external_ids`` maps canonical ids to external ids that are new
    (records created) or changed (a tool that keys records by title renamed one)."""

    external_ids: dict[str, str] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    cursor: str | None = None  # the cursor after our own write, so it is not read back as news
    requests: int = 0
    keys: dict[str, str] = field(default_factory=dict)  # external id → the key people see (new records)


@dataclass
class Context:
    """What the core hands a connector: where relative paths start, and shared services."""

    base_dir: Path = field(default_factory=Path.cwd)
    strict: bool = False


# options the hub itself reads from every endpoint, whatever its connector
COMMON_OPTIONS: dict[str, str] = {
    "deletes": "propagate | archive | ignore: what a record deleted on this endpoint does in the hub (default propagate)",
    "sandbox": "where `okrsync doctor --probe` may create and delete throwaway records (e.g. {session: …} for "
               "Quantive); without it no probe runs",
}


@dataclass(frozen=True)
class ProbeResult:
    """One row of ``okrsync doctor --probe``: a claim a connector relies on, and what the
    account said about it."""

    claim: str  # an entry of Capabilities.unconfirmed word for word, or a plain claim
    verdict: str  # confirmed | contradicted | not testable
    detail: str = ""  # what came back (contradicted), or why it cannot be tested


class Connector:
    """Base class of every connector.

    Subclasses set ``name`` (unique; the ``type`` of an endpoint in the config),
    ``capabilities`` and a one-line ``description``, and implement ``read`` and ``write``.
    ``options`` is the endpoint's config section, secrets already resolved.

    ``option_help`` declares the options an endpoint of this connector may set (name →
    one line of help; ``COMMON_OPTIONS`` come on top) and ``required_options`` those it
    must set. The hub checks every endpoint's keys against them when the config is loaded,
    before any connector is built: an unknown key is a config error (exit 2) with the
    file, the line and a did-you-mean; ``okrsync doctor`` lists them all. A connector that
    leaves ``option_help`` None has its keys unchecked (doctor warns).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    option_help: ClassVar[dict[str, str] | None] = None
    required_options: ClassVar[tuple[str, ...]] = ()
    # a snapshot writer that loads the records in step only as it needs them (``WriteBatch.in_step``):
    # a file it patches needs few of them
    in_step_on_demand: ClassVar[bool] = False

    @classmethod
    def declared_options(cls) -> dict[str, str] | None:
        """Every option an endpoint of this connector may set, name → help (None: not declared)."""
        return None if cls.option_help is None else {**COMMON_OPTIONS, **cls.option_help}

    def __init__(self, endpoint: str, options: dict[str, Any], context: Context | None = None):
        self.endpoint = endpoint
        self.options = options
        self.context = context or Context()

    def read(self, cursor: str | None) -> Iterator[Record | Rejected | Note | Cursor]:
        """Yield the endpoint's records (parents before children), then one ``Cursor``.

        ``cursor`` is what the previous successful read's ``Cursor`` said (None the first
        time). A record that cannot be read is yielded as ``Rejected`` and the read goes on.
        Raise ``ConnectorError`` subclasses for failures of the whole read. A connector whose
        capabilities say ``holds_id`` sets ``Record.canonical_id`` from what its creates wrote.
        """
        raise NotImplementedError

    def write(self, batch: WriteBatch) -> WriteResult:
        """Write creates, updates and deletes; report new external ids and rejected records.

        Must be all-or-nothing per record: a record is either written and reported, or
        rejected and left untouched on the remote. Where capabilities say ``holds_id``, each
        create carries ``Record.canonical_id`` into the record it makes, in the same request.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release what this connector holds: its HTTP client, files it keeps open. Called once
        when the run that built it ends, also when the run failed; the connector is not used
        again. The default closes ``self.api`` (an ``okrsync.http.Api``) when the connector set
        one, which is how the built-in API connectors hold their client; a connector holding
        more overrides it and calls ``super().close()``. Connectors are context managers too
        (``with Cls(name, options) as conn: ...``), for scripts and tests."""
        api = getattr(self, "api", None)
        if api is not None:
            api.close()

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def take_counts(self) -> tuple[int, int]:
        """Requests sent and retries made since the last call, for the run's counters
        (API connectors return their ``okrsync.http.Api``'s counts)."""
        return 0, 0

    def doctor(self, kit: Any) -> None:
        """This endpoint's own checks in ``okrsync doctor``: cheap, read-only, run on every
        ``okrsync doctor`` without any sandbox (``probe`` below is the one that writes, and
        only when asked; the two stay apart because one must never be mistaken for the other).

        ``kit`` is an ``okrsync.doctor.Kit``: ``kit.call(check, hints, fn)`` sends one request
        (``fn``, through this connector's own client) and returns its answer, or None after
        adding a failed ``check`` with advice (``hints``: HTTP status → what to do; under
        ``--offline`` or without credentials it sends nothing, stops these checks and says
        so once); ``kit.add(check, status, detail, advice)`` adds a line (status ok | warn |
        fail | skip; advice on every warn and fail); ``kit.writable(folder)`` says whether
        files can be created there. Check names in use: reachable, project, issue types,
        permissions, fields, file. Lines go into the kit in the order made (a refused login
        stops the rest); a fail makes ``okrsync doctor`` exit 1. The hub has already checked
        the config, options and secrets, and calls ``close`` afterwards. The default:
        this connector declares no checks (doctor says so).
        """
        raise NotImplementedError

    def probe(self, sandbox: dict[str, Any], kit: Any) -> list[ProbeResult]:
        """Check this connector's claims on the user's own account (``okrsync doctor --probe``).

        Receives ``sandbox``, the endpoint's ``sandbox:`` section from the config (the place
        the user named for throwaway records: a Quantive session, a ClickUp folder, a Perdoo
        group …; never empty: without one the probe does not run), and ``kit``, an
        ``okrsync.probe.Kit``: ``kit.round_trip(objective, key_results)`` creates a throwaway
        objective and KRs through this connector's own ``write``, reads them back with
        ``read``, compares field by field and deletes them; ``kit.track(kind, id)`` /
        ``kit.untrack(kind, id)`` around any other remote record a probe creates (an
        interrupted probe's leftovers are deleted by the next). Returns one ``ProbeResult`` per
        claim: every entry of ``capabilities.unconfirmed`` (word for word), and whatever else
        it checked, each confirmed, contradicted (``detail``: what came back) or not
        testable (``detail``: why). The default: this connector declares no probe.
        """
        raise NotImplementedError

    @classmethod
    def sandbox_options(cls, sandbox: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        """Option overrides that point this connector at its sandbox, for a connector whose
        sandbox is a place its own options name (a Notion database, an Airtable table, a
        Smartsheet sheet, a workbook). ``okrsync doctor --probe`` builds every connector of the
        probe with them (the one writing, the one reading back, the one deleting an interrupted
        probe's leftovers), so nothing of the probe reaches the endpoint's own tables.
        ``options`` are the endpoint's; raise ``ConfigError`` (its message starting "sandbox:",
        the hub says which endpoint) for a sandbox that names no place of its own. The
        default: none (``probe`` itself goes where ``sandbox`` says)."""
        return {}

    def migration_risks(self, entities: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """What writing ``entities`` (canonical id, kind, fields — the hub's records) here may
        lose or change although the fields are held: ``{"what", "count", "examples"}`` rows
        (examples: up to three canonical ids), listed by ``okrsync migrate``'s plan with the
        capability losses. The default: none."""
        return []

    def fields(self, kind: str) -> set[str] | None:
        """Canonical fields this endpoint holds for ``kind`` (None: every field).

        The hub only compares and writes these, so an endpoint is never asked to hold a
        field it cannot keep, and a missing field is not mistaken for a deletion. Of
        ``extra`` it holds its own namespace (``extra.<endpoint>.*``); a set holding
        ``"extra.*"`` (``okrsync.sync.ALL_EXTRAS``) says it keeps every tool's extra.
        """
        return None
