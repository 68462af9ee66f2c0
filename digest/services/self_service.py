"""What subscribers do themselves: ask to subscribe on the public form, confirm, and change or leave
their subscription through the signed links in their mail.

Who may do what is the web layer's business (the link's signature, the CSRF token); these
functions record the change. Joining and leaving are stamped with the real time the caller
passes, because confirmation links are compared with it (digest/core/tokens.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from sqlalchemy import Connection, Integer, bindparam, case, exists, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from digest.adapters.storage import models
from digest.core.domain import ListInfo
from digest.core.fields import clean_name
from digest.core.regions import RegionIndex
from digest.core.statuses import SubscriptionStatus
from digest.core.tokens import BadToken
from digest.services.lists import BRANDING_COLUMNS, branding_info
from digest.services.picks import store_picks
from digest.services.subscribers import normalise_email, resolve_picks


@dataclass
class Choices:
    """A subscriber's picks as the forms offered them: region codes, topic slugs, time zone, language."""

    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    time_zone: str = "Asia/Shanghai"
    locale: str = "zh-CN"


def find_subscription(session: Session, subscriber_id: int, list_slug: str) -> models.Subscription | None:
    """The subscription a signed link names (subscriber and list slug), if it still exists."""
    return session.scalar(
        select(models.Subscription)
        .join(models.MailingList)
        .where(models.Subscription.subscriber_id == subscriber_id, models.MailingList.slug == list_slug)
    )


@dataclass(frozen=True)
class LinkTarget:
    """The subscription a signed link names, as its one-click answer needs it: read in one query, as
    columns, with the list's branding and none of its topics (the unsubscribe link's busiest use)."""

    subscription_id: int
    status: SubscriptionStatus
    email: str
    locale: str
    list: ListInfo


_SUB, _PERSON, _LIST = models.Subscription, models.Subscriber, models.MailingList
# Built once: constructing these statements cost more than running them.
_LINK_TARGET = (
    select(_SUB.id, _SUB.status, _PERSON.email, _PERSON.locale, *BRANDING_COLUMNS)
    .join(_PERSON, _PERSON.id == _SUB.subscriber_id)
    .join(_LIST, _LIST.id == _SUB.list_id)
    .where(_SUB.subscriber_id == bindparam("subscriber_id"), _LIST.slug == bindparam("list_slug"))
)
_LEAVE = (
    update(_SUB)
    .where(_SUB.id == bindparam("subscription_id"), _SUB.status != SubscriptionStatus.UNSUBSCRIBED)
    .values(status=SubscriptionStatus.UNSUBSCRIBED, unsubscribed_at=bindparam("left_at"))
)


def find_link_target(db: Connection | Session, subscriber_id: int, list_slug: str) -> LinkTarget | None:
    """The subscription a signed link names; `db` may be a connection outside any transaction."""
    row = db.execute(_LINK_TARGET, {"subscriber_id": subscriber_id, "list_slug": list_slug}).one_or_none()
    if row is None:
        return None
    return LinkTarget(row.id, row.status, row.email, row.locale, branding_info(row))


def leave_subscription(db: Connection | Session, subscription_id: int, now: datetime) -> None:
    """`leave_subscriptions` for one row by its id, in one UPDATE: one already left keeps its time."""
    db.execute(_LEAVE, {"subscription_id": subscription_id, "left_at": now})


@dataclass(frozen=True)
class Requester:
    """The person a subscribe request names, as the mail it sends needs them."""

    id: int
    email: str
    name: str
    locale: str


def request_subscription(
    session: Session, ml: models.MailingList, regions: RegionIndex, address: str, name: str, choices: Choices
) -> tuple[Requester, bool]:
    """Records pending picks for `address` and returns (the person, already_confirmed).

    Anyone can type anyone's address: a confirmed subscription is left alone (its picks
    change only through the subscriber's own link), and only a person nobody has confirmed
    yet may be renamed or have their time zone and language set by the anonymous form.

    A new, a pending and a confirmed address cost the same statements (two upserts, a confirmed one
    written back with its own values, then its picks' rows rebuilt): when the form answered a known
    address in 40 ms and a new one in 55, its timing told anyone who subscribes.
    """
    address = normalise_email(address)
    codes, slugs, _ = resolve_picks(ml, regions, choices.regions, choices.topics)
    person_upsert, picks_upsert = _upserts(session.get_bind().dialect.name)
    # Core statements on the session's connection and transaction: no ORM rows are made or tracked.
    db = session.connection()
    wanted = {"email": address, "name": clean_name(name), "time_zone": choices.time_zone, "locale": choices.locale}
    requester = db.execute(person_upsert, {f"p_{key}": value for key, value in wanted.items()}).one()
    picks = {"list_id": ml.id, "subscriber_id": requester.id, "region_codes": codes, "topic_slugs": slugs}
    membership = db.execute(picks_upsert, {f"p_{key}": value for key, value in picks.items()}).one()
    status = membership.status
    store_picks(session, [membership.id])
    return Requester(requester.id, requester.email, requester.name, requester.locale), (
        status == SubscriptionStatus.CONFIRMED
    )


