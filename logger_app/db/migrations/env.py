"""Alembic environment: async engines, batch mode for SQLite, one migrator at a time on PostgreSQL."""

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from logger_app.db.dialect import Dialect
from logger_app.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    if Dialect.of(connection) is Dialect.POSTGRESQL:
        # Several processes may start together on one database: only one migrates, the others
        # wait here and then find nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url: str = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url") or ""
    # A database that accepts connections but never answers must fail start-up, not hang it.
    connect_args = {"timeout": 10} if Dialect.of_url(url) is Dialect.POSTGRESQL else {}
    engine = create_async_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


asyncio.run(_main())
