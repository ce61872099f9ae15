"""Benchmark: the ticket list's orders, totals and previous/next at scale (issue #13).

Loads N logs like bench/read.py (default 1,000,000 over 20 clients and 30 days) and rebuilds the
rollups, then times, for one client (the biggest) and for all clients (an admin):

  list <sort>        the first page (50 rows, triage columns) in each order (services/read/sorting.py)
  list <sort> p2     the page after it, from its cursor
  count              the total: from the rollups (no filter / status), bounded raw (category, triage)
  neighbours <sort>  previous/next of the first page's 25th row (services/read/neighbours.py)

    .venv/bin/python bench/sorted_list.py --db postgresql [--n 1000000] [--reps 20] [--reuse]
    .venv/bin/python bench/sorted_list.py --db sqlite --n 1000000 [--path /tmp/cl-sorted.db] [--reuse]
    .venv/bin/python bench/sorted_list.py --db sqlite --n 2000 --reps 3   # a smoke run in seconds

The non-time orders have no index leading with their key: a page is a sort of the filtered rows,
so expect it to grow with the scope (docs/SEARCH.md "Sorting" has the figures once measured).
Databases: `cl_bench_sorted` (PostgreSQL, dropped and created), $TMPDIR/cl-bench-sorted.db (SQLite)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_pg_database  # noqa: E402
from read import fill_rollups, load_postgres, load_sqlite, timed  # noqa: E402

from logger_app.db.engine import create_database  # noqa: E402
from logger_app.db.migrate import upgrade  # noqa: E402
from logger_app.services.access.principal import Principal  # noqa: E402
from logger_app.services.public_ids import PublicIds  # noqa: E402
from logger_app.services.read import queries  # noqa: E402
from logger_app.services.read.neighbours import neighbours  # noqa: E402
from logger_app.services.read.scope import LogFilters  # noqa: E402
from logger_app.services.read.sorting import parse_sort  # noqa: E402

SORTS = ("-executed_at", "-execution_time", "confidence", "-iterations")


async def run(url: str, reps: int) -> None:
    from sqlalchemy import func, select

    from logger_app.db.models import WorkflowLog

    db = create_database(url, 60.0)
    ids = PublicIds.from_secret("bench")
    try:
        async with db.read() as s:
            big = (await s.execute(select(WorkflowLog.client_id).group_by(WorkflowLog.client_id)
                                   .order_by(func.count().desc()).limit(1))).scalar_one()
        print("\n| case | p50 ms | p95 ms | max ms | reps |\n|---|---|---|---|---|")

        def row(label: str, stats) -> None:
            p50, p95, mx, k = stats
            print(f"| {label:<44} | {p50:8.1f} | {p95:8.1f} | {mx:8.1f} | {k} |", flush=True)

        for who, principal in (("one client", Principal.for_client(big)), ("all clients", Principal.admin())):
            for name in SORTS:
                sort = parse_sort(name)
                first = await queries.list_logs(db, ids, principal, LogFilters(), 50, None, sort, triage=True)
                row(f"list {name}, {who}", await timed(lambda p=principal, s=sort: queries.list_logs(
                    db, ids, p, LogFilters(), 50, None, s, triage=True), reps))
                if first["next_cursor"]:
                    row(f"list {name} p2, {who}", await timed(lambda p=principal, s=sort, c=first["next_cursor"]: queries.list_logs(
                        db, ids, p, LogFilters(), 50, c, s, triage=True), reps))
                if len(first["items"]) > 25:
                    target = first["items"][25]["id"]
                    row(f"neighbours {name}, {who}", await timed(lambda p=principal, s=sort, t=target: neighbours(
                        db, ids, p, LogFilters(), s, t), reps))
            for label, filters in (("count (rollups)", LogFilters()), ("count status=ERROR (rollups)", LogFilters(status="ERROR")),
                                   ("count category (bounded raw)", LogFilters(category="billing")),
                                   ("count confidence_min=0.5 (bounded raw)", LogFilters(confidence_min=0.5))):
                row(f"{label}, {who}", await timed(lambda p=principal, f=filters: queries.count_logs(db, p, f), reps))
    finally:
        await db.dispose()


async def main_async(args) -> None:
    now = datetime.now(timezone.utc)
    if args.db == "postgresql":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_name}"
        if not args.reuse:
            url = fresh_pg_database(args.pg_name)
            await upgrade(url)
            print(f"loading {args.n:,} logs into PostgreSQL ({args.pg_name}) with COPY")
            await load_postgres(url, args.n, now)
            await fill_rollups(url)
    else:
        path = args.path or os.path.join(tempfile.gettempdir(), "cl-bench-sorted.db")
        url = f"sqlite+aiosqlite:///{path}"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            await upgrade(url)
            print(f"loading {args.n:,} logs into SQLite ({path})")
            await asyncio.to_thread(load_sqlite, path, args.n, now)
            await fill_rollups(url)
    await upgrade(url)
    print(f"timings, up to {args.reps} repetitions each (load avg {os.getloadavg()[0]:.1f}):")
    await run(url, args.reps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--reuse", action="store_true", help="time an already loaded database")
    p.add_argument("--pg-name", default="cl_bench_sorted")
    p.add_argument("--path", help="SQLite file (default: $TMPDIR/cl-bench-sorted.db)")
    args = p.parse_args()
    assert args.pg_name.startswith("cl_bench"), "only dedicated cl_bench* databases"
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
