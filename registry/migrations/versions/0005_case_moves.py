"""Case moves keyed per request, escalated cases waiting at their level, inbound SMS retried.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages') as batch:
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('last_error', sa.Text(), nullable=True))
    with op.batch_alter_table('case_events') as batch:
        batch.add_column(sa.Column('request_key', sa.String(length=200), nullable=True))
        batch.create_unique_constraint('uq_case_events_request_key', ['request_key'])
    # Escalated cases nobody picked up since wait at their new level as `escalated`.
    op.execute(
        "UPDATE cases SET status = 'escalated' "
        "WHERE escalated_at IS NOT NULL AND picked_by_id IS NULL AND status IN ('queued', 'acknowledged')"
    )


def downgrade() -> None:
    op.execute("UPDATE cases SET status = 'queued' WHERE status = 'escalated'")
    with op.batch_alter_table('case_events') as batch:
        batch.drop_constraint('uq_case_events_request_key', type_='unique')
        batch.drop_column('request_key')
    with op.batch_alter_table('inbound_messages') as batch:
        batch.drop_column('last_error')
        batch.drop_column('next_attempt_at')
        batch.drop_column('attempts')
