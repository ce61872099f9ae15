"""Derive the search and trace columns for logs stored before they existed (migrations 0003 and
0006 leave them NULL): `logger-app search backfill`. A row needs it while its derive_version is
NULL or older than derive.DERIVE_VERSION (ingest stores the current one). Resumable and safe beside
a running server: one batch per transaction, and a row is only written while it still needs it, so
a log that ingest (or an OTLP update) wrote meanwhile is never overwritten with what was read before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update

from ...db.engine import Database
from ...db.models import WorkflowLog
from .derive import DERIVE_VERSION, DERIVED_COLUMNS, derived

# NULL: stored before migration 0006 (with or without search text); older: before a later column.
_STALE = or_(WorkflowLog.derive_version.is_(None), WorkflowLog.derive_version < DERIVE_VERSION)
_READ = (WorkflowLog.id, WorkflowLog.executed_at, WorkflowLog.ticket_id, WorkflowLog.category, WorkflowLog.metrics, WorkflowLog.payload, WorkflowLog.extra)


# By id and executed_at: on PostgreSQL's partitioned table (db/partitions.py) one partition's primary
# key is probed per row instead of every partition's.
_BY_ROW = and_(WorkflowLog.id == bindparam("b_id"), WorkflowLog.executed_at == bindparam("b_at"))


def _derive_all(rows: list[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        values = derived({"ticket_id": row.ticket_id, "category": row.category, "metrics": row.metrics,
                          "payload": row.payload, "extra": row.extra})
        values.setdefault("iterations", None)
        out.append({"b_id": row.id, "b_at": row.executed_at, "b_fill_iterations": "iterations" not in (row.metrics or {}),
                    **{f"b_{k}": v for k, v in values.items()}})
    return out


async def backfill(db: Database, batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Fill every row derived by an older derive.py (or none); the number of rows written."""
    stmt = (update(WorkflowLog)
            .where(_BY_ROW, _STALE)
            .values({**{c: bindparam(f"b_{c}") for c in DERIVED_COLUMNS}}))
    iterations = (update(WorkflowLog)
                  .where(_BY_ROW, WorkflowLog.iterations.is_(None))
                  .values(iterations=bindparam("b_iterations")))
    done, last = 0, 0
    while True:
        query = select(*_READ).where(_STALE, WorkflowLog.id > last).order_by(WorkflowLog.id).limit(batch)
        async with db.read() as session:
            rows = list((await session.execute(query)).all())
        if not rows:
            return done
        params = await asyncio.to_thread(_derive_all, rows)  # ~0.1 ms per log of pure Python
        async with db.writer.begin() as conn:
            # Iterations first: the second statement's guard also marks the row done (derive_version).
            fill = [p for p in params if p["b_fill_iterations"] and p["b_iterations"] is not None]
            if fill:
                await conn.execute(iterations.where(_STALE),
                                   [{"b_id": p["b_id"], "b_at": p["b_at"], "b_iterations": p["b_iterations"]} for p in fill])
            await conn.execute(stmt, [{k: v for k, v in p.items() if k not in ("b_iterations", "b_fill_iterations")} for p in params])
        done += len(rows)
        last = rows[-1].id
        if progress is not None:
            progress(done)
