"""ECharts options for the overview, built only from numbers and server-made labels.

NiceGUI runs every option *key* starting with ':' as JavaScript (convertDynamicProperties), and
ECharts' HTML tooltips would render markup in names. So: data never becomes a key, category names
are sanitised, and tooltips use ECharts' richText mode (no HTML at all)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

BUCKET_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_CATEGORIES = 15
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>{}|]")


def safe_label(value: Any, limit: int = 40) -> str:
    """A category name fit for a chart: no leading ':', no markup or rich-text syntax, short."""
    text = "(none)" if value is None else str(value)
    text = _UNSAFE.sub(" ", text).lstrip(":").strip() or "(blank)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bucket_for(start: datetime, end: datetime) -> str:
    """Minutes up to 6 h (at most 360 points, from raw rows: the rollups know hours), hours up to
    8 days, days beyond (both from the rollups, docs/ROLLUPS.md)."""
    span = end - start
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=8):
        return "hour"
    return "day"


def _floor(moment: datetime, bucket: str) -> datetime:
    moment = moment.astimezone(timezone.utc)
    if bucket == "minute":
        return moment.replace(second=0, microsecond=0)
    if bucket == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _axis_label(moment: datetime, bucket: str) -> str:
    return moment.strftime("%m-%d" if bucket == "day" else "%m-%d %H:%M")


def filled_series(points: list[dict], start: datetime, end: datetime, bucket: str) -> dict[str, list]:
    """Every bucket of the window (empty ones as 0 / None), so gaps show as gaps, not as joins."""
    by_start = {}
    for p in points:
        moment = datetime.fromisoformat(p["bucket"])
        by_start[_floor(moment, bucket)] = p
    out: dict[str, list] = {"labels": [], "total": [], "errors": [], "p50": [], "p95": []}
    step, moment = BUCKET_STEP[bucket], _floor(start, bucket)
    while moment < end and len(out["labels"]) < 2000:
        p = by_start.get(moment, {})
        out["labels"].append(_axis_label(moment, bucket))
        out["total"].append(int(p.get("total") or 0))
        out["errors"].append(int(p.get("errors") or 0))
        out["p50"].append(_round(p.get("p50_execution_time_seconds")))
        out["p95"].append(_round(p.get("p95_execution_time_seconds")))
        try:
            moment += step
        except OverflowError:  # the last bucket of year 9999
            break
    return out


def _round(value: Any) -> float | None:
    return round(float(value), 3) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _base(legend: list[str]) -> dict:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "renderMode": "richText"},
        "legend": {"data": legend, "bottom": 0},
        "grid": {"left": 50, "right": 50, "top": 20, "bottom": 50},
    }


def volume_chart(series: dict) -> dict:
    return {**_base(["Tickets", "Errors"]),
            "xAxis": {"type": "category", "data": series["labels"]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [{"name": "Tickets", "type": "bar", "data": series["total"]},
                       {"name": "Errors", "type": "line", "data": series["errors"], "color": "#c10015"}]}


def latency_chart(series: dict) -> dict:
    return {**_base(["p50", "p95"]),
            "xAxis": {"type": "category", "data": series["labels"]},
            "yAxis": {"type": "value", "name": "s"},
            "series": [{"name": "p50", "type": "line", "data": series["p50"], "connectNulls": False},
                       {"name": "p95", "type": "line", "data": series["p95"], "connectNulls": False}]}


def category_chart(by_category: list[dict]) -> dict:
    rows = by_category[:MAX_CATEGORIES]
    return {**_base(["Tickets", "Error rate %"]),
            "xAxis": {"type": "category", "data": [safe_label(r["category"]) for r in rows],
                      "axisLabel": {"rotate": 30}},
            "yAxis": [{"type": "value", "minInterval": 1}, {"type": "value", "max": 100, "name": "%"}],
            "series": [{"name": "Tickets", "type": "bar", "data": [int(r["count"]) for r in rows]},
                       {"name": "Error rate %", "type": "line", "yAxisIndex": 1, "color": "#c10015",
                        "data": [round(100 * (r["error_rate"] or 0), 1) for r in rows]}]}


def stacked_chart(dist: dict, x_name: str) -> dict:
    return {**_base(["Success", "Error"]),
            "xAxis": {"type": "category", "data": [str(b) for b in dist["buckets"]], "name": x_name,
                      "nameLocation": "middle", "nameGap": 28},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [{"name": "Success", "type": "bar", "stack": "n", "data": [int(n) for n in dist["success"]],
                        "color": "#21ba45"},
                       {"name": "Error", "type": "bar", "stack": "n", "data": [int(n) for n in dist["error"]],
                        "color": "#c10015"}]}


def dynamic_keys(value: Any) -> list[str]:
    """Keys NiceGUI would evaluate as JavaScript; must stay empty for every chart (tests use it)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).startswith(":"):
                found.append(str(key))
            found += dynamic_keys(item)
    elif isinstance(value, list):
        for item in value:
            found += dynamic_keys(item)
    return found
