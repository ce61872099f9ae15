"""Serving the built app with uvicorn."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from .config import Settings


def serve(app: FastAPI, settings: Settings, host: str | None = None, port: int | None = None) -> None:
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        # Per-request access lines cost ingest throughput and would only repeat what the ingest
        # counters already record; errors are still logged.
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
