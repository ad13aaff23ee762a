"""orders by the time they were paid, for segments' spend and order counts over a period

Revision ID: c8d2f4a6b1e3
Revises: 5c1f0e2a9b7d
Create Date: 2026-12-07 10:35:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c8d2f4a6b1e3'
down_revision = '5c1f0e2a9b7d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_paid_at_member_id', ['paid_at', 'member_id'], unique=False,
                              postgresql_include=['status', 'amount_paid', 'refunded_total'])


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_paid_at_member_id')
