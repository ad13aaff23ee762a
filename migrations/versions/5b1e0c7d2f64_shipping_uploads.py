"""shipping uploads: what WeChat was told of each order's goods leaving (发货信息管理)

One row per order paid through WeChat Pay that was shipped or handed over: its logistics type,
carrier and tracking number (both required for express, checked here too), and the state of the
upload with WeChat's last code and message.

Revision ID: 5b1e0c7d2f64
Revises: d516d31479f8
Create Date: 2026-12-07 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import shop.database

# revision identifiers, used by Alembic.
revision = '5b1e0c7d2f64'
down_revision = 'd516d31479f8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shipping_uploads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('logistics_type', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=32), nullable=True),
    sa.Column('tracking_no', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.String(length=200), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_at', shop.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('logistics_type IN (1, 2, 4)', name=op.f('ck_shipping_uploads_logistics_type_known')),
    sa.CheckConstraint("status IN ('pending', 'uploaded', 'failed')", name=op.f('ck_shipping_uploads_status_known')),
    sa.CheckConstraint('logistics_type <> 1 OR (carrier IS NOT NULL AND tracking_no IS NOT NULL)',
                       name=op.f('ck_shipping_uploads_express_has_carrier_and_tracking_no')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipping_uploads_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_uploads')),
    sa.UniqueConstraint('order_id', name=op.f('uq_shipping_uploads_order_id'))
    )


def downgrade():
    op.drop_table('shipping_uploads')
