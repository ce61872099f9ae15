"""The dashboards' aggregates from the hourly rollups: whole hours from the rollup tables, the ragged
edges of a range (the part of the first and last hour it cuts) from raw rows, added up in Python.

Counts, errors, categories and the confidence/iterations charts equal the raw path's exactly; the
average differs only by float summation order; p50/p95 come from the log-scale histogram, within
rollup_scheme.MAX_RELATIVE_ERROR (1.96 %) of percentile_cont. metrics.py decides when to come here
(scope.rollup_answers and plan() below); docs/ROLLUPS.md has the whole picture.

An edge is at most one hour of rows per side: reading its few columns from the covering index and
adding them up with the writer's own Delta (one bucketing rule for both) keeps the cost flat in
history; a range shorter than the hours it touches is answered by the raw path altogether.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_

from ...db import aggregates
from ...db.engine import Database
from ...db.models import WorkflowLog
from ...db.rollup_scheme import (
    AMOUNTS,
    CONF_COLUMNS,
    DAY,
    HOUR,
    ITER_COLUMNS,
    ROLLUP_COLUMNS,
    hour_of,
    log_amounts,
    log_category_key,
    log_latency_bucket,
)
from ..access.principal import Principal
from ..ingest.rollup_delta import Delta
from .rollup_sums import DistributionSums, OverviewSums, SeriesSums, add_hist, as_utc
from .scope import LogFilters, Segment, rollup_tables, scoped_rollup_select, scoped_select

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_RAW_VALUES = [WorkflowLog.__table__.c[c] for c in ROLLUP_COLUMNS]
_CONF0, _ITER0 = AMOUNTS.index("c0"), AMOUNTS.index("i0")


@dataclass(frozen=True)
class Plan:
    base: LogFilters  # the filters without their time bounds
    segments: tuple[Segment, ...]  # read from the rollups: whole days, whole hours
    edges: tuple[LogFilters, ...]  # the ragged parts (since and until both set): read from raw rows


def _ceil(moment: datetime, period: str) -> datetime:
    floor = _floor_period(moment, period)
    return floor if floor == moment else floor + (_HOUR if period == HOUR else _DAY)


def _floor_period(moment: datetime, period: str) -> datetime:
    hour = hour_of(moment)
    return hour if period == HOUR else hour.replace(hour=0)


def plan(filters: LogFilters, days: bool = True) -> Plan | None:
    """How to split `filters`' range: whole days from day rows (unless days=False: the hourly
    timeseries), the whole hours around them from hour rows, the rest from raw rows. None when no
    whole hour lies inside the range (the raw path is as cheap there) or it reaches the calendar's ends."""
    since, until = filters.since, filters.until
    try:
        h_lo = _ceil(since, HOUR) if since else None
        h_hi = _floor_period(until, HOUR) if until else None
        d_lo = _ceil(since, DAY) if since else None
        d_hi = _floor_period(until, DAY) if until else None
    except OverflowError:
        return None
    if h_lo is not None and h_hi is not None and h_lo >= h_hi:
        return None
    segments: list[Segment] = []
    if days and not (d_lo is not None and d_hi is not None and d_lo >= d_hi):
        segments.append((DAY, d_lo, d_hi))
        if h_lo is not None and d_lo is not None and h_lo < d_lo:
            segments.append((HOUR, h_lo, d_lo))
        if h_hi is not None and d_hi is not None and d_hi < h_hi:
            segments.append((HOUR, d_hi, h_hi))
    else:
        segments.append((HOUR, h_lo, h_hi))
    edges = []
    if since is not None and h_lo is not None and since < h_lo:
        edges.append(replace(filters, until=h_lo))
    if until is not None and h_hi is not None and h_hi < until:
        edges.append(replace(filters, since=h_hi))
    return Plan(replace(filters, since=None, until=None), tuple(segments), tuple(edges))


async def edge_rows(session, principal: Principal, base: LogFilters, edges: Sequence[LogFilters]) -> list[Any]:
    """The raw rows (ROLLUP_COLUMNS) of ragged edges, in one statement whatever their number (every
    statement costs a round trip). With edge_sums, the only places rollup reads touch workflow_logs."""
    if not edges:
        return []
    at = WorkflowLog.executed_at
    query = scoped_select(principal, base, *_RAW_VALUES).where(or_(*[and_(at >= e.since, at < e.until) for e in edges]))
    return [r._mapping for r in (await session.execute(query)).all()]


