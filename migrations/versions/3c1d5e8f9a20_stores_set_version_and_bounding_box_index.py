"""stores: the store-set version the nearby index is checked against, and a (lat, lng) index

``store_set_version`` holds one counter, bumped in the same transaction as every change to what
the nearby index holds; the index in Redis carries the version it reflects, so a lost or restored
index is noticed and rebuilt. A database that already has stores starts at version 1, so an index
built before this revision (with no marker) never reads as complete. ``ix_stores_lat_lng`` serves
the bounding-box search that answers while the index is rebuilt.

Revision ID: 3c1d5e8f9a20
Revises: 5c0e1f7a9b2d
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1d5e8f9a20'
down_revision = '5c0e1f7a9b2d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'store_set_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_store_set_version_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_set_version')),
    )
    op.execute(sa.text("INSERT INTO store_set_version (id, version) SELECT 1, 1 WHERE EXISTS (SELECT 1 FROM stores)"))
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.create_index('ix_stores_lat_lng', ['lat', 'lng'], unique=False)


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_index('ix_stores_lat_lng')
    op.drop_table('store_set_version')
