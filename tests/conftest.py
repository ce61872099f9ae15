"""Shared fixtures: every storage/API test runs on SQLite and, when LOGGER_TEST_POSTGRES_URL is set,
on PostgreSQL too (a fresh database per test session; tables emptied between tests)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from logger_app.config import Settings
from tests.support.data import STORAGE_SECRET, ensure_client
from tests.support.postgres import admin_sql, sibling_url
from tests.support.server import REPO

PG_URL = os.environ.get("LOGGER_TEST_POSTGRES_URL")
TABLES = ("workflow_logs", "log_locator", "log_rollups", "log_latency_rollups", "api_keys", "sessions", "login_attempts", "users", "ingest_stats",
          "audit_log", "clients", "rate_buckets")


@pytest.fixture(scope="session")
def pg_database_url() -> str | None:
    """A throw-away database on the PostgreSQL server named by LOGGER_TEST_POSTGRES_URL.

    If the URL is set but the server is unreachable the run fails: CI must never skip silently."""
    if not PG_URL:
        yield None
        return
    name = f"cl_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(admin_sql(PG_URL, f'CREATE DATABASE "{name}"'))
    url = sibling_url(PG_URL, name)
    from logger_app.db.migrate import upgrade_sync

    upgrade_sync(url)
    yield url
    asyncio.run(admin_sql(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _backends() -> list:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(params=_backends())
def database_url(request, tmp_path, pg_database_url) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/logger.db"
    if pg_database_url is None:
        pytest.skip("PostgreSQL tests need LOGGER_TEST_POSTGRES_URL (CI sets it)")

    async def wipe() -> None:
        engine = create_async_engine(pg_database_url)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    asyncio.run(wipe())
    return pg_database_url


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "data"),
        storage_secret=STORAGE_SECRET,
        admin_password="admin-password",
        db_timeout_seconds=3,
        _env_file=None,
    )


@pytest.fixture
def app_env(settings, monkeypatch) -> Settings:
    """Environment for code that builds its own settings (main.py under NiceGUI's user fixture, the CLI)."""
    for name, value in {
        "LOGGER_DATABASE_URL": settings.database_url,
        "LOGGER_DATA_DIR": settings.data_dir,
        "LOGGER_STORAGE_SECRET": settings.storage_secret,
        "LOGGER_ADMIN_PASSWORD": settings.admin_password,
        "LOGGER_DB_TIMEOUT_SECONDS": str(settings.db_timeout_seconds),
    }.items():
        monkeypatch.setenv(name, value)
    return settings


@pytest.fixture
async def api(settings) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP requests through the ASGI app (API only), with its lifespan running."""
    from logger_app.app import create_api

    app = create_api(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def runtime(api):
    return api.app.state.runtime


@pytest.fixture
async def make_key(runtime):
    """make_key('acme') -> a fresh client key (creating the client if needed); make_key(None) -> admin key."""
    from logger_app.services.access import keys

    async def make(client_id: str | None) -> str:
        if client_id is not None:
            await ensure_client(runtime.db, client_id)
        return (await keys.create_key(runtime.db, client_id)).key

    return make


@pytest.fixture
def cli(app_env):
    """Run `python -m logger_app ...` as a real subprocess against the test database."""
    import subprocess
    import sys

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "logger_app", *args], cwd=REPO, env=dict(os.environ),
                              input=stdin, capture_output=True, text=True, timeout=120)

    return run

