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

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, or_

from ...db import aggregates
from ...db.engine import Database
from ...db.models import LogLatencyRollup, LogRollup, WorkflowLog
from ...db.rollup_scheme import (
    AMOUNTS,
    CONF_COLUMNS,
    CONFIDENCE_BUCKETS,
    DAY,
    HOUR,
    ITER_COLUMNS,
    MAX_ITERATIONS_BUCKET,
    ROLLUP_COLUMNS,
    bucket_value,
    hour_of,
)
from ..access.principal import Principal
from ..ingest.rollup_delta import Delta
from .scope import LogFilters, Segment, scoped_rollup_select, scoped_select

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


async def edge_delta(session, principal: Principal, p: Plan) -> Delta:
    """The ragged edges' raw rows added up: one statement for both edges (every statement costs a
    round trip, and a page load makes ~15 of them)."""
    delta = Delta()
    if p.edges:
        at = WorkflowLog.executed_at
        query = scoped_select(principal, p.base, *_RAW_VALUES).where(
            or_(*[and_(at >= e.since, at < e.until) for e in p.edges]))
        delta.add(r._mapping for r in (await session.execute(query)).all())
    return delta


async def count(db: Database, principal: Principal, p: Plan) -> int:
    """How many logs p's filters match: the rollup rows' counts plus the ragged edges' raw rows."""
    r = LogRollup
    query = scoped_rollup_select(principal, p.base, r, p.segments, func.coalesce(func.sum(r.n), 0))
    async with db.analytics() as session:
        n = int((await session.execute(query)).scalar_one())
        if p.edges:
            at = WorkflowLog.executed_at
            edge = scoped_select(principal, p.base, func.count()).where(or_(*[and_(at >= e.since, at < e.until) for e in p.edges]))
            n += int((await session.execute(edge)).scalar_one())
    return n


def hist_percentiles(hist: dict[int, int], quantiles: Iterable[float]) -> list[float | None]:
    """percentile_cont's definition (linear between the closest ranks) over bucket values."""
    items = sorted((b, n) for b, n in hist.items() if n > 0)
    total = sum(n for _, n in items)
    if not total:
        return [None for _ in quantiles]

    def value_at(rank: int) -> float:
        seen = 0
        for b, n in items:
            seen += n
            if rank < seen:
                return bucket_value(b)
        return bucket_value(items[-1][0])

    out: list[float | None] = []
    for q in quantiles:
        pos = (total - 1) * q
        low = int(pos)
        lo = value_at(low)
        hi = value_at(low + 1) if low + 1 < total else lo
        out.append(lo + (hi - lo) * (pos - low))
    return out


def _add_hist(hist: dict[int, int], bucket: int, n: int) -> None:
    hist[bucket] = hist.get(bucket, 0) + int(n)


async def overview(db: Database, principal: Principal, p: Plan, quantiles: Sequence[float]) -> dict[str, Any]:
    r = LogRollup
    per_key = scoped_rollup_select(principal, p.base, r, p.segments, r.category, r.no_category, r.status, func.sum(r.n),
                                   func.sum(r.exec_n), func.sum(r.exec_sum)).group_by(r.category, r.no_category, r.status)
    lat = LogLatencyRollup
    latency = scoped_rollup_select(principal, p.base, lat, p.segments, lat.bucket, func.sum(lat.n)).group_by(lat.bucket)
    async with db.analytics() as session:
        rows = (await session.execute(per_key)).all()
        buckets = (await session.execute(latency)).all()
        edges = await edge_delta(session, principal, p)
    cats: dict[str | None, list] = {}  # category -> [count, errors, [exec sums], exec count]
    hist: dict[int, int] = {}

    def add(category: str | None, status: str, n: int, exec_n: int, exec_sum: float) -> None:
        c = cats.setdefault(category, [0, 0, [], 0])
        c[0] += int(n)
        c[1] += int(n) if status == "ERROR" else 0
        c[2].append(float(exec_sum or 0.0))
        c[3] += int(exec_n)

    for category, no_category, status, n, exec_n, exec_sum in rows:
        add(None if no_category else category, status, n, exec_n, exec_sum)
    for (_, period, _, _, category, no_category, status), a in edges.main.items():
        if period == HOUR:  # the edges' Delta counts each row in its day too
            add(None if no_category else category, status, a[0], a[1], a[2])
    for b, n in buckets:
        _add_hist(hist, b, n)
    for (_, period, _, _, _, b), n in edges.latency.items():
        if period == HOUR:
            _add_hist(hist, b, n)
    categories = sorted(((c, v) for c, v in cats.items() if v[0]), key=lambda cv: category_order(cv[0], cv[1][0]))
    total = sum(v[0] for _, v in categories)
    errors = sum(v[1] for _, v in categories)
    exec_count = sum(v[3] for _, v in categories)
    p50, p95 = hist_percentiles(hist, quantiles)
    return {
        "total": total,
        "success": total - errors,
        "errors": errors,
        "success_rate": (total - errors) / total if total else None,
        "avg_execution_time_seconds": math.fsum(s for _, v in categories for s in v[2]) / exec_count if exec_count else None,
        "p50_execution_time_seconds": p50,
        "p95_execution_time_seconds": p95,
        "by_category": [{"category": c, "count": v[0], "errors": v[1], "error_rate": v[1] / v[0]} for c, v in categories],
    }


