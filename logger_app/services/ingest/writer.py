"""Group commit: concurrent ingest requests share one transaction.

A commit per request tops out far below what the HTTP layer can parse (the fsync/round trip
dominates). Requests enqueue their rows and wait; one task drains everything queued so far into a
single transaction and answers each request only after that transaction has committed, so an
acknowledged log is always durable."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from ...db.dialect import Dialect, insert_logs
from ...db.engine import Database
from ...db.models import WorkflowLog
from ..errors import StorageUnavailable
from ..faults import is_storage_error
from .rollup_delta import apply_rollups

log = logging.getLogger("logger_app.writer")

MAX_ROWS_PER_TRANSACTION = 2000
# PostgreSQL commits overlap: while one transaction waits for its WAL flush, the next one is
# already being sent. SQLite has a single writer connection, so one flusher there.
POSTGRES_FLUSHERS = 4


@dataclass
class Stored:
    id: int
    duplicate: bool


@dataclass
class _Job:
    rows: list[dict[str, Any]]
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

    async def write(self, rows: list[dict[str, Any]]) -> list[Stored]:
        """Store rows in one transaction (shared with other callers); returns once committed."""
        if len(self._tasks) != self.flushers or self._tasks[0].done():
            self.start()
        job = _Job(rows)
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
                log.warning("storage unavailable while writing %d logs: %s", sum(len(j.rows) for j in jobs), type(exc).__name__)
                error = StorageUnavailable("storage unavailable")
            else:
                log.exception("unexpected error while writing logs")
                error = exc
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        for job, result in zip(jobs, results):
            if not job.future.done():
                job.future.set_result(result)

    async def _store(self, jobs: list[_Job]) -> list[list[Stored]]:
        rows = [row for job in jobs for row in job.rows]
        keyed = {(r["client_id"], r["idempotency_key"]) for r in rows if r["idempotency_key"] is not None}
        known: dict[tuple[str, str | None], int] = {}
        async with self.db.writer.begin() as conn:
            if keyed:
                existing = await conn.execute(
                    select(WorkflowLog.client_id, WorkflowLog.idempotency_key, WorkflowLog.id).where(
                        tuple_(WorkflowLog.client_id, WorkflowLog.idempotency_key).in_(list(keyed))
                    )
                )
                known = {(c, k): i for c, k, i in existing}
            fresh: list[dict[str, Any]] = []
            seen: set[tuple[str, str | None]] = set(known)
            for row in rows:
                ident = (row["client_id"], row["idempotency_key"])
                if row["idempotency_key"] is None or ident not in seen:
                    fresh.append(row)
                    if row["idempotency_key"] is not None:
                        seen.add(ident)
            ids: list[int] = []
            if fresh:
                ids = await insert_logs(self.db.dialect, conn, fresh)
                # Same transaction: the dashboards' rollups commit with the logs or not at all.
                await apply_rollups(conn, self.db.dialect, fresh)
        # Committed: map each submitted row to its id, marking repeats as duplicates.
        fresh_ids = iter(ids)
        assigned: dict[tuple[str, str], int] = {}
        out: list[list[Stored]] = []
        for job in jobs:
            stored: list[Stored] = []
            for row in job.rows:
                ident = (row["client_id"], row["idempotency_key"])
                if row["idempotency_key"] is not None and ident in known:
                    stored.append(Stored(known[ident], True))
                elif row["idempotency_key"] is not None and ident in assigned:
                    stored.append(Stored(assigned[ident], True))
                else:
                    new_id = next(fresh_ids)
                    if row["idempotency_key"] is not None:
                        assigned[ident] = new_id
                    stored.append(Stored(new_id, False))
            out.append(stored)
        return out


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        # The rows may still commit later; an idempotency key makes the client's retry safe.
        future.set_exception(StorageUnavailable("storage did not answer in time"))
