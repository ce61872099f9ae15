"""How a log lands in the rollup tables (models.LogRollup, LogLatencyRollup), once, in Python and SQL.

The writer's deltas (services/ingest/rollup_delta.py) bucket in Python; the migration's backfill and
`logger-app rollups rebuild` bucket in SQL (rebuild_statements below). Both must put every log in
the same bucket, so both are written here next to each other, from the same constants.

Execution-time histogram: bucket i > 0 holds values in (GAMMA**(i-1), GAMMA**i] (i may be negative:
any positive double has a bucket, no range to outgrow), ZERO_BUCKET holds exact zeros (validation
refuses negatives). A bucket is read back as 2 * GAMMA**i / (GAMMA + 1), whose relative distance to
any value in the bucket is at most (GAMMA - 1) / (GAMMA + 1) = 1.96 % for GAMMA = 1.04 (the DDSketch
bound). A percentile interpolates between two ranked values; each is read within that bound, so the
interpolation is too: p50/p95 from the histogram are within 1.96 % of percentile_cont's answer.
Demo-like traffic (0.3-25 s) uses ~110 buckets; anything from 1 ms to 1 day fits in ~460.
"""

from __future__ import annotations

import functools
import math
import sys
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Integer, and_, case, cast, delete, false, func, literal, select, text, true
from sqlalchemy.sql import Executable

from .dialect import Dialect, period_floor
from .models import LogLatencyRollup, LogLatencyRollupAll, LogRollup, LogRollupAll, WorkflowLog

GAMMA = 1.04
LOG_GAMMA = math.log(GAMMA)
MAX_RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)  # 0.0196...
ZERO_BUCKET = -(2**31)  # below every real bucket (the smallest double, 5e-324, is bucket -18,990)
CONFIDENCE_BUCKETS = 10
MAX_ITERATIONS_BUCKET = 15  # "15+" collects the long tail
CONF_COLUMNS = tuple(f"c{i}" for i in range(CONFIDENCE_BUCKETS))
ITER_COLUMNS = tuple(f"i{i}" for i in range(MAX_ITERATIONS_BUCKET + 1))
# The additive columns of LogRollup, in this order in the writer's delta lists.
AMOUNTS = ("n", "exec_n", "exec_sum") + CONF_COLUMNS + ITER_COLUMNS
KEY = ("client_id", "period", "start", "environment", "category", "no_category", "status")
LATENCY_KEY = ("client_id", "period", "start", "environment", "status", "bucket")
# The all-clients tables' keys (models.LogRollupAll, LogLatencyRollupAll): no client, and no status
# in the latency histogram.
ALL_KEY = KEY[1:]
ALL_LATENCY_KEY = ("period", "start", "environment", "bucket")
HOUR, DAY = "hour", "day"  # the periods: every log is in one row of each
# What a row must carry to be rolled up (the writer's dicts, DELETE ... RETURNING rows).
ROLLUP_COLUMNS = ("client_id", "executed_at", "environment", "category", "status", "execution_time_seconds",
                  "confidence", "iterations")
_UTC = timezone.utc


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(_UTC).replace(minute=0, second=0, microsecond=0)


