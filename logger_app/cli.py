"""`logger-app` command line: serve, migrate, clients, keys, users, demo data."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable

from .config import get_settings
from .db.engine import Database, create_database
from .db.migrate import upgrade
from .services.access import accounts, clients, keys, users
from .services.errors import ServiceError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="logger-app", description="Central Logger")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API and dashboard")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1,
                       help="processes sharing the API port (PostgreSQL only); one of them serves the dashboard on --ui-port")
    serve.add_argument("--ui-port", type=int, help="with --workers N > 1: the dashboard's port (default: --port + 1)")
    serve.add_argument("--api-only", action="store_true", help="serve /api, /v1, health, /metrics and /docs without the dashboard")
    serve.add_argument("--listen-fds", help=argparse.SUPPRESS)  # sockets inherited from the --workers supervisor
    sub.add_parser("migrate", help="apply database migrations")
    backup = sub.add_parser("backup", help="copy the SQLite database to PATH while the server runs")
    backup.add_argument("path")

    client = sub.add_parser("client", help="manage clients").add_subparsers(dest="action", required=True)
    cc = client.add_parser("create")
    cc.add_argument("id")
    cc.add_argument("--name")
    client.add_parser("list")
    cd = client.add_parser("disable", help="refuse its keys and end its users' sessions")
    cd.add_argument("id")
    ce = client.add_parser("enable")
    ce.add_argument("id")
    cr = client.add_parser("rename", help="change the display name")
    cr.add_argument("id")
    cr.add_argument("name")

    key = sub.add_parser("key", help="manage API keys").add_subparsers(dest="action", required=True)
    kc = key.add_parser("create")
    kc.add_argument("client_id", nargs="?")
    kc.add_argument("--admin", action="store_true", help="a provider key that reads every client")
    kc.add_argument("--label", default="")
    kc.add_argument("--json", action="store_true")
    kr = key.add_parser("revoke")
    kr.add_argument("prefix")
    key.add_parser("list")

    user = sub.add_parser("user", help="manage dashboard users").add_subparsers(dest="action", required=True)
    uc = user.add_parser("create")
    uc.add_argument("name")
    uc.add_argument("--role", choices=users.ROLES, required=True)
    uc.add_argument("--client")
    uc.add_argument("--password-stdin", action="store_true")
    user.add_parser("list")
    ud = user.add_parser("disable", help="refuse sign-in and end the user's sessions")
    ud.add_argument("name")
    ue = user.add_parser("enable")
    ue.add_argument("name")
    up = user.add_parser("set-password")
    up.add_argument("name")
    up.add_argument("--password-stdin", action="store_true")

    prune = sub.add_parser("prune", help="delete logs older than the retention period")
    prune.add_argument("--days", type=int, help="default: LOGGER_RETENTION_DAYS")

    search = sub.add_parser("search", help="search index upkeep").add_subparsers(dest="action", required=True)
    sb = search.add_parser("backfill", help="derive the search text and trace columns of logs stored before them")
    sb.add_argument("--batch", type=int, default=500, help="logs per transaction (default 500)")
    rollups = sub.add_parser("rollups", help="the dashboards' hourly rollups").add_subparsers(dest="action", required=True)
    rr = rollups.add_parser("rebuild", help="recompute the rollups from the logs (ingest into them waits meanwhile)")
    rr.add_argument("--client", help="only this client (default: every client)")

    demo = sub.add_parser("demo", help="load realistic demo logs for three clients")
    demo.add_argument("--logs", type=int, default=600)
    demo.add_argument("--days", type=int, default=7)
    return p


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        # getpass without a terminal dies in termios; say what to do instead.
        raise ServiceError("no terminal to ask for the password on: pipe it in with --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise ServiceError("passwords do not match")
    return first


def _fmt(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def _row(*cells: str) -> None:
    print("\t".join(cells))  # tab-separated: `cut -f` and spreadsheets read it


def _state(disabled: bool) -> str:
    return "disabled" if disabled else "active"


async def _run(args: argparse.Namespace, db: Database) -> None:
    cmd, action = args.command, getattr(args, "action", None)
    if cmd == "client" and action == "create":
        c = await clients.create_client(db, args.id, args.name)
        print(f"created client {c.id}")
    elif cmd == "client" and action == "list":
        for c in await clients.list_clients(db):
            _row(c.id, c.name, _state(c.disabled), _fmt(c.created_at))
    elif cmd == "client" and action == "rename":
        await clients.rename_client(db, args.id, args.name)
        print(f"renamed client {args.id}")
    elif cmd == "client" and action in ("disable", "enable"):
        await accounts.set_client_disabled(db, args.id, action == "disable")
        print(f"{action}d client {args.id}")
    elif cmd == "key" and action == "create":
        if args.admin == bool(args.client_id):
            raise ServiceError("give either CLIENT_ID or --admin")
        created = await keys.create_key(db, None if args.admin else args.client_id, args.label)
        if args.json:
            print(json.dumps({"client_id": created.client_id, "key": created.key, "prefix": created.prefix}))
        else:
            print(created.key)
            print(f"(prefix {created.prefix}; this key is shown only once)", file=sys.stderr)
    elif cmd == "key" and action == "revoke":
        n = await keys.revoke_key(db, args.prefix)
        print(f"revoked {n} key(s) with prefix {args.prefix}")
    elif cmd == "key" and action == "list":
        for k in await keys.list_keys(db):
            _row(k.prefix, k.client_id or "(admin)", "revoked" if k.revoked_at else "active", k.label,
                 f"last used {_fmt(k.last_used_at)}")
    elif cmd == "user" and action == "create":
        if args.role == "client" and not args.client:
            raise ServiceError("a client user needs a client: give --client CLIENT_ID")
        users.check_new_user(args.name, args.role, args.client)  # before asking for a password
        u = await users.create_user(db, args.name, _read_password(args.password_stdin), args.role, args.client)
        print(f"created {u.role} user {u.username}")
    elif cmd == "user" and action == "list":
        for u in await users.list_users(db):
            _row(u.username, u.role, u.client_id or "-", _state(u.disabled))
    elif cmd == "user" and action in ("disable", "enable"):
        await accounts.set_user_disabled(db, args.name, action == "disable")
        print(f"{action}d user {args.name}")
    elif cmd == "user" and action == "set-password":
        await accounts.reset_password(db, args.name, _read_password(args.password_stdin))
        print(f"password changed for {args.name}")
    elif cmd == "prune":
        from .services.retention import prune

        days = args.days if args.days is not None else get_settings().retention_days
        if not days or days < 1:
            raise ServiceError("give --days N or set LOGGER_RETENTION_DAYS")
        print(f"deleted {await prune(db, days)} logs older than {days} days")
    elif cmd == "search" and action == "backfill":
        from .services.ingest.backfill import backfill

        n = await backfill(db, max(1, args.batch), lambda done: print(f"… {done} logs", file=sys.stderr))
        print(f"derived the search columns of {n} logs")
    elif cmd == "rollups" and action == "rebuild":
        from .services.ingest.rollup_delta import rebuild

        rows = await rebuild(db, args.client)
        print(f"rebuilt rollups for {args.client or 'every client'}: {rows} rollup rows")
    elif cmd == "demo":
        from .demo import load_demo

        n = await load_demo(db, args.logs, args.days)
        print(f"loaded {n} demo logs for clients acme, globex, initech")


async def _with_db(work: Callable[[Database], Awaitable[None]]) -> None:
    settings = get_settings()
    await upgrade(settings.database_url)
    db = create_database(settings.database_url, settings.db_timeout_seconds)
    try:
        await work(db)
    finally:
        await db.dispose()


def _serve(args: argparse.Namespace) -> int:
    import os

    if args.host:
        os.environ["LOGGER_HOST"] = args.host
    if args.port:
        os.environ["LOGGER_PORT"] = str(args.port)
    settings = get_settings()
    if args.workers != 1:
        from .supervisor import supervise

        return supervise(settings, args.workers, args.ui_port)
    from .edge.api_port import ApiPortGuard
    from .server import serve

    sockets = None
    if args.listen_fds:  # a worker of the supervisor: the first socket is the shared API port
        import socket

        sockets = [socket.socket(fileno=int(fd)) for fd in args.listen_fds.split(",")]
    if args.api_only:
        from .app import create_api

        app = create_api(settings)
        app.add_middleware(ApiPortGuard, api_port=None, ui_port=args.ui_port)
    else:
        from .app import build

        app = build(settings)
        if sockets:
            app.add_middleware(ApiPortGuard, api_port=sockets[0].getsockname()[1], ui_port=args.ui_port)
    serve(app, settings, sockets=sockets)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "backup":
            from .db.backup import backup

            print(f"backed up {backup(get_settings().database_url, args.path)} to {args.path}")  # noqa: E501
        elif args.command == "migrate":
            asyncio.run(upgrade(get_settings().database_url))
            print("database is up to date")
        else:
            asyncio.run(_with_db(lambda db: _run(args, db)))
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)  # one line; the message states the rule
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"error: cannot reach the database ({type(exc).__name__})", file=sys.stderr)
        return 1
    return 0
