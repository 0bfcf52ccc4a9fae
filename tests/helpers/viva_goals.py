"""The Viva Goals exports in tests/fixtures/viva_goals, read through the importer."""

from pathlib import Path

from okrsync.connector import Context, Record
from okrsync.connectors.viva_goals import VivaGoalsConnector

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "viva_goals"


def read(path, **options):
    """Everything one read of the export at ``path`` (under FIXTURES) yields, cursor last."""
    conn = VivaGoalsConnector("vg", {"path": str(path), **options}, Context(base_dir=FIXTURES))
    return list(conn.read(None))


def records(items, kind=None):
    """The records among ``items`` (of ``kind``, if given) by their Viva Goals id."""
    return {r.external_id: r for r in items if isinstance(r, Record) and (kind is None or r.kind == kind)}
