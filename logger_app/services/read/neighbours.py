"""The tickets before and after one log in a filtered, sorted list: the detail page's previous/next.

Both come from the same scoped query as the list (scope.scoped_select with the list's filters and
sorting.py's order), one indexed row each, so they agree with what the list showed and can never
reach another client's log. A log outside the filters has no neighbours (the list did not show it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, or_

from ...db.engine import Database
from ...db.models import WorkflowLog
from ..access.principal import Principal
from ..public_ids import PublicIds
from .scope import LogFilters, resolve_log_id, scoped_log, scoped_select
from .sorting import Sort, order_by
from .sorting import after as after_sorted
from .sorting import encode as encode_sorted


def _before(sort: Sort, value: Any, log_id: int) -> tuple[Any, tuple[Any, ...]]:
    """(rows before (value, log_id) in sort's order, the order that lists them nearest first)."""
    col, row_id = sort.column, WorkflowLog.id
    earlier_id = (row_id > log_id) if sort.descending else (row_id < log_id)
    nulls_first = case((col.is_(None), 0), else_=1).asc()  # NULLs come last in the list: first backwards
    backwards = (col.asc(), row_id.asc()) if sort.descending else (col.desc(), row_id.desc())
    if value is None:
        return or_(col.is_not(None), and_(col.is_(None), earlier_id)), (nulls_first, *backwards)
    ahead = (col > value) if sort.descending else (col < value)
    return or_(ahead, and_(col == value, earlier_id)), backwards


async def neighbours(db: Database, ids: PublicIds, principal: Principal, filters: LogFilters, sort: Sort,
                     ref: str) -> dict[str, str | None]:
    """{"previous": public id or None, "next": public id or None} around the log `ref`."""
    none: dict[str, str | None] = {"previous": None, "next": None}
    log_id = resolve_log_id(ids, principal, ref)
    if log_id is None:
        return none
    keys = (WorkflowLog.executed_at, WorkflowLog.id, sort.column) if sort.key != "executed_at" else (WorkflowLog.executed_at, WorkflowLog.id)
    async with db.analytics() as session:
        here = (await session.execute(scoped_log(principal, log_id, *keys, dialect=db.dialect, filters=filters))).first()
        if here is None:
            return none
        later = after_sorted(ids, sort, scoped_select(principal, filters, WorkflowLog.id, dialect=db.dialect), encode_sorted(ids, sort, here))
        nxt = (await session.execute(later.order_by(*order_by(sort)).limit(1))).scalar_one_or_none()
        condition, backwards = _before(sort, getattr(here, sort.column.key), here.id)
        earlier = scoped_select(principal, filters, WorkflowLog.id, dialect=db.dialect).where(condition)
        prev = (await session.execute(earlier.order_by(*backwards).limit(1))).scalar_one_or_none()
    return {"previous": ids.encode(prev) if prev is not None else None, "next": ids.encode(nxt) if nxt is not None else None}
