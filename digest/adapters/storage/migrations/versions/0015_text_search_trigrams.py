"""trigram indexes for the admins' text searches

The console's and the API's searches match a substring anywhere (`lower(col) LIKE '%term%'`), which
no B-tree answers: a search for one address among a million read every row. On PostgreSQL, pg_trgm's
GIN indexes find the rows holding the term's trigrams. SQLite has no such index and keeps its scan.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# (index, table, column): each searched as lower(column), as services/text_search.py's `contains` writes it.
INDEXES = (
    ('ix_subscribers_email_trgm', 'subscribers', 'email'),
    ('ix_subscribers_name_trgm', 'subscribers', 'name'),
    ('ix_suppressions_email_trgm', 'suppressions', 'email'),
    ('ix_suppressions_reason_trgm', 'suppressions', 'reason'),
    ('ix_articles_title_trgm', 'articles', 'title'),
    ('ix_articles_body_trgm', 'articles', 'body_html'),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it, no superuser needed.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for name, table, column in INDEXES:
        op.execute(f'CREATE INDEX {name} ON {table} USING gin (lower({column}) gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, _, _ in reversed(INDEXES):
        op.execute(f'DROP INDEX {name}')
    # The extension stays: it may have been there before 0015, and other objects may use it.
