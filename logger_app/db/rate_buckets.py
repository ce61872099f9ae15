"""The shared rate limit's one statement (PostgreSQL only; services/access/ratelimit.py)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# One statement takes a token from a key's bucket for every process at once: the row lock orders
# concurrent takers, the database's clock refills (so processes never disagree about time), and
# `allowed` tells whether this call got a token (the new token count alone cannot: 0.4 left after
# a take and 0.4 refilled without one look the same).
_PG_TAKE_TOKEN = text("""
INSERT INTO rate_buckets AS b (key_id, kind, tokens, updated_at, allowed)
VALUES (CAST(:key_id AS bigint), CAST(:kind AS varchar), CAST(:burst AS float8) - 1,
        coalesce(CAST(:now AS float8), extract(epoch FROM clock_timestamp())), true)
ON CONFLICT (key_id, kind) DO UPDATE SET
  allowed = least(CAST(:burst AS float8), b.tokens + (excluded.updated_at - b.updated_at) * CAST(:rate AS float8)) >= 1,
  tokens = least(CAST(:burst AS float8), b.tokens + (excluded.updated_at - b.updated_at) * CAST(:rate AS float8))
           - CASE WHEN least(CAST(:burst AS float8), b.tokens + (excluded.updated_at - b.updated_at) * CAST(:rate AS float8)) >= 1 THEN 1 ELSE 0 END,
  updated_at = excluded.updated_at
RETURNING allowed, tokens
""")


async def take_token(conn: AsyncConnection, key_id: int, kind: str, rate: float, burst: float,
                     now: float | None = None) -> tuple[bool, float]:
    """(allowed, tokens left) for one request of `key_id` against the shared bucket `kind` (PostgreSQL
    only). `now`: a caller's clock (tests freeze time); None is the database's clock."""
    params = {"key_id": key_id, "kind": kind, "rate": rate, "burst": burst, "now": now}
    row = (await conn.execute(_PG_TAKE_TOKEN, params)).one()
    return bool(row[0]), float(row[1])
