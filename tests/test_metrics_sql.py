"""Overview, timeseries and distributions are computed by the database on both backends: the numbers
equal a straightforward Python computation, and the rows that reach Python do not grow with the
number of logs (SQLite used to read every matching row onto the event loop)."""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from logger_app.db.rollup_scheme import MAX_RELATIVE_ERROR
from logger_app.services.access.principal import Principal
from logger_app.services.read import metrics
from logger_app.services.read.scope import LogFilters
from tests.support.data import H

BASE = datetime(2026, 5, 1, 0, 0, tzinfo=timezone.utc)
CATEGORIES = ["billing", "login", "shipping", None]


async def store(api, key, logs: list[dict]) -> None:
    for start in range(0, len(logs), 1000):
        r = await api.post("/api/v1/logs/batch", json={"logs": logs[start:start + 1000]}, headers=H(key))
        assert r.status_code == 200, r.text[:300]


# -- a straightforward computation to compare with ------------------------------------------
def pct(values: list[float], q: float) -> float | None:
    """statistics' "inclusive" quantiles are linear interpolation between closest ranks, the
    definition of PostgreSQL's percentile_cont."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def expected_overview(logs: list[dict]) -> dict:
    times = [g["execution_time_seconds"] for g in logs if g["execution_time_seconds"] is not None]
    errors = sum(g["status"] == "ERROR" for g in logs)
    cats: dict = defaultdict(lambda: [0, 0])
    for g in logs:
        cats[g.get("category")][0] += 1
        cats[g.get("category")][1] += g["status"] == "ERROR"
    return {
        "total": len(logs), "errors": errors, "success": len(logs) - errors,
        "success_rate": (len(logs) - errors) / len(logs) if logs else None,
        "avg_execution_time_seconds": math.fsum(times) / len(times) if times else None,
        "p50_execution_time_seconds": pct(times, 0.5), "p95_execution_time_seconds": pct(times, 0.95),
        "by_category": {c: (n, e) for c, (n, e) in cats.items()},
    }


def expected_series(logs: list[dict], bucket: str) -> list[dict]:
    groups: dict = defaultdict(list)
    for g in logs:
        t = datetime.fromisoformat(g["executed_at"]).replace(minute=0, second=0)
        groups[t if bucket == "hour" else t.replace(hour=0)].append(g)
    out = []
    for t in sorted(groups):
        rows = groups[t]
        times = [g["execution_time_seconds"] for g in rows if g["execution_time_seconds"] is not None]
        out.append({"bucket": t.isoformat(), "total": len(rows), "errors": sum(g["status"] == "ERROR" for g in rows),
                    "avg_execution_time_seconds": math.fsum(times) / len(times) if times else None,
                    "p50_execution_time_seconds": pct(times, 0.5), "p95_execution_time_seconds": pct(times, 0.95)})
    return out


def close(a, b, rel_tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)


def close_field(field: str, a, b) -> bool:
    """Percentiles over whole hours come from the rollups' histogram: within its bound (docs/ROLLUPS.md)."""
    return close(a, b, MAX_RELATIVE_ERROR + 1e-9 if field.startswith("p") else 1e-9)


def random_logs(rng: random.Random, n: int) -> list[dict]:
    logs = []
    for i in range(n):
        exec_time = None if rng.random() < 0.1 else round(rng.uniform(0, 40), rng.choice([0, 1, 3]))  # ties too
        logs.append({
            "ticket_id": f"T-{i}", "status": "ERROR" if rng.random() < 0.2 else "SUCCESS",
            "category": rng.choice(CATEGORIES),
            "environment": rng.choice(["production", "staging"]),
            "executed_at": (BASE + timedelta(seconds=rng.randrange(3 * 86400))).isoformat(),
            "execution_time_seconds": exec_time,
        })
    # Edge buckets: one with a single timed log, one with no timed log at all.
    logs.append({"ticket_id": "single", "status": "SUCCESS", "executed_at": (BASE + timedelta(days=4)).isoformat(),
                 "execution_time_seconds": 7.25})
    logs.append({"ticket_id": "untimed", "status": "ERROR", "executed_at": (BASE + timedelta(days=5)).isoformat(),
                 "execution_time_seconds": None})
    return logs


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_overview_and_timeseries_equal_a_python_computation_on_random_data(api, make_key, seed):
    rng = random.Random(seed)
    logs = random_logs(rng, rng.randint(30, 400))
    key = await make_key("acme")
    await store(api, key, logs)
    filters = [({}, lambda g: True), ({"status": "ERROR"}, lambda g: g["status"] == "ERROR"),
               ({"category": "login"}, lambda g: g.get("category") == "login"),
               ({"from": (BASE + timedelta(hours=20)).isoformat(), "to": (BASE + timedelta(hours=50)).isoformat()},
                lambda g: BASE + timedelta(hours=20) <= datetime.fromisoformat(g["executed_at"]) < BASE + timedelta(hours=50))]
    for params, keep in filters:
        subset = [g for g in logs if keep(g)]
        got = (await api.get("/api/v1/metrics/overview", params=params, headers=H(key))).json()
        want = expected_overview(subset)
        for field in ("total", "errors", "success"):
            assert got[field] == want[field], (params, field)
        for field in ("success_rate", "avg_execution_time_seconds", "p50_execution_time_seconds",
                      "p95_execution_time_seconds"):
            assert close_field(field, got[field], want[field]), (params, field, got[field], want[field])
        assert {c["category"]: (c["count"], c["errors"]) for c in got["by_category"]} == want["by_category"]
        assert [c["count"] for c in got["by_category"]] == sorted((c["count"] for c in got["by_category"]), reverse=True)
        for bucket in ("hour", "day"):
            series = (await api.get("/api/v1/metrics/timeseries", params={**params, "bucket": bucket},
                                    headers=H(key))).json()["items"]
            expected = expected_series(subset, bucket)
            assert [b["bucket"] for b in series] == [b["bucket"] for b in expected], (params, bucket)
            for b, e in zip(series, expected):
                assert (b["total"], b["errors"]) == (e["total"], e["errors"]), (params, bucket, b["bucket"])
                for field in ("avg_execution_time_seconds", "p50_execution_time_seconds", "p95_execution_time_seconds"):
                    assert close_field(field, b[field], e[field]), (params, bucket, b["bucket"], field, b[field], e[field])


