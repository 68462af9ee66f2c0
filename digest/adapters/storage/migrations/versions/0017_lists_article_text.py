"""lists.article_text: how much of each article a list's mail carries

"lead" (each article's first paragraph and a link to the whole on the issue's public page) or "full".
Existing lists become "lead" too: a 13-article week mailed whole is 18,000 px on a phone.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lists') as batch:
        batch.add_column(sa.Column('article_text', sa.String(length=8), nullable=False, server_default='lead'))


def downgrade() -> None:
    with op.batch_alter_table('lists') as batch:
        batch.drop_column('article_text')
