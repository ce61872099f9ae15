"""The overview page's metrics in two statements instead of eleven.

The page shows, for one range: the cards (an overview), the same cards for the range before it (the
"vs previous period" changes), the volume and latency charts (a timeseries) and the confidence and
iterations charts (distributions). Asked one by one (metrics.overview twice, timeseries,
distributions), that is eleven statements over the same rollup rows, each in its own session, and
the latency histogram of the range scanned twice. Here the two ranges' rollup rows are read in one
statement (the previous range's with a NULL time bucket) and their latency rows in a second, each
with the boundary hours' raw rows (rollup_plan.plan: added, or subtracted from an hour read whole)
added up in SQL into rows of the same shape (rollups.sum_rows, like every rollup read), in one
session (one snapshot). The
rows are added up by the same OverviewSums / SeriesSums / DistributionSums as the separate functions, so both ways
give the same answers (tests/test_rollups.py compares them on random data and ranges).
The tables are scope.rollup_tables' choice: the all-clients sums for an admin's all-clients page.
Figures: docs/PERFORMANCE.md (bench/read.py times what the page loads through this function)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...db.engine import Database
from ..access.principal import Principal
from . import rollups
from .rollup_plan import Plan
from .rollup_sums import DistributionSums, OverviewSums, SeriesSums, as_utc
from .rollups import N_FIXED


async def page(db: Database, principal: Principal, current: Plan, previous: Plan, bucket: str,
               quantiles: Sequence[float]) -> dict[str, Any]:
    """{"current", "previous": overview dicts, "series": timeseries rows, "dist": (conf, iters)}
    for `current`'s range (which starts at `since`) and `previous`'s (which ends there)."""
    if current.base != previous.base:
        raise ValueError("both ranges must have the same filters")
    # The previous range's rows come with t NULL (sum_rows: each raw range on its own plan's side;
    # the hour that holds `since` is read by one side's rollup rows, less or plus its raw rows).
    rows, buckets = await rollups.sum_rows(db, principal, current, bucket, previous)
    this, before, series, dist = OverviewSums(), OverviewSums(), SeriesSums(bucket), DistributionSums()
    starts: dict[Any, datetime] = {}  # a few dozen bucket starts over thousands of rows: convert each once

    def start(moment: Any) -> datetime:
        found = starts.get(moment)
        if found is None:
            found = starts[moment] = as_utc(moment)
        return found

    for moment, category, no_category, status, *amounts in rows:
        n, exec_n, exec_sum = amounts[:N_FIXED]
        if moment is None:
            before.add(category, no_category, status, n, exec_n, exec_sum)
            continue
        this.add(category, no_category, status, n, exec_n, exec_sum)
        series.add(start(moment), status, n, exec_n, exec_sum)
        dist.add(status, amounts[N_FIXED:])
    # The histogram rows are most of the page's rows (~2.7k for one client's 30 days at 1M logs):
    # added up inline, with each chart bucket's histogram looked up once (2,700 rows: 2.2-2.7 ms -> 0.9-1.1).
    this_hist, before_hist = this.hist, before.hist
    hists: dict[Any, dict[int, int]] = {}
    for moment, b, n in buckets:
        if moment is None:
            before_hist[b] = before_hist.get(b, 0) + n
            continue
        hist = hists.get(moment)
        if hist is None:
            hist = hists[moment] = series.at(start(moment))[4]
        hist[b] = hist.get(b, 0) + n
        this_hist[b] = this_hist.get(b, 0) + n
    return {"current": this.result(quantiles), "previous": before.result(quantiles), "series": series.result(quantiles),
            "dist": dist.result()}
