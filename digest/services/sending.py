"""Issues and the delivery ledger: plan an issue, then send every pending delivery exactly once.

The ledger row is claimed (status `sending`, a Message-ID fixed) and committed
before the message leaves, and marked `sent` right after the transport accepts
it. A crash between the two leaves the row `sending`: after the lease runs out
the next run sends it again with the same Message-ID, so at most the messages
in flight can be doubled, and none is ever skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from digest.config import Settings
from digest.domain import Digest, ListInfo, Picks, RenderedDigest
from digest.links import make_recipient
from digest.messages import build_message
from digest.regions import RegionIndex
from digest.rendering import personalise, render_content
from digest.selection import assemble_digest
from digest.services.articles import articles_of_period, period_bounds
from digest.services.lists import list_info
from digest.services.subscribers import picks_of
from digest.storage import models
from digest.transports import DeliveryError, PermanentDeliveryError, Transport

MAX_ATTEMPTS = 5
# A row left `sending` this long belongs to a sender that died; it goes back to the queue.
SENDING_LEASE = timedelta(minutes=15)


def plan_issue(session: Session, ml: models.MailingList, period_end: date) -> models.Issue:
    """The issue of `ml` for the week ending `period_end`, created once whoever asks twice."""
    issue = session.scalar(
        select(models.Issue).where(models.Issue.list_id == ml.id, models.Issue.period_end == period_end)
    )
    if issue is not None:
        return issue
    period_start, _, _ = period_bounds(period_end)
    number = (session.scalar(select(func.max(models.Issue.number)).where(models.Issue.list_id == ml.id)) or 0) + 1
    try:
        with session.begin_nested():
            issue = models.Issue(list_id=ml.id, number=number, period_start=period_start, period_end=period_end)
            session.add(issue)
    except IntegrityError:
        # Another planner created it between our look and our insert.
        issue = session.scalar(
            select(models.Issue).where(models.Issue.list_id == ml.id, models.Issue.period_end == period_end)
        )
    return issue


def enqueue_deliveries(session: Session, issue: models.Issue) -> int:
    """Give every confirmed subscriber of the list a ledger row for `issue`; returns how many were new."""
    already = select(models.Delivery.subscriber_id).where(models.Delivery.issue_id == issue.id)
    subscriber_ids = session.scalars(
        select(models.Subscription.subscriber_id).where(
            models.Subscription.list_id == issue.list_id,
            models.Subscription.status == "confirmed",
            models.Subscription.subscriber_id.not_in(already),
        )
    ).all()
    for sid in subscriber_ids:
        session.add(models.Delivery(issue_id=issue.id, subscriber_id=sid, status="pending"))
    session.flush()
    return len(subscriber_ids)


@dataclass
class SendReport:
    issue_id: int
    counts: dict[str, int] = field(default_factory=dict)
    renders: int = 0  # distinct contents rendered (premailer runs)
    halted: str | None = None  # why the run stopped early: the server or its account, not an address

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1


@dataclass
class _IssueContext:
    """What every delivery of one issue shares, loaded once per run."""

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
            digest = assemble_digest(
                self.info,
                self.articles,
                picks,
                regions,
                period_start=self.period_start,
                period_end=self.period_end,
                issue_number=self.issue_number,
            )
            self.digests[picks] = digest
        return digest


def _load_context(session: Session, issue_id: int) -> _IssueContext:
    issue = session.get(models.Issue, issue_id)
    ml = session.get(models.MailingList, issue.list_id)
    return _IssueContext(
        issue_id=issue.id,
        list_id=ml.id,
        issue_number=issue.number,
        period_start=issue.period_start,
        period_end=issue.period_end,
        info=list_info(ml),
        articles=articles_of_period(session, ml, issue.period_end),
        unsubscribe_mailbox=ml.reply_to or ml.sender_email,
    )


def reclaim_stale(session: Session, issue_id: int, now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    result = session.execute(
        update(models.Delivery)
        .where(
            models.Delivery.issue_id == issue_id,
            models.Delivery.status == "sending",
            models.Delivery.updated_at < now - SENDING_LEASE,
        )
        .values(status="pending", last_error="returned to the queue: its sender stopped mid-send")
    )
    return result.rowcount or 0


def _claim_batch(session: Session, issue_id: int, exclude: set[int], size: int, domain: str) -> list[int]:
    query = (
        select(models.Delivery)
        .where(models.Delivery.issue_id == issue_id, models.Delivery.status == "pending")
        .order_by(models.Delivery.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    if exclude:
        query = query.where(models.Delivery.id.not_in(exclude))
    rows = session.scalars(query).all()
    for row in rows:
        row.status = "sending"
        row.attempts += 1
        row.message_id = row.message_id or make_msgid(domain=domain)
    return [r.id for r in rows]


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
    """Send every pending delivery of the issue once; returns what became of them in this run."""
    report = SendReport(issue_id=issue_id)
    with factory.begin() as session:
        reclaim_stale(session, issue_id)
        ctx = _load_context(session, issue_id)
        issue = session.get(models.Issue, issue_id)
        if issue.status in ("paused", "cancelled"):
            return report
        issue.status = "sending"
    seen: set[int] = set()
    while True:
        with factory.begin() as session:
            batch = _claim_batch(session, issue_id, seen, batch_size, settings.link_domain)
        if not batch:
            break
        seen.update(batch)
        for delivery_id in batch:
            try:
                with factory.begin() as session:
                    status = _deliver_one(session, delivery_id, ctx, transport, settings, regions, env, report)
            except DeliveryError as exc:
                # No address is at fault (login refused, server unreachable): stop, blame no one.
                with factory.begin() as session:
                    _release(session, batch)
                report.halted = str(exc)
                break
            report.add(status)
            if progress:
                progress(1)
        if report.halted:
            break
    with factory.begin() as session:
        finish_if_done(session, issue_id)
    report.renders = len(ctx.rendered)
    return report


def _deliver_one(session, delivery_id, ctx: _IssueContext, transport, settings, regions, env, report) -> str:
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
    try:
        digest = ctx.digest_for(picks_of(sub), regions)
        row.article_count = digest.article_count
        if digest.article_count == 0:
            row.status, row.reason = "skipped", "no article this week matches their picks"
            return row.status
        key = digest.article_ids
        content = ctx.rendered.get(key)
        if content is None:
            content = ctx.rendered[key] = render_content(digest, env)
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
    row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
    return "deferred" if row.status == "pending" else row.status


def _release(session: Session, delivery_ids: list[int]) -> None:
    """Rows claimed by a run that stops early go back to the queue, their attempt not counted."""
    session.execute(
        update(models.Delivery)
        .where(models.Delivery.id.in_(delivery_ids), models.Delivery.status == "sending")
        .values(status="pending", attempts=models.Delivery.attempts - 1)
    )


def _suppress(session: Session, email: str, reason: str) -> None:
    if session.scalar(select(models.Suppression.id).where(models.Suppression.email == email)) is None:
        session.add(models.Suppression(email=email, reason=reason))


def finish_if_done(session: Session, issue_id: int) -> bool:
    """An issue is sent only when no row is pending or in flight."""
    open_rows = session.scalar(
        select(func.count())
        .select_from(models.Delivery)
        .where(models.Delivery.issue_id == issue_id, models.Delivery.status.in_(("pending", "sending")))
    )
    issue = session.get(models.Issue, issue_id)
    if open_rows == 0 and issue.status == "sending":
        issue.status, issue.finished_at = "sent", datetime.now(timezone.utc)
        return True
    return False
