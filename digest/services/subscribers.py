"""Subscribers and their picks: add or change one (the rules an import applies too), export to CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Required, TextIO, TypedDict, Unpack

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.core.domain import Picks
from digest.core.fields import clean_name
from digest.core.regions import RegionIndex, RegionWarning
from digest.core.statuses import SubscriptionStatus
from digest.services import NotFound
from digest.services.lists import resolve_topic
from digest.services.picks import store_picks

EXPORT_FIELDS = ("email", "name", "status", "regions", "topics", "time_zone", "locale", "created_at")


class InvalidSubscriber(ValueError):
    """Carries the field at fault, so callers can say where, and a code so pages can say why in their language."""

    def __init__(
        self,
        field_name: str,
        message: str,
        code: str | None = None,
        params: Mapping[str, object] | Iterable[tuple[str, object]] = (),
    ):
        super().__init__(message)
        self.field = field_name
        self.code = code
        self.params = tuple((k, str(v)) for k, v in dict(params).items())


# A local part of the plainest kind (RFC 5322 dot-atom, ASCII): email_validator keeps it as written.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def normalise_email(raw: str) -> str:
    """`raw` as stored (domain normalised, local part kept), or InvalidSubscriber naming the email field.

    email_validator spends most of its time on the domain, and an import holds a million addresses at a few
    thousand domains: a plain local part (and a short ASCII address) takes the domain's verdict from a memo.
    Anything else goes through email_validator whole. tests/services/test_email_normalising.py holds the two
    ways to the same answers."""
    address = raw.strip()
    local, at, domain = address.rpartition("@")
    if at and len(address) <= 200 and address.isascii() and len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local):
        checked = _normalised_domain(domain)
        if checked is not None:
            return f"{local}@{checked}"
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidSubscriber(
            "email", f"{address!r} is not a valid email address: {exc}", "email_invalid", {"value": address}
        ) from None
    return result.normalized


@lru_cache(maxsize=4096)  # a memo of a pure function: the same domain always gets the same verdict
def _normalised_domain(domain: str) -> str | None:
    """The domain as email_validator normalises it, or None when it refuses it (the caller then asks it whole,
    for its message)."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def resolve_picks(
    ml: models.MailingList, regions: RegionIndex, region_labels: Iterable[str], topic_labels: Iterable[str]
) -> tuple[list[str], list[str], list[RegionWarning]]:
    """Region codes, topic slugs and warnings; an unknown pick is an error, never dropped silently."""
    codes: list[str] = []
    warnings: list[RegionWarning] = []
    for label in region_labels:
        resolution = regions.resolve(label)
        if not resolution.ok:
            if len(resolution.warnings) == 1:
                warning = resolution.warnings[0]
                raise InvalidSubscriber("regions", warning, warning.code, warning.params)
            raise InvalidSubscriber(
                "regions",
                "; ".join(resolution.warnings) or f"unknown region {label!r}",
                "region_unknown",
                {"label": label},
            )
        warnings.extend(resolution.warnings)
        codes.extend(c for c in resolution.codes if c not in codes)
    slugs: list[str] = []
    for label in topic_labels:
        topic = resolve_topic(ml, label)
        if topic is None:
            names = "、".join(t.name for t in ml.topics)
            raise InvalidSubscriber(
                "topics",
                f"unknown topic {label!r} (this list has: {names})",
                "topic_unknown",
                {"topic": label, "known": names},
            )
        if topic.slug not in slugs:
            slugs.append(topic.slug)
    return codes, slugs, warnings


class Member(TypedDict, total=False):
    """Who joins or changes a membership, and what they pick: `upsert_subscription`'s options."""

    email: Required[str]
    name: str
    region_labels: Iterable[str]
    topic_labels: Iterable[str]
    status: str  # pending unless said
    locale: str  # the language they read; a new subscriber reads the list's unless said


_STATUSES = frozenset(SubscriptionStatus)


def checked_status(value: str) -> SubscriptionStatus:
    """`value` as a subscription status, or InvalidSubscriber naming the field."""
    if value not in _STATUSES:
        raise InvalidSubscriber(
            "status",
            f"unknown status {value!r} (one of {', '.join(SubscriptionStatus)})",
            "status_unknown",
            {"value": value},
        )
    return SubscriptionStatus(value)


@dataclass(frozen=True)
class Membership:
    """A subscriber's name and their membership of one list, as stored: what `joined` reads and returns."""

    name: str = ""
    status: SubscriptionStatus | None = None  # None: not a member yet
    region_codes: tuple[str, ...] = ()
    topic_slugs: tuple[str, ...] = ()
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None


