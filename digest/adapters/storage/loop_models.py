"""The delivery loop's tables (0020): what came back, what was not understood, which webhook requests were
seen, and how each inbound source is doing. Import the models through `models` (models.py imports this
module at its end, so the tables are in `Base.metadata` wherever the models are)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from digest.adapters.storage.columns import UTCDateTime, utcnow
from digest.adapters.storage.models import Base


class MailEventRow(Base):
    """One bounce, complaint, mailto unsubscribe or auto-reply, with the decision it led to.

    `key` (digest.core.bounces.events.MailEvent.key) is unique: the same mail read twice or the same webhook
    delivered three times is one row and one decision.
    """

    __tablename__ = "mail_events"
    __table_args__ = (
        Index("ix_mail_events_issue_kind", "issue_id", "kind"),  # the sender page's rates per issue
        Index("ix_mail_events_created", "created_at"),  # … and per week
        Index("ix_mail_events_email", "email"),  # an address's history
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # EventKind
    source: Mapped[str] = mapped_column(String(16))  # "mailbox", "ses", "mailgun", "postmark", "sendgrid"
    email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[str] = mapped_column(String(300), default="")
    raw_ref: Mapped[str] = mapped_column(String(500), default="")
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"), index=True)
    # What was done: "suppressed", "unsubscribed", "scored", "ignored", "nothing" (digest.services.bounces).
    decision: Mapped[str] = mapped_column(String(16))
    decision_detail: Mapped[str] = mapped_column(String(300), default="")
    happened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundMail(Base):
    """A mail of the bounce mailbox nobody could read as a bounce, a complaint, an auto-reply or an unsubscribe:
    kept, with its raw source, until a person deals with it (it also stays in the mailbox)."""

    __tablename__ = "inbound_mails"
    __table_args__ = (UniqueConstraint("mailbox", "ref", name="uq_inbound_mails_mailbox_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300))  # the mailbox URL without its password
    ref: Mapped[str] = mapped_column(String(300))  # what finds it again there: its Message-ID, else a digest
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    why: Mapped[str] = mapped_column(String(300), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a person marks it dealt with in the console; it then leaves the list.
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookNonce(Base):
    """A signed webhook request seen: the same signature again with the same body is a retry (answered, applied
    once); with another body, a replay (refused)."""

    __tablename__ = "webhook_nonces"
    __table_args__ = (UniqueConstraint("provider", "nonce", name="uq_webhook_nonces_provider_nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(200))
    body_sha256: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoopSource(Base):
    """How one inbound source (the bounce mailbox, each provider's webhook) is doing: the sender page's health."""

    __tablename__ = "loop_sources"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Running totals: {"mails": …, "events": …, "unparsed": …, "refused": …}.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    runs: Mapped[int] = mapped_column(Integer, default=0)
