"""Row fingerprints: a changed sheet re-maps only the rows that changed.

A flat or hierarchical table is cut into *blocks*: an objective's rows (a row that names
another objective starts the next block; rows before the first objective are a block of
their own). A full read keeps, per block, a digest of its raw cells with what mapping it
gave: the records it made (kind, id), the record counts the whole-file checks add up, and
the objective the block started and ended under (a hierarchical KR row without objective
cells belongs to the one above). That state rides in the endpoint's cursor, after the
file's fingerprint, and is stored by the hub with the pull, in its transaction.

The next read of a changed file still reads every raw row (cheap), but sends a block
through mapping only when its digest is new, or its rows gave anything but records (a
note, a rejection, ghost rows: those are said again on every read), or it now starts
under another objective. It then yields only those blocks' records and, as
``Cursor.present``, every record the file holds, so the hub merges the changed ones and
takes the missing ones as deleted, looking nothing up for the rest.

Why blocks and not single rows: an objective's cells repeat on each of its KR rows and
the first row's win, so a KR row cannot be mapped without its objective's other rows.

A partial read falls back to a full one, never guesses, when it cannot be exact:
- the previous read rejected a row, or found the file's shape wrong (those stay reported
  until a full read sees them fixed or gone), or renamed a repeated title ("~2");
- the header or the rows above it changed, or the mapping or options did;
- a record of a re-mapped block is also one of an unchanged block (a duplicate id, an
  objective whose rows are no longer together): the full read reports it as before.
Tables it does not apply to (linked, typed rows, lookups, parents named by title, several
sheets) always read in full.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import operator
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from okrsync.connector import Record
from okrsync.model import KINDS

VERSION = 1
ANY = "\0any"  # Block.start of a block whose first row sets its objective
SEPARATOR = " "  # cursor = fingerprint, then the row state (fingerprints are hex: no space)


@dataclass(slots=True)  # one per objective: 40,000 in a 200,000-KR sheet
class Block:
    """What one block of rows gave when last mapped (its counts may be shared with other blocks: read them only)."""

    start: str | None  # the objective above it (state.last_objective before its first row), or ANY
    end: str | None  # ... and after its last row
    keys: list[tuple[str, str]]  # (kind, id) of the records it made
    made: dict[str, int]  # records made by rows of their own, per kind
    kinds: dict[str, int]  # every record, per kind
    rows: int  # rows read (ghost rows aside)

    def dump(self) -> list:
        """As the cursor keeps it (``Raw``)."""
        return [self.start, self.end, [[_KIND_AT[k], e] for k, e in self.keys], self.made, self.kinds, self.rows]


# A block the last read kept and this one found unchanged stays as the cursor holds it,
# [start, end, [[kind index, id], …], made, kinds, rows] (``Block.dump``): made into no
# object and dumped back as it is (40,000 of a 200,000-KR sheet's blocks, on every read).
Raw = list


_KIND_AT = {kind: i for i, kind in enumerate(KINDS)}


def fingerprint_of(cursor: str | None) -> str | None:
    """The file fingerprint a cursor starts with (the state after it is not decoded)."""
    return cursor.split(SEPARATOR, 1)[0] if cursor else cursor


def split(cursor: str | None) -> tuple[str | None, dict | None]:
    """(file fingerprint, row state) of a stored cursor; the state is None when the cursor has none."""
    if not cursor or SEPARATOR not in cursor:
        return cursor, None
    fingerprint, blob = cursor.split(SEPARATOR, 1)
    try:
        state = orjson.loads(zlib.decompress(base64.b64decode(blob)))  # a ValueError when it is no JSON
    except (ValueError, zlib.error):  # not ours (an older okrsync's cursor): read in full
        return fingerprint, None
    return fingerprint, state if state.get("v") == VERSION else None


def join(fingerprint: str, state: dict) -> str:
    """The cursor holding the file's fingerprint and the row state (its ``blocks`` as ``Block``s)."""
    packer = zlib.compressobj(1)  # level 1: 14 % more bytes than level 6 (1.8 MB at 200,000 KRs) in a third of the time
    blob = b"".join([*(packer.compress(part) for part in _pieces(state)), packer.flush()])
    return f"{fingerprint}{SEPARATOR}{base64.b64encode(blob).decode()}"


