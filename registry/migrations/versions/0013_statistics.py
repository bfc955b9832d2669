"""Statistics: summary figures per area, month and measure, and when they were refreshed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stats_figures',
        sa.Column('area_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('measure', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['area_id'], ['areas.id'], name=op.f('fk_stats_figures_area_id_areas'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('area_id', 'period', 'measure', 'key', name=op.f('pk_stats_figures')),
    )
    op.create_table(
        'stats_refreshes',
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('figures', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_stats_refreshes')),
    )


def downgrade() -> None:
    op.drop_table('stats_refreshes')
    op.drop_table('stats_figures')
