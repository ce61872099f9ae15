"""The real server (`python main.py`, uvicorn + NiceGUI) as a subprocess, for tests and bench scripts.

Slow-client and crash behaviour belongs to uvicorn and the OS, so it can only be observed on a real
process; the ASGI transport used elsewhere has no sockets at all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, data_dir: Path, port: int | None = None, *, inherit_logger_env: bool = False,
               **extra: str) -> dict[str, str]:
    """The environment of a server process and of the CLI run against its database.

    The caller's own LOGGER_* variables are dropped, so that a developer's settings cannot leak into
    a test, unless `inherit_logger_env` (the benches keep them: `LOGGER_X=... bench/...` tunes the
    server under test). `extra` sets more settings by name: read_rate_limit_per_key="0"."""
    env = {k: v for k, v in os.environ.items() if inherit_logger_env or not k.startswith("LOGGER_")}
    env.update({
        "LOGGER_DATABASE_URL": database_url,
        "LOGGER_HOST": "127.0.0.1",
        "LOGGER_PORT": str(port or free_port()),
        "LOGGER_DATA_DIR": str(data_dir),
        "LOGGER_ADMIN_PASSWORD": "admin-password-for-tests",
        "LOGGER_STORAGE_SECRET": "test-secret",
    })
    env.update({f"LOGGER_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def cli(env: dict[str, str], *args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "logger_app", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"CLI {args} failed ({res.returncode}): {res.stdout}\n{res.stderr}")
    return res.stdout


def create_client_key(env: dict[str, str], client_id: str) -> str:
    try:
        cli(env, "client", "create", client_id)
    except RuntimeError as exc:
        if "exists" not in str(exc):  # a restarted server keeps its clients
            raise
    out = cli(env, "key", "create", client_id, "--json")
    # Tolerate log lines around the JSON object.
    return json.loads(out[out.index("{"): out.rindex("}") + 1])["key"]


@dataclass
class ServerProcess:
    """One server process, started (again, after a crash) with `start()`, which returns once
    `ready_path` answers 200.

    The defaults are the tests': `python main.py` from this checkout, ready when /readyz says the
    database is reachable. The benches time start-up to the first /healthz (`started_in`, polled
    more often), may run another checkout (`cwd`) or another app (`argv`)."""

    env: dict[str, str]
    log_path: Path | None = None  # stdout and stderr, appended; None discards them
    proc: subprocess.Popen | None = None
    argv: tuple[str, ...] = ("main.py",)  # after the interpreter, relative to cwd
    cwd: Path = REPO
    ready_path: str = "/readyz"
    poll_seconds: float = 0.2
    started_in: float = 0.0  # seconds from the last start to the first 200 on ready_path

    @property
    def port(self) -> int:
        return int(self.env["LOGGER_PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> ServerProcess:
        out = open(self.log_path, "ab") if self.log_path is not None else subprocess.DEVNULL
        started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, *self.argv], cwd=self.cwd, env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT)
        if out is not subprocess.DEVNULL:
            out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as resp:
                    if resp.status == 200:
                        self.started_in = time.perf_counter() - started
                        return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server not ready in {timeout}s:\n{self.log_tail()}")
            time.sleep(self.poll_seconds)

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def rss_kb(self) -> int:
        """Resident memory of the server process (Linux /proc; no psutil needed)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no flush; what a crash or the OOM killer does."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(database_url: str, workdir: Path, **extra: str) -> ServerProcess:
    """A started server with its data directory and server.log in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url, workdir / "data", **extra)
    return ServerProcess(env, workdir / "server.log").start()


# -- reading back what a running server stored ---------------------------------------------


def read_back(url: str, api_key: str, *, ticket_prefix: str | None = None, max_pages: int = 1000) -> list[dict]:
    """Every stored log visible to ``api_key`` (optionally only those whose ticket_id has a prefix)."""
    items: list[dict] = []
    cursor = None
    for _ in range(max_pages):
        query = {"limit": "200"}
        if cursor:
            query["cursor"] = cursor
        req = urllib.request.Request(
            f"{url}/api/v1/logs?{urllib.parse.urlencode(query)}", headers={"X-API-Key": api_key}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            page = json.loads(resp.read())
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if ticket_prefix is not None:
        items = [i for i in items if str(i.get("ticket_id", "")).startswith(ticket_prefix)]
    return items


def read_one(url: str, api_key: str, log_id: str) -> dict:
    """The whole stored log (payload, extra fields, idempotency_key), which list pages omit."""
    req = urllib.request.Request(f"{url}/api/v1/logs/{log_id}", headers={"X-API-Key": api_key})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())
