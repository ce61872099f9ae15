"""Closed periods' rollup rows, kept by this process and checked against the database at every read.

A 30-day dashboard reads ~30 days of rollup rows that no longer change (db/closed_periods.py: a
period that ended CLOSED_AFTER ago changes only with a late log, a delete, a rebuild or a dropped
partition, and each of those adds 1 to the database's generation). So rollups.sum_rows reads the
closed parts of a range through rows() below: the generation first (one primary-key lookup), then,
if this process read the same statements at that generation, their rows again from memory; else
from the database, kept for next time. Only the open parts (the last hour or so) and the ragged
edges are read every time.

Keyed by the statements themselves — SQLAlchemy's cache key of what scope.scoped_rollup_select
built, structure and bound values — so a kept answer is only ever handed to the identical scoped
statement: another client's, another filter's or another range's is another key. Nothing here
decides who sees what.

Correctness does not depend on this process's memory: the generation is read from the database
(the replica's when reads go there, which replays it with the rows) on every read, so every
process notices every other's late writes; losing the memory only costs a read.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ...db import closed_periods
from ...db.engine import Database

# Rows kept per database, in all. Measured (tracemalloc, PostgreSQL, 1M logs): a 30-day overview
# page keeps ~3.1k rows and ~1.0-1.4 MB, one client's or all clients', so 100k rows are ~30
# different pages in ~45 MB; the least recently used goes first.
MAX_ROWS = 100_000


class _Kept:
    """Rows of one generation: a read that finds another generation drops them all (every one is
    stale then), so nothing of a deleted log's rollup rows (its category) outlives the next read
    in memory either (PRIVACY.md)."""

    def __init__(self) -> None:
        self.generation: int | None = None
        self.entries: OrderedDict[tuple, list[list[Any]]] = OrderedDict()
        self.rows = 0

    def at(self, generation: int) -> None:
        if generation != self.generation:
            self.entries.clear()
            self.rows = 0
            self.generation = generation

    def get(self, key: tuple) -> list[list[Any]] | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: tuple, rows: list[list[Any]]) -> None:
        size = sum(len(r) for r in rows)
        if size > MAX_ROWS:
            return
        old = self.entries.pop(key, None)
        if old is not None:
            self.rows -= sum(len(r) for r in old)
        self.entries[key] = rows
        self.rows += size
        while self.rows > MAX_ROWS:
            _, dropped = self.entries.popitem(last=False)
            self.rows -= sum(len(r) for r in dropped)


# Per database, by its writer engine (Database is a dataclass, so not hashable itself; the engine
# lives exactly as long as it): entries go with the database.
_kept: weakref.WeakKeyDictionary[Any, _Kept] = weakref.WeakKeyDictionary()


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def statement_key(statement: Any) -> tuple | None:
    """The statement's identity: SQLAlchemy's cache key (its structure) and its bound values; None
    for a statement SQLAlchemy cannot key (then it is never kept)."""
    key = statement._generate_cache_key()
    if key is None:
        return None
    return key.key, tuple(_hashable(b.effective_value) for b in key.bindparams)


async def rows(db: Database, conn: AsyncConnection, statements: Sequence[Any]) -> list[list[Any]]:
    """Each statement's rows (statements over closed periods only), from memory when this process
    read the same statements at the database's current generation."""
    # The generation before the rows: a change that commits in between is counted in a generation
    # we do not hold, so the rows kept here are never older than the generation they are kept with.
    generation = (await conn.execute(closed_periods.generation())).scalar() or 0
    keys = tuple(statement_key(s) for s in statements)
    kept = _kept.get(db.writer)
    if kept is None:
        kept = _kept[db.writer] = _Kept()
    kept.at(generation)
    if None not in keys and (found := kept.get(keys)) is not None:
        return found
    out = [list((await conn.execute(s)).all()) for s in statements]
    if None not in keys:
        # Unless a read of a newer generation came in between (its rows replaced ours): these
        # are of `generation`, and only a holder of that generation may keep them.
        if kept.generation == generation:
            kept.put(keys, out)
    return out


def forget(db: Database) -> None:
    """Drop what this process keeps for `db` (tests, and a database that is being replaced)."""
    _kept.pop(db.writer, None)
