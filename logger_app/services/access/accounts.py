"""Account changes that must end sessions, in one place every front door calls (pages and CLI).

A password reset, a disabled user and a disabled client all mean "whoever holds a session for
this account must lose it now". The rule used to live in the admin page only, so the CLI's
`user set-password` left old sessions valid. Ending the sessions (rather than relying on the
disabled flag at resolve time) is also what keeps a later re-enable from reviving them."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from ...db.engine import Database
from ...db.models import User, UserSession
from ...db.types import utcnow
from ..errors import NotFound
from . import clients, users
from .users import Offload


async def _end_sessions_where(db: Database, condition) -> None:
    async with db.write() as session:
        await session.execute(update(UserSession)
                              .where(condition, UserSession.ended_at.is_(None))
                              .values(ended_at=utcnow()))
        await session.commit()


async def _user_id(db: Database, username: str) -> int:
    async with db.read() as session:
        found = await session.scalar(select(User.id).where(User.username == username))
    if found is None:
        raise NotFound(f"no user {username!r}")
    return found


async def reset_password(db: Database, username: str, password: str, offload: Offload = asyncio.to_thread) -> None:
    """New password; every session of the user ends (old sessions must not outlive the old password)."""
    await users.set_password(db, username, password, offload=offload)
    await _end_sessions_where(db, UserSession.user_id == await _user_id(db, username))


async def set_user_disabled(db: Database, username: str, disabled: bool = True) -> None:
    await users.set_user_disabled(db, username, disabled)
    if disabled:
        await _end_sessions_where(db, UserSession.user_id == await _user_id(db, username))


async def set_client_disabled(db: Database, client_id: str, disabled: bool = True) -> None:
    """A disabled client loses its keys (at resolve time) and its users' sessions (ended here)."""
    await clients.set_client_disabled(db, client_id, disabled)
    if disabled:
        members = select(User.id).where(User.client_id == client_id).scalar_subquery()
        await _end_sessions_where(db, UserSession.user_id.in_(members))
