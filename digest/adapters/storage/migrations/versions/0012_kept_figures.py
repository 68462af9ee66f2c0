"""figures kept between processes

The dashboard's figures cost a second or more at a million subscribers. Each web process keeps them a
while in memory; this table keeps the last count across processes and restarts, so a process's first
visit shows it (and counts again behind) rather than waiting.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kept_figures',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('kept_figures')
