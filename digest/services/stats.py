"""The dashboard's figures for one list, as plain data: subscribers, deliveries, provinces.

Each figure is one query (or one plus a small Python pass), so the front page
stays cheap however long the ledger grows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.core.domain import NATIONAL_CODE
from digest.core.regions import RegionIndex
from digest.core.schedule import zone
from digest.core.statuses import DeliveryStatus, IssueStatus, SubscriptionStatus
from digest.services.kept import KeptFigures
from digest.services.picks import ANY

# How the ledger's statuses fold into the delivery chart's series (named like statuses, but "waiting" is none).
DELIVERY_SERIES = ("sent", "failed", "bounced", "skipped", "waiting")
_SERIES_OF: dict[DeliveryStatus, str] = {
    DeliveryStatus.SENT: "sent",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.BOUNCED: "bounced",
    DeliveryStatus.SKIPPED: "skipped",
    DeliveryStatus.SUPPRESSED: "skipped",
    DeliveryStatus.PENDING: "waiting",
    DeliveryStatus.QUEUED: "waiting",
    DeliveryStatus.SENDING: "waiting",
}
EVERYWHERE = "*"  # the province chart's key for "no region picked"


@dataclass(frozen=True)
class Headline:
    confirmed: int
    pending: int
    unsubscribed: int
    issues_sent: int
    last_issue: int | None  # its number
    last_sent: int
    last_attempted: int  # sent + failed + bounced: the rows a server was asked to take

    @property
    def delivery_rate(self) -> float | None:
        return self.last_sent / self.last_attempted if self.last_attempted else None


@dataclass(frozen=True)
class WeekPoint:
    week_start: date
    confirmed: int  # confirmed subscribers at the end of that week (now, for the current week)


@dataclass(frozen=True)
class IssueBar:
    issue_id: int
    number: int
    period_end: date
    counts: dict[str, int]  # DELIVERY_SERIES → rows

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ProvinceCount:
    code: str  # a province's code, NATIONAL_CODE, or EVERYWHERE
    name: str
    subscribers: int


def headline(session: Session, ml: models.MailingList) -> Headline:
    by_status = dict(
        session.execute(
            select(models.Subscription.status, func.count())
            .where(models.Subscription.list_id == ml.id)
            .group_by(models.Subscription.status)
        ).all()
    )
    issues_sent = session.scalar(
        select(func.count())
        .select_from(models.Issue)
        .where(models.Issue.list_id == ml.id, models.Issue.status == IssueStatus.SENT)
    )
    # The newest issue that has gone out, or is going out: a planned one has nothing to rate yet.
    last = session.scalar(
        select(models.Issue)
        .where(models.Issue.list_id == ml.id, models.Issue.status != IssueStatus.PLANNED)
        .order_by(models.Issue.period_end.desc())
        .limit(1)
    )
    sent = attempted = 0
    if last is not None:
        counts = dict(
            session.execute(
                select(models.Delivery.status, func.count())
                .where(models.Delivery.issue_id == last.id)
                .group_by(models.Delivery.status)
            ).all()
        )
        sent = counts.get(DeliveryStatus.SENT, 0)
        attempted = sent + counts.get(DeliveryStatus.FAILED, 0) + counts.get(DeliveryStatus.BOUNCED, 0)
    return Headline(
        confirmed=by_status.get(SubscriptionStatus.CONFIRMED, 0),
        pending=by_status.get(SubscriptionStatus.PENDING, 0),
        unsubscribed=by_status.get(SubscriptionStatus.UNSUBSCRIBED, 0),
        issues_sent=issues_sent or 0,
        last_issue=last.number if last is not None else None,
        last_sent=sent,
        last_attempted=attempted,
    )


def subscriber_growth(
    session: Session, ml: models.MailingList, *, weeks: int = 26, now: datetime | None = None
) -> list[WeekPoint]:
    """Confirmed subscribers at the end of each of the last `weeks` weeks (Monday to Sunday, list time)."""
    # Counted from the subscriptions' stamps, which are real time (see digest/core/clock.py), so by the real time too.
    now = now or wall_now()
    tz = zone(ml.time_zone)
    this_monday = now.astimezone(tz).date() - timedelta(days=now.astimezone(tz).weekday())
    starts = [this_monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    ends = [min(datetime.combine(s + timedelta(days=7), time.min, tz), now) for s in starts]
    sub = models.Subscription
    since = func.coalesce(sub.confirmed_at, sub.created_at)
    # Everyone ever confirmed; each counts from their confirmation until they left.
    columns = [
        func.sum(
            case(
                (since <= end, case((or_(sub.unsubscribed_at.is_(None), sub.unsubscribed_at > end), 1), else_=0)),
                else_=0,
            )
        )
        for end in ends
    ]
    row = session.execute(
        select(*columns).where(
            sub.list_id == ml.id, or_(sub.confirmed_at.is_not(None), sub.status == SubscriptionStatus.CONFIRMED)
        )
    ).one()
    return [WeekPoint(s, int(v or 0)) for s, v in zip(starts, row, strict=True)]


def deliveries_per_issue(session: Session, ml: models.MailingList, *, issues: int = 12) -> list[IssueBar]:
    """The last `issues` issues, oldest first, with their ledger rows folded into DELIVERY_SERIES."""
    recent = session.execute(
        select(models.Issue.id, models.Issue.number, models.Issue.period_end)
        .where(models.Issue.list_id == ml.id)
        .order_by(models.Issue.period_end.desc())
        .limit(issues)
    ).all()
    ids = [r.id for r in recent]
    counts: dict[int, dict[str, int]] = {i: dict.fromkeys(DELIVERY_SERIES, 0) for i in ids}
    if ids:
        rows = session.execute(
            select(models.Delivery.issue_id, models.Delivery.status, func.count())
            .where(models.Delivery.issue_id.in_(ids))
            .group_by(models.Delivery.issue_id, models.Delivery.status)
        ).all()
        for issue_id, status, n in rows:
            series = _SERIES_OF.get(status, "waiting")
            counts[issue_id][series] += n
    return [IssueBar(r.id, r.number, r.period_end, counts[r.id]) for r in reversed(recent)]


def subscribers_per_province(
    session: Session, ml: models.MailingList, regions: RegionIndex, *, top: int = 15
) -> tuple[list[ProvinceCount], ProvinceCount, ProvinceCount]:
    """(the `top` provinces by confirmed subscribers, 全国, "no region picked").

    A subscriber who picked places in two provinces counts in both; one who picked
    two cities of the same province counts there once. Counted by the database over the picks' rows
    (services/picks.py): a province is its code's first two digits, as `RegionIndex.province_of` says of
    every division (tests/test_regions.py holds it to that).
    """
    picked, sub = models.SubscriptionRegion, models.Subscription
    confirmed = [sub.list_id == ml.id, sub.status == SubscriptionStatus.CONFIRMED]
    prefix = func.substr(picked.region_code, 1, 2)  # ANY's "*" names no province, and is left out below
    by_prefix = session.execute(
        select(prefix, func.count(picked.subscription_id.distinct()))
        .join(sub, sub.id == picked.subscription_id)
        .where(picked.list_id == ml.id, *confirmed, picked.region_code != NATIONAL_CODE)
        .group_by(prefix)
    ).all()
    apart = dict(
        session.execute(
            select(picked.region_code, func.count())
            .join(sub, sub.id == picked.subscription_id)
            .where(picked.list_id == ml.id, *confirmed, picked.region_code.in_((NATIONAL_CODE, ANY)))
            .group_by(picked.region_code)
        ).all()
    )
    national, everywhere = apart.get(NATIONAL_CODE, 0), apart.get(ANY, 0)
    # A code the division data does not know is left out rather than guessed at.
    provinces = {f"{p}0000": n for p, n in by_prefix if f"{p}0000" in regions}
    ranked = sorted(provinces.items(), key=lambda item: (-item[1], item[0]))[:top]
    return (
        [ProvinceCount(code, regions.display(code), n) for code, n in ranked],
        ProvinceCount(NATIONAL_CODE, regions.display(NATIONAL_CODE), national),
        ProvinceCount(EVERYWHERE, "", everywhere),
    )


@dataclass(frozen=True)
class Dashboard:
    """The front page's figures for one list, and when they were counted."""

    head: Headline
    growth: list[WeekPoint]
    issues: list[IssueBar]
    provinces: tuple[list[ProvinceCount], ProvinceCount, ProvinceCount]
    counted_at: datetime


