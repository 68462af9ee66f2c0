"""the batch that holds a delivery row

A batch writes its own random id into the rows it takes (queued rows when it
starts, each row it claims for sending); its heartbeat renews, and its release
returns, only rows carrying that id. Before, a batch that halted released rows
by id alone and could put back a row that a second batch over the same ids
(a redelivered task) was sending. The index serves the heartbeat, one UPDATE by
holder every few seconds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_by', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_deliveries_held_by', ['held_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_held_by')
        batch_op.drop_column('held_by')
