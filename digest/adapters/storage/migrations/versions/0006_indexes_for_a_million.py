"""indexes for a million subscribers

A subscriber's memberships and ledger rows were found by scanning (deleting one
subscriber walked every delivery through the foreign key), and a suppression looked
up without case read the whole table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_subscriptions_subscriber', 'subscriptions', ['subscriber_id'])
    op.create_index('ix_deliveries_subscriber', 'deliveries', ['subscriber_id'])
    op.create_index('ix_suppressions_email_lower', 'suppressions', [sa.text('lower(email)')])


def downgrade() -> None:
    op.drop_index('ix_suppressions_email_lower', table_name='suppressions')
    op.drop_index('ix_deliveries_subscriber', table_name='deliveries')
    op.drop_index('ix_subscriptions_subscriber', table_name='subscriptions')