def _pieces(state: dict, per: int = 1000) -> Iterator[bytes]:
    """``state`` as compact JSON in pieces of ``per`` blocks, dumped as they are written: a
    200,000-KR sheet's state is never one string, nor all its blocks lists at once (the
    first import's peak: ~30 MB less). The blocks (text, ids, counts) by orjson: 40,000 of
    them at 200,000 KRs, on every read of a changed file; only ``split`` reads them back."""
    if "blocks" not in state:  # a write's index (csv_patch): one piece
        yield json.dumps(state, separators=(",", ":")).encode()
        return
    blocks = state["blocks"]
    head = json.dumps({k: v for k, v in state.items() if k != "blocks"}, separators=(",", ":")).encode()
    yield head[:-1] + (b"," if len(head) > 2 else b"") + b'"blocks":{'
    items = list(blocks.items())
    for start in range(0, len(items), per):
        piece = orjson.dumps({d: b.dump() if b.__class__ is Block else b for d, b in items[start:start + per]})[1:-1]
        yield (b"," if start else b"") + piece
    yield b"}}"


def digest(cells: Any, h) -> None:
    try:
        h.update("\x1f".join(cells).encode())  # CSV rows: all text
    except TypeError:  # XLSX rows hold numbers, dates and None too
        h.update(repr(cells).encode())
    h.update(b"\x1e")


def _block_digest(rows: list) -> str:
    """The digest of a block's rows: ``digest`` of each, in order (the same bytes), in one
    update where every cell is text (a CSV's blocks)."""
    h = hashlib.blake2b(digest_size=16)
    try:
        h.update("\x1e".join(["\x1f".join(row.cells) for row in rows]).encode() + b"\x1e")
    except TypeError:  # XLSX rows hold numbers, dates and None too: row by row
        h = hashlib.blake2b(digest_size=16)
        for row in rows:
            digest(row.cells, h)
    return h.hexdigest()


