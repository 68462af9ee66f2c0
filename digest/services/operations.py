"""Running one issue by hand: its figures, its delivery log, any subscriber's preview, a test send, send now.

The preview builds the digest exactly as `send_batch` would (same picks, same
issue number, same skip rules), so what an editor sees is what goes out.
A test send renders such a digest for an address the editor types and never
touches the ledger.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from digest.adapters.storage import models
from digest.adapters.transports import open_transport
from digest.core.domain import Digest, Picks, RenderedDigest
from digest.core.explain import Reason, reason_from
from digest.core.links import make_recipient
from digest.core.messages import build_message
from digest.core.regions import RegionIndex
from digest.core.rendering import render_digest
from digest.core.selection import assemble_digest, explain
from digest.core.settings import Settings
from digest.services import NotFound
from digest.services.articles import articles_of_period
from digest.services.issues import delivery_counts, start_issue
from digest.services.lists import list_info
from digest.services.subscribers import (
    InvalidSubscriber,
    normalise_email,
    picks_of,
    subscription_by_email,
)

log = logging.getLogger(__name__)

TEST_MARK = {"zh-CN": "[测试]", "en": "[TEST]"}


class InvalidAddress(ValueError):
    """A test-send address we will not put in a header."""


@dataclass(frozen=True)
class IssueSummary:
    id: int
    number: int
    list_slug: str
    list_name: str
    period_start: date
    period_end: date
    status: str
    created_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def get_issue(session: Session, issue_id: int) -> models.Issue:
    issue = session.get(models.Issue, issue_id)
    if issue is None:
        raise NotFound(f"no issue with id {issue_id}")
    return issue


def summary_of(session: Session, issue: models.Issue, counts: dict[str, int] | None = None) -> IssueSummary:
    ml = issue.list
    return IssueSummary(
        issue.id,
        issue.number,
        ml.slug,
        ml.name,
        issue.period_start,
        issue.period_end,
        issue.status,
        issue.created_at,
        issue.finished_at,
        counts if counts is not None else delivery_counts(session, issue.id),
    )


def issue_summaries(
    session: Session, ml: models.MailingList, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[int, list[IssueSummary]]:
    """The list's issues, newest first, each with its ledger counts (one grouped query for all)."""
    where = [models.Issue.list_id == ml.id] + ([models.Issue.status == status] if status else [])
    total = session.scalar(select(func.count()).select_from(models.Issue).where(*where)) or 0
    issues = session.scalars(
        select(models.Issue).where(*where).order_by(models.Issue.period_end.desc()).limit(limit).offset(offset)
    ).all()
    counts: dict[int, dict[str, int]] = {i.id: {} for i in issues}
    if issues:
        for issue_id, st, n in session.execute(
            select(models.Delivery.issue_id, models.Delivery.status, func.count())
            .where(models.Delivery.issue_id.in_(counts))
            .group_by(models.Delivery.issue_id, models.Delivery.status)
        ):
            counts[issue_id][st] = n
    return total, [summary_of(session, i, counts[i.id]) for i in issues]


@dataclass(frozen=True)
class LogRow:
    email: str
    name: str
    status: str
    attempts: int
    articles: int
    reason: str | None
    last_error: str | None
    sent_at: datetime | None
    message_id: str | None


