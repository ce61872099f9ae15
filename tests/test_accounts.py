"""Every front door that resets a password or disables an account ends its sessions (the CLI too),
and enabling it again never revives them. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from logger_app.db.engine import create_database
from logger_app.db.migrate import upgrade_sync
from logger_app.services.access import clients, sessions, users

PW = "carol-password"


@pytest.fixture(autouse=True)
def _schema(app_env):
    upgrade_sync(app_env.database_url)


def _db_call(settings, work):
    async def run():
        db = create_database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _signed_in(settings, name: str, password: str = PW, client: str | None = "acme", create: bool = True) -> str:
    async def work(db):
        if create:
            if client:
                await clients.create_client(db, client)
            await users.create_user(db, name, password, "client" if client else "admin", client)
        ticket = await sessions.login(db, name, password, "10.9.9.9")
        return await sessions.redeem_ticket(db, ticket)

    return _db_call(settings, work)


def _resolves(settings, token: str) -> bool:
    return _db_call(settings, lambda db: sessions.resolve(db, token)) is not None


def test_cli_set_password_ends_existing_sessions(cli, app_env):
    token = _signed_in(app_env, "carol")
    assert _resolves(app_env, token)
    done = cli("user", "set-password", "carol", "--password-stdin", stdin="a-new-password\n")
    assert done.returncode == 0, done.stderr
    assert not _resolves(app_env, token)


def test_cli_user_disable_ends_sessions_and_enable_does_not_revive_them(cli, app_env):
    token = _signed_in(app_env, "carol")
    assert cli("user", "disable", "carol").returncode == 0
    assert not _resolves(app_env, token)
    enabled = cli("user", "enable", "carol")
    assert enabled.returncode == 0, enabled.stderr
    assert "enabled user carol" in enabled.stdout
    assert not _resolves(app_env, token)
    # The account itself works again: a fresh sign-in gets a live session.
    assert _resolves(app_env, _signed_in(app_env, "carol", create=False))


def test_cli_client_disable_ends_its_users_sessions_only(cli, app_env):
    carol = _signed_in(app_env, "carol", client="acme")
    dave = _signed_in(app_env, "dave", client="globex")
    assert cli("client", "disable", "acme").returncode == 0
    assert not _resolves(app_env, carol)
    assert _resolves(app_env, dave)
    enabled = cli("client", "enable", "acme")
    assert enabled.returncode == 0, enabled.stderr
    assert not _resolves(app_env, carol)
    assert "active" in next(line for line in cli("client", "list").stdout.splitlines() if line.startswith("acme"))


def test_cli_enable_unknown_names_fail_with_one_line(cli):
    for args in (("user", "enable", "ghost"), ("client", "enable", "ghost")):
        result = cli(*args)
        assert result.returncode == 1
        assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1
