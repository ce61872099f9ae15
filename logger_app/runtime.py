"""Everything one server process holds: the database, the key cache, the writer, the counters.

Created by build(); the API routes, the pages and the CLI all reach the services through it."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from .config import Settings
from .db.engine import Database, create_database
from .db.migrate import upgrade
from .services.access.keys import KeyAuthenticator
from .services.access.ratelimit import limiter_for, read_limiter
from .services.ingest.counters import IngestCounter
from .services.ingest.in_flight import BytesInFlight
from .services.ingest.pipeline import Ingestor
from .services.ingest.redaction import Redactor
from .services.ingest.writer import LogWriter
from .services.otlp.ingest import OtlpIngestor
from .services.public_ids import PublicIds
from .services.retention import prune
from .telemetry.metrics import POOL_IN_USE, QUEUE_DEPTH

log = logging.getLogger("logger_app")


def redactor_from(settings: Settings) -> Redactor:
    """The privacy rules of PRIVACY.md, from the LOGGER_REDACT_* / LOGGER_HASH_KEYS settings."""

    def split(text: str) -> list[str]:
        return [k.strip() for k in text.split(",") if k.strip()]

    return Redactor(split(settings.redact_keys), split(settings.hash_keys), settings.resolved_storage_secret(),
                    settings.redact_patterns, split(settings.redact_key_parts))

_frozen = False


def freeze_startup_heap() -> None:
    """Move everything alive at start-up (NiceGUI, FastAPI, SQLAlchemy: ~700k objects) out of the
    garbage collector's reach. Parsing a 1 MiB batch creates ~100k containers that survive long
    enough to trigger full collections, and each traversed that whole start-up heap: ~30% of batch
    ingest time in the profile. Once per process; those objects live as long as it anyway."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


HOUSEKEEPING_SECONDS = 2.0
PRUNE_EVERY_SECONDS = 24 * 3600


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db: Database = create_database(settings.database_url, settings.db_timeout_seconds,
                                             settings.read_database_url or None)
        self.keys = KeyAuthenticator(self.db, ttl=settings.key_cache_seconds, timeout=settings.db_timeout_seconds)
        self.writer = LogWriter(self.db, settings.db_timeout_seconds)
        self.counter = IngestCounter(self.db)
        # Shared by every process through the database on PostgreSQL, in-process on SQLite.
        self.rate_limiter = limiter_for(self.db, "ingest", settings.rate_limit_per_key, timeout=settings.db_timeout_seconds)
        self.read_rate_limiter = read_limiter(settings.read_rate_limit_per_key, self.db, settings.db_timeout_seconds)
        # Held here and passed to every service that names a log, rather than set once in a module
        # global: one process may hold several runtimes (tests build one per app, with their own
        # secrets), and a forgotten parameter is a TypeError where a forgotten global set-up would
        # be a silent wrong key. Every process sharing the storage secret computes the same ids.
        self.public_ids = PublicIds.from_secret(settings.resolved_storage_secret())
        self.ingestor = Ingestor(self.writer, self.counter, settings.max_batch_items, self.public_ids,
                                 redactor_from(settings))
        self.otlp = OtlpIngestor(self.ingestor)  # POST /v1/traces: the same pipeline, one log per trace
        self.in_flight = BytesInFlight(settings.max_bytes_in_flight)  # bodies held by this process's ingest
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
            from .services.access.users import ensure_admin  # users pull in passlib; keep API-only imports light

            await ensure_admin(self.db, self.settings.admin_password)
            freeze_startup_heap()
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

    def _sample_gauges(self) -> None:
        """Queue depth and pool use, every housekeeping tick: a gauge set per request would cost the hot path."""
        QUEUE_DEPTH.set(self.writer.queue_depth)
        engines = {"writer": self.db.writer} if self.db.reader is self.db.writer else {"writer": self.db.writer, "reader": self.db.reader}
        for name, engine in engines.items():
            checked_out = getattr(engine.pool, "checkedout", None)
            if checked_out is not None:
                POOL_IN_USE.labels(name).set(checked_out())

    async def _flush_counters(self) -> None:
        self._sample_gauges()
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
