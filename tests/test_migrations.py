"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from logger_app.db.log_locator import is_locator_object
from logger_app.db.migrate import upgrade
from logger_app.db.models import Base
from logger_app.db.partitions import is_partition_object
from logger_app.db.search_index import is_search_object


def _declared(name, type_, parent_names) -> bool:
    # Backend-specific DDL the models cannot declare: the search index (db/search_index.py), and on
    # PostgreSQL the partitions of workflow_logs and the locator (db/partitions.py, db/log_locator.py).
    return not (is_search_object(name) or is_partition_object(name) or is_locator_object(name))


def _for_backend(dialect_name):
    def include(obj, name, type_, reflected, compare_to) -> bool:
        # A model index declared for one backend only (ddl_if), e.g. uq_logs_client_idempotency on SQLite.
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == dialect_name
    return include


async def test_migrations_match_models(database_url):
    await upgrade(database_url)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c, opts={
                "include_name": _declared, "include_object": _for_backend(c.dialect.name)}), Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []


async def test_timestamps_round_trip_as_utc(database_url):
    """SQLite would drop an offset without converting it; our column type must not."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import insert, select

    from logger_app.db.models import Client

    await upgrade(database_url)
    engine = create_async_engine(database_url)
    plus2 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(Client).values(id="tz", name="tz", disabled=False, created_at=plus2))
            back = (await conn.execute(select(Client.created_at).where(Client.id == "tz"))).scalar_one()
            await conn.rollback()
    finally:
        await engine.dispose()
    assert back == plus2 and back.tzinfo is not None and back.utcoffset() == timedelta(0)