# Up to this many subscriptions the figures are counted on every visit (a few ms). Past it they cost a
# second or more (every subscription read for the weekly growth, the ledger's rows grouped), so a process
# keeps them for FRESH_FOR: the front page is glanced at often and its figures move slowly.
LIVE_UP_TO = 10_000
FRESH_FOR = timedelta(seconds=60)
# A process with none in memory shows the last count stored by any process (kept_figures) if it is younger
# than this, and counts again behind it; an older one is counted afresh while the visitor waits.
STORED_FOR = timedelta(hours=24)


def dashboard(
    session: Session,
    ml: models.MailingList,
    regions: RegionIndex,
    kept: KeptFigures,
    *,
    sessions: sessionmaker[Session] | None = None,
) -> Dashboard:
    """The list's dashboard figures: counted now for a small list, at most FRESH_FOR old for a large one.

    With `sessions`, a large list's figures past FRESH_FOR are shown while a thread counts them again
    (3 s at a million), and a process's first visit shows the last count any process stored: only the
    first visit of all waits for them.
    """
    some = select(models.Subscription.id).where(models.Subscription.list_id == ml.id).limit(LIVE_UP_TO + 1)
    if (session.scalar(select(func.count()).select_from(some.subquery())) or 0) <= LIVE_UP_TO:
        return _count_dashboard(session, ml, regions)
    list_id = ml.id
    # The list's creation tells a list from one made again under the same id (a database emptied and reseeded).
    stored_key = f"dashboard:{ml.id}:{ml.created_at.isoformat()}"
    key = ("dashboard", str(session.get_bind().engine.url), stored_key)
    if sessions is not None and kept.fresh(key, timedelta.max) is None:
        stored = session.get(models.KeptFigure, stored_key)
        if stored is not None and wall_now() - stored.counted_at < STORED_FOR:
            kept.keep(key, _dashboard_from(stored.figures, stored.counted_at), stored.counted_at)

    def count(on: Session) -> Dashboard:
        figures = _count_dashboard(on, on.get_one(models.MailingList, list_id), regions)
        _store(on, stored_key, figures)
        return figures

    def recount() -> Dashboard:
        assert sessions is not None
        with sessions.begin() as own:
            return count(own)

    return kept.get(key, FRESH_FOR, partial(count, session), recount=recount if sessions is not None else None)[0]


