"""/login, the ticket-for-cookie exchange, and /logout.

The login form submits over the websocket, where no cookie can be set; the handler mints a 60 s
single-use ticket and sends the browser to /auth/complete, a plain HTTP route that swaps it for
a fresh session cookie. A new token per login means a planted cookie never becomes privileged.
The ticket is bound to the browser's binding cookie (edge/middleware.py): a ticket read from a
URL, a proxy log or a screen share is useless in any other browser."""

from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app as ui_app
from nicegui import run, ui

from ..edge.middleware import BROWSER_COOKIE
from ..services.access import sessions
from ..services.errors import LoginBusy
from .guard import COOKIE, logout_token, page_user, safe_next, storage_outage
from .layout import storage_banner


def _same_origin(request: Request) -> bool:
    # Browsers mark every navigation with where it started. Only our own login page sends the
    # browser to /auth/complete, so anything else (another site, a same-site sibling, a typed or
    # pasted URL, a client that sends no such header) is refused (login CSRF, ticket replay).
    return request.headers.get("sec-fetch-site") == "same-origin"


def _client_ip(request: Request) -> str:
    # The edge middleware has already replaced the peer with X-Forwarded-For's client when, and
    # only when, the peer is one of LOGGER_TRUSTED_PROXIES.
    return request.client.host if request.client else "unknown"


def register(runtime) -> None:
    settings = runtime.settings

    @ui.page("/login", title="Sign in · Central Logger")
    async def login_page(request: Request, next: str = "/"):  # noqa: A002 - the query parameter's name
        target = safe_next(next)
        with storage_outage() as outage:
            if await page_user(request, runtime) is not None:
                return RedirectResponse(target, status_code=303)
        if outage.down:
            storage_banner()
        ip = _client_ip(request)
        browser = request.cookies.get(BROWSER_COOKIE) or ""

        with ui.card().classes("absolute-center w-80 gap-3"):
            ui.label("Central Logger").classes("text-xl font-bold")
            username = ui.input("Username").props("autofocus autocomplete=username").classes("w-full") \
                .mark("username")
            password = ui.input("Password", password=True).props("autocomplete=current-password") \
                .classes("w-full").mark("password")
            error = ui.label("").classes("text-negative text-sm").mark("login-error")
            error.visible = False
            button = ui.button("Sign in").classes("w-full").mark("login")

        in_flight = False

        async def submit() -> None:
            # Enter and the button both call this; one attempt at a time per page.
            nonlocal in_flight
            if in_flight:
                return
            in_flight = True
            button.disable()
            ticket = None
            try:
                with storage_outage() as outage:
                    ticket = await sessions.login(runtime.db, username.value or "", password.value or "", ip,
                                                  offload=run.io_bound, browser=browser)
            except LoginBusy as exc:
                error.text, error.visible = exc.message, True
                return
            finally:
                in_flight = False
                button.enable()
            if outage.down:
                error.text, error.visible = "Storage unavailable — please try again shortly.", True
                return
            if ticket is None:
                password.value = ""
                error.text, error.visible = sessions.LOGIN_FAILED, True
                return
            ui.navigate.to(f"/auth/complete?ticket={quote(ticket)}&next={quote(target, safe='')}")

        button.on_click(submit)
        password.on("keydown.enter", submit)

    @ui_app.get("/auth/complete", include_in_schema=False)
    async def complete(request: Request, ticket: str = "", next: str = "/"):  # noqa: A002
        if not _same_origin(request):
            return RedirectResponse("/login", status_code=303)
        token = await sessions.redeem_ticket(runtime.db, ticket, request.cookies.get(BROWSER_COOKIE) or "")
        if token is None:
            return RedirectResponse("/login", status_code=303)
        # Whatever session this browser had before (maybe another account) ends with the switch.
        await sessions.end_session(runtime.db, request.cookies.get(COOKIE))
        response = RedirectResponse(safe_next(next), status_code=303)
        # No max_age: a browser-session cookie; the server enforces the 12 h / 7 d limits anyway.
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    @ui_app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        # POST only (a link or an <img> elsewhere cannot log anyone out), with the form token of
        # a page this session loaded; a wrong token changes nothing.
        token = request.cookies.get(COOKIE) or ""
        form = await request.form()
        if not token or not hmac.compare_digest(str(form.get("token", "")), logout_token(token)):
            return RedirectResponse("/", status_code=303)
        await sessions.end_session(runtime.db, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure)
        return response
