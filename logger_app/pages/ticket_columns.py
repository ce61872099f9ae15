"""The ticket list's columns: which exist, which a user can hide (the column picker, remembered per
user in services/access/preferences.py), and how a log becomes a row of plain scalar cells."""

from __future__ import annotations

from .view_utils import fmt_number, fmt_seconds, fmt_when, metric, zone_label

FIRST_ERROR_SHOWN = 120  # characters in the cell (rows stay one line); the detail page has the whole message
# name -> (label, align); in display order. ticket_id, status and executed_at are always shown.
ALL_COLUMNS: dict[str, tuple[str, str]] = {
    "ticket_id": ("Ticket ID", "left"),
    "client_id": ("Client", "left"),
    "status": ("Status", "left"),
    "category": ("Category", "left"),
    "error": ("Error", "left"),
    "model": ("Model", "left"),
    "tools": ("Tools", "left"),
    "iterations": ("Iterations", "right"),
    "tokens": ("Tokens", "right"),
    "confidence": ("Confidence", "right"),
    "execution_time": ("Execution time", "right"),
    "environment": ("Environment", "left"),
    "executed_at": ("Time (UTC)", "left"),
}
FIXED = ("ticket_id", "status", "executed_at")
OPTIONAL = tuple(c for c in ALL_COLUMNS if c not in FIXED and c != "client_id")
DEFAULT_SHOWN = ("category", "error", "model", "tools", "iterations", "tokens", "confidence", "execution_time")


def shown_columns(chosen: list[str] | None) -> list[str]:
    """The optional columns to show: the user's choice (unknown names dropped), else the default."""
    if chosen is None:
        return list(DEFAULT_SHOWN)
    return [c for c in OPTIONAL if c in chosen]


def columns(is_admin: bool, shown: list[str], searching: bool = False) -> list[dict]:
    names = [c for c in ALL_COLUMNS if c in FIXED or c in shown or (c == "client_id" and is_admin)]
    cols = [{"name": n, "label": ALL_COLUMNS[n][0], "field": n, "align": ALL_COLUMNS[n][1]} for n in names]
    for col in cols:
        if col["name"] == "executed_at":
            col["label"] = f"Time ({zone_label()})"  # the user's zone (preference), UTC by default
    if searching:
        cols.append({"name": "match", "label": "Match", "field": "match_text", "align": "left"})
    return cols


def _joined(names: list[str], limit: int = 3) -> str:
    if not names:
        return "—"
    return ", ".join(names[:limit]) + (f" +{len(names) - limit}" if len(names) > limit else "")


def _error(triage: dict) -> str:
    types, message = triage.get("error_types") or [], triage.get("first_error")
    if not types and not message:
        return ""
    text = f"{types[0]}: {message}" if types and message else (types[0] if types else str(message))
    return text if len(text) <= FIRST_ERROR_SHOWN else text[:FIRST_ERROR_SHOWN - 1] + "…"


def table_row(item: dict) -> dict:
    """Scalar cells only (a list in a cell made the browser eat memory, nicegui#4837)."""
    triage = item.get("triage") or {}
    tokens = triage.get("tokens")
    iterations = triage.get("iterations")
    return {
        "id": item["id"],
        "ticket_id": item["ticket_id"],
        "status": item["status"],
        "category": item["category"] or "—",
        "environment": item["environment"],
        "error": _error(triage),
        "model": _joined(triage.get("models") or [], 2),
        "tools": _joined(triage.get("tools") or []),
        "iterations": str(iterations) if isinstance(iterations, int) else "—",
        "tokens": f"{tokens:,}" if isinstance(tokens, int) else "—",
        "confidence": fmt_number(metric(item["metrics"], "confidence")),
        "execution_time": fmt_seconds(item["execution_time_seconds"]),
        "executed_at": fmt_when(item["executed_at"]).rsplit(" ", 1)[0],  # the header names the zone: 30 px a row
        "client_id": item["client_id"],
        **_match_cells(item.get("match")),
    }


def _match_cells(match: dict | None) -> dict:
    if not match:
        return {"match_before": "", "match_text": "", "match_after": ""}
    return {"match_before": match["before"], "match_text": match["match"], "match_after": match["after"]}
