"""journey events complete: partitioned by month on PostgreSQL, client event receipts, batch campaigns

journey_events gets indexes for the reports (campaign + time, store + time). On PostgreSQL it
becomes a table partitioned by range of occurred_at (a partition a month, UTC, and a default one):
the rows move over, the id sequence carries on, and the primary key becomes (id, occurred_at), as a
partitioned table's keys must hold the partition key. On SQLite it stays a plain table.
client_event_receipts remembers which client event ids a member sent (duplicates are ignored
across batches). coupon_batches.campaign labels a batch for attribution.

Revision ID: 9d4e2a7c1b36
Revises: a7c2e91f4b10
Create Date: 2026-12-07 08:50:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import shop.database
from crm.journey import partitions


# revision identifiers, used by Alembic.
revision = '9d4e2a7c1b36'
down_revision = 'a7c2e91f4b10'
branch_labels = None
depends_on = None

MONTHS_AHEAD = 2  # the periodic job keeps JOURNEY_PARTITION_MONTHS_AHEAD from then on
_COLUMNS = "id, member_id, kind, occurred_at, store_id, share_id, campaign, attributes"
_INDEXES = (('ix_journey_events_member_occurred', ['member_id', 'occurred_at']),
            ('ix_journey_events_kind_occurred', ['kind', 'occurred_at']))
_NEW_INDEXES = (('ix_journey_events_campaign_occurred', ['campaign', 'occurred_at']),
                ('ix_journey_events_store_occurred', ['store_id', 'occurred_at']))


def upgrade():
    op.create_table('client_event_receipts',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_event_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_client_event_receipts_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'client_event_id', name=op.f('pk_client_event_receipts'))
    )
    with op.batch_alter_table('client_event_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_client_event_receipts_received_at', ['received_at'], unique=False)
    with op.batch_alter_table('coupon_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign', sa.String(length=64), nullable=True))

    if op.get_bind().dialect.name == 'postgresql':
        _partition()
    else:
        with op.batch_alter_table('journey_events', schema=None) as batch_op:
            for name, columns in _NEW_INDEXES:
                batch_op.create_index(name, columns, unique=False)


def _partition():
    """Rebuild journey_events as a partitioned table holding the same rows under the same ids."""
    for name, _columns in _INDEXES:
        op.drop_index(name, table_name='journey_events')
    op.execute("ALTER TABLE journey_events RENAME TO journey_events_unpartitioned")
    op.execute("ALTER TABLE journey_events_unpartitioned RENAME CONSTRAINT pk_journey_events "
               "TO pk_journey_events_unpartitioned")
    op.execute("ALTER TABLE journey_events_unpartitioned DROP CONSTRAINT fk_journey_events_member_id_members")
    op.execute("ALTER SEQUENCE journey_events_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE journey_events_unpartitioned ALTER COLUMN id DROP DEFAULT")
    op.execute("""
        CREATE TABLE journey_events (
            id BIGINT NOT NULL DEFAULT nextval('journey_events_id_seq'),
            member_id BIGINT NOT NULL,
            kind VARCHAR(40) NOT NULL,
            occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
            store_id BIGINT,
            share_id BIGINT,
            campaign VARCHAR(64),
            attributes JSON NOT NULL,
            CONSTRAINT pk_journey_events PRIMARY KEY (id, occurred_at),
            CONSTRAINT fk_journey_events_member_id_members FOREIGN KEY (member_id) REFERENCES members (id)
        ) PARTITION BY RANGE (occurred_at)""")
    op.execute("ALTER SEQUENCE journey_events_id_seq OWNED BY journey_events.id")
    op.execute(f"CREATE TABLE {partitions.DEFAULT_PARTITION} PARTITION OF journey_events DEFAULT")
    bind = op.get_bind()
    now = datetime.now(UTC)
    oldest = bind.scalar(sa.text("SELECT min(occurred_at) FROM journey_events_unpartitioned")) or now
    partitions.ensure_months(bind, min(oldest, now), partitions.months_after(partitions.month_of(now), MONTHS_AHEAD))
    op.execute(f"INSERT INTO journey_events ({_COLUMNS}) SELECT {_COLUMNS} FROM journey_events_unpartitioned")
    op.execute("DROP TABLE journey_events_unpartitioned")
    for name, columns in _INDEXES + _NEW_INDEXES:
        op.create_index(name, 'journey_events', columns, unique=False)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _unpartition()
    else:
        with op.batch_alter_table('journey_events', schema=None) as batch_op:
            for name, _columns in _NEW_INDEXES:
                batch_op.drop_index(name)
    with op.batch_alter_table('coupon_batches', schema=None) as batch_op:
        batch_op.drop_column('campaign')
    with op.batch_alter_table('client_event_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_client_event_receipts_received_at')
    op.drop_table('client_event_receipts')


def _unpartition():
    """Back to one plain table with the same rows and ids."""
    op.execute("ALTER TABLE journey_events RENAME TO journey_events_partitioned")
    op.execute("ALTER TABLE journey_events_partitioned RENAME CONSTRAINT pk_journey_events "
               "TO pk_journey_events_partitioned")
    op.execute("ALTER TABLE journey_events_partitioned DROP CONSTRAINT fk_journey_events_member_id_members")
    for name, _columns in _INDEXES + _NEW_INDEXES:
        op.drop_index(name, table_name='journey_events_partitioned')
    op.execute("ALTER SEQUENCE journey_events_id_seq OWNED BY NONE")
    op.execute("""
        CREATE TABLE journey_events (
            id BIGINT NOT NULL DEFAULT nextval('journey_events_id_seq'),
            member_id BIGINT NOT NULL,
            kind VARCHAR(40) NOT NULL,
            occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
            store_id BIGINT,
            share_id BIGINT,
            campaign VARCHAR(64),
            attributes JSON NOT NULL,
            CONSTRAINT pk_journey_events PRIMARY KEY (id),
            CONSTRAINT fk_journey_events_member_id_members FOREIGN KEY (member_id) REFERENCES members (id)
        )""")
    op.execute("ALTER SEQUENCE journey_events_id_seq OWNED BY journey_events.id")
    op.execute(f"INSERT INTO journey_events ({_COLUMNS}) SELECT {_COLUMNS} FROM journey_events_partitioned")
    op.execute("DROP TABLE journey_events_partitioned")
    for name, columns in _INDEXES:
        op.create_index(name, 'journey_events', columns, unique=False)
