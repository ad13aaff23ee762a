"""staff accounts managed: token version, forced password change, lockout in the database, the audit

``staff_accounts.token_version`` is carried in every staff token (``tv``): raising it ends the
account's tokens at once (disable, role change, new password). ``must_change_password``: a password
an admin chose or generated. ``failed_logins``/``failed_since``/``locked_until``: the per-account
lockout, kept here so that a Redis flush lifts nothing. ``staff_audit``: who did what to which
account, when and from which address (append-only).

Revision ID: 8e9281b0aeaa
Revises: 4b828428ae52
Create Date: 2026-12-07 00:38:14.619044

"""
from alembic import op
import sqlalchemy as sa

import shop.database


# revision identifiers, used by Alembic.
revision = '8e9281b0aeaa'
down_revision = '4b828428ae52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_accounts.id'], name=op.f('fk_staff_audit_actor_id_staff_accounts')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_accounts.id'], name=op.f('fk_staff_audit_staff_id_staff_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_audit'))
    )
    with op.batch_alter_table('staff_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_audit_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_audit_at'), ['at'], unique=False)
        batch_op.create_index('ix_staff_audit_staff_id_id', ['staff_id', 'id'], unique=False)

    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('password_changed_at', shop.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_since', shop.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_until', shop.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f('ck_staff_accounts_role_known'), "role IN ('staff', 'marketing', 'admin')")
        batch_op.create_check_constraint(op.f('ck_staff_accounts_failed_logins_not_negative'), 'failed_logins >= 0')


def downgrade():
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_accounts_failed_logins_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_staff_accounts_role_known'), type_='check')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_since')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('token_version')

    with op.batch_alter_table('staff_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_audit_staff_id_id')
        batch_op.drop_index(batch_op.f('ix_staff_audit_at'))
        batch_op.drop_index(batch_op.f('ix_staff_audit_action'))

    op.drop_table('staff_audit')
