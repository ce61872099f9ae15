"""The ingest counters as a report: per client and hour, scoped like every other read."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

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


async def client_activity(db: Database, principal: Principal, now: datetime | None = None) -> dict[str, dict]:
    """Per client: logs accepted and requests refused in the last 24 h, and the hour of the last
    accepted log: the admin's "is this client still sending?" at a glance. From the counters (one
    row per client and hour), never from the logs table."""
    since = hour_of((now or utcnow()) - timedelta(hours=24))
    rejected = sum(getattr(IngestStat, f"rejected_{reason}") for reason in REASONS)
    recent = select(IngestStat.client_id, func.sum(IngestStat.accepted), func.sum(rejected)).where(IngestStat.hour >= since)
    last = select(IngestStat.client_id, func.max(IngestStat.hour)).where(IngestStat.accepted > 0)
    condition = scope_condition(IngestStat.client_id, principal, None)
    if condition is not None:
        recent, last = recent.where(condition), last.where(condition)
    activity: dict[str, dict] = {}
    async with db.read() as session:
        for client_id, accepted, refused in await session.execute(recent.group_by(IngestStat.client_id)):
            activity.setdefault(client_id, {})
            activity[client_id].update(accepted_24h=int(accepted or 0), rejected_24h=int(refused or 0))
        for client_id, hour in await session.execute(last.group_by(IngestStat.client_id)):
            activity.setdefault(client_id, {})["last_ingest_hour"] = hour
    return activity
