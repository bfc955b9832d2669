"""Cases: complaints, deadlines, pick-up and outcome; social-protection IDs and their lookups.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('id_lookups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('sp_id', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_id_lookups'))
    )
    with op.batch_alter_table('id_lookups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_id_lookups_phone'), ['phone'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('programme_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('complainant_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('callback', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_cases_idempotency_key'), ['idempotency_key'])
        batch_op.add_column(sa.Column('ack_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolve_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('picked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('picked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_resolve_due_at'), ['resolve_due_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_programme_id_programmes'), 'programmes', ['programme_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_picked_by_id_staff'), 'staff', ['picked_by_id'], ['id'])

    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sp_id', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_persons_sp_id'), ['sp_id'])




def downgrade() -> None:

    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_persons_sp_id'), type_='unique')
        batch_op.drop_column('sp_id')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_picked_by_id_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_programme_id_programmes'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_resolve_due_at'))
        batch_op.drop_column('outcome')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('picked_at')
        batch_op.drop_column('picked_by_id')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('acknowledged_at')
        batch_op.drop_column('resolve_due_at')
        batch_op.drop_column('ack_due_at')
        batch_op.drop_constraint(batch_op.f('uq_cases_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
        batch_op.drop_column('callback')
        batch_op.drop_column('complainant_name')
        batch_op.drop_column('anonymous')
        batch_op.drop_column('description')
        batch_op.drop_column('programme_id')
        batch_op.drop_column('category')

    with op.batch_alter_table('id_lookups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_id_lookups_phone'))

    op.drop_table('id_lookups')

