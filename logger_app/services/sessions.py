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
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from ..db.engine import Database
from ..db.models import Client, LoginAttempt, User, UserSession
from ..db.types import utcnow
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


def _ticket_hash(ticket: str) -> str:
    return _hash("ticket:" + ticket)


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

async def is_throttled(db: Database, username: str, ip: str) -> bool:
    since = utcnow() - FAILURE_WINDOW
    failures = (LoginAttempt.success.is_(False)) & (LoginAttempt.at >= since)
    async with db.read_sessions()() as session:
        by_user = await session.scalar(
            select(func.count()).select_from(LoginAttempt).where(failures, LoginAttempt.username == username[:64]))
        by_ip = await session.scalar(
            select(func.count()).select_from(LoginAttempt).where(failures, LoginAttempt.ip == ip[:64]))
    return (by_user or 0) >= MAX_FAILURES or (by_ip or 0) >= MAX_FAILURES


async def _record_attempt(db: Database, username: str, ip: str, success: bool) -> None:
    async with db.write_sessions()() as session:
        session.add(LoginAttempt(username=username[:64], ip=ip[:64], success=success, at=utcnow()))
        # Old attempts only matter inside the window; prune so the table stays small.
        await session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - 4 * FAILURE_WINDOW))
        await session.commit()


async def login(db: Database, username: str, password: str, ip: str,
                offload: Offload = asyncio.to_thread) -> str | None:
    """A login ticket for valid credentials, else None (show LOGIN_FAILED).

    Throttled attempts are refused before the password is checked and are not recorded, so a
    locked-out account unlocks when its failures age out of the window."""
    username = username or ""
    if await is_throttled(db, username, ip):
        return None
    user = await authenticate_user(db, username, password or "", offload=offload)
    await _record_attempt(db, username, ip, user is not None)
    if user is None:
        return None
    return await create_ticket(db, user.id)


async def create_ticket(db: Database, user_id: int) -> str:
    ticket = secrets.token_urlsafe(32)
    now = utcnow()
    async with db.write_sessions()() as session:
        session.add(UserSession(token_hash=_ticket_hash(ticket), user_id=user_id, created_at=now,
                                last_seen_at=now, ended_at=now + TICKET_LIFETIME))
        await session.commit()
    return ticket


async def redeem_ticket(db: Database, ticket: str) -> str | None:
    """Exchange a ticket for a brand-new session token (single use), or None."""
    if not ticket or len(ticket) > 100:
        return None
    now = utcnow()
    async with db.write_sessions()() as session:
        # The conditional UPDATE is the single-use guarantee: of two concurrent redeems, one wins.
        row = (await session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _ticket_hash(ticket), UserSession.ended_at > now,
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
    async with db.write_sessions()() as session:
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
    async with db.read_sessions()() as session:
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
        async with db.write_sessions()() as session:
            await session.execute(update(UserSession).where(UserSession.id == sess.id).values(last_seen_at=now))
            await session.commit()
    return SessionUser(user.id, user.username, user.role, user.client_id, user.dark_mode, _principal(user))


async def end_session(db: Database, token: str | None) -> None:
    if not token or len(token) > 100:
        return
    async with db.write_sessions()() as session:
        await session.execute(update(UserSession)
                              .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
                              .values(ended_at=utcnow()))
        await session.commit()


async def end_user_sessions(db: Database, user_id: int) -> None:
    """Sign a user out everywhere (after a password reset or when the account is disabled)."""
    async with db.write_sessions()() as session:
        await session.execute(update(UserSession)
                              .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                              .values(ended_at=utcnow()))
        await session.commit()
