"""What subscribers do themselves: ask to subscribe on the public form, confirm, and change or leave
their subscription through the signed links in their mail.

Who may do what is the web layer's business (the link's signature, the CSRF token); these
functions record the change. Joining and leaving are stamped with the real time the caller
passes, because confirmation links are compared with it (digest/core/tokens.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Integer,
    all_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable, Select
from sqlalchemy.sql.dml import Insert, ReturningInsert

from digest.adapters.storage import models
from digest.adapters.storage.quick import first_row
from digest.core.domain import ListInfo
from digest.core.fields import clean_name
from digest.core.form_mail import CONFIRM, KNOWN
from digest.core.statuses import SubscriptionStatus
from digest.core.tokens import BadToken
from digest.services.lists import BRANDING_COLUMNS, branding_info
from digest.services.picks import ANY, store_picks
from digest.services.subscribers import normalise_email


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


@dataclass(frozen=True)
class Requester:
    """The person a subscribe request names, as the mail it sends needs them."""

    id: int
    email: str
    name: str
    locale: str


@dataclass(frozen=True)
class SubscribeRequest:
    """What a subscribe request recorded: who, whether they had already confirmed, and whether the address
    may have another form mail today (`FORM_MAILS_PER_DAY`)."""

    requester: Requester
    already_confirmed: bool
    may_mail: bool


FORM_MAILS_PER_DAY = 3


def request_subscription(
    db: Connection, list_id: int, address: str, name: str, choices: Choices, now: datetime
) -> SubscribeRequest:
    """Records pending picks for `address` on the list, counts a form mail to it on `now`'s day (UTC) and,
    within the day's cap, records that mail as waiting (services/form_mails.py sends it).

    `choices` are codes and slugs the list offers (the form checks them). Anyone can type anyone's address:
    a confirmed subscription is left alone (its picks change only through the subscriber's own link), and
    only a person nobody has confirmed yet may be renamed or have their time zone and language set by the
    anonymous form. The caller owns the transaction; on PostgreSQL the whole request is one statement, so
    an autocommit connection will do.

    A new, a pending and a confirmed address cost the same statements (a confirmed one is written back with
    its own values): when the form answered a known address in 40 ms and a new one in 55, its timing told
    anyone who subscribes.
    """
    wanted = {
        "email": normalise_email(address),
        "name": clean_name(name),
        "time_zone": choices.time_zone,
        "locale": choices.locale,
        "today": now.astimezone(UTC).date(),
        "created_at": now,
        "list_id": list_id,
        "region_codes": list(choices.regions),
        "topic_slugs": list(choices.topics),
    }
    params = {f"p_{key}": value for key, value in wanted.items()}
    if db.dialect.name == "postgresql":
        row = first_row(db, _request_in_one(), params | _pick_rows(choices))
        assert row is not None  # the person's upsert returns its row whatever it did
        person, status = row, row.status
    else:
        person_upsert, picks_upsert = _upserts("sqlite")
        person = db.execute(person_upsert, params).one()
        membership = db.execute(picks_upsert, params | {"p_subscriber_id": person.id}).one()
        status = membership.status
        with Session(bind=db) as session:
            store_picks(session, [membership.id])
        if person.form_mails_sent <= FORM_MAILS_PER_DAY:
            kind = KNOWN if status == SubscriptionStatus.CONFIRMED else CONFIRM
            db.execute(_unsuppressed_mail(), params | {"p_subscriber_id": person.id, "p_kind": kind})
    return SubscribeRequest(
        Requester(person.id, person.email, person.name, person.locale),
        already_confirmed=status == SubscriptionStatus.CONFIRMED,
        may_mail=person.form_mails_sent <= FORM_MAILS_PER_DAY,
    )


def _pick_rows(choices: Choices) -> dict[str, list[str]]:
    """The pick rows the form's choices make, as `store_picks` would build them from the JSON columns."""
    regions, topics = list(dict.fromkeys(choices.regions)), list(dict.fromkeys(choices.topics))
    return {"p_region_rows": regions or [ANY], "p_topic_rows": topics or [ANY]}


@cache
def _upserts(dialect: str) -> tuple[Executable, Executable]:
    """The two upserts of `request_subscription` for `dialect`, built once: building them cost more than
    running them. Values are bound as p_<column>, the subscriber's id as p_subscriber_id."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return _person_upsert(insert), _picks_upsert(insert, bindparam("p_subscriber_id"))


def _person_upsert(insert) -> ReturningInsert[Any]:
    """One statement, whether the person is new, pending or confirmed: only an unconfirmed person takes the
    form's name (when it gives one), time zone and language; a confirmed one is written back as is.

    It also counts the form mail: `form_mails_sent` goes up to one past the cap and stops there, so the row
    says whether this request may mail, and two requests at once cannot both take the last place."""
    person, sub = models.Subscriber, models.Subscription
    # Correlated by hand: the row an upsert updates is named by its table, which SQLAlchemy does not
    # correlate into a subquery of INSERT … ON CONFLICT on its own.
    owner = literal_column(f"{person.__tablename__}.id", Integer)
    unconfirmed = ~exists().where(sub.subscriber_id == owner, sub.status == SubscriptionStatus.CONFIRMED)
    columns = ("email", "name", "time_zone", "locale")
    values: dict[str, object] = {column: bindparam(f"p_{column}") for column in columns}
    counted = {"form_mails_day": bindparam("p_today"), "form_mails_sent": 1}
    upsert = insert(person).values({**values, "created_at": bindparam("p_created_at"), **counted})
    held = upsert.excluded
    same_day = person.form_mails_day == held.form_mails_day
    # min() of two values is SQLite's least().
    least = func.least if insert is postgresql.insert else func.min
    return upsert.on_conflict_do_update(
        index_elements=["email"],
        set_={
            "name": case((unconfirmed & (held.name != ""), held.name), else_=person.name),
            "time_zone": case((unconfirmed, held.time_zone), else_=person.time_zone),
            "locale": case((unconfirmed, held.locale), else_=person.locale),
            "form_mails_day": held.form_mails_day,
            "form_mails_sent": case((same_day, least(person.form_mails_sent + 1, FORM_MAILS_PER_DAY + 1)), else_=1),
        },
    ).returning(person.id, person.email, person.name, person.locale, person.form_mails_sent)


def _picks_upsert(insert, subscriber_id) -> ReturningInsert[Any]:
    """A confirmed subscription keeps its picks (written back as they are); any other takes the form's and
    is pending."""
    sub = models.Subscription
    columns = ("list_id", "region_codes", "topic_slugs", "created_at")
    values: dict[str, object] = {column: bindparam(f"p_{column}") for column in columns}
    upsert = insert(sub).values({**values, "subscriber_id": subscriber_id, "status": SubscriptionStatus.PENDING})
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


_MAIL_COLUMNS = ["subscriber_id", "list_id", "kind", "created_at", "attempts"]


def _not_suppressed(address: Any) -> Any:
    """No suppression names `address`, in any case (ix_suppressions_email_lower): a suppressed address gets
    no form mail, though the form answers it as anyone, by the same statements."""
    held = models.Suppression
    return ~exists().where(func.lower(held.email) == func.lower(address))


def _form_mail_insert(person: Any, membership: Any) -> Insert:
    """The form mail the request owes, if the address is within the day's cap and not suppressed: a
    confirmation, or a note with the preferences link to an address already confirmed (services/form_mails.py
    sends it)."""
    kind = case((membership.c.status == SubscriptionStatus.CONFIRMED, KNOWN), else_=CONFIRM)
    at = bindparam("p_created_at", type_=models.FormMail.created_at.type)
    owed = (
        select(person.c.id, bindparam("p_list_id", type_=Integer), kind, at, literal(0))
        .select_from(person.join(membership, true()))
        .where(person.c.form_mails_sent <= FORM_MAILS_PER_DAY, _not_suppressed(person.c.email))
    )
    return insert(models.FormMail).from_select(_MAIL_COLUMNS, owed)


@cache
def _unsuppressed_mail() -> Insert:
    """`_form_mail_insert` where the request is separate statements (SQLite): the mail of p_kind to
    p_subscriber_id, unless p_email is suppressed."""
    at = bindparam("p_created_at", type_=models.FormMail.created_at.type)
    who, where = bindparam("p_subscriber_id", type_=Integer), bindparam("p_list_id", type_=Integer)
    kind = bindparam("p_kind", type_=models.FormMail.kind.type)
    owed = select(who, where, kind, at, literal(0)).where(_not_suppressed(bindparam("p_email")))
    return insert(models.FormMail).from_select(_MAIL_COLUMNS, owed)


@cache
def _request_in_one() -> Select[Any]:
    """`request_subscription` on PostgreSQL as one statement of data-modifying CTEs: the person, the
    subscription, and its pick rows (only a subscription the form may change; a row already there stays,
    one no longer picked goes)."""
    person_upsert = _person_upsert(postgresql.insert).cte("person")
    membership = _picks_upsert(postgresql.insert, select(person_upsert.c.id).scalar_subquery()).cte("membership")
    changed = select(membership.c.id).where(membership.c.status != SubscriptionStatus.CONFIRMED)
    statement = select(person_upsert, membership.c.status).join(membership, true())
    statement = statement.add_cte(_form_mail_insert(person_upsert, membership).cte("form_mail"))
    for table, pick, wanted in (
        (models.SubscriptionRegion, "region_code", "p_region_rows"),
        (models.SubscriptionTopic, "topic_slug", "p_topic_rows"),
    ):
        column = getattr(table, pick)
        rows = bindparam(wanted, type_=ARRAY(column.type))
        statement = statement.add_cte(
            delete(table)
            .where(table.subscription_id.in_(changed), column != all_(rows))
            .cte(f"{table.__tablename__}_gone")
        ).add_cte(
            postgresql.insert(table)
            .from_select(
                ["subscription_id", pick, "list_id"],
                select(membership.c.id, func.unnest(rows), bindparam("p_list_id")).where(
                    membership.c.status != SubscriptionStatus.CONFIRMED
                ),
            )
            .on_conflict_do_nothing()
            .cte(f"{table.__tablename__}_new")
        )
    return statement


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
