"""store imports run in the background: the uploaded file, the lines checked, the outcome

Revision ID: a3e5c7d9f1b2
Revises: c8d2f4a6b1e3
Create Date: 2026-12-07 13:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import shop.database

# revision identifiers, used by Alembic.
revision = 'a3e5c7d9f1b2'
down_revision = 'c8d2f4a6b1e3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'store_imports',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=True),
        sa.Column('total_lines', sa.Integer(), nullable=False),
        sa.Column('checked_lines', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('error_count', sa.Integer(), nullable=False),
        sa.Column('errors', sa.JSON(), nullable=False),
        sa.Column('created_by_staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('created_at', shop.database.UTCDateTime(), nullable=False),
        sa.Column('finished_at', shop.database.UTCDateTime(), nullable=True),
        sa.CheckConstraint('checked_lines <= total_lines', name=op.f('ck_store_imports_checked_within_total')),
        sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff_accounts.id'],
                                name=op.f('fk_store_imports_created_by_staff_id_staff_accounts'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_imports')),
    )


def downgrade():
    op.drop_table('store_imports')
