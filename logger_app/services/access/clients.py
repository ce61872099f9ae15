"""Clients (tenants)."""

from __future__ import annotations

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from ...db.engine import Database
from ...db.models import Client
from ..errors import Conflict, FieldProblem, NotFound, ValidationFailed
from ..rules import CLIENT_ID_PATTERN, CLIENT_ID_RE, CLIENT_ID_RULE


def check_client_id(client_id: str) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID_RE.fullmatch(client_id):
        raise ValidationFailed(
            f"invalid client id: {CLIENT_ID_RULE}",
            [FieldProblem("client_id", f"must match {CLIENT_ID_PATTERN}")],
        )
    return client_id


async def create_client(db: Database, client_id: str, name: str | None = None) -> Client:
    check_client_id(client_id)
    client = Client(id=client_id, name=(name or client_id)[:200], disabled=False)
    async with db.write() as session:
        session.add(client)
        try:
            await session.commit()
        except IntegrityError:
            raise Conflict(f"client {client_id!r} already exists", [FieldProblem("client_id", "already exists")])
    return client


async def list_clients(db: Database) -> list[Client]:
    async with db.read() as session:
        return list((await session.scalars(select(Client).order_by(Client.id))).all())


async def get_client(db: Database, client_id: str) -> Client | None:
    async with db.read() as session:
        return await session.get(Client, client_id)


async def set_client_disabled(db: Database, client_id: str, disabled: bool = True) -> None:
    async with db.write() as session:
        result: CursorResult = await session.execute(update(Client).where(Client.id == client_id).values(disabled=disabled))  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        await session.commit()
    if result.rowcount == 0:
        raise NotFound(f"no client {client_id!r}")


async def rename_client(db: Database, client_id: str, name: str) -> None:
    name = (name or "").strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise ValidationFailed("invalid name: 1-200 printable characters", [FieldProblem("name", "1-200 printable characters")])
    async with db.write() as session:
        result: CursorResult = await session.execute(update(Client).where(Client.id == client_id).values(name=name))  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        await session.commit()
    if result.rowcount == 0:
        raise NotFound(f"no client {client_id!r}")
