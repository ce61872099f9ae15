"""Retry policy for the shipper: which answers are worth repeating, and how long to wait."""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# Only answers that say "not now" are repeated. 4xx means the batch itself is wrong (or the
# key is), so sending it again would fail the same way and hold up every later batch.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})

# Above this, exponentiation only risks OverflowError; the cap is reached long before.
_MAX_EXPONENT = 32


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    max_retry_after: float = 60.0,
    rand=random.random,
) -> float:
    """Delay before retry number ``attempt`` (0-based).

    Without Retry-After: "equal jitter" — half the capped exponential step is fixed so the
    delay really grows, half is random so many clients that failed together spread out.
    With Retry-After the server knows best; we wait that long (capped, so one bad header
    cannot park the shipper for a day) plus up to ``base`` of jitter for the same reason.
    """
    if retry_after is not None:
        return min(retry_after, max_retry_after) + rand() * base
    step = min(cap, base * 2 ** min(attempt, _MAX_EXPONENT))
    return step / 2 + rand() * step / 2


class RetryPolicy:
    """The shipper's retry settings in one place; ``max_retries=None`` means no limit."""

    def __init__(self, *, base: float, cap: float, max_retry_after: float, max_retries: int | None) -> None:
        self.base, self.cap, self.max_retry_after, self.max_retries = base, cap, max_retry_after, max_retries
        # Own generator: jitter must not consume (or be predicted from) the app's seeded random.
        self._rand = random.Random().random

    def gives_up(self, attempt: int) -> bool:
        return self.max_retries is not None and attempt >= self.max_retries

    def delay(self, attempt: int, retry_after: float | None) -> float:
        return backoff_delay(attempt, base=self.base, cap=self.cap, retry_after=retry_after,
                             max_retry_after=self.max_retry_after, rand=self._rand)
