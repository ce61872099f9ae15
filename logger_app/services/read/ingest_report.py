"""The ingest counters as a report: per client and hour, scoped like every other read."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ...db.engine import Database
from ...db.models import IngestStat
from ...db.types import utcnow
from ..access.principal import Principal
from ..ingest.counters import REASONS, hour_of
from .scope import scope_condition


async def ingest_report(db: Database, principal: Principal, since: datetime | None = None,
                        client_id: str | None = None) -> list[dict]:
    """Per client and hour, newest first, scoped like every other read."""
    since = since or utcnow() - timedelta(hours=24)
    query = select(IngestStat).where(IngestStat.hour >= hour_of(since))
    condition = scope_condition(IngestStat.client_id, principal, client_id)
    if condition is not None:
        query = query.where(condition)
    query = query.order_by(IngestStat.hour.desc(), IngestStat.client_id)
    async with db.read() as session:
        rows = (await session.scalars(query)).all()
    return [
        {
            "client_id": r.client_id or None,
            "hour": r.hour.isoformat(),
            "accepted": r.accepted,
            "duplicates": r.duplicates,
            "rejected": {reason: getattr(r, f"rejected_{reason}") for reason in REASONS},
        }
        for r in rows
    ]
