"""Which exceptions mean "the database is not there right now" (503) rather than a bug (500)."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


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
