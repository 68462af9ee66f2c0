"""Planning and starting an issue by hand, and what its ledger says afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.statuses import DeliveryStatus, SubscriptionStatus
from digest.services.delivery.sender import SendReport
from digest.services.delivery.skips import reason_text
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import get_list

if TYPE_CHECKING:
    from digest.services.runtime import Runtime


def start_now(session: Session, issue: models.Issue) -> int:
    """Every confirmed subscriber gets a row due now. Returns the rows waiting to go."""
    start_issue(session, issue)
    return (
        session.scalar(
            select(func.count())
            .select_from(models.Delivery)
            .where(models.Delivery.issue_id == issue.id, models.Delivery.status == DeliveryStatus.PENDING)
        )
        or 0
    )


def would_send(session: Session, issue: models.Issue) -> int:
    """How many readers "send now" would reach: the rows waiting, and every confirmed subscriber with no row yet
    (on an issue already sent, the readers who have not had it). Asked before the console sends."""
    d, sub = models.Delivery, models.Subscription
    waiting = session.scalar(
        select(func.count()).select_from(d).where(d.issue_id == issue.id, d.status == DeliveryStatus.PENDING)
    )
    has_row = select(d.id).where(d.issue_id == issue.id, d.subscriber_id == sub.subscriber_id).exists()
    newcomers = session.scalar(
        select(func.count())
        .select_from(sub)
        .where(sub.list_id == issue.list_id, sub.status == SubscriptionStatus.CONFIRMED, ~has_row)
    )
    return (waiting or 0) + (newcomers or 0)


def would_cancel(session: Session, issue: models.Issue) -> int:
    """How many deliveries cancelling would skip for good: those not yet handed to the mail server."""
    d = models.Delivery
    unsent = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED)
    return session.scalar(select(func.count()).select_from(d).where(d.issue_id == issue.id, d.status.in_(unsent))) or 0


def plan_and_start(runtime: Runtime, list_slug: str | None, period_end: date) -> tuple[int, int]:
    """What `digest send` does first: the week's issue (planned once), started now. (issue id, rows waiting)."""
    with runtime.transaction() as session:
        issue = plan_issue(session, get_list(session, list_slug), period_end)
        return issue.id, start_now(session, issue)


@dataclass
class LedgerLine:
    email: str
    name: str
    status: str
    articles: int
    detail: str  # where the message lies, or why it was not sent


@dataclass
class SendResult:
    issue_number: int
    period_start: date
    period_end: date
    report: SendReport
    lines: list[LedgerLine]


def ledger_result(runtime: Runtime, issue_id: int, report: SendReport) -> SendResult:
    """A run's report with every row of the issue as the ledger now has it."""
    with runtime.transaction() as session:
        issue = cast(models.Issue, session.get(models.Issue, issue_id))
        rows = session.execute(
            select(models.Delivery, models.Subscriber)
            .join(models.Subscriber, models.Delivery.subscriber_id == models.Subscriber.id)
            .where(models.Delivery.issue_id == issue_id)
            .order_by(models.Delivery.id)
        ).all()
        lines = [
            LedgerLine(
                email=s.email,
                name=s.name,
                status=d.status,
                articles=d.article_count,
                detail=(d.location or "")
                if d.status == DeliveryStatus.SENT
                else (reason_text(d.reason) or d.last_error or ""),
            )
            for d, s in rows
        ]
        return SendResult(issue.number, issue.period_start, issue.period_end, report, lines)


def handed_to_workers(issue_id: int, queued: int, period_end: date) -> SendResult:
    """A run whose rows went to the workers: no table yet, only how many."""
    return SendResult(0, period_end, period_end, SendReport(issue_id, {DeliveryStatus.QUEUED: queued}), [])
