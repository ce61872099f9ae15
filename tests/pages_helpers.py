"""Fixtures, data and sign-in helpers for the overview / logs / detail page tests.

`user` and `db` come from tests/pages_fixtures.py (re-exported here for the page test modules)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from nicegui.testing.user import User
from sqlalchemy import insert

from logger_app.db.engine import Database
from logger_app.db.models import WorkflowLog
from logger_app.services.access import clients, users
from logger_app.services.errors import Conflict
from logger_app.services.ingest.validation import normalise_log
from tests.conftest import public_id
from tests.pages_fixtures import ADMIN_PASSWORD, sign_in, user, wait_for_navigation  # noqa: F401 (user: fixture)

CLIENT_PASSWORD = "client-password"


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


def make_log(ticket: str, *, status: str = "SUCCESS", category: str | None = "billing", minutes_ago: float = 0,
             environment: str = "production", confidence: float = 0.9, iterations: int = 2,
             seconds: float = 1.5, payload: Any = None) -> dict:
    return {
        "ticket_id": ticket, "status": status, "category": category, "environment": environment,
        "executed_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(), "execution_time_seconds": seconds,
        "metrics": {"confidence": confidence, "iterations": iterations}, "payload": payload,
    }


async def add_logs(db: Database, client_id: str, logs: list[dict], raw: bool = False) -> list[str]:
    """Insert logs as ingest would (normalise_log); raw=True skips validation for odd shapes.

    Returns their public ids, which is what the pages and URLs use."""
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
            ids += [public_id(i) for (i,) in result.all()]
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
