"""A SQLite file gives pruned space back to the disk (incremental auto-vacuum), new files and old."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from logger_app.db.migrate import upgrade
from logger_app.db.sqlite_space import INCREMENTAL
from logger_app.services.retention import prune
from tests.support.data import H


def _file(database_url: str) -> Path:
    return Path(make_url(database_url).database)


def _pragma(path: Path, name: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def test_a_prune_shrinks_the_file(api, make_key, runtime, database_url):
    if runtime.db.dialect != "sqlite":
        pytest.skip("SQLite only: PostgreSQL reuses freed space through autovacuum")
    path = _file(database_url)
    assert _pragma(path, "auto_vacuum") == INCREMENTAL
    key = await make_key("acme")
    old = (datetime.now(timezone.utc) - timedelta(days=40)).isoformat()
    blob = {"observation": "x" * 4000}
    logs = [{"ticket_id": f"OLD-{i}", "status": "SUCCESS", "executed_at": old, "payload": {"steps": [blob] * 3, "n": i}} for i in range(400)]
    for start in range(0, len(logs), 40):
        assert (await api.post("/api/v1/logs/batch", json={"logs": logs[start:start + 40]}, headers=H(key))).status_code == 200
    assert (await api.post("/api/v1/logs", json={"ticket_id": "NEW", "status": "SUCCESS"}, headers=H(key))).status_code == 200
    full = _pragma(path, "page_count")
    assert await prune(runtime.db, 30) == 400
    after = _pragma(path, "page_count")
    assert after < full * 0.5, (full, after)  # the pages went back to the disk, not to a free list
    assert _pragma(path, "freelist_count") == 0
    left = [i["ticket_id"] for i in (await api.get("/api/v1/logs", headers=H(key))).json()["items"]]
    assert left == ["NEW"]


async def test_a_file_made_before_is_converted_once_at_start(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # as an older version made it: auto_vacuum off
        conn.execute("CREATE TABLE keepme (x TEXT)")
        conn.execute("INSERT INTO keepme VALUES ('still here')")
    assert _pragma(path, "auto_vacuum") == 0
    await upgrade(f"sqlite+aiosqlite:///{path}")
    assert _pragma(path, "auto_vacuum") == INCREMENTAL
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT x FROM keepme").fetchall() == [("still here",)]
