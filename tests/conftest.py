"""Shared fixtures: every storage/API test runs on SQLite and, when LOGGER_TEST_POSTGRES_URL is set,
on PostgreSQL too (a fresh database per test session; tables emptied between tests)."""

from __future__ import annotations

import asyncio
import os
import sys
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
TABLES = ("workflow_logs", "log_locator", "log_rollups", "log_latency_rollups", "log_rollups_all", "log_latency_rollups_all",
          "api_keys", "sessions", "login_attempts", "users", "ingest_stats", "audit_log", "clients", "rate_buckets")


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
    """Run `logger-app ARGS` against the test database and return what a user sees: exit code,
    stdout, stderr (a subprocess.CompletedProcess).

    In this process, not a new one: `cli.main` in a thread of its own (it runs its own event loop,
    and async tests call this too) with sys.stdin/stdout/stderr swapped for the call. A subprocess
    costs ~1 s of interpreter start and imports, and the suite makes ~110 of these calls (2.5 min of
    CI). The real entry points stay covered: tests/test_cli.py runs `python -m logger_app` as a
    subprocess, tests/test_readme_quickstart.py the README's commands in bash. An exception the CLI
    does not turn into an exit code propagates (a subprocess would print a traceback: a failure)."""
    import contextlib
    import io
    import subprocess
    import threading

    from logger_app import cli as cli_module

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        out, err = io.StringIO(), io.StringIO()
        outcome: dict[str, object] = {}

        def call() -> None:
            try:
                outcome["code"] = cli_module.main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                outcome["code"] = exc.code if isinstance(exc.code, int) else 1
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                outcome["error"] = exc

        saved_stdin = sys.stdin
        sys.stdin = io.StringIO(stdin or "")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                worker = threading.Thread(target=call, name="cli")
                worker.start()
                worker.join(timeout=120)
        finally:
            sys.stdin = saved_stdin
        if worker.is_alive():
            raise TimeoutError(f"logger-app {' '.join(args)} did not finish in 120 s")
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return subprocess.CompletedProcess(["logger-app", *args], int(outcome["code"] or 0),  # type: ignore[call-overload]
                                           out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def cli_process(app_env):
    """Run `python -m logger_app ARGS` as a real subprocess: the console entry point itself."""
    import subprocess

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "logger_app", *args], cwd=REPO, env=dict(os.environ),
                              input=stdin, capture_output=True, text=True, timeout=120)

    return run
