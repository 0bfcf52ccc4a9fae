"""Shipped mapping files (package data), installed as ``okrsync.mappings``; two formats, two places.

- ``sheets/``: spreadsheet mappings (CSV, XLSX, Google Sheets, and the table services that
  reuse them): which columns hold which canonical fields, per entity, with the value
  vocabularies. Loaded by ``okrsync.mapping.Mapping.load``; an endpoint names one with
  ``mapping: spreadsheet`` or its own file (``extends: spreadsheet``). Schema: docs/mappings.md.
- ``vendors/``: one per API connector (``jira.yaml``, ``asana.yaml`` …): how the tool's own
  fields, statuses and types map to canonical ones. Loaded by
  ``okrsync.connectors.common.load_mapping``; an endpoint's ``mapping:`` section overrides
  keys of it. Rules: docs/mappings.md, "Vendor mappings"; keys: each connector's docs page.
"""
