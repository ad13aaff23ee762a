"""payment checks: a sweep's question to WeChat Pay that failed is asked again later and later

``payment_checks`` holds, per order or refund whose query (or close) kept failing, how many times
in a row, the last error and when to ask again, so that one cannot hold up the rest of a pass.

Revision ID: 3b8e1f0c2d4a
Revises: 3c793ec5019d
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import shop.database


# revision identifiers, used by Alembic.
revision = '3b8e1f0c2d4a'
down_revision = '3c793ec5019d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payment_checks',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('subject', sa.String(length=8), nullable=False),
        sa.Column('subject_id', sa.BigInteger(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('retry_after', shop.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=False),
        sa.Column('updated_at', shop.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('subject', 'subject_id'),
    )


def downgrade():
    op.drop_table('payment_checks')
