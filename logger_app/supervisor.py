"""`logger-app serve --workers N`: N server processes sharing one API port, one of them the dashboard.

Layout (chosen over N full processes behind sticky routing, because it needs no proxy to be
correct): the supervisor binds the API port (LOGGER_PORT) and the UI port (--ui-port, default
LOGGER_PORT + 1) once and starts N workers that inherit the sockets. The kernel hands each new
connection on the API port to whichever worker accepts first, so ingest and reads spread over N
processes. Worker 0 also mounts NiceGUI and alone serves the UI port: a page's websocket always
comes back to the process that rendered it. Dashboard paths asked of the API port are redirected
to the UI port (edge/api_port.py). A worker that dies is started again; nothing any request
depends on lives only in a worker (keys, sessions, counters, rate limits are in the database).

PostgreSQL only: SQLite has one writer per file, and N processes would queue on its lock (and
each hold its own in-process rate-limit bucket), so N > 1 on SQLite is refused."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from .config import Settings
from .db.dialect import Dialect
from .services.errors import ServiceError
from .telemetry.metrics import MULTIPROC_ENV

RESTART_BACKOFF_SECONDS = 1.0


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ServiceError("--workers must be at least 1")
    if workers > 1 and Dialect.of_url(settings.database_url) is Dialect.SQLITE:
        raise ServiceError("--workers > 1 needs PostgreSQL (LOGGER_DATABASE_URL=postgresql+asyncpg://...): "
                           "SQLite allows one writer per file, so more processes would only wait for each other")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def _prepare(settings: Settings) -> None:
    """Migrate, create the admin and the storage secret once, before any worker starts: N workers
    would race on all three (two workers each generating a secret would give every log two public ids)."""
    settings.resolved_storage_secret()
    from .db.engine import create_database
    from .db.migrate import upgrade
    from .services.access.users import ensure_admin

    await upgrade(settings.database_url)
    db = create_database(settings.database_url, settings.db_timeout_seconds)
    try:
        await ensure_admin(db, settings.admin_password)
    finally:
        await db.dispose()


def supervise(settings: Settings, workers: int, ui_port: int | None) -> int:
    check_workers(settings, workers)
    ui_port = ui_port or settings.port + 1
    asyncio.run(_prepare(settings))
    api_sock, ui_sock = _bind(settings.host, settings.port), _bind(settings.host, ui_port)
    metrics_dir = tempfile.mkdtemp(prefix="logger-metrics-")
    env = dict(os.environ, **{MULTIPROC_ENV: metrics_dir})
    if settings.metrics_bind:
        os.environ[MULTIPROC_ENV] = metrics_dir  # before this process renders anything
        from .telemetry.metrics import serve_private

        serve_private(settings.metrics_bind)

    def spawn(index: int) -> subprocess.Popen:
        fds = [api_sock.fileno()] + ([ui_sock.fileno()] if index == 0 else [])
        argv = [sys.executable, "-m", "logger_app", "serve", "--listen-fds", ",".join(map(str, fds)),
                "--ui-port", str(ui_port)] + ([] if index == 0 else ["--api-only"])
        return subprocess.Popen(argv, env=env, pass_fds=fds, preexec_fn=_die_with_parent)

    procs = {i: spawn(i) for i in range(workers)}
    print(f"serving the API on {settings.host}:{settings.port} ({workers} processes) and the dashboard on "
          f"{settings.host}:{ui_port}", file=sys.stderr, flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            time.sleep(0.5)
            for i, proc in list(procs.items()):
                if proc.poll() is not None and not stopping:
                    _forget(metrics_dir, proc.pid)
                    print(f"worker {i} (pid {proc.pid}) exited with {proc.returncode}; starting it again",
                          file=sys.stderr, flush=True)
                    time.sleep(RESTART_BACKOFF_SECONDS)
                    procs[i] = spawn(i)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM when the supervisor dies (even by kill -9), instead of living on
    as an orphan holding the port."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _forget(metrics_dir: str, pid: int) -> None:
    """A dead worker's live gauges (queue depth, pool in use) must not be summed any more."""
    from prometheus_client import multiprocess

    os.environ.setdefault(MULTIPROC_ENV, metrics_dir)
    multiprocess.mark_process_dead(pid, metrics_dir)
