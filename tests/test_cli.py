"""The `logger-app` command line (SQLite and PostgreSQL): in-process through the `cli` fixture,
and as a real subprocess where the process itself is what is tested (exit code, one stderr line)."""

from __future__ import annotations

import json


def test_client_and_key_lifecycle(cli):
    assert cli("client", "create", "acme", "--name", "ACME Corp").returncode == 0
    listed = cli("client", "list").stdout
    assert "acme" in listed and "ACME Corp" in listed
    assert cli("client", "rename", "acme", "ACME Support EU").returncode == 0
    assert "ACME Support EU" in cli("client", "list").stdout
    assert cli("client", "rename", "ghost", "Nobody").returncode == 1
    made = cli("key", "create", "acme", "--label", "prod", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["client_id"] == "acme" and key["key"].startswith("lk_") and key["key"].startswith(key["prefix"])
    keys = cli("key", "list").stdout
    assert key["prefix"] in keys and "active" in keys and key["key"] not in keys  # the key is shown once only
    assert cli("key", "revoke", key["prefix"]).returncode == 0
    assert "revoked" in cli("key", "list").stdout


def test_admin_key_and_plain_output(cli):
    made = cli("key", "create", "--admin", "--json")
    assert made.returncode == 0 and json.loads(made.stdout)["client_id"] is None
    plain = cli("key", "create", "--admin")
    assert plain.stdout.strip().startswith("lk_") and "shown only once" in plain.stderr


def test_errors_exit_nonzero_with_one_line(cli):
    for args in (("client", "create", "Bad Id!"), ("key", "create", "nobody"), ("key", "revoke", "lk_missing"),
                 ("key", "create")):
        result = cli(*args)
        assert result.returncode != 0, args
        assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    cli("client", "create", "dup")
    assert cli("client", "create", "dup").returncode == 1


def test_demo_loads_three_clients_with_errors(cli, app_env):
    result = cli("demo", "--logs", "300")
    assert result.returncode == 0, result.stderr
    assert {"acme", "globex", "initech"} <= set(cli("client", "list").stdout.split())
    import asyncio

    from logger_app.db.engine import create_database
    from logger_app.services.access.principal import Principal
    from logger_app.services.read.metrics import overview
    from logger_app.services.read.scope import LogFilters

    async def stats(raw: bool = False):
        db = create_database(app_env.database_url)
        try:
            return await overview(db, Principal.admin(), LogFilters(), raw=raw)
        finally:
            await db.dispose()

    o = asyncio.run(stats())  # from the rollups, which the demo loader fills too
    assert o["total"] == 300
    assert 0.02 < o["errors"] / o["total"] < 0.16  # ~8% errors
    assert len(o["by_category"]) >= 5
    raw = asyncio.run(stats(raw=True))
    assert (o["total"], o["errors"], o["by_category"]) == (raw["total"], raw["errors"], raw["by_category"])

    # A rebuild recomputes the same rollups (for one client, then for all).
    for args in (("--client", "acme"), ()):
        result = cli("rollups", "rebuild", *args)
        assert result.returncode == 0, result.stderr
        assert "rebuilt rollups for " + ("acme" if args else "every client") in result.stdout
        assert asyncio.run(stats())["by_category"] == o["by_category"]


def test_migrate(cli):
    result = cli("migrate")
    assert result.returncode == 0 and "up to date" in result.stdout


def test_the_real_process_exits_nonzero_with_one_line_and_no_traceback(cli_process):
    ok = cli_process("client", "create", "acme")
    assert ok.returncode == 0, ok.stderr
    assert "acme" in cli_process("client", "list").stdout
    for args in (("client", "create", "acme"), ("key", "revoke", "lk_missing")):
        result = cli_process(*args)
        assert result.returncode == 1, args
        assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    usage = cli_process("no-such-command")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
