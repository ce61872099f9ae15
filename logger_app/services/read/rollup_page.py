"""The overview page's metrics in two statements instead of eleven.

The page shows, for one range: the cards (an overview), the same cards for the range before it (the
"vs previous period" changes), the volume and latency charts (a timeseries) and the confidence and
iterations charts (distributions). Asked one by one (metrics.overview twice, timeseries,
distributions), that is eleven statements over the same rollup rows, each in its own session, and
the latency histogram of the range scanned twice. Here the two ranges' rollup rows are read in one
statement (rows before `since` are the previous range's: their time bucket is NULL) and their
latency rows in a second, each with the four ragged edges' raw rows added up in SQL into rows of
the same shape (rollups.edge_sums, UNION ALL), in one session (one snapshot). The rows are added up
by the same OverviewSums / SeriesSums / DistributionSums as the separate functions, so both ways
give the same answers (tests/test_rollups.py compares them on random data and ranges).
The tables are scope.rollup_tables' choice: the all-clients sums for an admin's all-clients page.
Figures: docs/PERFORMANCE.md (bench/read.py times what the page loads through this function)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, null, union_all

from ...db import aggregates
from ...db.dialect import ensure_sqlite_math
from ...db.engine import Database
from ...db.models import WorkflowLog
from ...db.rollup_scheme import AMOUNTS
from ..access.principal import Principal
from . import rollups
from .rollup_sums import DistributionSums, OverviewSums, SeriesSums, add_hist, as_utc
from .rollups import Plan
from .scope import rollup_tables, scoped_rollup_select

_N_FIXED = 3  # n, exec_n, exec_sum lead AMOUNTS; the confidence and iterations buckets follow


async def page(db: Database, principal: Principal, current: Plan, previous: Plan, since: datetime, bucket: str,
               quantiles: Sequence[float]) -> dict[str, Any]:
    """{"current", "previous": overview dicts, "series": timeseries rows, "dist": (conf, iters)}
    for `current`'s range (which starts at `since`) and `previous`'s (which ends there)."""
    if current.base != previous.base:
        raise ValueError("both ranges must have the same filters")
    r, lat = rollup_tables(principal, current.base)
    segments = current.segments + previous.segments
    # The previous range's rows all start before `since`, the current range's at or after it
    # (plan() rounds inwards; the hour that holds `since` is an edge of both, read raw).
    t = case((r.start >= since, aggregates.time_bucket(db.dialect, r.start, bucket)), else_=null()).label("t")
    lt = case((lat.start >= since, aggregates.time_bucket(db.dialect, lat.start, bucket)), else_=null()).label("t")
    sums = [func.sum(r.exec_sum) if c == "exec_sum" else aggregates.count_sum(r.__table__.c[c]) for c in AMOUNTS]
    main = scoped_rollup_select(principal, current.base, r, segments, t, r.category, r.no_category, r.status,
                                *sums).group_by(t, r.category, r.no_category, r.status)
    latency = scoped_rollup_select(principal, current.base, lat, segments, lt, lat.bucket,
                                   aggregates.count_sum(lat.n)).group_by(lt, lat.bucket)
    edges = current.edges + previous.edges
    if edges:  # the ragged edges' raw rows, added up in SQL, arrive with the rollup rows they extend
        at = WorkflowLog.executed_at
        et = case((at >= since, aggregates.time_bucket(db.dialect, at, bucket)), else_=null()).label("t")
        edge_main, edge_latency = rollups.edge_sums(principal, current.base, edges, et)
        main, latency = union_all(main, edge_main), union_all(latency, edge_latency)  # type: ignore[assignment]
    async with db.analytics() as session:
        # Core rows, not the ORM session's: its per-row loading was ~6 ms a statement here (cProfile,
        # one client 30 d at 1M logs: ~20 ms of the page's ~55) for rows that are plain tuples.
        conn = await session.connection()
        if edges:
            await conn.run_sync(ensure_sqlite_math)
        rows = (await conn.execute(main)).all()
        buckets = (await conn.execute(latency)).all()
    this, before, series, dist = OverviewSums(), OverviewSums(), SeriesSums(bucket), DistributionSums()
    starts: dict[Any, datetime] = {}  # a few dozen bucket starts over thousands of rows: convert each once

    def start(moment: Any) -> datetime:
        found = starts.get(moment)
        if found is None:
            found = starts[moment] = as_utc(moment)
        return found

    for moment, category, no_category, status, *amounts in rows:
        n, exec_n, exec_sum = amounts[:_N_FIXED]
        if moment is None:
            before.add(category, no_category, status, n, exec_n, exec_sum)
            continue
        this.add(category, no_category, status, n, exec_n, exec_sum)
        series.add(start(moment), status, n, exec_n, exec_sum)
        dist.add(status, amounts[_N_FIXED:])
    for moment, b, n in buckets:
        if moment is None:
            add_hist(before.hist, b, n)
        else:
            add_hist(this.hist, b, n)
            add_hist(series.at(start(moment))[4], b, n)
    return {"current": this.result(quantiles), "previous": before.result(quantiles), "series": series.result(quantiles),
            "dist": dist.result()}
