"""Realistic demo logs: three clients, varied categories, ~8% errors, multi-step ReAct traces."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from .db import partitions
from .db.bulk_writes import insert_logs
from .db.engine import Database
from .db.models import Client
from .db.types import utcnow
from .services.ingest.rollup_delta import apply_rollups
from .services.ingest.validation import normalise_log

CLIENTS = {"acme": "ACME Support", "globex": "Globex Helpdesk", "initech": "Initech IT"}
CATEGORIES = ["billing", "login", "shipping", "refund", "bug_report", "account", "how_to"]
TOOLS = {
    "search_kb": lambda t: {"query": f"{t} policy"},
    "get_order": lambda t: {"order_id": f"ORD-{random.randint(10000, 99999)}"},
    "get_customer": lambda t: {"customer_id": f"C{random.randint(1000, 9999)}"},
    "create_refund": lambda t: {"amount": round(random.uniform(5, 300), 2), "currency": "EUR"},
    "send_reply": lambda t: {"channel": "email"},
}
ERRORS = [
    ("TimeoutError", "get_order timed out after 10s"),
    ("ToolError", "create_refund: amount exceeds automatic limit"),
    ("ValidationError", "LLM output did not match the reply schema"),
    ("RateLimitError", "model provider returned 429"),
]


def demo_log(rng: random.Random, client_id: str, when, index: int) -> dict[str, Any]:
    category = rng.choice(CATEGORIES)
    failed = rng.random() < 0.08
    iterations = rng.randint(1, 6 if not failed else 9)
    steps, tool_calls, t = [], [], 0.0
    for i in range(1, iterations + 1):
        tool = rng.choice(list(TOOLS))
        duration = round(rng.uniform(0.2, 2.5), 3)
        t += duration
        call = {"tool": tool, "input": TOOLS[tool](category), "output": {"ok": True, "items": rng.randint(0, 5)},
                "duration_seconds": duration}
        tool_calls.append(call)
        steps.append({
            "iteration": i,
            "thought": f"The customer asks about {category}; I should use {tool} to check the facts.",
            "action": {"tool": tool, "input": call["input"]},
            "observation": f"{tool} returned {call['output']['items']} result(s)",
            "duration_seconds": duration,
        })
    error = None
    if failed:
        etype, message = rng.choice(ERRORS)
        error = {"type": etype, "message": message,
                 "traceback": f"Traceback (most recent call last):\n  File \"agent.py\", line 88, in run\n{etype}: {message}"}
        steps[-1]["observation"] = f"error: {message}"
    confidence = round(min(1.0, max(0.0, rng.gauss(0.55 if failed else 0.84, 0.12))), 3)
    return {
        "ticket_id": f"{client_id.upper()[:3]}-{10000 + index}",
        "status": "ERROR" if failed else "SUCCESS",
        "executed_at": when.isoformat(),
        "execution_time_seconds": round(t + rng.uniform(0.1, 1.0), 3),
        "environment": rng.choice(["production"] * 5 + ["staging"]),
        "category": category,
        "metrics": {"confidence": confidence, "iterations": iterations, "tokens": rng.randint(800, 9000)},
        "payload": {
            "input": {"subject": f"Question about {category}", "body": f"Hello, I need help with my {category} issue."},
            "react_iterations": steps,
            "tool_calls": tool_calls,
            "errors": [error] if error else [],
            "final_answer": None if failed else f"Thanks for reaching out about {category}. It is resolved.",
            "model": "gpt-4o-mini",
        },
        "workflow_version": "2.3.1",
    }


async def load_demo(db: Database, count: int = 600, days: int = 7, seed: int = 7) -> int:
    rng = random.Random(seed)
    now = utcnow()
    # The writer's months-ahead step (PostgreSQL partitions, db/partitions.py), for the demo's days.
    await partitions.ensure_for(db, [now - timedelta(days=d) for d in range(days + 1)])
    async with db.writer.begin() as conn:
        existing = set((await conn.execute(select(Client.id))).scalars())
        for cid, name in CLIENTS.items():
            if cid not in existing:
                await conn.execute(insert(Client).values(id=cid, name=name, disabled=False, created_at=now))
        rows = []
        for i in range(count):
            cid = rng.choice(list(CLIENTS))
            when = now - timedelta(seconds=rng.uniform(0, days * 86400))
            # The same normalisation as the API, so demo rows look exactly like ingested ones.
            rows.append(normalise_log(demo_log(rng, cid, when, i), cid, now))
        if rows:
            # The writer's insert: one statement per chunk keeps the SQLite search index's trigger
            # cheap (db/bulk_writes.py _insert_logs_sqlite).
            await insert_logs(db.dialect, conn, rows)
            await apply_rollups(conn, db.dialect, rows)
    return count
