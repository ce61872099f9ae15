"""The hour and day rollups answer like the raw rows: random data, random ranges (ragged edges included),
after deletes, prune and rebuild, on both backends; scoped like every read; backfilled by the migration."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from logger_app.db.engine import create_database
from logger_app.db.models import LogLatencyRollup, LogLatencyRollupAll, LogRollup, LogRollupAll, WorkflowLog
from logger_app.db.rollup_scheme import MAX_RELATIVE_ERROR, bucket_value, latency_bucket
from logger_app.services import retention
from logger_app.services.access.principal import Principal
from logger_app.services.errors import AccessDenied
from logger_app.services.ingest.rollup_delta import rebuild
from logger_app.services.ingest.validation import normalise_log
from logger_app.services.read import metrics
from logger_app.services.read.rollup_sums import hist_percentiles
from logger_app.services.read.scope import LogFilters, rollup_tables, scoped_rollup_select
from tests.support.data import H

NOW = datetime.now(timezone.utc)
CLIENTS = ("acme", "globex")
CATEGORIES = ["billing", "login", "", None]


def random_logs(rng: random.Random, n: int, days: float = 4) -> list[dict]:
    out = []
    for _ in range(n):
        out.append({
            "ticket_id": f"T-{rng.randrange(n // 3 + 1)}",  # repeats: delete_ticket removes several
            "status": "ERROR" if rng.random() < 0.25 else "SUCCESS",
            "category": rng.choice(CATEGORIES),
            "environment": rng.choice(["production", "staging"]),
            "executed_at": (NOW - timedelta(seconds=rng.uniform(0, days * 86400))).isoformat(),
            "execution_time_seconds": None if rng.random() < 0.1 else rng.choice(
                [0, round(rng.uniform(0, 40), rng.choice([0, 1, 3])), rng.lognormvariate(0, 2)]),
            # Every bucket boundary (i / 10) as well as values between and outside them.
            "metrics": {"confidence": rng.choice([None, 1.0, -0.5, 1.7, rng.random(), rng.randint(0, 10) / 10]),
                        "iterations": rng.choice([None, -2, 0, 3, 15, 40, rng.randint(0, 20)])},
        })
    return out


async def store(api, key: str, logs: list[dict]) -> None:
    for start in range(0, len(logs), 500):
        r = await api.post("/api/v1/logs/batch", json={"logs": logs[start:start + 500]}, headers=H(key))
        assert r.status_code == 200, r.text[:300]


def random_filters(rng: random.Random) -> LogFilters:
    def moment() -> datetime:
        t = NOW - timedelta(seconds=rng.uniform(-3600, 4.5 * 86400))
        shape = rng.random()  # whole days and whole hours too
        return t.replace(hour=0, minute=0, second=0, microsecond=0) if shape < 0.15 else \
            t.replace(minute=0, second=0, microsecond=0) if shape < 0.35 else t

    since, until = (moment() if rng.random() < 0.85 else None), (moment() if rng.random() < 0.85 else None)
    if since and until and since > until:
        since, until = until, since
    if since and rng.random() < 0.15:
        until = since + timedelta(minutes=rng.uniform(1, 50))  # inside one or two hours: the raw path
    return LogFilters(since=since, until=until, environment=rng.choice([None, None, "production", "staging"]),
                      status=rng.choice([None, None, "ERROR", "success"]), client_id=rng.choice([None, *CLIENTS]))


def pct_close(got, want) -> bool:
    if got is None or want is None:
        return got is want
    return math.isclose(got, want, rel_tol=MAX_RELATIVE_ERROR + 1e-9, abs_tol=1e-12)


def avg_close(got, want) -> bool:
    return got is want if got is None or want is None else math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


async def assert_same_answers(db, rng: random.Random, ranges: int = 25) -> None:
    admin = Principal.admin()
    for _ in range(ranges):
        f = random_filters(rng)
        who = admin if f.client_id is None or rng.random() < 0.5 else Principal.for_client(f.client_id)
        got, want = await metrics.overview(db, who, f), await metrics.overview(db, who, f, raw=True)
        for field in ("total", "errors", "success", "success_rate"):
            assert got[field] == want[field], (f, field)
        assert avg_close(got["avg_execution_time_seconds"], want["avg_execution_time_seconds"]), f
        for field in ("p50_execution_time_seconds", "p95_execution_time_seconds"):
            assert pct_close(got[field], want[field]), (f, field, got[field], want[field])
        assert got["by_category"] == want["by_category"], f  # same rows, same order (ties by name)
        assert await metrics.distributions(db, who, f) == await metrics.distributions(db, who, f, raw=True), f
        for bucket in ("hour", "day"):
            series, raw = await metrics.timeseries(db, who, f, bucket), await metrics.timeseries(db, who, f, bucket, raw=True)
            assert [(s["bucket"], s["total"], s["errors"]) for s in series] == [(s["bucket"], s["total"], s["errors"]) for s in raw], (f, bucket)
            for s, r in zip(series, raw):
                assert avg_close(s["avg_execution_time_seconds"], r["avg_execution_time_seconds"]), (f, bucket)
                for field in ("p50_execution_time_seconds", "p95_execution_time_seconds"):
                    assert pct_close(s[field], r[field]), (f, bucket, s["bucket"], field, s[field], r[field])


async def rollup_table(db) -> tuple[dict, dict]:
    """Every rollup row, per client and all clients' (key -> amounts): (main tables, latency tables)."""
    async with db.read() as s:
        main = {tuple(r[:7]): tuple(r[7:]) for r in (await s.execute(select(LogRollup.__table__))).all() if r.n}
        main |= {("*all*", *r[:6]): tuple(r[6:]) for r in (await s.execute(select(LogRollupAll.__table__))).all() if r.n}
        lat = {tuple(r[:6]): r.n for r in (await s.execute(select(LogLatencyRollup.__table__))).all() if r.n}
        lat |= {("*all*", *r[:4]): r.n for r in (await s.execute(select(LogLatencyRollupAll.__table__))).all() if r.n}
    return main, lat


