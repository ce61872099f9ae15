"""Group commit: concurrent ingest requests share one transaction.

A commit per request tops out far below what the HTTP layer can parse (the fsync/round trip
dominates). Requests enqueue their rows and wait; one task drains everything queued so far into a
single transaction and answers each request only after that transaction has committed, so an
acknowledged log is always durable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ...db import partitions
from ...db.bulk_writes import insert_logs
from ...db.dialect import Dialect, locked
from ...db.engine import Database
from ...db.log_columns import INSERT_COLUMNS
from ...db.log_locator import locked_keys, stored_keys
from ...db.models import WorkflowLog
from ...telemetry.metrics import COMMIT_ROWS, storage_error
from ..errors import StorageUnavailable
from ..faults import is_storage_error
from .rollup_delta import apply_rollup_changes

log = logging.getLogger("logger_app.writer")

MAX_ROWS_PER_TRANSACTION = 2000
# PostgreSQL commits overlap: while one transaction waits for its WAL flush, the next one is
# already being sent. SQLite has a single writer connection, so one flusher there.
POSTGRES_FLUSHERS = 4


@dataclass
class Stored:
    id: int
    duplicate: bool


# (the stored row, a new row with the same client and idempotency key) -> the row that replaces the
# stored one, or None to leave it as it is (the new row is then a duplicate). Runs inside the
# writer's transaction with the stored row locked; must be pure and quick (OTLP traces: ingest.py).
Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]


@dataclass
class _Job:
    rows: list[dict[str, Any]]
    merge: Merge | None = None
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class LogWriter:
    def __init__(self, db: Database, timeout: float):
        self.db = db
        self.timeout = timeout
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self.flushers = POSTGRES_FLUSHERS if db.dialect is Dialect.POSTGRESQL else 1

    def start(self) -> None:
        if len(self._tasks) == self.flushers and not any(t.done() for t in self._tasks):
            return
        loop = asyncio.get_running_loop()
        self._tasks = [t for t in self._tasks if not t.done()]
        while len(self._tasks) < self.flushers:
            self._tasks.append(loop.create_task(self._run(), name=f"log-writer-{len(self._tasks)}"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(StorageUnavailable("server is shutting down"))

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    async def write(self, rows: list[dict[str, Any]], merge: Merge | None = None) -> list[Stored]:
        """Store rows in one transaction (shared with other callers); returns once committed.

        Without `merge`, a row whose idempotency key is stored already is a duplicate and changes
        nothing; with it, merge(stored row, row) may give the row that replaces the stored one."""
        if len(self._tasks) != self.flushers or self._tasks[0].done():
            self.start()
        job = _Job(rows, merge)
        self._queue.put_nowait(job)  # unbounded queue: put() would only add a scheduling step
        # A timer instead of wait_for(shield(...)): no extra task per request on the hot path.
        timer = asyncio.get_running_loop().call_later(self.timeout, _expire, job.future)
        try:
            return await job.future
        finally:
            timer.cancel()

    async def _run(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            count = len(jobs[0].rows)
            while not self._queue.empty() and count < MAX_ROWS_PER_TRANSACTION:
                job = self._queue.get_nowait()
                jobs.append(job)
                count += len(job.rows)
            await self._flush(jobs)

    async def _flush(self, jobs: list[_Job]) -> None:
        jobs = [job for job in jobs if not job.future.done()]  # timed out while queued: not stored
        if not jobs:
            return
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    results = await self._store(jobs)
                except IntegrityError:
                    # Another process stored the same idempotency key between our check and
                    # insert: fall back to one transaction per request so only that one retries.
                    parts: list[list[list[Stored]]] = []  # per job: _store([job])
                    for job in jobs:
                        try:
                            parts.append(await self._store([job]))
                        except IntegrityError:
                            parts.append(await self._store([job]))
                    results = [r for part in parts for r in part]
        except Exception as exc:  # every waiter must hear back, whatever happened
            error: Exception
            if is_storage_error(exc):
                storage_error("writer", exc)
                log.warning("storage unavailable while writing %d logs: %s", sum(len(j.rows) for j in jobs), type(exc).__name__)
                error = StorageUnavailable("storage unavailable")
            else:
                log.exception("unexpected error while writing logs")
                error = exc
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        COMMIT_ROWS.observe(sum(len(job.rows) for job in jobs))  # once per transaction, not per request
        for job, result in zip(jobs, results):
            if not job.future.done():
                job.future.set_result(result)

    async def _store(self, jobs: list[_Job]) -> list[list[Stored]]:
        rows = [row for job in jobs for row in job.rows]
        merges = {id(row): job.merge for job in jobs if job.merge is not None for row in job.rows}
        keyed = {(r["client_id"], r["idempotency_key"]) for r in rows if r["idempotency_key"] is not None}
        known: dict[tuple[str, str | None], int] = {}
        located: dict[tuple[str, str | None], Any] = {}  # key -> the stored row's executed_at
        # Before the transaction: a month new to this process gets its partition (PostgreSQL; a
        # set lookup per batch once the months are known).
        await partitions.ensure_for(self.db, (r["executed_at"] for r in rows))
        # Per submitted row: ("id", row id, duplicate) for a stored row, ("fresh", index into fresh, duplicate).
        outcomes: list[tuple[str, int, bool]] = []
        async with self.db.writer.begin() as conn:
            if keyed:
                existing = (await conn.execute(stored_keys(self.db.dialect, list(keyed)))).all()
                known = {(c, k): i for c, k, i, _ in existing}
                located = {(c, k): at for c, k, _, at in existing}
            to_merge = sorted({(r["client_id"], r["idempotency_key"]) for r in rows if id(r) in merges} & known.keys())
            stored_rows = {}
            if to_merge:
                # Locked, and read again once locked: a concurrent merge may have moved executed_at.
                relocked = (await conn.execute(locked_keys(self.db.dialect, to_merge))).all()
                located.update({(c, k): at for c, k, _, at in relocked})
                stored_rows = await _locked_rows(self.db.dialect, conn, [(known[i], located[i]) for i in to_merge])
            current = dict(stored_rows)  # the latest version of each stored row this transaction merges into
            changed: set[tuple[str, str | None]] = set()
            fresh: list[dict[str, Any]] = []
            pending: dict[tuple[str, str | None], int] = {}  # key -> index in fresh, for keys new here
            for row in rows:
                ident = (row["client_id"], row["idempotency_key"])
                merge = merges.get(id(row))
                if row["idempotency_key"] is None:
                    outcomes.append(("fresh", len(fresh), False))
                    fresh.append(row)
                elif ident in known:
                    rebuilt = merge(current[ident], row) if merge is not None and ident in current else None
                    if rebuilt is not None:
                        current[ident] = {**rebuilt, "id": known[ident]}
                        changed.add(ident)
                    outcomes.append(("id", known[ident], rebuilt is None))
                elif ident in pending:  # a second row of a key first seen in this transaction
                    index = pending[ident]
                    rebuilt = merge(fresh[index], row) if merge is not None else None
                    if rebuilt is not None:
                        fresh[index] = rebuilt
                    outcomes.append(("fresh", index, rebuilt is None))
                else:
                    pending[ident] = len(fresh)
                    outcomes.append(("fresh", len(fresh), False))
                    fresh.append(row)
            replaced: list[dict[str, Any]] = []
            replacing: list[dict[str, Any]] = []
            if changed:
                ordered = sorted(changed, key=lambda i: known[i])
                replaced, replacing = [stored_rows[i] for i in ordered], [current[i] for i in ordered]
                await _replace_logs(conn, replaced, replacing)
            ids: list[int] = []
            if fresh:
                ids = await insert_logs(self.db.dialect, conn, fresh)
            # Same transaction: the dashboards' rollups commit with the logs or not at all. One delta
            # for the whole transaction (replaced rows out, their replacements and the new rows in),
            # so one upsert per rollup key (rollup_delta.py).
            if fresh or replaced:
                await apply_rollup_changes(conn, self.db.dialect, added=[*replacing, *fresh], removed=replaced)
        # Committed: map each submitted row to its id.
        results = iter(Stored(value if kind == "id" else ids[value], duplicate) for kind, value, duplicate in outcomes)
        return [[next(results) for _ in job.rows] for job in jobs]


_TABLE = cast(Table, WorkflowLog.__table__)
# One UPDATE of every stored column by id and the stored executed_at (so PostgreSQL updates one
# partition; a changed executed_at moves the row to its month's): the same column set the inserts
# write (log_columns), so columns derived in validation's normalise_log follow a replaced row too.
# Executed as executemany, bound through the columns' own types (JSON, UtcDateTime), as on both
# backends' inserts.
_REPLACE = (update(_TABLE).where(_TABLE.c.id == bindparam("_id"), _TABLE.c.executed_at == bindparam("_at"))
            .values({c: bindparam(c) for c in INSERT_COLUMNS}))


async def _locked_rows(dialect: Dialect, conn: AsyncConnection, located: list[tuple[int, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """The stored rows at these (id, executed_at), locked until commit (PostgreSQL: FOR UPDATE, in
    key order, so two flushers or processes merging into the same trace wait for each other instead
    of one overwriting the other's spans; SQLite has one writer connection, which serialises them
    anyway). executed_at lets PostgreSQL read only the partitions those rows are in."""
    query = (select(_TABLE).where(_TABLE.c.id.in_([i for i, _ in located]), _TABLE.c.executed_at.in_([t for _, t in located]))
             .order_by(_TABLE.c.client_id, _TABLE.c.idempotency_key))
    result = await conn.execute(locked(dialect, query))
    return {(r["client_id"], r["idempotency_key"]): dict(r) for r in result.mappings()}


async def _replace_logs(conn: AsyncConnection, old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]]) -> None:
    """Replace stored log rows (old_rows[i], as read, with its "id") by new_rows[i] (INSERT_COLUMNS
    and that same "id"). The one place a stored log changes in the writer's transaction: whatever is
    kept in step with the logs subtracts old_rows and adds new_rows in the same transaction (the
    rollups: _store passes both to apply_rollup_changes, with the transaction's new rows; the
    PostgreSQL locator: its trigger, db/log_locator.py)."""
    if not new_rows:
        return
    await conn.execute(_REPLACE, [{"_id": new["id"], "_at": old["executed_at"], **{c: new[c] for c in INSERT_COLUMNS}}
                                  for old, new in zip(old_rows, new_rows)])


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        # The rows may still commit later; an idempotency key makes the client's retry safe.
        future.set_exception(StorageUnavailable("storage did not answer in time"))
