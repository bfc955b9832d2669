"""Announcements to chosen villages: the villages chosen, and no single area when they span provinces.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa



revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'announcement_villages',
        sa.Column('announcement_id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['village_id'], ['areas.id']),
        sa.PrimaryKeyConstraint('announcement_id', 'village_id'),
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.alter_column('area_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Villages of several provinces have no one area: such an announcement is filed under one of
    # its villages, so it is kept (read by fewer staff) rather than lost.
    op.execute(
        'UPDATE announcements SET area_id = (SELECT MIN(village_id) FROM announcement_villages'
        ' WHERE announcement_villages.announcement_id = announcements.id) WHERE area_id IS NULL'
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.alter_column('area_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('announcement_villages')
