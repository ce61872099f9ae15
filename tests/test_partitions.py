"""PostgreSQL's monthly partitions of workflow_logs (db/partitions.py, db/log_locator.py): reads of a
1-day range touch only that day's partition (EXPLAIN ANALYZE), ingest creates months on demand and
any year is accepted, the idempotency key stays global per client, retention drops whole months and
the rollups still equal the raw rows. SQLite keeps a plain table: the retention test runs there too."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, text

from logger_app.db import partitions
from logger_app.db.log_locator import LOCATOR
from logger_app.db.models import WorkflowLog
from logger_app.services import retention
from logger_app.services.access.principal import Principal
from logger_app.services.ingest.rollup_delta import rebuild
from logger_app.services.read import metrics, queries
from logger_app.services.read.neighbours import neighbours
from logger_app.services.read.scope import LogFilters
from logger_app.services.read.sorting import Sort
from tests.support.data import H
from tests.test_rollups import rollup_table, same_tables

NOW = datetime.now(timezone.utc)
THIS = partitions.month_of(NOW)


def _pg_only(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite keeps one plain table: there are no partitions to prune")


def _log(ticket: str, at: datetime, **kw) -> dict:
    return {"ticket_id": ticket, "status": kw.pop("status", "SUCCESS"), "category": "billing",
            "executed_at": at.isoformat(), "execution_time_seconds": 1.5, **kw}


async def _post(api, key: str, logs: list[dict]) -> list[dict]:
    r = await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))
    assert r.status_code == 200, r.text[:300]
    return r.json()["results"]


async def _where(db, column_value: str) -> list[str]:
    async with db.read() as s:
        rows = await s.execute(text("SELECT tableoid::regclass::text FROM workflow_logs WHERE ticket_id = :t"),
                               {"t": column_value})
        return [r[0] for r in rows]


_SCAN = re.compile(r" on (workflow_logs_\w+)")


async def _touched(db, statements: list[tuple[str, object]]) -> list[set[str]]:
    """Per captured statement, the partitions its EXPLAIN ANALYZE ran (pruned at plan time: not in
    the plan; at run time: "never executed")."""
    out = []
    async with db.reader.connect() as conn:
        for sql, params in statements:
            plan = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql,
                                               params)).scalars().all()
            out.append({m[1] for line in plan if "never executed" not in line for m in [_SCAN.search(line)] if m})
    return out


async def test_reads_of_one_day_touch_only_its_partition(api, make_key, runtime, database_url):
    _pg_only(database_url)
    db = runtime.db
    key = await make_key("acme")
    months = [partitions.shift(THIS, -i) for i in (3, 2, 1)]
    day = datetime(*months[1], 15, 10, 30, tzinfo=timezone.utc)  # a ragged 1-day range: raw edges too
    logs = []
    for month in months:
        for d in (2, 14, 15, 16, 27):
            for h in (3, 11, 20):
                at = datetime(*month, d, h, 7, tzinfo=timezone.utc)
                logs.append(_log(f"needle-{month[1]}-{d}-{h}", at, status="ERROR" if h == 3 else "SUCCESS"))
    await _post(api, key, logs)
    target = partitions.partition_name(months[1])
    assert set(await _where(db, f"needle-{months[1][1]}-15-11")) == {target}

    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "workflow_logs" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            statements.append((statement, parameters))

    acme, ids = Principal.for_client("acme"), runtime.public_ids
    f = LogFilters(since=day, until=day + timedelta(days=1))
    event.listen(db.reader.sync_engine, "before_cursor_execute", capture)
    try:
        listed = await queries.list_logs(db, ids, acme, f)
        assert listed["items"]
        count = len(statements)
        got = await queries.get_log(db, ids, acme, listed["items"][0]["id"])
        assert got["ticket_id"].startswith("needle") and len(statements) > count
        await neighbours(db, ids, acme, f, Sort(), listed["items"][0]["id"])
        count = len(statements)
        assert (await metrics.overview(db, acme, f))["total"] == 3  # the 15th 11:07, 20:07, the 16th 03:07
        await metrics.timeseries(db, acme, f, "hour")
        await metrics.distributions(db, acme, f)
        assert len(statements) > count  # the ragged edges read raw rows
        count = len(statements)
        for q in ("needle", "ne"):  # the trigram index, and the short walk
            found = await queries.list_logs(db, ids, acme, LogFilters(since=f.since, until=f.until, q=q))
            assert len(found["items"]) == 3
        assert len(statements) > count
    finally:
        event.remove(db.reader.sync_engine, "before_cursor_execute", capture)
    touched = await _touched(db, statements)
    assert all(t <= {target} for t in touched), list(zip(touched, [s for s, _ in statements]))
    assert sum(1 for t in touched if t == {target}) >= 5  # reads did run, in that partition


async def test_ingest_creates_months_and_accepts_any_year(api, make_key, runtime, database_url):
    _pg_only(database_url)
    db = runtime.db
    key = await make_key("acme")
    old = partitions.shift(THIS, -(partitions.WINDOW_PAST_MONTHS - 1))  # in the window, no partition yet
    at = datetime(*old, 9, 12, tzinfo=timezone.utc)
    await _post(api, key, [_log("in-window", at), _log("ancient", datetime(1971, 5, 1, tzinfo=timezone.utc)),
                           _log("far", datetime(9999, 12, 31, 23, tzinfo=timezone.utc))])
    assert await _where(db, "in-window") == [partitions.partition_name(old)]
    assert await _where(db, "ancient") == await _where(db, "far") == [partitions.DEFAULT_PARTITION]
    async with db.read() as s:
        names = set(await partitions.attached(await s.connection()))
    assert "workflow_logs_p197105" not in names and partitions.partition_name(THIS) in names


async def test_idempotency_stays_global_across_partitions(api, make_key, runtime, database_url):
    _pg_only(database_url)
    key = await make_key("acme")
    first = _log("idem", datetime(*partitions.shift(THIS, -1), 3, tzinfo=timezone.utc), idempotency_key="k-1")
    again = {**first, "executed_at": datetime(*THIS, 1, 1, tzinfo=timezone.utc).isoformat()}  # another month
    a = await _post(api, key, [first])
    b = await _post(api, key, [again])
    assert a[0]["id"] == b[0]["id"] and b[0].get("duplicate") is True
    other = await _post(api, await make_key("globex"), [again])  # another client: its own key space
    assert other[0]["id"] != a[0]["id"]
    async with runtime.db.read() as s:
        assert (await s.execute(select(func.count()).select_from(WorkflowLog).where(WorkflowLog.ticket_id == "idem"))).scalar_one() == 2
        assert (await s.execute(select(func.count()).select_from(LOCATOR))).scalar_one() == \
            (await s.execute(select(func.count()).select_from(WorkflowLog))).scalar_one()


async def test_rows_in_the_default_partition_move_into_a_new_month(api, make_key, runtime, database_url):
    _pg_only(database_url)
    db = runtime.db
    key = await make_key("acme")
    month = partitions.shift(THIS, -(partitions.WINDOW_PAST_MONTHS - 2))
    name = partitions.partition_name(month)
    async with db.writer.begin() as conn:  # as if the partition had been missing when they arrived
        if name in await partitions.attached(conn):
            await conn.execute(text(f"ALTER TABLE workflow_logs DETACH PARTITION {name}"))
            await conn.execute(text(f"DROP TABLE {name}"))
    partitions._KNOWN.pop(db.url, None)
    partitions._KNOWN.setdefault(db.url, set()).add(month)  # the writer believes it exists: default
    stored = await _post(api, key, [_log("stranded", datetime(*month, 20, tzinfo=timezone.utc))])
    assert await _where(db, "stranded") == [partitions.DEFAULT_PARTITION]
    partitions._KNOWN.pop(db.url, None)
    assert name in await partitions.ensure_ahead(db)
    assert await _where(db, "stranded") == [name]
    got = await queries.get_log(db, runtime.public_ids, Principal.for_client("acme"), stored[0]["id"])
    assert got["ticket_id"] == "stranded"


async def test_retention_drops_whole_months_and_rollups_equal_raw_rows(api, make_key, runtime, database_url):
    db = runtime.db
    key = await make_key("acme")
    days = (5, 20, 33, 40, 64, 95, 130)
    logs = [_log(f"r-{d}-{i}", NOW - timedelta(days=d, minutes=i * 7), status="ERROR" if i % 3 == 0 else "SUCCESS",
                 execution_time_seconds=0.5 + i, idempotency_key=f"r-{d}-{i}") for d in days for i in range(6)]
    logs.append(_log("r-ancient", datetime(1990, 2, 3, tzinfo=timezone.utc)))
    await _post(api, key, logs)
    cutoff = NOW - timedelta(days=35)
    dropped_months = []
    if not database_url.startswith("sqlite"):
        async with db.read() as s:
            dropped_months = [n for n, b in (await partitions.attached(await s.connection())).items()
                              if b is not None and b[1] <= cutoff]
        assert dropped_months  # the test means whole months
    kept = sum(1 for g in logs if datetime.fromisoformat(g["executed_at"]) >= cutoff)
    assert await retention.prune(db, 35) == len(logs) - kept
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(WorkflowLog))).scalar_one() == kept
        if dropped_months:
            names = set(await partitions.attached(await s.connection()))
            assert not names & set(dropped_months)
            assert (await s.execute(select(func.count()).select_from(LOCATOR))).scalar_one() == kept
    admin = Principal.admin()
    for f in (LogFilters(), LogFilters(since=NOW - timedelta(days=36)), LogFilters(client_id="acme", status="ERROR")):
        got, want = await metrics.overview(db, admin, f), await metrics.overview(db, admin, f, raw=True)
        assert (got["total"], got["errors"], got["by_category"]) == (want["total"], want["errors"], want["by_category"]), f
    assert (await metrics.overview(db, admin, LogFilters()))["total"] == kept
    incremental = await rollup_table(db)
    await rebuild(db)
    assert same_tables(await rollup_table(db), incremental)  # nothing of a dropped month stayed behind
    # A dropped log's idempotency key is free again, like after a row delete.
    again = await _post(api, key, [{**logs[-2], "executed_at": NOW.isoformat()}])
    assert again[0].get("duplicate") is not True


async def test_migration_partitions_a_populated_table_and_back(pg_database_url, database_url):
    """0007 -> 0008 on a table with rows in several months (and in 9999): every row keeps its id,
    each month gets its partition, the locator holds every log, ids go on after the last one, and
    an idempotency key stored before is still a duplicate; the downgrade gives the plain table back."""
    _pg_only(database_url)
    import asyncio
    import uuid

    from alembic import command
    from sqlalchemy import insert

    from logger_app.db.engine import create_database
    from logger_app.db.migrate import alembic_config, upgrade
    from logger_app.services.ingest.validation import normalise_log
    from logger_app.services.ingest.writer import LogWriter
    from tests.support.postgres import admin_sql, sibling_url

    name = f"cl_test_partitions_{uuid.uuid4().hex[:8]}"
    await admin_sql(pg_database_url, f'CREATE DATABASE "{name}"')
    url = sibling_url(pg_database_url, name)
    times = [datetime(*partitions.shift(THIS, -k), 10, tzinfo=timezone.utc) for k in (0, 1, 7)]
    times.append(datetime(9999, 12, 31, tzinfo=timezone.utc))
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0007_search_detail")
        db = create_database(url, 10.0)
        rows = [normalise_log({**_log(f"m-{i}", at), "idempotency_key": f"key-{i}"}, "acme", NOW)
                for i, at in enumerate(times * 3)]
        async with db.writer.begin() as conn:
            await conn.execute(text("INSERT INTO clients (id, name, created_at, disabled) VALUES ('acme', 'acme', now(), false)"))
            await conn.execute(insert(WorkflowLog), rows)
            await conn.execute(text("DELETE FROM workflow_logs WHERE ticket_id = 'm-0'"))  # a gap in the ids
        async with db.reader.connect() as conn:
            before = (await conn.execute(text("SELECT id, ticket_id, executed_at FROM workflow_logs ORDER BY id"))).all()
        await db.dispose()

        await upgrade(url)
        db = create_database(url, 10.0)
        try:
            async with db.reader.connect() as conn:
                after = (await conn.execute(text("SELECT id, ticket_id, executed_at FROM workflow_logs ORDER BY id"))).all()
                where = dict((await conn.execute(text(
                    "SELECT ticket_id, tableoid::regclass::text FROM workflow_logs"))).all())
                located = (await conn.execute(select(func.count()).select_from(LOCATOR))).scalar_one()
                names = set(await partitions.attached(conn))
            assert after == before and located == len(before)
            assert where["m-1"] == partitions.partition_name(partitions.shift(THIS, -1))
            assert where["m-2"] == partitions.partition_name(partitions.shift(THIS, -7))
            assert where["m-3"] == partitions.DEFAULT_PARTITION
            assert {partitions.partition_name(partitions.shift(THIS, k)) for k in range(4)} <= names
            writer = LogWriter(db, 10.0)
            again = normalise_log({**_log("m-1", NOW), "idempotency_key": "key-1"}, "acme", NOW)
            fresh = normalise_log(_log("new", NOW), "acme", NOW)
            stored = await writer.write([again, fresh])
            await writer.stop()
            assert stored[0].duplicate and stored[0].id == before[0].id
            assert not stored[1].duplicate and stored[1].id > max(r.id for r in before)
        finally:
            await db.dispose()

        await asyncio.to_thread(command.downgrade, alembic_config(url), "0007_search_detail")
        db = create_database(url, 10.0)
        try:
            async with db.reader.connect() as conn:
                back = (await conn.execute(text("SELECT id, ticket_id, executed_at FROM workflow_logs ORDER BY id"))).all()
                kind = (await conn.execute(text("SELECT relkind::text FROM pg_class WHERE relname = 'workflow_logs'"))).scalar()
                unique = (await conn.execute(text("SELECT to_regclass('uq_logs_client_idempotency')"))).scalar()
            assert back[:-1] == before and back[-1].ticket_id == "new" and kind == "r" and unique is not None
        finally:
            await db.dispose()
    finally:
        await admin_sql(pg_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
