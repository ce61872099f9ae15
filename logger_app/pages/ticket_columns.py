"""The ticket list's look: its columns (which exist, which a user can hide with the column picker,
remembered per user in services/access/preferences.py), how a log becomes a row of plain scalar
cells, the cell templates, and the texts of the total and of the refused-parameters banner."""

from __future__ import annotations

from ..services.errors import FieldProblem
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


SORT_LABELS = {"-executed_at": "Newest first", "executed_at": "Oldest first", "-execution_time": "Slowest first",
               "execution_time": "Fastest first", "confidence": "Lowest confidence", "-confidence": "Highest confidence",
               "-iterations": "Most iterations", "iterations": "Fewest iterations"}
STATUS_SLOT = r"""<q-td :props="props">
  <q-badge :color="props.value === 'ERROR' ? 'negative' : (props.value === 'SUCCESS' ? 'positive' : 'grey')"
           :label="props.value" />
</q-td>"""
# row.href is a path the server made (/logs/log_… plus the list's own query), never text from a log.
TICKET_SLOT = r"""<q-td :props="props"><a class="text-primary" :href="props.row.href">{{ props.value }}</a></q-td>"""
# The text around a search match: three text interpolations (Vue escapes them), never v-html, so a
# payload's markup shows as the characters it is.
MATCH_SLOT = r"""<q-td :props="props"><span class="text-xs">{{ props.row.match_before }}<mark
  class="bg-yellow-3 text-black">{{ props.row.match_text }}</mark>{{ props.row.match_after }}</span></q-td>"""
ERROR_SLOT = r"""<q-td :props="props" :title="props.value"><span class="cl-err">{{ props.value }}</span></q-td>"""
# Dense rows (50 were 2,778 px with two-line cells); the single-selection column stays hidden: the
# selection is the keyboard's cursor (j/k), shown as the row's highlight.
TABLE_CSS = """.cl-tickets td, .cl-tickets th { white-space: nowrap; }
.cl-tickets td { max-width: 18rem; overflow: hidden; text-overflow: ellipsis; }
.cl-tickets .q-table--col-auto-width { display: none; }
.cl-err { color: #b00020; }
.body--dark .cl-err { color: #ff8a80; }"""  # Quasar's negative (#c10015) is 2.9:1 on the dark table
LABELS = {"since": "From", "until": "To", "q": "Search", "ticket_id": "Ticket ID", "status": "Status", "category": "Category",
          "environment": "Environment", "client_id": "Client", "sort": "Sort", "size": "Page size", "cursor": "Page", "page": "Page"}


def refused_text(problems: list[FieldProblem]) -> str:
    return "; ".join(f"{p.field} ({LABELS.get(p.field, p.field)}): {p.problem}" for p in problems)


def range_text(page: int, size: int, shown: int, total: dict | None, more: bool) -> str:
    """'51–100 of 12,408' ('10,000+' past the bounded count; '… of 100+ matches' for a search)."""
    first = (page - 1) * size + 1
    last = first + shown - 1
    if not shown:
        return "No tickets"
    if total is None:  # a search: counting every match is what the search walk avoids
        return f"{first:,}–{last:,} of {last:,}+ matches" if more else f"{first:,}–{last:,} of {last:,}"
    return f"{first:,}–{last:,} of {total['count']:,}{'' if total['exact'] else '+'}"
