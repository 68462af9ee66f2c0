"""Issues and their ledger rows: plan, queue, sweep, pause, resume, cancel, finish.

A delivery row moves pending → queued (handed to a batch) → sending (its message
is on the wire) → sent | skipped | suppressed | bounced | failed. Every step is a
conditional UPDATE, so two planners, two dispatchers or a redelivered task can
never both move the same row, and whatever a dead worker held comes back to
pending when its lease runs out (see sweep_stale).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.clock import SYSTEM_CLOCK, wall_now
from digest.core.schedule import Slot, latest_slot_date, period_end_for
from digest.core.settings import DEFAULT_LEASE
from digest.core.statuses import FINISHED_ISSUE, OPEN_DELIVERY, DeliveryStatus, IssueStatus
from digest.services.articles import period_bounds
from digest.services.catch_up import let_pass
from digest.services.delivery.skips import CANCELLED
from digest.services.enqueue import enqueue_deliveries

# A row queued for a batch that no batch has taken yet (its task waits in the broker) goes back
# after this, unless the broker says nothing waits: then its task is lost (a broker restart) and
# it goes back after the ordinary lease. Rows a batch holds go back after the lease (settings).
QUEUE_LEASE = timedelta(minutes=10)


class IssueStateError(ValueError):
    """A pause, resume or cancel that the issue's state does not allow."""


def utcnow() -> datetime:
    """For callers that pass no `now`; the CLI, the workers and the web pass their settings' clock's."""
    return SYSTEM_CLOCK.now()


def plan_issue(session: Session, ml: models.MailingList, period_end: date) -> models.Issue:
    """The issue of `ml` for the week ending `period_end`, created once however many ask."""
    query = select(models.Issue).where(models.Issue.list_id == ml.id, models.Issue.period_end == period_end)
    issue = session.scalar(query)
    if issue is not None:
        return issue
    period_start, _, _ = period_bounds(period_end)
    number = (session.scalar(select(func.max(models.Issue.number)).where(models.Issue.list_id == ml.id)) or 0) + 1
    try:
        with session.begin_nested():
            issue = models.Issue(list_id=ml.id, number=number, period_start=period_start, period_end=period_end)
            session.add(issue)
    except IntegrityError:
        # Another planner created it between our look and our insert: theirs is the one.
        issue = cast(models.Issue, session.scalar(query))  # found: the insert clashed with it
    return issue


def list_slot(ml: models.MailingList) -> Slot:
    hours, minutes = (int(x) for x in ml.send_time.split(":"))
    return Slot(ml.send_weekday, time(hours, minutes), ml.time_zone)


def plan_due_issues(session: Session, now: datetime | None = None) -> list[int]:
    """For every scheduled list, the issue of its latest due slot, planned and started once.

    Only the latest slot is looked at: a missed tick is caught up once, and a
    week the scheduler slept through entirely is not sent late. A slot found later
    than the list's catch-up window is not sent at all (catch_up.let_pass).
    """
    now = now or utcnow()
    started = []
    for ml in session.scalars(select(models.MailingList).where(models.MailingList.schedule_enabled.is_(True))):
        slot = list_slot(ml)
        slot_date = latest_slot_date(slot, now)
        period_end = period_end_for(slot_date)
        existing = session.scalar(
            select(models.Issue).where(models.Issue.list_id == ml.id, models.Issue.period_end == period_end)
        )
        if existing is not None and existing.status != IssueStatus.PLANNED:
            continue
        if let_pass(ml, slot, slot_date, now):
            continue
        issue = plan_issue(session, ml, period_end)
        # Only the planner that moves it out of "planned" fills the ledger.
        moved = session.execute(
            update(models.Issue)
            .where(models.Issue.id == issue.id, models.Issue.status == IssueStatus.PLANNED)
            .values(status=IssueStatus.SENDING)
        ).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed Result
        if moved:
            enqueue_deliveries(session, issue, slot)
            started.append(issue.id)
    return started


def start_issue(session: Session, issue: models.Issue) -> None:
    """`digest send`: everything due now, whatever the schedule says."""
    if issue.status in (IssueStatus.PAUSED, IssueStatus.CANCELLED):
        raise IssueStateError(
            f"issue {issue.number} is {issue.status}; resume it first"
            if issue.status == IssueStatus.PAUSED
            else f"issue {issue.number} was cancelled"
        )
    enqueue_deliveries(session, issue)
    issue.status = IssueStatus.SENDING


