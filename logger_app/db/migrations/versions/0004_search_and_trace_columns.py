"""tools, error_types, models and search_text columns; the search index (FTS5 / pg_trgm)

Revision ID: 0003_search
Revises: 0003_rate_buckets

Existing rows keep NULL in the new columns (and are not found by search or the trace filters)
until `logger-app search backfill` derives them: reading every stored payload as a trace is
~0.1 ms per log, minutes at 1M logs, which start-up should not wait for (docs/SEARCH.md).
"""
from alembic import op
import sqlalchemy as sa

from logger_app.db import search_index

revision = '0003_search'
down_revision = '0003_rate_buckets'
branch_labels = None
depends_on = None

COLUMNS = ('tools', 'error_types', 'models', 'search_text')


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite a batch "move and copy" would recreate the table.
    for name in COLUMNS:
        op.add_column('workflow_logs', sa.Column(name, sa.Text(), nullable=True))
    search_index.create(op, op.get_bind().dialect.name, detail='full')  # as it was then: 0007_search_detail converts


def downgrade() -> None:
    search_index.drop(op, op.get_bind().dialect.name)
    with op.batch_alter_table('workflow_logs', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