# -- the mechanism: rows returned to Python, counted where the ORM gets them ------------------
@pytest.fixture
def rows_to_python(runtime):
    """How many rows the database handed to Python through the app's read sessions."""
    counted = {"rows": 0}

    def count(state):
        if state.session.bind is not runtime.db.reader.sync_engine:
            return None
        result = state.invoke_statement()
        if not getattr(result, "returns_rows", True):
            return result
        frozen = result.freeze()
        counted["rows"] += len(frozen.data)
        return frozen()

    event.listen(Session, "do_orm_execute", count)
    try:
        yield counted
    finally:
        event.remove(Session, "do_orm_execute", count)


def shaped_logs(start: int, n: int) -> list[dict]:
    """Logs spread over the same 6 hours, 3 categories, a few confidence/iteration values, whatever n."""
    return [{
        "ticket_id": f"T-{i}", "status": "ERROR" if i % 5 == 0 else "SUCCESS", "category": CATEGORIES[i % 3],
        "executed_at": (BASE + timedelta(seconds=(i * 7919) % (6 * 3600))).isoformat(),
        "execution_time_seconds": (i * 37) % 1000 / 10,
        "metrics": {"confidence": (i % 3) / 3 + 0.1, "iterations": i % 3 + 1},
    } for i in range(start, start + n)]


async def test_aggregates_return_rows_bounded_independently_of_the_number_of_logs(api, make_key, runtime,
                                                                                     rows_to_python):
    key = await make_key("acme")
    acme = Principal.for_client("acme")

    async def rows_per_call(raw: bool) -> dict[str, int]:
        out = {}
        for name, call in (("overview", lambda: metrics.overview(runtime.db, acme, LogFilters(), raw=raw)),
                           ("timeseries hour", lambda: metrics.timeseries(runtime.db, acme, LogFilters(), "hour", raw=raw)),
                           ("timeseries day", lambda: metrics.timeseries(runtime.db, acme, LogFilters(), "day", raw=raw)),
                           ("distributions", lambda: metrics.distributions(runtime.db, acme, LogFilters(), raw=raw))):
            rows_to_python["rows"] = 0
            await call()
            out[name] = rows_to_python["rows"]
        return out

    await store(api, key, shaped_logs(0, 300))
    small = await rows_per_call(raw=True)
    await store(api, key, shaped_logs(300, 2700))
    assert (await metrics.overview(runtime.db, acme, LogFilters()))["total"] == 3000
    large = await rows_per_call(raw=True)
    assert large == small, (small, large)  # 10x the logs, the same rows
    assert max(large.values()) <= 40, large  # it was ~3,000 per call on SQLite
    # The rollups hand over one row per histogram bucket in use (per time bucket): bounded by the
    # scheme, not by the logs. 0.1-99.9 s spans 177 buckets of 4 %, plus the zero bucket; 6 hours.
    buckets = 178 + 1
    rolled = await rows_per_call(raw=False)
    assert rolled["overview"] <= 3 * 2 + buckets and rolled["distributions"] <= 2, rolled
    assert rolled["timeseries hour"] <= 6 * (2 + buckets) and rolled["timeseries day"] <= 2 + buckets, rolled
