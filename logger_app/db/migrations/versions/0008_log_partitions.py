"""PostgreSQL: workflow_logs as monthly range partitions on executed_at, and the log locator

Revision ID: 0008_partitions
Revises: 0007_search_detail

PostgreSQL only (SQLite keeps its plain table: nothing to do there). On a populated database, in
the migration's one transaction: the old table is renamed and loses its indexes (nothing reads it
but the copy), a partitioned table LIKE it is created with the default partition and one partition
per month present in the data plus this month to AHEAD_MONTHS ahead, the rows are copied with one
INSERT ... SELECT (routed by PostgreSQL), then the primary key (id, executed_at), the indexes, the
pg_trgm search index and the locator (db/log_locator.py, filled from the copy) are built after the
load, which is faster than maintaining them row by row. The id sequence is handed to the new table,
so ids go on where they were and public ids in users' links keep naming the same logs. Timed with
bench/partition_migrate.py (docs/DEPLOYMENT.md "Partitions and retention").

The downgrade is the same in reverse (a plain table again, with uq_logs_client_idempotency); it
copies every row back, so it takes about as long as the upgrade.
"""
from datetime import datetime, timezone

from alembic import op
from sqlalchemy import text

from logger_app.db import log_locator, partitions, search_index

revision = '0008_partitions'
down_revision = '0007_search_detail'
branch_labels = None
depends_on = None

OLD = 'workflow_logs_unpartitioned'
# workflow_logs' indexes at 0006 (models.py), without uq_logs_client_idempotency: on the partitioned
# table the locator's unique index replaces it.
INDEXES = (
    ('ix_logs_client_time', 'client_id, executed_at, id'),
    ('ix_logs_time', 'executed_at, id'),
    ('ix_logs_client_status_time', 'client_id, status, executed_at, id'),
    ('ix_logs_client_ticket', 'client_id, ticket_id'),
    ('ix_logs_client_time_cover',
     'client_id, executed_at, status, execution_time_seconds, category, environment, confidence, iterations'),
)
UNIQUE = ('uq_logs_client_idempotency', 'client_id, idempotency_key')


def _postgres() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _swap_out() -> None:
    """workflow_logs renamed to OLD, stripped of every index and of its primary key (their names are
    schema-wide and the new table takes them)."""
    search_index.drop(op, 'postgresql')
    for name, _ in (*INDEXES, UNIQUE):
        op.execute(f'DROP INDEX IF EXISTS {name}')
    op.execute(f'ALTER TABLE workflow_logs RENAME TO {OLD}')
    op.execute(f'ALTER TABLE {OLD} DROP CONSTRAINT pk_workflow_logs')


def _finish(unique: bool) -> None:
    """The indexes on the new workflow_logs (on a partitioned table: one per partition, built now),
    the sequence handed over, the old table dropped."""
    for name, columns in INDEXES:
        op.execute(f'CREATE INDEX {name} ON workflow_logs ({columns})')
    if unique:
        op.execute(f'CREATE UNIQUE INDEX {UNIQUE[0]} ON workflow_logs ({UNIQUE[1]}) WHERE idempotency_key IS NOT NULL')
    search_index.create(op, 'postgresql')
    op.execute('ALTER SEQUENCE workflow_logs_id_seq OWNED BY workflow_logs.id')
    op.execute(f'DROP TABLE {OLD}')


def upgrade() -> None:
    if not _postgres():
        return
    bind = op.get_bind()
    _swap_out()
    op.execute(f'CREATE TABLE workflow_logs (LIKE {OLD} INCLUDING DEFAULTS) PARTITION BY RANGE (executed_at)')
    op.execute(f'CREATE TABLE {partitions.DEFAULT_PARTITION} PARTITION OF workflow_logs DEFAULT')
    present = bind.execute(text(
        f"SELECT DISTINCT CAST(extract(year FROM executed_at AT TIME ZONE 'UTC') AS int), "
        f"CAST(extract(month FROM executed_at AT TIME ZONE 'UTC') AS int) FROM {OLD}")).all()
    # Every month present gets its partition, even outside the writer's window (db/partitions.py):
    # these rows exist, and retention can then drop them by the month.
    # December 9999 has no end a datetime can say: its rows stay in the default partition.
    months = {(y, m) for y, m in present if (y, m) < (9999, 12)}
    here = partitions.month_of(datetime.now(timezone.utc))
    months |= {partitions.shift(here, i) for i in range(partitions.AHEAD_MONTHS + 1)}
    for month in sorted(months):
        lo, hi = partitions.bounds(month)
        op.execute(f"CREATE TABLE {partitions.partition_name(month)} PARTITION OF workflow_logs "
                   f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')")
    op.execute(f'INSERT INTO workflow_logs SELECT * FROM {OLD}')
    op.execute('ALTER TABLE workflow_logs ADD CONSTRAINT pk_workflow_logs PRIMARY KEY (id, executed_at)')
    _finish(unique=False)
    for statement in log_locator.create_statements(fill=True):
        op.execute(statement)
    op.execute('ANALYZE workflow_logs')


def downgrade() -> None:
    if not _postgres():
        return
    for statement in log_locator.drop_statements():
        op.execute(statement)
    _swap_out()
    op.execute(f'CREATE TABLE workflow_logs (LIKE {OLD} INCLUDING DEFAULTS)')
    op.execute(f'INSERT INTO workflow_logs SELECT * FROM {OLD}')
    op.execute('ALTER TABLE workflow_logs ADD CONSTRAINT pk_workflow_logs PRIMARY KEY (id)')
    # The partitions go with the partitioned table (DROP TABLE in _finish).
    _finish(unique=True)
