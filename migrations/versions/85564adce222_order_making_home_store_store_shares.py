"""order making at the counter, the member's home store, store shares

Stores that prepare orders (stores.prepares_orders, false for every existing store: they keep
today's behaviour), the time an order began being made and an index for a store's making queue;
the member's home store (set once); shares clerks make for their stores and their opens, in tables
of their own so that member shares (and their figures) stay as they were.

Revision ID: 85564adce222
Revises: b3d1f0c8e2a4
Create Date: 2026-12-07 06:53:11.593673

"""
from alembic import op
import sqlalchemy as sa

import shop.database


# revision identifiers, used by Alembic.
revision = '85564adce222'
down_revision = 'b3d1f0c8e2a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('referral_store_shares',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scene', sa.String(length=32), nullable=False),
    sa.Column('store_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_referral_store_shares_product_id_products')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_accounts.id'], name=op.f('fk_referral_store_shares_staff_id_staff_accounts')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_referral_store_shares_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_store_shares')),
    sa.UniqueConstraint('scene', name=op.f('uq_referral_store_shares_scene'))
    )
    with op.batch_alter_table('referral_store_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_store_shares_campaign'), ['campaign'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_store_shares_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index('ix_referral_store_shares_store_id_created_at', ['store_id', 'created_at'], unique=False)

    op.create_table('referral_store_share_opens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('share_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('new_member', sa.Boolean(), nullable=False),
    sa.Column('home_store_set', sa.Boolean(), nullable=False),
    sa.Column('opened_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_referral_store_share_opens_member_id_members')),
    sa.ForeignKeyConstraint(['share_id'], ['referral_store_shares.id'], name=op.f('fk_referral_store_share_opens_share_id_referral_store_shares')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_store_share_opens')),
    sa.UniqueConstraint('share_id', 'member_id', name=op.f('uq_referral_store_share_opens_share_id_member_id'))
    )
    with op.batch_alter_table('referral_store_share_opens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_store_share_opens_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_store_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('home_store_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('home_store_set_at', shop.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_home_store_id'), ['home_store_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_members_home_store_id_stores'), 'stores', ['home_store_id'], ['id'])

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preparing_at', shop.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_orders_store_status_paid', ['store_id', 'status', 'paid_at'], unique=False)

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prepares_orders', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('prepares_orders')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_status_paid')
        batch_op.drop_column('preparing_at')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_members_home_store_id_stores'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_members_home_store_id'))
        batch_op.drop_column('home_store_set_at')
        batch_op.drop_column('home_store_source')
        batch_op.drop_column('home_store_id')

    with op.batch_alter_table('referral_store_share_opens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_store_share_opens_member_id'))

    op.drop_table('referral_store_share_opens')
    with op.batch_alter_table('referral_store_shares', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_store_shares_store_id_created_at')
        batch_op.drop_index(batch_op.f('ix_referral_store_shares_staff_id'))
        batch_op.drop_index(batch_op.f('ix_referral_store_shares_campaign'))

    op.drop_table('referral_store_shares')
