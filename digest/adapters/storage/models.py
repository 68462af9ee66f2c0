"""SQLAlchemy 2 typed models. Schema changes go through Alembic (digest/adapters/storage/migrations)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.sql.expression import false as sa_false
from sqlalchemy.sql.expression import true as sa_true

from digest.adapters.storage.columns import StatusColumn, UTCDateTime, utcnow
from digest.core.statuses import DeliveryStatus, ImportStatus, IssueStatus, Origin, SubscriptionStatus


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here maps a Table (DeclarativeBase allows any FromClause).
        __table__: ClassVar[Table]


class MailingList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_email: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    masthead: Mapped[str] = mapped_column(String(200), default="")
    tagline: Mapped[str] = mapped_column(String(300), default="")
    # [["制作", "…"], ["责任编辑", "…"], ["审核", "…"]]: ordered pairs, as the footer shows them
    credits: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    postal_address: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(16), default="zh-CN")
    # How much of each article the mail carries: "lead" or "full" (digest/core/leads.py).
    article_text: Mapped[str] = mapped_column(String(8), default="lead", server_default="lead")
    # The weekly slot: every subscriber gets the issue at this local time in their own zone.
    send_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 = Monday
    send_time: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai", server_default="Asia/Shanghai")
    schedule_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    # Messages per second for providers with quotas; None = as fast as the workers go.
    rate_limit: Mapped[float | None] = mapped_column(Float)
    # How late the tick may still send a slot it finds passed (the scheduler was down), in hours (0016).
    catch_up_hours: Mapped[float] = mapped_column(Float, default=6.0, server_default="6")
    # A tagged article whose topic's confidence is under this waits for an editor (0018).
    review_below: Mapped[float] = mapped_column(Float, default=0.6, server_default="0.6")
    # VERP return paths' domain (None: DIGEST_BOUNCE_DOMAIN, else none) and the soft-bounce score that
    # suppresses an address (Mailman's default, 5.0; digest/core/bounces/policy.py) (0020).
    bounce_domain: Mapped[str | None] = mapped_column(String(253))
    bounce_threshold: Mapped[float] = mapped_column(Float, default=5.0, server_default="5")
    # The last slot the tick found later than that and let pass, and when: the console says why it is missing.
    missed_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    topics: Mapped[list[Topic]] = relationship(
        back_populates="list", order_by="Topic.position", cascade="all, delete-orphan"
    )


class Topic(Base):
    __tablename__ = "topics"
    __table_args__ = (
        UniqueConstraint("list_id", "slug"),
        UniqueConstraint("list_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    # The editor's keywords for the tagger, keyword → weight; None: the defaults (digest.core.tagging).
    keywords: Mapped[dict[str, float] | None] = mapped_column(JSON)

    list: Mapped[MailingList] = relationship(back_populates="topics")


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("list_id", "fingerprint"),
        UniqueConstraint("source_id", "item_key", name="uq_articles_source_item"),
        Index("ix_articles_list_published", "list_id", "published_at"),
        Index(
            "ix_articles_waiting_review",
            "list_id",
            "published_at",
            postgresql_where=text("needs_review"),
            sqlite_where=text("needs_review"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    title: Mapped[str] = mapped_column(String(500))
    body_html: Mapped[str] = mapped_column(Text)
    region_label: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(2000))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # sha256 of the normalised title and body: re-ingesting the same article updates nothing
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Read from a feed (0018): its source, and its item's key there (digest/services/feed_polling.py).
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    item_key: Mapped[str | None] = mapped_column(String(64))
    item_hash: Mapped[str | None] = mapped_column(String(64))  # the item as the feed last gave it
    hidden: Mapped[bool] = mapped_column(default=False)
    # Placed by the tagger below the list's confidence, or nowhere: in no issue until an editor confirms.
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    topic_from: Mapped[Origin] = mapped_column(StatusColumn(Origin), default=Origin.LABEL, server_default="label")
    tag_confidence: Mapped[float | None] = mapped_column(Float)
    tag_why: Mapped[list[str] | None] = mapped_column(JSON)  # the words that decided
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    topic: Mapped[Topic] = relationship()
    regions: Mapped[list[ArticleRegion]] = relationship(cascade="all, delete-orphan")


class ArticleRegion(Base):
    __tablename__ = "article_regions"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    came_from: Mapped[Origin] = mapped_column(StatusColumn(Origin), default=Origin.LABEL, server_default="label")


class Subscriber(Base):
    __tablename__ = "subscribers"
    # A bounce or a provider's report may write the address in another case (0020).
    __table_args__ = (Index("ix_subscribers_email_lower", func.lower(text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # normalised: domain lower-cased, local part kept (RFC 5321 says it may be case-sensitive)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Mails the public form sent this address (confirm, or "already subscribed") on `form_mails_day`:
    # capped per address, so a form anyone can post to is no way to flood one inbox.
    form_mails_day: Mapped[date | None] = mapped_column(Date)
    form_mails_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="subscriber", cascade="all, delete-orphan")


class Subscription(Base):
    """A subscriber's membership of one list, with their picks there."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("list_id", "subscriber_id"),
        Index("ix_subscriptions_subscriber", "subscriber_id"),  # a subscriber's lists; deleting one (0006)
        # A list's members of one status, newest first: the console's tabs and their capped counts (0010).
        Index("ix_subscriptions_list_status_id", "list_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        StatusColumn(SubscriptionStatus), default=SubscriptionStatus.PENDING
    )
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    topic_slugs: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "Pause for N weeks": issues whose slot falls before this day are skipped.
    paused_until: Mapped[date | None] = mapped_column(Date)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Soft bounces' score as of `bounce_scored_at`; it decays from there (digest/core/bounces/policy.py) (0020).
    bounce_score: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    bounce_scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    list: Mapped[MailingList] = relationship()


