"""What is failing: the error types and tools behind a range's failed runs, and each client's
error rate — the overview's triage panels.

Error types and tools are names the writer derived from each log's trace (`error_types`, `tools`:
"\\nname\\nname\\n", services/ingest/derive.py). Splitting them needs Python, so the panels read a
bounded sample — the newest SAMPLE runs of the range — and say when they did; a rollup per name
would make them exact at any size, and is the next step if operators need that. The per-client error
rate comes from the rollups (whole periods) plus raw ragged edges, like every overview number."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from sqlalchemy import func

from ...db import aggregates
from ...db.engine import Database
from ...db.models import LogRollup, WorkflowLog
from ..access.principal import Principal
from ..ingest.derive import SEP  # how the writer joins names in tools/error_types
from . import rollup_plan, rollups
from .queries import NEWEST_FIRST
from .scope import LogFilters, scoped_rollup_select, scoped_select

# Runs read per panel and period: at ~0.1 KB of names per run, 5,000 rows is ~3 ms on either
# backend (index range scan, newest first), and enough for the top five of any real range.
SAMPLE = 5_000
TOP = 5


def _names(value: str | None) -> list[str]:
    return [n for n in value.split(SEP) if n] if value else []


async def _sample(db: Database, principal: Principal, filters: LogFilters) -> list[Any]:
    query = scoped_select(principal, filters, WorkflowLog.status, WorkflowLog.error_types, WorkflowLog.tools)
    async with db.analytics() as session:
        return list((await session.execute(query.order_by(*NEWEST_FIRST).limit(SAMPLE))).all())


def _tally(rows: list[Any]) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """(failed runs per error type, failed runs per tool, runs per tool)."""
    errors: Counter[str] = Counter()
    failed_tools: Counter[str] = Counter()
    tool_runs: Counter[str] = Counter()
    for status, error_types, tools in rows:
        names = set(_names(tools))
        tool_runs.update(names)
        if status == "ERROR":
            errors.update(set(_names(error_types)) or {"(no error type)"})
            failed_tools.update(names)
    return errors, failed_tools, tool_runs


async def what_is_failing(db: Database, principal: Principal, filters: LogFilters, previous: LogFilters) -> dict[str, Any]:
    """Top error types and tools of failed runs in `filters`' range, with the count in `previous`
    (the period before, of equal length) for the trend."""
    now_rows = await _sample(db, principal, filters)
    before_rows = await _sample(db, principal, previous)
    errors, failed_tools, tool_runs = _tally(now_rows)
    errors_before, failed_before, _ = _tally(before_rows)
    return {
        "sampled": len(now_rows) >= SAMPLE,
        "error_types": [{"name": name, "count": n, "previous": errors_before.get(name, 0)} for name, n in errors.most_common(TOP)],
        "tools": [{"name": name, "count": n, "previous": failed_before.get(name, 0), "runs": tool_runs[name],
                   "failure_rate": n / tool_runs[name]} for name, n in failed_tools.most_common(TOP)],
    }


async def error_rate_by_client(db: Database, principal: Principal, filters: LogFilters) -> list[dict[str, Any]]:
    """Per client: runs, errors and error rate in the range (most errors first)."""
    counts: dict[str, list[int]] = {}

    def add(client: str, status: str, n: int) -> None:
        c = counts.setdefault(client, [0, 0])
        c[0] += int(n)
        c[1] += int(n) if status == "ERROR" else 0

    plan = rollup_plan.plan(replace(filters, status=None))
    async with db.analytics() as session:
        if plan is None:
            query = scoped_select(principal, replace(filters, status=None), WorkflowLog.client_id, WorkflowLog.status,
                                  func.count()).group_by(WorkflowLog.client_id, WorkflowLog.status)
            for client, status, n in (await session.execute(query)).all():
                add(client, status, n)
        else:
            r = LogRollup
            rollup_query = scoped_rollup_select(principal, plan.base, r, plan.segments, r.client_id, r.status,
                                         aggregates.count_sum(r.n), group_by=(r.client_id, r.status))
            rollup_query = rollups.union(rollup_query, *rollups.raw_counts(principal, plan, WorkflowLog.client_id,
                                                                              WorkflowLog.status))
            for client, status, n in (await session.execute(rollup_query)).all():
                add(client, status, n)
    rows = [{"client_id": c, "total": t, "errors": e, "error_rate": e / t} for c, (t, e) in counts.items() if t > 0]
    return sorted(rows, key=lambda r: (-r["errors"], -r["error_rate"], r["client_id"]))
