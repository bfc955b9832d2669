"""Indexes for the registry's hot queries at national size, and data versions for caches.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Bumped by imports; web processes drop their in-process copies when a version moves.
    op.create_table('data_versions',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_data_versions'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        # ID lookup's open requests and a retried submit start from these.
        batch_op.create_index('ix_cases_person_id', ['person_id'], unique=False)
        batch_op.create_index('ix_cases_preregistration_id', ['preregistration_id'], unique=False)
        # A desk's queue: its cases by status, due soonest first, without a sort of the whole desk.
        batch_op.create_index('ix_cases_desk_status_due', ['desk_id', 'status', 'resolve_due_at', 'id'], unique=False)
    # The escalation sweep, every minute, looks for the few open cases past a deadline: each side
    # of its OR gets a partial index of open cases (closed ones are most, and never overdue), so
    # the planner combines two small index scans instead of filtering every open case.
    open_only = "status NOT IN ('resolved', 'rejected')"
    op.create_index(
        'ix_cases_ack_due_open', 'cases', ['ack_due_at'],
        postgresql_where=sa.text(f'acknowledged_at IS NULL AND {open_only}'),
        sqlite_where=sa.text(f'acknowledged_at IS NULL AND {open_only}'),
    )
    op.create_index(
        'ix_cases_resolve_due_open', 'cases', ['resolve_due_at'],
        postgresql_where=sa.text(open_only),
        sqlite_where=sa.text(open_only),
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        # Names as common as "Sok Sophal" are shared by tens of thousands: narrow by birth year too.
        batch_op.create_index('ix_persons_name_key_birth_year', ['name_key', 'birth_year'], unique=False)
    with op.batch_alter_table('preregistrations', schema=None) as batch_op:
        batch_op.create_index('ix_preregistrations_name_key_birth_year', ['name_key', 'birth_year'], unique=False)
    # The outbox sweep looks for the few sendable rows among millions sent.
    op.create_index(
        'ix_outbox_messages_sendable', 'outbox_messages', ['id'],
        postgresql_where=sa.text("status IN ('queued', 'retry')"),
        sqlite_where=sa.text("status IN ('queued', 'retry')"),
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_messages_sendable', table_name='outbox_messages')
    with op.batch_alter_table('preregistrations', schema=None) as batch_op:
        batch_op.drop_index('ix_preregistrations_name_key_birth_year')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index('ix_persons_name_key_birth_year')
    op.drop_index('ix_cases_resolve_due_open', table_name='cases')
    op.drop_index('ix_cases_ack_due_open', table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_desk_status_due')
        batch_op.drop_index('ix_cases_preregistration_id')
        batch_op.drop_index('ix_cases_person_id')
    op.drop_table('data_versions')
