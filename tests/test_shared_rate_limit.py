"""On PostgreSQL the per-key rate limits hold across server processes: two apps on one database
(each with its own runtime, as two processes have) draw on one bucket per key, kept in the
database. On SQLite (one process per file) the bucket stays in the process.

Time is frozen in the limiters (the same instant for both apps), so a key gets exactly its burst."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
import pytest

from logger_app.app import create_api
from logger_app.services.access.ratelimit import RateLimiter, SharedRateLimiter
from tests.support.data import H, ensure_client

LOG = {"ticket_id": "T-1", "status": "SUCCESS"}


class FrozenClock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def two_apps(settings):
    settings = settings.model_copy(update={"read_rate_limit_per_key": 5, "rate_limit_per_key": 3})
    apps = [create_api(settings), create_api(settings)]
    async with AsyncExitStack() as stack:
        clients = []
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append(await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")))
        yield clients, [app.state.runtime for app in apps]


async def _key(runtime) -> str:
    from logger_app.services.access import keys

    await ensure_client(runtime.db, "acme")
    return (await keys.create_key(runtime.db, "acme")).key


async def test_two_processes_share_one_bucket_per_key_on_postgresql(two_apps, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process per file: its bucket is in-process (next test)")
    clients, runtimes = two_apps
    clock = FrozenClock()
    for rt in runtimes:
        assert isinstance(rt.read_rate_limiter, SharedRateLimiter)
        rt.read_rate_limiter.clock = clock
        rt.rate_limiter.clock = clock
    key = await _key(runtimes[0])
    # Reads: 5/s in bursts of 10, whichever process answers.
    statuses = [(await clients[i % 2].get("/api/v1/logs", headers=H(key))).status_code for i in range(12)]
    assert statuses == [200] * 10 + [429, 429]
    clock.now += 1.0  # one second's worth for the two processes together, not for each
    statuses = [(await clients[i % 2].get("/api/v1/logs", headers=H(key))).status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    # Ingest: its own bucket (3/s), also shared.
    statuses = [(await clients[i % 2].post("/api/v1/logs", json=LOG, headers=H(key))).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_on_sqlite_the_bucket_is_the_process_s_own(two_apps, database_url):
    if database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL shares the bucket (previous test)")
    clients, runtimes = two_apps
    assert isinstance(runtimes[0].read_rate_limiter, RateLimiter)
    clock = FrozenClock()
    runtimes[0].read_rate_limiter.clock = clock
    key = await _key(runtimes[0])
    statuses = [(await clients[0].get("/api/v1/logs", headers=H(key))).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]


async def test_a_failing_limit_store_falls_back_to_the_process_s_own_bucket(two_apps, database_url, monkeypatch):
    clients, runtimes = two_apps
    limiter = runtimes[0].read_rate_limiter
    if not isinstance(limiter, SharedRateLimiter):
        pytest.skip("only the shared limiter has a store that can fail")
    key = await _key(runtimes[0])

    async def down(key_id: int):
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(limiter, "_take", down)
    limiter._local.clock = FrozenClock()
    # Not 429s for everyone, not unlimited either: this process's own bucket (5/s, bursts of 10).
    statuses = [(await clients[0].get("/api/v1/logs", headers=H(key))).status_code for _ in range(12)]
    assert statuses == [200] * 10 + [429, 429]
