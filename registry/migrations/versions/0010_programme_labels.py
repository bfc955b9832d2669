"""Programmes: a short label per language for USSD menus.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programme_texts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=60), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('programme_texts', schema=None) as batch_op:
        batch_op.drop_column('label')
