"""The aggregates' dialect differences (services/read/metrics.py, services/read/rollups.py): the
services build the tenant-scoped SELECT (services/read/scope.py); these only wrap it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, Select, and_, case, cast, func, or_, select, text, type_coerce

from .dialect import Dialect, ensure_sqlite_math

# PostgreSQL's default work_mem (4 MB) made the percentile sorts of 155k-1M values spill to disk.
_PG_WORK_MEM = text("SET LOCAL work_mem = '64MB'")
# A rollup read is a handful of small index ranges; PostgreSQL's planner still costed the overview
# page's UNION ALL (rollup segments + raw edges) above parallel_setup_cost and started workers:
# one client's 30-day main statement took 29 ms p50 with them, 12.5 ms without (1M logs, 2 cores).
_PG_NO_PARALLEL = text("SET LOCAL max_parallel_workers_per_gather = 0")
# SQLite stores UTC timestamps as text, so a bucket is a prefix of that text with the rest zeroed.
_SQLITE_BUCKETS = {"minute": "%Y-%m-%d %H:%M:00", "hour": "%Y-%m-%d %H:00:00"}
_SQLITE_DAY = "%Y-%m-%d 00:00:00"  # any other bucket name means a day, as on PostgreSQL's side


async def read_prelude(dialect: Dialect, session: Any) -> None:
    """Run first in a read session that sorts many values (the percentiles)."""
    if dialect is Dialect.POSTGRESQL:
        await session.execute(_PG_WORK_MEM)  # LOCAL: ends with this read transaction


async def rollup_prelude(dialect: Dialect, conn: Any, raw_edges: bool) -> None:
    """Run first in a rollup read (an AsyncConnection): no parallel workers on PostgreSQL (above),
    and on SQLite ln()/ceil() for bucketing the raw edges' execution times (ensure_sqlite_math)."""
    if dialect is Dialect.POSTGRESQL:
        await conn.execute(_PG_NO_PARALLEL)  # LOCAL: ends with this read transaction
    elif raw_edges:
        await conn.run_sync(ensure_sqlite_math)


def count_sum(column: Any) -> Any:
    """SUM of a count column as a 64-bit integer. PostgreSQL's sum(bigint) is numeric, which
    asyncpg hands over as Decimal: ~14k of them made the overview page's row decoding ~20 ms of
    its ~55 (one client, 30 days, 1M logs; cProfile); int8 decodes to int."""
    return cast(func.sum(column), BigInteger)


def time_bucket(dialect: Dialect, column: Any, bucket: str) -> Any:
    """The start of the UTC minute/hour/day of `column`: a timestamp on PostgreSQL, text on SQLite
    (which stores UTC timestamps as text)."""
    if dialect is Dialect.POSTGRESQL:
        return func.date_trunc(bucket, func.timezone("UTC", column))
    return func.strftime(_SQLITE_BUCKETS.get(bucket, _SQLITE_DAY), column)


def rollup_time_bucket(dialect: Dialect, period: Any, start: Any, bucket: str) -> Any:
    """time_bucket of a rollup row's start: a row of the bucket's own period already starts a
    bucket, so only the others (hour rows in a daily chart) need the function. SQLite's strftime
    for every row was ~half of a day-range histogram read (one client, 30 days, 1M logs: 12-15 ms
    -> 7-8). The two spellings differ on SQLite ('... 00:00:00.000000' and '... 00:00:00'): callers
    parse both to the same instant."""
    own = func.timezone("UTC", start) if dialect is Dialect.POSTGRESQL else start  # the type time_bucket returns
    return case((period == bucket, own), else_=time_bucket(dialect, start, bucket))


def percentiles(dialect: Dialect, grouped: Select, value: Any, quantiles: Sequence[float], group: Any = None) -> Select:
    """`grouped`, a scoped aggregate SELECT (GROUP BY `group`, or one row in all), with one more
    column per quantile q: the percentile of `value` in the group, interpolated linearly between
    the closest ranks (PostgreSQL's percentile_cont), NULL when the group has no values."""
    if dialect is Dialect.POSTGRESQL:
        return grouped.add_columns(*(func.percentile_cont(q).within_group(value) for q in quantiles))
    return _sqlite_percentiles(grouped, value, quantiles, group)


def _sqlite_percentiles(grouped: Select, value: Any, quantiles: Sequence[float], group: Any) -> Select:
    """SQLite has no percentile_cont: rank the values in the database and keep, per group, only
    the rows at rank floor((n - 1) * q) and the one after, then interpolate in the same statement.

    Reading every value and sorting it in Python ran on the event loop (one key with 300k logs held
    /healthz for 2.2 s); SQLite sorts in its own thread, releasing the GIL, and one row per group
    comes back. The ranks are joined to a count in `grouped` rather than counted by a second window
    function (that was ~40% slower), and counts and ranks are one statement, so one snapshot. CAST
    truncates like Python's int() did (on PostgreSQL it would round), and the arithmetic is the same
    IEEE double operations as the Python it replaces, so the numbers are unchanged."""
    keyed = [group.label("pct_group")] if group is not None else []
    groups = grouped.add_columns(func.count(value).label("pct_n"), *keyed).order_by(None).subquery()
    values = (grouped.with_only_columns(*keyed, value.label("v"), maintain_column_froms=True)
              .group_by(None).order_by(None).where(value.is_not(None)).subquery())
    by = [values.c.pct_group] if keyed else []
    rank = (func.row_number().over(partition_by=by or None, order_by=values.c.v) - 1).label("rn")
    ranked = select(*by, values.c.v, rank).subquery()
    wanted, columns = [], []
    for q in quantiles:
        pos = type_coerce((groups.c.pct_n - 1) * q, Float)
        low = cast(pos, Integer)
        wanted += [ranked.c.rn == low, ranked.c.rn == low + 1]
        lo = func.max(case((ranked.c.rn == low, ranked.c.v)))
        hi = func.coalesce(func.max(case((ranked.c.rn == low + 1, ranked.c.v))), lo)  # low + 1 == n: no next
        columns.append(type_coerce(lo + (hi - lo) * (pos - low), Float))
    on = or_(*wanted)
    if keyed:
        on = and_(ranked.c.pct_group == groups.c.pct_group, on)
    out = [c for c in groups.c if c.name not in ("pct_n", "pct_group")]
    query = select(*out, *columns).select_from(groups.outerjoin(ranked, on)).group_by(*groups.c)
    return query.order_by(groups.c.pct_group) if keyed else query


