"""Fixtures, data and sign-in helpers for the overview / logs / detail page tests.

`user` here wraps NiceGUI's simulation (after app_env points main.py at the test database) and
`db` comes from tests/pages_fixtures.py; request `user` before `db` so the app migrates first."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation
from sqlalchemy import insert

from logger_app.db.engine import Database
from logger_app.db.models import WorkflowLog
from logger_app.services import clients, users
from logger_app.services.errors import Conflict
from logger_app.services.validation import normalise_log
from tests.pages_fixtures import ADMIN_PASSWORD, sign_in, wait_for_navigation

CLIENT_PASSWORD = "client-password"


@pytest.fixture
async def user(app_env, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> AsyncIterator[User]:
    # NiceGUI's reset pops every page module *and its parents* from sys.modules (to re-import
    # pages), leaving a fresh `logger_app` without its `db` attribute while `logger_app.db.types`
    # stays cached: the next test's migration (`import logger_app.db.types`) then fails with
    # AttributeError. Putting the modules back is safe: pages register inside register().
    saved = {k: m for k, m in sys.modules.items() if k == "logger_app" or k.startswith("logger_app.")}
    try:
        async with user_simulation(main_file=get_path_to_main_file(request)) as u:
            await _started()
            yield u
            errors = [r for r in caplog.get_records("call") if r.levelname == "ERROR"]
            if errors:
                pytest.fail("There were unexpected ERROR logs.", pytrace=False)
    finally:
        for name, module in saved.items():
            sys.modules.setdefault(name, module)
NOW = datetime.now(timezone.utc).replace(microsecond=0)


async def login(user: User, name: str = "admin", password: str = ADMIN_PASSWORD, next_page: str = "/logs") -> None:
    """Drive the real /login page, then wait for the cookie exchange to land."""
    await sign_in(user, name, password, path=f"/login?next={next_page}")
    await wait_for_navigation(user, "/auth/complete")
    assert user.http_client.cookies.get("cl_session"), "login did not set the session cookie"


async def ensure_client(db: Database, client_id: str) -> None:
    try:
        await clients.create_client(db, client_id)
    except Conflict:
        pass


async def client_user(db: Database, username: str, client_id: str) -> None:
    await ensure_client(db, client_id)
    await users.create_user(db, username, CLIENT_PASSWORD, "client", client_id)


async def _started() -> None:
    """NiceGUI runs async startup handlers as background tasks, so migrations and the admin user
    may not exist yet when a test starts inserting; Runtime.start is idempotent and locked, so
    awaiting it again waits for the first run to finish."""
    from nicegui import core

    from logger_app.services.runtime import Runtime

    for handler in list(core.app._startup_handlers):  # noqa: SLF001 - no public accessor
        runtime = getattr(handler, "__self__", None)
        if isinstance(runtime, Runtime):
            await runtime.start()


def make_log(ticket: str, *, status: str = "SUCCESS", category: str | None = "billing", minutes_ago: float = 0,
             environment: str = "production", confidence: float = 0.9, iterations: int = 2,
             seconds: float = 1.5, payload: Any = None) -> dict:
    return {
        "ticket_id": ticket, "status": status, "category": category, "environment": environment,
        "executed_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(), "execution_time_seconds": seconds,
        "metrics": {"confidence": confidence, "iterations": iterations}, "payload": payload,
    }


async def add_logs(db: Database, client_id: str, logs: list[dict], raw: bool = False) -> list[int]:
    """Insert logs as ingest would (normalise_log); raw=True skips validation for odd shapes."""
    await ensure_client(db, client_id)
    rows = []
    for item in logs:
        if raw:
            row = normalise_log({**item, "payload": None, "metrics": None}, client_id, NOW)
            row.update(payload=item.get("payload"), metrics=item.get("metrics"))
        else:
            row = normalise_log(item, client_id, NOW)
        rows.append(row)
    ids = []
    async with db.writer.begin() as conn:
        for start in range(0, len(rows), 500):
            result = await conn.execute(insert(WorkflowLog).returning(WorkflowLog.id), rows[start:start + 500])
            ids += [i for (i,) in result.all()]
    return ids


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
