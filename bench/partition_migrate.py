"""Benchmark: migration 0008_partitions (workflow_logs into monthly partitions) on a populated PostgreSQL.

Migrates a fresh database `cl_bench_partitions` on 127.0.0.1:5432 (dropped and created) to 0007_search_detail,
loads N logs with bench/read.py's COPY loader (20 clients, 30 days: two or three months), then
times `alembic upgrade` to 0008_partitions and checks what it promised: every row kept with its id, one
partition per month present, the locator filled, the id sequence going on after the last id.
--downgrade also times the way back (0007_search_detail) and the upgrade again.
--insert-cost times what partitions and the locator cost the writer: --batches 500-row batches (new
idempotency keys each) through db/bulk_writes.insert_logs alone and through LogWriter.write (lookup,
insert, rollups, commit), once before the migration with the code of --before-tree (a copy of the
commit before partitions, whose writer reads the unpartitioned table) and once after with this
tree's, on the same loaded table.

    .venv/bin/python bench/partition_migrate.py [--n 50000] [--downgrade]
    mkdir /tmp/cl-before && git archive bd376f9 logger_app | tar -x -C /tmp/cl-before
    .venv/bin/python bench/partition_migrate.py --n 50000 --insert-cost --before-tree /tmp/cl-before
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

if "--measure-insert" in sys.argv:
    # The child of measure_in: logger_app from PYTHONPATH (the tree being measured), imported before
    # _common puts this repository first on sys.path.
    import logger_app  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_pg_database  # noqa: E402
from alembic import command  # noqa: E402
from read import fill_rollups, load_postgres  # noqa: E402
from sqlalchemy import text  # noqa: E402

from logger_app.db.engine import create_database  # noqa: E402
from logger_app.db.migrate import alembic_config  # noqa: E402

NAME = "cl_bench_partitions"


async def facts(url: str) -> dict:
    db = create_database(url, 600.0)
    try:
        async with db.reader.connect() as conn:
            q = lambda sql: conn.execute(text(sql))  # noqa: E731
            out = {
                "rows": (await q("SELECT count(*) FROM workflow_logs")).scalar_one(),
                "max_id": (await q("SELECT max(id) FROM workflow_logs")).scalar_one(),
                "id_sum": (await q("SELECT sum(id) FROM workflow_logs")).scalar_one(),
                "bytes": (await q("SELECT pg_total_relation_size('workflow_logs') + coalesce((SELECT sum("
                                  "pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = "
                                  "'workflow_logs'::regclass), 0)")).scalar_one(),
                "partitions": (await q("SELECT c.relname, (SELECT count(*) FROM workflow_logs w WHERE w.tableoid = c.oid) "
                                       "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE "
                                       "i.inhparent = 'workflow_logs'::regclass ORDER BY 1")).all(),
                "locator": (await q("SELECT count(*) FROM log_locator")).scalar_one()
                if (await q("SELECT to_regclass('log_locator')")).scalar() else None,
                "sequence_owner": (await q("SELECT d.refobjid::regclass::text FROM pg_depend d WHERE d.objid = "
                                           "'workflow_logs_id_seq'::regclass AND d.deptype = 'a'")).scalar(),
            }
    finally:
        await db.dispose()
    return out


async def timed_upgrade(url: str, revision: str, down: bool = False) -> float:
    t0 = time.perf_counter()
    fn = command.downgrade if down else command.upgrade
    await asyncio.to_thread(fn, alembic_config(url), revision)
    return time.perf_counter() - t0


async def insert_cost(url: str, batches: int, label: str) -> None:
    """Median ms per 500-row batch: insert_logs in its own transaction, and the whole writer path."""
    import random
    import statistics
    import uuid

    import logger_app
    from logger_app.db.bulk_writes import insert_logs
    from logger_app.demo import demo_log
    from logger_app.services.ingest.validation import normalise_log
    from logger_app.services.ingest.writer import LogWriter

    print(f"  ({label}: logger_app from {Path(logger_app.__file__).parent.parent})")
    db = create_database(url, 60.0)
    rng, now = random.Random(3), datetime.now(timezone.utc)

    def batch() -> list[dict]:
        rows = [normalise_log(demo_log(rng, "client00", now, i), "client00", now) for i in range(500)]
        for r in rows:
            r["idempotency_key"] = uuid.uuid4().hex
        return rows

    try:
        writer = LogWriter(db, 60.0)
        plain, full = [], []
        for _ in range(batches + 3):  # 3 warm-up batches each
            rows = batch()
            t0 = time.perf_counter()
            async with db.writer.begin() as conn:
                await insert_logs(db.dialect, conn, rows)
            plain.append(time.perf_counter() - t0)
            rows = batch()
            t0 = time.perf_counter()
            await writer.write(rows)
            full.append(time.perf_counter() - t0)
        await writer.stop()
        ms = lambda xs: statistics.median(xs[3:]) * 1000  # noqa: E731
        print(f"  {label}: insert_logs {ms(plain):.1f} ms, LogWriter.write {ms(full):.1f} ms per 500-row batch "
              f"(median of {batches}, load avg {os.getloadavg()[0]:.1f})")
    finally:
        await db.dispose()


def measure_in(tree: str, url: str, batches: int, label: str) -> None:
    """insert_cost in a child process importing logger_app from `tree`."""
    import subprocess

    env = dict(os.environ, PYTHONPATH=tree)
    subprocess.run([sys.executable, __file__, "--measure-insert", url, "--batches", str(batches), "--label", label],
                   env=env, check=True)


async def retention_drop(url: str) -> None:
    """The rollups filled (rebuild), then drop_before the first day of this month: every older month
    goes; then the rollups still count exactly the remaining rows."""
    import logging

    from logger_app.db import partitions

    logging.basicConfig(level=logging.INFO, format="    %(message)s")
    logging.getLogger("logger_app.partitions").setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    await fill_rollups(url)
    db = create_database(url, 600.0)
    try:
        month = partitions.month_of(datetime.now(timezone.utc))
        t0 = time.perf_counter()
        dropped, names = await partitions.drop_before(db, partitions.bounds(month)[0])
        took = time.perf_counter() - t0
        async with db.reader.connect() as conn:
            raw = (await conn.execute(text("SELECT count(*) FROM workflow_logs"))).scalar_one()
            rolled = (await conn.execute(text("SELECT coalesce(sum(n), 0) FROM log_rollups WHERE period = 'hour'"))).scalar_one()
            located = (await conn.execute(text("SELECT count(*) FROM log_locator"))).scalar_one()
        print(f"retention: dropped {names} ({dropped:,} logs) in {took:.2f} s; left {raw:,} logs, "
              f"{rolled:,} in the hour rollups, {located:,} locator rows")
        assert raw == rolled == located
    finally:
        await db.dispose()


async def main_async(args) -> None:
    url = fresh_pg_database(NAME)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0007_search_detail")
    print(f"loading {args.n:,} logs at 0007_search_detail (unpartitioned) with COPY")
    await load_postgres(url, args.n, datetime.now(timezone.utc))
    if args.insert_cost:
        measure_in(args.before_tree, url, args.batches, "0007, unpartitioned (code before partitions)")
    before = await facts(url)
    print(f"  {before['rows']:,} rows, {before['bytes'] / 2**20:.0f} MiB with indexes")
    print(f"upgrade 0007 -> 0008 (load avg {os.getloadavg()[0]:.1f})")
    seconds = await timed_upgrade(url, "0008_partitions")
    after = await facts(url)
    print(f"  {seconds:.1f} s ({after['rows'] / seconds:,.0f} rows/s), {after['bytes'] / 2**20:.0f} MiB with indexes")
    for name, count in after["partitions"]:
        print(f"    {name}: {count:,}")
    print(f"  locator rows {after['locator']:,}; id sequence owned by {after['sequence_owner']}")
    assert (after["rows"], after["max_id"], after["id_sum"]) == (before["rows"], before["max_id"], before["id_sum"])
    assert after["locator"] == after["rows"] and after["sequence_owner"] == "workflow_logs"
    if args.insert_cost:
        measure_in(str(Path(__file__).resolve().parent.parent), url, args.batches, "0008, partitioned + locator")
    await retention_drop(url)
    if args.downgrade:
        here = await facts(url)
        down = await timed_upgrade(url, "0007_search_detail", down=True)
        back = await facts(url)
        assert (back["rows"], back["max_id"], back["id_sum"]) == (here["rows"], here["max_id"], here["id_sum"])
        again = await timed_upgrade(url, "0008_partitions")
        print(f"downgrade 0008 -> 0007: {down:.1f} s; upgrade again: {again:.1f} s")
    print("all rows and ids kept")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--downgrade", action="store_true")
    p.add_argument("--insert-cost", action="store_true")
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--before-tree", help="a copy of the code before partitions (for --insert-cost)")
    p.add_argument("--measure-insert", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--label", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure_insert:
        asyncio.run(insert_cost(args.measure_insert, args.batches, args.label))
        return
    if args.insert_cost and not args.before_tree:
        p.error("--insert-cost needs --before-tree")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
