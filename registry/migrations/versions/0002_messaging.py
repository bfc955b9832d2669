"""Messaging: outbox parts and delivery times, inbound SMS, opt-out.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=False),
    sa.Column('sender', sa.String(length=20), nullable=False),
    sa.Column('to', sa.String(length=40), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link_id', sa.String(length=100), nullable=True),
    sa.Column('network_code', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('command', sa.String(length=40), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('provider_id', name=op.f('uq_inbound_messages_provider_id'))
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_messages_sender'), ['sender'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_messages_status'), ['status'], unique=False)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opted_out', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('essential', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('part', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('parts', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('parts')
        batch_op.drop_column('part')
        batch_op.drop_column('essential')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('opted_out')

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_status'))
        batch_op.drop_index(batch_op.f('ix_inbound_messages_sender'))

    op.drop_table('inbound_messages')

