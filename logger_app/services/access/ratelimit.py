"""Per-key rate limits: ingest (LOGGER_RATE_LIMIT_PER_KEY, off by default) and reads
(LOGGER_READ_RATE_LIMIT_PER_KEY, 20 requests/s by default); 0 = off.

A token bucket per API key id. On SQLite (one server process per file) the bucket lives in the
process. On PostgreSQL, where several processes share the database (`serve --workers N`, or
processes on several machines), SharedRateLimiter keeps it in a `rate_buckets` row that one
statement refills and takes from (db/rate_buckets.py take_token), so the limit holds across every
process: N processes together admit `rate` a second, in bursts of `burst`, never N times that.
Ingest and reads count in separate buckets, so a key that polls the dashboards cannot lose its writes.

The cost is one round trip per limited request (ingest's limit is off by default; reads are on at
20/s and cost far more than the round trip). If that statement fails or takes longer than
SHARED_DEADLINE_SECONDS, the process falls back to its own in-process bucket for
FALLBACK_SECONDS (so during an outage a request waits for the storage once, in its own query, not
twice: the limiter's wait would otherwise come on top of the request's timeout), then tries the
shared bucket again. The limiter must not turn a storage hiccup into 429s or slower 503s.

The runtime holds one limiter of each kind (runtime.rate_limiter, runtime.read_rate_limiter);
api/deps.py awaits `.admit(principal)` right after authenticating. Both raise RateLimited: 429 +
Retry-After once the key's bucket is empty.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ...db.dialect import Dialect
from ...db.engine import Database
from ...db.rate_buckets import take_token
from ..errors import RateLimited
from ..faults import run_with_deadline
from .principal import Principal

log = logging.getLogger("logger_app.ratelimit")


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

    async def admit(self, principal: Principal) -> None:
        self.check(principal)

    def _store(self, key: Any, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self.MAX_BUCKETS:
            # Only authenticated key ids get here, but stay bounded anyway: forget full buckets.
            self._buckets = {k: v for k, v in self._buckets.items()
                             if v[0] + (now - v[1]) * self.rate < self.burst}
        self._buckets[key] = (tokens, now)


SHARED_DEADLINE_SECONDS = 0.5
FALLBACK_SECONDS = 5.0


class SharedRateLimiter:
    """The same bucket as RateLimiter, kept in the database so every process draws on one (PostgreSQL)."""

    def __init__(self, db: Database, kind: str, rate: float, burst: float | None = None, timeout: float = 5.0):
        self.db, self.kind = db, kind
        self.timeout = min(timeout, SHARED_DEADLINE_SECONDS)
        self.clock: Any = None  # None: the database's clock, common to every process (tests may freeze one)
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        self._local = RateLimiter(self.rate, self.burst)  # while the shared bucket cannot be reached
        self._fallback_until = 0.0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    async def admit(self, principal: Principal) -> None:
        if not self.enabled or principal.key_id is None:
            return
        if time.monotonic() < self._fallback_until:
            return self._local.check(principal)
        try:
            allowed, tokens = await run_with_deadline(self._take(principal.key_id), self.timeout)
        except Exception as exc:  # see the module docstring
            log.warning("shared rate limit unavailable for %.0f s, limiting in this process: %s", FALLBACK_SECONDS, type(exc).__name__)
            self._fallback_until = time.monotonic() + FALLBACK_SECONDS
            return self._local.check(principal)
        if not allowed:
            raise RateLimited((1.0 - tokens) / self.rate)

    async def _take(self, key_id: int) -> tuple[bool, float]:
        async with self.db.writer.begin() as conn:
            return await take_token(conn, key_id, self.kind, self.rate, self.burst, self.clock() if self.clock else None)


def limiter_for(db: Database, kind: str, rate: float, burst: float | None = None, timeout: float = 5.0) -> RateLimiter | SharedRateLimiter:
    """In-process on SQLite, shared through the database on PostgreSQL."""
    if db.dialect is Dialect.POSTGRESQL and rate > 0:
        return SharedRateLimiter(db, kind, rate, burst, timeout)
    return RateLimiter(rate, burst)


# A read client (a script walking keyset pages, a dashboard refreshing several charts) comes in
# bursts; two seconds' worth lets a burst through and still caps the sustained rate.
READ_BURST_SECONDS = 2.0


def read_limiter(rate: float, db: Database | None = None, timeout: float = 5.0) -> RateLimiter | SharedRateLimiter:
    """The read routes' limiter: `rate` a second, in bursts of READ_BURST_SECONDS' worth."""
    burst = max(1.0, rate * READ_BURST_SECONDS)
    return limiter_for(db, "read", rate, burst, timeout) if db is not None else RateLimiter(rate, burst=burst)
