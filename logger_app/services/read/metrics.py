"""Aggregates for the overview and charts: same numbers on SQLite and PostgreSQL.

Each comes from the hourly rollups when they can answer it (services/read/rollups.py: whole hours
from the rollup tables, ragged edges from raw rows; scope.rollup_answers says which filters they
cannot answer), else from raw rows as below. raw=True forces the raw path (tests compare the two)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import case, func

from ...db import aggregates
from ...db.engine import Database
from ...db.models import WorkflowLog
from ...db.rollup_scheme import CONFIDENCE_BUCKETS, MAX_ITERATIONS_BUCKET
from ..access.principal import Principal
from . import rollup_page, rollup_plan, rollup_sums, rollups
from .scope import LogFilters, rollup_answers, scoped_select

QUANTILES = (0.5, 0.95)


async def _percentiles(session, db: Database, principal: Principal, filters: LogFilters) -> tuple[Any, Any]:
    exec_time = WorkflowLog.execution_time_seconds
    query = aggregates.percentiles(db.dialect, scoped_select(principal, filters, func.count(exec_time)), exec_time, QUANTILES)
    _, p50, p95 = (await session.execute(query)).one()
    return p50, p95


def _plan(filters: LogFilters, raw: bool, days: bool = True) -> rollup_plan.Plan | None:
    return None if raw or not rollup_answers(filters) else rollup_plan.plan(filters, days)


async def overview(db: Database, principal: Principal, filters: LogFilters, raw: bool = False) -> dict[str, Any]:
    if (plan := _plan(filters, raw)) is not None:
        return await rollups.overview(db, principal, plan, QUANTILES)
    is_error = case((WorkflowLog.status == "ERROR", 1), else_=0)
    exec_time = WorkflowLog.execution_time_seconds
    # One scan for the totals and the categories: the totals are the sums of the per-category rows.
    per_category = scoped_select(
        principal, filters, WorkflowLog.category, func.count(), func.sum(is_error), func.sum(exec_time), func.count(exec_time)
    )
    per_category = per_category.group_by(WorkflowLog.category).order_by(func.count().desc())
    async with db.analytics() as session:
        await aggregates.read_prelude(db.dialect, session)
        categories = sorted((await session.execute(per_category)).all(), key=lambda r: rollup_sums.category_order(r[0], r[1]))
        p50, p95 = await _percentiles(session, db, principal, filters)
    total = sum(n for _, n, _, _, _ in categories)
    errors = sum(int(e or 0) for _, _, e, _, _ in categories)
    exec_count = sum(c for _, _, _, _, c in categories)
    avg = math.fsum(float(s) for _, _, _, s, c in categories if c) / exec_count if exec_count else None
    return {
        "total": total,
        "success": total - errors,
        "errors": errors,
        "success_rate": (total - errors) / total if total else None,
        "avg_execution_time_seconds": float(avg) if avg is not None else None,
        "p50_execution_time_seconds": float(p50) if p50 is not None else None,
        "p95_execution_time_seconds": float(p95) if p95 is not None else None,
        "by_category": [
            {"category": c, "count": n, "errors": int(e or 0), "error_rate": int(e or 0) / n if n else None}
            for c, n, e, _, _ in categories
        ],
    }


async def overview_page(db: Database, principal: Principal, current: LogFilters, previous: LogFilters,
                        bucket: str) -> dict[str, Any]:
    """What the overview page shows: {"current", "previous": overview(), "series": timeseries(),
    "dist": distributions()}, `previous` being the range that ends where `current` starts. From the
    rollups in three statements where they can answer both ranges (rollup_page.py), else one by one."""
    days = bucket == "day"
    if (bucket in ("hour", "day") and current.since is not None and previous.until == current.since
            and (now := _plan(current, False, days)) is not None and (before := _plan(previous, False, days)) is not None):
        out = await rollup_page.page(db, principal, now, before, bucket, QUANTILES)
        return {**out, "dist": _shaped(*out["dist"])}
    return {"current": await overview(db, principal, current), "previous": await overview(db, principal, previous),
            "series": await timeseries(db, principal, current, bucket), "dist": await distributions(db, principal, current)}


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


async def timeseries(db: Database, principal: Principal, filters: LogFilters, bucket: str = "hour",
                     raw: bool = False) -> list[dict]:
    """Per bucket: total, errors, avg, p50 and p95 execution time, oldest first. Minute buckets
    (ranges up to 3 h on the overview) always come from raw rows: the rollups know only hours."""
    if bucket in ("hour", "day") and (plan := _plan(filters, raw, days=bucket == "day")) is not None:
        return await rollups.timeseries(db, principal, plan, bucket, QUANTILES)
    b = aggregates.time_bucket(db.dialect, WorkflowLog.executed_at, bucket)
    is_error = case((WorkflowLog.status == "ERROR", 1), else_=0)
    exec_time = WorkflowLog.execution_time_seconds
    label = b.label("bucket")
    grouped = scoped_select(principal, filters, label, func.count(), func.sum(is_error), func.avg(exec_time))
    query = aggregates.percentiles(db.dialect, grouped.group_by(label).order_by(label), exec_time, QUANTILES, group=b)
    async with db.analytics() as session:
        await aggregates.read_prelude(db.dialect, session)
        rows = (await session.execute(query)).all()
    return [
        {"bucket": _as_utc(t).isoformat(), "total": n, "errors": int(e or 0),
         "avg_execution_time_seconds": a, "p50_execution_time_seconds": p50, "p95_execution_time_seconds": p95}
        for t, n, e, a, p50, p95 in rows
    ]


async def distributions(db: Database, principal: Principal, filters: LogFilters, raw: bool = False) -> dict[str, Any]:
    """Confidence histogram split by outcome, and iterations per ticket: the agent-specific views."""
    if (plan := _plan(filters, raw)) is not None:
        return _shaped(*await rollups.distributions(db, principal, plan))
    # Plain columns copied from metrics on ingest (services.validation), in the covering index: the
    # JSON paths made PostgreSQL fetch every row from the heap (2.1 s for 155k rows).
    conf = WorkflowLog.confidence
    iters = WorkflowLog.iterations
    conf_bucket = case(
        (conf.is_(None), -1),  # no confidence: counted in the iterations chart only
        *[(conf < (i + 1) / CONFIDENCE_BUCKETS, i) for i in range(CONFIDENCE_BUCKETS - 1)],
        else_=CONFIDENCE_BUCKETS - 1,
    ).label("b")
    iter_bucket = case((iters >= MAX_ITERATIONS_BUCKET, MAX_ITERATIONS_BUCKET), else_=iters).label("i")
    # One scan for both charts (at most 11 x 17 x 2 groups), split here: 2 x 140 -> 110 ms at 155k rows.
    query = scoped_select(principal, filters, conf_bucket, iter_bucket, WorkflowLog.status, func.count()).where(
        (conf.is_not(None)) | (iters.is_not(None))).group_by(conf_bucket, iter_bucket, WorkflowLog.status)
    async with db.analytics() as session:
        rows = (await session.execute(query)).all()
    by_conf = {False: [0] * CONFIDENCE_BUCKETS, True: [0] * CONFIDENCE_BUCKETS}
    by_iters = {False: [0] * (MAX_ITERATIONS_BUCKET + 1), True: [0] * (MAX_ITERATIONS_BUCKET + 1)}
    for b, i, status, n in rows:
        if b is not None and b >= 0:
            by_conf[status == "ERROR"][min(max(int(b), 0), CONFIDENCE_BUCKETS - 1)] += n
        if i is not None:
            by_iters[status == "ERROR"][min(max(int(i), 0), MAX_ITERATIONS_BUCKET)] += n
    return _shaped(by_conf, by_iters)


def _shaped(conf: dict[bool, list[int]], iters: dict[bool, list[int]]) -> dict[str, Any]:
    """The charts' shape from counts per outcome (True: error)."""
    labels = list(range(0, MAX_ITERATIONS_BUCKET + 1))
    confidence = {"buckets": [f"{i / CONFIDENCE_BUCKETS:.1f}–{(i + 1) / CONFIDENCE_BUCKETS:.1f}" for i in range(CONFIDENCE_BUCKETS)],
                  "success": conf[False], "error": conf[True]}
    iterations = {"buckets": [str(i) if i < MAX_ITERATIONS_BUCKET else f"{i}+" for i in labels],
                  "success": iters[False], "error": iters[True]}
    return {"confidence": confidence, "iterations": iterations}
