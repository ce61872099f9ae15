"""Giving a SQLite file's free pages back to the disk.

SQLite never shrinks a file by itself: with auto_vacuum off, a prune of half the logs left a 1M-log
file at 2.79 GB with 44 % of its pages free (measured here, issue #12). Files are made with
auto_vacuum=INCREMENTAL (db/engine.py sets it on connect, before the first table exists); a file
made before that is converted once at start-up (a full VACUUM: minutes for a big file, said on the
console); and after a prune the freed pages are truncated off in steps, each its own short write,
so ingest keeps its turn at the single writer connection between steps."""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy import text

from .dialect import Dialect
from .engine import Database

log = logging.getLogger("logger_app.sqlite_space")

INCREMENTAL = 2  # PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental
# Pages freed per step: 2,000 pages of 4 KiB = 8 MiB, a few milliseconds of writer time.
STEP_PAGES = 2_000


def prepare_new_file(path: str) -> None:
    """A file about to get its first table is made with incremental auto-vacuum (a no-op for a file
    that has tables: that one is converted after the migrations, if it must be)."""
    with sqlite3.connect(path, timeout=60) as conn:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            conn.execute(f"PRAGMA auto_vacuum={INCREMENTAL}")
            conn.execute("VACUUM")  # writes the header with the setting while the file is empty (instant)


def convert_to_incremental(path: str) -> bool:
    """Switch an existing file to incremental auto-vacuum (a one-time VACUUM). True if it did."""
    with sqlite3.connect(path, timeout=60) as conn:
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == INCREMENTAL:
            return False
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        log.warning("converting %s to incremental auto-vacuum (one VACUUM of %d pages); this happens once", path, pages)
        conn.execute(f"PRAGMA auto_vacuum={INCREMENTAL}")
        conn.isolation_level = None  # VACUUM cannot run inside a transaction
        conn.execute("VACUUM")
        return True


async def reclaim(db: Database) -> int:
    """Truncate the free pages off the end of the file, in steps; returns the pages given back."""
    if db.dialect is not Dialect.SQLITE:
        return 0  # PostgreSQL's autovacuum makes the space reusable; dropped partitions free it
    freed = 0
    while True:
        async with db.writer.connect() as conn:
            before = (await conn.execute(text("PRAGMA freelist_count"))).scalar_one()
            if not before:
                return freed
            await conn.execute(text(f"PRAGMA incremental_vacuum({STEP_PAGES})"))
            after = (await conn.execute(text("PRAGMA freelist_count"))).scalar_one()
            await conn.commit()
        if after >= before:  # auto_vacuum is not incremental here: nothing to give back this way
            return freed
        freed += before - after
