"""Benchmark: search (`q`) and the triage filters at scale, and the search index's size per log.

Loads N demo logs like bench/read.py (default 1,000,000 over 20 clients and 30 days; the loaders
write the derived columns, so the FTS5 triggers / the GIN index are maintained during the load, as
ingest maintains them), then times list_logs first pages with p50/p95, one client and all clients:

  word         a word in ~1/6 of the logs ("login", a category and payload word)
  rare word    a customer id in the payloads of ~1 in 2,000 templates ("C1234"-like)
  ticket prefix  a ticket-id prefix matching ~10 logs of the biggest client
  2 characters a query below the trigram size (a scan of the scope)
  tool filter  tool=get_order (LIKE over the tools column)

    .venv/bin/python bench/search.py --db postgresql [--n 1000000] [--reps 30] [--reuse] [--tsvector]
    .venv/bin/python bench/search.py --db sqlite --n 1000000 [--path /tmp/cl-search.db] [--reuse]

--tsvector (PostgreSQL): also builds a GIN index on to_tsvector('simple', search_text) and reports
its size and the same word queries with @@ plainto_tsquery, the alternative docs/SEARCH.md weighs.
Databases: `cl_bench_search` (PostgreSQL, dropped and created), $TMPDIR/cl-bench-search.db (SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_pg_database  # noqa: E402
from read import load_postgres, load_sqlite, timed  # noqa: E402

from logger_app.db.engine import create_database  # noqa: E402
from logger_app.db.migrate import upgrade  # noqa: E402
from logger_app.services.access.principal import Principal  # noqa: E402
from logger_app.services.public_ids import PublicIds  # noqa: E402
from logger_app.services.read import queries  # noqa: E402
from logger_app.services.read.scope import LogFilters  # noqa: E402


async def index_size(db, n: int) -> list[str]:
    """Bytes per log of the search text and of its index."""
    from sqlalchemy import text

    from logger_app.db.dialect import Dialect

    async with db.read() as s:
        if db.dialect is Dialect.POSTGRESQL:
            index = (await s.execute(text("SELECT pg_relation_size('log_search_trgm')"))).scalar_one()
            column = (await s.execute(text("SELECT avg(pg_column_size(search_text)) FROM workflow_logs"))).scalar_one()
        else:
            index = (await s.execute(text("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'log_search%'"))).scalar_one()
            column = (await s.execute(text("SELECT avg(length(CAST(search_text AS BLOB))) FROM workflow_logs"))).scalar_one()
    return [f"search index: {index / 2**20:,.1f} MiB, {index / max(n, 1):,.0f} bytes per log",
            f"search_text column: {float(column or 0):,.0f} bytes per log (average)"]


async def tsvector_compare(url: str, n: int, reps: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        t0 = time.perf_counter()
        await conn.execute("CREATE INDEX IF NOT EXISTS bench_tsv ON workflow_logs USING gin (to_tsvector('simple', search_text))")
        size = await conn.fetchval("SELECT pg_relation_size('bench_tsv')")
        print(f"\ntsvector index ('simple'): built in {time.perf_counter() - t0:.0f} s, {size / 2**20:,.1f} MiB, "
              f"{size / max(n, 1):,.0f} bytes per log")
        sql = ("SELECT id FROM workflow_logs WHERE to_tsvector('simple', search_text) @@ plainto_tsquery('simple', $1) "
               "{scope} ORDER BY executed_at DESC, id DESC LIMIT 51")
        big = await conn.fetchval("SELECT client_id FROM workflow_logs GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        for label, word in (("word", "login"), ("rare word", await rare_word(conn))):
            for who, scope, args in (("one client", "AND client_id = $2", (word, big)), ("all clients", "", (word,))):
                p50, p95, mx, k = await timed(lambda scope=scope, args=args: conn.fetch(sql.format(scope=scope), *args), reps)
                print(f"| tsvector {label}, {who:<11} | {p50:8.1f} | {p95:8.1f} | {mx:8.1f} | {k} |")
        await conn.execute("DROP INDEX bench_tsv")
    finally:
        await conn.close()


async def rare_word(conn) -> str:
    # A customer id from one template's payload: demo_log writes "customer_id": "C1234".
    return await conn.fetchval("SELECT substring(search_text from 'C[0-9]{4}') FROM workflow_logs "
                               "WHERE search_text ~ 'C[0-9]{4}' LIMIT 1") or "C1000"


async def run(url: str, n: int, reps: int) -> None:
    from sqlalchemy import func, select

    from logger_app.db.models import WorkflowLog

    db = create_database(url, 30.0)
    try:
        async with db.read() as s:
            big = (await s.execute(select(WorkflowLog.client_id).group_by(WorkflowLog.client_id)
                                   .order_by(func.count().desc()).limit(1))).scalar_one()
            sample = (await s.execute(select(WorkflowLog.search_text).where(WorkflowLog.search_text.like("%C1%")).limit(1))).scalar_one()
        found = re.search(r"C\d{4}", sample or "")
        rare = found.group(0) if found else "C1000"
        for line in await index_size(db, n):
            print("  " + line)
        print("\n| query | p50 ms | p95 ms | max ms | reps |\n|---|---|---|---|---|")
        ids = PublicIds.from_secret("bench")
        prefix = f"{big.upper()}-1234"  # bench/read.py tickets are CLIENTnn-<row number>
        cases = [("word 'login'", LogFilters(q="login")), (f"rare word {rare!r}", LogFilters(q=rare)),
                 (f"ticket prefix {prefix!r}", LogFilters(q=prefix)), ("2 characters 'zq'", LogFilters(q="zq")),
                 ("tool=get_order", LogFilters(tool="get_order")),
                 ("word 'login' + status=ERROR", LogFilters(q="login", status="ERROR"))]
        for who, principal in (("one client", Principal.for_client(big)), ("all clients", Principal.admin())):
            for label, filters in cases:
                p50, p95, mx, k = await timed(lambda f=filters, p=principal: queries.list_logs(db, ids, p, f), reps)
                print(f"| {label + ', ' + who:<46} | {p50:8.1f} | {p95:8.1f} | {mx:8.1f} | {k} |", flush=True)
    finally:
        await db.dispose()


async def main_async(args) -> None:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    if args.db == "postgresql":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_name}"
        if not args.reuse:
            url = fresh_pg_database(args.pg_name)
            await upgrade(url)
            print(f"loading {args.n:,} logs into PostgreSQL ({args.pg_name}) with COPY")
            await load_postgres(url, args.n, now)
        await upgrade(url)
    else:
        path = args.path or os.path.join(tempfile.gettempdir(), "cl-bench-search.db")
        url = f"sqlite+aiosqlite:///{path}"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            await upgrade(url)
            print(f"loading {args.n:,} logs into SQLite ({path}) with executemany (FTS5 triggers on)")
            await asyncio.to_thread(load_sqlite, path, args.n, now)
        await upgrade(url)
        print(f"  file size {os.path.getsize(path) / 2**30:.2f} GiB")
    print(f"timings, up to {args.reps} repetitions each (load avg {os.getloadavg()[0]:.1f}):")
    await run(url, args.n, args.reps)
    if args.tsvector and args.db == "postgresql":
        await tsvector_compare(url, args.n, args.reps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--reuse", action="store_true", help="time an already loaded database")
    p.add_argument("--tsvector", action="store_true", help="PostgreSQL: also measure a tsvector GIN index")
    p.add_argument("--pg-name", default="cl_bench_search")
    p.add_argument("--path", help="SQLite file (default: $TMPDIR/cl-bench-search.db)")
    args = p.parse_args()
    assert args.pg_name.startswith("cl_bench"), "only dedicated cl_bench* databases"
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
