"""SQLite's writer statements in one trip to the connection's thread.

aiosqlite runs each sqlite3 call in a thread of its own; through SQLAlchemy's adapter every
statement costs the event loop ~200 µs of CPU (cursor, greenlet, future, wake-up) against ~40 µs
for one trip that runs several statements (measured here: `exec_driver_sql("SELECT ?")` 205 µs of
the event loop's CPU, one `_execute` of the same 42 µs). A single-log group commit of ~11 rows ran
~7 statements, ~220 µs of event-loop CPU a log, on the thread every request needs. So the writer's
inserts and rollup upserts (db/dialect.py) hand their statements over as one function.

The function runs on the same sqlite3 connection, inside the transaction SQLAlchemy has open on it
(the sqlite3 module begins it implicitly before the first write, as for SQLAlchemy's own
statements; the caller's commit or rollback ends it). sqlite3's errors come back as SQLAlchemy's
(IntegrityError, OperationalError, ...) without their parameters, as from any other statement, so
the writer's duplicate-key retry and services/faults.py read them the same.

`aiosqlite.Connection._execute` (and `_conn`) are private names: the queue the library puts
every call of its own on, read in aiosqlite 0.22.1 (pyproject allows >= 0.20). If a release renames
them, every SQLite insert fails at once and so does tests/test_sqlite_thread.py, which holds the
behaviour relied on here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


async def run_in_sqlite_thread(conn: AsyncConnection, work: Callable[[sqlite3.Connection], T]) -> T:
    """work(the sqlite3 connection under `conn`), run in its aiosqlite thread in one trip."""
    raw = await conn.get_raw_connection()
    aio: Any = raw.driver_connection  # aiosqlite.Connection
    return await aio._execute(_wrapped, work, aio._conn)


def _wrapped(work: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection) -> T:
    try:
        return work(connection)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(None, None, exc, sqlite3.Error, hide_parameters=True) from exc
