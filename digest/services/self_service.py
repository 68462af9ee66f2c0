"""What subscribers do themselves: ask to subscribe on the public form, confirm, and change or leave
their subscription through the signed links in their mail.

Who may do what is the web layer's business (the link's signature, the CSRF token); these
functions record the change. Joining and leaving are stamped with the real time the caller
passes, because confirmation links are compared with it (digest/core/tokens.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.fields import clean_name
from digest.core.regions import RegionIndex
from digest.core.statuses import SubscriptionStatus
from digest.core.tokens import BadToken
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


def request_subscription(
    session: Session, ml: models.MailingList, regions: RegionIndex, address: str, name: str, choices: Choices
) -> tuple[models.Subscriber, bool]:
    """Records pending picks for `address` and returns (subscriber, already_confirmed).

    Anyone can type anyone's address: a confirmed subscription is left alone (its picks
    change only through the subscriber's own link), and only a person nobody has confirmed
    yet may be renamed or have their time zone and language set by the anonymous form.

    A new, a pending and a confirmed address cost the same statements in the same order (a
    confirmed one is written back with its own values): when the form answered a known address
    in 40 ms and a new one in 55, its timing told anyone who subscribes.
    """
    address = normalise_email(address)
    codes, slugs, _ = resolve_picks(ml, regions, choices.regions, choices.topics)
    _insert_if_missing(session, models.Subscriber, {"email": address, "name": ""}, ["email"])
    subscriber = session.scalars(
        select(models.Subscriber).where(models.Subscriber.email == address).execution_options(populate_existing=True)
    ).one()
    row = {"list_id": ml.id, "subscriber_id": subscriber.id, "status": SubscriptionStatus.PENDING}
    _insert_if_missing(session, models.Subscription, row, ["list_id", "subscriber_id"])
    sub = session.scalars(
        select(models.Subscription)
        .where(models.Subscription.list_id == ml.id, models.Subscription.subscriber_id == subscriber.id)
        .execution_options(populate_existing=True)
    ).one()
    confirmed = sub.status == SubscriptionStatus.CONFIRMED
    unconfirmed = all(s.status != SubscriptionStatus.CONFIRMED for s in subscriber.subscriptions)
    name = clean_name(name)
    session.execute(
        update(models.Subscriber)
        .where(models.Subscriber.id == subscriber.id)
        .values(
            name=name if unconfirmed and name else subscriber.name,
            time_zone=choices.time_zone if unconfirmed else subscriber.time_zone,
            locale=choices.locale if unconfirmed else subscriber.locale,
        )
    )
    session.execute(
        update(models.Subscription)
        .where(models.Subscription.id == sub.id)
        .values(
            region_codes=sub.region_codes if confirmed else codes,
            topic_slugs=sub.topic_slugs if confirmed else slugs,
            status=sub.status if confirmed else SubscriptionStatus.PENDING,
        )
    )
    store_picks(session, [sub.id])
    return subscriber, confirmed


def _insert_if_missing(session: Session, model: type[models.Base], values: dict, keys: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: one statement whether the row exists or not."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))


FORM_MAILS_PER_DAY = 3


def count_form_mail(session: Session, subscriber: models.Subscriber, today: date) -> bool:
    """Counts one public-form mail to this address on `today`; False (nothing counted) past the day's cap.

    One conditional UPDATE, so two requests at once cannot both take the last place."""
    table = models.Subscriber
    counted = session.execute(
        update(table)
        .where(
            table.id == subscriber.id,
            or_(
                table.form_mails_day.is_(None),
                table.form_mails_day != today,
                table.form_mails_sent < FORM_MAILS_PER_DAY,
            ),
        )
        .values(
            form_mails_day=today,
            form_mails_sent=case((table.form_mails_day == today, table.form_mails_sent + 1), else_=1),
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(subscriber, ["form_mails_day", "form_mails_sent"])
    return bool(counted.rowcount)  # type: ignore[attr-defined]


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