class _PickRow:
    """A subscription's pick as a row: the picks' index, kept equal to its JSON column by services/picks.py
    (the JSON stays the source; these rows let SQL filter and group by the picks). The list is copied in so
    a list's picks are found by index without the subscriptions (0010)."""

    pick_column: ClassVar[str]
    index_name: ClassVar[str]

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[PrimaryKeyConstraint, Index]:
        return (
            PrimaryKeyConstraint("subscription_id", cls.pick_column),
            Index(cls.index_name, "list_id", cls.pick_column, "subscription_id"),
        )


class SubscriptionRegion(_PickRow, Base):
    """`Subscription.region_codes`, a row each: the console's region filter, the dashboard's provinces."""

    __tablename__ = "subscription_regions"
    pick_column, index_name = "region_code", "ix_subscription_regions_list_code"
    region_code: Mapped[str] = mapped_column(String(6))


class SubscriptionTopic(_PickRow, Base):
    """`Subscription.topic_slugs`, a row each: the console's topic filter."""

    __tablename__ = "subscription_topics"
    pick_column, index_name = "topic_slug", "ix_subscription_topics_list_slug"
    topic_slug: Mapped[str] = mapped_column(String(64))


class SubscriberImport(Base):
    """A CSV of subscribers uploaded in the console, imported by a worker a chunk at a time (0011)."""

    __tablename__ = "subscriber_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    started_by: Mapped[str] = mapped_column(String(320))  # the admin's address: kept if the account goes
    file_name: Mapped[str] = mapped_column(String(200))
    # The upload itself (the console caps it at a few MB): a worker on another machine reads it from here.
    csv_text: Mapped[str] = mapped_column(Text)
    default_status: Mapped[SubscriptionStatus] = mapped_column(StatusColumn(SubscriptionStatus))
    status: Mapped[ImportStatus] = mapped_column(StatusColumn(ImportStatus), default=ImportStatus.QUEUED)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # The first problems as plain dicts (digest.core.domain.Problem's fields); the rest only counted.
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    problems_more: Mapped[int] = mapped_column(Integer, default=0)
    stopped_at: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# An alias, because inside Issue `list` names its relationship, not the builtin.
