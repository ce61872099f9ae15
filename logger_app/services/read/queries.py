"""Reading logs: list pages, one log, other runs of a ticket. All scoped by the caller.

Logs leave these functions named by their public id (services/public_ids.py), never by the row id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ...db import log_columns, search_index
from ...db.engine import Database
from ...db.log_columns import Kind
from ...db.models import WorkflowLog
from ..access.principal import Principal
from ..errors import NotFound
from ..public_ids import PublicIds
from . import search
from .scope import LogFilters, after_cursor, encode_cursor, resolve_log_id, scoped_select
from .search_walk import search_page

MAX_LIMIT = 200
SUMMARY_COLUMNS = tuple(getattr(WorkflowLog, name) for name in log_columns.SUMMARY_COLUMNS)
_SUMMARY_KINDS = tuple((name, log_columns.KIND[name]) for name in log_columns.SUMMARY_COLUMNS)
NEWEST_FIRST = (WorkflowLog.executed_at.desc(), WorkflowLog.id.desc())


def summary(ids: PublicIds, row: Any) -> dict[str, Any]:
    """A row of SUMMARY_COLUMNS (or a whole WorkflowLog) as the API shows it: the public id, times
    in ISO 8601, the rest as stored."""
    out: dict[str, Any] = {}
    for name, kind in _SUMMARY_KINDS:
        value = getattr(row, name)
        if kind is Kind.ID:
            value = ids.encode(value)
        elif kind is Kind.TIME and value is not None:
            value = value.isoformat()
        out[name] = value
    return out


def full(ids: PublicIds, row: WorkflowLog) -> dict[str, Any]:
    data = summary(ids, row)
    data.update(payload=row.payload, extra=row.extra, idempotency_key=row.idempotency_key)
    return data


async def list_logs(db: Database, ids: PublicIds, principal: Principal, filters: LogFilters, limit: int = 50,
                    cursor: str | None = None) -> dict[str, Any]:
    """One newest-first keyset page; `next_cursor` is None on the last page."""
    limit = max(1, min(limit, MAX_LIMIT))
    columns: tuple[Any, ...] = SUMMARY_COLUMNS
    if filters.q:  # the text around the match, for the list to highlight
        window = search_index.search_window(db.dialect, WorkflowLog.search_text, filters.q, search.SNIPPET_BEFORE, 400)
        columns += (window.label("search_window"),)
    query = after_cursor(ids, scoped_select(principal, filters, *columns, dialect=db.dialect), cursor)
    query = query.order_by(*NEWEST_FIRST).limit(limit + 1)
    async with db.analytics() as session:
        walked = await search_page(db, ids, principal, filters, columns, limit, cursor, session) if filters.q else None
        if walked is None:
            rows = (await session.execute(query)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            next_cursor = encode_cursor(ids, rows[-1].executed_at, rows[-1].id) if more else None
        else:
            rows, next_cursor = walked
    items = [summary(ids, r) for r in rows]
    if filters.q:
        for item, row in zip(items, rows):
            item["match"] = search.match_of(row.search_window, filters.q)
    return {"items": items, "next_cursor": next_cursor}


async def iter_logs(db: Database, ids: PublicIds, principal: Principal, filters: LogFilters,
                    full_rows: bool = False, page: int = 500) -> AsyncIterator[dict[str, Any]]:
    """Every matching log, newest first, one keyset page at a time (exports never load all rows)."""
    cursor = None
    while True:
        columns = () if full_rows else SUMMARY_COLUMNS
        query = after_cursor(ids, scoped_select(principal, filters, *columns, dialect=db.dialect), cursor)
        query = query.order_by(*NEWEST_FIRST).limit(page)
        async with db.analytics() as session:
            if full_rows:
                rows = list((await session.scalars(query)).all())
            else:
                rows = list((await session.execute(query)).all())
        for row in rows:
            yield full(ids, row) if full_rows else summary(ids, row)
        if len(rows) < page:
            return
        cursor = encode_cursor(ids, rows[-1].executed_at, rows[-1].id)


async def get_log(db: Database, ids: PublicIds, principal: Principal, ref: str) -> dict[str, Any]:
    """The whole log named by `ref` (see scope.resolve_log_id). Another client's log is 'not found',
    exactly like a missing one; a malformed ref is ValidationFailed."""
    log_id = resolve_log_id(ids, principal, ref)
    if log_id is None:
        raise NotFound("log not found")
    query = scoped_select(principal, LogFilters()).where(WorkflowLog.id == log_id)
    async with db.analytics() as session:
        row = (await session.scalars(query)).first()
    if row is None and db.has_replica:
        # Read your writes: a log fetched by the id its ingest just returned may not have reached
        # the replica yet; the primary has it (a miss costs one more indexed lookup).
        async with db.read() as session:
            row = (await session.scalars(query)).first()
    if row is None:
        raise NotFound("log not found")
    return full(ids, row)


async def categories(db: Database, principal: Principal, client_id: str | None = None) -> list[str]:
    query = scoped_select(principal, LogFilters(client_id=client_id), WorkflowLog.category).distinct()
    query = query.where(WorkflowLog.category.is_not(None)).order_by(WorkflowLog.category).limit(500)
    async with db.analytics() as session:
        return [c for (c,) in (await session.execute(query)).all()]


async def environments(db: Database, principal: Principal, client_id: str | None = None) -> list[str]:
    query = scoped_select(principal, LogFilters(client_id=client_id), WorkflowLog.environment).distinct()
    query = query.order_by(WorkflowLog.environment).limit(100)
    async with db.analytics() as session:
        return [e for (e,) in (await session.execute(query)).all()]
