"""API keys: `lk_` + 32 random bytes, stored only as a SHA-256 digest.

128+ random bits make brute force hopeless, so a single fast hash is enough and lets every request
look its key up by an indexed digest instead of running a slow password hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import CursorResult, select, update

from ...db.engine import Database
from ...db.models import ApiKey, Client
from ...db.types import utcnow
from ..errors import Forbidden, NotFound, StorageUnavailable, Unauthorized
from ..faults import run_with_deadline
from .principal import Principal

PREFIX_LEN = 12


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> str:
    return "lk_" + secrets.token_urlsafe(32)


@dataclass
class CreatedKey:
    key: str
    prefix: str
    client_id: str | None
    id: int


async def create_key(db: Database, client_id: str | None, label: str = "") -> CreatedKey:
    key = new_key()
    async with db.write() as session:
        if client_id is not None and await session.get(Client, client_id) is None:
            raise NotFound(f"no client {client_id!r}")
        row = ApiKey(client_id=client_id, prefix=key[:PREFIX_LEN], digest=digest(key), label=label[:200])
        session.add(row)
        await session.commit()
    return CreatedKey(key=key, prefix=row.prefix, client_id=client_id, id=row.id)


async def list_keys(db: Database, client_id: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.client_id, ApiKey.created_at)
    if client_id is not None:
        query = query.where(ApiKey.client_id == client_id)
    async with db.read() as session:
        return list((await session.scalars(query)).all())


async def revoke_key(db: Database, prefix: str) -> int:
    """Revoke every live key with this prefix; returns how many."""
    async with db.write() as session:
        result: CursorResult = await session.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
            update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
        await session.commit()
    if result.rowcount == 0:
        raise NotFound(f"no live key with prefix {prefix!r}")
    return result.rowcount


@dataclass
class _Entry:
    principal: Principal | None
    error: str | None
    expires: float


class KeyAuthenticator:
    """Resolves a presented key to a principal, with a short in-process cache.

    The cache keeps ingest off the database for auth, yet lives shorter than the 10 s in which a
    revocation must take effect in every process."""

    def __init__(self, db: Database, ttl: float = 5.0, max_entries: int = 10_000, timeout: float = 5.0):
        self.db = db
        self.timeout = timeout
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, _Entry] = {}
        self._last_used_pending: set[int] = set()
        self._last_used_written: dict[int, float] = {}

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise Unauthorized("missing API key: send it in X-API-Key or Authorization: Bearer")
        d = digest(key)
        now = time.monotonic()
        entry = self._cache.get(d)
        if entry is None or entry.expires < now:
            try:
                # A blackholed database must cost a request at most the configured timeout
                # (asyncio.timeout would also wait out SQLAlchemy's 2 s close of the dead socket).
                entry = await run_with_deadline(self._load(d, now), self.timeout)
            except TimeoutError:
                raise StorageUnavailable("storage did not answer in time")
        if entry.principal is None:
            if entry.error == "disabled":
                raise Forbidden("this client is disabled")
            raise Unauthorized("unknown or revoked API key")
        self._note_used(entry.principal.key_id)
        return entry.principal

    async def _load(self, d: str, now: float) -> _Entry:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(ApiKey.id, ApiKey.client_id, ApiKey.revoked_at, ApiKey.prefix, Client.disabled)
                    .outerjoin(Client, Client.id == ApiKey.client_id)
                    .where(ApiKey.digest == d)
                )
            ).first()
        if row is None or row.revoked_at is not None:
            entry = _Entry(None, "unknown", now + self.ttl)
        elif row.client_id is not None and row.disabled:
            entry = _Entry(None, "disabled", now + self.ttl)
        elif row.client_id is None:
            entry = _Entry(Principal.admin(name=f"key:{row.prefix}", key_id=row.id), None, now + self.ttl)
        else:
            entry = _Entry(Principal.for_client(row.client_id, key_id=row.id), None, now + self.ttl)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()  # a flood of random keys must not grow memory without bound
        self._cache[d] = entry
        return entry

    def _note_used(self, key_id: int | None) -> None:
        if key_id is None:
            return
        # last_used_at is informational: write it at most once a minute per key.
        if time.monotonic() - self._last_used_written.get(key_id, -1e9) > 60:
            self._last_used_pending.add(key_id)

    async def flush_last_used(self) -> None:
        if not self._last_used_pending:
            return
        ids, self._last_used_pending = self._last_used_pending, set()
        now = time.monotonic()
        for key_id in ids:
            self._last_used_written[key_id] = now
        async with self.db.write() as session:
            await session.execute(update(ApiKey).where(ApiKey.id.in_(ids)).values(last_used_at=utcnow()))
            await session.commit()


def key_status(row: ApiKey) -> str:
    return "revoked" if row.revoked_at else "active"