async def empty_rollup_rows(db) -> int:
    async with db.read() as s:
        return sum([(await s.execute(select(func.count()).select_from(t).where(t.n == 0))).scalar_one()
                    for t in (LogRollup, LogLatencyRollup, LogRollupAll, LogLatencyRollupAll)])


def same_tables(a: tuple[dict, dict], b: tuple[dict, dict]) -> bool:
    if a[1] != b[1] or a[0].keys() != b[0].keys():
        return False
    for key, values in a[0].items():  # exec_sum (index 2) was added and subtracted in another order
        other = b[0][key]
        if values[:2] != other[:2] or values[3:] != other[3:] or not math.isclose(values[2], other[2], rel_tol=1e-9, abs_tol=1e-9):
            return False
    return True


@pytest.mark.parametrize("seed", [1, 2])
async def test_rollups_answer_like_raw_rows_through_ingest_deletes_prune_and_rebuild(api, make_key, runtime, seed):
    rng = random.Random(seed)
    db = runtime.db
    keys = {c: await make_key(c) for c in CLIENTS}
    for c in CLIENTS:
        await store(api, keys[c], random_logs(rng, rng.randint(150, 400)))
    await assert_same_answers(db, rng)

    # Admin deletes: one log, one ticket's runs (the only logs of their category).
    await store(api, keys["acme"], [{**g, "ticket_id": "ERASE-ME", "category": "secret-category"} for g in random_logs(rng, 3)])
    admin_key = await make_key(None)
    page = (await api.get("/api/v1/logs", params={"limit": 20}, headers=H(admin_key))).json()["items"]
    for item in page[:5]:
        assert (await api.delete(f"/api/v1/logs/{item['id']}", headers=H(admin_key))).status_code == 200
    r = await api.delete("/api/v1/logs", params={"client_id": "acme", "ticket_id": "T-1"}, headers=H(admin_key))
    assert r.status_code == 200
    r = await api.delete("/api/v1/logs", params={"client_id": "acme", "ticket_id": "ERASE-ME"}, headers=H(admin_key))
    assert r.json()["deleted"] == 3
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(LogRollup).where(LogRollup.category == "secret-category"))).scalar_one() == 0
    await assert_same_answers(db, rng)
    assert await empty_rollup_rows(db) == 0  # nothing of a deleted log stays behind (PRIVACY.md)

    incremental = await rollup_table(db)
    await rebuild(db)
    assert same_tables(await rollup_table(db), incremental)  # the deltas kept exactly what a rebuild computes
    await assert_same_answers(db, rng, ranges=10)

    # Prune cuts through an hour (the cutoff is now minus 2 days, to the microsecond).
    assert await retention.prune(db, 2) > 0
    await assert_same_answers(db, rng)
    assert await empty_rollup_rows(db) == 0
    pruned = await rollup_table(db)
    await rebuild(db, "acme")
    assert same_tables(await rollup_table(db), pruned)
    await assert_same_answers(db, rng, ranges=10)


