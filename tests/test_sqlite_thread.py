"""The SQLite writer's one-trip statements (db/sqlite_thread.py): inside the caller's transaction,
with SQLAlchemy's errors. SQLite only: the mechanism exists for aiosqlite's thread alone (the
writer's PostgreSQL statements go through asyncpg, tested with every ingest test on both backends)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from logger_app.db.bulk_writes import insert_logs
from logger_app.db.engine import create_database
from logger_app.db.migrate import upgrade
from logger_app.db.models import LogRollup, WorkflowLog
from logger_app.db.sqlite_thread import run_in_sqlite_thread
from logger_app.db.types import utcnow
from logger_app.demo import demo_log
from logger_app.services.faults import is_storage_error
from logger_app.services.ingest.rollup_delta import apply_rollups
from logger_app.services.ingest.validation import normalise_log


@pytest.fixture
async def db(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    await upgrade(url)
    database = create_database(url, 10.0)
    yield database
    await database.dispose()


def rows(n: int, key: str | None = None) -> list[dict]:
    now, rng = utcnow(), random.Random(n)
    out = [normalise_log(demo_log(rng, "acme", now, i), "acme", now) for i in range(n)]
    for row in out:
        row["idempotency_key"] = key
    return out


async def counts(db) -> tuple[int, int]:
    async with db.read() as s:
        logs = (await s.execute(select(func.count()).select_from(WorkflowLog))).scalar_one()
        rollup = (await s.execute(select(func.coalesce(func.sum(LogRollup.n), 0)))).scalar_one()
    return logs, rollup


async def test_a_rolled_back_group_commit_leaves_neither_logs_nor_rollups(db):
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with db.writer.begin() as conn:
            batch = rows(20)
            ids = await insert_logs(db.dialect, conn, batch)
            await apply_rollups(conn, db.dialect, batch)
            assert len(set(ids)) == 20
            raise Abort
    assert await counts(db) == (0, 0)

    async with db.writer.begin() as conn:
        batch = rows(700)  # more than one insert statement (chunks of 512)
        ids = await insert_logs(db.dialect, conn, batch)
        await apply_rollups(conn, db.dialect, batch)
    # Each log counts in its hour's and its day's rollup rows.
    assert await counts(db) == (700, 1400)
    async with db.read() as s:
        stored = dict((await s.execute(select(WorkflowLog.id, WorkflowLog.ticket_id))).all())
    assert [stored[i] for i in ids] == [r["ticket_id"] for r in batch]  # ids in the rows' order


async def test_a_duplicate_key_is_sqlalchemys_integrity_error(db):
    # The writer's retry (services/ingest/writer.py) catches sqlalchemy.exc.IntegrityError.
    async with db.writer.begin() as conn:
        await insert_logs(db.dialect, conn, rows(1, key="k-1"))
    with pytest.raises(IntegrityError) as caught:
        async with db.writer.begin() as conn:
            await insert_logs(db.dialect, conn, rows(1, key="k-1"))
    assert "UNIQUE" in str(caught.value.orig)
    assert await counts(db) == (1, 0)


async def test_a_storage_failure_is_a_storage_error_without_its_parameters(db):
    secret = "lk_should_not_be_logged"
    with pytest.raises(OperationalError) as caught:
        async with db.writer.begin() as conn:
            await run_in_sqlite_thread(conn, lambda c: c.execute("SELECT * FROM no_such_table WHERE x = ?", (secret,)))
    assert is_storage_error(caught.value)  # -> 503 and a retry, not a 500
    assert secret not in str(caught.value)
