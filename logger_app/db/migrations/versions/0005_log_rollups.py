"""hourly rollups for the dashboards, backfilled from the logs

Revision ID: 0003_rollups
Revises: 0003_search
"""
from alembic import op
import sqlalchemy as sa

from logger_app.db import types as _types
from logger_app.db.dialect import Dialect, ensure_sqlite_math
from logger_app.db.rollup_scheme import CONF_COLUMNS, ITER_COLUMNS, rebuild_statements

revision = '0003_rollups'
down_revision = '0003_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('log_rollups',
    sa.Column('client_id', sa.String(length=63), nullable=False),
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
    sa.PrimaryKeyConstraint('client_id', 'period', 'start', 'environment', 'category', 'no_category', 'status',
                            name=op.f('pk_log_rollups')),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_log_rollups_period_start', 'log_rollups', ['period', 'start'], unique=False)
    op.create_table('log_latency_rollups',
    sa.Column('client_id', sa.String(length=63), nullable=False),
    sa.Column('period', sa.String(length=4), nullable=False),
    sa.Column('start', _types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('environment', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'period', 'start', 'environment', 'status', 'bucket',
                            name=op.f('pk_log_latency_rollups')),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_log_latency_rollups_period_start', 'log_latency_rollups', ['period', 'start'], unique=False)
    # The backfill is the same INSERT ... SELECT ... GROUP BY as `logger-app rollups rebuild`: one
    # definition of how a log is bucketed (db/rollup_scheme.py), in the same transaction as the DDL.
    bind = op.get_bind()
    ensure_sqlite_math(bind)
    for statement in rebuild_statements(Dialect.of(bind), all_clients=False):  # 0009 adds those tables
        bind.execute(statement)


def downgrade() -> None:
    op.drop_index('ix_log_latency_rollups_period_start', table_name='log_latency_rollups')
    op.drop_table('log_latency_rollups')
    op.drop_index('ix_log_rollups_period_start', table_name='log_rollups')
    op.drop_table('log_rollups')
