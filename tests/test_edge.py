"""The edge: whom the server believes, the headers it sends, and what its log lines may carry."""

from __future__ import annotations

import io
import logging
import re

import httpx
import pytest
from sqlalchemy.exc import DBAPIError

from logger_app.edge.headers import API_CSP, PAGE_CSP
from logger_app.edge.logfilter import ScrubFilter
from logger_app.edge.middleware import EdgeMiddleware
from logger_app.edge.proxies import TrustedProxies
from tests.support.server import start_server


async def _echo(scope, receive, send):
    """A bare ASGI app that answers with what it was shown of the peer."""
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    body = f"{scope['client'][0]}|{scope['scheme']}|{headers.get('x-forwarded-prefix', '-')}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def _seen_by_app(peer: str, trusted: str, headers: dict[str, str], path: str = "/x") -> str:
    app = EdgeMiddleware(_echo, TrustedProxies(trusted))
    transport = httpx.ASGITransport(app=app, client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return (await c.get(path, headers=headers)).text


FORWARDED = {"X-Forwarded-For": "6.6.6.6, 7.7.7.7", "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/evil"}


async def test_forwarded_headers_from_an_untrusted_peer_are_dropped():
    # Even from 127.0.0.1 (uvicorn's own default trusts that): nothing is believed unless configured.
    assert await _seen_by_app("127.0.0.1", "", FORWARDED) == "127.0.0.1|http|-"
    assert await _seen_by_app("10.0.0.9", "10.0.0.1", FORWARDED) == "10.0.0.9|http|-"


async def test_a_trusted_proxy_speaks_for_the_client_it_saw():
    # The rightmost address that is not one of our proxies; what the client wrote left of it is ignored.
    assert await _seen_by_app("10.0.0.1", "10.0.0.0/24", FORWARDED) == "7.7.7.7|https|/evil"
    chain = {"X-Forwarded-For": "6.6.6.6, 7.7.7.7, 10.0.0.2"}
    assert await _seen_by_app("10.0.0.1", "10.0.0.0/24", chain) == "7.7.7.7|http|-"


def test_a_misspelt_trusted_proxy_setting_is_refused():
    from logger_app.config import Settings

    with pytest.raises(ValueError, match="10.0.0.300"):
        Settings(trusted_proxies="10.0.0.1, 10.0.0.300", _env_file=None)


def _formatted(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.handle(record)
    return stream.getvalue()


def test_log_lines_carry_no_sql_parameters_or_tracebacks():
    try:
        raise DBAPIError("SELECT * FROM workflow_logs WHERE ticket_id = $1", ("secret-ticket",), Exception("boom"))
    except DBAPIError:
        record = logging.getLogger("nicegui").makeRecord("nicegui", logging.ERROR, __file__, 1,
                                                         "page failed", None, exc_info=__import__("sys").exc_info())
    line = _formatted(record)
    assert "DBAPIError" in line and "page failed" in line
    assert "SELECT" not in line and "secret-ticket" not in line and "Traceback" not in line


def test_websocket_lines_lose_their_query_string():
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:5", "/_nicegui_ws/socket.io/?client_id=abc&tab_id=def"), None)
    line = _formatted(record)
    assert "/_nicegui_ws/socket.io/" in line and "abc" not in line and "def" not in line


@pytest.fixture
def server(database_url, tmp_path):
    srv = start_server(database_url, tmp_path / "srv")
    yield srv
    srv.stop()


def test_security_headers_on_api_and_pages(server):
    api = httpx.get(server.url + "/api/v1/logs")
    page = httpx.get(server.url + "/login")
    for response in (api, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert api.headers["content-security-policy"] == API_CSP.decode()
    assert page.headers.get_list("content-security-policy") == [PAGE_CSP.decode()]
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("cl_browser=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_x_forwarded_prefix_from_an_untrusted_peer_never_reaches_the_page(server):
    page = httpx.get(server.url + "/login", headers={"X-Forwarded-Prefix": "/evil"})
    assert page.status_code == 200
    assert "/evil" not in page.text
    assert re.search(r'prefix: ""', page.text)


async def test_sockets_from_another_origin_are_refused(server):
    import socketio

    page = httpx.get(server.url + "/login")
    client_id = re.search(r"'client_id': '([0-9a-f-]+)'", page.text).group(1)
    cookie = f"cl_browser={page.cookies['cl_browser']}"

    async def connect(origin: str) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(f"{server.url}?client_id={client_id}&tab_id=t&document_id=d&implicit_handshake=true",
                          socketio_path="/_nicegui_ws/socket.io", transports=["websocket"],
                          headers={"Cookie": cookie, "Origin": origin}, wait_timeout=10)
        return sio

    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect("http://evil.example")
    await (await connect(server.url)).disconnect()  # the page's own origin, same cookie: accepted
