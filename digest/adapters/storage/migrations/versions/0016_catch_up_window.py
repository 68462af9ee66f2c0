"""a list's catch-up window, and the scheduled slot it last let pass

The first tick after a long stop sent the latest slot however late (up to six days). A list now says how
late a slot may still go (`catch_up_hours`, 6 by default); a slot found later than that is not sent, and
the list keeps which one it was and when the tick found it, so the console can say why an issue is missing.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (SQLite takes them too): every existing list gets the default window.
    op.add_column('lists', sa.Column('catch_up_hours', sa.Float(), nullable=False, server_default='6'))
    for column in ('missed_slot_at', 'missed_noticed_at'):
        op.add_column('lists', sa.Column(column, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('missed_noticed_at')
        batch_op.drop_column('missed_slot_at')
        batch_op.drop_column('catch_up_hours')
