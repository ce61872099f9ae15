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

from sqlalchemy import insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from ..db.engine import Database
from ..db.models import WorkflowLog
from .errors import StorageUnavailable
from .faults import is_storage_error

log = logging.getLogger("logger_app.writer")

MAX_ROWS_PER_TRANSACTION = 2000


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
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="log-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(StorageUnavailable("server is shutting down"))

    async def write(self, rows: list[dict[str, Any]]) -> list[Stored]:
        """Store rows in one transaction (shared with other callers); returns once committed."""
        self.start()
        job = _Job(rows)
        await self._queue.put(job)
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), self.timeout)
        except asyncio.TimeoutError:
            # The rows may still commit later; an idempotency key makes the client's retry safe.
            raise StorageUnavailable("storage did not answer in time")

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
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    results = await self._store(jobs)
                except IntegrityError:
                    # Another process stored the same idempotency key between our check and
                    # insert: fall back to one transaction per request so only that one retries.
                    results = []
                    for job in jobs:
                        try:
                            results.append(await self._store([job]))
                        except IntegrityError:
                            results.append(await self._store([job]))
                    results = [r for part in results for r in part]
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
        known: dict[tuple[str, str], int] = {}
        async with self.db.writer.begin() as conn:
            if keyed:
                existing = await conn.execute(
                    select(WorkflowLog.client_id, WorkflowLog.idempotency_key, WorkflowLog.id).where(
                        tuple_(WorkflowLog.client_id, WorkflowLog.idempotency_key).in_(list(keyed))
                    )
                )
                known = {(c, k): i for c, k, i in existing}
            fresh: list[dict[str, Any]] = []
            seen: set[tuple[str, str]] = set(known)
            for row in rows:
                ident = (row["client_id"], row["idempotency_key"])
                if row["idempotency_key"] is None or ident not in seen:
                    fresh.append(row)
                    if row["idempotency_key"] is not None:
                        seen.add(ident)
            ids: list[int] = []
            if fresh:
                result = await conn.execute(
                    insert(WorkflowLog).returning(WorkflowLog.id, sort_by_parameter_order=True), fresh
                )
                ids = list(result.scalars())
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
