"""The dashboards' aggregates from the hourly rollups: whole days and hours from the rollup tables,
the ragged edges of a range (the part of the first and last hour it cuts) from raw rows, both added
up in SQL into rows of one shape (sum_rows) and read together.

Counts, errors, categories and the confidence/iterations charts equal the raw path's exactly; the
average differs only by float summation order; p50/p95 come from the log-scale histogram, within
rollup_scheme.MAX_RELATIVE_ERROR (1.96 %) of percentile_cont. metrics.py decides when to come here
(scope.rollup_answers and plan() below); docs/ROLLUPS.md has the whole picture.

An edge is at most one hour of rows per side, bucketed by the rebuild's SQL twins of the writer's
rules (db/rollup_scheme.py: one rule for both), so the cost stays flat in history; a range shorter
than the hours it touches is answered by the raw path altogether.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, case, func, null, or_, union_all

from ...db import aggregates, closed_periods
from ...db.engine import Database
from ...db.models import WorkflowLog
from ...db.rollup_scheme import (
    AMOUNTS,
    DAY,
    HOUR,
    hour_of,
    log_amounts,
    log_category_key,
    log_latency_bucket,
)
from ...db.types import utcnow
from ..access.principal import Principal
from . import closed_rows
from .rollup_sums import DistributionSums, OverviewSums, SeriesSums, add_hist, as_utc
from .scope import LogFilters, Segment, rollup_tables, scoped_rollup_select, scoped_select

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
N_FIXED = 3  # n, exec_n, exec_sum lead AMOUNTS; the confidence and iterations buckets follow


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


def edge_within(edges: Sequence[LogFilters]) -> Any:
    """workflow_logs rows inside any of the ragged edges (one condition, one statement)."""
    at = WorkflowLog.executed_at
    return or_(*[and_(at >= e.since, at < e.until) for e in edges])


def edge_sums(principal: Principal, base: LogFilters, edges: Sequence[LogFilters], t: Any = None) -> tuple[Select, Select]:
    """The ragged edges' raw rows added up in SQL, shaped like rollup rows so that they can be read
    with them (UNION ALL): ([t,] category, no_category, status, *AMOUNTS) and ([t,] bucket, n), where
    `t`, if given, is an expression of executed_at (a chart bucket). Bucketed by rollup_scheme's SQL
    twins of the writer's rules (the rebuild uses the same). An all-clients page's four edges are
    ~2,800 rows at 1M logs: added up in Python they were ~45 ms of its ~110."""
    keys = [] if t is None else [t]
    within = edge_within(edges)
    category, no_category = log_category_key()
    main = (scoped_select(principal, base, *keys, category, no_category, WorkflowLog.status, *log_amounts()).where(within)
            .group_by(*keys, WorkflowLog.category, WorkflowLog.status))
    bucket = log_latency_bucket()
    latency = (scoped_select(principal, base, *keys, bucket, func.count())
               .where(within, WorkflowLog.execution_time_seconds.is_not(None)).group_by(*keys, bucket))
    return main, latency


@functools.cache  # built once per table: SQL expressions are immutable, and 29 sums took 0.8 ms to build
def _amount_sums(table: Any) -> tuple[Any, ...]:
    return tuple(func.sum(table.exec_sum) if c == "exec_sum" else aggregates.count_sum(table.__table__.c[c]) for c in AMOUNTS)


async def sum_rows(db: Database, principal: Principal, p: Plan, bucket: str | None = None,
                   since: datetime | None = None) -> tuple[list, list]:
    """p's rollup rows and its ragged edges' raw rows, added up in SQL into rows of one shape:
    ([t,] category, no_category, status, *AMOUNTS) and ([t,] bucket, n), in one session: the
    closed periods' through closed_rows (from memory while the database's generation stands), the
    rest in two statements. t, with a chart `bucket` ('hour' or 'day'), is the chart bucket a
    row falls in (as the database returns it: the same bucket may come in two spellings, as_utc
    reads both), or NULL for rows before `since` (the overview page's previous range)."""
    # A rollup row's start is a whole hour, so start >= since is start >= since rounded up to the
    # hour: the same rows, and statements that stay the same for an hour (closed_rows keys on them).
    rollup_since = None if since is None else _ceil(since, HOUR)

    def t_of(start: Any, period: Any = None) -> Any:
        assert bucket is not None
        if period is None:  # a raw row's executed_at
            t, split_at = aggregates.time_bucket(db.dialect, start, bucket), since
        else:
            t, split_at = aggregates.rollup_time_bucket(db.dialect, period, start, bucket), rollup_since
        return t if split_at is None else case((start >= split_at, t), else_=null())

    r, lat = rollup_tables(principal, p.base)
    keys = [] if bucket is None else [t_of(r.start, r.period).label("t")]
    lat_keys = [] if bucket is None else [t_of(lat.start, lat.period).label("t")]

    def statements(segments: Sequence[Segment]) -> tuple[Select | CompoundSelect, Select | CompoundSelect]:
        main = scoped_rollup_select(principal, p.base, r, segments, *keys, r.category, r.no_category, r.status,
                                    *_amount_sums(r), group_by=(*keys, r.category, r.no_category, r.status))
        latency = scoped_rollup_select(principal, p.base, lat, segments, *lat_keys, lat.bucket,
                                       aggregates.count_sum(lat.n), group_by=(*lat_keys, lat.bucket))
        return main, latency

    # Closed periods (most of a long range) through closed_rows, which may have them already; the
    # last hour or so and the ragged edges every time.
    closed, open_segments = closed_periods.split(p.segments, utcnow())
    fresh: list[Select | CompoundSelect] = list(statements(open_segments)) if open_segments else []
    if p.edges:
        t = None if bucket is None else t_of(WorkflowLog.executed_at).label("t")
        edge_main, edge_latency = edge_sums(principal, p.base, p.edges, t)
        fresh = [union(fresh[0], edge_main), union(fresh[1], edge_latency)] if fresh else [edge_main, edge_latency]
    async with db.analytics() as session:
        # Core rows, not the ORM session's: its per-row loading was ~6 ms a statement here (cProfile,
        # one client 30 d at 1M logs: ~20 ms of the page's ~55) for rows that are plain tuples.
        conn = await session.connection()
        await aggregates.rollup_prelude(db.dialect, conn, bool(p.edges))
        main_rows: list = []
        latency_rows: list = []
        if closed:
            kept_main, kept_latency = await closed_rows.rows(db, conn, statements(closed))
            main_rows, latency_rows = list(kept_main), list(kept_latency)  # copies: the kept lists stay as they are
        if fresh:
            main_rows += (await conn.execute(fresh[0])).all()
            latency_rows += (await conn.execute(fresh[1])).all()
        return main_rows, latency_rows


def union(*statements: Select | CompoundSelect) -> Select | CompoundSelect:
    """One flat UNION ALL of the statements' SELECTs (scoped_rollup_select may return a UNION ALL
    already, and SQLite refuses a parenthesised one inside another)."""
    parts = [part for s in statements for part in (s.selects if isinstance(s, CompoundSelect) else [s])]
    return parts[0] if len(parts) == 1 else union_all(*parts)  # type: ignore[arg-type,return-value]


async def count(db: Database, principal: Principal, p: Plan) -> int:
    """How many logs p's filters match: the rollup rows' counts plus the ragged edges' raw rows."""
    r, _ = rollup_tables(principal, p.base)
    query: Select | CompoundSelect = scoped_rollup_select(principal, p.base, r, p.segments, aggregates.count_sum(r.n))
    if p.edges:
        query = union(query, scoped_select(principal, p.base, func.count()).where(edge_within(p.edges)))
    async with db.analytics() as session:
        return sum(n or 0 for n in (await session.execute(query)).scalars())


async def overview(db: Database, principal: Principal, p: Plan, quantiles: Sequence[float]) -> dict[str, Any]:
    rows, buckets = await sum_rows(db, principal, p)
    sums = OverviewSums()
    for category, no_category, status, n, exec_n, exec_sum, *_ in rows:
        sums.add(category, no_category, status, n, exec_n, exec_sum)
    for b, n in buckets:
        add_hist(sums.hist, b, n)
    return sums.result(quantiles)


async def timeseries(db: Database, principal: Principal, p: Plan, bucket: str, quantiles: Sequence[float]) -> list[dict]:
    rows, buckets = await sum_rows(db, principal, p, bucket)
    sums = SeriesSums(bucket)
    for moment, _, _, status, n, exec_n, exec_sum, *_ in rows:
        sums.add(as_utc(moment), status, n, exec_n, exec_sum)
    for moment, b, n in buckets:
        add_hist(sums.at(as_utc(moment))[4], b, n)
    return sums.result(quantiles)


async def distributions(db: Database, principal: Principal, p: Plan) -> tuple[dict[bool, list[int]], dict[bool, list[int]]]:
    """Confidence and iterations counts per outcome (True: error), for metrics.distributions to shape."""
    rows, _ = await sum_rows(db, principal, p)
    out = DistributionSums()
    for _, _, status, *amounts in rows:
        out.add(status, amounts[N_FIXED:])
    return out.result()
