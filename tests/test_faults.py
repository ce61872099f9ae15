"""Storage faults: PostgreSQL refused, blackholed or lost mid-run answers 503 + Retry-After within
the configured timeout, /readyz says so, and the same process recovers once the database is back.
Plus SQLite under 50 concurrent writers: no "database is locked".

PostgreSQL is reached through TcpFaultProxy (tests/support/proxies.py); the shared server itself is
never stopped."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy.engine import make_url

from logger_app.app import create_api
from logger_app.config import Settings
from tests.support.data import H
from tests.support.proxies import TcpFaultProxy

TIMEOUT = 2.0  # settings.db_timeout_seconds for these tests
SLACK = 1.5  # scheduling and connection teardown on a loaded CI box
LOG = {"ticket_id": "T-fault", "status": "SUCCESS"}


@pytest.fixture
def proxy(pg_database_url):
    if pg_database_url is None:
        pytest.skip("fault tests need LOGGER_TEST_POSTGRES_URL (CI sets it)")
    url = make_url(pg_database_url)
    with TcpFaultProxy(url.host or "127.0.0.1", url.port or 5432) as p:
        p.database_url = url.set(host="127.0.0.1", port=p.port).render_as_string(hide_password=False)
        yield p


@pytest.fixture(params=["warm-key-cache", "cold-key-cache"])
async def faulty(request, proxy, tmp_path):
    """The API on PostgreSQL through the proxy. With a cold key cache every request also reads the
    database to authenticate, so the read path has to time out as fast as the write path."""
    settings = Settings(database_url=proxy.database_url, data_dir=str(tmp_path), storage_secret="s",
                        admin_password="admin-password", db_timeout_seconds=TIMEOUT,
                        key_cache_seconds=5 if request.param == "warm-key-cache" else 0, _env_file=None)
    app = create_api(settings)  # Runtime.start() migrates, so the proxy forwards while it starts
    async with app.router.lifespan_context(app):
        from logger_app.services.access import clients, keys

        runtime = app.state.runtime
        client_id = f"fault{time.monotonic_ns() % 10**9}"
        await clients.create_client(runtime.db, client_id)
        key = (await keys.create_key(runtime.db, client_id)).key
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60) as c:
            c.key = key  # type: ignore[attr-defined]
            assert (await c.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 200
            yield c


async def timed(coro) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    resp = await coro
    return resp, time.monotonic() - start


async def assert_unavailable(api: httpx.AsyncClient) -> None:
    resp, took = await timed(api.post("/api/v1/logs", json=LOG, headers=H(api.key)))
    assert resp.status_code == 503, resp.text
    assert int(resp.headers["retry-after"]) > 0 and resp.json()["error"]["code"] == "storage_unavailable"
    assert "postgresql" not in resp.text.lower() and str(api.key) not in resp.text
    assert took < TIMEOUT + SLACK, f"ingest took {took:.2f}s to give up"
    ready, took = await timed(api.get("/readyz"))
    assert ready.status_code == 503 and "retry-after" in ready.headers
    assert took < TIMEOUT + SLACK, f"/readyz took {took:.2f}s"
    read, took = await timed(api.get("/api/v1/logs", headers=H(api.key)))
    assert read.status_code == 503 and took < TIMEOUT + SLACK, (read.status_code, took)


async def assert_recovers(api: httpx.AsyncClient, within: float = 20.0) -> float:
    """No restart: the same app must answer 200 again once the database is reachable."""
    start = time.monotonic()
    while True:
        resp = await api.post("/api/v1/logs", json=LOG, headers=H(api.key))
        if resp.status_code == 200 and (await api.get("/readyz")).status_code == 200:
            return time.monotonic() - start
        assert resp.status_code == 503, resp.text  # while recovering: 503, never 500
        assert time.monotonic() - start < within, "did not recover"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
async def test_database_outage_is_503_with_retry_after_and_recovers(faulty, proxy, mode):
    proxy.set_mode(mode)  # closed port / silent host, with connections already in the pool
    for _ in range(2):  # the first request meets pooled connections, the second fresh ones
        await assert_unavailable(faulty)
    proxy.set_mode("forward")
    await assert_recovers(faulty)
    assert (await faulty.get("/api/v1/logs", headers=H(faulty.key))).status_code == 200


async def test_database_going_away_under_load_never_500s_nor_hangs(faulty, proxy):
    outcomes: list[tuple[int, float]] = []
    stop = asyncio.Event()

    async def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            resp, took = await timed(faulty.post("/api/v1/logs", json={**LOG, "idempotency_key": f"{n}-{i}"},
                                                 headers=H(faulty.key)))
            outcomes.append((resp.status_code, took))
            if resp.status_code == 503:
                await asyncio.sleep(0.1)

    workers = [asyncio.create_task(client(n)) for n in range(10)]
    await asyncio.sleep(0.5)
    proxy.set_mode("blackhole")
    await asyncio.sleep(TIMEOUT * 2)
    proxy.set_mode("refuse")
    await asyncio.sleep(1)
    proxy.set_mode("forward")
    await assert_recovers(faulty)
    stop.set()
    await asyncio.gather(*workers)
    statuses = {s for s, _ in outcomes}
    assert statuses <= {200, 503}, statuses
    assert 200 in statuses and 503 in statuses
    slowest = max(t for _, t in outcomes)
    assert slowest < TIMEOUT + SLACK, f"a request waited {slowest:.2f}s"


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
async def test_database_unreachable_at_startup_fails_fast(proxy, tmp_path, mode):
    # Migrations run at startup: a dead database must stop startup with an error (the migration
    # connect timeout is 10 s), never hang it.
    proxy.set_mode(mode)
    settings = Settings(database_url=proxy.database_url, data_dir=str(tmp_path), storage_secret="s",
                        db_timeout_seconds=TIMEOUT, _env_file=None)
    app = create_api(settings)
    start = time.monotonic()
    with pytest.raises((OSError, TimeoutError)):
        async with app.router.lifespan_context(app):
            pass
    assert time.monotonic() - start < 15


async def test_sqlite_under_50_concurrent_writers_never_reports_locked(tmp_path, caplog):
    """Two apps on one SQLite file (as two processes would be), 25 concurrent writers each: every
    request is 2xx; the one-connection writer plus busy_timeout serialise them instead of failing."""
    url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    apps = [create_api(Settings(database_url=url, data_dir=str(tmp_path), storage_secret="s",
                                admin_password="admin-password", _env_file=None)) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        from logger_app.services.access import clients, keys

        await clients.create_client(apps[0].state.runtime.db, "acme")
        key = (await keys.create_key(apps[0].state.runtime.db, "acme")).key
        statuses: list[int] = []

        async def writer(n: int) -> None:
            app = apps[n % 2]
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
                for i in range(10):
                    if i % 3 == 2:
                        batch = {"logs": [{**LOG, "ticket_id": f"{n}-{i}-{j}"} for j in range(5)]}
                        resp = await c.post("/api/v1/logs/batch", json=batch, headers=H(key))
                    else:
                        resp = await c.post("/api/v1/logs", json={**LOG, "ticket_id": f"{n}-{i}"}, headers=H(key))
                    statuses.append(resp.status_code)
                    assert "locked" not in resp.text, resp.text

        await asyncio.gather(*(writer(n) for n in range(50)))
        assert statuses and all(s == 200 for s in statuses), sorted(set(statuses))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[1]), base_url="http://t") as c:
            total = (await c.get("/api/v1/metrics/overview", headers=H(key))).json()["total"]
        assert total == 50 * (7 + 3 * 5)
    assert "database is locked" not in caplog.text
