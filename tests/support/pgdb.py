"""A throw-away PostgreSQL database of its own, for tests that start real server processes on it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.postgres import admin_sql, sibling_url


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """Migrated; dropped afterwards. Needs LOGGER_TEST_POSTGRES_URL (the caller skips without it)."""
    base = os.environ["LOGGER_TEST_POSTGRES_URL"]
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(admin_sql(base, f'CREATE DATABASE "{name}"'))
    url = sibling_url(base, name)
    try:
        from logger_app.db.migrate import upgrade_sync

        upgrade_sync(url)
        yield url
    finally:
        asyncio.run(admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