def claim_due(
    session: Session,
    *,
    limit: int,
    now: datetime | None = None,
    issue_id: int | None = None,
    respect_backoff: bool = True,
) -> dict[int, list[int]]:
    """Move up to `limit` due pending rows of sending issues to `queued`; {issue_id: [delivery ids]}.

    FOR UPDATE SKIP LOCKED lets several dispatchers run at once on PostgreSQL
    without taking the same rows; SQLite serialises writers anyway.
    """
    now = now or utcnow()
    conditions = [
        models.Delivery.status == DeliveryStatus.PENDING,
        or_(models.Delivery.due_at.is_(None), models.Delivery.due_at <= now),
        models.Issue.status == IssueStatus.SENDING,
    ]
    if respect_backoff:
        conditions.append(or_(models.Delivery.next_attempt_at.is_(None), models.Delivery.next_attempt_at <= now))
    if issue_id is not None:
        conditions.append(models.Delivery.issue_id == issue_id)
    rows = session.execute(
        select(models.Delivery.id, models.Delivery.issue_id)
        .join(models.Issue, models.Issue.id == models.Delivery.issue_id)
        .where(and_(*conditions))
        .order_by(models.Delivery.due_at, models.Delivery.id)
        .limit(limit)
        .with_for_update(of=models.Delivery, skip_locked=True)
    ).all()
    if not rows:
        return {}
    ids = [r.id for r in rows]
    session.execute(
        update(models.Delivery)
        .where(among(session, models.Delivery.id, ids), models.Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.QUEUED, held_by=None, updated_at=now)
    )
    batches: dict[int, list[int]] = {}
    for r in rows:
        batches.setdefault(r.issue_id, []).append(r.id)
    return batches


def unclaim(session: Session, delivery_ids: list[int]) -> int:
    """Rows claimed for a batch that never reached the broker: back to pending now, not after the lease."""
    return (
        session.execute(
            update(models.Delivery)
            .where(among(session, models.Delivery.id, delivery_ids), models.Delivery.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.PENDING, held_by=None)
        ).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed Result
        or 0
    )


def sweep_stale(
    session: Session, now: datetime | None = None, *, lease: timedelta = DEFAULT_LEASE, queue_idle: bool = False
) -> int:
    """Rows a dead batch held go back to pending: held (or sending) and not renewed for `lease`.

    A live batch renews its rows every heartbeat, so only a dead one's run out. A row
    that was `sending` may have reached the server: sending it again is the one double
    the ledger allows, named by its attempts. Rows never taken wait in the broker: they
    go back after QUEUE_LEASE, or after `lease` when `queue_idle` (their task was lost).
    """
    now = now or utcnow()
    d = models.Delivery
    dead = and_(or_(d.held_by.is_not(None), d.status == DeliveryStatus.SENDING), d.updated_at < now - lease)
    never_taken = and_(d.held_by.is_(None), d.updated_at < now - (lease if queue_idle else QUEUE_LEASE))
    result = session.execute(
        update(d)
        .where(d.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.SENDING)), or_(dead, never_taken))
        .values(
            status=DeliveryStatus.PENDING,
            held_by=None,
            last_error="returned to the queue: its worker stopped",
            updated_at=now,
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed Result


def finish_if_done(session: Session, issue_id: int, *, now: datetime | None = None) -> bool:
    """An issue is sent only when no row is pending, queued or in flight."""
    open_rows = session.scalar(
        select(func.count())
        .select_from(models.Delivery)
        .where(models.Delivery.issue_id == issue_id, models.Delivery.status.in_(OPEN_DELIVERY))
    )
    if open_rows:
        return False
    moved = session.execute(
        update(models.Issue)
        .where(models.Issue.id == issue_id, models.Issue.status == IssueStatus.SENDING)
        .values(status=IssueStatus.SENT, finished_at=now or utcnow())
    ).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed Result
    return bool(moved)


def finish_sending_issues(session: Session, *, now: datetime | None = None) -> list[int]:
    ids = session.scalars(select(models.Issue.id).where(models.Issue.status == IssueStatus.SENDING)).all()
    return [i for i in ids if finish_if_done(session, i, now=now)]


def pause_issue(session: Session, issue: models.Issue) -> None:
    if issue.status not in (IssueStatus.PLANNED, IssueStatus.SENDING):
        raise IssueStateError(f"issue {issue.number} is {issue.status}: only a planned or sending issue pauses")
    issue.status = IssueStatus.PAUSED


def resume_issue(session: Session, issue: models.Issue) -> None:
    if issue.status != IssueStatus.PAUSED:
        raise IssueStateError(f"issue {issue.number} is {issue.status}, not paused")
    issue.status = IssueStatus.SENDING
    # Rows a batch had queued before the pause go straight back to the queue.
    session.execute(
        update(models.Delivery)
        .where(models.Delivery.issue_id == issue.id, models.Delivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.PENDING)
    )


def cancel_issue(session: Session, issue: models.Issue) -> int:
    """Stop the issue for good: rows not yet on the wire are skipped; returns how many."""
    if issue.status in FINISHED_ISSUE:
        raise IssueStateError(f"issue {issue.number} is already {issue.status}")
    issue.status = IssueStatus.CANCELLED
    # When someone pressed cancel, like the rows' created_at: a record of the real time, not a decision.
    issue.finished_at = wall_now()
    return (
        session.execute(
            update(models.Delivery)
            .where(
                models.Delivery.issue_id == issue.id,
                models.Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.QUEUED)),
            )
            .values(status=DeliveryStatus.SKIPPED, reason=CANCELLED)
        ).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed Result
        or 0
    )


