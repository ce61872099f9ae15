"""The dashboard's websocket, bound to the browser and the session that loaded the page.

NiceGUI attaches a socket to a page's client when the socket names the client's `client_id` and
`tab_id`, and dispatches an event to whichever client the *message* names. Neither is a secret
(uvicorn used to print both on every connect), so on their own they let anyone who read a log
attach to a live admin page, and let one signed-in socket fire events on another user's page.
Here every socket is checked against the HTTP request that built the page:

- at connect and handshake: the socket must carry the same browser-binding cookie and the same
  session cookie as that request, and a page built for a signed-in user must still resolve to that
  user's live session;
- per event (and per JavaScript reply, ack, log line): the sending socket must be one that was
  attached to the client the message names, and a signed-in page's session is resolved again
  before the event reaches a handler (events of one client stay in arrival order);
- the socket.io origin check accepts only the dashboard's own host (NiceGUI sets '*').

NiceGUI has no hook for this (upstream: sockets are authorised by client_id + tab_id only), so
the guard wraps NiceGUI's socket.io handlers. NiceGUI's `user` test fixture calls the inner
handlers directly with `test-` socket ids, which therefore stay unguarded in page tests; the
guard itself is tested against the real server with a real socket.io client."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import socketio
from nicegui import core
from nicegui.client import Client
from starlette.requests import cookie_parser

from ..edge.middleware import BROWSER_COOKIE
from .guard import COOKIE, PAGE_USER_ATTR, still_valid

log = logging.getLogger("logger_app")

_GUARDED_EVENTS = ("event", "javascript_response", "ack", "log")

def _cookies(raw: str | None) -> dict[str, str]:
    return cookie_parser(raw) if raw else {}


def _page_cookies(client: Client) -> dict[str, str]:
    try:
        return dict(client.request.cookies)
    except Exception:  # a client built without a request (NiceGUI internals) binds to nothing
        return {}


def same_host_origin(origin: str | None, environ: dict[str, Any]) -> bool:
    """socket.io's origin check: the page's own host only (any scheme: TLS may end at a proxy)."""
    if not origin:
        return True  # not a browser: it has no cookies to ride on, and must still pass the binding
    host = urlsplit(origin).netloc.lower()
    allowed = {environ.get("HTTP_HOST", "").lower(), environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip().lower()}
    return bool(host) and host in allowed


class SocketGuard:
    def __init__(self) -> None:
        self._attached: dict[str, str] = {}  # socket id -> client id it handshook with
        self._order: dict[str, asyncio.Lock] = {}  # client id -> lock keeping its events in order

    def install(self) -> None:
        sio: socketio.AsyncServer = core.sio
        handlers = sio.handlers.setdefault("/", {})
        # build() runs again for every page test: wrap NiceGUI's originals, never our own wrappers.
        originals = getattr(sio, "_cl_original_handlers", None)
        if originals is None:
            originals = {name: handlers[name] for name in ("connect", "handshake", "disconnect", *_GUARDED_EVENTS)}
            sio._cl_original_handlers = originals  # type: ignore[attr-defined]
        self.originals = originals
        handlers["connect"] = self.on_connect
        handlers["handshake"] = self.on_handshake
        handlers["disconnect"] = self.on_disconnect
        for name in _GUARDED_EVENTS:
            handlers[name] = self._guarded(name)
        sio.eio.cors_allowed_origins = same_host_origin

    # --- attaching ------------------------------------------------------------------------------

    async def may_attach(self, sid: str, client_id: str | None) -> bool:
        client = Client.instances.get(client_id or "")
        if client is None:
            return False
        environ = core.sio.get_environ(sid) or {}
        socket = _cookies(environ.get("HTTP_COOKIE"))
        page = _page_cookies(client)
        browser = page.get(BROWSER_COOKIE)
        if not browser or socket.get(BROWSER_COOKIE) != browser or socket.get(COOKIE) != page.get(COOKIE):
            return False
        owner = getattr(client, PAGE_USER_ATTR, None)
        return owner is None or await still_valid(*owner)  # fails closed on a storage error

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if query.get("implicit_handshake") == "true":
            if not await self.may_attach(sid, query.get("client_id")):
                raise socketio.exceptions.ConnectionRefusedError("not allowed")
            await self.originals["connect"](sid, environ, auth)
            self._attached[sid] = query["client_id"]

    async def on_handshake(self, sid: str, data: dict) -> bool:
        client_id = data.get("client_id") if isinstance(data, dict) else None
        if not await self.may_attach(sid, client_id):
            return False
        ok = await self.originals["handshake"](sid, data)
        if ok:
            self._attached[sid] = client_id
        return ok

    def on_disconnect(self, sid: str, *args: Any) -> None:
        client_id = self._attached.pop(sid, None)
        self.originals["disconnect"](sid)
        if client_id and client_id not in self._attached.values():
            self._order.pop(client_id, None)

    # --- events ---------------------------------------------------------------------------------

    def _guarded(self, name: str):
        original = self.originals[name]

        async def handler(sid: str, msg: Any) -> None:
            client_id = msg.get("client_id") if isinstance(msg, dict) else None
            if client_id is None or self._attached.get(sid) != client_id:
                log.warning("socket event refused: the socket is not attached to the client it names")
                return
            client = Client.instances.get(client_id)
            owner = getattr(client, PAGE_USER_ATTR, None) if client else None
            if owner is None or name != "event":
                original(sid, msg)
                return
            lock = self._order.setdefault(client_id, asyncio.Lock())
            async with lock:  # FIFO: a value update still reaches the handler before the click after it
                if not await still_valid(*owner):
                    with client:
                        client.run_javascript("window.location.reload()")
                    return
                original(sid, msg)

        return handler


def install() -> SocketGuard:
    guard = SocketGuard()
    guard.install()
    return guard
