"""refunds within what was paid: checks on refunded totals, one processing refund per order

``order_lines``: refunded_quantity within 0..quantity and refunded_amount within 0..amount_payable;
``orders``: refunded_total within 0..amount_paid. ``uq_refunds_order_id_processing``: at most one
``processing`` refund of an order's own money (the automatic return of a payment that came after a
cancel, requested_by 'system', is not counted).

Rows written before this revision may break a check (a refund that named a line twice). On
PostgreSQL such a check is added NOT VALID, so every new write is checked and the old rows stay as
they are for an admin to see (the migration says how many); on SQLite the table copy refuses them.

Revision ID: 5c0e1f7a9b2d
Revises: 3b8e1f0c2d4a
Create Date: 2026-12-07 09:00:00.000000

"""
import logging

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c0e1f7a9b2d'
down_revision = '3b8e1f0c2d4a'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
CHECKS = [
    ('order_lines', 'ck_order_lines_refunded_quantity_within_quantity',
     'refunded_quantity >= 0 AND refunded_quantity <= quantity'),
    ('order_lines', 'ck_order_lines_refunded_amount_within_payable',
     'refunded_amount >= 0 AND refunded_amount <= amount_payable'),
    ('orders', 'ck_orders_refunded_total_within_paid', 'refunded_total >= 0 AND refunded_total <= amount_paid'),
]
PROCESSING_ORDER_REFUND = sa.text("status = 'processing' AND requested_by <> 'system'")


def upgrade():
    bind = op.get_bind()
    for table in ('order_lines', 'orders'):
        checks = [(name, condition) for on, name, condition in CHECKS if on == table]
        if bind.dialect.name == 'postgresql':
            for name, condition in checks:
                _add_on_postgresql(bind, table, name, condition)
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:  # one copy of the table for all its checks
            for name, condition in checks:
                batch_op.create_check_constraint(op.f(name), condition)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('uq_refunds_order_id_processing', ['order_id'], unique=True,
                              postgresql_where=PROCESSING_ORDER_REFUND, sqlite_where=PROCESSING_ORDER_REFUND)


def _add_on_postgresql(bind, table, name, condition):
    broken = bind.scalar(sa.text(f'SELECT count(*) FROM {table} WHERE NOT ({condition})'))
    if broken:
        log.warning('%s: %s rows break %s; it is added NOT VALID (new writes are checked)', table, broken, name)
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition}){' NOT VALID' if broken else ''}")


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('uq_refunds_order_id_processing', postgresql_where=PROCESSING_ORDER_REFUND,
                            sqlite_where=PROCESSING_ORDER_REFUND)
    for table in ('orders', 'order_lines'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for on, name, _ in CHECKS:
                if on == table:
                    batch_op.drop_constraint(op.f(name), type_='check')
