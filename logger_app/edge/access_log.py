"""One concise line per request: method, route, status, client, latency, request id.

Refused and failed requests (anything but 2xx) are logged at INFO, so an operator sees them on the
console by default; 2xx lines are DEBUG unless LOGGER_ACCESS_LOG=true asks for every request.
uvicorn's own access log stays off: its line has no route template, client or request id, and it
would print the page's socket URL. The route is the template (`/api/v1/logs/{log_id}`), never the
query string, so no filter value or login ticket reaches the log."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

log = logging.getLogger("logger_app.access")

REQUEST_ID_HEADER = b"x-request-id"
# A caller's (or proxy's) request id is kept when it is short and plain; anything else is replaced,
# so a header cannot forge log lines.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def request_id_of(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers") or ():
        if name == REQUEST_ID_HEADER and _REQUEST_ID.fullmatch(value):
            return value.decode("ascii")
    return secrets.token_hex(8)


class AccessLog:
    def __init__(self, every_request: bool = False):
        self.every_request = every_request

    def record(self, scope: dict[str, Any], status: int, seconds: float, request_id: str) -> None:
        level = logging.INFO if self.every_request or not 200 <= status < 300 else logging.DEBUG
        if not log.isEnabledFor(level):
            return  # the common case for a 2xx: nothing is formatted
        route = getattr(scope.get("route"), "path", None)
        if not route or route.endswith(":path}"):  # no route, or the API's catch-all 404: the path asked for
            route = scope.get("path", "")
        client = (scope.get("state") or {}).get("client_id")
        log.log(level, "%s %s %s client=%s %.1fms rid=%s", scope.get("method", "-"), route, status or "-",
                client or "-", seconds * 1000, request_id)
