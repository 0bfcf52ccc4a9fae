"""Check Microsoft Graph traffic against Microsoft's published metadata for Graph v1.0 (its
CSDL, from which Graph's OpenAPI description is generated; trimmed to what graph-excel uses:
tests/specs/graph-v1.0.trimmed.csdl.xml, provenance in tests/specs/graph-v1.0.SOURCES.md).

``GraphSpec.load().walk(path)`` follows a request path segment by segment: the ``drives``
entity set, keys, navigation properties (``items``, ``root``, ``workbook``,
``worksheets``), a stream property (``content``) and bound functions with their parameter
names (``usedRange(valuesOnly=true)``, ``range(address='A1:B2')``), and returns the type
it lands on; a segment the metadata does not have raises ``SpecMismatch``. Graph's
path-based addressing (``root:/OKRs/x.xlsx:``, driveitem-get) is a driveItem.
``answer(type, body)`` checks that every property of an answer is one of the type's
(its base types' included; ``@odata.*`` annotations aside). ``request``/``response`` are the
emulator's ``spec`` hooks (tests/emulators/server.py): every exchange under ``/v1.0`` is
walked and its JSON answer checked; a ``PUT`` must land on a stream property (``content``),
a ``PATCH`` on an entity. The login and download URLs are not Graph and are left alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from .spec_check import SpecMismatch

FILE = Path(__file__).resolve().parents[1] / "specs" / "graph-v1.0.trimmed.csdl.xml"
NS = {"e": "http://docs.oasis-open.org/odata/ns/edm"}


@dataclass
class _Type:
    base: str | None
    properties: set[str] = field(default_factory=set)
    navigation: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name → (type, collection)


def _name(ref: str) -> tuple[str, bool]:
    collection = ref.startswith("Collection(")
    return ref.removeprefix("Collection(").rstrip(")").split(".")[-1], collection


class GraphSpec:
    def __init__(self, root: ET.Element):
        self.types: dict[str, _Type] = {}
        for node in root.iterfind(".//e:EntityType", NS):
            kind = self.types[node.get("Name")] = _Type(_name(node.get("BaseType"))[0] if node.get("BaseType") else None)
            kind.properties = {p.get("Name") for p in node.iterfind("e:Property", NS)}
            kind.navigation = {n.get("Name"): _name(n.get("Type")) for n in node.iterfind("e:NavigationProperty", NS)}
        self.functions = [(f.get("Name"), _name(params[0].get("Type"))[0], {p.get("Name") for p in params[1:]},
                           _name(f.find("e:ReturnType", NS).get("Type"))[0])
                          for f in root.iterfind(".//e:Function", NS) for params in [f.findall("e:Parameter", NS)]]
        self.sets = {s.get("Name"): _name(s.get("EntityType"))[0] for s in root.iterfind(".//e:EntitySet", NS)}

    @classmethod
    def load(cls) -> GraphSpec:
        return cls(ET.parse(FILE).getroot())

    def _properties(self, name: str) -> set[str]:
        return {p for t in self._chain(name) for p in self.types[t].properties}

    def walk(self, path: str) -> str:
        segments = [unquote(s) for s in re.sub(r"^/v1\.0", "", path.split("?")[0]).strip("/").split("/")]
        if segments[0] not in self.sets:
            raise SpecMismatch(f"{path}: no entity set {segments[0]!r} in Graph v1.0")
        current, keyed = self.sets[segments[0]], False  # a collection until a key is given
        for segment in segments[1:]:
            if not keyed:
                keyed = True  # the key of an entity in the collection
                continue
            if segment.startswith("root:") and segment.endswith(":"):  # path-based addressing
                current = "driveItem"
                continue
            called = re.fullmatch(r"(\w+)\((.*)\)", segment)
            if called:
                given = {p.split("=")[0] for p in called[2].split(",") if p}
                found = [ret for name, bound, params, ret in self.functions
                         if name == called[1] and self._is(current, bound) and params == given]
                if not found:
                    raise SpecMismatch(f"{path}: {current} has no function {called[1]}({', '.join(sorted(given))})")
                current = found[0]
                continue
            navigation = {k: v for t in self._chain(current) for k, v in self.types[t].navigation.items()}
            if segment in navigation:
                current, collection = navigation[segment]
                keyed = not collection
            elif segment in self._properties(current):
                return f"{current}.{segment}"
            else:
                raise SpecMismatch(f"{path}: {current} has no property or navigation {segment!r}")
        return current

    def _chain(self, name: str) -> list[str]:
        chain = []
        while name:
            chain.append(name)
            name = self.types[name].base
        return chain

    def _is(self, name: str, wanted: str) -> bool:
        return wanted in self._chain(name)

    def request(self, method: str, path: str, body, query) -> None:
        if not path.startswith("/v1.0/"):
            return
        landed = self.walk(path)
        if method == "PUT" and not landed.endswith(".content") or method == "PATCH" and "." in landed:
            raise SpecMismatch(f"{method} {path}: Graph takes {method} on {'a stream' if method == 'PUT' else 'an entity'}")

    def response(self, method: str, path: str, status: int, body) -> None:
        if path.startswith("/v1.0/") and status < 300 and isinstance(body, dict):
            self.answer(self.walk(path).split(".")[0], body)

    def answer(self, kind: str, body: dict) -> None:
        known = self._properties(kind) | {k for t in self._chain(kind) for k in self.types[t].navigation}
        stray = sorted(k for k in body if not k.startswith("@odata.") and k not in known)
        if stray:
            raise SpecMismatch(f"{kind} has no property {stray[0]!r} (Graph v1.0 metadata)")