@cache
def _upserts(dialect: str) -> tuple[Executable, Executable]:
    """The two upserts of `request_subscription` for `dialect`, built once: building them cost more than
    running them. Values are bound as p_<column>."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return _person_upsert(insert), _picks_upsert(insert)


def _person_upsert(insert) -> Executable:
    """One statement, whether the person is new, pending or confirmed: only an unconfirmed person takes the
    form's name (when it gives one), time zone and language; a confirmed one is written back as is."""
    person, sub = models.Subscriber, models.Subscription
    # Correlated by hand: the row an upsert updates is named by its table, which SQLAlchemy does not
    # correlate into a subquery of INSERT … ON CONFLICT on its own.
    owner = literal_column(f"{person.__tablename__}.id", Integer)
    unconfirmed = ~exists().where(sub.subscriber_id == owner, sub.status == SubscriptionStatus.CONFIRMED)
    columns = ("email", "name", "time_zone", "locale")
    upsert = insert(person).values({column: bindparam(f"p_{column}") for column in columns})
    held = upsert.excluded
    return upsert.on_conflict_do_update(
        index_elements=["email"],
        set_={
            "name": case((unconfirmed & (held.name != ""), held.name), else_=person.name),
            "time_zone": case((unconfirmed, held.time_zone), else_=person.time_zone),
            "locale": case((unconfirmed, held.locale), else_=person.locale),
        },
    ).returning(person.id, person.email, person.name, person.locale)


def _picks_upsert(insert) -> Executable:
    """A confirmed subscription keeps its picks (written back as they are); any other takes the form's and
    is pending."""
    sub = models.Subscription
    columns = ("list_id", "subscriber_id", "region_codes", "topic_slugs")
    values: dict[str, object] = {column: bindparam(f"p_{column}") for column in columns}
    upsert = insert(sub).values({**values, "status": SubscriptionStatus.PENDING})
    held = upsert.excluded
    confirmed = sub.status == SubscriptionStatus.CONFIRMED
    return upsert.on_conflict_do_update(
        index_elements=["list_id", "subscriber_id"],
        set_={
            "region_codes": case((confirmed, sub.region_codes), else_=held.region_codes),
            "topic_slugs": case((confirmed, sub.topic_slugs), else_=held.topic_slugs),
            "status": case((confirmed, sub.status), else_=held.status),
        },
    ).returning(sub.id, sub.status)


FORM_MAILS_PER_DAY = 3


def count_form_mail(session: Session, subscriber_id: int, today: date) -> bool:
    """Counts one public-form mail to this address on `today`; False (nothing counted) past the day's cap.

    One conditional UPDATE, so two requests at once cannot both take the last place."""
    counted = session.connection().execute(_COUNT_FORM_MAIL, {"p_id": subscriber_id, "p_today": today})
    return bool(counted.rowcount)


_COUNT_FORM_MAIL = (
    update(_PERSON)
    .where(
        _PERSON.id == bindparam("p_id"),
        or_(
            _PERSON.form_mails_day.is_(None),
            _PERSON.form_mails_day != bindparam("p_today"),
            _PERSON.form_mails_sent < FORM_MAILS_PER_DAY,
        ),
    )
    .values(
        form_mails_day=bindparam("p_today"),
        form_mails_sent=case((_PERSON.form_mails_day == bindparam("p_today"), _PERSON.form_mails_sent + 1), else_=1),
    )
)


def confirm_subscription(sub: models.Subscription, link_issued_at: datetime, now: datetime) -> None:
    """Confirms the double opt-in; BadToken when the link was mailed before they left, which must not
    bring them back."""
    left = sub.unsubscribed_at
    if sub.status == SubscriptionStatus.UNSUBSCRIBED and left is not None and link_issued_at <= left:
        raise BadToken("confirmation older than the unsubscription")
    if sub.status != SubscriptionStatus.CONFIRMED:
        sub.status = SubscriptionStatus.CONFIRMED
        sub.confirmed_at = now
        sub.unsubscribed_at = None


def save_preferences(session: Session, sub: models.Subscription, name: str, choices: Choices) -> None:
    sub.region_codes = choices.regions
    sub.topic_slugs = choices.topics
    subscriber = sub.subscriber
    subscriber.name = clean_name(name)
    subscriber.time_zone = choices.time_zone
    subscriber.locale = choices.locale
    store_picks(session, [sub.id])


def pause_subscription(sub: models.Subscription, until: date) -> None:
    sub.paused_until = until


def resume_subscription(sub: models.Subscription) -> None:
    sub.paused_until = None


def resubscribe(sub: models.Subscription, now: datetime) -> None:
    """Back in without a second opt-in: holding the preferences link proves the mailbox."""
    sub.status, sub.confirmed_at, sub.unsubscribed_at = SubscriptionStatus.CONFIRMED, now, None


def leave_subscriptions(subs: list[models.Subscription], now: datetime) -> None:
    """Leaves each subscription; one already left keeps the time it was left at."""
    for sub in subs:
        if sub.status != SubscriptionStatus.UNSUBSCRIBED:
            sub.status = SubscriptionStatus.UNSUBSCRIBED
            sub.unsubscribed_at = now
