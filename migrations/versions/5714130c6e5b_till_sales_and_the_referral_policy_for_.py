"""till sales, and whether the referral policy rewards them

A till sale (shop.till) is an order recorded by a clerk; till_sales keeps its store and receipt
number, unique together, so a till's retry (or two clerks sending one receipt at once) records one
sale whatever the race. referral_settings.reward_till_sales: whether a referred friend's till sale
rewards the sharer (off by default).

Revision ID: 5714130c6e5b
Revises: c3f1d8a2b6e4
Create Date: 2026-12-07 06:54:59.279145

"""
from alembic import op
import sqlalchemy as sa

import shop.database


# revision identifiers, used by Alembic.
revision = '5714130c6e5b'
down_revision = 'c3f1d8a2b6e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('till_sales',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_no', sa.String(length=40), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('coupon_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided_at', shop.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_by_staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_till_sales_order_id_orders')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_accounts.id'], name=op.f('fk_till_sales_staff_id_staff_accounts')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_till_sales_store_id_stores')),
    sa.ForeignKeyConstraint(['voided_by_staff_id'], ['staff_accounts.id'], name=op.f('fk_till_sales_voided_by_staff_id_staff_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_till_sales')),
    sa.UniqueConstraint('order_id', name=op.f('uq_till_sales_order_id')),
    sa.UniqueConstraint('store_id', 'receipt_no', name='uq_till_sales_store_receipt')
    )
    with op.batch_alter_table('till_sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_till_sales_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('referral_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reward_till_sales', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('referral_settings', schema=None) as batch_op:
        batch_op.drop_column('reward_till_sales')

    with op.batch_alter_table('till_sales', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_till_sales_member_id'))

    op.drop_table('till_sales')
