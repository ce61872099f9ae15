"""Fixtures for dashboard tests: the NiceGUI `user` with our database, and sign-in helpers.

Import with `from tests.pages_fixtures import *  # noqa: F401,F403` in a test module."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
from nicegui import ui
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from logger_app.db.engine import Database, create_database

ADMIN_PASSWORD = "admin-password"  # what conftest's settings give LOGGER_ADMIN_PASSWORD


@pytest.fixture
async def user(app_env, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> AsyncIterator[User]:
    """The plugin's `user`, but only after app_env has pointed main.py at the test database.

    NiceGUI runs on_startup handlers as background tasks, so the app's own migration may not have
    finished when the first page is opened; migrating (and creating `admin`) here first avoids that."""
    from logger_app.db.migrate import upgrade
    from logger_app.services.access.users import ensure_admin

    await upgrade(app_env.database_url)
    database = create_database(app_env.database_url, app_env.db_timeout_seconds)
    try:
        await ensure_admin(database, app_env.admin_password)
    finally:
        await database.dispose()
    ours: dict = {}
    try:
        async with user_simulation(main_file=get_path_to_main_file(request)) as u:
            # What a browser sends on navigations within the dashboard (/auth/complete needs it).
            u.http_client.headers["Sec-Fetch-Site"] = "same-origin"
            await _started()
            yield u
            ours = {k: v for k, v in sys.modules.items() if k == "logger_app" or k.startswith("logger_app.")}
            errors = [r for r in caplog.get_records("call") if r.levelname == "ERROR"]
            if errors:
                pytest.fail("There were unexpected ERROR logs.", pytrace=False)
    finally:
        # On exit NiceGUI drops page modules *and their parent packages* from sys.modules. A later
        # `import logger_app.db.types` (the migration) then binds a fresh `logger_app` without its
        # `db` attribute. Our pages register inside build(), so putting the modules back is safe.
        for name, module in ours.items():
            sys.modules.setdefault(name, module)


async def _started() -> None:
    """NiceGUI runs async startup handlers as background tasks; Runtime.start is idempotent and
    locked, so awaiting it again waits for the first run (housekeeping tasks included)."""
    from nicegui import core

    from logger_app.runtime import Runtime

    for handler in list(core.app._startup_handlers):  # noqa: SLF001 - no public accessor
        runtime = getattr(handler, "__self__", None)
        if isinstance(runtime, Runtime):
            await runtime.start()


@pytest.fixture
async def db(app_env) -> AsyncIterator[Database]:
    """A second connection to the app's database, for setting up and inspecting state."""
    database = create_database(app_env.database_url, app_env.db_timeout_seconds)
    yield database
    await database.dispose()


async def sign_in(user: User, username: str = "admin", password: str = ADMIN_PASSWORD, path: str = "/login") -> None:
    await user.open(path)
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login").click()


async def wait_for_navigation(user: User, path_prefix: str, tries: int = 200) -> None:
    """ui.navigate.to runs as a background task in the simulation; wait until it has landed."""
    import asyncio

    for _ in range(tries):
        if user.back_history and user.back_history[-1].startswith(path_prefix):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never navigated to {path_prefix}; history {user.back_history}")


def session_cookie(user: User) -> str | None:
    return user.http_client.cookies.get("cl_session")


async def browser_cookie(user: User) -> str:
    """This simulated browser's binding cookie (set by the first page it opens)."""
    if not user.http_client.cookies.get("cl_browser"):
        await user.http_client.get("/login")
    return user.http_client.cookies["cl_browser"]


__all__ = ["user", "db", "sign_in", "wait_for_navigation", "session_cookie", "browser_cookie", "ADMIN_PASSWORD", "ui"]
