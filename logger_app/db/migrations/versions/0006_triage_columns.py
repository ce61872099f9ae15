"""first_error, tokens and derive_version on workflow_logs; users.preferences

Revision ID: 0006_triage
Revises: 0003_rollups

Existing rows keep NULL in the new log columns until `logger-app search backfill` derives them
(it re-derives every row whose derive_version is older than services/ingest/derive.DERIVE_VERSION):
reading every payload as a trace is ~0.1 ms per log, which start-up should not wait for.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006_triage'
down_revision = '0003_rollups'
branch_labels = None
depends_on = None

COLUMNS = (('first_error', sa.Text()), ('tokens', sa.Integer()), ('derive_version', sa.Integer()))


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite a batch "move and copy" would recreate the table.
    for name, type_ in COLUMNS:
        op.add_column('workflow_logs', sa.Column(name, type_, nullable=True))
    op.add_column('users', sa.Column('preferences', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('preferences')
    with op.batch_alter_table('workflow_logs', schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