def _store(session: Session, key: str, figures: Dashboard) -> None:
    """Upserts the figures under `key`: two processes counting at once must not make one fail."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {"key": key, "figures": _dashboard_json(figures), "counted_at": figures.counted_at}
    statement = insert(models.KeptFigure).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"figures": statement.excluded.figures, "counted_at": statement.excluded.counted_at},
        )
    )


def _dashboard_json(figures: Dashboard) -> dict[str, Any]:
    top, national, everywhere = figures.provinces
    return {
        "head": asdict(figures.head),
        "growth": [[p.week_start.isoformat(), p.confirmed] for p in figures.growth],
        "issues": [[b.issue_id, b.number, b.period_end.isoformat(), b.counts] for b in figures.issues],
        "provinces": [[asdict(p) for p in top], asdict(national), asdict(everywhere)],
    }


def _dashboard_from(stored: dict[str, Any], counted_at: datetime) -> Dashboard:
    top, national, everywhere = stored["provinces"]
    return Dashboard(
        Headline(**stored["head"]),
        [WeekPoint(date.fromisoformat(week), confirmed) for week, confirmed in stored["growth"]],
        [IssueBar(i, n, date.fromisoformat(end), counts) for i, n, end, counts in stored["issues"]],
        ([ProvinceCount(**p) for p in top], ProvinceCount(**national), ProvinceCount(**everywhere)),
        counted_at,
    )


def _count_dashboard(session: Session, ml: models.MailingList, regions: RegionIndex) -> Dashboard:
    now = wall_now()
    return Dashboard(
        headline(session, ml),
        subscriber_growth(session, ml, now=now),
        deliveries_per_issue(session, ml),
        subscribers_per_province(session, ml, regions),
        now,
    )
