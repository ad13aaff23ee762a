"""coupon kinds: the terms of the new kinds (nth, buy, get, unit_price)

Second cup half price (nth_item_percent: nth, with percent), buy two get one (buy_n_get_m: buy,
get) and any latte at a price (unit_price: unit_price) need their own terms; free_item reuses
max_off. Columns rather than one JSON terms column, so the database checks each value (positive;
nth at least 2) as it does the existing amounts. Null for the kinds that do not use them.

Revision ID: a7c4e2d91b35
Revises: 8e9281b0aeaa
Create Date: 2026-12-07 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c4e2d91b35'
down_revision = '8e9281b0aeaa'
branch_labels = None
depends_on = None

_CHECKS = {
    'ck_coupon_batches_nth_at_least_two': 'nth IS NULL OR nth >= 2',
    'ck_coupon_batches_buy_positive': 'buy IS NULL OR buy > 0',
    'ck_coupon_batches_get_positive': '"get" IS NULL OR "get" > 0',
    'ck_coupon_batches_unit_price_positive': 'unit_price IS NULL OR unit_price > 0',
}


def upgrade():
    with op.batch_alter_table('coupon_batches', schema=None) as batch_op:
        for column in ('nth', 'buy', 'get', 'unit_price'):
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
        for name, condition in _CHECKS.items():
            batch_op.create_check_constraint(op.f(name), condition)


def downgrade():
    with op.batch_alter_table('coupon_batches', schema=None) as batch_op:
        for name in _CHECKS:
            batch_op.drop_constraint(op.f(name), type_='check')
        for column in ('unit_price', 'get', 'buy', 'nth'):
            batch_op.drop_column(column)
