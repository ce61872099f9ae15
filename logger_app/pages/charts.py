"""ECharts options for the overview, built only from numbers and server-made labels.

NiceGUI runs every option *key* starting with ':' as JavaScript (convertDynamicProperties), and
ECharts' HTML tooltips would render markup in names. So: data never becomes a key, category names
are sanitised, and tooltips use ECharts' richText mode (no HTML at all)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .view_utils import page_zone

BUCKET_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_CATEGORIES = 15
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>{}|]")


def safe_label(value: Any, limit: int = 40) -> str:
    """A category name fit for a chart: no leading ':', no markup or rich-text syntax, short."""
    text = "(none)" if value is None else str(value)
    text = _UNSAFE.sub(" ", text).lstrip(":").strip() or "(blank)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bucket_for(start: datetime, end: datetime) -> str:
    """At most ~180 bars: minutes up to 3 h, hours up to 2 days, days beyond (a week is 7 bars,
    not 168 hair-thin ones)."""
    span = end - start
    if span <= timedelta(hours=3):
        return "minute"
    if span <= timedelta(days=2):
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
    if bucket == "day":
        return moment.strftime("%m-%d")  # days are UTC days, whatever zone the page shows
    return moment.astimezone(page_zone()).strftime("%m-%d %H:%M")


def filled_series(points: list[dict], start: datetime, end: datetime, bucket: str) -> dict[str, list]:
    """Every bucket of the window (empty ones as 0 / None), so gaps show as gaps, not as joins."""
    by_start = {}
    for p in points:
        moment = datetime.fromisoformat(p["bucket"])
        by_start[_floor(moment, bucket)] = p
    out: dict[str, list] = {"labels": [], "starts": [], "total": [], "errors": [], "p50": [], "p95": []}
    step, moment = BUCKET_STEP[bucket], _floor(start, bucket)
    while moment < end and len(out["labels"]) < 2000:
        p = by_start.get(moment, {})
        out["starts"].append(moment)  # for drill-down: a clicked bar's time range
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


# Muted in both themes: ECharts' default gridlines are near-white (invisible on light cards,
# glaring on dark ones). Text colour follows the theme through CSS on the SVG (CHART_CSS): ECharts'
# lighter greys (axis names, legends) measured 3.9:1 on a white card, under the 4.5:1 of WCAG AA.
_MUTED = {"lineStyle": {"color": "rgba(128,128,128,0.2)"}}
_AXIS = {"axisLine": {"lineStyle": {"color": "rgba(128,128,128,0.55)"}}, "splitLine": _MUTED}
# The SVG renderer makes chart text real <text> nodes, so the page's theme can colour them (canvas
# text keeps ECharts' dark grey, unreadable on a dark card) and the browser test can measure them.
CHART_CSS = """
.cl-chart text { fill: #454a52 !important; }
.body--dark .cl-chart text { fill: #d6d9de !important; }
.body--dark .cl-chart .cl-chart-tooltip { color: #222; }
"""
RENDERER = "svg"


def _axis(**options: Any) -> dict:
    return {**_AXIS, **options}


def _base(legend: list[str]) -> dict:
    # Legend on top and containLabel: rotated category labels and axis names never meet the legend.
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "renderMode": "richText"},
        "legend": {"data": legend, "top": 0},
        # right: 36 so the last time label (centred on its bar) is not cut at the edge.
        "grid": {"left": 8, "right": 36, "top": 32, "bottom": 8, "containLabel": True},
    }


def time_zoom() -> dict:
    """Drag on a time chart to zoom the whole page to that span (the page listens to datazoom)."""
    return {"toolbox": {"right": 0, "top": 0, "itemSize": 14, "feature": {"dataZoom": {"yAxisIndex": "none", "title": {
        "zoom": "Drag to zoom the page to a time span", "back": "Back"}}}}}


def volume_chart(series: dict) -> dict:
    return {**_base(["Tickets", "Errors"]), **time_zoom(),
            "xAxis": _axis(type="category", data=series["labels"]),
            "yAxis": _axis(type="value", minInterval=1),
            "series": [{"name": "Tickets", "type": "bar", "data": series["total"]},
                       {"name": "Errors", "type": "line", "data": series["errors"], "color": "#c10015"}]}


def latency_chart(series: dict) -> dict:
    return {**_base(["p50", "p95"]), **time_zoom(),
            "xAxis": _axis(type="category", data=series["labels"]),
            "yAxis": _axis(type="value", axisLabel={"formatter": "{value} s"}),
            "series": [{"name": "p50", "type": "line", "data": series["p50"], "connectNulls": False},
                       {"name": "p95", "type": "line", "data": series["p95"], "connectNulls": False}]}


def category_chart(by_category: list[dict]) -> dict:
    rows = by_category[:MAX_CATEGORIES]
    return {**_base(["Tickets", "Error rate %"]),
            "xAxis": _axis(type="category", data=[safe_label(r["category"]) for r in rows], axisLabel={"rotate": 30}),
            # "{value} %" on the labels instead of an axis name: a name on the right axis was clipped.
            "yAxis": [_axis(type="value", minInterval=1),
                      _axis(type="value", max=100, axisLabel={"formatter": "{value} %"}, splitLine={"show": False})],
            "series": [{"name": "Tickets", "type": "bar", "data": [int(r["count"]) for r in rows]},
                       {"name": "Error rate %", "type": "line", "yAxisIndex": 1, "color": "#c10015",
                        "data": [round(100 * (r["error_rate"] or 0), 1) for r in rows]}]}


def stacked_chart(dist: dict, x_name: str) -> dict:
    return {**_base(["Success", "Error"]),
            "xAxis": _axis(type="category", data=[str(b) for b in dist["buckets"]], name=x_name,
                           nameLocation="middle", nameGap=26),
            "grid": {**_base([])["grid"], "bottom": 24},  # room for the axis name below the labels
            "yAxis": _axis(type="value", minInterval=1),
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
