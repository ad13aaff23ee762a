"""crm funnel rollup: joins with their attribution, and members reaching each step per day

Revision ID: b7f3c1d2e9a0
Revises: 887c2ab96ad7
Create Date: 2026-12-07 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import shop.database


# revision identifiers, used by Alembic.
revision = 'b7f3c1d2e9a0'
down_revision = '887c2ab96ad7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_funnel_joins',
    sa.Column('member_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('joined_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('join_day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=True),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_crm_funnel_joins'))
    )
    with op.batch_alter_table('crm_funnel_joins', schema=None) as batch_op:
        batch_op.create_index('ix_crm_funnel_joins_join_day', ['join_day'], unique=False)

    op.create_table('crm_funnel_days',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_day', sa.Date(), nullable=False),
    sa.Column('join_day', sa.Date(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=True),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_funnel_days'))
    )
    with op.batch_alter_table('crm_funnel_days', schema=None) as batch_op:
        batch_op.create_index('ix_crm_funnel_days_campaign_join_day', ['campaign', 'join_day'], unique=False)
        batch_op.create_index('ix_crm_funnel_days_join_day_step', ['join_day', 'step'], unique=False)
        batch_op.create_index('ix_crm_funnel_days_share_id_join_day', ['share_id', 'join_day'], unique=False)
        batch_op.create_index('ix_crm_funnel_days_step_day', ['step_day'], unique=False)
        batch_op.create_index('ix_crm_funnel_days_store_id_join_day', ['store_id', 'join_day'], unique=False)


def downgrade():
    with op.batch_alter_table('crm_funnel_days', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_funnel_days_store_id_join_day')
        batch_op.drop_index('ix_crm_funnel_days_step_day')
        batch_op.drop_index('ix_crm_funnel_days_share_id_join_day')
        batch_op.drop_index('ix_crm_funnel_days_join_day_step')
        batch_op.drop_index('ix_crm_funnel_days_campaign_join_day')
    op.drop_table('crm_funnel_days')
    with op.batch_alter_table('crm_funnel_joins', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_funnel_joins_join_day')
    op.drop_table('crm_funnel_joins')
