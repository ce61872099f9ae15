"""The dashboards' aggregates from the hourly rollups: whole days and hours from the rollup tables,
the smaller side of each boundary hour a range cuts from raw rows (added, or subtracted from the
hour's rollup rows: plan()), all added up in SQL into rows of one shape (sum_rows) and read together.

Counts, errors, categories and the confidence/iterations charts equal the raw path's exactly; the
average differs only by float summation order; p50/p95 come from the log-scale histogram, within
rollup_scheme.MAX_RELATIVE_ERROR (1.96 %) of percentile_cont. metrics.py decides when to come here
(scope.rollup_answers and plan() below); docs/ROLLUPS.md has the whole picture.

A boundary is at most half an hour of raw rows, bucketed by the rebuild's SQL twins of the writer's
rules (db/rollup_scheme.py: one rule for both), so the cost stays flat in history and in logs an
hour; a range shorter than the hours it touches is answered by the raw path altogether.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, case, func, literal, null, or_, union_all

from ...db import aggregates, closed_periods
from ...db.engine import Database
from ...db.models import LogRollup, WorkflowLog
from ...db.rollup_scheme import (
    AMOUNTS,
    HOUR,
    hour_of,
    log_amounts,
    log_category_key,
    log_latency_bucket,
)
from ...db.types import utcnow
from ..access.principal import Principal
from . import closed_rows
from .rollup_plan import Plan, ranges_of
from .rollup_sums import DistributionSums, OverviewSums, SeriesSums, add_hist, as_utc
from .scope import LogFilters, Segment, effective_client, rollup_tables, scoped_rollup_select, scoped_select

_HOUR = timedelta(hours=1)
N_FIXED = 3  # n, exec_n, exec_sum lead AMOUNTS; the confidence and iterations buckets follow


def raw_counts(principal: Principal, p: Plan, *keys: Any) -> list[Select]:
    """[keys..., signed count(*)] of p's raw rows, grouped by keys, one statement a range."""
    return [scoped_select(principal, p.base, *keys, signed(func.count(), sign)).where(edge_within(principal, p.base, [r]))
            .group_by(*keys) for r, sign in ranges_of(p)]


def signed(amount: Any, sign: int) -> Any:
    return amount if sign == 1 else -amount


def edge_within(principal: Principal, base: LogFilters, edges: Sequence[LogFilters]) -> Any:
    """workflow_logs rows inside any of the raw ranges (one condition, one statement). Read across
    all clients, they are also limited to the clients the ranges' hour rollup rows name (exact:
    every log is in its hour's row, and one statement sees one snapshot): a client column to seek
    on lets both backends read them from the covering index (client, executed_at, ...) instead of
    fetching every row by its executed_at index. SQLite, ~4k rows of one boundary, 10M-like
    density: 27.6 -> 10.3 ms; the planner took the time index (a heap page a row) otherwise."""
    at = WorkflowLog.executed_at
    within = or_(*[and_(at >= e.since, at < e.until) for e in edges])
    hours = [hour_of(e.since) for e in edges if e.since is not None]  # plan()'s ranges: each inside one hour
    if effective_client(principal, base.client_id) is not None or len(hours) < len(edges):
        return within
    clients = scoped_rollup_select(principal, base, LogRollup, [(HOUR, min(hours), max(hours) + _HOUR)], LogRollup.client_id)
    return and_(within, WorkflowLog.client_id.in_(clients))


def edge_sums(principal: Principal, base: LogFilters, edges: Sequence[LogFilters], t: Any = None,
              sign: int = 1) -> tuple[Select, Select]:
    """The raw rows of `edges` (ranges) added up in SQL, shaped like rollup rows so that they can be
    read with them (UNION ALL): ([t,] category, no_category, status, *AMOUNTS) and ([t,] bucket, n),
    where `t`, if given, is the ranges' chart bucket — one value for all their rows (a constant, or
    NULL), never grouped by — and every amount has `sign` (-1: a minus range). Bucketed by
    rollup_scheme's SQL twins of the writer's rules (the rebuild uses the same). An all-clients
    page's four edges are ~2,800 rows at 1M logs: added up in Python they were ~45 ms of its ~110."""
    keys = [] if t is None else [t]
    within = edge_within(principal, base, edges)
    category, no_category = log_category_key()
    main = (scoped_select(principal, base, *keys, category, no_category, WorkflowLog.status, *_signed_amounts(sign))
            .where(within)
            .group_by(WorkflowLog.category, WorkflowLog.status))
    bucket = log_latency_bucket()
    latency = (scoped_select(principal, base, *keys, bucket, signed(func.count(), sign))
               .where(within, WorkflowLog.execution_time_seconds.is_not(None)).group_by(bucket))
    return main, latency


@functools.cache  # built once a sign, like log_amounts
def _signed_amounts(sign: int) -> tuple[Any, ...]:
    return tuple(signed(a, sign) for a in log_amounts())


@functools.cache  # built once per table: SQL expressions are immutable, and 29 sums took 0.8 ms to build
def _amount_sums(table: Any) -> tuple[Any, ...]:
    return tuple(func.sum(table.exec_sum) if c == "exec_sum" else aggregates.count_sum(table.__table__.c[c]) for c in AMOUNTS)


