"""the articles an issue carries, fixed when its first copy is built

The archive and the console showed an issue by selecting its week's articles again, so an article
uploaded after it went out appeared in it. `issues.article_ids` holds the articles the issue's copies
were built from; an issue already sent takes the articles its sent copies held.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import json

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('issues', sa.Column('article_ids', sa.JSON(), nullable=True))
    bind = op.get_bind()
    sent = bind.execute(sa.text("SELECT id FROM issues WHERE status = 'sent'")).scalars().all()
    for issue_id in sent:
        # Distinct copies are few (one per distinct content), however many readers got them.
        copies = bind.execute(
            sa.text(
                "SELECT DISTINCT CAST(article_ids AS TEXT) FROM deliveries"
                " WHERE issue_id = :issue AND status = 'sent' AND article_ids IS NOT NULL"
            ),
            {"issue": issue_id},
        ).scalars()
        held = sorted({article for copy in copies for article in json.loads(copy)})
        if held:
            bind.execute(
                sa.text("UPDATE issues SET article_ids = :ids WHERE id = :issue"),
                {"ids": json.dumps(held), "issue": issue_id},
            )


def downgrade() -> None:
    op.drop_column('issues', 'article_ids')
