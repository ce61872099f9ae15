"""Reading logs: list pages, one log, other runs of a ticket. All scoped by the caller.

Logs leave these functions named by their public id (services/public_ids.py), never by the row id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select

from ...db import log_columns, search_index
from ...db.engine import Database
from ...db.log_columns import Kind
from ...db.models import WorkflowLog
from ..access.principal import Principal
from ..errors import NotFound
from ..public_ids import PublicIds
from . import rollup_plan, rollups, search
from .scope import LogFilters, after_cursor, encode_cursor, resolve_log_id, rollup_answers, scoped_log, scoped_select
from .search_walk import search_page
from .sorting import Sort, order_by
from .sorting import after as after_sorted
from .sorting import encode as encode_sorted

MAX_LIMIT = 200
SUMMARY_COLUMNS = tuple(getattr(WorkflowLog, name) for name in log_columns.SUMMARY_COLUMNS)
_SUMMARY_KINDS = tuple((name, log_columns.KIND[name]) for name in log_columns.SUMMARY_COLUMNS)
NEWEST_FIRST = (WorkflowLog.executed_at.desc(), WorkflowLog.id.desc())
# What the ticket list shows beyond a summary (derived at ingest, services/ingest/derive.py), when
# list_logs is asked for them; the API's summaries stay as documented.
TRIAGE_COLUMNS = ("confidence", "iterations", "tools", "error_types", "models", "first_error", "tokens")
_TRIAGE_SELECT = tuple(getattr(WorkflowLog, name) for name in TRIAGE_COLUMNS)


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


def _names(value: str | None) -> list[str]:
    """A "\nname\nname\n" column as its names, in order."""
    return [n for n in (value or "").split(search.SEP) if n]


async def list_logs(db: Database, ids: PublicIds, principal: Principal, filters: LogFilters, limit: int = 50,
                    cursor: str | None = None, sort: Sort | None = None, triage: bool = False) -> dict[str, Any]:
    """One keyset page in `sort`'s order (default newest first); `next_cursor` is None on the last
    page. triage=True adds each log's TRIAGE_COLUMNS (names columns as lists) under "triage"."""
    limit = max(1, min(limit, MAX_LIMIT))
    sort = sort or Sort()
    columns: tuple[Any, ...] = SUMMARY_COLUMNS
    if triage:
        columns += _TRIAGE_SELECT
    if sort.column.key not in {c.key for c in columns}:  # the next cursor carries the last row's key
        columns += (sort.column,)
    if filters.q:  # the text around the match, for the list to highlight
        window = search_index.search_window(db.dialect, WorkflowLog.search_text, filters.q, search.SNIPPET_BEFORE, 400)
        columns += (window.label("search_window"),)
    query = after_sorted(ids, sort, scoped_select(principal, filters, *columns, dialect=db.dialect), cursor)
    query = query.order_by(*order_by(sort)).limit(limit + 1)
    async with db.analytics() as session:
        # The search walk pages newest first only; another order reads the matches directly.
        walk = filters.q and sort.is_default
        walked = await search_page(db, ids, principal, filters, columns, limit, cursor, session) if walk else None
        if walked is None:
            rows = (await session.execute(query)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            next_cursor = encode_sorted(ids, sort, rows[-1]) if more else None
        else:
            rows, next_cursor = walked
    items = [summary(ids, r) for r in rows]
    if triage:
        for item, row in zip(items, rows):
            item["triage"] = {"confidence": row.confidence, "iterations": row.iterations, "tools": _names(row.tools),
                              "error_types": _names(row.error_types), "models": _names(row.models),
                              "first_error": row.first_error, "tokens": row.tokens}
    if filters.q:
        for item, row in zip(items, rows):
            item["match"] = search.match_of(row.search_window, filters.q)
    return {"items": items, "next_cursor": next_cursor}


COUNT_CAP = 10_000  # a count past this says "10,000+": counting 1M raw rows would take seconds


def _rollup_countable(filters: LogFilters) -> bool:
    # Search and the triage filters read derived columns no rollup has; scope.rollup_answers has the rest.
    return rollup_answers(filters) and not any(getattr(filters, name) is not None for name in search.TRIAGE_NAMES)


async def count_logs(db: Database, principal: Principal, filters: LogFilters) -> dict[str, Any] | None:
    """How many logs match: {"count": n, "exact": bool}, from the rollups where they answer the
    filters (flat in history, docs/ROLLUPS.md), else a count bounded at COUNT_CAP ("exact": False
    when it stopped there). None for a search: counting every match is the scan that the search
    walk exists to avoid, and the page says "50+ matches" instead."""
    if filters.q:
        return None
    if _rollup_countable(filters) and (plan := rollup_plan.plan(filters)) is not None:
        return {"count": await rollups.count(db, principal, plan), "exact": True}
    matching = scoped_select(principal, filters, WorkflowLog.id, dialect=db.dialect).limit(COUNT_CAP + 1).subquery()
    async with db.analytics() as session:
        n = int((await session.execute(select(func.count()).select_from(matching))).scalar_one())
    return {"count": min(n, COUNT_CAP), "exact": n <= COUNT_CAP}


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
    query = scoped_log(principal, log_id, dialect=db.dialect)
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
