"""The overview's state (range, environment, client: what its URL says) and the data one view
of it loads, with the small formatting rules of its cards."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from ..services.errors import ValidationFailed
from ..services.read import failing, metrics, queries
from ..services.read.ingest_report import ingest_report
from ..services.read.scope import LogFilters
from ..services.timestamps import parse_bound, shifted
from . import charts
from .view_utils import fmt_seconds

RANGES = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24), "7d": timedelta(days=7),
          "30d": timedelta(days=30)}
RANGE_LABELS = {"1h": "1 h", "6h": "6 h", "24h": "24 h", "7d": "7 d", "30d": "30 d", "custom": "Custom"}
REFRESH_SECONDS = 10
LOAD_TIMEOUT = 10.0  # loads run after the page is sent, so the 3 s build limit does not apply
# key, title, format, which direction is good (+1 up, -1 down, 0 neutral)
CARDS = (("total", "Tickets", "count", 0), ("success_rate", "Success rate", "rate", 1),
         ("avg_execution_time_seconds", "Avg execution time", "seconds", -1),
         ("p95_execution_time_seconds", "p95 execution time", "seconds", -1), ("errors", "Errors", "count", -1))
CHARTS = (("volume", "Volume and errors"), ("latency", "Execution time p50 / p95"),
          ("category", "Tickets and error rate by category"), ("confidence", "Confidence by outcome"),
          ("iterations", "ReAct iterations per ticket"))


@dataclass(frozen=True)
class OverviewState:
    range: str = "24h"
    since: str | None = None
    until: str | None = None
    environment: str | None = None
    client_id: str | None = None

    @classmethod
    def from_query(cls, params, is_admin: bool) -> OverviewState:
        """Raises ValidationFailed for a date it cannot honour (a 400 naming it, as the API would)."""
        rng = params.get("range") or "24h"
        state = cls(range=rng if rng in RANGE_LABELS else "24h", since=params.get("since") or None,
                    until=params.get("until") or None, environment=(params.get("environment") or None),
                    client_id=(params.get("client_id") or None) if is_admin else None)
        state.check()
        return state

    def check(self) -> None:
        if self.since:
            parse_bound(self.since, "since")
        if self.until:
            parse_bound(self.until, "until", end=True)

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        start = parse_bound(self.since, "since") if self.range == "custom" and self.since else None
        if start is None:
            return now - RANGES.get(self.range, RANGES["24h"]), now
        end = parse_bound(self.until, "until", end=True) if self.until else now
        # shifted: a start in the last minute of year 9999 has no "one minute later".
        return start, max(end, shifted(start, timedelta(minutes=1)))

    def query_string(self) -> str:
        return urlencode([(k, v) for k, v in vars(self).items() if v])


def local_input(value: str | None, end: bool = False) -> str:
    """A URL bound as a datetime-local input shows it (UTC, minutes): a bare date is its midnight,
    and as an end it means the midnight after (the whole day, as the API reads it)."""
    if not value:
        return ""
    try:
        moment = parse_bound(value, "until" if end else "since", end=end)
    except ValidationFailed:
        return ""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_value(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f} %"
    return fmt_seconds(value) if kind == "seconds" else f"{int(value):,}"


def change(current, previous, kind: str, good: int) -> tuple[str, str]:
    """Text and colour class of the change vs the previous period of equal length."""
    if current is None or previous is None:
        return "no previous data", "text-grey-7"
    diff = current - previous
    if kind == "rate":
        text = f"{diff * 100:+.1f} pp"
    elif previous == 0:
        text = "±0 %" if current == 0 else "new"
    else:
        text = f"{diff / previous * 100:+.0f} %"
    colour = "text-grey-7" if good == 0 or diff == 0 else ("text-positive" if diff * good > 0 else "text-negative")
    return text + " vs previous period", colour


async def load(runtime, principal, state: OverviewState) -> dict:
    start, end = state.window(datetime.now(timezone.utc))
    current = LogFilters(environment=state.environment, client_id=state.client_id, since=start, until=end)
    # Clamped: the period before one that starts in year 1000 would begin before year 1.
    previous = replace(current, since=shifted(start, -(end - start)), until=start)
    db, bucket = runtime.db, charts.bucket_for(start, end)
    report = await ingest_report(db, principal, since=start, client_id=state.client_id)
    return {
        "start": start, "end": end, "bucket": bucket,
        **await metrics.overview_page(db, principal, current, previous, bucket),
        "recent": (await queries.list_logs(db, runtime.public_ids, principal, replace(current, status="ERROR"), 10, triage=True))["items"],
        "ingest": [r for r in report if datetime.fromisoformat(r["hour"]) < end],
        "environments": await queries.environments(db, principal, state.client_id),
        "failing": await failing.what_is_failing(db, principal, current, previous),
        "by_client": await failing.error_rate_by_client(db, principal, current) if principal.is_admin and not state.client_id else None,
    }


def ingest_totals(rows: list[dict]) -> dict[str, dict]:
    totals: dict[str, dict] = {}
    for row in rows:
        t = totals.setdefault(row["client_id"] or "", {"accepted": 0, "duplicates": 0, "rejected": {}})
        t["accepted"] += row["accepted"]
        t["duplicates"] += row["duplicates"]
        for reason, n in row["rejected"].items():
            t["rejected"][reason] = t["rejected"].get(reason, 0) + n
    return totals


