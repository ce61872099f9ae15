"""Readiness: can this process read from its store right now?"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from ..db.engine import Database


async def storage_problem(db: Database, timeout: float) -> str | None:
    """None when a real round trip to the database succeeds within `timeout`, else the error's
    type name (never its text: that may carry the DSN)."""
    try:
        async with asyncio.timeout(timeout):
            async with db.reader.connect() as conn:
                # A real read of the logs table: a database that answers but lost its schema is not ready.
                await conn.execute(text("SELECT 1 FROM workflow_logs LIMIT 1"))
    except Exception as exc:
        return type(exc).__name__
    return None
