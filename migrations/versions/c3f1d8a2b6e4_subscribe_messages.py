"""subscribe messages: sends left per member and template, acceptances, sends; coupons by expiry

Each acceptance of a template allows one send: ``message_subscriptions`` counts what is left (a CHECK
keeps it between 0 and 50, so no race takes it below zero); ``message_sends`` is unique per purpose,
member and subject, so an event fired twice queues one message. Coupons get an index on (status,
expires_at) for the daily reminder of coupons about to expire.

Revision ID: c3f1d8a2b6e4
Revises: 85564adce222
Create Date: 2026-12-07 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import shop.database


# revision identifiers, used by Alembic.
revision = 'c3f1d8a2b6e4'
down_revision = '85564adce222'
branch_labels = None
depends_on = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('message_subscriptions',
    sa.Column('member_id', BIGINT_PK, nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('sends_left', sa.Integer(), nullable=False),
    sa.Column('updated_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('sends_left BETWEEN 0 AND 50', name=op.f('ck_message_subscriptions_sends_left_in_range')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_message_subscriptions_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'template_id', name=op.f('pk_message_subscriptions'))
    )
    op.create_table('message_acceptances',
    sa.Column('id', BIGINT_PK, nullable=False),
    sa.Column('member_id', BIGINT_PK, nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('asked', sa.JSON(), nullable=False),
    sa.Column('accepted', sa.JSON(), nullable=False),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_message_acceptances_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_acceptances')),
    sa.UniqueConstraint('member_id', 'idempotency_key', name=op.f('uq_message_acceptances_member_id_idempotency_key'))
    )
    op.create_table('message_sends',
    sa.Column('id', BIGINT_PK, nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('member_id', BIGINT_PK, nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('page', sa.String(length=256), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('errmsg', sa.String(length=256), nullable=True),
    sa.Column('msgid', sa.BigInteger(), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', shop.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'sent', 'refused', 'failed', 'no_subscription')",
                       name=op.f('ck_message_sends_status_known')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_message_sends_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_sends')),
    sa.UniqueConstraint('purpose', 'member_id', 'subject_id', name=op.f('uq_message_sends_purpose_member_id_subject_id'))
    )
    op.create_index('ix_message_sends_member_id_created_at', 'message_sends', ['member_id', 'created_at'],
                    unique=False)
    op.create_index('ix_coupons_status_expires_at', 'coupons', ['status', 'expires_at'], unique=False)


def downgrade():
    op.drop_index('ix_coupons_status_expires_at', table_name='coupons')
    op.drop_index('ix_message_sends_member_id_created_at', table_name='message_sends')
    op.drop_table('message_sends')
    op.drop_table('message_acceptances')
    op.drop_table('message_subscriptions')
