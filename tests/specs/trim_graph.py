"""Trim Microsoft Graph's published v1.0 metadata (CSDL) to what the graph-excel connector uses.

    python tests/specs/trim_graph.py FULL_CSDL     # schemas/v1.0-Prod.csdl of microsoftgraph/msgraph-metadata

Microsoft's OpenAPI description of Graph (``openapi/v1.0/openapi.yaml`` in the same
repository) is generated from this CSDL; it is too large to keep, and could not be brought
here, so the checks in ``tests/helpers/graph_spec.py`` read the CSDL itself. Kept, verbatim (the
lines of each element, unchanged): the entity types a request walks through or an answer
is (``entity``, ``baseItem``, ``drive``, ``driveItem``, ``workbook``, ``workbookWorksheet``,
``workbookRange``), the ``drives`` entity set, and the functions bound to a worksheet that
okrsync calls (``usedRange``, ``range``). Writes ``graph-v1.0.trimmed.csdl.xml`` beside this
script; ``graph-v1.0.SOURCES.md`` says where the full file came from.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TYPES = ("entity", "baseItem", "drive", "driveItem", "workbook", "workbookWorksheet", "workbookRange")
FUNCTIONS = ("usedRange", "range")


def trim(text: str) -> str:
    kept = []
    for name in TYPES:
        found = re.search(rf'^ *<EntityType Name="{name}"[ >].*?^ *</EntityType>\n', text, re.M | re.S)
        kept.append(found.group(0))
    for block in re.finditer(r'^ *<Function Name="(\w+)" [^>]*>\n.*?^ *</Function>\n', text, re.M | re.S):
        if block.group(1) in FUNCTIONS and 'Type="graph.workbookWorksheet"' in block.group(0):
            kept.append(block.group(0))
    container = re.search(r'^ *<EntitySet Name="drives" [^\n]*\n', text, re.M).group(0)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">\n'
            '  <edmx:DataServices>\n'
            '    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">\n'
            + "".join(kept) + '      <EntityContainer Name="GraphService">\n' + container
            + '      </EntityContainer>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n')


if __name__ == "__main__":
    (HERE / "graph-v1.0.trimmed.csdl.xml").write_text(trim(Path(sys.argv[1]).read_text(encoding="utf-8")),
                                                      encoding="utf-8")
