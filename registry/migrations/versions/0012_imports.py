"""Imports: each commune spreadsheet imported once, with who, when, its hash and its rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('file_hash', sa.String(length=64), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
        sa.Column('duplicates', sa.Integer(), nullable=False),
        sa.Column('duplicate_detail', sa.Text(), nullable=True),
        sa.Column('first_person_id', sa.Integer(), nullable=True),
        sa.Column('last_person_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_hash'),
    )
    op.create_index(op.f('ix_imports_staff_id'), 'imports', ['staff_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_imports_staff_id'), table_name='imports')
    op.drop_table('imports')
