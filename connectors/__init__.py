"""Built-in connector plugins, installed as ``okrsync.connectors``.

This package is one plugin (``okrsync.plugins.DEFAULT_PLUGINS``): its hook registers each
built-in connector by name and by where its class is, through the same ``register`` a
third-party plugin uses, so a run imports only the connectors its endpoints use (importing
them all, with httpx, openpyxl and jsonpath, was ~0.3 s of every command). Nothing is
imported here.
"""

from okrsync.hookspecs import hookimpl

# name (an endpoint's ``type``) → "module:Class"; tests/test_plugins.py loads each and checks its name
BUILT_IN = {
    "csv": "okrsync.connectors.spreadsheet:CsvConnector",
    "xlsx": "okrsync.connectors.spreadsheet:XlsxConnector",
    "jira": "okrsync.connectors.jira:JiraConnector",
    "tability": "okrsync.connectors.tability:TabilityConnector",
    "viva-goals": "okrsync.connectors.viva_goals:VivaGoalsConnector",
    "google-sheets": "okrsync.connectors.google_sheets:GoogleSheetsConnector",
    "clickup": "okrsync.connectors.clickup:ClickUpConnector",
    "perdoo": "okrsync.connectors.perdoo:PerdooConnector",
    "quantive": "okrsync.connectors.quantive:QuantiveConnector",
    "asana": "okrsync.connectors.asana:AsanaConnector",
    "json": "okrsync.connectors.structured:JsonConnector",  # json and yaml, read through a mapping
    "yaml": "okrsync.connectors.structured:YamlConnector",
    "okr-json": "okrsync.connectors.okr_json:OkrJsonConnector",
    "smartsheet": "okrsync.connectors.smartsheet:SmartsheetConnector",
    "notion": "okrsync.connectors.notion:NotionConnector",
    "airtable": "okrsync.connectors.airtable:AirtableConnector",
    "graph-excel": "okrsync.connectors.graph_excel:GraphExcelConnector",
}


@hookimpl
def register_connectors(register):
    for name, ref in BUILT_IN.items():
        register(name, ref)
