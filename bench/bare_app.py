"""The yardstick for bench/compare.py: a bare FastAPI app whose endpoint only parses the log with
pydantic (the same LogIn model the API documents) and answers like ours. Served by uvicorn with the
same flags as logger_app.server (uvloop, httptools, no access log).

    .venv/bin/python bench/bare_app.py PORT
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

from logger_app.api.schemas import LogIn  # noqa: E402

app = FastAPI()
_ids = itertools.count(1)


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.post("/api/v1/logs")
async def ingest(log: LogIn) -> JSONResponse:
    return JSONResponse({"id": next(_ids), "duplicate": False})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
