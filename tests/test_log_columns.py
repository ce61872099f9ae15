"""db/log_columns.py is the one spec of workflow_logs that the writer, the summaries and the CSV
export are derived from: it must name exactly the table's columns, in order, of matching kinds."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Column, Float, Integer, String

from logger_app.db.log_columns import CSV_COLUMNS, INSERT_COLUMNS, LOG_COLUMNS, Kind
from logger_app.db.models import WorkflowLog
from logger_app.db.types import UtcDateTime
from logger_app.services.ingest.validation import normalise_log


def kind_of(column: Column) -> Kind:
    if column.primary_key:
        return Kind.ID
    # Most specific first: UtcDateTime is a TypeDecorator, Double a Float, BigInteger an Integer.
    for sql_type, kind in ((UtcDateTime, Kind.TIME), (JSON, Kind.JSON), (String, Kind.TEXT),
                           (Float, Kind.FLOAT), (Integer, Kind.INT)):
        if isinstance(column.type, sql_type):
            return kind
    raise AssertionError(f"workflow_logs.{column.name}: no Kind for {column.type!r}")


def test_the_spec_is_the_workflow_logs_table():
    table = [(c.name, kind_of(c)) for c in WorkflowLog.__table__.columns]
    spec = [(c.name, c.kind) for c in LOG_COLUMNS]
    assert spec == table


def test_csv_positions_are_one_to_n():
    # Two columns at one position would make the header's order depend on the spec's.
    positions = sorted(c.csv for c in LOG_COLUMNS if c.csv is not None)
    assert positions == list(range(1, len(CSV_COLUMNS) + 1))


def test_an_ingested_row_holds_exactly_the_insert_columns():
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    row = normalise_log({"ticket_id": "T-1", "status": "SUCCESS", "executed_at": now.isoformat(),
                         "metrics": {"confidence": 0.5, "iterations": 2}}, "acme", now)
    assert set(row) == set(INSERT_COLUMNS)  # the writer takes them by name
