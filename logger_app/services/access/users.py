"""Dashboard users. Passwords are argon2 hashes (passlib from the libpass fork).

Hashing takes tens of milliseconds of CPU, so it always runs off the event loop through `offload`
(the pages pass NiceGUI's run.io_bound; the default is a plain worker thread)."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from passlib.context import CryptContext
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError

from ...db.engine import Database
from ...db.models import Client, User, UserSession
from ..errors import Conflict, FieldProblem, NotFound, ValidationFailed

log = logging.getLogger("logger_app")

_context = CryptContext(schemes=["argon2"], deprecated="auto")


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist keeps timing the same for both failures.
    Made on first use, not at import: an argon2 hash is ~190 ms, which every CLI command and server
    start paid (`python -X importtime`), and most never check a password."""
    return _context.hash(secrets.token_hex(8))

Offload = Callable[..., Awaitable[Any]]
ROLES = ("admin", "client")


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return _context.verify(password, hashed)
    except (ValueError, TypeError):
        return False


PASSWORD_MIN = 8


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise ValidationFailed(f"password too short: at least {PASSWORD_MIN} characters",
                               [FieldProblem("password", f"must be at least {PASSWORD_MIN} characters")])


def check_new_user(username: str, role: str, client_id: str | None) -> None:
    """What create_user checks before it needs the password (a CLI asks for it only after this)."""
    if not username or len(username) > 64 or not username.isprintable():
        raise ValidationFailed("invalid username: 1-64 printable characters", [FieldProblem("username", "1-64 printable characters")])
    if role not in ROLES:
        raise ValidationFailed(f"invalid role: must be {' or '.join(ROLES)}", [FieldProblem("role", "must be admin or client")])
    if role == "client" and not client_id:
        raise ValidationFailed("a client user needs a client", [FieldProblem("client_id", "required for role client")])


async def create_user(db: Database, username: str, password: str, role: str, client_id: str | None = None,
                      offload: Offload = asyncio.to_thread, check_strength: bool = True) -> User:
    check_new_user(username, role, client_id)
    if role == "admin":
        client_id = None
    if check_strength:
        _check_password(password)
    hashed = await offload(hash_password, password)
    async with db.write() as session:
        if client_id and await session.get(Client, client_id) is None:
            raise NotFound(f"no client {client_id!r}", [FieldProblem("client_id", "does not exist")])
        user = User(username=username, password_hash=hashed, role=role, client_id=client_id, disabled=False)
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:
            raise Conflict(f"user {username!r} already exists", [FieldProblem("username", "already exists")])
    return user


async def list_users(db: Database) -> list[User]:
    async with db.read() as session:
        return list((await session.scalars(select(User).order_by(User.username))).all())


async def last_sign_ins(db: Database) -> dict[int, datetime]:
    """When each user last signed in (the newest session they started)."""
    async with db.read() as session:
        rows = await session.execute(select(UserSession.user_id, func.max(UserSession.created_at)).group_by(UserSession.user_id))
        return {user_id: at for user_id, at in rows}


async def get_user(db: Database, user_id: int) -> User | None:
    async with db.read() as session:
        return await session.get(User, user_id)


async def set_user_disabled(db: Database, username: str, disabled: bool = True) -> None:
    async with db.write() as session:
        result: CursorResult = await session.execute(update(User).where(User.username == username).values(disabled=disabled))  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        await session.commit()
    if result.rowcount == 0:
        raise NotFound(f"no user {username!r}")


async def set_password(db: Database, username: str, password: str, offload: Offload = asyncio.to_thread) -> None:
    _check_password(password)
    hashed = await offload(hash_password, password)
    async with db.write() as session:
        result: CursorResult = await session.execute(update(User).where(User.username == username).values(password_hash=hashed))  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        await session.commit()
    if result.rowcount == 0:
        raise NotFound(f"no user {username!r}")


async def authenticate_user(db: Database, username: str, password: str,
                            offload: Offload = asyncio.to_thread) -> User | None:
    """The user when the password matches and the account is enabled, else None (one answer for all)."""
    async with db.read() as session:
        user = (await session.scalars(select(User).where(User.username == username))).first()
    hashed = user.password_hash if user is not None else _dummy_hash()
    ok = await offload(verify_password, password, hashed)
    if user is None or not ok or user.disabled:
        return None
    return user


async def ensure_admin(db: Database, password: str | None) -> str | None:
    """First start: create `admin` if no admin exists. Returns a generated password, printed once."""
    async with db.read() as session:
        admins = await session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
    if admins:
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    try:
        # LOGGER_ADMIN_PASSWORD is the operator's explicit choice, so it is not length-checked.
        await create_user(db, "admin", password, "admin", check_strength=False)
    except Conflict:
        return None  # another process won the race
    if generated:
        # Printed, not logged: it must reach the operator once and never land in log files.
        print(f"\n  Central Logger: created user 'admin' with password: {generated}\n", flush=True)
    return generated


async def set_dark_mode(db: Database, user_id: int, dark: bool | None) -> None:
    """The dashboard theme a user chose (None follows the browser)."""
    async with db.write() as session:
        await session.execute(update(User).where(User.id == user_id).values(dark_mode=dark))
        await session.commit()
