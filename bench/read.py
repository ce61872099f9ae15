"""Benchmark: read paths at scale, timed server-side by calling the service functions directly.

Loads N realistic logs (default 1,000,000 over 20 clients and 30 days; client sizes skewed, the
biggest about 3x the average) into a fresh database after running the migrations, then times with
p50/p95 over repetitions:

  list_logs    first page and deep pages (via a keyset cursor), one client and all clients
  get_log      random ids
  overview     one client 30 days, all clients 30 days
  page data    what the overview page loads (overview of the range and of the one before it,
               timeseries, distributions), one client and all clients, 30 days and 24 h: from the
               hourly rollups (docs/ROLLUPS.md); --raw adds the same from raw rows for comparison

    .venv/bin/python bench/read.py --db postgresql [--n 1000000] [--reps 30] [--keep] [--reuse] [--raw]
    .venv/bin/python bench/read.py --db sqlite --n 1000000 [--path /tmp/cl-read.db]
    .venv/bin/python bench/read.py --db sqlite --n 10000000   # ~26 GB file: free disk is checked first

PostgreSQL: a dedicated database `cl_bench_read` on 127.0.0.1:5432 (dropped and created), loaded
with COPY (asyncpg copy_records_to_table), then VACUUM ANALYZE as autovacuum would do after a
bulk load (index-only scans need the visibility map). SQLite: executemany, then ANALYZE. Either
way the rollups are then recomputed from the loaded logs with `rollups rebuild`'s statements (the
bulk load bypasses the writer), and that time is printed too.
--reuse skips the load when the database already holds N logs (the migration backfills rollups
into an older load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_pg_database  # noqa: E402

from logger_app.db.engine import create_database  # noqa: E402
from logger_app.db.log_columns import INSERT_COLUMNS  # noqa: E402
from logger_app.db.migrate import upgrade  # noqa: E402
from logger_app.demo import demo_log  # noqa: E402
from logger_app.services.access.principal import Principal  # noqa: E402
from logger_app.services.ingest.rollup_delta import rebuild  # noqa: E402
from logger_app.services.ingest.validation import normalise_log  # noqa: E402
from logger_app.services.public_ids import PublicIds  # noqa: E402
from logger_app.services.read import closed_rows, metrics, queries  # noqa: E402
from logger_app.services.read.scope import LogFilters, encode_cursor  # noqa: E402

# What the writer inserts; the loaders' records below list the values in this order.
COLS = INSERT_COLUMNS
TEMPLATES = 2000
# Measured on the 1M loads: SQLite ~2.6 KB per log (the 10M file is ~26 GB), PostgreSQL about the
# same with its indexes; the margin covers the rollups, WAL and VACUUM's working space.
BYTES_PER_LOG = 2_700
DISK_MARGIN = 1.3
CLIENTS = [f"client{k:02d}" for k in range(20)]


def client_weights() -> list[float]:
    w = [1 / (k + 1) ** 0.6 for k in range(len(CLIENTS))]
    s = sum(w)
    return [x / s for x in w]


def templates(now: datetime) -> list[dict]:
    """Normalised rows from demo_log; the bulk load varies client, ticket and time per row."""
    rng = random.Random(11)
    out = []
    for i in range(TEMPLATES):
        row = normalise_log(demo_log(rng, "tmpl", now, i), "tmpl", now)
        row["_json"] = {c: json.dumps(row[c]) if row[c] is not None else None for c in ("metrics", "payload", "extra")}
        out.append(row)
    return out


def record(t: dict, cid: str, i: int, when: datetime, time_value) -> tuple:
    """One row for the loaders, in COLS order: the template's values with this row's client,
    ticket id and times (the search text starts with the ticket id, as derive.py writes it)."""
    ticket = f"{cid.upper()}-{i}"
    values = {**t, "client_id": cid, "ticket_id": ticket, "executed_at": time_value(when), "idempotency_key": None,
              "created_at": time_value(when + timedelta(seconds=t["execution_time_seconds"] or 0)), **t["_json"]}
    if t.get("search_text") is not None:
        values["search_text"] = ticket + t["search_text"][len(t["ticket_id"]):]
    return tuple(values[c] for c in COLS)


# How many days before now the loaded logs spread over (--days): 30 by default; fewer days give an
# hour the logs of a bigger load (1M over 3 days: the ~14k logs an hour of 10M over 30 days), which
# is what a range's ragged edges cost.
SPAN_DAYS = [30]


def generate(n: int, now: datetime, chunk: int = 20_000, clients: list[str] = CLIENTS,
             weights: list[float] | None = None):
    """Yield chunks of (client, row-template, executed_at, ticket index) tuples."""
    rng = random.Random(5)
    tmpl = templates(now)
    weights = weights or (client_weights() if clients is CLIENTS else [1.0] * len(clients))
    span = SPAN_DAYS[0] * 86400
    done = 0
    while done < n:
        k = min(chunk, n - done)
        picked = rng.choices(clients, weights, k=k)
        out = []
        for j in range(k):
            t = tmpl[rng.randrange(TEMPLATES)]
            when = now - timedelta(seconds=rng.random() * span)
            out.append((picked[j], t, when, done + j))
        done += k
        yield out


async def load_postgres(url: str, n: int, now: datetime, clients: list[str] = CLIENTS,
                        weights: list[float] | None = None) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.executemany("INSERT INTO clients (id, name, created_at, disabled) VALUES ($1, $1, $2, false)",
                               [(c, now) for c in clients])
        t0 = time.perf_counter()
        for chunk in generate(n, now, clients=clients, weights=weights):
            records = [record(t, cid, i, when, lambda d: d) for cid, t, when, i in chunk]
            await conn.copy_records_to_table("workflow_logs", records=records, columns=COLS)
            print(f"\r  loaded {chunk[-1][3] + 1:,} rows in {time.perf_counter() - t0:.0f} s", end="", flush=True)
        print()
        t1 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE workflow_logs")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - t1:.0f} s")
    finally:
        await conn.close()


def load_sqlite(path: str, n: int, now: datetime, clients: list[str] = CLIENTS,
                weights: list[float] | None = None) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    fmt = lambda d: d.replace(tzinfo=None).isoformat(" ")  # noqa: E731 - how UtcDateTime stores it
    with conn:
        conn.executemany("INSERT INTO clients (id, name, created_at, disabled) VALUES (?, ?, ?, 0)",
                         [(c, c, fmt(now)) for c in clients])
    t0 = time.perf_counter()
    sql = f"INSERT INTO workflow_logs ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})"
    for chunk in generate(n, now, clients=clients, weights=weights):
        records = [record(t, cid, i, when, fmt) for cid, t, when, i in chunk]
        with conn:
            conn.executemany(sql, records)
        print(f"\r  loaded {chunk[-1][3] + 1:,} rows in {time.perf_counter() - t0:.0f} s", end="", flush=True)
    print()
    t1 = time.perf_counter()
    conn.execute("ANALYZE")
    conn.close()
    print(f"  ANALYZE: {time.perf_counter() - t1:.0f} s")


async def timed(fn, reps: int, budget: float = 20.0, min_reps: int = 5) -> tuple[float, float, float, int]:
    """p50, p95, max in ms, and the repetitions made: `reps`, or fewer (at least min_reps) past `budget` s."""
    await fn()  # warm: plans, pool, caches
    samples = []
    start = time.perf_counter()
    for i in range(reps):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
        if i + 1 >= min_reps and time.perf_counter() - start > budget:
            break
    samples.sort()
    return (statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))], samples[-1],
            len(samples))


async def cold(db, call):
    """`call` (a coroutine) with nothing kept of closed periods' rollup rows."""
    closed_rows.forget(db)
    return await call


