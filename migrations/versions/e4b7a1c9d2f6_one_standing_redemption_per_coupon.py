"""coupon redemptions: at most one standing (not reverted) redemption per coupon, held by the database

Revision ID: e4b7a1c9d2f6
Revises: a3e5c7d9f1b2
Create Date: 2026-12-07 14:40:00
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = 'e4b7a1c9d2f6'
down_revision = 'a3e5c7d9f1b2'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
STANDING = sa.text('reverted_at IS NULL')


def upgrade():
    twice = op.get_bind().scalar(sa.text(
        'SELECT count(*) FROM (SELECT coupon_id FROM coupon_redemptions WHERE reverted_at IS NULL '
        'GROUP BY coupon_id HAVING count(*) > 1) AS doubled'))
    if twice:  # the index cannot be built over them: an operator must look at each first
        raise RuntimeError(f'{twice} coupons have two standing redemptions; revert the wrong ones first')
    with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
        batch_op.create_index('uq_coupon_redemptions_coupon_id_standing', ['coupon_id'], unique=True,
                              postgresql_where=STANDING, sqlite_where=STANDING)


def downgrade():
    with op.batch_alter_table('coupon_redemptions', schema=None) as batch_op:
        batch_op.drop_index('uq_coupon_redemptions_coupon_id_standing', postgresql_where=STANDING,
                            sqlite_where=STANDING)