ArticleIds = list[int]


class Issue(Base):
    """One list's issue for one period; the unique constraint makes planning idempotent."""

    __tablename__ = "issues"
    __table_args__ = (UniqueConstraint("list_id", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[IssueStatus] = mapped_column(StatusColumn(IssueStatus), default=IssueStatus.PLANNED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The articles its copies are built from, fixed by the first copy (0014): what the archive shows.
    article_ids: Mapped[ArticleIds | None] = mapped_column(JSON)

    list: Mapped[MailingList] = relationship()


class Delivery(Base):
    """The ledger: one row per issue and subscriber, whatever became of it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("issue_id", "subscriber_id"),
        Index("ix_deliveries_issue_status", "issue_id", "status"),
        Index("ix_deliveries_status_due", "status", "due_at", "id"),  # the claim order (0005)
        Index("ix_deliveries_subscriber", "subscriber_id"),  # a subscriber's history; deleting one (0006)
        Index("ix_deliveries_held_by", "held_by"),  # a batch's heartbeat and release (0009)
        Index("ix_deliveries_message_id", "message_id"),  # a provider's report of a copy, by its Message-ID (0020)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(StatusColumn(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    # The articles this subscriber's copy held, so "view in browser" shows what was sent
    # even after they change their picks.
    article_ids: Mapped[list[int] | None] = mapped_column(JSON)
    message_id: Mapped[str | None] = mapped_column(String(300))
    # The batch (a random id per run) that took this row; only it may renew or release it.
    held_by: Mapped[str | None] = mapped_column(String(32))
    # When this subscriber's copy may go: the slot in their time zone (None = now).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After a temporary failure, not before this instant.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(1000))
    reason: Mapped[str | None] = mapped_column(String(300))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscriber: Mapped[Subscriber] = relationship()


class Suppression(Base):
    """Addresses never to send to: hard bounces, complaints, admin blocks."""

    __tablename__ = "suppressions"
    # Addresses are compared without case where a person typed one (0006).
    __table_args__ = (Index("ix_suppressions_email_lower", func.lower(text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What put it there: "admin", "bounce" (refused during the send), "hard_bounce", "complaint",
    # "soft_bounce" (the score), "import" (0020; older rows: "admin").
    kind: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")
    # The mail event that decided it, when one did.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("mail_events.id", ondelete="SET NULL"))


class KeptFigure(Base):
    """The last count of figures too costly to count per request (the dashboard's), for a process that has none
    in memory yet: shown while it counts again (services/stats.py, 0012)."""

    __tablename__ = "kept_figures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FormMail(Base):
    """A mail the public subscribe form owes an address, until it is sent (services/form_mails.py, 0013)."""

    __tablename__ = "form_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: deleting a subscriber deletes their waiting mails.
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # digest.core.form_mail: CONFIRM or KNOWN
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Taken by a sender until then; past it (the sender died, or the server said "later") anyone may take it.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


# Last: they subclass Base, so their tables join the metadata wherever the models are imported.
from digest.adapters.storage.account_models import AdminSession as AdminSession  # noqa: E402
from digest.adapters.storage.account_models import AdminUser as AdminUser  # noqa: E402
from digest.adapters.storage.account_models import ApiToken as ApiToken  # noqa: E402
from digest.adapters.storage.loop_models import InboundMail as InboundMail  # noqa: E402
from digest.adapters.storage.loop_models import LoopSource as LoopSource  # noqa: E402
from digest.adapters.storage.loop_models import MailEventRow as MailEventRow  # noqa: E402
from digest.adapters.storage.loop_models import WebhookNonce as WebhookNonce  # noqa: E402
from digest.adapters.storage.source_models import Source as Source  # noqa: E402
