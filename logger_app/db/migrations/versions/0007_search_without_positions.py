"""SQLite: the FTS5 search table without token positions (detail=none); PostgreSQL: nothing

Revision ID: 0007_search_detail
Revises: 0006_triage

Positions only served phrase queries; searches are now an AND of trigrams whose rows are then
tested for the whole text (db/search_index.py), and the index is half the size and half the insert
cost. The table is dropped and refilled from workflow_logs.search_text in this migration: ~75 µs a
log (a minute or so per million logs, at start-up). Rows with no text yet (stored before 0003_search
and not backfilled) are left out, as the triggers would leave them.
"""
from alembic import op

from logger_app.db import search_index

revision = '0007_search_detail'
down_revision = '0006_triage'
branch_labels = None
depends_on = None


def _recreate(detail: str) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    search_index.drop(op, 'sqlite')
    search_index.create(op, 'sqlite', detail=detail)
    op.execute(f"INSERT INTO {search_index.FTS_TABLE}(rowid, search_text) "
               "SELECT id, search_text FROM workflow_logs WHERE search_text IS NOT NULL")


def upgrade() -> None:
    _recreate('none')


def downgrade() -> None:
    _recreate('full')
