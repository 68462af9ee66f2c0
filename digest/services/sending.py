"""Sending a batch of ledger rows: each message leaves at most once per claim, none is skipped.

A row is claimed (queued → sending, its Message-ID fixed) and committed before
its message leaves, and marked `sent` right after the transport accepts it. A
crash between the two leaves the row `sending`; the sweeper returns it after the
lease and it goes again with the same Message-ID: only messages in flight can
be doubled. The in-process path (`digest send` without a broker) and the Celery
tasks run this same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import make_msgid

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from digest.config import Settings
from digest.domain import Digest, ListInfo, Picks, RenderedDigest
from digest.links import make_recipient
from digest.messages import build_message
from digest.regions import RegionIndex
from digest.rendering import personalise, render_content
from digest.selection import assemble_digest
from digest.services.articles import articles_of_period
from digest.services.issues import claim_due, finish_if_done, sweep_stale
from digest.services.lists import list_info
from digest.services.subscribers import picks_of
from digest.storage import models
from digest.transports import DeliveryError, PermanentDeliveryError, Transport

MAX_ATTEMPTS = 5
# After a temporary failure: 1, 2, 4, 8 … minutes, and never later than this after the slot.
FIRST_BACKOFF = timedelta(minutes=1)
GIVE_UP_AFTER = timedelta(hours=24)


@dataclass
class SendReport:
    issue_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    renders: int = 0  # distinct contents rendered (premailer runs)
    halted: str | None = None  # why the run stopped early: the server or its account, not an address

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1

    def merge(self, other: SendReport) -> None:
        for status, n in other.counts.items():
            self.counts[status] = self.counts.get(status, 0) + n
        self.renders += other.renders
        self.halted = self.halted or other.halted


@dataclass
class IssueContext:
    """What every delivery of one issue shares, loaded once per batch or run."""

    issue_id: int
    list_id: int
    issue_number: int
    period_start: date
    period_end: date
    info: ListInfo
    articles: list
    unsubscribe_mailbox: str
    digests: dict[Picks, Digest] = field(default_factory=dict)
    rendered: dict[tuple[int, ...], RenderedDigest] = field(default_factory=dict)

    def digest_for(self, picks: Picks, regions: RegionIndex) -> Digest:
        digest = self.digests.get(picks)
        if digest is None:
            digest = self.digests[picks] = assemble_digest(
                self.info,
                self.articles,
                picks,
                regions,
                period_start=self.period_start,
                period_end=self.period_end,
                issue_number=self.issue_number,
            )
        return digest

    def content_for(self, digest: Digest, env) -> RenderedDigest:
        content = self.rendered.get(digest.article_ids)
        if content is None:
            content = self.rendered[digest.article_ids] = render_content(digest, env)
        return content


def load_context(session: Session, issue_id: int) -> IssueContext:
    issue = session.get(models.Issue, issue_id)
    ml = session.get(models.MailingList, issue.list_id)
    return IssueContext(
        issue_id=issue.id,
        list_id=ml.id,
        issue_number=issue.number,
        period_start=issue.period_start,
        period_end=issue.period_end,
        info=list_info(ml),
        articles=articles_of_period(session, ml, issue.period_end),
        unsubscribe_mailbox=ml.reply_to or ml.sender_email,
    )


def send_batch(
    factory: sessionmaker[Session],
    issue_id: int,
    delivery_ids: list[int],
    transport: Transport,
    settings: Settings,
    regions: RegionIndex,
    env,
    *,
    ctx: IssueContext | None = None,
    throttle: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SendReport:
    """Send the queued rows among `delivery_ids`; rows someone else took, or of a paused issue, are left."""
    report = SendReport(issue_id=issue_id)
    if ctx is None:
        with factory.begin() as session:
            ctx = load_context(session, issue_id)
    for position, delivery_id in enumerate(delivery_ids):
        with factory.begin() as session:
            if not _claim(session, delivery_id, issue_id, settings.link_domain):
                continue
        if throttle:
            throttle()
        try:
            with factory.begin() as session:
                status = _deliver_one(session, delivery_id, ctx, transport, settings, regions, env)
        except DeliveryError as exc:
            # No address is at fault (login refused, server unreachable): stop, blame no one.
            with factory.begin() as session:
                _release(session, delivery_ids[position:])
            report.halted = str(exc)
            break
        report.add(status)
        if progress:
            progress(1)
    report.renders = len(ctx.rendered)
    return report


def _claim(session: Session, delivery_id: int, issue_id: int, domain: str) -> bool:
    """queued → sending, only while the issue is sending; exactly one claimant wins."""
    sending = select(models.Issue.id).where(models.Issue.id == issue_id, models.Issue.status == "sending")
    claimed = session.execute(
        update(models.Delivery)
        .where(models.Delivery.id == delivery_id, models.Delivery.status == "queued", sending.exists())
        .values(status="sending", attempts=models.Delivery.attempts + 1, updated_at=datetime.now(timezone.utc))
    ).rowcount
    if claimed:
        row = session.get(models.Delivery, delivery_id)
        # Fixed once: a resend after a crash carries the same Message-ID, so clients can fold it.
        row.message_id = row.message_id or make_msgid(domain=domain)
    return bool(claimed)


def _release(session: Session, delivery_ids: list[int]) -> None:
    """Rows held by a batch that stops early go back to the queue, their attempt not counted."""
    session.execute(
        update(models.Delivery)
        .where(models.Delivery.id.in_(delivery_ids), models.Delivery.status == "sending")
        .values(status="pending", attempts=models.Delivery.attempts - 1)
    )
    session.execute(
        update(models.Delivery)
        .where(models.Delivery.id.in_(delivery_ids), models.Delivery.status == "queued")
        .values(status="pending")
    )


def send_pending(
    factory: sessionmaker[Session],
    issue_id: int,
    transport: Transport,
    settings: Settings,
    regions: RegionIndex,
    env,
    *,
    batch_size: int = 100,
    progress: Callable[[int], None] | None = None,
) -> SendReport:
    """In-process: send every due row of the issue once; returns what became of them in this run.

    A row deferred by a temporary failure waits for the next run, which tries it
    whatever its backoff says: a person running `digest send` means now.
    """
    report = SendReport(issue_id=issue_id)
    with factory.begin() as session:
        sweep_stale(session)
        ctx = load_context(session, issue_id)
    tried: set[int] = set()
    while not report.halted:
        with factory.begin() as session:
            batch = claim_due(session, limit=batch_size, issue_id=issue_id, respect_backoff=False).get(issue_id, [])
            fresh = [d for d in batch if d not in tried]
            if len(fresh) < len(batch):
                # Deferred earlier in this run: leave them for the next run.
                session.execute(
                    update(models.Delivery)
                    .where(models.Delivery.id.in_(set(batch) - set(fresh)))
                    .values(status="pending")
                )
        if not fresh:
            break
        tried.update(fresh)
        report.merge(send_batch(factory, issue_id, fresh, transport, settings, regions, env, ctx=ctx, progress=progress))
    with factory.begin() as session:
        finish_if_done(session, issue_id)
    report.renders = len(ctx.rendered)
    return report


def _deliver_one(session, delivery_id, ctx: IssueContext, transport, settings, regions, env) -> str:
    row = session.get(models.Delivery, delivery_id)
    subscriber = row.subscriber
    sub = session.scalar(
        select(models.Subscription).where(
            models.Subscription.list_id == ctx.list_id,
            models.Subscription.subscriber_id == subscriber.id,
        )
    )
    now = datetime.now(timezone.utc)
    if session.scalar(select(models.Suppression.id).where(models.Suppression.email == subscriber.email)):
        row.status, row.reason = "suppressed", "address is on the suppression list"
        return row.status
    if sub is None or sub.status != "confirmed":
        row.status, row.reason = "skipped", "no longer subscribed"
        return row.status
    if sub.paused_until is not None and sub.paused_until > ctx.period_end:
        row.status, row.reason = "skipped", f"paused until {sub.paused_until}"
        return row.status
    try:
        digest = ctx.digest_for(picks_of(sub), regions)
        row.article_count = digest.article_count
        if digest.article_count == 0:
            row.status, row.reason = "skipped", "no article this week matches their picks"
            return row.status
        content = ctx.content_for(digest, env)
        recipient = make_recipient(
            email=subscriber.email,
            name=subscriber.name,
            subscriber_id=subscriber.id,
            list_slug=ctx.info.slug,
            issue_id=ctx.issue_id,
            base_url=settings.base_url,
            secret=settings.secret_key,
            unsubscribe_mailbox=ctx.unsubscribe_mailbox,
        )
        message = build_message(
            personalise(content, recipient),
            list_info=ctx.info,
            recipient=recipient,
            list_id_domain=settings.link_domain,
            message_id=row.message_id,
        )
    except Exception as exc:  # a message that cannot be built must not stop the others
        row.status, row.last_error = "failed", f"could not build the message: {exc!r}"
        return row.status
    try:
        receipt = transport.send(message, sender=ctx.info.sender_email, recipient=subscriber.email)
    except DeliveryError as exc:
        if exc.recipient is None:
            raise
        return _record_failure(session, row, subscriber, exc)
    row.status, row.location, row.sent_at, row.reason = "sent", receipt.where, now, None
    return row.status


def _record_failure(session: Session, row: models.Delivery, subscriber: models.Subscriber, exc: DeliveryError) -> str:
    if isinstance(exc, PermanentDeliveryError):
        row.status, row.last_error = "bounced", f"{exc.code} {exc.detail}"
        _suppress(session, subscriber.email, f"bounced: {exc.code} {exc.detail}"[:300])
        return row.status
    row.last_error = f"{exc.code} {exc.detail}"
    now = datetime.now(timezone.utc)
    retry_at = now + FIRST_BACKOFF * 2 ** (row.attempts - 1)
    horizon = (row.due_at or row.updated_at or now) + GIVE_UP_AFTER
    if row.attempts >= MAX_ATTEMPTS or retry_at > horizon:
        row.status = "failed"
        return row.status
    row.status, row.next_attempt_at = "pending", retry_at
    return "deferred"


def _suppress(session: Session, email: str, reason: str) -> None:
    if session.scalar(select(models.Suppression.id).where(models.Suppression.email == email)) is None:
        session.add(models.Suppression(email=email, reason=reason))
