"""Deleting logs: retention pruning and admin deletes (audit-logged)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select

from ..db import partitions
from ..db.engine import Database
from ..db.models import AuditEvent, WorkflowLog
from ..db.rollup_scheme import ROLLUP_COLUMNS
from ..db.sqlite_space import reclaim
from ..db.types import utcnow
from .access.principal import Principal
from .errors import Forbidden, NotFound
from .ingest.rollup_delta import apply_rollups
from .public_ids import PublicIds
from .read.scope import LogFilters, resolve_log_id, scoped_log, scoped_select

CHUNK = 5000
_ROLLUP_VALUES = [WorkflowLog.__table__.c[c] for c in ROLLUP_COLUMNS]


async def _delete_rows(db: Database, conn, condition) -> int:
    """DELETE the logs matching `condition` and take exactly the deleted rows out of the rollups, in
    `conn`'s transaction (rollup rows left empty go too). RETURNING rather than a SELECT first: on
    PostgreSQL two deletes racing for one row would both have read it, and both subtracted it."""
    deleted = (await conn.execute(delete(WorkflowLog).where(condition).returning(*_ROLLUP_VALUES))).all()
    if deleted:
        await apply_rollups(conn, db.dialect, [r._mapping for r in deleted], -1)
    return len(deleted)


async def prune(db: Database, days: int) -> int:
    """Delete logs executed more than `days` ago. PostgreSQL first drops whole months older than the
    cutoff (db/partitions.py drop_before: no row-by-row delete, no dead tuples); what is left (the
    boundary month, the default partition, all of it on SQLite) goes in chunks so other writers are
    never starved."""
    cutoff = utcnow() - timedelta(days=days)
    total, dropped = await partitions.drop_before(db, cutoff)
    if dropped:
        async with db.writer.begin() as conn:
            await _audit(conn, "retention", "prune", f"older than {cutoff.isoformat()}",
                         {"days": days, "partitions": dropped, "logs": total})
    audited = bool(dropped)
    while True:
        query = scoped_select(Principal.admin("retention"), LogFilters(until=cutoff), WorkflowLog.id,
                              WorkflowLog.executed_at).limit(CHUNK)
        async with db.writer.begin() as conn:
            found = (await conn.execute(query)).all()
            if found:
                await _delete_rows(db, conn, _rows_condition(found))
                if not audited:
                    await _audit(conn, "retention", "prune", f"older than {cutoff.isoformat()}", {"days": days})
                    audited = True
        total += len(found)
        if len(found) < CHUNK:
            break
    if total:
        await reclaim(db)  # SQLite: give the freed pages back to the disk (in steps)
    return total


def _rows_condition(found) -> Any:
    """These (id, executed_at) rows: by id, within their executed_at range, so PostgreSQL deletes
    from the partitions they are in instead of probing every partition's primary key."""
    times = [r.executed_at for r in found]
    return and_(WorkflowLog.id.in_([r.id for r in found]), WorkflowLog.executed_at >= min(times),
                WorkflowLog.executed_at <= max(times))


async def _audit(conn, actor: str, action: str, target: str, details: dict | None = None) -> None:
    await conn.execute(insert(AuditEvent).values(at=utcnow(), actor=actor, action=action, target=target, details=details))


def _admin_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only the service provider may delete logs")


async def delete_log(db: Database, ids: PublicIds, principal: Principal, ref: str) -> None:
    _admin_only(principal)
    log_id = resolve_log_id(ids, principal, ref)
    if log_id is None:
        raise NotFound("log not found")
    async with db.writer.begin() as conn:
        found = (await conn.execute(scoped_log(principal, log_id, WorkflowLog.client_id, WorkflowLog.executed_at,
                                               dialect=db.dialect))).first()
        if found is None:
            raise NotFound("log not found")
        await _delete_rows(db, conn, and_(WorkflowLog.id == log_id, WorkflowLog.executed_at == found.executed_at))
        # The public id, as the operator saw and typed it (also when an old integer id was used).
        await _audit(conn, principal.name, "delete_log", ids.encode(log_id), {"client_id": found.client_id})


async def delete_ticket(db: Database, principal: Principal, client_id: str, ticket_id: str) -> int:
    _admin_only(principal)
    filters = LogFilters(client_id=client_id, ticket_id=ticket_id)
    async with db.writer.begin() as conn:
        found = (await conn.execute(scoped_select(principal, filters, WorkflowLog.id, WorkflowLog.executed_at))).all()
        if found:
            await _delete_rows(db, conn, _rows_condition(found))
        await _audit(conn, principal.name, "delete_ticket", f"{client_id}/{ticket_id}", {"deleted": len(found)})
    return len(found)


async def audit_events(db: Database, limit: int = 100) -> list[AuditEvent]:
    async with db.read() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))).all())
