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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import context, ui

from ..services.access import sessions
from ..services.access.principal import Principal
from ..services.faults import is_storage_error

COOKIE = "cl_session"
# Set on the NiceGUI Client of a page built for a signed-in user: (runtime, PageUser). Its sockets
# (socket_guard.py) and its handlers (rechecked) must prove that user's session is still live.
PAGE_USER_ATTR = "_cl_page_user"


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
    setattr(context.client, PAGE_USER_ATTR, (runtime, user))
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
        found = getattr(context.client, PAGE_USER_ATTR, None)
        if found is None or not await still_valid(*found):
            ui.navigate.to("/login")
            return
        result = handler(*args)
        if inspect.isawaitable(result):
            await result

    return wrapper


@dataclass
class Outage:
    down: bool = False


@contextmanager
def storage_outage() -> Iterator[Outage]:
    """`with storage_outage() as outage:` around storage calls; afterwards `outage.down` says
    whether the store was unreachable (the error is swallowed: show the storage banner). Any
    other error propagates, so a bug never looks like an outage."""
    outage = Outage()
    try:
        yield outage
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        outage.down = True


async def _use_time_zone(runtime, user: PageUser) -> None:
    """The user's time-zone preference on this page's client (view_utils.page_zone reads it)."""
    from ..services.access.preferences import get_preferences
    from .view_utils import PAGE_ZONE_ATTR

    name = None
    with storage_outage():  # a preference is a nicety: without the store, times stay in UTC
        name = (await get_preferences(runtime.db, user.user_id)).get("time_zone")
    setattr(context.client, PAGE_ZONE_ATTR, ZoneInfo(name) if name and name != "UTC" else None)


def dashboard_page(runtime, path: str, *, title: str, admin: bool = False):
    """Register a signed-in page: `build(request, user, **params)` runs only for a live session
    (else a redirect to /login and back), for admins only with admin=True (else a 403 page), and
    a store that cannot even check the session shows the storage banner instead of a 500.

    The page's other parameters (path and query) keep their names and types: the registered
    function carries build's signature without its second (user) parameter, which is what NiceGUI and FastAPI read."""
    from .layout import frame, notice, storage_banner  # layout imports this module

    def decorate(build: Callable[..., Awaitable[Any]]):
        @functools.wraps(build)
        async def page(request: Request, **params: Any):
            with storage_outage() as outage:
                user = await require_user(request, runtime)
            if outage.down:
                storage_banner()
                return None
            if isinstance(user, RedirectResponse):
                return user
            await _use_time_zone(runtime, user)
            if admin and not user.is_admin:
                with frame(runtime, user, "Not allowed", active=""):
                    notice("block", "403 – not allowed", "Your account may not open this page.")
                return None
            return await build(request, user, **params)

        signature = inspect.signature(build)
        request_param, _user, *rest = signature.parameters.values()  # build(request, user, ...)
        page.__signature__ = signature.replace(parameters=[request_param, *rest])  # type: ignore[attr-defined]
        return ui.page(path, title=title)(page)

    return decorate