async def test_the_overview_page_in_three_statements_answers_like_the_four_reads(api, make_key, runtime):
    """metrics.overview_page (rollup_page.py: both ranges' rollup rows, latency rows and edges in one
    statement each) gives what overview x2, timeseries and distributions give one by one."""
    rng = random.Random(21)
    for c in CLIENTS:
        await store(api, await make_key(c), random_logs(rng, rng.randint(150, 300)))
    checked = 0
    for _ in range(30):
        f = random_filters(rng)
        if f.since is None or f.until is None:
            continue
        previous = replace(f, since=f.since - (f.until - f.since), until=f.since)
        who = Principal.admin() if f.client_id is None or rng.random() < 0.5 else Principal.for_client(f.client_id)
        for bucket in ("hour", "day"):
            page = await metrics.overview_page(runtime.db, who, f, previous, bucket)
            for got, want in ((page["current"], await metrics.overview(runtime.db, who, f)),
                              (page["previous"], await metrics.overview(runtime.db, who, previous))):
                assert {k: v for k, v in got.items() if k != "avg_execution_time_seconds"} == \
                    {k: v for k, v in want.items() if k != "avg_execution_time_seconds"}, (f, bucket)
                assert avg_close(got["avg_execution_time_seconds"], want["avg_execution_time_seconds"]), (f, bucket)
            series = await metrics.timeseries(runtime.db, who, f, bucket)
            assert [{**s, "avg_execution_time_seconds": None} for s in page["series"]] == \
                [{**s, "avg_execution_time_seconds": None} for s in series], (f, bucket)
            assert all(avg_close(a["avg_execution_time_seconds"], b["avg_execution_time_seconds"])
                       for a, b in zip(page["series"], series)), (f, bucket)
            assert page["dist"] == await metrics.distributions(runtime.db, who, f), (f, bucket)
            checked += page["current"]["total"] + page["previous"]["total"]
    assert checked > 500  # the ranges held logs


