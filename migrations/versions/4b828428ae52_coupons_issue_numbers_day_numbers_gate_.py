"""coupons: issue numbers, day numbers and the claim gate's generation

Every coupon carries its batch-wide issue number (unique per batch), the business day it was claimed
on (Asia/Shanghai) and, for a batch with a daily limit, its number in that day (unique per batch and
day): the database then refuses a number the Redis gate hands out twice. gate_generation is
bumped at every rebuild of a batch's gate, which carries it. Existing coupons are numbered in the
order they were written (by id), per batch and, for the day's numbers, per batch and day.

Revision ID: 4b828428ae52
Revises: 3c1d5e8f9a20
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b828428ae52'
down_revision = '3c1d5e8f9a20'
branch_labels = None
depends_on = None

_ISSUE_NUMBERS = """
UPDATE coupons SET issue_number = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY batch_id ORDER BY id) AS n FROM coupons) AS numbered
WHERE numbered.id = coupons.id
"""
# Asia/Shanghai has kept UTC+8 without daylight saving since 1991; SQLite stores claimed_at as UTC text.
_CLAIM_DAYS = {
    "postgresql": "UPDATE coupons SET claim_day = (claimed_at AT TIME ZONE 'Asia/Shanghai')::date",
    "sqlite": "UPDATE coupons SET claim_day = date(claimed_at, '+8 hours')",
}
_DAY_NUMBERS = """
UPDATE coupons SET day_number = numbered.n
FROM (SELECT coupons.id, row_number() OVER (PARTITION BY coupons.batch_id, coupons.claim_day ORDER BY coupons.id) AS n
      FROM coupons JOIN coupon_batches ON coupon_batches.id = coupons.batch_id
      WHERE coupon_batches.daily_limit IS NOT NULL) AS numbered
WHERE numbered.id = coupons.id
"""


def upgrade():
    with op.batch_alter_table('coupon_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gate_generation', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issue_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('claim_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('day_number', sa.Integer(), nullable=True))

    op.execute(sa.text(_ISSUE_NUMBERS))
    op.execute(sa.text(_CLAIM_DAYS[op.get_bind().dialect.name]))
    op.execute(sa.text(_DAY_NUMBERS))

    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.alter_column('issue_number', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('claim_day', existing_type=sa.Date(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_coupons_batch_id_issue_number'), ['batch_id', 'issue_number'])
        batch_op.create_unique_constraint(batch_op.f('uq_coupons_batch_id_claim_day_day_number'),
                                          ['batch_id', 'claim_day', 'day_number'])
        batch_op.create_check_constraint(batch_op.f('ck_coupons_issue_number_positive'), 'issue_number > 0')
        batch_op.create_check_constraint(batch_op.f('ck_coupons_day_number_positive'), 'day_number > 0')


def downgrade():
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_coupons_day_number_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_coupons_issue_number_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_coupons_batch_id_claim_day_day_number'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_coupons_batch_id_issue_number'), type_='unique')
        batch_op.drop_column('day_number')
        batch_op.drop_column('claim_day')
        batch_op.drop_column('issue_number')
    with op.batch_alter_table('coupon_batches', schema=None) as batch_op:
        batch_op.drop_column('gate_generation')
