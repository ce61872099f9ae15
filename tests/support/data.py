"""Test data: logs inserted as ingest would, the test apps' public ids, API request headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert

from logger_app.db.engine import Database
from logger_app.db.models import WorkflowLog
from logger_app.services.access import clients
from logger_app.services.errors import Conflict
from logger_app.services.ingest.rollup_delta import apply_rollups
from logger_app.services.ingest.validation import normalise_log

STORAGE_SECRET = "test-secret"  # every test app's; public log ids are keyed by it

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def H(key: str) -> dict[str, str]:
    return {"X-API-Key": key, "Content-Type": "application/json"}


def public_id(row_id: int) -> str:
    """The public id the test apps give the row `row_id` (for tests that insert rows directly)."""
    from logger_app.services.public_ids import PublicIds

    return PublicIds.from_secret(STORAGE_SECRET).encode(row_id)


async def ensure_client(db: Database, client_id: str) -> None:
    try:
        await clients.create_client(db, client_id)
    except Conflict:
        pass


def make_log(ticket: str, *, status: str = "SUCCESS", category: str | None = "billing", minutes_ago: float = 0,
             environment: str = "production", confidence: float = 0.9, iterations: int = 2,
             seconds: float = 1.5, payload: Any = None) -> dict:
    return {
        "ticket_id": ticket, "status": status, "category": category, "environment": environment,
        "executed_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(), "execution_time_seconds": seconds,
        "metrics": {"confidence": confidence, "iterations": iterations}, "payload": payload,
    }


async def add_logs(db: Database, client_id: str, logs: list[dict], raw: bool = False) -> list[str]:
    """Insert logs as ingest would (normalise_log); raw=True skips validation for odd shapes.

    Returns their public ids, which is what the pages and URLs use."""
    await ensure_client(db, client_id)
    rows = []
    for item in logs:
        if raw:
            row = normalise_log({**item, "payload": None, "metrics": None}, client_id, NOW)
            row.update(payload=item.get("payload"), metrics=item.get("metrics"))
        else:
            row = normalise_log(item, client_id, NOW)
        rows.append(row)
    ids = []
    async with db.writer.begin() as conn:
        for start in range(0, len(rows), 500):
            result = await conn.execute(insert(WorkflowLog).returning(WorkflowLog.id), rows[start:start + 500])
            ids += [public_id(i) for (i,) in result.all()]
        await apply_rollups(conn, db.dialect, rows)  # as the writer does, so the dashboards see them
    return ids
