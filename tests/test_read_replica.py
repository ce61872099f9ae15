"""LOGGER_READ_DATABASE_URL: the dashboards' and read API's log queries go to a real streaming
replica; keys, sessions and a log read right after it was stored come from the primary.

The pair is made here (tests/support/replica.py: initdb + pg_basebackup -R, on ports of its own).
Skips only where PostgreSQL's server binaries are missing; CI sets LOGGER_REQUIRE_REPLICA=1."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.support import replica
from tests.support.server import create_client_key, start_server

WHY_NOT = replica.available()
if WHY_NOT and os.environ.get("LOGGER_REQUIRE_REPLICA") == "1":
    raise RuntimeError(f"LOGGER_REQUIRE_REPLICA=1 but {WHY_NOT}")
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")


@pytest.fixture
def pair(tmp_path):
    made = replica.ReplicaPair(tmp_path).start()
    yield made
    made.stop()


def _tickets(server, key: str) -> list[str]:
    r = httpx.get(server.url + "/api/v1/logs", headers={"X-API-Key": key}, timeout=10)
    assert r.status_code == 200, r.text
    return [item["ticket_id"] for item in r.json()["items"]]


def _store(server, key: str, ticket: str) -> str:
    r = httpx.post(server.url + "/api/v1/logs", json={"ticket_id": ticket, "status": "SUCCESS"}, headers={"X-API-Key": key}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def test_reads_come_from_the_replica_and_read_your_writes_from_the_primary(pair, tmp_path):
    server = start_server(pair.primary_url, tmp_path / "srv", read_database_url=pair.replica_url)
    try:
        key = create_client_key(server.env, "acme")
        _store(server, key, "BEFORE-PAUSE")
        pair.wait_until_replayed()
        assert _tickets(server, key) == ["BEFORE-PAUSE"]

        # Freeze the replica: whatever is stored now exists on the primary only.
        pair.sql(pair.replica_port, "SELECT pg_wal_replay_pause()")
        log_id = _store(server, key, "DURING-PAUSE")
        assert _tickets(server, key) == ["BEFORE-PAUSE"]  # the list is the replica's
        overview = httpx.get(server.url + "/api/v1/metrics/overview", headers={"X-API-Key": key}, timeout=10).json()
        assert overview["total"] == 1  # and so are the aggregates
        # A log fetched by the id its ingest just returned is found (the primary answers).
        got = httpx.get(f"{server.url}/api/v1/logs/{log_id}", headers={"X-API-Key": key}, timeout=10)
        assert got.status_code == 200 and got.json()["ticket_id"] == "DURING-PAUSE"
        # Keys live on the primary: one made while the replica is frozen works at once.
        fresh = create_client_key(server.env, "acme")
        assert _tickets(server, fresh) == ["BEFORE-PAUSE"]

        pair.sql(pair.replica_port, "SELECT pg_wal_replay_resume()")
        pair.wait_until_replayed()
        deadline = time.monotonic() + 10
        while _tickets(server, key) != ["DURING-PAUSE", "BEFORE-PAUSE"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _tickets(server, key) == ["DURING-PAUSE", "BEFORE-PAUSE"]
    finally:
        server.stop()


def test_a_replica_setting_without_postgresql_is_refused():
    from logger_app.config import Settings

    with pytest.raises(ValueError, match="LOGGER_READ_DATABASE_URL"):
        Settings(database_url="sqlite+aiosqlite:///x.db", read_database_url="postgresql+asyncpg://h/db", _env_file=None)
