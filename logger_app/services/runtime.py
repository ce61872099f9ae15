"""Everything one server process holds: the database, the key cache, the writer, the counters.

Created by build(); the API routes, the pages and the CLI all reach the services through it."""

from __future__ import annotations

import asyncio
import logging
import time

from ..config import Settings
from ..db.engine import Database, create_database
from ..db.migrate import upgrade
from .ingest import Ingestor
from .ingest_stats import IngestCounter
from .keys import KeyAuthenticator
from .public_ids import PublicIds
from .retention import prune
from .writer import LogWriter

log = logging.getLogger("logger_app")

HOUSEKEEPING_SECONDS = 2.0
PRUNE_EVERY_SECONDS = 24 * 3600


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db: Database = create_database(settings.database_url, settings.db_timeout_seconds)
        self.keys = KeyAuthenticator(self.db, ttl=settings.key_cache_seconds, timeout=settings.db_timeout_seconds)
        self.writer = LogWriter(self.db, settings.db_timeout_seconds)
        self.counter = IngestCounter(self.db)
        # Held here and passed to every service that names a log, rather than set once in a module
        # global: one process may hold several runtimes (tests build one per app, with their own
        # secrets), and a forgotten parameter is a TypeError where a forgotten global set-up would
        # be a silent wrong key. Every process sharing the storage secret computes the same ids.
        self.public_ids = PublicIds.from_secret(settings.resolved_storage_secret())
        self.ingestor = Ingestor(self.writer, self.counter, settings.max_batch_items, self.public_ids,
                                 settings.redactor())
        self._started = False
        self._lock = asyncio.Lock()
        self._housekeeping: asyncio.Task | None = None

    async def start(self, migrate: bool = True) -> None:
        """Idempotent: NiceGUI's startup and the API app's lifespan may both call it."""
        async with self._lock:
            if self._started:
                return
            if migrate:
                await upgrade(self.settings.database_url)
            from .users import ensure_admin  # users pull in passlib; keep API-only imports light

            await ensure_admin(self.db, self.settings.admin_password)
            self.writer.start()
            self._housekeeping = asyncio.get_running_loop().create_task(self._housekeep(), name="housekeeping")
            self._started = True

    async def stop(self) -> None:
        async with self._lock:
            if not self._started:
                return
            if self._housekeeping:
                self._housekeeping.cancel()
            await self.writer.stop()
            await self._flush_counters()
            await self.db.dispose()
            self._started = False

    async def _flush_counters(self) -> None:
        try:
            await self.counter.flush()
            await self.keys.flush_last_used()
        except Exception as exc:  # counters are informational; never let them take the server down
            log.warning("housekeeping failed: %s", type(exc).__name__)

    async def _housekeep(self) -> None:
        last_prune = time.monotonic() - PRUNE_EVERY_SECONDS + 60  # first prune a minute after start
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            await self._flush_counters()
            if self.settings.retention_days and time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                last_prune = time.monotonic()
                try:
                    deleted = await prune(self.db, self.settings.retention_days)
                    log.info("retention: pruned %d logs older than %d days", deleted, self.settings.retention_days)
                except Exception as exc:
                    log.warning("retention prune failed: %s", type(exc).__name__)
