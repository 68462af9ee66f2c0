"""The sender page's figures, as plain data: bounce and complaint rates per issue and per week against the
mailbox providers' thresholds, the mail nobody could read, and how each inbound source is doing.

Counting stays cheap however long the ledger grows: the per-issue figures read ix_deliveries_issue_status and
ix_mail_events_issue_kind for the few issues shown, grouped by the database; the weekly ones read only the
deliveries of issues still going out or finished within the weeks shown, and the events by their date's index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import LargeBinary, String, case, cast, distinct, func, literal, or_, select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.bounces.events import EventKind
from digest.core.schedule import zone
from digest.core.statuses import DeliveryStatus, IssueStatus
from digest.services import NotFound

# Gmail's email sender guidelines (https://support.google.com/a/answer/81126, enforced for bulk senders since
# February 2024) and Yahoo's sender best practices (https://senders.yahooinc.com/best-practices/), which share
# the figure: keep the spam complaint rate below 0.1 %, and never let it reach 0.3 %.
COMPLAINT_RATE_TARGET = 0.001
COMPLAINT_RATE_LIMIT = 0.003
# Neither Gmail nor Yahoo publishes a bounce rate; they ask for valid recipients and act on reputation. 2 % is a
# warning level widely used in industry practice (sending services warn around it) — our choice, not a rule of
# any provider.
BOUNCE_RATE_WARNING = 0.02

# The bounce mailbox is polled by the beat every DIGEST_BOUNCE_POLL_SECONDS (2 minutes); three missed polls in a row
# mean the poll is not running (or not finishing), not a slow mailbox.
POLL_INTERVAL = timedelta(minutes=2)  # DIGEST_BOUNCE_POLL_SECONDS's default; callers pass the setting
STALE_AFTER_POLLS = 3
RAW_SHOWN = 200 * 1024  # what the console shows of a mail's raw source
LEFT = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED)  # copies that left: a server took them or refused them
_KINDS = {
    EventKind.HARD_BOUNCE: "hard_bounces",
    EventKind.SOFT_BOUNCE: "soft_bounces",
    EventKind.COMPLAINT: "complaints",
    EventKind.UNSUBSCRIBE: "unsubscribes",
    EventKind.AUTO_REPLY: "auto_replies",
}


def _at_or_over(count: int, sent: int, threshold: float) -> bool:
    # Exact: 3 complaints in 1,000 copies is at 0.3 %, whatever binary floats make of it.
    return sent > 0 and Fraction(count, sent) >= Fraction(str(threshold))


@dataclass(frozen=True)
class Figures:
    """What came of the copies that left in one issue or one week. Each event kind counts recipients: the same
    bounce reported by the mailbox and by a webhook counts once."""

    sent: int = 0  # deliveries sent or refused during the send
    refused: int = 0  # refused during the send (status "bounced")
    hard_bounces: int = 0  # came back later, permanent
    soft_bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0  # by mail to the List-Unsubscribe address
    auto_replies: int = 0

    @property
    def bounces(self) -> int:
        return self.hard_bounces + self.refused

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.sent if self.sent else None

    @property
    def bounce_over_warning(self) -> bool:
        return _at_or_over(self.bounces, self.sent, BOUNCE_RATE_WARNING)

    @property
    def complaint_over_target(self) -> bool:
        return _at_or_over(self.complaints, self.sent, COMPLAINT_RATE_TARGET)

    @property
    def complaint_over_limit(self) -> bool:
        return _at_or_over(self.complaints, self.sent, COMPLAINT_RATE_LIMIT)

    def as_dict(self) -> dict[str, Any]:
        names = ("bounces", "bounce_rate", "complaint_rate", "bounce_over_warning")
        flags = ("complaint_over_target", "complaint_over_limit")
        return {**self.__dict__, **{n: getattr(self, n) for n in (*names, *flags)}}


@dataclass(frozen=True)
class IssueRates:
    issue_id: int
    list_slug: str
    list_name: str
    number: int
    period_end: date
    figures: Figures


@dataclass(frozen=True)
class WeekRates:
    week: str  # ISO 8601: "2026-W48"
    starts: datetime  # Monday 00:00 in the zone the weeks were counted in
    figures: Figures


@dataclass(frozen=True)
class SenderReport:
    issues: list[IssueRates]  # newest first
    weeks: list[WeekRates]  # newest first
    time_zone: str  # the weeks'
    thresholds: dict[str, float] = field(
        default_factory=lambda: {
            "complaint_rate_target": COMPLAINT_RATE_TARGET,
            "complaint_rate_limit": COMPLAINT_RATE_LIMIT,
            "bounce_rate_warning": BOUNCE_RATE_WARNING,
        }
    )


def _recipient():
    """Who an event is about, per issue: its address, else the event itself (counted alone)."""
    row = models.MailEventRow
    who = func.coalesce(func.lower(row.email), literal("#").concat(cast(row.id, String)))
    return func.coalesce(cast(row.issue_id, String), literal("")).concat(":").concat(who)


def _figures(left: dict[str, int], events: dict[str, int]) -> Figures:
    return Figures(
        sent=left.get(DeliveryStatus.SENT, 0) + left.get(DeliveryStatus.BOUNCED, 0),
        refused=left.get(DeliveryStatus.BOUNCED, 0),
        **{name: events.get(kind, 0) for kind, name in _KINDS.items()},
    )


def issue_rates(session: Session, list_id: int | None = None, *, issues: int = 12) -> list[IssueRates]:
    """The last `issues` issues that went out (of one list, or of all), newest first."""
    issue, ml = models.Issue, models.MailingList
    query = (
        select(issue.id, issue.number, issue.period_end, ml.slug, ml.name)
        .join(ml, ml.id == issue.list_id)
        .where(issue.status != IssueStatus.PLANNED)
        .order_by(issue.period_end.desc(), issue.id.desc())
        .limit(issues)
    )
    if list_id is not None:
        query = query.where(issue.list_id == list_id)
    recent = session.execute(query).all()
    ids = [r.id for r in recent]
    left: dict[int, dict[str, int]] = {i: {} for i in ids}
    events: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        delivery = models.Delivery
        for issue_id, status, n in session.execute(
            select(delivery.issue_id, delivery.status, func.count())
            .where(delivery.issue_id.in_(ids), delivery.status.in_(LEFT))
            .group_by(delivery.issue_id, delivery.status)
        ):
            left[issue_id][status] = n
        event = models.MailEventRow
        for about, kind, n in session.execute(
            select(event.issue_id, event.kind, func.count(distinct(_recipient())))
            .where(event.issue_id.in_(ids))
            .group_by(event.issue_id, event.kind)
        ):
            if about is not None:  # always, by the query; the column may hold none
                events[about][kind] = n
    return [
        IssueRates(r.id, r.slug, r.name, r.number, r.period_end, _figures(left[r.id], events[r.id])) for r in recent
    ]


def _week_starts(now: datetime, time_zone: str, weeks: int) -> list[datetime]:
    """Mondays 00:00 in `time_zone` of the last `weeks` weeks, oldest first, and the Monday after them."""
    tz = zone(time_zone)
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=k) for k in range(weeks - 1, -2, -1)]
    return [datetime.combine(d, time.min, tz) for d in days]


def _week_of(column, bounds: list[datetime]):
    return case(*((column < bounds[k + 1], k) for k in range(len(bounds) - 1)), else_=len(bounds) - 1)


def _left_by_week(session: Session, issue_ids: list[int], bounds: list[datetime]) -> list[dict[str, int]]:
    left: list[dict[str, int]] = [{} for _ in bounds[1:]]
    if not issue_ids:
        return left
    delivery = models.Delivery
    at = func.coalesce(delivery.sent_at, delivery.updated_at)  # a refused copy has no sent_at
    inner = (
        select(_week_of(at, bounds).label("week"), delivery.status.label("status"))
        .where(delivery.issue_id.in_(issue_ids), delivery.status.in_(LEFT), at >= bounds[0], at < bounds[-1])
        .subquery()
    )
    for week, status, n in session.execute(
        select(inner.c.week, inner.c.status, func.count()).group_by(inner.c.week, inner.c.status)
    ):
        left[week][status] = n
    return left


def _events_by_week(session: Session, list_id: int | None, bounds: list[datetime]) -> list[dict[str, int]]:
    events: list[dict[str, int]] = [{} for _ in bounds[1:]]
    event = models.MailEventRow
    query = select(_week_of(event.created_at, bounds).label("week"), event.kind, _recipient().label("who")).where(
        event.created_at >= bounds[0], event.created_at < bounds[-1]
    )
    if list_id is not None:
        query = query.where(event.list_id == list_id)
    inner = query.subquery()
    for week, kind, n in session.execute(
        select(inner.c.week, inner.c.kind, func.count(distinct(inner.c.who))).group_by(inner.c.week, inner.c.kind)
    ):
        events[week][kind] = n
    return events


def week_rates(
    session: Session, now: datetime, *, list_id: int | None = None, time_zone: str = "UTC", weeks: int = 12
) -> list[WeekRates]:
    """The last `weeks` ISO weeks (Monday to Sunday in `time_zone`), newest first: copies by when they left
    (a refused one by when it was refused), events by when they were recorded."""
    bounds = _week_starts(now, time_zone, weeks)
    issue = models.Issue
    # Only issues that can have copies leaving in these weeks: the ledger has no index by date, and needs none.
    active = select(issue.id).where(
        issue.status != IssueStatus.PLANNED, or_(issue.finished_at.is_(None), issue.finished_at >= bounds[0])
    )
    if list_id is not None:
        active = active.where(issue.list_id == list_id)
    left = _left_by_week(session, list(session.scalars(active)), bounds)
    events = _events_by_week(session, list_id, bounds)
    rows = []
    for k in range(weeks):
        year, number, _ = bounds[k].date().isocalendar()
        rows.append(WeekRates(f"{year}-W{number:02d}", bounds[k], _figures(left[k], events[k])))
    return rows[::-1]


def sender_report(
    session: Session, now: datetime, *, list_id: int | None = None, time_zone: str = "UTC", issues: int = 12
) -> SenderReport:
    return SenderReport(
        issues=issue_rates(session, list_id, issues=issues),
        weeks=week_rates(session, now, list_id=list_id, time_zone=time_zone),
        time_zone=time_zone,
    )


@dataclass(frozen=True)
class SourceHealth:
    """One inbound source (the bounce mailbox, a provider's webhook) and whether someone should look at it."""

    name: str
    is_mailbox: bool
    last_seen_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    counts: dict[str, int]
    runs: int
    stale: bool  # the mailbox: not polled for STALE_AFTER_POLLS poll intervals (or never)
    erroring: bool  # its last error is newer than its last success

    @property
    def healthy(self) -> bool:
        return not (self.stale or self.erroring)


def is_mailbox(name: str) -> bool:
    return name == "mailbox" or name.startswith("mailbox:")


def sources_health(
    session: Session, now: datetime, *, expected: Iterable[str] = (), poll_interval: timedelta = POLL_INTERVAL
) -> list[SourceHealth]:
    """Every source that has reported, and those `expected` (a configured mailbox) that never did, by name."""
    rows = {r.name: r for r in session.scalars(select(models.LoopSource))}
    stale_after = poll_interval * STALE_AFTER_POLLS
    health = []
    for name in sorted(set(rows) | set(expected)):
        row = rows.get(name) or models.LoopSource(name=name, counts={}, runs=0)
        seen, ok, failed = row.last_seen_at, row.last_ok_at, row.last_error_at
        health.append(
            SourceHealth(
                name=name,
                is_mailbox=is_mailbox(name),
                last_seen_at=seen,
                last_ok_at=ok,
                last_error=row.last_error,
                last_error_at=failed,
                counts={str(k): int(v) for k, v in (row.counts or {}).items()},
                runs=row.runs or 0,
                stale=is_mailbox(name) and (seen is None or now - seen > stale_after),
                erroring=failed is not None and (ok is None or failed > ok),
            )
        )
    return health


@dataclass(frozen=True)
class UnparsedMail:
    id: int
    mailbox: str
    ref: str
    sender: str
    subject: str
    why: str
    received_at: datetime
    size: int  # bytes of its raw source
    dismissed_at: datetime | None


@dataclass(frozen=True)
class RawMail:
    """A mail's raw source as text, cut to what the console shows: attacker's text, to be escaped."""

    mail: UnparsedMail
    text: str
    cut: bool  # the source is longer than `text`


def _unparsed_columns():
    row = models.InboundMail
    size = func.length(row.raw).label("size")
    return (row.id, row.mailbox, row.ref, row.sender, row.subject, row.why, row.received_at, size, row.dismissed_at)


def unparsed_mails(session: Session, *, limit: int = 50, offset: int = 0) -> tuple[list[UnparsedMail], int]:
    """The mail nobody could read and nobody has dealt with yet, newest first, and how many there are."""
    row = models.InboundMail
    waiting = row.dismissed_at.is_(None)
    total = session.scalar(select(func.count()).select_from(row).where(waiting)) or 0
    found = session.execute(
        select(*_unparsed_columns())
        .where(waiting)
        .order_by(row.received_at.desc(), row.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [UnparsedMail(*r) for r in found], total


def unparsed_mail(session: Session, mail_id: int, *, shown: int = RAW_SHOWN) -> RawMail:
    """One such mail (dismissed or not) with the first `shown` bytes of its source; NotFound when none."""
    row = models.InboundMail
    # Only the part shown leaves the database: a mail of 50 MB costs what one of 200 KB does.
    head = func.substr(row.raw, 1, shown, type_=LargeBinary).label("head")
    found = session.execute(select(*_unparsed_columns(), head).where(row.id == mail_id)).one_or_none()
    if found is None:
        raise NotFound(f"no unparsed mail {mail_id}")
    mail = UnparsedMail(*found[:-1])
    text = bytes(found.head).decode("utf-8", errors="replace")
    return RawMail(mail, text, cut=mail.size > shown)


def dismiss_inbound_mail(session: Session, mail_id: int, now: datetime) -> bool:
    """Marks the mail dealt with (it leaves the list); False when it was already. NotFound when none."""
    row = session.get(models.InboundMail, mail_id)
    if row is None:
        raise NotFound(f"no unparsed mail {mail_id}")
    if row.dismissed_at is not None:
        return False
    row.dismissed_at = now
    session.flush()
    return True
