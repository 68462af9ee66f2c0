"""confirmation mails per address

The public form mails whatever address is typed into it. Counting per client
address alone let anyone rotating addresses mail one inbox without end, so each
subscriber row counts the form's mails of its day: a few a day, then silence.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_mails_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('form_mails_sent', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_column('form_mails_sent')
        batch_op.drop_column('form_mails_day')
