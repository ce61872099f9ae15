"""The dashboard websocket against the real server with a real socket.io client (SQLite, PostgreSQL).

The attack: `client_id` and `tab_id` are not secrets (uvicorn printed both on every connect), so
a socket that names them must still prove the browser and the session that loaded the page."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest
import socketio

from logger_app.db.engine import create_database
from logger_app.services.access import clients, sessions, users
from tests.support.server import start_server

SOCKET_PATH = "/_nicegui_ws/socket.io"


@pytest.fixture
def server(database_url, tmp_path):
    srv = start_server(database_url, tmp_path / "srv")
    yield srv
    srv.stop()


async def _db_call(database_url, work):
    db = create_database(database_url)
    try:
        return await work(db)
    finally:
        await db.dispose()


class Page:
    """One page as a browser loaded it: its cookies, its client id and its elements."""

    def __init__(self, http: httpx.AsyncClient, html: str):
        self.http = http
        self.client_id = re.search(r"'client_id': '([0-9a-f-]+)'", html).group(1)
        self.elements = json.loads(re.search(r"parseElements\(String\.raw`(.*?)`\)", html, re.S).group(1))

    def listener(self, label: str, event: str) -> tuple[int, str]:
        for key, element in self.elements.items():
            if element.get("props", {}).get("label") == label:
                for ev in element.get("events", []):
                    if ev["type"] == event:
                        return int(key), ev["listener_id"]
        raise AssertionError(f"no {event} listener on {label!r}")

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())


async def _open(server, path: str, session: str | None) -> Page:
    http = httpx.AsyncClient(base_url=server.url)
    if session:
        http.cookies.set("cl_session", session)
    response = await http.get(path)
    assert response.status_code == 200, response.status_code
    return Page(http, response.text)


async def _socket(server, page: Page, tab_id: str, cookies: str | None, implicit: bool = True) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)
    query = f"client_id={page.client_id}&tab_id={tab_id}&document_id={uuid.uuid4()}&next_message_id=0"
    if implicit:
        query += "&implicit_handshake=true"
    await sio.connect(f"{server.url}?{query}", socketio_path=SOCKET_PATH, transports=["websocket"],
                      headers={"Cookie": cookies} if cookies else {}, wait_timeout=10)
    return sio


async def _create_client_via(sio: socketio.AsyncClient, page: Page, client_id: str, target: str | None = None) -> None:
    """Type an id into "Client id" and click "Create client", as the page's own script would."""
    target = target or page.client_id
    field, on_value = page.listener("Client id", "update:value")
    button, on_click = page.listener("Create client", "click")
    await sio.emit("event", {"id": field, "client_id": target, "listener_id": on_value, "args": [json.dumps(client_id)]})
    await sio.emit("event", {"id": button, "client_id": target, "listener_id": on_click, "args": []})


async def _client_exists(database_url, client_id: str, wait: float = 3.0) -> bool:
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        if await _db_call(database_url, lambda db: clients.get_client(db, client_id)) is not None:
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.2)


async def test_only_the_pages_own_browser_and_session_attach_and_act(server, database_url):
    admin_token = await _db_call(database_url, lambda db: sessions.create_session(db, 1))
    page = await _open(server, "/admin/clients", admin_token)
    tab_id = str(uuid.uuid4())

    # The owner's socket works: the harness drives the page like the browser does.
    owner = await _socket(server, page, tab_id, page.cookie_header())
    await _create_client_via(owner, page, "made-by-owner")
    assert await _client_exists(database_url, "made-by-owner")

    # Someone who read client_id and tab_id from a log, with no cookie: refused at connect.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await _socket(server, page, tab_id, None)
    # ... with the session cookie alone (stolen separately), but another browser: refused too.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await _socket(server, page, tab_id, f"cl_session={admin_token}")

    # An explicit handshake is refused the same way, and events from that socket change nothing.
    intruder = await _socket(server, page, tab_id, None, implicit=False)
    assert await intruder.call("handshake", {"client_id": page.client_id, "tab_id": tab_id,
                                             "document_id": str(uuid.uuid4())}, timeout=10) is False
    await _create_client_via(intruder, page, "made-by-intruder")
    assert not await _client_exists(database_url, "made-by-intruder")
    await intruder.disconnect()

    # The session ends (logout elsewhere): the open page's socket can no longer act.
    await _db_call(database_url, lambda db: sessions.end_session(db, admin_token))
    try:
        await _create_client_via(owner, page, "after-logout")
    except socketio.exceptions.BadNamespaceError:
        pass  # the server already closed the ended session's socket: it cannot act either way
    assert not await _client_exists(database_url, "after-logout")
    await owner.disconnect()
    await page.http.aclose()


async def test_a_signed_in_socket_cannot_fire_events_on_another_users_page(server, database_url):
    async def client_user(db):
        await clients.create_client(db, "acme")
        user = await users.create_user(db, "carol", "carol-password", "client", "acme")
        return await sessions.create_session(db, user.id)

    carol_token = await _db_call(database_url, client_user)
    admin_token = await _db_call(database_url, lambda db: sessions.create_session(db, 1))
    admin_page = await _open(server, "/admin/clients", admin_token)
    admin_socket = await _socket(server, admin_page, str(uuid.uuid4()), admin_page.cookie_header())
    carol_page = await _open(server, "/", carol_token)
    carol_socket = await _socket(server, carol_page, str(uuid.uuid4()), carol_page.cookie_header())

    # Carol's socket is genuine, but the events name the admin's page.
    await _create_client_via(carol_socket, admin_page, "made-by-carol", target=admin_page.client_id)
    assert not await _client_exists(database_url, "made-by-carol")
    for sio in (carol_socket, admin_socket):
        await sio.disconnect()
    for page in (admin_page, carol_page):
        await page.http.aclose()


async def test_the_server_console_shows_no_socket_ids(server, database_url):
    token = await _db_call(database_url, lambda db: sessions.create_session(db, 1))
    page = await _open(server, "/admin/clients", token)
    tab_id = str(uuid.uuid4())
    sio = await _socket(server, page, tab_id, page.cookie_header())
    await sio.disconnect()
    await page.http.aclose()
    await asyncio.sleep(0.5)
    console = server.log_path.read_text(errors="replace")
    assert page.client_id not in console and tab_id not in console
    assert "client_id=" not in console and "tab_id=" not in console
