"""Desk exports built by a worker: the request, its status, and its file in chunks of about 1 MB.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('area_code', sa.String(length=20), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=True),
        sa.Column('fmt', sa.String(length=8), nullable=False),
        sa.Column('sheet', sa.String(length=20), nullable=False),
        sa.Column('since', sa.Date(), nullable=True),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('pending_key', sa.String(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('handoffs', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=60), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('rows', sa.Text(), nullable=True),
        sa.Column('total_rows', sa.Integer(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(length=120), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_exports_area_id_areas')),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_exports_staff_id_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exports')),
        sa.UniqueConstraint('pending_key', name=op.f('uq_exports_pending_key')),
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exports_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exports_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exports_status'), ['status'], unique=False)
    op.create_table(
        'export_chunks',
        sa.Column('export_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['export_id'], ['exports.id'], name=op.f('fk_export_chunks_export_id_exports'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('export_id', 'seq', name=op.f('pk_export_chunks')),
    )


def downgrade() -> None:
    op.drop_table('export_chunks')
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exports_status'))
        batch_op.drop_index(batch_op.f('ix_exports_staff_id'))
        batch_op.drop_index(batch_op.f('ix_exports_expires_at'))
    op.drop_table('exports')