async def test_rollup_reads_are_scoped_and_fail_closed(api, make_key, runtime):
    db = runtime.db
    for c, n in (("acme", 30), ("globex", 50)):
        await store(api, await make_key(c), random_logs(random.Random(n), n))
    month = LogFilters(since=(NOW - timedelta(days=30)).replace(minute=0, second=0, microsecond=0))
    mine = await metrics.overview(db, Principal.for_client("acme"), month)
    assert mine["total"] == 30
    assert (await metrics.overview(db, Principal.admin(), month))["total"] == 80
    # Asking for another client's data is refused, not answered with one's own or everyone's.
    with pytest.raises(AccessDenied):
        await metrics.overview(db, Principal.for_client("acme"), LogFilters(client_id="globex"))
    with pytest.raises(AccessDenied):
        await metrics.timeseries(db, Principal.for_client("acme"), LogFilters(client_id="globex"), "day")
    # A non-admin without a client sees nothing, never everything.
    every = [("day", None, None)]
    with pytest.raises(AccessDenied):
        scoped_rollup_select(Principal(client_id=None, name="odd"), LogFilters(), LogRollup, every, LogRollup.n)
    # The all-clients sums go to an admin who asked for every client, to no one else.
    assert rollup_tables(Principal.admin(), LogFilters()) == (LogRollupAll, LogLatencyRollupAll)
    assert rollup_tables(Principal.admin(), LogFilters(client_id="acme")) == (LogRollup, LogLatencyRollup)
    assert rollup_tables(Principal.for_client("acme"), LogFilters()) == (LogRollup, LogLatencyRollup)
    for who, f in ((Principal.for_client("acme"), LogFilters()), (Principal.admin(), LogFilters(client_id="acme")),
                   (Principal(client_id=None, name="odd"), LogFilters())):
        for table in (LogRollupAll, LogLatencyRollupAll):
            with pytest.raises(AccessDenied):
                scoped_rollup_select(who, f, table, every, table.n)
    with pytest.raises(ValueError):  # that histogram has no status: a status filter must not be dropped
        scoped_rollup_select(Principal.admin(), LogFilters(status="ERROR"), LogLatencyRollupAll, every, LogLatencyRollupAll.n)
    # Filters the rollups cannot answer are refused by the helper (metrics.py sends them to raw rows),
    # and so are bounds that would cut a rollup row.
    with pytest.raises(ValueError):
        scoped_rollup_select(Principal.admin(), LogFilters(category="billing"), LogRollup, every, LogRollup.n)
    with pytest.raises(ValueError):
        scoped_rollup_select(Principal.admin(), LogFilters(), LogRollup, [("hour", NOW.replace(minute=7), None)], LogRollup.n)
    with pytest.raises(ValueError):
        scoped_rollup_select(Principal.admin(), LogFilters(), LogRollup, [("day", NOW.replace(hour=3, minute=0), None)], LogRollup.n)
    # Over HTTP: a client key's metrics are its own.
    acme = await make_key("acme")
    got = (await api.get("/api/v1/metrics/overview", headers=H(acme))).json()
    assert got["total"] == 30
    assert (await api.get("/api/v1/metrics/overview", params={"client_id": "globex"}, headers=H(acme))).status_code == 403


def test_histogram_bound_holds_for_every_value():
    rng = random.Random(4)
    for v in [1e-300, 5e-324, 1e-6, 0.001, 0.3, 1.0, 1.04, 25.0, 86400.0, 1e300] + [rng.lognormvariate(0, 4) for _ in range(2000)]:
        assert abs(bucket_value(latency_bucket(v)) - v) <= MAX_RELATIVE_ERROR * v * (1 + 1e-12), v
    assert bucket_value(latency_bucket(0.0)) == 0.0
    assert hist_percentiles({}, (0.5,)) == [None]


