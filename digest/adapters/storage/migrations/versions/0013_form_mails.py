"""form mails waiting to be sent

The public subscribe form records its mail (a confirmation, or a note to a confirmed address) in the
same statement as the request; the web process without a broker, or a worker with one, sends it and
deletes the row. A row a sender took and never finished is taken again once `held_until` passes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'form_mails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['list_id'], ['lists.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_form_mails_subscriber_id', 'form_mails', ['subscriber_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_form_mails_subscriber_id', table_name='form_mails')
    op.drop_table('form_mails')
