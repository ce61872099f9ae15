"""`logger-app user ...` against the test database (SQLite and PostgreSQL), through the `cli` fixture."""

from __future__ import annotations

import asyncio
import subprocess

from logger_app.db.engine import create_database
from logger_app.services.access import sessions


def _can_log_in(settings, name: str, password: str, ip: str = "10.1.1.1") -> bool:
    async def attempt() -> bool:
        db = create_database(settings.database_url)
        try:
            return await sessions.login(db, name, password, ip) is not None
        finally:
            await db.dispose()

    return asyncio.run(attempt())


def _one_line_error(result: subprocess.CompletedProcess) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr


def test_create_list_disable_and_set_password(cli, app_env):
    assert cli("client", "create", "acme").returncode == 0
    made = cli("user", "create", "carol", "--role", "client", "--client", "acme", "--password-stdin",
               stdin="carol-password\n")
    assert made.returncode == 0, made.stderr
    assert "carol" in made.stdout
    root = cli("user", "create", "root2", "--role", "admin", "--password-stdin", stdin="root-password\n")
    assert root.returncode == 0, root.stderr

    listing = cli("user", "list").stdout.splitlines()
    rows = {line.split("\t")[0]: line.split("\t") for line in listing}
    assert rows["carol"][1:] == ["client", "acme", "active"]
    assert rows["root2"][1:] == ["admin", "-", "active"]
    assert _can_log_in(app_env, "carol", "carol-password")

    changed = cli("user", "set-password", "carol", "--password-stdin", stdin="another-password\n")
    assert changed.returncode == 0, changed.stderr
    assert not _can_log_in(app_env, "carol", "carol-password", ip="10.1.1.2")
    assert _can_log_in(app_env, "carol", "another-password", ip="10.1.1.3")

    assert cli("user", "disable", "carol").returncode == 0
    assert "disabled" in next(line for line in cli("user", "list").stdout.splitlines() if line.startswith("carol"))
    assert not _can_log_in(app_env, "carol", "another-password", ip="10.1.1.4")


def test_errors_exit_nonzero_with_one_line(cli):
    _one_line_error(cli("user", "create", "x", "--role", "client", "--password-stdin", stdin="long-enough\n"))
    _one_line_error(cli("user", "create", "x", "--role", "client", "--client", "nope", "--password-stdin",
                        stdin="long-enough\n"))
    _one_line_error(cli("user", "create", "x", "--role", "admin", "--password-stdin", stdin="short\n"))
    assert cli("user", "create", "dup", "--role", "admin", "--password-stdin", stdin="long-enough\n").returncode == 0
    _one_line_error(cli("user", "create", "dup", "--role", "admin", "--password-stdin", stdin="long-enough\n"))
    _one_line_error(cli("user", "disable", "ghost"))
    _one_line_error(cli("user", "set-password", "ghost", "--password-stdin", stdin="long-enough\n"))
    _one_line_error(cli("user", "set-password", "dup", "--password-stdin", stdin="short\n"))
    # argparse rejects an unknown role itself (exit 2, usage on stderr)
    assert cli("user", "create", "y", "--role", "root", "--password-stdin", stdin="long-enough\n").returncode == 2


def test_errors_state_the_rule_and_arguments_are_checked_before_the_password_prompt(cli, app_env):
    """With no terminal (a script, CI) a missing argument is named before any password prompt."""
    no_client = cli("user", "create", "bob", "--role", "client", stdin="")
    _one_line_error(no_client)
    assert "--client" in no_client.stderr and "termios" not in no_client.stderr
    no_tty = cli("user", "create", "bob", "--role", "admin", stdin="")
    _one_line_error(no_tty)
    assert "--password-stdin" in no_tty.stderr
    short = cli("user", "create", "bob", "--role", "admin", "--password-stdin", stdin="short\n")
    _one_line_error(short)
    assert "at least 8 characters" in short.stderr
    bad_id = cli("client", "create", "ACME Corp")
    _one_line_error(bad_id)
    assert "lower-case letters, digits" in bad_id.stderr
