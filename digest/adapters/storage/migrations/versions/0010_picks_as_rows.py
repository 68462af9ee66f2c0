"""picks as rows SQL can filter

A subscription's regions and topics live in JSON columns, so the console's region
and topic filters read every row in Python (2.4 s at 100,000). These tables hold
the same picks a row each ("*" for none picked), indexed by list and pick; they are
back-filled here in one statement each, and kept in step by services/picks.py. The index on
(list_id, status, id) serves a status tab's newest-first page and its capped count.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# (table, its pick column, the column's size, the subscriptions' JSON column)
PICKS = (
    ('subscription_regions', 'region_code', 6, 'region_codes'),
    ('subscription_topics', 'topic_slug', 64, 'topic_slugs'),
)


def _backfill(table: str, column: str, source: str) -> None:
    # As services/picks.py's store_picks: a row a pick, and "*" for a subscription that picked none.
    if op.get_bind().dialect.name == 'postgresql':
        elements = f"json_array_elements_text(CASE WHEN json_typeof(s.{source}) = 'array' THEN s.{source} END)"
    else:
        elements = f"json_each(CASE WHEN json_type(s.{source}) = 'array' THEN s.{source} END)"
    op.execute(
        f'INSERT INTO {table} (subscription_id, {column}, list_id) '
        f"SELECT DISTINCT s.id, coalesce(e.value, '*'), s.list_id FROM subscriptions s "
        f'LEFT JOIN {elements} AS e ON true'
    )


def upgrade() -> None:
    for table, column, size, source in PICKS:
        op.create_table(
            table,
            sa.Column('subscription_id', sa.Integer(), nullable=False),
            sa.Column(column, sa.String(length=size), nullable=False),
            sa.Column('list_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ondelete='CASCADE'),
            sa.ForeignKeyConstraint(['list_id'], ['lists.id'], ondelete='CASCADE'),
            sa.PrimaryKeyConstraint('subscription_id', column),
        )
        _backfill(table, column, source)
    op.create_index(
        'ix_subscription_regions_list_code', 'subscription_regions', ['list_id', 'region_code', 'subscription_id']
    )
    op.create_index(
        'ix_subscription_topics_list_slug', 'subscription_topics', ['list_id', 'topic_slug', 'subscription_id']
    )
    op.create_index('ix_subscriptions_list_status_id', 'subscriptions', ['list_id', 'status', 'id'])


def downgrade() -> None:
    op.drop_index('ix_subscriptions_list_status_id', table_name='subscriptions')
    op.drop_index('ix_subscription_topics_list_slug', table_name='subscription_topics')
    op.drop_index('ix_subscription_regions_list_code', table_name='subscription_regions')
    for table, *_ in reversed(PICKS):
        op.drop_table(table)