def joined(
    stored: Membership, *, name: str, status: SubscriptionStatus, picks: tuple[list[str], list[str]]
) -> Membership:
    """What a membership becomes when someone (re)joins with `name`, `status` and (region codes, topic slugs):
    the one place these rules live, for a single subscriber as for an import's rows.

    A blank name keeps the stored one; a change of status stamps when they joined or left.
    """
    confirmed_at, unsubscribed_at = stored.confirmed_at, stored.unsubscribed_at
    if stored.status != status:
        now = wall_now()  # joining and leaving: the real time, as the tokens compared with it (digest/core/clock.py)
        if status == SubscriptionStatus.CONFIRMED:
            confirmed_at = now
        elif status == SubscriptionStatus.UNSUBSCRIBED:
            unsubscribed_at = now
    codes, slugs = picks
    return Membership(name or stored.name, status, tuple(codes), tuple(slugs), confirmed_at, unsubscribed_at)


def membership_of(subscriber: models.Subscriber | None, sub: models.Subscription | None) -> Membership:
    if subscriber is None:
        return Membership()
    if sub is None:
        return Membership(subscriber.name)
    return Membership(
        subscriber.name,
        sub.status,
        tuple(sub.region_codes or ()),
        tuple(sub.topic_slugs or ()),
        sub.confirmed_at,
        sub.unsubscribed_at,
    )


def upsert_subscription(
    session: Session, ml: models.MailingList, regions: RegionIndex, **member: Unpack[Member]
) -> tuple[models.Subscription, bool, list[RegionWarning]]:
    """Create or update a subscriber's membership of `ml`. Returns (subscription, created, warnings)."""
    address = normalise_email(member["email"])
    name = clean_name(member.get("name", ""))
    status = checked_status(member.get("status", SubscriptionStatus.PENDING))
    locale = _known_locale(member.get("locale", ""))
    codes, slugs, warnings = resolve_picks(
        ml, regions, list(member.get("region_labels", ())), list(member.get("topic_labels", ()))
    )
    subscriber = session.scalar(select(models.Subscriber).where(models.Subscriber.email == address))
    sub = None
    if subscriber is not None:
        sub = session.scalar(
            select(models.Subscription).where(
                models.Subscription.list_id == ml.id, models.Subscription.subscriber_id == subscriber.id
            )
        )
    after = joined(membership_of(subscriber, sub), name=name, status=status, picks=(codes, slugs))
    if subscriber is None:
        subscriber = models.Subscriber(email=address, locale=ml.language)
        session.add(subscriber)
        session.flush()
    subscriber.name = after.name
    if locale:
        subscriber.locale = locale
    created = sub is None
    if sub is None:
        sub = models.Subscription(list_id=ml.id, subscriber_id=subscriber.id)
        session.add(sub)
    sub.region_codes, sub.topic_slugs = list(after.region_codes), list(after.topic_slugs)
    sub.status = status
    sub.confirmed_at, sub.unsubscribed_at = after.confirmed_at, after.unsubscribed_at
    session.flush()  # a new subscription has its id from here on
    store_picks(session, [sub.id])
    return sub, created, warnings


def _known_locale(value: str) -> str:
    # Callers pass a language their own form or API checked already ("" for none): anything else is a bug.
    if value not in ("", "zh-CN", "en"):
        raise ValueError(f"unknown language {value!r} (zh-CN or en)")
    return value


def subscription_by_email(session: Session, ml: models.MailingList, email: str) -> models.Subscription:
    """`email`'s membership of `ml`, or NotFound."""
    address = normalise_email(email)
    sub = session.scalar(
        select(models.Subscription)
        .join(models.Subscriber)
        .where(models.Subscription.list_id == ml.id, models.Subscriber.email == address)
    )
    if sub is None:
        raise NotFound(f"{address} is not subscribed to {ml.slug}")
    return sub


def picks_of(sub: models.Subscription) -> Picks:
    return Picks(regions=frozenset(sub.region_codes or ()), topics=frozenset(sub.topic_slugs or ()))


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells that start with these as formulas; a leading quote defuses them."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def export_rows(
    subs: Iterable[models.Subscription], regions: RegionIndex, ml: models.MailingList
) -> Iterator[list[str]]:
    names = {t.slug: t.name for t in ml.topics}
    yield list(EXPORT_FIELDS)
    for sub in subs:
        s = sub.subscriber
        yield [
            _csv_safe(v)
            for v in (
                s.email,
                s.name,
                sub.status,
                ",".join(regions.display(c) for c in sub.region_codes or ()),
                ",".join(names.get(t, t) for t in sub.topic_slugs or ()),
                s.time_zone,
                s.locale,
                s.created_at.isoformat(timespec="seconds"),
            )
        ]


def write_csv(rows: Iterable[list[str]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)


def confirmed_emails(session: Session, ml: models.MailingList, *, limit: int = 100) -> list[str]:
    """The first `limit` confirmed addresses of the list, alphabetically: the test-send picker's choices."""
    return list(
        session.scalars(
            select(models.Subscriber.email)
            .join(models.Subscription)
            .where(models.Subscription.list_id == ml.id, models.Subscription.status == SubscriptionStatus.CONFIRMED)
            .order_by(models.Subscriber.email)
            .limit(limit)
        )
    )
