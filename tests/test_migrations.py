"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from logger_app.db.migrate import upgrade
from logger_app.db.models import Base
from logger_app.db.search_index import is_search_object


def _not_search(name, type_, parent_names) -> bool:
    # The search index is backend-specific DDL the models cannot declare (db/search_index.py).
    return not is_search_object(name)


async def test_migrations_match_models(database_url):
    await upgrade(database_url)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"include_name": _not_search}), Base.metadata))
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
