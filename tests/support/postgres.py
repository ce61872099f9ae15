"""Throw-away databases on a PostgreSQL server, for tests/conftest.py and bench/kill9.py.

Only the databases created through here are dropped; the server and its other databases are never
touched."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


def sibling_url(url: str, name: str) -> str:
    """`url` with its database replaced by `name`: the same server, user and driver."""
    return url.rsplit("/", 1)[0] + "/" + name


async def admin_sql(url: str, sql: str) -> None:
    """Run `sql` (CREATE or DROP DATABASE) outside a transaction on the `postgres` database of url's server."""
    engine = create_async_engine(sibling_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()
