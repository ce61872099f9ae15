"""the rollups summed over every client (an admin's all-clients dashboards), backfilled

Revision ID: 0009_rollups_all
Revises: 0008_partitions

models.LogRollupAll says why: at 1M logs over 20 clients the per-client rows hardly compress, so an
all-clients read added up ~20x the rows it needs. Filled from the per-client rollups with the same
statements as `logger-app rollups rebuild` (db/rollup_scheme.all_clients_statements).
"""
from alembic import op
import sqlalchemy as sa

from logger_app.db import types as _types
from logger_app.db.rollup_scheme import CONF_COLUMNS, ITER_COLUMNS, all_clients_statements

revision = '0009_rollups_all'
down_revision = '0008_partitions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('log_rollups_all',
    sa.Column('period', sa.String(length=4), nullable=False),
    sa.Column('start', _types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('environment', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=128), nullable=False),
    sa.Column('no_category', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('exec_n', sa.BigInteger(), nullable=False),
    sa.Column('exec_sum', sa.Double(), nullable=False),
    *[sa.Column(c, sa.BigInteger(), nullable=False) for c in CONF_COLUMNS + ITER_COLUMNS],
    sa.PrimaryKeyConstraint('period', 'start', 'environment', 'category', 'no_category', 'status',
                            name=op.f('pk_log_rollups_all')),
    sqlite_with_rowid=False,
    )
    op.create_table('log_latency_rollups_all',
    sa.Column('period', sa.String(length=4), nullable=False),
    sa.Column('start', _types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('environment', sa.String(length=32), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('period', 'start', 'environment', 'bucket', name=op.f('pk_log_latency_rollups_all')),
    sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    for statement in all_clients_statements():
        bind.execute(statement)


def downgrade() -> None:
    op.drop_table('log_latency_rollups_all')
    op.drop_table('log_rollups_all')
