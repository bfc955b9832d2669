"""ID card issues, announcements to villages and their replies; outbox rows name their announcement.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa



revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'card_issues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('sp_id', sa.String(length=16), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['issued_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('person_id', 'number'),
    )
    op.create_index(op.f('ix_card_issues_person_id'), 'card_issues', ['person_id'], unique=False)
    op.create_table(
        'announcements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=False),
        sa.Column('audience', sa.String(length=12), nullable=False),
        sa.Column('programme_id', sa.Integer(), nullable=True),
        sa.Column('text_km', sa.Text(), nullable=False),
        sa.Column('text_pt', sa.Text(), nullable=False),
        sa.Column('text_en', sa.Text(), nullable=False),
        sa.Column('sent_by_id', sa.Integer(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('segments', sa.Integer(), nullable=False),
        sa.Column('opted_out', sa.Integer(), nullable=False),
        sa.Column('request_key', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['area_id'], ['areas.id']),
        sa.ForeignKeyConstraint(['programme_id'], ['programmes.id']),
        sa.ForeignKeyConstraint(['sent_by_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_key'),
    )
    op.create_index(op.f('ix_announcements_area_id'), 'announcements', ['area_id'], unique=False)
    op.create_index(op.f('ix_announcements_sent_by_id'), 'announcements', ['sent_by_id'], unique=False)
    op.create_table(
        'announcement_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('announcement_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('request_key', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id']),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_key'),
    )
    op.create_index(
        op.f('ix_announcement_replies_announcement_id'), 'announcement_replies', ['announcement_id'], unique=False
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announcement_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_announcement_id'), ['announcement_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_announcement_id'))
        batch_op.drop_column('announcement_id')
    op.drop_index(op.f('ix_announcement_replies_announcement_id'), table_name='announcement_replies')
    op.drop_table('announcement_replies')
    op.drop_index(op.f('ix_announcements_sent_by_id'), table_name='announcements')
    op.drop_index(op.f('ix_announcements_area_id'), table_name='announcements')
    op.drop_table('announcements')
    op.drop_index(op.f('ix_card_issues_person_id'), table_name='card_issues')
    op.drop_table('card_issues')