class Prints:
    """One read's row fingerprints: which blocks to map, and the state to keep for the next read.

    ``prior`` is the last read's state (None: map every block, as a full read).
    ``map_row(table, row, state)`` is the connector's row mapping (yields items)."""

    def __init__(self, prior: dict | None, shape: str, map_row: Callable):
        self.prior = prior if prior and prior.get("shape") == shape else None
        self.shape, self.map_row = shape, map_row
        self.head: str | None = None
        self.old: dict[str, Raw] = self.prior["blocks"] if self.prior else {}
        if self.prior:  # the blocks are kept once, in self.old
            self.prior = {k: v for k, v in self.prior.items() if k != "blocks"}
        self.blocks: dict[str, Block | Raw] = {}
        self.kept: list[Raw] = []  # unchanged blocks, not mapped
        self.live: list[tuple[str, str]] = []  # keys the mapped blocks made
        self.clean = True  # every mapped block gave records only: the state can be kept
        self.usable = True  # this table can be read by blocks at all
        self.rows_mapped = self.rows_read = 0
        self._rows: list = []
        self._ident: tuple | None = None
        self._columns: list[int] = []
        self._last_column, self._ident_of = -1, lambda cells: ()
        self._table = None
        self._counts: dict[tuple, dict[str, int]] = {}  # a block's counts → one dict for every block that has them

    @property
    def partial(self) -> bool:
        return self.prior is not None

    def start_table(self, table, head_cells: list, objective_columns: list[int] | None) -> None:
        """The table's header (with the rows above it and table-wide values) and the columns
        that name an objective; None: this table cannot be read by blocks."""
        self._table = table
        if objective_columns is None:
            self.usable, self.prior, self.old = False, None, {}
            return
        h = hashlib.blake2b(digest_size=16)
        for cells in head_cells:
            digest(cells, h)
        self.head = h.hexdigest()
        if self.prior and self.prior.get("head") != self.head:
            self.prior, self.old = None, {}  # another header: every block maps anew
        self._columns = objective_columns
        self._last_column = max(objective_columns, default=-1)
        self._ident_of = operator.itemgetter(*objective_columns) if len(objective_columns) > 1 else \
            (lambda cells: tuple(cells[i] for i in objective_columns))

    def feed(self, row, state) -> Iterable:
        """One raw row: it joins the current block, or closes it and starts the next. What it
        gives (mapping's items) must be read to its end before the next row is fed.

        Not a generator: most rows only join their block, and a generator per row showed on
        50,000-row reads."""
        if not self.usable:
            return self.map_row(self._table, row, state)
        cells, columns = row.cells, self._columns
        # the objective cells in one C call where the row is long enough (nearly every row)
        ident = self._ident_of(cells) if len(cells) > self._last_column else \
            tuple(cells[i] if i < len(cells) else None for i in columns)
        if ident != self._ident and any(c not in (None, "") for c in ident):
            return self._next_block(row, ident, state)
        self._rows.append(row)
        return ()

    def _next_block(self, row, ident: tuple, state) -> Iterator:
        """Close the current block (its items), then start the next with ``row``."""
        yield from self.close(state)
        self._ident = ident
        self._rows.append(row)

    def close(self, state) -> Iterator:
        """Map the current block unless it is unchanged; yields what mapping it gave."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        self.rows_read += len(rows)
        key = _block_digest(rows)
        old = self.old.get(key)
        if old is not None and old[0] in (ANY, state.last_objective):  # its start (Raw)
            state.last_objective = old[1]  # its end
            self.blocks[key] = old
            self.kept.append(old)
            return
        start, ghosts, rows_before = state.last_objective, len(state.ghosts), state.rows
        made, kinds = dict(state.made), dict(state.kinds)
        state.context = {}  # a block maps on its own: no record carried over from the row above it
        state.log = log = []
        clean = True
        for n, row in enumerate(rows):
            for item in self.map_row(self._table, row, state):
                clean = clean and isinstance(item, Record)
                yield item
            if n == 0 and any(kind == "objective" for kind, _ in log):
                start = ANY  # its first row names its objective: what was above does not matter
        state.log = None
        self.rows_mapped += len(rows)
        self.live += log
        clean = clean and len(state.ghosts) == ghosts and key not in self.blocks
        if clean:
            self.blocks[key] = Block(start, state.last_objective, log, self._shared(_less(state.made, made)),
                                     self._shared(_less(state.kinds, kinds)), state.rows - rows_before)
        self.clean = self.clean and clean

    def _shared(self, counts: dict[str, int]) -> dict[str, int]:
        """``counts``, or the equal dict an earlier block keeps (most blocks: one objective, n KRs)."""
        return self._counts.setdefault(tuple(counts.items()), counts)

    def add_counts(self, state) -> None:
        """The unchanged blocks' counts, so the whole-file checks see the whole file."""
        for _, _, _, made, kinds, rows in self.kept:
            state.made.update(made)
            state.kinds.update(kinds)
            state.rows += rows

    def collides(self) -> bool:
        """A record of a mapped block that an unchanged block also made: a full read must say which wins."""
        if not self.kept:
            return False
        mine: dict[int, set[str]] = {}
        for kind, ext in self.live:
            mine.setdefault(_KIND_AT[kind], set()).add(ext)
        return any(ext in mine.get(k, ()) for b in self.kept for k, ext in b[2])

    def present(self, kinds: list[str]) -> dict[str, frozenset[str]]:
        """Every record the file holds now, per kind (the hub takes linked ones not listed as deleted)."""
        found: dict[str, set[str]] = {k: set() for k in kinds}
        for kind, ext in self.live:
            found.setdefault(kind, set()).add(ext)
        by_index = [found.setdefault(kind, set()) for kind in KINDS]
        for b in self.kept:
            for k, ext in b[2]:
                by_index[k].add(ext)
        return {k: frozenset(v) for k, v in found.items() if v or k in kinds}

    def state(self) -> dict:
        return {"v": VERSION, "shape": self.shape, "head": self.head, "blocks": self.blocks}  # dumped by join


def _less(after: collections.Counter, before: dict) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
