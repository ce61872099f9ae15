"""A throw-away PostgreSQL primary and a real streaming replica of it (`pg_basebackup -R`), made with
Debian's PostgreSQL binaries in a temporary directory on ports of their own.

The shared server on 5432 is never touched: its pg_hba.conf has no replication line, and changing
another user's server from a test is not ours to do. As root the clusters run as `postgres`
(initdb refuses root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.server import free_port

BIN_DIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def available() -> str | None:
    """None when a replica pair can be made here, else why not."""
    if not BIN_DIRS or not Path(BIN_DIRS[-1], "pg_basebackup").exists():
        return "PostgreSQL server binaries (postgresql package) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root with no postgres user to run the clusters as"
    return None


class ReplicaPair:
    def __init__(self, workdir: Path):
        self.bin = Path(BIN_DIRS[-1])
        self.root = workdir / "pg"
        self.primary_port, self.replica_port = free_port(), free_port()
        self.started: list[Path] = []

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]] if (self.bin / args[0]).exists() else list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=check, cwd="/")

    def url(self, port: int, database: str = "test") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _start(self, data: Path, port: int) -> None:
        options = f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / f"{data.name}.log"), "-w", "-t", "60", "-o", options, "start")
        self.started.append(data)

    def start(self) -> ReplicaPair:
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        primary, replica = self.root / "primary", self.root / "replica"
        # initdb -A trust writes pg_hba lines for replication from 127.0.0.1 too.
        self._run("initdb", "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync")
        self._start(primary, self.primary_port)
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres", "-c", "CREATE DATABASE test")
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres", "-D", str(replica),
                  "-R", "-X", "stream", "--no-sync", "-c", "fast")  # fast: no wait for a spread checkpoint
        self._start(replica, self.replica_port)
        return self

    def sql(self, port: int, statement: str) -> str:
        return self._run("psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "test", "-Atc", statement).stdout.strip()

    def wait_until_replayed(self, timeout: float = 20.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        target = self.sql(self.primary_port, "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql(self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t":
                return
            time.sleep(0.1)
        raise AssertionError("the replica did not catch up")

    def stop(self) -> None:
        for data in reversed(self.started):
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "stop", check=False)
        self.started.clear()
