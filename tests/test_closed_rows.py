"""Closed periods' rollup rows kept per process (services/read/closed_rows.py, db/closed_periods.py):
a dashboard read again skips them, and every change that reaches a closed period — a late log, a
delete, a rebuild, another process's write — is in the next answer, on both backends."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, update

from logger_app.db import closed_periods
from logger_app.db.engine import create_database
from logger_app.db.models import LogRollup
from logger_app.services import retention
from logger_app.services.access.principal import Principal
from logger_app.services.ingest.rollup_delta import rebuild
from logger_app.services.read import closed_rows, metrics
from logger_app.services.read.scope import LogFilters
from tests.support.data import H
from tests.test_rollups import random_logs, store

UTC = timezone.utc


def month() -> LogFilters:
    return LogFilters(since=datetime.now(UTC) - timedelta(days=30), until=datetime.now(UTC))


async def page(db, who: Principal, f: LogFilters) -> dict:
    previous = LogFilters(since=f.since - (f.until - f.since), until=f.since, client_id=f.client_id)
    return await metrics.overview_page(db, who, f, previous, "day")


def rollup_statements(db) -> list[str]:
    """SQL statements over the rollup tables run through db's engines, recorded from now on."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if "log_rollups" in statement or "log_latency_rollups" in statement:
            seen.append(statement)

    for engine in {db.writer, db.reader, db.replica or db.reader}:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_a_page_read_again_reads_only_its_open_periods(api, make_key, runtime):
    await store(api, await make_key("acme"), random_logs(random.Random(1), 300, days=20))
    db, who = runtime.db, Principal.for_client("acme")
    first = await page(db, who, month())
    seen = rollup_statements(db)
    again = await page(db, who, month())
    assert again == first and first["current"]["total"] == 300
    kept_run = len(seen)  # the open part only: 0 statements, or 2 in an hour's first quarter
    closed_rows.forget(db)
    seen.clear()
    assert await page(db, who, month()) == first
    assert len(seen) == kept_run + 2  # forgotten: the closed periods' two statements ran again


async def test_late_logs_deletes_and_rebuilds_are_in_the_next_answer(api, make_key, runtime):
    key = await make_key("acme")
    await store(api, key, random_logs(random.Random(2), 200, days=10))
    db, who = runtime.db, Principal.for_client("acme")
    before = (await page(db, who, month()))["current"]["total"]
    # A log of three days ago, arriving now: its day is closed.
    late = {"ticket_id": "LATE-1", "status": "ERROR", "executed_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
            "execution_time_seconds": 1.5}
    await store(api, key, [late])
    after = await page(db, who, month())
    assert after["current"]["total"] == before + 1
    assert after["current"] == await metrics.overview(db, who, month(), raw=True) | {
        k: after["current"][k] for k in ("avg_execution_time_seconds", "p50_execution_time_seconds", "p95_execution_time_seconds")}

    # An admin's delete of that log.
    admin_key = await make_key(None)
    r = await api.delete("/api/v1/logs", params={"client_id": "acme", "ticket_id": "LATE-1"}, headers=H(admin_key))
    assert r.json()["deleted"] == 1
    assert (await page(db, who, month()))["current"]["total"] == before

    # Retention: everything older than 5 days goes.
    assert await retention.prune(db, 5) > 0
    pruned = await page(db, who, month())
    assert pruned["current"]["total"] == (await metrics.overview(db, who, month(), raw=True))["total"] < before

    # Rollup rows put wrong behind the writers' back (as a bug or a restore might): read and kept
    # wrong, then rebuilt, which every process must see.
    async with db.writer.begin() as conn:
        await conn.execute(update(LogRollup).where(LogRollup.client_id == "acme", LogRollup.period == "day").values(n=LogRollup.n + 1000))
    closed_rows.forget(db)
    assert (await page(db, who, month()))["current"]["total"] > pruned["current"]["total"] + 1000
    await rebuild(db, "acme")
    assert (await page(db, who, month()))["current"]["total"] == pruned["current"]["total"]


