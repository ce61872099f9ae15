"""docs/deploy/nginx.conf in front of two real `logger-app serve` processes on one PostgreSQL.

Shows what "stateless processes behind a standard proxy" promises: a login made on one process is
valid on the other, a log stored through one is listed through the other, a key revoked through
one is refused by the other within 10 s, the overview is the same whichever process answers, and
killing one process loses no acknowledged log while the proxy keeps serving. Also: the dashboard
is sticky (page and websocket reach one process), the API is round robin, the body limits match.

Skips without nginx (apt-get install nginx) unless LOGGER_REQUIRE_NGINX=1 (CI), and without
PostgreSQL (LOGGER_TEST_POSTGRES_URL; CI sets it)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import socket
import time
import uuid

import httpx
import pytest

from tests.support.nginx import new_nginx, nginx_binary
from tests.support.pgdb import fresh_database
from tests.support.server import ServerProcess, cli, read_back, server_env

ADMIN_PASSWORD = "admin-password-for-tests"  # tests/support/server.py's server_env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if nginx_binary() is None:
        if os.environ.get("LOGGER_REQUIRE_NGINX") == "1":
            pytest.fail("LOGGER_REQUIRE_NGINX=1 but nginx is not installed (apt-get install nginx)")
        pytest.skip("no nginx installed (apt-get install nginx); CI sets LOGGER_REQUIRE_NGINX=1")
    if not os.environ.get("LOGGER_TEST_POSTGRES_URL"):
        pytest.skip("several processes need PostgreSQL: set LOGGER_TEST_POSTGRES_URL (CI sets it)")
    tmp = tmp_path_factory.mktemp("nginx")
    with fresh_database("cl_nginx") as url:
        servers = []
        proxy = new_nginx(tmp / "nginx")
        try:
            for name in ("a", "b"):
                env = server_env(url, tmp / name / "data", trusted_proxies="127.0.0.1", access_log="true",
                                 read_rate_limit_per_key="0")
                servers.append(ServerProcess(env, tmp / f"{name}.log").start())
            proxy.start(api_ports=[s.port for s in servers], ui_ports=[s.port for s in servers])
            yield servers, proxy
        finally:
            proxy.stop()
            for server in servers:
                server.stop()


def _key(env: dict[str, str], client_id: str) -> tuple[str, str]:
    try:
        cli(env, "client", "create", client_id)
    except RuntimeError as exc:
        if "exists" not in str(exc):
            raise
    out = cli(env, "key", "create", client_id, "--json")
    created = json.loads(out[out.index("{"): out.rindex("}") + 1])
    return created["key"], created["prefix"]


def _log(ticket: str) -> dict:
    return {"ticket_id": ticket, "status": "SUCCESS", "category": "billing", "execution_time_seconds": 1.5}


def test_a_login_on_one_process_is_valid_on_the_other(cluster):
    (a, b), proxy = cluster
    from logger_app.db.engine import create_database
    from logger_app.services.access import sessions

    browser = secrets.token_urlsafe(32)  # the binding cookie a browser gets on its first visit

    async def mint_ticket() -> str | None:  # what the login form's handler does (pages/auth.py)
        db = create_database(a.env["LOGGER_DATABASE_URL"])
        try:
            return await sessions.login(db, "admin", ADMIN_PASSWORD, "127.0.0.1", browser=browser)
        finally:
            await db.dispose()

    ticket = asyncio.run(mint_ticket())
    assert ticket
    redeemed = httpx.get(f"{a.url}/auth/complete", params={"ticket": ticket, "next": "/logs"},
                         headers={"Sec-Fetch-Site": "same-origin"}, cookies={"cl_browser": browser})
    assert redeemed.status_code == 303 and redeemed.headers["location"] == "/logs"
    session = redeemed.cookies["cl_session"]
    cookies = {"cl_browser": browser, "cl_session": session}
    for base in (b.url, proxy.url, a.url):
        page = httpx.get(base + "/logs", cookies=cookies)
        assert page.status_code == 200, base
    anonymous = httpx.get(b.url + "/logs", cookies={"cl_browser": browser})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_a_log_stored_through_one_is_listed_through_the_other_and_the_overview_agrees(cluster):
    (a, b), proxy = cluster
    key, _ = _key(a.env, "listed")
    for i in range(6):
        assert httpx.post(a.url + "/api/v1/logs", json=_log(f"L-{i}"), headers={"X-API-Key": key}).status_code == 200
    for i in range(6, 10):
        assert httpx.post(proxy.url + "/api/v1/logs", json=_log(f"L-{i}"), headers={"X-API-Key": key}).status_code == 200
    assert sorted(x["ticket_id"] for x in read_back(b.url, key)) == sorted(f"L-{i}" for i in range(10))
    overviews = [httpx.get(base + "/api/v1/metrics/overview", headers={"X-API-Key": key}).json()
                 for base in (a.url, b.url, proxy.url, proxy.url, proxy.url)]
    assert overviews[0]["total"] == 10 and overviews[0]["success"] == 10
    assert all(o == overviews[0] for o in overviews), overviews
    # The API is round robin: both processes answered requests through the proxy.
    upstreams = {m.group(1) for line in proxy.access_lines() if "/api/v1/" in line
                 and (m := re.search(r" (127\.0\.0\.1:\d+) rid=", line))}
    assert upstreams == {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"}


def test_a_key_revoked_through_one_is_refused_by_the_other_within_10_s(cluster):
    (a, b), proxy = cluster
    key, prefix = _key(a.env, "revoked")
    assert httpx.get(b.url + "/api/v1/logs", headers={"X-API-Key": key}).status_code == 200  # cached on b now
    revoked_at = time.monotonic()
    cli(a.env, "key", "revoke", prefix)
    while httpx.get(b.url + "/api/v1/logs", headers={"X-API-Key": key}).status_code == 200:
        assert time.monotonic() - revoked_at < 10, "b still accepts a revoked key"
        time.sleep(0.25)
    for base in (a.url, proxy.url):
        assert httpx.get(base + "/api/v1/logs", headers={"X-API-Key": key}).status_code == 401


def test_the_dashboard_is_sticky_and_its_websocket_upgrades(cluster):
    (a, b), proxy = cluster
    for _ in range(6):
        assert httpx.get(proxy.url + "/login").status_code == 200
    ui = {m.group(1) for line in proxy.access_lines() if "GET /login " in line
          and (m := re.search(r" (127\.0\.0\.1:\d+) rid=", line))}
    assert len(ui) == 1
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall((f"GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
        head = sock.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 101"), head


def test_body_limits_match_the_logger_s(cluster):
    (a, b), proxy = cluster
    key, _ = _key(a.env, "bodies")
    over = b"{" + b" " * (1024 * 1024) + b"}"
    refused = httpx.post(proxy.url + "/api/v1/logs/batch", content=over, headers={"X-API-Key": key, "Content-Type": "application/json"})
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "payload_too_large"
    # OTLP exports may be up to 16 MiB: nginx passes a 2 MiB body on to the logger.
    traces = httpx.post(proxy.url + "/v1/traces", content=b"\0" * (2 * 1024 * 1024),
                        headers={"X-API-Key": key, "Content-Type": "application/x-protobuf"})
    assert traces.status_code != 413 and "x-request-id" in traces.headers  # answered by the logger, not nginx


def test_killing_one_process_loses_no_acknowledged_log_and_the_proxy_keeps_serving(cluster):
    (a, b), proxy = cluster
    key, _ = _key(b.env, "killed")
    acknowledged: set[str] = set()
    first_try_failures_after_kill = 0
    with httpx.Client(base_url=proxy.url, headers={"X-API-Key": key}, timeout=10) as client:
        for i in range(80):
            if i == 30:
                a.kill()  # kill -9: no shutdown, no flush
            ticket, idem = f"K-{i}", uuid.uuid4().hex
            for attempt in range(3):  # what the client library does: retry with the same idempotency key
                try:
                    r = client.post("/api/v1/logs", json=_log(ticket), headers={"Idempotency-Key": idem})
                except httpx.TransportError:
                    r = None
                if r is not None and r.status_code == 200:
                    acknowledged.add(ticket)
                    break
                if i >= 30 and attempt == 0:
                    first_try_failures_after_kill += 1
                time.sleep(0.2)
    assert len(acknowledged) == 80
    assert first_try_failures_after_kill <= 1, first_try_failures_after_kill
    stored = [x["ticket_id"] for x in read_back(proxy.url, key)]
    assert sorted(stored) == sorted(acknowledged)  # every acknowledged log, once
    assert httpx.get(proxy.url + "/readyz").status_code == 200
    a.start()  # back for any later test in this module

