"""Who is looking at a page: the contract every dashboard page codes against.

    u = await require_user(request, runtime)
    if isinstance(u, RedirectResponse):
        return u

Event handlers run long after the page was built (the session may have been ended or the user
disabled meanwhile), so they call `still_valid` before acting."""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import context, ui

from ..services.access import sessions
from ..services.access.principal import Principal

COOKIE = "cl_session"
# Set on the NiceGUI Client of a page built for a signed-in user: its sockets must prove that
# user's live session (socket_guard.py).
OWNER_ATTR = "_cl_owner_user_id"


@dataclass(frozen=True)
class PageUser:
    principal: Principal
    user_id: int
    username: str
    role: str  # 'admin' | 'client'
    # Kept in server memory only (never sent to the browser) to re-validate in event handlers.
    token: str
    client_id: str | None = None
    dark_mode: bool | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _from_session(found: sessions.SessionUser, token: str) -> PageUser:
    return PageUser(principal=found.principal, user_id=found.user_id, username=found.username,
                    role=found.role, token=token, client_id=found.client_id, dark_mode=found.dark_mode)


async def page_user(request: Request, runtime) -> PageUser | None:
    """The signed-in user, or None when there is no valid session.

    Storage errors propagate (callers show storage_banner); they must not look like a logout."""
    token = request.cookies.get(COOKIE)
    found = await sessions.resolve(runtime.db, token)
    return _from_session(found, token) if found and token else None


def logout_token(session_token: str) -> str:
    """The form token that proves a logout POST came from a page the session owner loaded
    (derived from the 256-bit session token, so no other page or site can know it)."""
    return hashlib.sha256(("logout:" + session_token).encode("utf-8", "surrogatepass")).hexdigest()


def safe_next(target: str | None) -> str:
    """A local path to return to after login; anything else (other hosts, schemes) becomes '/'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 32 for ch in target):
        return "/"
    return target


def login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(safe_next(here), safe='')}", status_code=303)


async def require_user(request: Request, runtime) -> PageUser | RedirectResponse:
    user = await page_user(request, runtime)
    if user is None:
        return login_redirect(request)
    setattr(context.client, OWNER_ATTR, user.user_id)
    context.client._cl_page_user = (runtime, user)  # type: ignore[attr-defined] # for rechecked()
    return user


async def still_valid(runtime, user: PageUser) -> bool:
    """True while the session is live and the user keeps the same role and client."""
    try:
        found = await sessions.resolve(runtime.db, user.token)
    except Exception:  # fail closed: an unreachable store cannot vouch for anyone
        return False
    return (found is not None and found.user_id == user.user_id and found.role == user.role
            and found.client_id == user.client_id)


def rechecked(handler: Callable[..., Any]) -> Callable[..., Awaitable[None]]:
    """Wrap an event handler of a signed-in page: it runs only while the page's session is live.

    For small view helpers that have no runtime or user at hand (show more, copy, raw JSON): the
    page's client remembers both from require_user. A page without them refuses (fails closed)."""

    @functools.wraps(handler)  # NiceGUI passes the event argument only if the signature asks for it
    async def wrapper(*args: Any) -> None:
        found = getattr(context.client, "_cl_page_user", None)
        if found is None or not await still_valid(*found):
            ui.navigate.to("/login")
            return
        result = handler(*args)
        if inspect.isawaitable(result):
            await result

    return wrapper


def forbidden_page() -> None:
    with ui.column().classes("w-full items-center mt-16 gap-4"):
        ui.icon("block", size="xl", color="negative")
        ui.label("403 – not allowed").classes("text-2xl font-bold")
        ui.label("Your account may not open this page.")
        ui.link("Back to the overview", "/")
