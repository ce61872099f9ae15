"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import select

from ..db.models import WorkflowLog
from .deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="200 while the process runs")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="200 when a real read of the logs table succeeds", responses={503: {"description": "storage unavailable"}})
async def readyz(runtime: RuntimeDep):
    try:
        async with asyncio.timeout(runtime.settings.db_timeout_seconds):
            async with runtime.db.reader.connect() as conn:
                await conn.execute(select(WorkflowLog.id).limit(1))
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503,
                            headers={"Retry-After": "5"})
    return {"status": "ready"}
