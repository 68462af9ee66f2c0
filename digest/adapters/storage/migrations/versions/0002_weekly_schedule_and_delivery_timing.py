"""weekly schedule and delivery timing

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_deliveries_status_due', ['status', 'due_at'], unique=False)

    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_weekday', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('send_time', sa.String(length=5), server_default='08:00', nullable=False))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='Asia/Shanghai', nullable=False))
        batch_op.add_column(sa.Column('schedule_enabled', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('rate_limit', sa.Float(), nullable=True))

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_until', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('paused_until')

    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_column('rate_limit')
        batch_op.drop_column('schedule_enabled')
        batch_op.drop_column('time_zone')
        batch_op.drop_column('send_time')
        batch_op.drop_column('send_weekday')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_due')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('due_at')

