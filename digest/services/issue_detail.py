"""One issue at a glance: its figures, the list's issues with theirs, its delivery log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.statuses import FINISHED_ISSUE, DeliveryStatus
from digest.services import NotFound
from digest.services.issues import PUBLISHED
from digest.services.kept import KeptFigures
from digest.services.paging import FIRST_PAGE, Cursor, keyset_page


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


def issue_for_viewer(session: Session, issue_id: int, list_id: int, subscriber_id: int) -> models.Issue:
    """The issue a subscriber's "view in browser" link may open: one of their list's that went out to them
    (their delivery sent) or went out at all (sending or sent). NotFound otherwise: a planned, paused or
    cancelled issue is not yet anyone's to read, whatever their link's signature."""
    issue = session.get(models.Issue, issue_id)
    if issue is None or issue.list_id != list_id:
        raise NotFound(f"no issue with id {issue_id}")
    if issue.status in PUBLISHED:
        return issue
    sent_to_them = session.scalar(
        select(models.Delivery.id).where(
            models.Delivery.issue_id == issue_id,
            models.Delivery.subscriber_id == subscriber_id,
            models.Delivery.status == DeliveryStatus.SENT,
        )
    )
    if sent_to_them is None:
        raise NotFound(f"issue {issue_id} was not sent to this subscriber")
    return issue


# An issue's ledger is counted on every request up to this many rows. Past it the counts (150 ms and more at
# a million) are kept: a few seconds while the issue may still move, an hour once it is finished, whose rows
# change only when it is reopened, which changes its status and so the key.
LIVE_LEDGER_ROWS = 10_000
MOVING_FRESH_FOR = timedelta(seconds=10)
FINISHED_FRESH_FOR = timedelta(hours=1)


def _kept_key(session: Session, issue: models.Issue) -> tuple[object, ...]:
    return ("ledger", str(session.get_bind().engine.url), issue.id, issue.created_at, issue.status, issue.finished_at)


def issue_counts(
    session: Session, issues: Sequence[models.Issue], kept: KeptFigures | None = None
) -> dict[int, dict[str, int]]:
    """{issue id: {status: rows}}, in one grouped query for those whose counts are not kept."""
    counts: dict[int, dict[str, int]] = {}
    missing = []
    for issue in issues:
        fresh_for = FINISHED_FRESH_FOR if issue.status in FINISHED_ISSUE else MOVING_FRESH_FOR
        found = kept.fresh(_kept_key(session, issue), fresh_for) if kept is not None else None
        if found is not None:
            counts[issue.id] = found[0]
        else:
            counts[issue.id] = {}
            missing.append(issue)
    if missing:
        for issue_id, st, n in session.execute(
            select(models.Delivery.issue_id, models.Delivery.status, func.count())
            .where(models.Delivery.issue_id.in_([i.id for i in missing]))
            .group_by(models.Delivery.issue_id, models.Delivery.status)
        ):
            counts[issue_id][st] = n
        for issue in missing:
            if kept is not None and sum(counts[issue.id].values()) > LIVE_LEDGER_ROWS:
                kept.keep(_kept_key(session, issue), counts[issue.id])
    return counts


def summary_of(
    session: Session, issue: models.Issue, counts: dict[str, int] | None = None, *, kept: KeptFigures | None = None
) -> IssueSummary:
    """The issue with its ledger's counts (given, kept in `kept`, or counted now)."""
    if counts is None:
        counts = issue_counts(session, [issue], kept)[issue.id]
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
        counts,
    )


def issue_summaries(
    session: Session,
    ml: models.MailingList,
    *,
    status: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
    kept: KeptFigures | None = None,
) -> tuple[int, list[IssueSummary]]:
    """The list's issues, newest first, each with its ledger counts (one grouped query for all)."""
    where = [models.Issue.list_id == ml.id] + ([models.Issue.status == status] if status else [])
    total = session.scalar(select(func.count()).select_from(models.Issue).where(*where)) or 0
    issues = session.scalars(
        select(models.Issue).where(*where).order_by(models.Issue.period_end.desc()).limit(limit).offset(offset)
    ).all()
    counts = issue_counts(session, issues, kept)
    return total, [summary_of(session, i, counts[i.id]) for i in issues]


@dataclass(frozen=True)
class LogRow:
    id: int
    email: str
    name: str
    status: str
    attempts: int
    articles: int
    reason: str | None
    last_error: str | None
    sent_at: datetime | None
    message_id: str | None
    due_at: datetime | None
    location: str | None


def issue_by_number(session: Session, ml: models.MailingList, number: int) -> models.Issue:
    issue = session.scalar(select(models.Issue).where(models.Issue.list_id == ml.id, models.Issue.number == number))
    if issue is None:
        raise NotFound(f"list {ml.slug} has no issue number {number}")
    return issue


def _log_rows(issue_id: int, status: str | None) -> Select[*tuple[Any, ...]]:
    d, s = models.Delivery, models.Subscriber
    where = [d.issue_id == issue_id] + ([d.status == status] if status else [])
    columns = (d.id, s.email, s.name, d.status, d.attempts, d.article_count, d.reason, d.last_error, d.sent_at)
    return select(*columns, d.message_id, d.due_at, d.location).join(s, s.id == d.subscriber_id).where(*where)


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    next_after: int | None  # a delivery id: the next page's cursor, None on the last page
    prev_before: int | None  # the page before's cursor, None on the first page


def delivery_log(session: Session, issue_id: int, *, status: str | None = None, cursor: Cursor = FIRST_PAGE) -> LogPage:
    """A page of the issue's deliveries in the order they were queued. Not counted: the issue's figures
    (`delivery_counts`) say how many there are of each status."""
    found = keyset_page(session, _log_rows(issue_id, status), models.Delivery.id, cursor, newest_first=False)
    return LogPage([LogRow(*tuple(r)) for r in found.rows], found.next_after, found.prev_before)


def stream_delivery_log(session: Session, issue_id: int) -> Iterator[LogRow]:
    """All of the issue's deliveries, read a chunk at a time: a million rows never sit in memory at once."""
    rows = _log_rows(issue_id, None).order_by(models.Delivery.id)
    for row in session.execute(rows.execution_options(yield_per=1000)):
        yield LogRow(*row)
