"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..services.health import storage_problem
from .deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="200 while the process runs")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="200 when a real read of the logs table succeeds", responses={503: {"description": "storage unavailable"}})
async def readyz(runtime: RuntimeDep):
    problem = await storage_problem(runtime.db, runtime.settings.db_timeout_seconds)
    if problem is not None:
        return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503,
                            headers={"Retry-After": "5"})
    return {"status": "ready"}