def delivery_log(
    session: Session, issue_id: int, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[LogRow]]:
    d, s = models.Delivery, models.Subscriber
    where = [d.issue_id == issue_id] + ([d.status == status] if status else [])
    total = session.scalar(select(func.count()).select_from(d).where(*where)) or 0
    rows = session.execute(
        select(s.email, s.name, d.status, d.attempts, d.article_count, d.reason, d.last_error, d.sent_at, d.message_id)
        .join(s, s.id == d.subscriber_id)
        .where(*where)
        .order_by(d.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return total, [LogRow(*r) for r in rows]


@dataclass(frozen=True)
class Verdict:
    article_id: int
    title: str
    region_label: str
    topic_name: str
    included: bool
    reason: Reason


@dataclass
class IssuePreview:
    email: str
    name: str
    subscription_status: str
    region_names: list[str]
    topic_names: list[str]
    digest: Digest
    rendered: RenderedDigest | None  # None when the digest is empty: nothing would be sent
    verdicts: list[Verdict] = field(default_factory=list)
    # Why the send would skip them (a key: suppressed, not_confirmed, paused, empty), or None.
    skip: str | None = None
    paused_until: date | None = None

    @property
    def included(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.included]

    @property
    def excluded(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.included]


def _recipient(
    settings: Settings, ml: models.MailingList, issue: models.Issue, *, email: str, name: str, subscriber_id: int
):
    return make_recipient(
        email=email,
        name=name,
        subscriber_id=subscriber_id,
        list_slug=ml.slug,
        issue_id=issue.id,
        base_url=settings.base_url,
        secret=settings.secret_key,
        unsubscribe_mailbox=ml.reply_to or ml.sender_email,
    )


def _digest(session: Session, issue: models.Issue, picks: Picks, regions: RegionIndex):
    ml = issue.list
    articles = articles_of_period(session, ml, issue.period_end)
    digest = assemble_digest(
        list_info(ml),
        articles,
        picks,
        regions,
        period_start=issue.period_start,
        period_end=issue.period_end,
        issue_number=issue.number,
    )
    return articles, digest


def preview_issue(
    session: Session, issue: models.Issue, email: str, settings: Settings, regions: RegionIndex, env
) -> IssuePreview:
    """What `email` gets from `issue`, and why each article of the period is in or out."""
    ml = issue.list
    sub = subscription_by_email(session, ml, email)
    address = sub.subscriber.email
    picks = picks_of(sub)
    articles, digest = _digest(session, issue, picks, regions)
    names = {t.slug: t.name for t in ml.topics}
    chosen = set(digest.article_ids)
    verdicts = []
    for article in articles:
        reason = reason_from(explain(article, picks, regions, topic_names=names))
        if reason.included and article.id not in chosen:
            reason = Reason(False, "list_topic", {}, reason.text)
        verdicts.append(
            Verdict(
                article.id,
                article.title,
                article.region_label,
                names.get(article.topic, article.topic),
                article.id in chosen,
                reason,
            )
        )
    suppressed = session.scalar(select(models.Suppression.id).where(models.Suppression.email == address))
    skip = None
    if suppressed is not None:
        skip = "suppressed"
    elif sub.status != "confirmed":
        skip = "not_confirmed"
    elif sub.paused_until is not None and sub.paused_until > issue.period_end:
        skip = "paused"
    elif digest.article_count == 0:
        skip = "empty"
    rendered = None
    if digest.article_count:
        recipient = _recipient(
            settings, ml, issue, email=address, name=sub.subscriber.name, subscriber_id=sub.subscriber_id
        )
        rendered = render_digest(digest, recipient, env)
    return IssuePreview(
        email=address,
        name=sub.subscriber.name,
        subscription_status=sub.status,
        region_names=[regions.display(c) if c in regions else c for c in sorted(picks.regions)],
        topic_names=[names.get(t, t) for t in sorted(picks.topics)],
        digest=digest,
        rendered=rendered,
        verdicts=verdicts,
        skip=skip,
        paused_until=sub.paused_until,
    )


def check_test_address(raw: str) -> str:
    """A single plain address, or InvalidAddress: no line breaks, no second recipient, ASCII only."""
    if not raw or len(raw) > 320 or any(ch in raw for ch in "\r\n\t\0,;<>\"'") or raw != raw.strip():
        raise InvalidAddress(f"{raw!r} is not a single email address")
    try:
        address = normalise_email(raw)
    except InvalidSubscriber as exc:
        raise InvalidAddress(str(exc)) from None
    if not address.isascii():
        raise InvalidAddress(f"{raw!r}: only plain ASCII addresses take a test send")
    return address


@dataclass(frozen=True)
class ComposedTest:
    message: EmailMessage
    sender: str
    to: str
    subject: str
    article_count: int


def compose_test_send(
    session: Session,
    issue: models.Issue,
    to: str,
    settings: Settings,
    regions: RegionIndex,
    env,
    *,
    subscriber_email: str | None = None,
) -> ComposedTest:
    """`subscriber_email`'s digest (or, without one, the whole issue) addressed to `to`, marked as a test."""
    address = check_test_address(to)
    ml = issue.list
    picks, name = Picks(), ""
    if subscriber_email:
        sub = subscription_by_email(session, ml, subscriber_email)
        picks, name = picks_of(sub), sub.subscriber.name
    _, digest = _digest(session, issue, picks, regions)
    if digest.article_count == 0:
        raise NotFound("no article of this issue matches those picks: there is nothing to send")
    # Links are signed for no subscriber (id 0): whoever gets a test copy cannot change anyone's subscription.
    recipient = _recipient(settings, ml, issue, email=address, name=name, subscriber_id=0)
    rendered = render_digest(digest, recipient, env)
    mark = TEST_MARK.get(ml.language, TEST_MARK["en"])
    rendered = RenderedDigest(f"{mark} {rendered.subject}", rendered.html, rendered.text)
    info = list_info(ml)
    message = build_message(
        rendered,
        list_info=info,
        recipient=recipient,
        list_id_domain=settings.link_domain,
        message_id=make_msgid(domain=settings.link_domain),
        date=settings.clock.now().replace(microsecond=0),
        extra_headers={"X-Digest-Test": "yes"},
    )
    return ComposedTest(message, info.sender_email, address, rendered.subject, digest.article_count)


def deliver_test(test: ComposedTest, settings: Settings) -> str:
    """Sends a test message over the configured transport; returns where it went. Raises DeliveryError."""
    with open_transport(settings.smtp_url, settings.outbox) as transport:
        return transport.send(test.message, sender=test.sender, recipient=test.to).where


# "Send now" without a broker runs in a thread of the web process; one per issue at a time.
_running: dict[int, threading.Thread] = {}
_running_lock = threading.Lock()


def start_now(session: Session, issue: models.Issue) -> int:
    """What `digest send` does first: every confirmed subscriber gets a row due now. Returns the open rows."""
    start_issue(session, issue)
    return (
        session.scalar(
            select(func.count())
            .select_from(models.Delivery)
            .where(models.Delivery.issue_id == issue.id, models.Delivery.status == "pending")
        )
        or 0
    )


def deliver_now(factory: sessionmaker[Session], issue_id: int, settings: Settings, regions: RegionIndex, env) -> str:
    """After `start_now` committed: hand the rows to the workers (broker) or send them in a background thread.

    Returns "queued" (the workers have them), "background" (a thread sends them) or
    "running" (a thread of this process is already sending this issue).
    """
    if settings.broker_url:
        from digest.services.sendrun import dispatch_issue

        dispatch_issue(settings.broker_url, factory, issue_id, clock=settings.clock)
        return "queued"
    from digest.services.sending import send_pending

    def run() -> None:
        try:
            with open_transport(settings.smtp_url, settings.outbox) as transport:
                report = send_pending(factory, issue_id, transport, settings, regions, env)
            if report.halted:
                log.error("issue %s: sending stopped, no delivery marked failed: %s", issue_id, report.halted)
        except Exception:
            log.exception("issue %s: sending stopped; the rows it held are pending again", issue_id)
        finally:
            with _running_lock:
                _running.pop(issue_id, None)

    with _running_lock:
        if issue_id in _running:
            return "running"
        thread = _running[issue_id] = threading.Thread(target=run, name=f"send-issue-{issue_id}", daemon=True)
    thread.start()
    return "background"


def background_send(issue_id: int) -> threading.Thread | None:
    """The thread sending `issue_id` in this process, if any (tests join it)."""
    with _running_lock:
        return _running.get(issue_id)
