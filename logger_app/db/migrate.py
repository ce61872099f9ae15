"""Apply Alembic migrations (at start-up and from `logger-app migrate`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from .dialect import Dialect
from .engine import ensure_sqlite_dir

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade_sync(url: str) -> None:
    sqlite = Dialect.of_url(url) is Dialect.SQLITE
    if sqlite:
        ensure_sqlite_dir(url)
        path = make_url(url).database
        if path and path != ":memory:":
            from .sqlite_space import prepare_new_file

            prepare_new_file(path)  # before the first table: a new file needs no conversion later
    command.upgrade(alembic_config(url), "head")
    if sqlite:
        path = make_url(url).database
        if path and path != ":memory:":
            from .sqlite_space import convert_to_incremental

            convert_to_incremental(path)


async def upgrade(url: str) -> None:
    # env.py runs its own event loop, so it needs a thread without one.
    await asyncio.to_thread(upgrade_sync, url)
    if Dialect.of_url(url) is Dialect.POSTGRESQL:
        # Every start-up, not only when a migration ran: the partitions of this month and the next
        # ones exist before the writer needs them (db/partitions.py).
        from .engine import create_database
        from .partitions import ensure_ahead

        db = create_database(url)
        try:
            await ensure_ahead(db)
        finally:
            await db.dispose()
