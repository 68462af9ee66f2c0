"""due rows in claim order

The dispatcher claims due rows ORDER BY due_at, id. With the index on
(status, due_at) only, rows sharing a slot (a whole list due at the same
minute) had to be sorted on every claim: each batch of 500 read and sorted
every pending row, so handing out an issue grew with the square of its size.
With id in the index the claim reads its 500 rows in order and stops.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_due')
        batch_op.create_index('ix_deliveries_status_due', ['status', 'due_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_due')
        batch_op.create_index('ix_deliveries_status_due', ['status', 'due_at'], unique=False)
