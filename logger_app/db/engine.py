"""Engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from .dialect import Dialect


@dataclass
class Database:
    """A writer and a reader engine.

    On SQLite the writer has a single connection, so writes from this process queue up instead of
    failing with "database is locked"; readers run beside it thanks to WAL. On PostgreSQL both are
    the same pooled engine."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    # Decided once, here; everything that speaks differently to each backend takes this.
    dialect: Dialect = field(init=False)
    _writes: async_sessionmaker = field(init=False, repr=False)
    _reads: async_sessionmaker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.dialect = Dialect.of(self.writer)
        # expire_on_commit=False: what a service wrote stays readable after the commit (services
        # return ORM objects; refreshing an expired one needs I/O the closed async session cannot do).
        self._writes = async_sessionmaker(self.writer, expire_on_commit=False)
        self._reads = async_sessionmaker(self.reader, expire_on_commit=False)

    def read(self) -> AsyncSession:
        """A session on the reader engine: `async with db.read() as session:`."""
        return self._reads()

    def write(self) -> AsyncSession:
        """A session on the writer engine, committed by the caller: `async with db.write() as session:`."""
        return self._writes()

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # Another process (the CLI, a second server) may hold the write lock briefly.
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL is durable against process crashes (kill -9); only an OS crash can lose
        # the last transactions, which is the documented SQLite trade-off.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_database(url: str, timeout: float = 5.0) -> Database:
    if Dialect.of_url(url) is Dialect.SQLITE:
        ensure_sqlite_dir(url)
        writer = create_async_engine(
            url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=timeout * 4
        )
        reader = create_async_engine(url, poolclass=AsyncAdaptedQueuePool, pool_size=4, max_overflow=4)
        _sqlite_pragmas(writer)
        _sqlite_pragmas(reader)
        return Database(url, writer, reader)
    engine = create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout,
        # asyncpg waits 60 s to connect by default; a blackholed database must fail fast instead.
        connect_args={"timeout": timeout, "command_timeout": max(timeout * 6, 30)},
    )
    return Database(url, engine, engine)
