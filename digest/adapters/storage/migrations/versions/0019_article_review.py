"""Articles placed by the tagger, and the editor's review queue

Where each of an article's regions and its topic came from ("label", "source", "tagger", "editor"), the
tagger's confidence and the words that decided, and whether the article waits for an editor
(`needs_review`: it goes into no issue until confirmed). A list sets the confidence under which a
tagged article waits (`review_below`); a topic may carry the keywords an editor gave its rules.
Existing rows came from labels and wait for nobody.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('articles') as batch:
        batch.add_column(sa.Column('needs_review', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('topic_from', sa.String(length=16), nullable=False, server_default='label'))
        batch.add_column(sa.Column('tag_confidence', sa.Float(), nullable=True))
        batch.add_column(sa.Column('tag_why', sa.JSON(), nullable=True))
    # The queue is read by list, newest first, and counted on the dashboard: a partial index holds only it.
    op.create_index(
        'ix_articles_waiting_review', 'articles', ['list_id', 'published_at'],
        postgresql_where=sa.text('needs_review'), sqlite_where=sa.text('needs_review'),
    )
    with op.batch_alter_table('article_regions') as batch:
        batch.add_column(sa.Column('came_from', sa.String(length=16), nullable=False, server_default='label'))
    with op.batch_alter_table('lists') as batch:
        batch.add_column(sa.Column('review_below', sa.Float(), nullable=False, server_default='0.6'))
    with op.batch_alter_table('topics') as batch:
        batch.add_column(sa.Column('keywords', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('topics') as batch:
        batch.drop_column('keywords')
    with op.batch_alter_table('lists') as batch:
        batch.drop_column('review_below')
    with op.batch_alter_table('article_regions') as batch:
        batch.drop_column('came_from')
    op.drop_index('ix_articles_waiting_review', table_name='articles')
    with op.batch_alter_table('articles') as batch:
        batch.drop_column('tag_why')
        batch.drop_column('tag_confidence')
        batch.drop_column('topic_from')
        batch.drop_column('needs_review')
