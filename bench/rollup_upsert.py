"""Benchmark: what the rollups add to one group commit, and the histogram's storage choice.

Times one writer transaction (insert_logs + commit, as services/ingest/writer.py does) for batches of
1, 50 and 2,000 demo logs executed in the current hour:

  logs only           insert_logs, no rollups (the writer before issue 11)
  + rollups           insert_logs + apply_rollups: the chosen design, the histogram as a child
                      table (client, period, start, environment, status, bucket) -> n
  + wide histogram    the alternative: the same rollup row with one integer column per histogram
                      bucket (460 columns: 1 ms .. 1 day at 4 %), one row per (client, period,
                      start, environment, status), summed in one upsert

    .venv/bin/python bench/rollup_upsert.py --db sqlite [--reps 40]
    .venv/bin/python bench/rollup_upsert.py --db postgresql [--reps 40]

Each database is fresh (PostgreSQL: cl_bench_rollup_upsert, dropped and created).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_pg_database  # noqa: E402
from sqlalchemy import BigInteger, Column, MetaData, String, Table  # noqa: E402

from logger_app.db.bulk_writes import insert_logs, upsert_add_rows  # noqa: E402
from logger_app.db.engine import create_database  # noqa: E402
from logger_app.db.migrate import upgrade  # noqa: E402
from logger_app.db.rollup_scheme import hour_of, latency_bucket  # noqa: E402
from logger_app.db.types import UtcDateTime, utcnow  # noqa: E402
from logger_app.demo import demo_log  # noqa: E402
from logger_app.services.ingest.rollup_delta import Delta, apply_rollups  # noqa: E402
from logger_app.services.ingest.validation import normalise_log  # noqa: E402

WIDE_BUCKETS = 460
WIDE_OFFSET = -176  # bucket of 1 ms at 4 %
_meta = MetaData()
WIDE = Table("bench_wide_hist", _meta, Column("client_id", String(63), primary_key=True),
             Column("hour", UtcDateTime, primary_key=True), Column("environment", String(32), primary_key=True),
             Column("status", String(16), primary_key=True),
             *[Column(f"h{i}", BigInteger, nullable=False, default=0) for i in range(WIDE_BUCKETS)])
WIDE_KEY = ("client_id", "hour", "environment", "status")
WIDE_COLS = tuple(f"h{i}" for i in range(WIDE_BUCKETS))


def batch(rng: random.Random, n: int) -> list[dict]:
    now = utcnow()
    clients = [f"client{k:02d}" for k in range(20)]
    out = []
    for i in range(n):
        cid = rng.choice(clients)
        out.append(normalise_log(demo_log(rng, cid, now, i), cid, now))
    return out


async def wide_upsert(conn, dialect, rows: list[dict]) -> None:
    delta = Delta().add(rows)
    delta.latency = {}
    await delta.apply(conn, dialect)  # the counts, confidence, iterations as chosen ...
    sums: dict[tuple, list[int]] = {}
    for r in rows:  # ... but the histogram in one wide row per key instead of the child table
        if r["execution_time_seconds"] is None:
            continue
        hour = hour_of(r["executed_at"])
        for start in (hour, hour.replace(hour=0)):  # hour and day rows, as the chosen design keeps
            h = sums.setdefault((r["client_id"], start, r["environment"], r["status"]), [0] * WIDE_BUCKETS)
            h[min(max(latency_bucket(r["execution_time_seconds"]) - WIDE_OFFSET, 0), WIDE_BUCKETS - 1)] += 1
    params = [(*k, *h) for k, h in sorted(sums.items())]
    await upsert_add_rows(dialect, conn, [(WIDE, WIDE_KEY, WIDE_COLS, params)])


async def run(url: str, reps: int) -> None:
    await upgrade(url)
    db = create_database(url, 60.0)
    try:
        async with db.writer.begin() as conn:
            await conn.run_sync(_meta.create_all)
        rng = random.Random(1)
        print("| batch | variant | p50 ms | p95 ms | per log µs | rollup keys + hist rows |\n|---|---|---|---|---|---|")
        for size in (1, 50, 2000):
            batches = [batch(rng, size) for _ in range(reps)]
            d = Delta().add(batches[0])
            shape = f"{len(d.main)} + {len(d.latency)}"
            for label, extra in (("logs only", None), ("+ rollups", apply_rollups), ("+ wide histogram", wide_upsert)):
                samples = []
                for rows in batches:
                    t0 = time.perf_counter()
                    async with db.writer.begin() as conn:
                        await insert_logs(db.dialect, conn, rows)
                        if extra is not None:
                            await extra(conn, db.dialect, rows)
                    samples.append((time.perf_counter() - t0) * 1000)
                samples.sort()
                p50 = statistics.median(samples)
                print(f"| {size} | {label} | {p50:.2f} | {samples[int(0.95 * (len(samples) - 1))]:.2f} | "
                      f"{p50 * 1000 / size:.0f} | {shape} |", flush=True)
    finally:
        await db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--reps", type=int, default=40)
    args = p.parse_args()
    if args.db == "postgresql":
        url = fresh_pg_database("cl_bench_rollup_upsert")
    else:
        path = os.path.join(tempfile.gettempdir(), "cl-bench-rollup-upsert.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(run(url, args.reps))


if __name__ == "__main__":
    main()
