"""/login, the ticket-for-cookie exchange, and /logout.

The login form submits over the websocket, where no cookie can be set; the handler mints a 60 s
single-use ticket and sends the browser to /auth/complete, a plain HTTP route that swaps it for
a fresh session cookie. A new token per login means a planted cookie never becomes privileged."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app as ui_app
from nicegui import run, ui

from ..services import sessions
from ..services.faults import is_storage_error
from .guard import COOKIE, page_user, safe_next
from .layout import storage_banner


def _cross_site(request: Request) -> bool:
    # Browsers mark navigations started by other sites; refusing those stops another site from
    # logging a visitor out or into an account of its choosing (login CSRF).
    return request.headers.get("sec-fetch-site") == "cross-site"


def _client_ip(request: Request) -> str:
    # uvicorn's proxy_headers (trusted proxies only) already rewrites this from X-Forwarded-For.
    return request.client.host if request.client else "unknown"


def register(runtime) -> None:
    settings = runtime.settings

    @ui.page("/login", title="Sign in · Central Logger")
    async def login_page(request: Request, next: str = "/"):  # noqa: A002 - the query parameter's name
        target = safe_next(next)
        try:
            if await page_user(request, runtime) is not None:
                return RedirectResponse(target, status_code=303)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            storage_banner()
        ip = _client_ip(request)

        with ui.card().classes("absolute-center w-80 gap-3"):
            ui.label("Central Logger").classes("text-xl font-bold")
            username = ui.input("Username").props("autofocus autocomplete=username").classes("w-full") \
                .mark("username")
            password = ui.input("Password", password=True).props("autocomplete=current-password") \
                .classes("w-full").mark("password")
            error = ui.label("").classes("text-negative text-sm").mark("login-error")
            error.visible = False
            button = ui.button("Sign in").classes("w-full").mark("login")

        async def submit() -> None:
            button.disable()
            try:
                ticket = await sessions.login(runtime.db, username.value or "", password.value or "", ip,
                                              offload=run.io_bound)
            except Exception as exc:
                if not is_storage_error(exc):
                    raise
                error.text, error.visible = "Storage unavailable — please try again shortly.", True
                return
            finally:
                button.enable()
            if ticket is None:
                password.value = ""
                error.text, error.visible = sessions.LOGIN_FAILED, True
                return
            ui.navigate.to(f"/auth/complete?ticket={quote(ticket)}&next={quote(target, safe='')}")

        button.on_click(submit)
        password.on("keydown.enter", submit)

    @ui_app.get("/auth/complete", include_in_schema=False)
    async def complete(request: Request, ticket: str = "", next: str = "/"):  # noqa: A002
        if _cross_site(request):
            return RedirectResponse("/login", status_code=303)
        token = await sessions.redeem_ticket(runtime.db, ticket)
        if token is None:
            return RedirectResponse("/login", status_code=303)
        # Whatever session this browser had before (maybe another account) ends with the switch.
        await sessions.end_session(runtime.db, request.cookies.get(COOKIE))
        response = RedirectResponse(safe_next(next), status_code=303)
        # No max_age: a browser-session cookie; the server enforces the 12 h / 7 d limits anyway.
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    @ui_app.get("/logout", include_in_schema=False)
    async def logout(request: Request):
        if _cross_site(request):
            return RedirectResponse("/", status_code=303)
        await sessions.end_session(runtime.db, request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure)
        return response
