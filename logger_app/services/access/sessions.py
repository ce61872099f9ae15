"""Dashboard sessions and login throttling, kept in the database.

A session token is 256 random bits; only its SHA-256 is stored, so a leaked database dump holds no
usable cookie. Every process behind a proxy sees the same rows, and logout is a server-side fact.

Login runs over NiceGUI's websocket, which cannot set a cookie. The page therefore mints a login
ticket (60 s, single use) that the browser exchanges over plain HTTP for the session cookie.
Tickets are `sessions` rows too, distinguishable from sessions in two independent ways: their
hash is domain-separated ("ticket:" prefix), and `ended_at` is set from the start (it holds the
ticket's expiry), so a ticket can never pass as a live session even if its hash were presented."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from ...db.engine import Database
from ...db.models import Client, LoginAttempt, User, UserSession
from ...db.types import utcnow
from ..errors import LoginBusy
from .principal import Principal
from .users import Offload, authenticate_user

IDLE_TIMEOUT = timedelta(hours=12)
ABSOLUTE_TIMEOUT = timedelta(days=7)
TOUCH_INTERVAL = timedelta(minutes=1)
TICKET_LIFETIME = timedelta(seconds=60)

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
# One message for unknown user, wrong password, disabled account and throttling alike, so the
# answer reveals neither which usernames exist nor whether the lockout is on.
LOGIN_FAILED = "Invalid username or password, or too many attempts. Try again later."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _ticket_hash(ticket: str, browser: str) -> str:
    # The browser's binding cookie is part of the hash: the same ticket with another cookie (or
    # none) matches no row.
    return _hash("ticket:" + ticket + "\x00" + browser)


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    username: str
    role: str
    client_id: str | None
    dark_mode: bool | None
    principal: Principal


def _principal(user: User) -> Principal:
    if user.role == "admin":
        return Principal.admin(name=user.username, user_id=user.id)
    # A client user without a client keeps a client_id of None and is_admin False: the scope
    # layer then refuses every query instead of showing everything.
    return Principal(client_id=user.client_id, is_admin=False, name=user.username, user_id=user.id)


# --- login ---------------------------------------------------------------------------------------

# Each argon2 verification holds 64 MiB for ~0.2 s; 60 concurrent logins took the process from
# 352 to 735 MB RSS. Two at a time keep a 2-core machine busy; the excess is refused at once
# (LoginBusy) instead of queueing memory. Per process: N processes cap at N times this.
MAX_CONCURRENT_VERIFIES = 2
_verifying = 0  # a plain counter, not an asyncio.Semaphore: refusing never waits, so no loop binding
# Throttled attempts wait about as long as a real verification, so the answer time does not tell
# an attacker that the lock is on (8 ms vs 200 ms before). Refreshed from real verifications.
_typical_verify_seconds = 0.2


def _counted_failures(username: str, ip: str):
    since = utcnow() - FAILURE_WINDOW
    failures = (LoginAttempt.success.is_(False)) & (LoginAttempt.at >= since)
    by_user = select(func.count()).select_from(LoginAttempt).where(failures, LoginAttempt.username == username[:64])
    by_ip = select(func.count()).select_from(LoginAttempt).where(failures, LoginAttempt.ip == ip[:64])
    return by_user.scalar_subquery(), by_ip.scalar_subquery()


async def _claim_attempt(db: Database, username: str, ip: str) -> int | None:
    """Record the attempt as a failure *before* the password is checked; its id, or None if throttled.

    The row is committed first and the failures are counted after, so of any number of concurrent
    attempts (in any number of processes) the k-th to commit sees at least k rows: at most
    MAX_FAILURES of them are evaluated. A refused attempt deletes its row again, so a lock lifts
    once the evaluated failures age out of the window."""
    now = utcnow()
    async with db.write() as session:
        attempt = LoginAttempt(username=username[:64], ip=ip[:64], success=False, at=now)
        session.add(attempt)
        # Old attempts only matter inside the window; prune so the table stays small.
        await session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 4 * FAILURE_WINDOW))
        await session.commit()
        attempt_id = attempt.id
    by_user, by_ip = _counted_failures(username, ip)
    async with db.read() as session:
        counts = (await session.execute(select(by_user, by_ip))).one()
    if max(counts) <= MAX_FAILURES:
        return attempt_id
    async with db.write() as session:
        await session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        await session.commit()
    return None


async def _mark_success(db: Database, attempt_id: int) -> None:
    async with db.write() as session:
        await session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(success=True))
        await session.commit()


async def login(db: Database, username: str, password: str, ip: str,
                offload: Offload = asyncio.to_thread, browser: str = "") -> str | None:
    """A login ticket for valid credentials, else None (show LOGIN_FAILED).

    `browser` is the caller's browser-binding cookie: only a request carrying the same cookie can
    redeem the ticket (a ticket read from a log or a URL is useless elsewhere).
    Raises LoginBusy when MAX_CONCURRENT_VERIFIES verifications are already running here."""
    global _verifying, _typical_verify_seconds
    username = username or ""
    if _verifying >= MAX_CONCURRENT_VERIFIES:
        raise LoginBusy()
    _verifying += 1
    user = None
    try:
        attempt_id = await _claim_attempt(db, username, ip)
        if attempt_id is not None:
            started = time.monotonic()
            user = await authenticate_user(db, username, password or "", offload=offload)
            _typical_verify_seconds = 0.8 * _typical_verify_seconds + 0.2 * min(time.monotonic() - started, 2.0)
    finally:
        _verifying -= 1
    if attempt_id is None:
        # Throttled: wait as long as a check would, but without holding a verification slot
        # (a flood at a locked account must not lock everyone else out of signing in).
        await asyncio.sleep(_typical_verify_seconds)
        return None
    if user is None:
        return None
    await _mark_success(db, attempt_id)
    return await create_ticket(db, user.id, browser)


async def create_ticket(db: Database, user_id: int, browser: str = "") -> str:
    ticket = secrets.token_urlsafe(32)
    now = utcnow()
    async with db.write() as session:
        session.add(UserSession(token_hash=_ticket_hash(ticket, browser), user_id=user_id, created_at=now,
                                last_seen_at=now, ended_at=now + TICKET_LIFETIME))
        await session.commit()
    return ticket


async def redeem_ticket(db: Database, ticket: str, browser: str = "") -> str | None:
    """Exchange a ticket for a brand-new session token (single use), or None.

    `browser` must be the binding cookie the ticket was minted for (see login)."""
    if not ticket or len(ticket) > 100 or len(browser) > 100:
        return None
    now = utcnow()
    async with db.write() as session:
        # The conditional UPDATE is the single-use guarantee: of two concurrent redeems, one wins.
        row = (await session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _ticket_hash(ticket, browser), UserSession.ended_at > now,
                   UserSession.last_seen_at == UserSession.created_at)
            .values(ended_at=now, last_seen_at=now)
            .returning(UserSession.user_id)
        )).first()
        await session.commit()
    if row is None:
        return None
    return await create_session(db, row.user_id)


async def create_session(db: Database, user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with db.write() as session:
        session.add(UserSession(token_hash=_hash(token), user_id=user_id, created_at=now, last_seen_at=now))
        # Housekeeping piggybacks on logins: drop rows that can never become valid again.
        await session.execute(delete(UserSession).where(
            or_(UserSession.ended_at < now - timedelta(days=1), UserSession.created_at < now - 2 * ABSOLUTE_TIMEOUT)))
        await session.commit()
    return token


# --- use -----------------------------------------------------------------------------------------

async def resolve(db: Database, token: str | None) -> SessionUser | None:
    """The signed-in user for a session token, or None if unknown, ended, expired or disabled."""
    if not token or len(token) > 100:
        return None
    async with db.read() as session:
        row = (await session.execute(
            select(UserSession, User, Client.disabled).join(User, User.id == UserSession.user_id)
            .outerjoin(Client, Client.id == User.client_id)
            .where(UserSession.token_hash == _hash(token))
        )).first()
    if row is None:
        return None
    sess, user, client_disabled = row
    now = utcnow()
    # A disabled client loses dashboard access exactly like it loses its API keys.
    if sess.ended_at is not None or user.disabled or client_disabled:
        return None
    if now - sess.last_seen_at > IDLE_TIMEOUT or now - sess.created_at > ABSOLUTE_TIMEOUT:
        return None
    if now - sess.last_seen_at > TOUCH_INTERVAL:
        async with db.write() as session:
            await session.execute(update(UserSession).where(UserSession.id == sess.id).values(last_seen_at=now))
            await session.commit()
    return SessionUser(user.id, user.username, user.role, user.client_id, user.dark_mode, _principal(user))


async def end_session(db: Database, token: str | None) -> None:
    if not token or len(token) > 100:
        return
    async with db.write() as session:
        await session.execute(update(UserSession)
                              .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
                              .values(ended_at=utcnow()))
        await session.commit()


async def end_user_sessions(db: Database, user_id: int) -> None:
    """Sign a user out everywhere (after a password reset or when the account is disabled)."""
    async with db.write() as session:
        await session.execute(update(UserSession)
                              .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                              .values(ended_at=utcnow()))
        await session.commit()
