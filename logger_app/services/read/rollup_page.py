"""The overview page's metrics in three statements instead of eleven.

The page shows, for one range: the cards (an overview), the same cards for the range before it (the
"vs previous period" changes), the volume and latency charts (a timeseries) and the confidence and
iterations charts (distributions). Asked one by one (metrics.overview twice, timeseries,
distributions), that is eleven statements over the same rollup rows, each in its own session, and
the latency histogram of the range scanned twice. Here the two ranges' rollup rows are read in one
statement (rows before `since` are the previous range's: their time bucket is NULL), their latency
rows in a second, all four ragged edges in a third, in one session (one snapshot), and the rows are
added up by the same OverviewSums / SeriesSums / DistributionSums as the separate functions, so
both ways give the same answers (tests/test_rollups.py compares them on random data and ranges).
Figures: docs/PERFORMANCE.md (bench/read.py times what the page loads through this function)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, null

from ...db import aggregates
from ...db.engine import Database
from ...db.models import LogLatencyRollup, LogRollup
from ...db.rollup_scheme import AMOUNTS
from ..access.principal import Principal
from ..ingest.rollup_delta import Delta
from . import rollups
from .rollup_sums import DistributionSums, OverviewSums, SeriesSums, add_hist, as_utc
from .rollups import Plan
from .scope import scoped_rollup_select

_N_FIXED = 3  # n, exec_n, exec_sum lead AMOUNTS; the confidence and iterations buckets follow


async def page(db: Database, principal: Principal, current: Plan, previous: Plan, since: datetime, bucket: str,
               quantiles: Sequence[float]) -> dict[str, Any]:
    """{"current", "previous": overview dicts, "series": timeseries rows, "dist": (conf, iters)}
    for `current`'s range (which starts at `since`) and `previous`'s (which ends there)."""
    if current.base != previous.base:
        raise ValueError("both ranges must have the same filters")
    r, lat = LogRollup, LogLatencyRollup
    segments = current.segments + previous.segments
    # The previous range's rows all start before `since`, the current range's at or after it
    # (plan() rounds inwards; the hour that holds `since` is an edge of both, read raw).
    t = case((r.start >= since, aggregates.time_bucket(db.dialect, r.start, bucket)), else_=null()).label("t")
    lt = case((lat.start >= since, aggregates.time_bucket(db.dialect, lat.start, bucket)), else_=null()).label("t")
    sums = [func.sum(r.__table__.c[c]) for c in AMOUNTS]
    main = scoped_rollup_select(principal, current.base, r, segments, t, r.category, r.no_category, r.status,
                                *sums).group_by(t, r.category, r.no_category, r.status)
    latency = scoped_rollup_select(principal, current.base, lat, segments, lt, lat.bucket,
                                   func.sum(lat.n)).group_by(lt, lat.bucket)
    async with db.analytics() as session:
        rows = (await session.execute(main)).all()
        buckets = (await session.execute(latency)).all()
        raw = await rollups.edge_rows(session, principal, current.base, current.edges + previous.edges)
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
    later = Delta().add(row for row in raw if row["executed_at"] >= since)
    earlier = Delta().add(row for row in raw if row["executed_at"] < since)
    this.add_edges(later)
    series.add_edges(later)
    dist.add_edges(later)
    before.add_edges(earlier)
    return {"current": this.result(quantiles), "previous": before.result(quantiles), "series": series.result(quantiles),
            "dist": dist.result()}
