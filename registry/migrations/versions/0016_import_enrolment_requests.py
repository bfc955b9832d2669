"""Enrolment requests asked for on a commune's form: tied to their import instead of a case.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requests', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('enrolment_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f('fk_enrolment_requests_import_id_imports'), 'imports', ['import_id'], ['id']
        )
        batch_op.create_index(batch_op.f('ix_enrolment_requests_import_id'), ['import_id'], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f('uq_enrolment_requests_import_id'), ['import_id', 'person_id', 'programme_id']
        )
        batch_op.create_check_constraint(
            'asked_somewhere', sa.text('case_id IS NOT NULL OR import_id IS NOT NULL')
        )


def downgrade() -> None:
    op.execute("DELETE FROM enrolment_requests WHERE case_id IS NULL")
    with op.batch_alter_table('enrolment_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_enrolment_requests_asked_somewhere'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_enrolment_requests_import_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_enrolment_requests_import_id'))
        batch_op.drop_constraint(batch_op.f('fk_enrolment_requests_import_id_imports'), type_='foreignkey')
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('import_id')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_column('requests')
