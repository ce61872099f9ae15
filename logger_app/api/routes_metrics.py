"""GET /metrics: the Prometheus text format, for admin (provider) API keys only.

Metrics name every client and the request rates of each, so a client's key must not read them:
401 without a key, 403 with a client's key. A scraper on a private network can use
LOGGER_METRICS_BIND instead (telemetry/metrics.py), which needs no key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..services.errors import AdminOnly
from ..telemetry.metrics import render
from .deps import RuntimeDep, _authenticate

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", summary="Prometheus metrics (admin API key)", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}, 401: {"description": "no or unknown key"},
                       403: {"description": "a client's key"}})
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    principal = await _authenticate(request, runtime)
    if not principal.is_admin:
        raise AdminOnly("/metrics")
    body, content_type = render()
    return Response(body, media_type=content_type)
