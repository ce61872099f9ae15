"""Adding up rollup rows (the ragged edges' raw rows arrive added up in the same shape) into what
the dashboards show: an overview, a timeseries, the confidence and iterations distributions.
rollups.py reads them one aggregate at a time (the read API), rollup_page.py all at once (the
overview page); both add up here, so both give the same answers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from ...db.rollup_scheme import CONFIDENCE_BUCKETS, MAX_ITERATIONS_BUCKET, bucket_value


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


def add_hist(hist: dict[int, int], bucket: int, n: int) -> None:
    hist[bucket] = hist.get(bucket, 0) + int(n)


class OverviewSums:
    """What an overview adds up, from rollup rows, then shapes."""

    def __init__(self) -> None:
        self.cats: dict[str | None, list] = {}  # category -> [count, errors, [exec sums], exec count]
        self.hist: dict[int, int] = {}

    def add(self, category: str, no_category: bool, status: str, n: int, exec_n: int, exec_sum: float) -> None:
        c = self.cats.setdefault(None if no_category else category, [0, 0, [], 0])
        c[0] += int(n)
        c[1] += int(n) if status == "ERROR" else 0
        c[2].append(float(exec_sum or 0.0))
        c[3] += int(exec_n)

    def result(self, quantiles: Sequence[float]) -> dict[str, Any]:
        # > 0: a category whose logs of a boundary hour all lie in its minus range adds up to 0 (and
        # -1 if a log of that part committed between the statements that read the hour and the part).
        categories = sorted(((c, v) for c, v in self.cats.items() if v[0] > 0), key=lambda cv: category_order(cv[0], cv[1][0]))
        total = sum(v[0] for _, v in categories)
        errors = sum(v[1] for _, v in categories)
        exec_count = sum(v[3] for _, v in categories)
        p50, p95 = hist_percentiles(self.hist, quantiles)
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


def as_utc(value: Any) -> datetime:
    """A bucket start as the database returns it (text on SQLite, naive or aware on PostgreSQL)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class SeriesSums:
    """What a timeseries adds up per bucket start, from rollup rows."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.series: dict[datetime, list] = {}  # start -> [total, errors, exec sum, exec count, histogram]

    def at(self, moment: datetime) -> list:
        return self.series.setdefault(moment, [0, 0, 0.0, 0, {}])

    def add(self, moment: datetime, status: str, n: int, exec_n: int, exec_sum: float) -> None:
        s = self.at(moment)
        s[0] += int(n)
        s[1] += int(n) if status == "ERROR" else 0
        s[2] += float(exec_sum or 0.0)
        s[3] += int(exec_n)

    def result(self, quantiles: Sequence[float]) -> list[dict]:
        out = []
        for moment in sorted(self.series):
            total, errors, exec_sum, exec_n, hist = self.series[moment]
            if total <= 0:  # as OverviewSums.result
                continue
            p50, p95 = hist_percentiles(hist, quantiles)
            out.append({"bucket": moment.isoformat(), "total": total, "errors": errors,
                        "avg_execution_time_seconds": exec_sum / exec_n if exec_n else None,
                        "p50_execution_time_seconds": p50, "p95_execution_time_seconds": p95})
        return out


class DistributionSums:
    """Confidence and iterations counts per outcome (True: error)."""

    def __init__(self) -> None:
        self.conf = {False: [0] * CONFIDENCE_BUCKETS, True: [0] * CONFIDENCE_BUCKETS}
        self.iters = {False: [0] * (MAX_ITERATIONS_BUCKET + 1), True: [0] * (MAX_ITERATIONS_BUCKET + 1)}

    def add(self, status: str, values: Sequence[Any]) -> None:
        """values: the rollup's c0..c9 then i0..i15 (CONF_COLUMNS + ITER_COLUMNS)."""
        error = status == "ERROR"
        # Whole lists at once: the page adds ~300 rows of 26 values (an index loop was 5 ms of it).
        self.conf[error] = [a + int(b or 0) for a, b in zip(self.conf[error], values[:CONFIDENCE_BUCKETS])]
        self.iters[error] = [a + int(b or 0) for a, b in zip(self.iters[error], values[CONFIDENCE_BUCKETS:])]

    def result(self) -> tuple[dict[bool, list[int]], dict[bool, list[int]]]:
        return self.conf, self.iters
