"""Who is asking: the scope every read function takes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """An admin (service provider) sees every client; anyone else exactly one."""

    client_id: str | None
    is_admin: bool = False
    name: str = ""
    key_id: int | None = None
    user_id: int | None = None

    @classmethod
    def admin(cls, name: str = "admin", **kw) -> Principal:
        return cls(client_id=None, is_admin=True, name=name, **kw)

    @classmethod
    def for_client(cls, client_id: str, name: str = "", **kw) -> Principal:
        return cls(client_id=client_id, is_admin=False, name=name or client_id, **kw)
