"""Engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from .dialect import Dialect
from .search_index import contains_folded


@dataclass
class Database:
    """A writer and a reader engine, and optionally a read replica for the dashboards.

    On SQLite the writer has a single connection, so writes from this process queue up instead of
    failing with "database is locked"; readers run beside it thanks to WAL. On PostgreSQL both are
    the same pooled engine. `replica` (PostgreSQL, LOGGER_READ_DATABASE_URL) serves `analytics()`:
    the log lists, aggregates and search of the dashboard and the read API, which tolerate the
    replica's lag; sessions, keys, accounts and everything read right after a write stay on
    `read()` (the primary)."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    replica: AsyncEngine | None = None
    # Decided once, here; everything that speaks differently to each backend takes this.
    dialect: Dialect = field(init=False)
    _writes: async_sessionmaker = field(init=False, repr=False)
    _reads: async_sessionmaker = field(init=False, repr=False)
    _analytics: async_sessionmaker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.dialect = Dialect.of(self.writer)
        # expire_on_commit=False: what a service wrote stays readable after the commit (services
        # return ORM objects; refreshing an expired one needs I/O the closed async session cannot do).
        self._writes = async_sessionmaker(self.writer, expire_on_commit=False)
        self._reads = async_sessionmaker(self.reader, expire_on_commit=False)
        self._analytics = async_sessionmaker(self.replica, expire_on_commit=False) if self.replica is not None else self._reads

    @property
    def has_replica(self) -> bool:
        return self.replica is not None

    def read(self) -> AsyncSession:
        """A session on the reader engine: `async with db.read() as session:`."""
        return self._reads()

    def analytics(self) -> AsyncSession:
        """A session for log lists, aggregates and search: on the read replica when there is one
        (it may lag the primary by a moment), else the same as read()."""
        return self._analytics()

    def write(self) -> AsyncSession:
        """A session on the writer engine, committed by the caller: `async with db.write() as session:`."""
        return self._writes()

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
        if self.replica is not None:
            await self.replica.dispose()


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
        cur = dbapi_conn.cursor()
        # First: it only takes effect on a file with no tables yet (db/sqlite_space.py converts older ones).
        cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
        cur.execute("PRAGMA journal_mode=WAL")
        # Another process (the CLI, a second server) may hold the write lock briefly.
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL is durable against process crashes (kill -9); only an OS crash can lose
        # the last transactions, which is the documented SQLite trade-off.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # Search's Unicode-folding substring test (search_index.text_search), per candidate row.
        dbapi_conn.create_function("cl_contains", 2, contains_folded, deterministic=True)


def ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _postgres_engine(url: str, timeout: float) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout,
        # asyncpg waits 60 s to connect by default; a blackholed database must fail fast instead.
        connect_args={"timeout": timeout, "command_timeout": max(timeout * 6, 30)},
    )


def create_database(url: str, timeout: float = 5.0, read_url: str | None = None) -> Database:
    """`read_url`: a streaming replica of the PostgreSQL at `url` for analytics() (None: none)."""
    if read_url and (Dialect.of_url(url) is not Dialect.POSTGRESQL or Dialect.of_url(read_url) is not Dialect.POSTGRESQL):
        raise ValueError("a read replica (LOGGER_READ_DATABASE_URL) needs PostgreSQL for both URLs")
    if Dialect.of_url(url) is Dialect.SQLITE:
        ensure_sqlite_dir(url)
        writer = create_async_engine(
            url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=timeout * 4
        )
        reader = create_async_engine(url, poolclass=AsyncAdaptedQueuePool, pool_size=4, max_overflow=4)
        _sqlite_pragmas(writer)
        _sqlite_pragmas(reader)
        return Database(url, writer, reader)
    engine = _postgres_engine(url, timeout)
    return Database(url, engine, engine, _postgres_engine(read_url, timeout) if read_url else None)
