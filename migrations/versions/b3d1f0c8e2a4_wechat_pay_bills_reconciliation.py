"""WeChat Pay bills: a reconciliation run per day and the differences it found

Revision ID: b3d1f0c8e2a4
Revises: 5b1e0c7d2f64
Create Date: 2026-12-07 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b3d1f0c8e2a4'
down_revision = '5b1e0c7d2f64'
branch_labels = None
depends_on = None

_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'bill_runs',
        sa.Column('id', _PK, nullable=False),
        sa.Column('bill_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('bill_found', sa.Boolean(), nullable=False),
        sa.Column('trade_rows', sa.Integer(), nullable=False),
        sa.Column('paid_fen', sa.BigInteger(), nullable=False),
        sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
        sa.Column('fund_rows', sa.Integer(), nullable=False),
        sa.Column('fund_income_fen', sa.BigInteger(), nullable=False),
        sa.Column('fund_expense_fen', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_runs')),
        sa.UniqueConstraint('bill_date', name=op.f('uq_bill_runs_bill_date')),
    )
    op.create_table(
        'bill_differences',
        sa.Column('id', _PK, nullable=False),
        sa.Column('run_id', _PK, nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('resolution', sa.String(length=16), nullable=False),
        sa.Column('reference', sa.String(length=72), nullable=False),
        sa.Column('out_trade_no', sa.String(length=32), nullable=True),
        sa.Column('out_refund_no', sa.String(length=64), nullable=True),
        sa.Column('transaction_id', sa.String(length=64), nullable=True),
        sa.Column('order_id', sa.BigInteger(), nullable=True),
        sa.Column('ours_fen', sa.BigInteger(), nullable=True),
        sa.Column('wechat_fen', sa.BigInteger(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("resolution IN ('resolved', 'flagged')", name=op.f('ck_bill_differences_resolution_known')),
        sa.ForeignKeyConstraint(['run_id'], ['bill_runs.id'], name=op.f('fk_bill_differences_run_id_bill_runs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_differences')),
        sa.UniqueConstraint('run_id', 'kind', 'reference', name=op.f('uq_bill_differences_run_id_kind_reference')),
    )
    with op.batch_alter_table('bill_differences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_differences_run_id'), ['run_id'], unique=False)


def downgrade():
    with op.batch_alter_table('bill_differences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_differences_run_id'))
    op.drop_table('bill_differences')
    op.drop_table('bill_runs')
