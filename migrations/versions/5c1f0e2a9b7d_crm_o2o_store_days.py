"""crm o2o store days: the daily rollup of the stores' o2o report

Revision ID: 5c1f0e2a9b7d
Revises: b5e0be31b2b1
Create Date: 2026-12-07 10:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5c1f0e2a9b7d'
down_revision = 'b5e0be31b2b1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_o2o_store_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('coupons_claimed', sa.Integer(), nullable=False),
    sa.Column('coupons_redeemed', sa.Integer(), nullable=False),
    sa.Column('pickup_placed', sa.Integer(), nullable=False),
    sa.Column('pickup_picked_up', sa.Integer(), nullable=False),
    sa.Column('till_sales', sa.Integer(), nullable=False),
    sa.Column('till_sales_fen', sa.BigInteger(), nullable=False),
    sa.Column('new_members', sa.Integer(), nullable=False),
    sa.Column('new_members_via_share', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'store_id', name=op.f('pk_crm_o2o_store_days'))
    )
    with op.batch_alter_table('crm_o2o_store_days', schema=None) as batch_op:
        batch_op.create_index('ix_crm_o2o_store_days_store_id_day', ['store_id', 'day'], unique=False)
    # One business day of raw rows, read by the builder (crm/o2o/models.py).
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_completed_at', ['completed_at'], unique=False)
    with op.batch_alter_table('till_sales', schema=None) as batch_op:
        batch_op.create_index('ix_till_sales_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_home_store_set_at', ['home_store_set_at'], unique=False)


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_home_store_set_at')
    with op.batch_alter_table('till_sales', schema=None) as batch_op:
        batch_op.drop_index('ix_till_sales_created_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_completed_at')
    with op.batch_alter_table('crm_o2o_store_days', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_o2o_store_days_store_id_day')
    op.drop_table('crm_o2o_store_days')
