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
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, data_dir: Path, port: int | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGGER_")}
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
    return json.loads(out[out.index("{"): out.rindex("}") + 1])["key"]


@dataclass
class ServerProcess:
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def port(self) -> int:
        return int(self.env["LOGGER_PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "main.py"], cwd=REPO, env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server not ready in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

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
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url, workdir / "data", **extra)
    return ServerProcess(env, workdir / "server.log").start()