async def test_migration_backfills_a_populated_database(tmp_path, pg_database_url, database_url):
    """Logs stored before the rollups existed (the revision before them) are in them after the upgrade."""
    from alembic import command

    from logger_app.db.migrate import alembic_config, upgrade
    from tests.support.postgres import admin_sql, sibling_url

    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path}/backfill.db"
    else:
        name = f"cl_test_backfill_{uuid.uuid4().hex[:8]}"
        await admin_sql(pg_database_url, f'CREATE DATABASE "{name}"')
        url = sibling_url(pg_database_url, name)
    try:
        import asyncio

        from alembic.script import ScriptDirectory
        from sqlalchemy import inspect

        before_rollups = ScriptDirectory.from_config(alembic_config(url)).get_revision("0003_rollups").down_revision
        await asyncio.to_thread(command.upgrade, alembic_config(url), before_rollups)
        db = create_database(url, 10.0)
        rows = [normalise_log(g, c, NOW) for c in CLIENTS for g in random_logs(random.Random(len(c)), 120)]
        async with db.writer.begin() as conn:  # as that revision's schema stored them: no rollups yet
            columns = {c["name"] for c in await conn.run_sync(lambda sync: inspect(sync).get_columns("workflow_logs"))}
            await conn.execute(insert(WorkflowLog), [{k: v for k, v in r.items() if k in columns} for r in rows])
        await db.dispose()
        await upgrade(url)  # -> head: the rollups' migration runs and backfills
        db = create_database(url, 10.0)
        try:
            assert (await metrics.overview(db, Principal.admin(), LogFilters()))["total"] == 240
            await assert_same_answers(db, random.Random(9), ranges=15)
            backfilled = await rollup_table(db)
            await rebuild(db)
            assert same_tables(await rollup_table(db), backfilled)
        finally:
            await db.dispose()
    finally:
        if not database_url.startswith("sqlite"):
            await admin_sql(pg_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_overview_page_reads_rollups_and_at_most_half_an_hour_raw_a_boundary(api, make_key, runtime, monkeypatch):
    """What pages/overview.py load() asks for, for the ranges whose charts are hourly or daily: no
    raw-path aggregate runs, and every raw read is the smaller side of a boundary hour (the rest of
    that hour comes from its rollup rows)."""
    from logger_app.pages import overview as page
    from logger_app.services.read import rollups

    await store(api, await make_key("acme"), random_logs(random.Random(5), 200, days=40))

    def no_raw_path(*args, **kwargs):
        raise AssertionError("a raw-path aggregate ran")

    monkeypatch.setattr(metrics, "scoped_select", no_raw_path)  # what metrics.py's raw path starts from
    raw_reads: list[LogFilters] = []
    real_edge_sums = rollups.edge_sums

    def recording(principal, base, edges, t=None, sign=1):
        raw_reads.extend(edges)
        return real_edge_sums(principal, base, edges, t, sign)

    monkeypatch.setattr(rollups, "edge_sums", recording)
    for principal in (Principal.admin(), Principal.for_client("acme")):
        for range_ in ("24h", "7d", "30d"):
            raw_reads.clear()
            data = await page.load(runtime, principal, page.OverviewState(range=range_))
            assert data["current"]["total"] > 0, range_
            # What lies before now (a part after now holds no logs: the current hour is its rollup
            # rows less the logs after now): half an hour at most a boundary, and of both ranges'
            # four boundaries only two are read (the hour that holds `since` once for both sides,
            # and the previous range's start).
            now = datetime.now(timezone.utc)
            live = [min(f.until, now) - f.since for f in raw_reads if f.since < now]
            assert live and all(d <= timedelta(minutes=30) for d in live), range_
            assert sum(live, timedelta(0)) <= timedelta(hours=1), range_


async def test_extreme_execution_times_stay_answerable(api, make_key):
    """The largest double, the smallest, zero: every value has a bucket, and no bucket reads back as inf."""
    key = await make_key("acme")
    logs = [{"ticket_id": f"X-{i}", "status": "SUCCESS", "execution_time_seconds": v,
             "executed_at": (NOW - timedelta(hours=3)).isoformat()} for i, v in enumerate([1.7976931348623157e308, 5e-324, 0, 1e-9])]
    await store(api, key, logs)
    r = await api.get("/api/v1/metrics/overview", headers=H(key))
    assert r.status_code == 200 and r.json()["total"] == 4
    assert r.json()["p95_execution_time_seconds"] == pytest.approx(1.7976931348623157e308 * 0.85, rel=MAX_RELATIVE_ERROR)  # rank 2.85 of 4
    assert (await api.get("/api/v1/metrics/timeseries", params={"bucket": "day"}, headers=H(key))).status_code == 200


async def test_an_update_moves_a_log_between_rollup_rows(api, make_key, runtime):
    """The update path (a trace arriving over several exports replaces its row): -old +new in the
    same transaction keeps the rollups equal to a rebuild, whatever changed (hour, day, status,
    category, times, confidence, iterations)."""
    from sqlalchemy import update

    from logger_app.db.rollup_scheme import ROLLUP_COLUMNS, as_row
    from logger_app.services.ingest.rollup_delta import apply_rollup_changes

    db = runtime.db
    rng = random.Random(12)
    await store(api, await make_key("acme"), random_logs(rng, 60))
    cols = [WorkflowLog.__table__.c[c] for c in ROLLUP_COLUMNS]
    async with db.writer.begin() as conn:
        ids = list((await conn.execute(select(WorkflowLog.id).order_by(WorkflowLog.id).limit(12))).scalars())
        for n, log_id in enumerate(ids):
            old = as_row((await conn.execute(select(*cols).where(WorkflowLog.id == log_id).with_for_update())).one())
            new = {**old, "status": "ERROR" if old["status"] == "SUCCESS" else "SUCCESS",
                   "category": rng.choice(CATEGORIES), "execution_time_seconds": rng.choice([None, 0.0, rng.uniform(0, 90)]),
                   "confidence": rng.choice([None, rng.random()]), "iterations": rng.choice([None, rng.randint(0, 30)]),
                   "executed_at": old["executed_at"] - timedelta(hours=rng.choice([0, 1, 30]), minutes=rng.randint(0, 59))}
            if n % 4 == 0:
                new = dict(old)  # an export that changed nothing the rollups count: no statement at all
            await conn.execute(update(WorkflowLog).where(WorkflowLog.id == log_id).values(
                **{k: v for k, v in new.items() if k != "client_id"}))
            await apply_rollup_changes(conn, db.dialect, added=[new], removed=[old])
    await assert_same_answers(db, rng, ranges=15)
    assert await empty_rollup_rows(db) == 0
    kept = await rollup_table(db)
    await rebuild(db)
    assert same_tables(await rollup_table(db), kept)


async def test_a_trace_exported_in_parts_is_counted_once_with_its_final_values(api, make_key, runtime):
    """OTLP: each export of a trace replaces its log row in the writer; the rollups follow (-old
    +new in the same transaction), so the dashboards count one log with the complete trace's values."""
    import asyncio

    from tests.support.otel import agent_spans, body, headers

    key = await make_key("acme")
    for ticket, fail in (("T-A", False), ("T-B", True)):
        spans = agent_spans(ticket, fail=fail)
        children, root = [s for s in spans if s.parent is not None], [s for s in spans if s.parent is None]
        for part in (children[:1], children[1:], root, spans):  # the last: an exporter's retry
            r = await api.post("/v1/traces", content=body(part), headers=headers(key))
            assert r.status_code == 200, r.text
    spans = agent_spans("T-C")  # concurrent exports of one new trace, one span each
    await asyncio.gather(*(api.post("/v1/traces", content=body([s]), headers=headers(key)) for s in spans))
    db, acme = runtime.db, Principal.for_client("acme")
    got, raw = await metrics.overview(db, acme, LogFilters()), await metrics.overview(db, acme, LogFilters(), raw=True)
    assert got["total"] == raw["total"] == 3 and got["errors"] == raw["errors"] and got["by_category"] == raw["by_category"]
    assert pct_close(got["p50_execution_time_seconds"], raw["p50_execution_time_seconds"])
    assert await metrics.distributions(db, acme, LogFilters()) == await metrics.distributions(db, acme, LogFilters(), raw=True)
    assert await empty_rollup_rows(db) == 0
    kept = await rollup_table(db)
    await rebuild(db)
    assert same_tables(await rollup_table(db), kept)
