"""Per-key rate limits: ingest (LOGGER_RATE_LIMIT_PER_KEY, off by default) and reads
(LOGGER_READ_RATE_LIMIT_PER_KEY, 20 requests/s by default); 0 = off.

A token bucket per API key id, held in this process only: with N server processes behind a proxy
a key may send up to N times the limit. That is enough to stop one runaway agent from starving the
others on a single node; a shared limit would need the database or Redis on every request. Ingest
and reads count in separate buckets, so a key that polls the dashboards cannot lose its writes.

The runtime holds one limiter of each kind (runtime.rate_limiter, runtime.read_rate_limiter);
api/deps.py calls `.check(principal)` right after authenticating. Both raise RateLimited: 429 + Retry-After once the key's bucket is empty.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import RateLimited
from .principal import Principal


class RateLimiter:
    """Token bucket per key: `rate` tokens a second, holding at most `burst` (default: one second's worth)."""

    MAX_BUCKETS = 100_000

    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        self.clock = clock
        self._buckets: dict[Any, tuple[float, float]] = {}  # key -> (tokens, updated_at)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def retry_after(self, key: Any) -> float | None:
        """Take one token for `key`; None if allowed, else seconds until a token is available."""
        if not self.enabled:
            return None
        now = self.clock()
        tokens, updated = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return None
        self._store(key, tokens, now)
        return (1.0 - tokens) / self.rate

    def check(self, principal: Principal) -> None:
        if principal.key_id is None:  # dashboard users are not API keys
            return
        wait = self.retry_after(principal.key_id)
        if wait is not None:
            raise RateLimited(wait)

    def _store(self, key: Any, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self.MAX_BUCKETS:
            # Only authenticated key ids get here, but stay bounded anyway: forget full buckets.
            self._buckets = {k: v for k, v in self._buckets.items()
                             if v[0] + (now - v[1]) * self.rate < self.burst}
        self._buckets[key] = (tokens, now)


# A read client (a script walking keyset pages, a dashboard refreshing several charts) comes in
# bursts; two seconds' worth lets a burst through and still caps the sustained rate.
READ_BURST_SECONDS = 2.0


def read_limiter(rate: float) -> RateLimiter:
    """The read routes' limiter: `rate` a second, in bursts of READ_BURST_SECONDS' worth."""
    return RateLimiter(rate, burst=max(1.0, rate * READ_BURST_SECONDS))
