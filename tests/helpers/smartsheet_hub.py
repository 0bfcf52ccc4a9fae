"""The bundled example spreadsheet synced with a Smartsheet sheet, as the Smartsheet tests set
it up whether the emulator answers over HTTP (the end-to-end tests) or behind respx (the spec
tests)."""

import shutil

from okrsync.config import Config
from okrsync.connectors.smartsheet import SmartsheetConnector
from okrsync.connectors.spreadsheet import CsvConnector
from okrsync.store import Store
from okrsync.sync import Hub

from .saas_e2e import EXAMPLE

SHEET, KRS = 4583173393803140, 2331373580117892  # the sheet ids: the one sheet, and key results when linked


def make_hub(tmp_path, emu, ss: dict, sync=None) -> Hub:
    """A hub syncing a copy of examples/okrs.csv ("planning-sheet") with the Smartsheet endpoint
    "ss" (its options ``ss``) held by ``emu``: sheet SHEET added, and KRS with the ``tables``
    option in the linked layout. ``sync`` adds to the sync section; retries do not sleep."""
    shutil.copy(EXAMPLE, tmp_path / "okrs.csv")
    emu.add_sheet(SHEET, "OKRs")
    if ss.get("layout") == "linked":
        emu.add_sheet(KRS, "Key results")
        ss = {"tables": {"objective": str(SHEET), "key_result": str(KRS)}, **ss}
    config = Config.of(tmp_path, {"planning-sheet": {"type": "csv", "path": "okrs.csv"}, "ss": ss},
                       {"order": ["planning-sheet", "ss"], **(sync or {})})
    hub = Hub(config, Store(None), {"csv": CsvConnector, "smartsheet": SmartsheetConnector})
    hub.connector("ss").api.sleep = lambda s: None
    return hub