def edge_sums(principal: Principal, base: LogFilters, edges: Sequence[LogFilters], t: Any) -> tuple[Select, Select]:
    """The ragged edges' raw rows added up in SQL, shaped like rollup rows so that they can be read
    with them (rollup_page.py UNIONs them in): (t, category, no_category, status, *AMOUNTS) and
    (t, bucket, n), where `t` is an expression of executed_at (the page's chart bucket). Bucketed by
    rollup_scheme's SQL twins of the writer's rules (the rebuild uses the same). An all-clients
    page's four edges are ~2,800 rows at 1M logs: added up in Python they were ~45 ms of its ~110."""
    at = WorkflowLog.executed_at
    within = or_(*[and_(at >= e.since, at < e.until) for e in edges])
    category, no_category = log_category_key()
    main = (scoped_select(principal, base, t, category, no_category, WorkflowLog.status, *log_amounts()).where(within)
            .group_by(t, WorkflowLog.category, WorkflowLog.status))
    bucket = log_latency_bucket()
    latency = (scoped_select(principal, base, t, bucket, func.count()).where(within, WorkflowLog.execution_time_seconds.is_not(None))
               .group_by(t, bucket))
    return main, latency


async def edge_delta(session, principal: Principal, p: Plan) -> Delta:
    """The ragged edges' raw rows added up."""
    return Delta().add(await edge_rows(session, principal, p.base, p.edges))


async def count(db: Database, principal: Principal, p: Plan) -> int:
    """How many logs p's filters match: the rollup rows' counts plus the ragged edges' raw rows."""
    r, _ = rollup_tables(principal, p.base)
    query = scoped_rollup_select(principal, p.base, r, p.segments, func.coalesce(func.sum(r.n), 0))
    async with db.analytics() as session:
        n = int((await session.execute(query)).scalar_one())
        if p.edges:
            at = WorkflowLog.executed_at
            edge = scoped_select(principal, p.base, func.count()).where(or_(*[and_(at >= e.since, at < e.until) for e in p.edges]))
            n += int((await session.execute(edge)).scalar_one())
    return n


async def overview(db: Database, principal: Principal, p: Plan, quantiles: Sequence[float]) -> dict[str, Any]:
    r, lat = rollup_tables(principal, p.base)
    per_key = scoped_rollup_select(principal, p.base, r, p.segments, r.category, r.no_category, r.status, func.sum(r.n),
                                   func.sum(r.exec_n), func.sum(r.exec_sum)).group_by(r.category, r.no_category, r.status)
    latency = scoped_rollup_select(principal, p.base, lat, p.segments, lat.bucket, func.sum(lat.n)).group_by(lat.bucket)
    async with db.analytics() as session:
        rows = (await session.execute(per_key)).all()
        buckets = (await session.execute(latency)).all()
        edges = await edge_delta(session, principal, p)
    sums = OverviewSums()
    for row in rows:
        sums.add(*row)
    sums.add_edges(edges)
    for b, n in buckets:
        add_hist(sums.hist, b, n)
    return sums.result(quantiles)


async def timeseries(db: Database, principal: Principal, p: Plan, bucket: str, quantiles: Sequence[float]) -> list[dict]:
    r, lat = rollup_tables(principal, p.base)
    t = aggregates.time_bucket(db.dialect, r.start, bucket).label("t")
    lt = aggregates.time_bucket(db.dialect, lat.start, bucket).label("t")
    per_bucket = scoped_rollup_select(principal, p.base, r, p.segments, t, r.status, func.sum(r.n), func.sum(r.exec_n),
                                      func.sum(r.exec_sum)).group_by(t, r.status)
    latency = scoped_rollup_select(principal, p.base, lat, p.segments, lt, lat.bucket, func.sum(lat.n)).group_by(lt, lat.bucket)
    async with db.analytics() as session:
        rows = (await session.execute(per_bucket)).all()
        buckets = (await session.execute(latency)).all()
        edges = await edge_delta(session, principal, p)
    sums = SeriesSums(bucket)
    for moment, status, n, exec_n, exec_sum in rows:
        sums.add(as_utc(moment), status, n, exec_n, exec_sum)
    sums.add_edges(edges)
    for moment, b, n in buckets:
        add_hist(sums.at(as_utc(moment))[4], b, n)
    return sums.result(quantiles)


async def distributions(db: Database, principal: Principal, p: Plan) -> tuple[dict[bool, list[int]], dict[bool, list[int]]]:
    """Confidence and iterations counts per outcome (True: error), for metrics.distributions to shape."""
    r, _ = rollup_tables(principal, p.base)
    sums = [func.sum(r.__table__.c[c]) for c in CONF_COLUMNS + ITER_COLUMNS]
    query = scoped_rollup_select(principal, p.base, r, p.segments, r.status, *sums).group_by(r.status)
    async with db.analytics() as session:
        rows = (await session.execute(query)).all()
        edges = await edge_delta(session, principal, p)
    out = DistributionSums()
    for status, *values in rows:
        out.add(status, values)
    out.add_edges(edges)
    return out.result()
