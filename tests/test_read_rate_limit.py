"""Read routes have a per-key rate limit, on by default (LOGGER_READ_RATE_LIMIT_PER_KEY): one key
polling the aggregates cannot take the database from the others. Ingest keeps its own limit.

Time is frozen in the limiters (no timed tests): a key then gets exactly its burst."""

from __future__ import annotations

import pytest

from logger_app.config import Settings
from logger_app.services.access.ratelimit import RateLimiter
from tests.support.data import H

LOG = {"ticket_id": "T-1", "status": "SUCCESS"}
READ_PATHS = ("/api/v1/logs", "/api/v1/logs/1", "/api/v1/metrics/overview", "/api/v1/metrics/timeseries",
              "/api/v1/metrics/ingest")


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def read_clock(api, runtime) -> FrozenClock:
    """The read limiter the server built from its settings, with time standing still."""
    clock = FrozenClock()
    runtime.read_rate_limiter.clock = clock
    return clock


async def test_a_burst_over_the_default_read_limit_gets_429_with_retry_after(api, make_key, runtime, read_clock):
    assert Settings.model_fields["read_rate_limit_per_key"].default == 20
    assert runtime.settings.read_rate_limit_per_key == 20  # this test runs with the default
    greedy, polite = await make_key("greedy"), await make_key("polite")
    burst = 40  # two seconds' worth
    statuses = [(await api.get("/api/v1/logs", params={"limit": 1}, headers=H(greedy))).status_code
                for _ in range(burst)]
    assert statuses == [200] * burst
    for path in READ_PATHS:
        r = await api.get(path, headers=H(greedy))
        assert r.status_code == 429, path
        assert int(r.headers["retry-after"]) >= 1
        body = r.json()
        assert body["error"]["code"] == "rate_limited" and body["error"]["details"] == [
            {"field": "api_key", "problem": "rate limit exceeded"}]
        assert greedy not in r.text
    # Another key is unaffected, and so is the greedy key's ingest.
    assert (await api.get("/api/v1/logs", headers=H(polite))).status_code == 200
    assert (await api.post("/api/v1/logs", json=LOG, headers=H(greedy))).status_code == 200
    read_clock.now += 1.0  # a second later: one second's worth of tokens again
    statuses = [(await api.get("/api/v1/logs", headers=H(greedy))).status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]


async def test_the_ingest_limit_does_not_limit_reads(api, make_key, runtime, read_clock):
    runtime.rate_limiter = RateLimiter(1, clock=FrozenClock())  # LOGGER_RATE_LIMIT_PER_KEY=1, time frozen
    key = await make_key("acme")
    assert [(await api.post("/api/v1/logs", json=LOG, headers=H(key))).status_code for _ in range(2)] == [200, 429]
    assert (await api.get("/api/v1/logs", headers=H(key))).status_code == 200


@pytest.fixture
def settings(settings, request):
    return settings.model_copy(update=getattr(request, "param", {}))


@pytest.mark.parametrize("settings", [{"read_rate_limit_per_key": 0}], indirect=True, ids=["off"])
async def test_reads_are_unlimited_with_the_limit_set_to_0(api, make_key, runtime, read_clock):
    key = await make_key("acme")
    statuses = {(await api.get("/api/v1/logs", params={"limit": 1}, headers=H(key))).status_code for _ in range(60)}
    assert statuses == {200}