async def test_retention_of_whole_months_is_in_the_next_answer(api, make_key, runtime):
    """PostgreSQL drops the partition of a month wholly past the cutoff (partitions.drop_before, its
    own DELETE of that month's rollup rows); SQLite deletes the logs. Either way a kept page follows.
    Logs only inside the month three months back, the cutoff just after its end: nothing else is
    deleted, so the partition drop alone has to make the page right."""
    now = datetime.now(UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(3):
        first = (first - timedelta(days=1)).replace(day=1)
    end = (first + timedelta(days=32)).replace(day=1)
    rng = random.Random(7)
    logs = [{"ticket_id": f"OLD-{i}", "status": "SUCCESS", "execution_time_seconds": rng.uniform(0.1, 9),
             "executed_at": (first + timedelta(days=1, seconds=rng.uniform(0, 19 * 86400))).isoformat()} for i in range(120)]
    await store(api, await make_key("acme"), logs)
    db, who = runtime.db, Principal.for_client("acme")
    window = LogFilters(since=first - timedelta(days=2), until=now)
    assert (await page(db, who, window))["current"]["total"] == 120
    assert await retention.prune(db, (now - end).days) == 120
    assert (await page(db, who, window))["current"]["total"] == 0


async def test_another_process_late_write_is_seen(api, make_key, runtime):
    """Two processes on one database: what one keeps does not hide what the other wrote."""
    key = await make_key("acme")
    await store(api, key, random_logs(random.Random(3), 150, days=6))
    other = create_database(runtime.db.url, 5.0)  # another process's engines, its own memory
    try:
        who = Principal.for_client("acme")
        seen_by_other = (await page(other, who, month()))["current"]["total"]
        await store(api, key, [{"ticket_id": "LATE-2", "status": "SUCCESS",
                                "executed_at": (datetime.now(UTC) - timedelta(days=2)).isoformat()}])
        assert (await page(other, who, month()))["current"]["total"] == seen_by_other + 1
    finally:
        await other.dispose()


async def test_what_one_client_kept_never_answers_another(api, make_key, runtime):
    rng = random.Random(4)
    await store(api, await make_key("acme"), random_logs(rng, 120, days=8))
    await store(api, await make_key("globex"), random_logs(rng, 40, days=8))
    db = runtime.db
    acme = await page(db, Principal.for_client("acme"), month())
    globex = await page(db, Principal.for_client("globex"), month())
    admin_globex = await page(db, Principal.admin(), LogFilters(since=month().since, until=month().until, client_id="globex"))
    assert (acme["current"]["total"], globex["current"]["total"]) == (120, 40)
    assert admin_globex["current"]["total"] == 40
    assert (await page(db, Principal.admin(), month()))["current"]["total"] == 160


async def test_a_change_drops_every_kept_page_at_the_next_read(api, make_key, runtime):
    """Rows kept before a late write or a delete are stale, all of them: the next read drops them
    (nothing of a deleted log's rollup rows stays in memory; PRIVACY.md)."""
    rng = random.Random(8)
    acme_key = await make_key("acme")
    await store(api, acme_key, random_logs(rng, 50, days=6))
    await store(api, await make_key("globex"), random_logs(rng, 50, days=6))
    db = runtime.db
    await page(db, Principal.for_client("acme"), month())
    await page(db, Principal.for_client("globex"), month())
    assert len(closed_rows._kept[db.writer].entries) == 2
    await store(api, acme_key, [{"ticket_id": "LATE-3", "status": "SUCCESS",
                                 "executed_at": (datetime.now(UTC) - timedelta(days=4)).isoformat()}])
    assert (await page(db, Principal.for_client("acme"), month()))["current"]["total"] == 51
    assert len(closed_rows._kept[db.writer].entries) == 1  # globex's kept rows went too


async def test_live_traffic_does_not_count_as_late(api, make_key, runtime):
    """Logs of the current hour leave the generation alone (no extra write on the hot path); a
    log of a period that ended more than LATE_AFTER ago adds 1."""
    key = await make_key("acme")

    async def generation() -> int:
        async with runtime.db.read() as s:
            return (await s.execute(closed_periods.generation())).scalar() or 0

    start = await generation()
    await store(api, key, [{"ticket_id": f"NOW-{i}", "status": "SUCCESS"} for i in range(5)])
    assert await generation() == start
    await store(api, key, [{"ticket_id": "OLD", "status": "SUCCESS",
                            "executed_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}])
    assert await generation() == start + 1


def test_the_writers_rule_covers_every_period_a_reader_keeps():
    """A reader keeps periods that ended CLOSED_AFTER ago; a writer counts changes to periods that
    ended LATE_AFTER ago: between the two, the writer's timeout, clock skew and replica lag."""
    now = datetime(2026, 12, 4, 14, 37, 12, tzinfo=UTC)
    for minutes in range(0, 3 * 24 * 60, 7):
        reader_now = now + timedelta(minutes=minutes)
        for period in ("hour", "day"):
            cut = closed_periods.closed_until(reader_now, period)
            last_kept = cut - (timedelta(hours=1) if period == "hour" else timedelta(days=1))
            assert closed_periods.period_end(period, last_kept) <= reader_now - closed_periods.CLOSED_AFTER
            assert closed_periods.period_end(period, cut) > reader_now - closed_periods.CLOSED_AFTER
            # Any write up to 10 minutes before the reader's moment to a kept period counts.
            assert closed_periods.is_late(period, last_kept, reader_now - (closed_periods.CLOSED_AFTER - closed_periods.LATE_AFTER))
    kept, fresh = closed_periods.split([("day", datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC)),
                                        ("hour", datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 4, 14, tzinfo=UTC))],
                                       datetime(2026, 12, 4, 14, 10, tzinfo=UTC))
    assert kept == [("day", datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC)),
                    ("hour", datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 4, 13, tzinfo=UTC))]
    assert fresh == [("hour", datetime(2026, 12, 4, 13, tzinfo=UTC), datetime(2026, 12, 4, 14, tzinfo=UTC))]


async def test_the_rows_kept_are_bounded(api, make_key, runtime, monkeypatch):
    await store(api, await make_key("acme"), random_logs(random.Random(6), 100, days=5))
    monkeypatch.setattr(closed_rows, "MAX_ROWS", 50)
    db, who = runtime.db, Principal.for_client("acme")
    for days in range(2, 12):
        await page(db, who, LogFilters(since=datetime.now(UTC) - timedelta(days=days), until=datetime.now(UTC)))
    kept = closed_rows._kept.get(db.writer)
    assert kept is not None and kept.rows <= 50
    # Evicted or not, every range still answers like the raw rows.
    week = LogFilters(since=datetime.now(UTC) - timedelta(days=7), until=datetime.now(UTC))
    assert (await page(db, who, week))["current"]["total"] == (await metrics.overview(db, who, week, raw=True))["total"] > 0
