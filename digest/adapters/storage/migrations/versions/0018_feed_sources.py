"""sources: the feeds a list takes articles from, and each article's place in its feed

A source is polled on its own interval with a conditional GET; what its last fetch gave is kept on its row,
and a failing one waits longer each time (`failures`, `next_poll_at`). An article read from a feed keeps its
source and the key its item carries there (`item_key`: a hash of the guid, else of the link, else the
fingerprint), unique per source, so a second poll updates the article instead of adding another; and the
item's text as the feed last gave it (`item_hash`), so an editor's correction is not taken for an edit in the
feed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sources',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('list_id', sa.Integer(), sa.ForeignKey('lists.id', ondelete='CASCADE'), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('topic_slug', sa.String(length=64), nullable=True),
        sa.Column('region_codes', sa.JSON(), nullable=False),
        sa.Column('interval_minutes', sa.Integer(), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('allow_private', sa.Boolean(), nullable=False),
        sa.Column('etag', sa.String(length=500), nullable=True),
        sa.Column('last_modified', sa.String(length=100), nullable=True),
        sa.Column('last_fetched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('list_id', 'url', name='uq_sources_list_url'),
    )
    op.create_index('ix_sources_paused_next_poll', 'sources', ['paused', 'next_poll_at'])
    with op.batch_alter_table('articles') as batch:
        batch.add_column(sa.Column('source_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('item_key', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('item_hash', sa.String(length=64), nullable=True))
        batch.create_foreign_key('fk_articles_source_id', 'sources', ['source_id'], ['id'], ondelete='SET NULL')
        batch.create_unique_constraint('uq_articles_source_item', ['source_id', 'item_key'])


def downgrade() -> None:
    with op.batch_alter_table('articles') as batch:
        batch.drop_constraint('uq_articles_source_item', type_='unique')
        batch.drop_constraint('fk_articles_source_id', type_='foreignkey')
        batch.drop_column('item_hash')
        batch.drop_column('item_key')
        batch.drop_column('source_id')
    op.drop_index('ix_sources_paused_next_poll', table_name='sources')
    op.drop_table('sources')
