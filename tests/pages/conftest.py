"""Fixtures for the dashboard tests in this folder: the NiceGUI `user` with our database, and `db`.

The plain helpers (sign-in, waiting, table rows) are in tests/support/pages.py, test data in
tests/support/data.py: import them by name."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from logger_app.db.engine import Database, create_database


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
