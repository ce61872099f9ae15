"""Dashboard test helpers (with the `user` and `db` fixtures of tests/pages/conftest.py): signing in
through the real /login page, waiting for navigations and handlers, reading tables and cookies."""

from __future__ import annotations

import asyncio

from nicegui.testing.user import User

from logger_app.db.engine import Database
from logger_app.services.access import users
from tests.support.data import ensure_client

ADMIN_PASSWORD = "admin-password"  # what tests/conftest.py's settings give LOGGER_ADMIN_PASSWORD
CLIENT_PASSWORD = "client-password"


async def sign_in(user: User, username: str = "admin", password: str = ADMIN_PASSWORD, path: str = "/login") -> None:
    await user.open(path)
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login").click()


async def wait_for_navigation(user: User, path_prefix: str, tries: int = 200) -> None:
    """ui.navigate.to runs as a background task in the simulation; wait until it has landed."""
    for _ in range(tries):
        if user.back_history and user.back_history[-1].startswith(path_prefix):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never navigated to {path_prefix}; history {user.back_history}")


async def login(user: User, name: str = "admin", password: str = ADMIN_PASSWORD, next_page: str = "/logs") -> None:
    """Drive the real /login page, then wait for the cookie exchange to land."""
    await sign_in(user, name, password, path=f"/login?next={next_page}")
    await wait_for_navigation(user, "/auth/complete")
    assert user.http_client.cookies.get("cl_session"), "login did not set the session cookie"


def session_cookie(user: User) -> str | None:
    return user.http_client.cookies.get("cl_session")


async def browser_cookie(user: User) -> str:
    """This simulated browser's binding cookie (set by the first page it opens)."""
    if not user.http_client.cookies.get("cl_browser"):
        await user.http_client.get("/login")
    return user.http_client.cookies["cl_browser"]


async def client_user(db: Database, username: str, client_id: str) -> None:
    await ensure_client(db, client_id)
    await users.create_user(db, username, CLIENT_PASSWORD, "client", client_id)


def table_rows(user: User, marker: str = "logs-table") -> list[dict]:
    from nicegui import ui

    return user.find(kind=ui.table, marker=marker).elements.pop().rows


async def eventually(check, timeout: float = 3.0, step: float = 0.05):
    """Handlers run as background tasks in the simulation: poll until `check()` is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)
