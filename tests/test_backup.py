"""`logger-app backup PATH`: a consistent copy of the SQLite database taken while the server runs
(SQLite's online backup API); PostgreSQL is pointed at pg_dump."""

from __future__ import annotations

import sqlite3

from tests.support.data import H


async def test_backup_copies_every_log_while_the_server_is_running(api, make_key, cli, database_url, tmp_path):
    key = await make_key("acme")
    for i in range(5):
        assert (await api.post("/api/v1/logs", json={"ticket_id": f"T-{i}", "status": "SUCCESS"}, headers=H(key))).status_code == 200
    target = tmp_path / "backups" / "logger-copy.db"
    res = cli("backup", str(target))
    if database_url.startswith("postgresql"):
        assert res.returncode == 1 and "pg_dump" in res.stderr and "postgres@" not in res.stderr
        assert not target.exists()
        return
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("backed up 5 logs, ") and str(target) in res.stdout
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert sorted(r[0] for r in copy.execute("SELECT ticket_id FROM workflow_logs")) == [f"T-{i}" for i in range(5)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, nothing beside it
    finally:
        copy.close()
    # The server kept running and writing during and after the copy.
    assert (await api.post("/api/v1/logs", json={"ticket_id": "T-after", "status": "SUCCESS"}, headers=H(key))).status_code == 200
    # A backup never overwrites a file.
    again = cli("backup", str(target))
    assert again.returncode == 1 and "exists already" in again.stderr
