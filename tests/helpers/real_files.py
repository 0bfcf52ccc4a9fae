"""The real OKR files written by others (tests/fixtures/real, see ATTRIBUTION.md there) and
the endpoint options each is read with."""

from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
DASHBOARD = "es_initiative_dashboard"
PRODUCT_OPS = "flat_kr_rows_percent_words_product_ops_sandbox.csv"
NDIT = "nd_state_it_okrs_sharepoint"
GTMHUB = "gtmhub_import_workbook/Users_OKRs_Data.xlsx"

# What each file is read with: (path under REAL, endpoint options).
FIXTURES = {
    "product-ops": (PRODUCT_OPS, {}),  # auto-detection is enough
    "objectives-rows": (f"{DASHBOARD}/objectives_rows.csv",
                        {"layout": "linked", "tables": {"objective": "objectives_rows.csv"}, "mapping": "objectives_rows.yaml"}),
    "okr-bulk": (f"{DASHBOARD}/OKR_BULK_TEMPLATE.csv", {"mapping": "okr_bulk_template.yaml"}),
    "valid-small": (f"{DASHBOARD}/valid-small.csv", {"mapping": "valid-small.yaml"}),
    "ndit": (f"{NDIT}/OKRs.csv", {"mapping": "nd_state_okrs.yaml"}),
    "ndit-sync": (f"{NDIT}/OKRs-Sync.csv", {"mapping": "nd_state_okrs.yaml"}),
    "ndit-teams": (f"{NDIT}/OKRs-Teams.csv", {"layout": "linked", "tables": {"team": "OKRs-Teams.csv"},
                                              "mapping": "nd_state_teams.yaml"}),
    "kpis": ("pt_okrs_kpi_catalog_vertice/kpis.csv", {"mapping": "kpi_catalog.yaml"}),
    "gtmhub-okrs": (GTMHUB, {"sheet": "OKRs", "mapping": "gtmhub_okrs.yaml"}),
    "gtmhub-tasks": (GTMHUB, {"sheet": "Tasks", "mapping": "gtmhub_tasks.yaml"}),
}
