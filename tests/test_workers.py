"""`logger-app serve --workers N`: N processes share the API port, one of them also serves the
dashboard on its own port; a worker that dies is replaced and the port keeps answering. SQLite
refuses N > 1. Also the private metrics port (LOGGER_METRICS_BIND, summed over the workers) and
JSON server logs (LOGGER_LOG_FORMAT=json) with the request id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.pgdb import fresh_database
from tests.support.server import REPO, ServerProcess, create_client_key, free_port, read_back, server_env

LOG = {"status": "SUCCESS", "category": "billing"}


def test_more_than_one_worker_on_sqlite_is_refused_with_the_reason(tmp_path):
    env = server_env(f"sqlite+aiosqlite:///{tmp_path}/logger.db", tmp_path / "data")
    res = subprocess.run([sys.executable, "-m", "logger_app", "serve", "--workers", "2"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "--workers > 1 needs PostgreSQL" in res.stderr and "one writer per file" in res.stderr
    assert "Traceback" not in res.stderr


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


@pytest.fixture
def workers(tmp_path):
    if not os.environ.get("LOGGER_TEST_POSTGRES_URL"):
        pytest.skip("--workers needs PostgreSQL: set LOGGER_TEST_POSTGRES_URL (CI sets it)")
    with fresh_database("cl_workers") as url:
        metrics_port = free_port()
        env = server_env(url, tmp_path / "data", log_format="json", access_log="true",
                         metrics_bind=f"127.0.0.1:{metrics_port}", read_rate_limit_per_key="0")
        env["UI_PORT"] = str(free_port())
        server = ServerProcess(env, tmp_path / "server.log",
                               argv=("-m", "logger_app", "serve", "--workers", "2", "--ui-port", env["UI_PORT"]))
        server.start()
        server.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"  # type: ignore[attr-defined]
        try:
            yield server
        finally:
            server.stop()


def test_two_workers_share_the_api_port_and_one_serves_the_dashboard(workers):
    key = create_client_key(workers.env, "acme")
    children = _children(workers.pid)
    assert len(children) == 2
    for i in range(20):  # a new connection each: the kernel hands them to either worker
        r = httpx.post(workers.url + "/api/v1/logs", json={**LOG, "ticket_id": f"W-{i}"}, headers={"X-API-Key": key})
        assert r.status_code == 200
    assert len(read_back(workers.url, key, ticket_prefix="W-")) == 20

    ui = f"http://127.0.0.1:{workers.env['UI_PORT']}"
    assert httpx.get(ui + "/login").status_code == 200 and "<html" in httpx.get(ui + "/login").text.lower()
    redirected = httpx.get(workers.url + "/login?next=/logs")
    assert redirected.status_code == 307 and redirected.headers["location"] == f"{ui}/login?next=/logs"

    # Metrics on the private port: no key needed, summed over both workers.
    text = httpx.get(workers.metrics_url).text
    assert _metric(text, "logger_logs_total", client="acme", outcome="accepted", reason="") == 20

    # JSON server logs, one object per line, the access line carrying the response's request id.
    probe = httpx.get(workers.url + "/api/v1/logs", headers={"X-API-Key": key, "X-Request-ID": "probe-7"})
    assert probe.headers["x-request-id"] == "probe-7"
    time.sleep(0.5)
    lines = [json.loads(line) for line in workers.log_path.read_text().splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "logger_app.access" and line.get("request_id") == "probe-7"]
    assert len(access) == 1 and access[0]["message"].startswith("GET /api/v1/logs 200 client=acme")
    assert key not in workers.log_path.read_text()


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(workers):
    key = create_client_key(workers.env, "acme")
    api_only = _children(workers.pid)[1]
    os.kill(api_only, signal.SIGKILL)
    for i in range(10):
        r = httpx.post(workers.url + "/api/v1/logs", json={**LOG, "ticket_id": f"K-{i}"}, headers={"X-API-Key": key})
        assert r.status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kids = _children(workers.pid)
        if len(kids) == 2 and api_only not in kids:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"worker not replaced:\n{workers.log_tail()}")
    assert "starting it again" in workers.log_tail()
    assert len(read_back(workers.url, key, ticket_prefix="K-")) == 10


async def test_an_api_only_process_serves_the_api_and_refuses_dashboard_paths(settings):
    from logger_app.app import create_api
    from logger_app.edge.api_port import ApiPortGuard

    app = create_api(settings)  # what `serve --api-only` serves, with the guard it adds
    app.add_middleware(ApiPortGuard, api_port=None, ui_port=None)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            assert (await c.get("/healthz")).status_code == 200
            assert (await c.get("/openapi.json")).status_code == 200
            assert (await c.get("/api/v1/logs")).status_code == 401  # the API itself, asking for a key
            page = await c.get("/logs")
            assert page.status_code == 404 and page.json()["error"]["message"] == "the dashboard is not served on this port"
