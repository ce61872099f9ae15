"""Keeping the rollup tables true as logs come and go: deltas aggregated per batch, one upsert per key.

Every change to workflow_logs calls this in the same transaction as the change:
  the writer's group commit   apply_rollups(conn, dialect, fresh_rows)            (+1)
  deletes (retention, admin)  apply_rollups(conn, dialect, returned_rows, -1)    the DELETE ... RETURNING rows
  replacing rows (updates)    apply_rollup_changes(conn, dialect, added=new_rows, removed=old_rows)
A row is a mapping with rollup_scheme.ROLLUP_COLUMNS (the writer's dicts have them all).

Why per batch: a per-row upsert measured here cut ingest from ~1,200 to 345-880 rows/s (issue 11);
a batch's rows share few keys (live traffic lands in the current hour), so a 2,000-row group commit
costs two executemany statements of at most a few hundred parameter sets. Keys are sent sorted, so
PostgreSQL's concurrent flushers lock rollup rows in one global order (no deadlocks).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import Table, delete, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from ...db import closed_periods
from ...db.bulk_writes import upsert_add_rows
from ...db.dialect import Dialect, ensure_sqlite_math
from ...db.engine import Database
from ...db.models import LogLatencyRollup, LogLatencyRollupAll, LogRollup, LogRollupAll
from ...db.rollup_scheme import (
    ALL_KEY,
    ALL_LATENCY_KEY,
    AMOUNTS,
    DAY,
    HOUR,
    KEY,
    LATENCY_KEY,
    LOG_GAMMA,
    MAX_ITERATIONS_BUCKET,
    ZERO_BUCKET,
    confidence_bucket,
    rebuild_statements,
)

_N_AMOUNTS = len(AMOUNTS)
_CONF0 = AMOUNTS.index("c0")
_ITER0 = AMOUNTS.index("i0")
_MAIN = cast(Table, LogRollup.__table__)
_LATENCY = cast(Table, LogLatencyRollup.__table__)
_MAIN_ALL = cast(Table, LogRollupAll.__table__)
_LATENCY_ALL = cast(Table, LogLatencyRollupAll.__table__)
_UTC = timezone.utc


class Delta:
    """Per rollup key, what a set of rows adds (sign +1) or takes away (-1)."""

    def __init__(self) -> None:
        self.main: dict[tuple, list] = {}
        self.latency: dict[tuple, int] = {}

    def add(self, rows: Iterable[Mapping[str, Any]], sign: int = 1) -> Delta:
        # The writer's hot path (~2,000 rows per group commit): plain locals, no helper calls but
        # confidence_bucket; astimezone only for a timestamp not already in UTC. Each row counts in
        # its hour's key and its day's key (models.LogRollup says why).
        main, latency = self.main, self.latency
        log, ceil, log_gamma = math.log, math.ceil, LOG_GAMMA
        for row in rows:
            when = row["executed_at"]
            hour = (when if when.tzinfo is _UTC else when.astimezone(_UTC)).replace(minute=0, second=0, microsecond=0)
            day = hour.replace(hour=0)
            client, environment, category, status = row["client_id"], row["environment"], row["category"], row["status"]
            seconds, confidence, iterations = row["execution_time_seconds"], row["confidence"], row["iterations"]
            c = -1 if confidence is None else _CONF0 + confidence_bucket(confidence)
            i = -1 if iterations is None else _ITER0 + (
                0 if iterations < 0 else iterations if iterations < MAX_ITERATIONS_BUCKET else MAX_ITERATIONS_BUCKET)
            bucket = None if seconds is None else ceil(log(seconds) / log_gamma) if seconds > 0 else ZERO_BUCKET  # = latency_bucket()
            for period, start in ((HOUR, hour), (DAY, day)):
                key = (client, period, start, environment, category or "", category is None, status)
                amounts = main.get(key)
                if amounts is None:
                    amounts = main[key] = [0] * _N_AMOUNTS
                amounts[0] += sign
                if bucket is not None:
                    amounts[1] += sign
                    amounts[2] += sign * seconds
                    lkey = (client, period, start, environment, status, bucket)
                    latency[lkey] = latency.get(lkey, 0) + sign
                if c >= 0:
                    amounts[c] += sign
                if i >= 0:
                    amounts[i] += sign
        return self

    def all_clients(self) -> tuple[dict[tuple, list], dict[tuple, int]]:
        """The same changes summed over clients, keyed as the all-clients tables are (ALL_KEY: the
        key without its client; ALL_LATENCY_KEY: without client and status). Summed from the
        per-client keys here, not per row in add(): a batch has fewer keys than rows."""
        main: dict[tuple, list] = {}
        for key, amounts in self.main.items():
            found = main.get(key[1:])
            if found is None:
                main[key[1:]] = list(amounts)
            else:
                main[key[1:]] = [a + b for a, b in zip(found, amounts)]
        latency: dict[tuple, int] = {}
        for (_, period, start, environment, _, bucket), n in self.latency.items():
            k = (period, start, environment, bucket)
            latency[k] = latency.get(k, 0) + n
        return main, latency

    def touches_closed(self, now: datetime) -> bool:
        """Whether a key's period ended LATE_AFTER before `now` (closed_periods.is_late). The
        latency keys' periods are among the main keys' (a row counts in both or in main only)."""
        late = closed_periods.is_late
        return any(late(period, start, now) for (_, period, start, *_), amounts in self.main.items() if any(amounts))

    async def apply(self, conn: AsyncConnection, dialect: Dialect) -> None:
        # A key whose changes cancel out (an update that moved nothing) costs no statement. The
        # all-clients rows travel in the same statement (PostgreSQL) or transaction (SQLite).
        all_main, all_latency = self.all_clients()
        main = [(*k, *a) for k, a in sorted(self.main.items()) if any(a)]
        latency = [(*k, n) for k, n in sorted(self.latency.items()) if n]
        main_all = [(*k, *a) for k, a in sorted(all_main.items()) if any(a)]
        latency_all = [(*k, n) for k, n in sorted(all_latency.items()) if n]
        parts = [(_MAIN, KEY, AMOUNTS, main), (_LATENCY, LATENCY_KEY, ("n",), latency),
                 (_MAIN_ALL, ALL_KEY, AMOUNTS, main_all), (_LATENCY_ALL, ALL_LATENCY_KEY, ("n",), latency_all)]
        if main and self.touches_closed(datetime.now(_UTC)):
            # A late log or a delete in a period readers may keep: they must read it again
            # (db/closed_periods.py). Last in the statement: every transaction locks this row after
            # its rollup rows, in the same order. Live traffic lands in the current hour: no row.
            parts.append(closed_periods.bump_part())
        await upsert_add_rows(dialect, conn, parts)
        # Rows a removal may have emptied go, so a deleted log leaves nothing of its own behind
        # (its category text, an erasure request's ticket; PRIVACY.md). Only after removals: the
        # writer's path never runs this.
        for table, key, keys in ((_MAIN, KEY, [k for k, a in self.main.items() if a[0] < 0]),
                                 (_LATENCY, LATENCY_KEY, [k for k, n in self.latency.items() if n < 0]),
                                 (_MAIN_ALL, ALL_KEY, [k for k, a in all_main.items() if a[0] < 0]),
                                 (_LATENCY_ALL, ALL_LATENCY_KEY, [k for k, n in all_latency.items() if n < 0])):
            for start in range(0, len(keys), 500):
                columns = tuple_(*(table.c[c] for c in key))
                await conn.execute(delete(table).where(table.c.n == 0, columns.in_(keys[start:start + 500])))


async def apply_rollups(conn: AsyncConnection, dialect: Dialect, rows: Iterable[Mapping[str, Any]], sign: int = 1) -> None:
    """Add (sign=+1) or subtract (-1) `rows` to/from the rollups, within `conn`'s transaction."""
    await Delta().add(rows, sign).apply(conn, dialect)


async def apply_rollup_changes(conn: AsyncConnection, dialect: Dialect, *, added: Iterable[Mapping[str, Any]] = (),
                               removed: Iterable[Mapping[str, Any]] = ()) -> None:
    """Rows replaced by others (an update): -old +new netted per key, still one upsert per key."""
    await Delta().add(removed, -1).add(added, 1).apply(conn, dialect)


async def rebuild(db: Database, client_id: str | None = None) -> int:
    """Recompute the rollups of one client (or all) from its logs in one transaction; the number of
    rollup rows written. Ingest into the rebuilt rollups waits until it commits (rebuild_statements)."""
    async with db.writer.begin() as conn:
        await conn.run_sync(ensure_sqlite_math)
        written = 0
        for statement in rebuild_statements(db.dialect, client_id):
            result = await conn.execute(statement)
            if statement.is_insert:  # type: ignore[attr-defined]
                written += max(result.rowcount, 0)  # type: ignore[attr-defined]
        await conn.execute(closed_periods.bump(db.dialect))  # every kept period is to be read again
    return written
