"""subscriber imports run by a worker

A CSV uploaded in the console is stored here and imported by a Celery task a chunk at a time; the row
carries its progress (rows done, counts), the first problems and where it stopped if it failed, so the
console can show it while it runs and after.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'subscriber_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('started_by', sa.String(length=320), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('csv_text', sa.Text(), nullable=False),
        sa.Column('default_status', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('added', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=False),
        sa.Column('problems_more', sa.Integer(), nullable=False),
        sa.Column('stopped_at', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['list_id'], ['lists.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_subscriber_imports_list_id', 'subscriber_imports', ['list_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_subscriber_imports_list_id', table_name='subscriber_imports')
    op.drop_table('subscriber_imports')
