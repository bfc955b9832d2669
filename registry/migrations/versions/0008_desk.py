"""The desk: staff passwords and lock-out, the audit log, enrolment requests for the district.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_credentials',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('setup_code_hash', sa.String(length=200), nullable=True),
    sa.Column('setup_code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_credentials_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_credentials'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('target', sa.String(length=80), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_audit_log_area_id_areas')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_audit_log_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_area_id'), ['area_id'], unique=False)
    op.create_table('enrolment_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_enrolment_requests_case_id_cases')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_enrolment_requests_person_id_persons')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_enrolment_requests_household_id_households')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_enrolment_requests_programme_id_programmes')),
    sa.ForeignKeyConstraint(['district_id'], ['areas.id'], name=op.f('fk_enrolment_requests_district_id_areas')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], name=op.f('fk_enrolment_requests_decided_by_id_staff')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_enrolment_requests_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_requests')),
    sa.UniqueConstraint('case_id', 'programme_id', name=op.f('uq_enrolment_requests_case_id'))
    )
    with op.batch_alter_table('enrolment_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_requests_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolment_requests_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolment_requests_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolment_requests_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('enrolment_requests')
    op.drop_table('audit_log')
    op.drop_table('staff_credentials')