def latency_bucket(seconds: float) -> int:
    if seconds <= 0:
        return ZERO_BUCKET
    return math.ceil(math.log(seconds) / LOG_GAMMA)


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for (module docstring: within MAX_RELATIVE_ERROR of its members)."""
    if bucket == ZERO_BUCKET:
        return 0.0
    try:
        return 2 * math.exp(bucket * LOG_GAMMA) / (GAMMA + 1)
    except OverflowError:  # the last bucket, holding values up to the largest double: never inf (not JSON)
        return sys.float_info.max


def confidence_bucket(confidence: float) -> int:
    # The same comparisons as the raw distributions query did (conf < (i + 1) / 10), so a value on a
    # boundary lands where it always did.
    for i in range(CONFIDENCE_BUCKETS - 1):
        if confidence < (i + 1) / CONFIDENCE_BUCKETS:
            return i
    return CONFIDENCE_BUCKETS - 1


def iterations_bucket(iterations: int) -> int:
    return min(max(iterations, 0), MAX_ITERATIONS_BUCKET)


# -- the same in SQL, for the backfill and `rollups rebuild` ----------------------------------------

def _latency_case():
    v = WorkflowLog.execution_time_seconds
    # ceil(ln(v) / LOG_GAMMA) with the same double as Python divides by: the same IEEE operations as
    # latency_bucket (libm's log on both sides), so the SQL and the writer agree on every value.
    return case((v <= 0, ZERO_BUCKET), else_=cast(func.ceil(func.ln(v) / literal(LOG_GAMMA)), Integer))


@functools.cache  # built once: SQL expressions are immutable, and these 29 took 3.5 ms to build each page
def log_amounts() -> tuple[Any, ...]:
    """AMOUNTS as SQL aggregates over workflow_logs rows (count, execution-time count and sum, the
    confidence and iterations buckets): the backfill's and the page's ragged edges' one definition."""
    conf, iters = WorkflowLog.confidence, WorkflowLog.iterations
    amounts = [func.count(), func.count(WorkflowLog.execution_time_seconds),
               func.coalesce(func.sum(WorkflowLog.execution_time_seconds), 0.0)]
    # Each bucket as its own range, the same comparisons confidence_bucket makes (bucket i: not below
    # i/10, below (i+1)/10), rather than "the CASE chain = i": that evaluated up to nine comparisons
    # per bucket, 26 times a row. NULL fails every comparison, so it counts nowhere, as before.
    edges = [(i + 1) / CONFIDENCE_BUCKETS for i in range(CONFIDENCE_BUCKETS - 1)]
    for i in range(CONFIDENCE_BUCKETS):
        terms = ([conf >= edges[i - 1]] if i > 0 else [conf.is_not(None)]) + ([conf < edges[i]] if i < len(edges) else [])
        amounts.append(func.count(case((and_(*terms), 1))))
    for i in range(MAX_ITERATIONS_BUCKET + 1):
        term = iters <= 0 if i == 0 else iters >= MAX_ITERATIONS_BUCKET if i == MAX_ITERATIONS_BUCKET else iters == i
        amounts.append(func.count(case((term, 1))))
    return tuple(amounts)


@functools.cache  # built once, like log_amounts (0.1-0.2 ms a page saved)
def log_category_key() -> tuple[Any, Any]:
    """(category, no_category) of a workflow_logs row as the rollup key stores them."""
    return func.coalesce(WorkflowLog.category, ""), case((WorkflowLog.category.is_(None), true()), else_=false())


@functools.cache  # built once, like log_amounts (0.1-0.2 ms a page saved)
def log_latency_bucket() -> Any:
    """A workflow_logs row's histogram bucket in SQL (latency_bucket's twin; on SQLite the
    connection needs ensure_sqlite_math)."""
    return _latency_case()