def delivery_counts(session: Session, issue_id: int) -> dict[str, int]:
    rows = session.execute(
        select(models.Delivery.status, func.count())
        .where(models.Delivery.issue_id == issue_id)
        .group_by(models.Delivery.status)
    ).all()
    return {status: n for status, n in rows}


# What a person may send again. `failed`: temporary failures ran out, or the subscriber's
# own data could not go into a message (fixed since, presumably). `bounced`: the server
# refused the address for good and it was suppressed; only rows whose address has been
# taken off the suppression list go again. Sent rows never do.
RETRYABLE = (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)


class RetryError(ValueError):
    """A retry of something that is not retryable, named with the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def retry_deliveries(
    session: Session, issue: models.Issue, status: str = DeliveryStatus.FAILED, *, now: datetime | None = None
) -> tuple[int, int]:
    """Rows of `issue` in `status` back to pending, due now; returns (reset, left because still suppressed).

    One conditional UPDATE: only rows still `status` move, so a row a worker holds
    (queued, sending) or has sent is never touched, and two retries at once reset each row once.
    A finished issue goes back to sending so the rows are handed out; a paused one stays
    paused (the rows go when it resumes). A cancelled issue cannot be retried.
    """
    if status not in RETRYABLE:
        raise RetryError("status", f"only {' or '.join(RETRYABLE)} deliveries can be sent again, not {status!r}")
    if issue.status == IssueStatus.CANCELLED:
        raise IssueStateError(f"issue {issue.number} was cancelled: its deliveries cannot be sent again")
    d = models.Delivery
    where = [d.issue_id == issue.id, d.status == status]
    left = 0
    if status == DeliveryStatus.BOUNCED:
        suppressed = select(models.Subscriber.id).join(
            models.Suppression, models.Suppression.email == models.Subscriber.email
        )
        left = session.scalar(select(func.count()).select_from(d).where(*where, d.subscriber_id.in_(suppressed))) or 0
        where.append(d.subscriber_id.not_in(suppressed))
    now = now or utcnow()
    reset = (
        session.execute(
            update(d)
            .where(*where)
            .values(
                status=DeliveryStatus.PENDING,
                attempts=0,
                due_at=None,
                next_attempt_at=None,
                reason=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult; Session.execute is typed Result
        or 0
    )
    if reset:
        session.execute(
            update(models.Issue)
            .where(models.Issue.id == issue.id, models.Issue.status == IssueStatus.SENT)
            .values(status=IssueStatus.SENDING, finished_at=None)
            .execution_options(synchronize_session=False)
        )
        session.refresh(issue)
    return reset, left or 0


PUBLISHED = ("sending", "sent")  # issues the public archive shows


def issue_for_period(session: Session, ml: models.MailingList, period_end: date) -> models.Issue | None:
    """The list's issue for the week ending `period_end`, if one is planned."""
    return session.scalar(
        select(models.Issue).where(models.Issue.list_id == ml.id, models.Issue.period_end == period_end)
    )


def published_issues(session: Session, ml: models.MailingList) -> list[models.Issue]:
    """The archive: the list's issues that went out, newest first."""
    return list(
        session.scalars(
            select(models.Issue)
            .where(models.Issue.list_id == ml.id, models.Issue.status.in_(PUBLISHED))
            .order_by(models.Issue.number.desc())
        )
    )


def find_published_issue(session: Session, ml: models.MailingList, number: int) -> models.Issue | None:
    """Issue `number` of the list, if it went out; a planned or cancelled one is nobody's business yet."""
    return session.scalar(
        select(models.Issue).where(
            models.Issue.list_id == ml.id, models.Issue.number == number, models.Issue.status.in_(PUBLISHED)
        )
    )


def sent_article_ids(session: Session, issue_id: int, subscriber_id: int) -> list[int] | None:
    """The articles of the subscriber's copy of the issue if it was sent, else None."""
    return session.scalar(
        select(models.Delivery.article_ids).where(
            models.Delivery.issue_id == issue_id,
            models.Delivery.subscriber_id == subscriber_id,
            models.Delivery.status == DeliveryStatus.SENT,
        )
    )


def delivered_article_ids(session: Session, issue_id: int, subscriber_id: int) -> list[int] | None:
    """The articles the subscriber's copy of the issue held, or None when no copy was made for them."""
    return session.scalar(
        select(models.Delivery.article_ids).where(
            models.Delivery.issue_id == issue_id, models.Delivery.subscriber_id == subscriber_id
        )
    )
