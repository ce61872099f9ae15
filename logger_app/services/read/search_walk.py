"""The pages of a search that the index should not answer, found by walking the scope newest first.

A common word: the index would list every match (~170k at 1M logs for a word in 1 log of 6; 14 ms
for 4,600 matches on SQLite, so seconds at 1M) only for the newest 51 to be kept, while walking
the scope newest first and testing each row's text finds a page after a few hundred rows (0.5 ms).
So when the index does not say the word is rare (search_index.search_is_rare), the newest PROBE_ROWS
rows of the scope are walked with the same substring test, and only if they hold less than a page
(a word common elsewhere and rare here) does the index answer after all.

A 1-2 character query: no trigram index can look it up, and a scan of the scope is seconds at 1M
logs. Each page walks at most SHORT_ROWS rows from its cursor; when those hold less than a page,
the page is short and its next_cursor continues after them. Every row is still reached by following
next_cursor, and no request costs more than one window (the API says pages may be short).

Every path gives the same rows in the same order as the indexed query (tests/test_search.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import and_, or_

from ...db import search_index
from ...db.engine import Database
from ...db.models import WorkflowLog
from ..access.principal import Principal
from ..public_ids import PublicIds
from .scope import LogFilters, after_cursor, encode_cursor, scoped_select

PROBE_ROWS = 5_000
SHORT_ROWS = 5_000  # ~20 ms on SQLite, ~75 ms on PostgreSQL (30k logs, busy machine)
NEWEST_FIRST = (WorkflowLog.executed_at.desc(), WorkflowLog.id.desc())


async def search_page(db: Database, ids: PublicIds, principal: Principal, filters: LogFilters, columns: tuple[Any, ...],
                      limit: int, cursor: str | None, session: Any) -> tuple[list[Any], str | None] | None:
    """(rows, next_cursor) of one page, or None: ask the index (scope.scoped_select with q)."""
    q = filters.q
    assert q is not None
    short = len(q) < search_index.TRIGRAM
    condition = search_index.substring_probe(db.dialect, WorkflowLog.search_text, q)
    if condition is None or (not short and await search_index.search_is_rare(db.dialect, session, q)):
        return None
    window = SHORT_ROWS if short else PROBE_ROWS
    rest = replace(filters, q=None)
    # The window's oldest row, found in the covering (client, executed_at, id) index: only the
    # client and time filters, so no row is read; the other filters apply in the walk.
    edge = scoped_select(principal, LogFilters(client_id=filters.client_id, since=filters.since, until=filters.until),
                         WorkflowLog.executed_at, WorkflowLog.id)
    edge = after_cursor(ids, edge, cursor).order_by(*NEWEST_FIRST).offset(window - 1).limit(1)
    floor = (await session.execute(edge)).first()
    walk = after_cursor(ids, scoped_select(principal, rest, *columns), cursor).where(condition)
    if floor is not None:
        walk = walk.where(WorkflowLog.executed_at >= floor.executed_at, or_(
            WorkflowLog.executed_at > floor.executed_at, and_(WorkflowLog.executed_at == floor.executed_at, WorkflowLog.id >= floor.id)))
    rows = list((await session.execute(walk.order_by(*NEWEST_FIRST).limit(limit + 1))).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(ids, rows[-1].executed_at, rows[-1].id)
    if floor is None:  # the whole scope fitted in the window: this is the last page
        return rows, None
    if short:  # a short page; the next one starts after the window
        return rows, encode_cursor(ids, floor.executed_at, floor.id)
    return None
