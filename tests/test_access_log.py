"""The console's access lines: one concise line per request that was not a 2xx (every request when
LOGGER_ACCESS_LOG=true), with the route template, the client and the request id, nothing secret."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.support.server import create_client_key, start_server

LINE = re.compile(r"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) (\d{3}|-) client=(\S+) [\d.]+ms rid=(\S+)$")


def _access_lines(server) -> list[tuple[str, ...]]:
    time.sleep(0.3)  # the server writes its console asynchronously to the test
    return [m.groups() for line in server.log_path.read_text(errors="replace").splitlines() if (m := LINE.search(line))]


@pytest.fixture
def quiet_server(tmp_path):
    srv = start_server(f"sqlite+aiosqlite:///{tmp_path}/logger.db", tmp_path / "srv")
    yield srv
    srv.stop()


def test_refusals_get_one_line_each_and_successes_none_by_default(quiet_server):
    key = create_client_key(quiet_server.env, "acme")
    ok = httpx.post(quiet_server.url + "/api/v1/logs", json={"ticket_id": "T-1", "status": "SUCCESS"}, headers={"X-API-Key": key})
    assert ok.status_code == 200 and re.fullmatch(r"[0-9a-f]{16}", ok.headers["x-request-id"])
    bad_key = "lk_wrong_key_that_must_never_be_logged"
    refused = httpx.get(quiet_server.url + "/api/v1/logs?status=ERROR&ticket_id=private-ticket",
                        headers={"X-API-Key": bad_key, "X-Request-ID": "support-case-42"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "support-case-42"
    forged = httpx.get(quiet_server.url + "/api/v1/nothing", headers={"X-Request-ID": "1 GET /fake 200 client=acme"})
    assert forged.status_code == 404 and re.fullmatch(r"[0-9a-f]{16}", forged.headers["x-request-id"])
    httpx.get(quiet_server.url + "/login")  # a page view: a 2xx, and its socket is not ours to log

    lines = _access_lines(quiet_server)
    assert ("GET", "/api/v1/logs", "401", "-", "support-case-42") in lines
    assert ("GET", "/api/v1/nothing", "404", "-", forged.headers["x-request-id"]) in lines
    assert not [line for line in lines if line[2].startswith("2")], lines  # 2xx lines are DEBUG by default
    console = quiet_server.log_path.read_text(errors="replace")
    assert bad_key not in console and "private" not in console and "status=ERROR" not in console
    assert max(len(line) for line in console.splitlines()) < 200


def test_every_request_is_logged_with_its_client_when_asked(tmp_path):
    srv = start_server(f"sqlite+aiosqlite:///{tmp_path}/logger.db", tmp_path / "srv", access_log="true")
    try:
        key = create_client_key(srv.env, "acme")
        ok = httpx.post(srv.url + "/api/v1/logs", json={"ticket_id": "T-1", "status": "SUCCESS"}, headers={"X-API-Key": key})
        assert ok.status_code == 200
        lines = _access_lines(srv)
    finally:
        srv.stop()
    assert ("POST", "/api/v1/logs", "200", "acme", ok.headers["x-request-id"]) in lines