def category_order(category: str | None, count: int) -> tuple:
    """Most logs first, ties by name (no category last): the raw path (metrics.py) orders the same way."""
    return (-count, category is None, category or "")


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _floor(hour: datetime, bucket: str) -> datetime:
    return hour if bucket == "hour" else hour.replace(hour=0)


async def timeseries(db: Database, principal: Principal, p: Plan, bucket: str, quantiles: Sequence[float]) -> list[dict]:
    r, lat = LogRollup, LogLatencyRollup
    t = aggregates.time_bucket(db.dialect, r.start, bucket).label("t")
    lt = aggregates.time_bucket(db.dialect, lat.start, bucket).label("t")
    per_bucket = scoped_rollup_select(principal, p.base, r, p.segments, t, r.status, func.sum(r.n), func.sum(r.exec_n),
                                      func.sum(r.exec_sum)).group_by(t, r.status)
    latency = scoped_rollup_select(principal, p.base, lat, p.segments, lt, lat.bucket, func.sum(lat.n)).group_by(lt, lat.bucket)
    async with db.analytics() as session:
        rows = (await session.execute(per_bucket)).all()
        buckets = (await session.execute(latency)).all()
        edges = await edge_delta(session, principal, p)
    series: dict[datetime, list] = {}  # start -> [total, errors, exec sum, exec count, histogram]

    def at(moment: datetime) -> list:
        return series.setdefault(moment, [0, 0, 0.0, 0, {}])

    def add(moment: datetime, status: str, n: int, exec_n: int, exec_sum: float) -> None:
        s = at(moment)
        s[0] += int(n)
        s[1] += int(n) if status == "ERROR" else 0
        s[2] += float(exec_sum or 0.0)
        s[3] += int(exec_n)

    for moment, status, n, exec_n, exec_sum in rows:
        add(_as_utc(moment), status, n, exec_n, exec_sum)
    for (_, period, hour, _, _, _, status), a in edges.main.items():
        if period == HOUR:
            add(_floor(hour, bucket), status, a[0], a[1], a[2])
    for moment, b, n in buckets:
        _add_hist(at(_as_utc(moment))[4], b, n)
    for (_, period, hour, _, _, b), n in edges.latency.items():
        if period == HOUR:
            _add_hist(at(_floor(hour, bucket))[4], b, n)
    out = []
    for moment in sorted(series):
        total, errors, exec_sum, exec_n, hist = series[moment]
        if not total:
            continue
        p50, p95 = hist_percentiles(hist, quantiles)
        out.append({"bucket": moment.isoformat(), "total": total, "errors": errors,
                    "avg_execution_time_seconds": exec_sum / exec_n if exec_n else None,
                    "p50_execution_time_seconds": p50, "p95_execution_time_seconds": p95})
    return out


async def distributions(db: Database, principal: Principal, p: Plan) -> tuple[dict[bool, list[int]], dict[bool, list[int]]]:
    """Confidence and iterations counts per outcome (True: error), for metrics.distributions to shape."""
    r = LogRollup
    sums = [func.sum(r.__table__.c[c]) for c in CONF_COLUMNS + ITER_COLUMNS]
    query = scoped_rollup_select(principal, p.base, r, p.segments, r.status, *sums).group_by(r.status)
    async with db.analytics() as session:
        rows = (await session.execute(query)).all()
        edges = await edge_delta(session, principal, p)
    conf = {False: [0] * CONFIDENCE_BUCKETS, True: [0] * CONFIDENCE_BUCKETS}
    iters = {False: [0] * (MAX_ITERATIONS_BUCKET + 1), True: [0] * (MAX_ITERATIONS_BUCKET + 1)}

    def add(status: str, values: Sequence[Any]) -> None:
        error = status == "ERROR"
        for i in range(CONFIDENCE_BUCKETS):
            conf[error][i] += int(values[i] or 0)
        for i in range(MAX_ITERATIONS_BUCKET + 1):
            iters[error][i] += int(values[CONFIDENCE_BUCKETS + i] or 0)

    for status, *values in rows:
        add(status, values)
    for key, a in edges.main.items():
        if key[1] == HOUR:
            add(key[6], a[_CONF0:_CONF0 + CONFIDENCE_BUCKETS] + a[_ITER0:_ITER0 + MAX_ITERATIONS_BUCKET + 1])
    return conf, iters