async def sum_rows(db: Database, principal: Principal, p: Plan, bucket: str | None = None,
                   previous: Plan | None = None) -> tuple[list, list]:
    """p's rollup rows and its edges' raw rows (less its minus ranges'), added up in SQL into rows
    of one shape: ([t,] category, no_category, status, *AMOUNTS) and ([t,] bucket, n), in one
    session: the closed periods' through closed_rows (from memory while the database's generation
    stands), the rest in two statements. t, with a chart `bucket` ('hour' or 'day'), is the chart
    bucket a row falls in (as the database returns it: the same bucket may come in two spellings,
    as_utc reads both). With `previous` (the overview page's range before p's, ending where p's
    starts) its rows come too, with t NULL."""
    # The rollup rows of both ranges in one statement: p's start at its first segment's start,
    # previous's before it (plan() gives a boundary hour to one side only). That start is a whole
    # hour, so the statements stay the same for half an hour (closed_rows keys on them).
    segments = p.segments if previous is None else p.segments + previous.segments
    split_at = None if previous is None else min(lo for _, lo, _ in p.segments if lo is not None)

    def t_of(start: Any, period: Any) -> Any:  # a rollup row's chart bucket (NULL: previous's)
        assert bucket is not None
        t = aggregates.rollup_time_bucket(db.dialect, period, start, bucket)
        return t if split_at is None else case((start >= split_at, t), else_=null())

    def raw_t(r: LogFilters, ours: bool) -> Any:
        """A raw range's chart bucket: every raw range lies inside one hour (plan()), so inside one
        bucket, one constant for its rows instead of a strftime / date_trunc a row (SQLite, the
        mirrored range's statement, ~4k rows at 10M-like density: 35.7 -> 26.8 ms, one run each)."""
        if bucket is None:
            return None
        if not ours:
            return null().label("t")
        return aggregates.time_bucket(db.dialect, literal(r.since, WorkflowLog.executed_at.type), bucket).label("t")

    r, lat = rollup_tables(principal, p.base)
    keys = [] if bucket is None else [t_of(r.start, r.period).label("t")]
    lat_keys = [] if bucket is None else [t_of(lat.start, lat.period).label("t")]

    def statements(segments: Sequence[Segment]) -> tuple[Select | CompoundSelect, Select | CompoundSelect]:
        main = scoped_rollup_select(principal, p.base, r, segments, *keys, r.category, r.no_category, r.status,
                                    *_amount_sums(r), group_by=(*keys, r.category, r.no_category, r.status))
        latency = scoped_rollup_select(principal, p.base, lat, segments, *lat_keys, lat.bucket,
                                       aggregates.count_sum(lat.n), group_by=(*lat_keys, lat.bucket))
        return main, latency

    # The raw rows' statements, each range on the side of the range it belongs to: by plan, not by
    # time (a minus range lies outside its own range, maybe in the other one). A range one side adds
    # and the other takes off (the smaller part of the hour that holds the page's `since`: the hour's
    # rollup rows go to the other side) is read once and mirrored below.
    assert previous is None or bucket is not None, "the previous range's rows are told apart by t"
    ours = ranges_of(p)
    theirs = [] if previous is None else ranges_of(previous)
    shared = {r for r, sign in ours if (r, -sign) in theirs}
    raw = [edge_sums(principal, p.base, [r], raw_t(r, True), sign) for r, sign in ours if r not in shared]
    raw += [edge_sums(principal, p.base, [r], raw_t(r, False), sign) for r, sign in theirs if r not in shared]
    mirrored = [edge_sums(principal, p.base, [r], raw_t(r, True), sign) for r, sign in ours if r in shared]

    # Closed periods (most of a long range) through closed_rows, which may have them already; the
    # last hour or so and the raw rows every time.
    closed, open_segments = closed_periods.split(segments, utcnow())
    fresh = [statements(open_segments)] if open_segments else []
    fresh_main = union(*(m for m, _ in fresh + raw)) if fresh or raw else None
    fresh_latency = union(*(lt for _, lt in fresh + raw)) if fresh or raw else None
    async with db.analytics() as session:
        # Core rows, not the ORM session's: its per-row loading was ~6 ms a statement here (cProfile,
        # one client 30 d at 1M logs: ~20 ms of the page's ~55) for rows that are plain tuples.
        conn = await session.connection()
        await aggregates.rollup_prelude(db.dialect, conn, bool(raw or mirrored))  # SQLite: ln/ceil for raw rows
        main_rows: list = []
        latency_rows: list = []
        if closed:
            kept_main, kept_latency = await closed_rows.rows(db, conn, statements(closed))
            main_rows, latency_rows = list(kept_main), list(kept_latency)  # copies: the kept lists stay as they are
        if fresh_main is not None and fresh_latency is not None:
            main_rows += (await conn.execute(fresh_main)).all()
            latency_rows += (await conn.execute(fresh_latency)).all()
        for mirror_main, mirror_latency in mirrored:  # ours as read, theirs the opposite: t NULL, amounts negated
            got = list((await conn.execute(mirror_main)).all())
            main_rows += got + [(None, category, no_category, status, *(-a for a in amounts))
                                for _, category, no_category, status, *amounts in got]
            got = list((await conn.execute(mirror_latency)).all())
            latency_rows += got + [(None, b, -n) for _, b, n in got]
        return main_rows, latency_rows


def union(*statements: Select | CompoundSelect) -> Select | CompoundSelect:
    """One flat UNION ALL of the statements' SELECTs (scoped_rollup_select may return a UNION ALL
    already, and SQLite refuses a parenthesised one inside another)."""
    parts = [part for s in statements for part in (s.selects if isinstance(s, CompoundSelect) else [s])]
    return parts[0] if len(parts) == 1 else union_all(*parts)  # type: ignore[arg-type,return-value]


async def count(db: Database, principal: Principal, p: Plan) -> int:
    """How many logs p's filters match: the rollup rows' counts plus the edges' raw rows, less the minus ranges'."""
    r, _ = rollup_tables(principal, p.base)
    query: Select | CompoundSelect = scoped_rollup_select(principal, p.base, r, p.segments, aggregates.count_sum(r.n))
    query = union(query, *raw_counts(principal, p))
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
