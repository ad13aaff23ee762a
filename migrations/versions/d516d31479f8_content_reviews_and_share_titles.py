"""content security: texts held for review, and the sharer's title on a share card

A nickname or share title WeChat's check wants a person to look at (or kept unchecked while WeChat
was down) is a content_reviews row until an admin or the recheck decides it; referral_shares.title
is the optional card text a sharer writes.

Revision ID: d516d31479f8
Revises: a7c4e2d91b35
Create Date: 2026-12-07 06:53:14.237836

"""
from alembic import op
import sqlalchemy as sa

import shop.database


# revision identifiers, used by Alembic.
revision = 'd516d31479f8'
down_revision = 'a7c4e2d91b35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('content_reviews',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('previous_text', sa.String(length=500), nullable=True),
    sa.Column('scene', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('label', sa.Integer(), nullable=True),
    sa.Column('trace_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_at', shop.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', shop.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('unchecked', 'review', 'passed', 'removed', 'cleared', 'rejected')", name=op.f('ck_content_reviews_status_known')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_content_reviews_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_reviews'))
    )
    with op.batch_alter_table('content_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_reviews_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_content_reviews_status_id', ['status', 'id'], unique=False)

    with op.batch_alter_table('referral_shares', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=40), nullable=True))



def downgrade():
    with op.batch_alter_table('referral_shares', schema=None) as batch_op:
        batch_op.drop_column('title')

    with op.batch_alter_table('content_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_content_reviews_status_id')
        batch_op.drop_index(batch_op.f('ix_content_reviews_member_id'))

    op.drop_table('content_reviews')