async def deep_cursor(db, ids, principal, client: str | None, depth: int) -> str:
    from sqlalchemy import select

    from logger_app.db.models import WorkflowLog

    q = select(WorkflowLog.executed_at, WorkflowLog.id)
    if client:
        q = q.where(WorkflowLog.client_id == client)
    q = q.order_by(WorkflowLog.executed_at.desc(), WorkflowLog.id.desc()).offset(depth).limit(1)
    async with db.read() as s:
        when, log_id = (await s.execute(q)).one()
    return encode_cursor(ids, when, log_id)


def check_disk(path: str, n: int, hint: str = "use --path on a bigger disk, or a smaller --n") -> None:
    """Refuse to start a load the disk cannot hold (a full disk mid-load helps nobody)."""
    need = n * BYTES_PER_LOG * DISK_MARGIN
    free = shutil.disk_usage(path).free
    print(f"  disk: {free / 2**30:.1f} GiB free at {path}, the load needs ~{need / 2**30:.1f} GiB")
    if free < need:
        sys.exit(f"not enough free disk for {n:,} logs at {path}: {free / 2**30:.1f} GiB free, "
                 f"~{need / 2**30:.1f} GiB needed ({hint})")


async def pg_data_dir(url: str) -> str | None:
    """The server's data directory, when it is on this machine and readable (else None: not checked)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        path = await conn.fetchval("SHOW data_directory")
    except Exception:
        return None
    finally:
        await conn.close()
    return path if path and os.path.isdir(path) else None


async def fill_rollups(url: str) -> None:
    t0 = time.perf_counter()
    db = create_database(url, 3600.0)
    try:
        rows = await rebuild(db)
        async with db.writer.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text("ANALYZE log_rollups"))
            await conn.execute(text("ANALYZE log_latency_rollups"))
    finally:
        await db.dispose()
    print(f"  rollups rebuilt: {rows:,} rollup rows in {time.perf_counter() - t0:.0f} s")


async def run_timings(url: str, reps: int, budget: float = 20.0, min_reps: int = 5, raw: bool = False) -> list[tuple]:
    from sqlalchemy import func, select

    from logger_app.db.models import WorkflowLog

    db = create_database(url, 30.0)
    results = []
    try:
        async with db.read() as s:
            total = (await s.execute(select(func.count()).select_from(WorkflowLog))).scalar_one()
            big, big_n = (await s.execute(select(WorkflowLog.client_id, func.count()).group_by(WorkflowLog.client_id)
                                          .order_by(func.count().desc()).limit(1))).one()
            max_id = (await s.execute(select(func.max(WorkflowLog.id)))).scalar_one()
        print(f"  {total:,} logs; biggest client {big} with {big_n:,}\n")
        print("| query | p50 ms | p95 ms | max ms | reps |\n|---|---|---|---|---|")
        ids = PublicIds.from_secret("bench")
        client = Principal.for_client(big)
        admin = Principal.admin()
        now = datetime.now(timezone.utc)
        month = LogFilters(since=now - timedelta(days=30))

        async def add(label, fn):
            p50, p95, mx, n = await timed(fn, reps, budget, min_reps)
            results.append((label, p50, p95, mx, n))
            print(f"| {label:<58} | {p50:8.1f} | {p95:8.1f} | {mx:8.1f} | {n} |", flush=True)

        await add("list, one client, first page (50)", lambda: queries.list_logs(db, ids, client, LogFilters()))
        await add("list, all clients (admin), first page (50)", lambda: queries.list_logs(db, ids, admin, LogFilters()))
        await add("list, one client, status=ERROR, first page",
                  lambda: queries.list_logs(db, ids, client, LogFilters(status="ERROR")))
        for depth in sorted({min(d, big_n - 1) for d in (1_000, 10_000, max(1, big_n - 100))}):
            cur = await deep_cursor(db, ids, client, big, depth)
            await add(f"list, one client, page at row {depth:,} (cursor)",
                      lambda cur=cur: queries.list_logs(db, ids, client, LogFilters(), cursor=cur))
        for depth in sorted({min(d, total - 1) for d in (10_000, max(1, total - 100))}):
            cur = await deep_cursor(db, ids, admin, None, depth)
            await add(f"list, all clients, page at row {depth:,} (cursor)",
                      lambda cur=cur: queries.list_logs(db, ids, admin, LogFilters(), cursor=cur))
        rng = random.Random(3)
        await add("get_log, random id (admin)",
                  lambda: queries.get_log(db, ids, admin, ids.encode(rng.randint(1, max_id))))

        async def get_own():
            try:
                await queries.get_log(db, ids, client, ids.encode(rng.randint(1, max_id)))
            except Exception:
                pass  # another client's log is 'not found': same query, same cost
        await add("get_log, random id (client scope)", get_own)
        await add("overview, one client, 30 days", lambda: metrics.overview(db, client, month))
        await add("overview, all clients, 30 days", lambda: metrics.overview(db, admin, month))
        await add("timeseries by day, one client, 30 days", lambda: metrics.timeseries(db, client, month, "day"))
        await add("distributions, one client, 30 days", lambda: metrics.distributions(db, client, month))

        day = LogFilters(since=now - timedelta(hours=24), until=now)
        month_until = LogFilters(since=now - timedelta(days=30), until=now)
        for label, who, window, bucket in (("one client, 30 days", client, month_until, "day"),
                                           ("all clients (admin), 30 days", admin, month_until, "day"),
                                           ("one client, 24 h", client, day, "hour"),
                                           ("all clients (admin), 24 h", admin, day, "hour")):
            scoped = replace(window, client_id=big) if who is client else window
            # Cold: what this process keeps of closed periods (services/read/closed_rows.py) is
            # dropped before every call, as for the first page after a start or a late write.
            await add(f"overview PAGE data, {label}, cold",
                      lambda who=who, f=scoped, b=bucket: cold(db, page_data(db, who, f, b)))
            await add(f"overview PAGE data, {label}, closed periods kept",
                      lambda who=who, f=scoped, b=bucket: page_data(db, who, f, b))
            await add(f"  the same as four reads (before rollup_page), {label}, cold",
                      lambda who=who, f=scoped, b=bucket: cold(db, page_data(db, who, f, b, separately=True)))
            if raw:
                await add(f"overview PAGE data RAW, {label}", lambda who=who, f=scoped, b=bucket: page_data(db, who, f, b, raw=True))
    finally:
        await db.dispose()
    return results


async def page_data(db, who, window: LogFilters, bucket: str, raw: bool = False, separately: bool = False) -> None:
    """What pages/overview.py load() asks for the metrics (metrics.overview_page): this range, the
    one before, the charts; `separately`/`raw`: as the four reads it replaces, from rollups / raw rows."""
    previous = replace(window, since=window.since - (window.until - window.since), until=window.since)
    if not (raw or separately):
        await metrics.overview_page(db, who, window, previous, bucket)
        return
    await metrics.overview(db, who, window, raw=raw)
    await metrics.overview(db, who, previous, raw=raw)
    await metrics.timeseries(db, who, window, bucket, raw=raw)
    await metrics.distributions(db, who, window, raw=raw)


async def main_async(args) -> None:
    now = datetime.now(timezone.utc)
    if args.db == "postgresql":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_name}"
        if args.reuse:
            await upgrade(url)  # an older load gets the new columns (0002 backfills them)
        else:
            url = fresh_pg_database(args.pg_name)
            await upgrade(url)
            data_dir = await pg_data_dir(url)
            if data_dir:
                check_disk(data_dir, args.n, "free space on the PostgreSQL server's disk, or a smaller --n")
            else:
                print("  disk: the PostgreSQL data directory is not readable here; free space not checked")
            print(f"loading {args.n:,} logs into PostgreSQL ({args.pg_name}) with COPY")
            await load_postgres(url, args.n, now)
            await fill_rollups(url)
    else:
        path = args.path or os.path.join(tempfile.gettempdir(), "cl-bench-read.db")
        url = f"sqlite+aiosqlite:///{path}"
        if args.reuse:
            await upgrade(url)
        else:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            check_disk(os.path.dirname(os.path.abspath(path)), args.n)
            await upgrade(url)
            print(f"loading {args.n:,} logs into SQLite ({path}) with executemany")
            await asyncio.to_thread(load_sqlite, path, args.n, now)
            await fill_rollups(url)
        print(f"  file size {os.path.getsize(path) / 2**30:.2f} GiB")
    print(f"timings, up to {args.reps} repetitions each (load avg {os.getloadavg()[0]:.1f}):")
    await run_timings(url, args.reps, args.budget, args.min_reps, args.raw)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--days", type=int, default=30, help="days the loaded logs spread over (SPAN_DAYS)")
    p.add_argument("--budget", type=float, default=20.0, help="seconds per query before stopping early")
    p.add_argument("--min-reps", type=int, default=5)
    p.add_argument("--reuse", action="store_true", help="time an already loaded database")
    p.add_argument("--raw", action="store_true", help="also time the page data from raw rows (slow at 10M)")
    p.add_argument("--pg-name", default="cl_bench_read")
    p.add_argument("--path", help="SQLite file (default: $TMPDIR/cl-bench-read.db)")
    args = p.parse_args()
    SPAN_DAYS[0] = args.days
    assert args.pg_name.startswith("cl_bench"), "only dedicated cl_bench* databases"
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
