"""What subscribers do themselves: confirm, and change or leave their subscription through the signed
links in their mail (asking to subscribe on the public form is services/subscribe_requests.py).

Who may do what is the web layer's business (the link's signature, the CSRF token); these
functions record the change. Joining and leaving are stamped with the real time the caller
passes, because confirmation links are compared with it (digest/core/tokens.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.quick import first_row
from digest.core.domain import ListInfo
from digest.core.fields import clean_name
from digest.core.statuses import SubscriptionStatus
from digest.core.tokens import BadToken
from digest.services.lists import BRANDING_COLUMNS, branding_info
from digest.services.picks import store_picks
from digest.services.subscribe_requests import Choices


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
    .where(_SUB.subscriber_id == bindparam("link_subscriber"), _LIST.slug == bindparam("link_slug"))
)
_LEAVE = (
    update(_SUB)
    .where(_SUB.id == bindparam("subscription_id"), _SUB.status != SubscriptionStatus.UNSUBSCRIBED)
    .values(status=SubscriptionStatus.UNSUBSCRIBED, unsubscribed_at=bindparam("left_at"))
)

# The target as it was (a CTE's SELECT sees the snapshot from before the UPDATE beside it).
_TARGET = _LINK_TARGET.cte("target")
_LEAVE_BY_LINK = select(_TARGET).add_cte(
    update(_SUB)
    .where(_SUB.id.in_(select(_TARGET.c.id)), _SUB.status != SubscriptionStatus.UNSUBSCRIBED)
    .values(status=SubscriptionStatus.UNSUBSCRIBED, unsubscribed_at=bindparam("left_at"))
    .cte("gone")
)


def find_link_target(db: Connection | Session, subscriber_id: int, list_slug: str) -> LinkTarget | None:
    """The subscription a signed link names; `db` may be a connection outside any transaction."""
    row = db.execute(_LINK_TARGET, {"link_subscriber": subscriber_id, "link_slug": list_slug}).one_or_none()
    if row is None:
        return None
    return LinkTarget(row.id, row.status, row.email, row.locale, branding_info(row))


def leave_subscription(db: Connection | Session, subscription_id: int, now: datetime) -> None:
    """`leave_subscriptions` for one row by its id, in one UPDATE: one already left keeps its time."""
    db.execute(_LEAVE, {"subscription_id": subscription_id, "left_at": now})


def leave_by_link(db: Connection, subscriber_id: int, list_slug: str, now: datetime) -> LinkTarget | None:
    """Leaves the subscription a signed link names and returns it as it was (None: there is none).

    Mail providers POST one-click links by the thousand, so on PostgreSQL this is one statement (a
    data-modifying CTE, atomic on an autocommit connection); elsewhere the read and the UPDATE, which
    checks the row again, so nothing between the two can make it undo anything."""
    if db.dialect.name != "postgresql":
        target = find_link_target(db, subscriber_id, list_slug)
        if target is not None:
            leave_subscription(db, target.subscription_id, now)
        return target
    # Parameters named apart from any column: an UPDATE takes a parameter named as a column as a SET value.
    params = {"link_subscriber": subscriber_id, "link_slug": list_slug, "left_at": now}
    row = first_row(db, _LEAVE_BY_LINK, params)
    if row is None:
        return None
    return LinkTarget(row.id, row.status, row.email, row.locale, branding_info(row))


def check_confirmable(sub: models.Subscription, link_issued_at: datetime) -> None:
    """BadToken when the link was mailed before they left, which must not bring them back."""
    left = sub.unsubscribed_at
    if sub.status == SubscriptionStatus.UNSUBSCRIBED and left is not None and link_issued_at <= left:
        raise BadToken("confirmation older than the unsubscription")


def confirm_subscription(sub: models.Subscription, link_issued_at: datetime, now: datetime) -> None:
    """Confirms the double opt-in, unless `check_confirmable` refuses the link."""
    check_confirmable(sub, link_issued_at)
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
