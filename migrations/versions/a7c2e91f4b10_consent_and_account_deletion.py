"""consent to marketing with its history, and account deletion (PIPL)

members.marketing_consent ('unknown' for everyone who existed before: the mini-program asks), with
its time and text version; member_consent_history keeps every grant and withdrawal.
members.token_version ends a deleted member's tokens; members.deleted_at marks the anonymised row.
member_deleted_identities keeps a salted hash of a deleted openid for a stated period (docs/privacy.md);
crm_member_deletions logs what a deletion did, without personal data.

Revision ID: a7c2e91f4b10
Revises: 5714130c6e5b
Create Date: 2026-12-07 09:05:00

"""
from alembic import op
import sqlalchemy as sa

import shop.database


revision = 'a7c2e91f4b10'
down_revision = '5714130c6e5b'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marketing_consent', sa.String(length=16), server_default=sa.text("'unknown'"),
                                      nullable=False))
        batch_op.add_column(sa.Column('marketing_consent_at', shop.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('marketing_consent_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('deleted_at', shop.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_members_marketing_consent_known'), "marketing_consent IN ('unknown', 'granted', 'withdrawn')")

    op.create_table('member_consent_history',
    sa.Column('id', ID, nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('text_version', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_consent_history_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_consent_history'))
    )
    op.create_index('ix_member_consent_history_member_id_recorded_at', 'member_consent_history',
                    ['member_id', 'recorded_at'], unique=False)

    op.create_table('member_deleted_identities',
    sa.Column('id', ID, nullable=False),
    sa.Column('openid_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_deleted_identities')),
    sa.UniqueConstraint('openid_hash', name=op.f('uq_member_deleted_identities_openid_hash'))
    )
    op.create_index(op.f('ix_member_deleted_identities_expires_at'), 'member_deleted_identities', ['expires_at'],
                    unique=False)

    op.create_table('crm_member_deletions',
    sa.Column('id', ID, nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('identity_kept_until', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_crm_member_deletions_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_member_deletions')),
    sa.UniqueConstraint('member_id', name=op.f('uq_crm_member_deletions_member_id'))
    )


def downgrade():
    op.drop_table('crm_member_deletions')
    op.drop_index(op.f('ix_member_deleted_identities_expires_at'), table_name='member_deleted_identities')
    op.drop_table('member_deleted_identities')
    op.drop_index('ix_member_consent_history_member_id_recorded_at', table_name='member_consent_history')
    op.drop_table('member_consent_history')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_members_marketing_consent_known'), type_='check')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('token_version')
        batch_op.drop_column('marketing_consent_version')
        batch_op.drop_column('marketing_consent_at')
        batch_op.drop_column('marketing_consent')
