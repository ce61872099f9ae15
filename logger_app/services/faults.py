"""Which exceptions mean "the database is not there right now" (503) rather than a bug (500)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

T = TypeVar("T")


def is_storage_error(exc: BaseException) -> bool:
    # With the database gone, asyncpg surfaces raw OSError / ConnectionRefusedError, not
    # SQLAlchemy errors; a blackholed one surfaces as a timeout.
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError, PoolTimeout, OperationalError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, DBAPIError):
        name = type(exc.orig).__name__ if exc.orig is not None else ""
        return any(word in name for word in ("Connection", "CannotConnect", "TooManyConnections", "AdminShutdown"))
    return False


def is_bad_input(exc: BaseException) -> bool:
    """The database (or its driver) refused a value: the request's fault, so 400, not 500.

    Validation should catch such input first; this is the safety net for paths it does not cover
    (e.g. a NUL in a query filter reaches PostgreSQL as SQLSTATE 22021, an id beyond 64 bits fails
    asyncpg's int8 encoding)."""
    if isinstance(exc, (UnicodeEncodeError, RecursionError, OverflowError)):
        # OverflowError: sqlite3 cannot bind an integer beyond 64 bits (e.g. /logs/99999999999999999999).
        return True
    if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
        return sqlstate.startswith("22") or isinstance(exc, DataError) or _driver_data_error(exc.orig)
    return False


def _driver_data_error(orig: BaseException | None) -> bool:
    # asyncpg refuses out-of-range arguments client-side (asyncpg.exceptions.DataError, no SQLSTATE);
    # SQLAlchemy wraps it in its adapter error, keeping the original as __cause__.
    cause = getattr(orig, "__cause__", None)
    return type(cause).__name__ == "DataError" and type(cause).__module__.startswith("asyncpg")


async def run_with_deadline(coro: Awaitable[T], seconds: float) -> T:
    """Await `coro`, giving up after `seconds` without waiting for its cleanup.

    asyncio.timeout() cancels the work and then waits while it unwinds; on a blackholed PostgreSQL
    that unwinding (SQLAlchemy closes the dead pooled connection with a fixed 2 s grace) adds 2 s to
    the answer. Here the work runs in its own task and finishes unwinding in the background, as the
    log writer does, so the caller hears TimeoutError (→ 503) on time."""
    task = asyncio.ensure_future(coro)
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        task.cancel()
        task.add_done_callback(_consume)
        raise


def _consume(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"
