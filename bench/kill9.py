"""kill -9 the server while a load generator sends logs; restart; check every acknowledged log.

An acknowledged log (200) must be stored exactly once after any number of crashes, and a client
that retries its unacknowledged requests with the same idempotency key must not create a second
copy. On SQLite the file must also pass PRAGMA integrity_check.

    .venv/bin/python bench/kill9.py                        # SQLite and PostgreSQL, 5 crashes each
    .venv/bin/python bench/kill9.py --backend sqlite --rounds 10
    LOGGER_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test .venv/bin/python bench/kill9.py --backend postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.postgres import admin_sql, sibling_url  # noqa: E402
from tests.support.server import ServerProcess, create_client_key, server_env  # noqa: E402

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class Load:
    """Worker threads posting logs (singles and batches), each with an idempotency key."""

    def __init__(self, url: str, key: str, workers: int, prefix: str):
        self.url, self.key, self.prefix = url, key, prefix
        self.acked: dict[str, str] = {}  # idempotency key -> (public) id the server acknowledged
        self.unacked: set[str] = set()  # sent, answer lost (connection died): may or may not be stored
        self.errors: collections.Counter = collections.Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(workers)]
        self.seq = 0

    def start(self) -> None:
        self.stop.clear()
        self.threads = [threading.Thread(target=self._run, args=(t.name,), daemon=True) for t in self.threads]
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _next(self) -> str:
        with self.lock:
            self.seq += 1
            return f"{self.prefix}-{self.seq}"

    def _run(self, _name) -> None:
        headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
        with httpx.Client(base_url=self.url, timeout=10, headers=headers) as client:
            while not self.stop.is_set():
                idems = [self._next() for _ in range(random.choice([1, 1, 1, 5]))]
                with self.lock:
                    self.unacked.update(idems)
                try:
                    if len(idems) == 1:
                        resp = client.post("/api/v1/logs", json={"ticket_id": idems[0], "status": "SUCCESS"},
                                           headers={"Idempotency-Key": idems[0]})
                        results = [resp.json()] if resp.status_code == 200 else []
                    else:
                        logs = [{"ticket_id": i, "status": "SUCCESS", "idempotency_key": i} for i in idems]
                        resp = client.post("/api/v1/logs/batch", json={"logs": logs})
                        results = resp.json()["results"] if resp.status_code == 200 else []
                except (httpx.TransportError, ValueError) as exc:
                    self.errors[type(exc).__name__] += 1
                    time.sleep(0.05)
                    continue
                if resp.status_code != 200:
                    self.errors[f"http {resp.status_code}"] += 1
                    continue
                with self.lock:
                    for idem, result in zip(idems, results):
                        self.acked[idem] = result["id"]
                        self.unacked.discard(idem)

    def retry_unacked(self) -> tuple[int, int]:
        """What a well-behaved client does after reconnecting: resend with the same key."""
        fresh = dupes = 0
        headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
        with httpx.Client(base_url=self.url, timeout=30, headers=headers) as client:
            for idem in sorted(self.unacked):
                resp = client.post("/api/v1/logs", json={"ticket_id": idem, "status": "SUCCESS"},
                                   headers={"Idempotency-Key": idem})
                resp.raise_for_status()
                body = resp.json()
                self.acked[idem] = body["id"]
                dupes += body["duplicate"]
                fresh += not body["duplicate"]
        self.unacked.clear()
        return fresh, dupes


async def stored_rows(url: str, client_id: str, secret: str) -> list[tuple[str, str]]:
    """(public id, idempotency key) of every stored row, to compare with what the server acknowledged."""
    from logger_app.services.public_ids import PublicIds

    ids = PublicIds.from_secret(secret)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT id, idempotency_key FROM workflow_logs WHERE client_id = :c"),
                                      {"c": client_id})
            return [(ids.encode(r[0]), r[1]) for r in rows]
    finally:
        await engine.dispose()


def run_backend(backend: str, rounds: int, workers: int, pg_url: str, workdir: Path) -> bool:
    dbname = f"cl_kill9_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir}/logger.db"
    else:
        asyncio.run(admin_sql(pg_url, f'CREATE DATABASE "{dbname}"'))
        url = sibling_url(pg_url, dbname)
    server = ServerProcess(server_env(url, workdir / "data"), workdir / "server.log")
    try:
        server.start()
        key = create_client_key(server.env, "kill9")
        load = Load(server.url, key, workers, prefix=uuid.uuid4().hex[:8])
        kill_times = []
        for n in range(rounds):
            load.start()
            time.sleep(random.uniform(1.5, 4.0))
            before = len(load.acked)
            server.kill()  # SIGKILL mid-load: no shutdown hook, no flush
            load.join()
            restart_at = time.monotonic()
            server.start()
            kill_times.append(time.monotonic() - restart_at)
            fresh, dupes = load.retry_unacked()
            print(f"  [{backend}] crash {n + 1}: {before} acked before kill, restart {kill_times[-1]:.1f}s, "
                  f"retried unacknowledged: {fresh} new + {dupes} already stored", flush=True)
        server.stop()
        rows = asyncio.run(stored_rows(url, "kill9", server.env["LOGGER_STORAGE_SECRET"]))
        by_key = collections.Counter(k for _, k in rows)
        ids = {i for i, _ in rows}
        missing = [k for k, i in load.acked.items() if i not in ids]
        doubled = [k for k, c in by_key.items() if c > 1]
        wrong = [k for k, i in load.acked.items() if (i, k) not in set(rows)]
        ok = not missing and not doubled and not wrong and len(rows) == len(load.acked)
        print(f"  [{backend}] {len(load.acked)} acknowledged, {len(rows)} stored, missing {len(missing)}, "
              f"stored twice {len(doubled)}, id mismatch {len(wrong)}; client errors {dict(load.errors)}")
        if backend == "sqlite":
            with sqlite3.connect(workdir / "logger.db") as conn:
                integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            print(f"  [sqlite] PRAGMA integrity_check = {integrity}")
            ok = ok and integrity == "ok"
        return ok
    finally:
        server.stop()
        if backend == "postgresql":
            asyncio.run(admin_sql(pg_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5, help="crashes per backend")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--pg-url", default=os.environ.get("LOGGER_TEST_POSTGRES_URL", PG_DEFAULT))
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = {}
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix=f"kill9-{backend}-") as tmp:
            print(f"{backend}: {args.rounds} x kill -9 under load ({args.workers} workers)", flush=True)
            results[backend] = run_backend(backend, args.rounds, args.workers, args.pg_url, Path(tmp))
    print("RESULT:", ", ".join(f"{b} {'PASS' if ok else 'FAIL'}" for b, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
