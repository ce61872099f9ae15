"""confidence and iterations columns, in the covering index

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

COVER_OLD = ['client_id', 'executed_at', 'status', 'execution_time_seconds', 'category', 'environment']
COVER_NEW = COVER_OLD + ['confidence', 'iterations']

# Same rule as services.validation.metric_columns: finite numbers only, iterations truncated toward
# zero and clamped to 32 bits. Nested CASEs so a non-number is never cast.
_PG_BACKFILL = """
UPDATE workflow_logs SET
  confidence = CASE WHEN jsonb_typeof(metrics->'confidence') = 'number' THEN
      CASE WHEN abs((metrics->>'confidence')::numeric) <= 1.7976931348623157e308
           THEN (metrics->>'confidence')::float8 END END,
  iterations = CASE WHEN jsonb_typeof(metrics->'iterations') = 'number' THEN
      LEAST(GREATEST(trunc((metrics->>'iterations')::numeric), -2147483648), 2147483647)::int END
WHERE metrics ?| array['confidence', 'iterations']
"""
_SQLITE_BACKFILL = """
UPDATE workflow_logs SET
  confidence = CASE WHEN json_type(metrics, '$.confidence') IN ('integer', 'real')
                    THEN CAST(json_extract(metrics, '$.confidence') AS REAL) END,
  iterations = CASE WHEN json_type(metrics, '$.iterations') IN ('integer', 'real')
                    THEN CAST(MIN(MAX(json_extract(metrics, '$.iterations'), -2147483648), 2147483647) AS INTEGER) END
WHERE metrics IS NOT NULL AND (json_type(metrics, '$.confidence') IS NOT NULL OR json_type(metrics, '$.iterations') IS NOT NULL)
"""


def upgrade() -> None:
    with op.batch_alter_table('workflow_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidence', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('iterations', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_logs_client_time_cover')
    bind = op.get_bind()
    op.execute(_PG_BACKFILL if bind.dialect.name == 'postgresql' else _SQLITE_BACKFILL)
    with op.batch_alter_table('workflow_logs', schema=None) as batch_op:
        batch_op.create_index('ix_logs_client_time_cover', COVER_NEW, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workflow_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_logs_client_time_cover')
        batch_op.create_index('ix_logs_client_time_cover', COVER_OLD, unique=False)
        batch_op.drop_column('iterations')
        batch_op.drop_column('confidence')
