"""the counter of changes to closed rollup periods (db/closed_periods.py)

Revision ID: 0010_rollup_generations
Revises: 0009_rollups_all

Empty at first: a missing 'closed' row reads as generation 0, and nothing can have kept a closed
period's sums before this table existed.
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_rollup_generations'
down_revision = '0009_rollups_all'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollup_generations',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rollup_generations')),
    )


def downgrade() -> None:
    op.drop_table('rollup_generations')
