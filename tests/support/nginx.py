"""docs/deploy/nginx.conf, run by an unprivileged nginx in a temporary directory (tests/test_nginx.py).

Only what ties the file to a real install is rewritten: the upstream servers, the listen address,
the pid/log/temp paths (and `user`, which only a root master uses)."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import REPO, free_port

CONFIG = REPO / "docs" / "deploy" / "nginx.conf"


def _upstream(conf: str, name: str, ports: list[int]) -> str:
    block = re.search(r"(upstream " + name + r" \{\n)(.*?)(\n    \})", conf, re.S)
    assert block, f"upstream {name} not found in {CONFIG}"
    lines = [line for line in block.group(2).splitlines() if not line.strip().startswith("server ")]
    servers = [f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports]
    return conf[: block.start(2)] + "\n".join(servers + lines) + conf[block.end(2):]


def render(prefix: Path, port: int, api_ports: list[int], ui_ports: list[int]) -> str:
    conf = CONFIG.read_text()
    conf = conf.replace("/var/lib/nginx/", f"{prefix}/tmp-").replace("/var/log/nginx/", f"{prefix}/")
    conf = conf.replace("pid /run/nginx.pid;", f"pid {prefix}/nginx.pid;")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""  # root: workers as us, not nobody
    conf = conf.replace("user www-data;", user)
    conf = _upstream(conf, "logger_api", api_ports)
    return _upstream(conf, "logger_ui", ui_ports)


@dataclass
class Nginx:
    prefix: Path
    port: int
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, api_ports: list[int], ui_ports: list[int]) -> Nginx:
        self.prefix.mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(render(self.prefix, self.port, api_ports, ui_ports))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        check = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(self.prefix)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(self.prefix), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.prefix / "stderr.log", "wb"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not answer: {(self.prefix / 'error.log').read_text(errors='replace')}")

    def access_lines(self) -> list[str]:
        time.sleep(0.2)
        path = self.prefix / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (shutil.which("/usr/sbin/nginx"))


def new_nginx(workdir: Path) -> Nginx:
    return Nginx(workdir, free_port())