def rebuild_statements(dialect: Dialect, client_id: str | None = None, all_clients: bool = True) -> list[Executable]:
    """DELETE, then INSERT ... SELECT ... GROUP BY: the hour rows from workflow_logs, the day rows
    from the hour rows (a day is the sum of its hours, and there are ~24x fewer rows to read). Run
    in one transaction, the rollups equal what the logs say (migration 0003, `rollups rebuild`).
    all_clients=False leaves out the all-clients tables (the migration that predates them)."""
    hour = period_floor(dialect, WorkflowLog.executed_at, HOUR)
    category, no_category = log_category_key()
    amounts = log_amounts()
    key = [WorkflowLog.client_id, literal(HOUR).label("period"), hour.label("start"), WorkflowLog.environment,
           category.label("category"), no_category.label("no_category"), WorkflowLog.status]
    hours = select(*key, *amounts).group_by(WorkflowLog.client_id, hour, WorkflowLog.environment, category, no_category,
                                            WorkflowLog.status)
    bucket = _latency_case()
    lat_key = [WorkflowLog.client_id, literal(HOUR).label("period"), hour.label("start"), WorkflowLog.environment,
               WorkflowLog.status, bucket.label("bucket")]
    lat_hours = (select(*lat_key, func.count()).where(WorkflowLog.execution_time_seconds.is_not(None))
                 .group_by(WorkflowLog.client_id, hour, WorkflowLog.environment, WorkflowLog.status, bucket))
    r, lat = LogRollup, LogLatencyRollup
    day, lat_day = period_floor(dialect, r.start, DAY), period_floor(dialect, lat.start, DAY)
    days = (select(r.client_id, literal(DAY), day, r.environment, r.category, r.no_category, r.status,
                   *[func.sum(r.__table__.c[c]) for c in AMOUNTS])
            .where(r.period == HOUR).group_by(r.client_id, day, r.environment, r.category, r.no_category, r.status))
    lat_days = (select(lat.client_id, literal(DAY), lat_day, lat.environment, lat.status, lat.bucket, func.sum(lat.n))
                .where(lat.period == HOUR).group_by(lat.client_id, lat_day, lat.environment, lat.status, lat.bucket))
    wipe_main, wipe_latency = delete(LogRollup), delete(LogLatencyRollup)
    if client_id is not None:
        hours, lat_hours = hours.where(WorkflowLog.client_id == client_id), lat_hours.where(WorkflowLog.client_id == client_id)
        days, lat_days = days.where(r.client_id == client_id), lat_days.where(lat.client_id == client_id)
        wipe_main = wipe_main.where(LogRollup.client_id == client_id)
        wipe_latency = wipe_latency.where(LogLatencyRollup.client_id == client_id)
    lr, ll = LogRollup.__table__, LogLatencyRollup.__table__
    # PostgreSQL: writers wait at their rollup upsert until this commits, so a log is either in this
    # statement's snapshot or adds its delta afterwards, never both or neither (and the INSERT never
    # meets a key a writer created meanwhile). SQLite's single write lock gives the same for free.
    tables = "log_rollups, log_latency_rollups" + (", log_rollups_all, log_latency_rollups_all" if all_clients else "")
    lock = [text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")] if dialect is Dialect.POSTGRESQL else []
    return [*lock, wipe_main, wipe_latency,
            lr.insert().from_select([*KEY, *AMOUNTS], hours),  # type: ignore[attr-defined]
            ll.insert().from_select([*LATENCY_KEY, "n"], lat_hours),  # type: ignore[attr-defined]
            lr.insert().from_select([*KEY, *AMOUNTS], days),  # type: ignore[attr-defined]
            ll.insert().from_select([*LATENCY_KEY, "n"], lat_days),  # type: ignore[attr-defined]
            *(all_clients_statements() if all_clients else [])]


def all_clients_statements() -> list[Executable]:
    """The all-clients tables recomputed from the per-client rows (both periods at once): after a
    rebuild of one client as after one of all, they are the per-client rows summed (~1/20 as many)."""
    r, lat = LogRollup, LogLatencyRollup
    main = (select(*[r.__table__.c[c] for c in ALL_KEY], *[func.sum(r.__table__.c[c]) for c in AMOUNTS])
            .group_by(*[r.__table__.c[c] for c in ALL_KEY]))
    latency = (select(lat.period, lat.start, lat.environment, lat.bucket, func.sum(lat.n))
               .group_by(lat.period, lat.start, lat.environment, lat.bucket))
    ra, la = LogRollupAll.__table__, LogLatencyRollupAll.__table__
    return [delete(LogRollupAll), delete(LogLatencyRollupAll),
            ra.insert().from_select([*ALL_KEY, *AMOUNTS], main),  # type: ignore[attr-defined]
            la.insert().from_select([*ALL_LATENCY_KEY, "n"], latency)]  # type: ignore[attr-defined]


def as_row(values: Any) -> dict[str, Any]:
    """A DELETE ... RETURNING row (or any mapping) as the dict the delta functions read."""
    mapping = getattr(values, "_mapping", values)
    return {c: mapping[c] for c in ROLLUP_COLUMNS}
