"""The delivery loop: mail events, unread inbound mail, webhook nonces, inbound sources' health

What came back after a send (bounces, complaints, mailto unsubscribes, auto-replies), each with the decision
it led to; the bounce mailbox's mail nobody could read; the signed webhook requests seen (replays refused);
each inbound source's last run. A list sets its VERP domain and the soft-bounce score that suppresses;
a subscription keeps its score. A suppression says what put it there (older rows: an admin).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op



revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'mail_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=300), nullable=False),
        sa.Column('raw_ref', sa.String(length=500), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=True),
        sa.Column('issue_id', sa.Integer(), nullable=True),
        sa.Column('list_id', sa.Integer(), nullable=True),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('decision_detail', sa.String(length=300), nullable=False),
        sa.Column('happened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['list_id'], ['lists.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_index('ix_mail_events_issue_kind', 'mail_events', ['issue_id', 'kind'])
    op.create_index('ix_mail_events_created', 'mail_events', ['created_at'])
    op.create_index('ix_mail_events_email', 'mail_events', ['email'])
    op.create_index(op.f('ix_mail_events_subscriber_id'), 'mail_events', ['subscriber_id'])
    op.create_table(
        'inbound_mails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mailbox', sa.String(length=300), nullable=False),
        sa.Column('ref', sa.String(length=300), nullable=False),
        sa.Column('sender', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('why', sa.String(length=300), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('mailbox', 'ref', name='uq_inbound_mails_mailbox_ref'),
    )
    op.create_table(
        'webhook_nonces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=False),
        sa.Column('nonce', sa.String(length=200), nullable=False),
        sa.Column('body_sha256', sa.String(length=64), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('provider', 'nonce', name='uq_webhook_nonces_provider_nonce'),
    )
    op.create_index(op.f('ix_webhook_nonces_seen_at'), 'webhook_nonces', ['seen_at'])
    op.create_table(
        'loop_sources',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_index('ix_deliveries_message_id', 'deliveries', ['message_id'])
    op.create_index('ix_subscribers_email_lower', 'subscribers', [sa.text('lower(email)')])
    with op.batch_alter_table('lists') as batch:
        batch.add_column(sa.Column('bounce_domain', sa.String(length=253), nullable=True))
        batch.add_column(sa.Column('bounce_threshold', sa.Float(), nullable=False, server_default='5'))
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('bounce_score', sa.Float(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('bounce_scored_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('suppressions') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='admin'))
        batch.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_suppressions_event_id', 'mail_events', ['event_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('suppressions') as batch:
        batch.drop_constraint('fk_suppressions_event_id', type_='foreignkey')
        batch.drop_column('event_id')
        batch.drop_column('kind')
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_column('bounce_scored_at')
        batch.drop_column('bounce_score')
    with op.batch_alter_table('lists') as batch:
        batch.drop_column('bounce_threshold')
        batch.drop_column('bounce_domain')
    op.drop_index('ix_subscribers_email_lower', table_name='subscribers')
    op.drop_index('ix_deliveries_message_id', table_name='deliveries')
    op.drop_table('loop_sources')
    op.drop_index(op.f('ix_webhook_nonces_seen_at'), table_name='webhook_nonces')
    op.drop_table('webhook_nonces')
    op.drop_table('inbound_mails')
    op.drop_index(op.f('ix_mail_events_subscriber_id'), table_name='mail_events')
    op.drop_index('ix_mail_events_email', table_name='mail_events')
    op.drop_index('ix_mail_events_created', table_name='mail_events')
    op.drop_index('ix_mail_events_issue_kind', table_name='mail_events')
    op.drop_table('mail_events')
