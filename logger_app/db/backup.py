"""`logger-app backup PATH`: a consistent copy of the SQLite database while the server keeps writing.

SQLite's online backup API copies the file page by page under a read transaction, restarting only
pages a writer changed meanwhile; copying the file with `cp` during a write (or without its -wal
file) can give a corrupt or stale copy. Steps of BACKUP_PAGES pages with the lock released between
them, so ingest is never held for the whole copy. PostgreSQL has its own tool: pg_dump."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from ..services.errors import ServiceError
from .dialect import Dialect

BACKUP_PAGES = 1024  # 4 MiB per step at the default page size


def backup(database_url: str, target: str) -> str:
    """Copy the database to `target` (which must not exist); returns a summary like '1234 logs, 5.2 MiB'."""
    if Dialect.of_url(database_url) is not Dialect.SQLITE:
        raise ServiceError("logger-app backup copies SQLite files; for PostgreSQL use pg_dump (docs/DEPLOYMENT.md)")
    source = make_url(database_url).database
    if not source or source == ":memory:" or not Path(source).exists():
        raise ServiceError(f"no SQLite database at {source or '(none)'}")
    out = Path(target)
    if out.exists():
        raise ServiceError(f"{target} exists already; give a new file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(out)
    try:
        src.execute("PRAGMA busy_timeout=10000")
        src.backup(dst, pages=BACKUP_PAGES)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        (count,) = dst.execute("SELECT count(*) FROM workflow_logs").fetchone()
    finally:
        dst.close()
        src.close()
    return f"{count} logs, {out.stat().st_size / 1048576:.1f} MiB"
