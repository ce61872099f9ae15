"""rate_buckets: per-key token buckets shared by every server process (PostgreSQL)

Revision ID: 0003_rate_buckets
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_rate_buckets'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_buckets',
        sa.Column('key_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('tokens', sa.Double(), nullable=False),
        sa.Column('updated_at', sa.Double(), nullable=False),
        sa.Column('allowed', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('key_id', 'kind'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Every limited request updates a row: UNLOGGED skips the WAL (and its flush at commit).
        # After a crash PostgreSQL empties the table, which only refills every bucket; replicas
        # do not get it, and nothing reads it there.
        op.execute('ALTER TABLE rate_buckets SET UNLOGGED')


def downgrade() -> None:
    op.drop_table('rate_buckets')
