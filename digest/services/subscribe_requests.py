"""Recording the public form's subscribe requests: the person, their pending picks, the day's count of form
mails to the address, and the mail itself, waiting to be sent (services/form_mails.py sends it).

Anyone can type anyone's address: a confirmed subscription is left alone (its picks change only through the
subscriber's own link), and only a person nobody has confirmed yet may be renamed or have their time zone
and language set by the anonymous form. A new, a pending and a confirmed address cost the same statements
(a confirmed one is written back with its own values): when the form answered a known address in 40 ms and
a new one in 55, its timing told anyone who subscribes.

On PostgreSQL any number of requests is one statement of data-modifying CTEs over arrays (`record_asks`),
so a web process records the requests that arrive together in one round trip and one commit
(web/combining.py): at 16 a statement the database spent a third of the CPU a request that it spent on one
alone (docs/performance.md, "The fourth round"). Elsewhere (SQLite) each request is its own statements.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    Date,
    Integer,
    String,
    bindparam,
    case,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable, Select
from sqlalchemy.sql.dml import Insert, ReturningInsert

from digest.adapters.storage import models
from digest.adapters.storage.quick import all_rows
from digest.core.fields import clean_name
from digest.core.form_mail import CONFIRM, KNOWN
from digest.core.statuses import SubscriptionStatus
from digest.services.picks import ANY, store_picks
from digest.services.subscribers import normalise_email

FORM_MAILS_PER_DAY = 3


@dataclass
class Choices:
    """A subscriber's picks as the forms offered them: region codes, topic slugs, time zone, language."""

    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    time_zone: str = "Asia/Shanghai"
    locale: str = "zh-CN"


@dataclass(frozen=True)
class Ask:
    """One subscribe request as the form checked it: a normalised address (`Ask.of`), a cleaned name, and
    region codes and topic slugs the list offers."""

    list_id: int
    email: str
    name: str
    regions: tuple[str, ...]
    topics: tuple[str, ...]
    time_zone: str
    locale: str
    at: datetime

    @classmethod
    def of(cls, list_id: int, email: str, name: str, choices: Choices, now: datetime) -> Ask:
        """`email` as `normalise_email` gave it; `name` as the form had it."""
        regions, topics = tuple(choices.regions), tuple(choices.topics)
        return cls(list_id, email, clean_name(name), regions, topics, choices.time_zone, choices.locale, now)


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


def request_subscription(
    db: Connection, list_id: int, address: str, name: str, choices: Choices, now: datetime
) -> SubscribeRequest:
    """One request, recorded as `record_asks` records many (`choices` are codes and slugs the list offers)."""
    return record_asks(db, [Ask.of(list_id, normalise_email(address), name, choices, now)])[0]


def record_asks(db: Connection, asks: Sequence[Ask]) -> list[SubscribeRequest]:
    """Records each request (in order; their addresses are distinct) and counts a form mail to its address on
    its day (UTC); within the day's cap, the mail is recorded as waiting. The caller owns the transaction; on
    PostgreSQL they are one statement, so an autocommit connection will do."""
    if len({ask.email for ask in asks}) != len(asks):
        raise ValueError("one address twice in one statement: the person's upsert cannot take a row twice")
    if db.dialect.name != "postgresql":
        return [_record_one(db, ask) for ask in asks]
    rows = {row.email: row for row in all_rows(db, _asks_in_one(), _arrays(asks))}
    return [_answer(rows[ask.email], rows[ask.email].status) for ask in asks]


def _answer(person: Any, status: SubscriptionStatus) -> SubscribeRequest:
    return SubscribeRequest(
        Requester(person.id, person.email, person.name, person.locale),
        already_confirmed=status == SubscriptionStatus.CONFIRMED,
        may_mail=person.form_mails_sent <= FORM_MAILS_PER_DAY,
    )


def _arrays(asks: Sequence[Ask]) -> dict[str, list[Any]]:
    """The statement's values: a column of the requests a parameter, and their pick rows as (address, value)
    pairs, as `store_picks` would build them (no pick: ANY). In the addresses' order: two statements at once
    that share addresses lock their people in the same order, so neither waits on the other in a circle."""
    asks = sorted(asks, key=lambda ask: ask.email)
    values: dict[str, list[Any]] = {
        "a_email": [ask.email for ask in asks],
        "a_name": [ask.name for ask in asks],
        "a_time_zone": [ask.time_zone for ask in asks],
        "a_locale": [ask.locale for ask in asks],
        "a_list_id": [ask.list_id for ask in asks],
        "a_region_codes": [json.dumps(list(ask.regions)) for ask in asks],
        "a_topic_slugs": [json.dumps(list(ask.topics)) for ask in asks],
        "a_created_at": [ask.at for ask in asks],
        "a_today": [ask.at.astimezone(UTC).date() for ask in asks],
    }
    for kind in ("regions", "topics"):
        pairs = [(ask.email, pick) for ask in asks for pick in dict.fromkeys(getattr(ask, kind)) or [ANY]]
        values[f"{kind}_email"] = [email for email, _ in pairs]
        values[f"{kind}_pick"] = [pick for _, pick in pairs]
    return values


def _record_one(db: Connection, ask: Ask) -> SubscribeRequest:
    """One request as separate statements (SQLite), the same work as `_asks_in_one`'s."""
    params = {
        "p_email": ask.email,
        "p_name": ask.name,
        "p_time_zone": ask.time_zone,
        "p_locale": ask.locale,
        "p_today": ask.at.astimezone(UTC).date(),
        "p_created_at": ask.at,
        "p_list_id": ask.list_id,
        "p_region_codes": list(ask.regions),
        "p_topic_slugs": list(ask.topics),
    }
    person_upsert, picks_upsert = _upserts("sqlite")
    person = db.execute(person_upsert, params).one()
    membership = db.execute(picks_upsert, params | {"p_subscriber_id": person.id}).one()
    with Session(bind=db) as session:
        store_picks(session, [membership.id])
    if person.form_mails_sent <= FORM_MAILS_PER_DAY:
        kind = KNOWN if membership.status == SubscriptionStatus.CONFIRMED else CONFIRM
        db.execute(_unsuppressed_mail(), params | {"p_subscriber_id": person.id, "p_kind": kind})
    return _answer(person, membership.status)


@cache
def _upserts(dialect: str) -> tuple[Executable, Executable]:
    """The two upserts of `_record_one` for `dialect`, built once: building them cost more than running them.
    Values are bound as p_<column>, the subscriber's id as p_subscriber_id."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    person = insert(models.Subscriber).values(
        {
            **{name: bindparam(f"p_{name}") for name in ("email", "name", "time_zone", "locale")},
            "created_at": bindparam("p_created_at"),
            "form_mails_day": bindparam("p_today"),
            "form_mails_sent": 1,
        }
    )
    sub = insert(models.Subscription).values(
        {
            **{name: bindparam(f"p_{name}") for name in ("list_id", "region_codes", "topic_slugs", "created_at")},
            "subscriber_id": bindparam("p_subscriber_id"),
            "status": SubscriptionStatus.PENDING,
        }
    )
    return _person_upsert(person), _picks_upsert(sub)


def _person_upsert(upsert) -> ReturningInsert[Any]:
    """The person's upsert, whether they are new, pending or confirmed: only an unconfirmed person takes the
    form's name (when it gives one), time zone and language; a confirmed one is written back as is.

    It also counts the form mail: `form_mails_sent` goes up to one past the cap and stops there, so the row
    says whether this request may mail, and two requests at once cannot both take the last place."""
    person, sub = models.Subscriber, models.Subscription
    # Correlated by hand: the row an upsert updates is named by its table, which SQLAlchemy does not
    # correlate into a subquery of INSERT … ON CONFLICT on its own.
    owner = literal_column(f"{person.__tablename__}.id", Integer)
    unconfirmed = ~exists().where(sub.subscriber_id == owner, sub.status == SubscriptionStatus.CONFIRMED)
    held = upsert.excluded
    same_day = person.form_mails_day == held.form_mails_day
    # min() of two values is SQLite's least().
    least = func.least if isinstance(upsert, postgresql.Insert) else func.min
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


def _picks_upsert(upsert) -> ReturningInsert[Any]:
    """A confirmed subscription keeps its picks (written back as they are); any other takes the form's and
    is pending."""
    sub = models.Subscription
    held = upsert.excluded
    confirmed = sub.status == SubscriptionStatus.CONFIRMED
    return upsert.on_conflict_do_update(
        index_elements=["list_id", "subscriber_id"],
        set_={
            "region_codes": case((confirmed, sub.region_codes), else_=held.region_codes),
            "topic_slugs": case((confirmed, sub.topic_slugs), else_=held.topic_slugs),
            "status": case((confirmed, sub.status), else_=held.status),
        },
    ).returning(sub.id, sub.status, sub.subscriber_id, sub.list_id)


_MAIL_COLUMNS = ["subscriber_id", "list_id", "kind", "created_at", "attempts"]


def _not_suppressed(address: Any) -> Any:
    """No suppression names `address`, in any case (ix_suppressions_email_lower): a suppressed address gets
    no form mail, though the form answers it as anyone, by the same statements."""
    held = models.Suppression
    return ~exists().where(func.lower(held.email) == func.lower(address))


@cache
def _unsuppressed_mail() -> Insert:
    """The form mail of p_kind to p_subscriber_id, unless p_email is suppressed (SQLite's separate statements)."""
    at = bindparam("p_created_at", type_=models.FormMail.created_at.type)
    who, where = bindparam("p_subscriber_id", type_=Integer), bindparam("p_list_id", type_=Integer)
    kind = bindparam("p_kind", type_=models.FormMail.kind.type)
    owed = select(who, where, kind, at, literal(0)).where(_not_suppressed(bindparam("p_email")))
    return insert(models.FormMail).from_select(_MAIL_COLUMNS, owed)


def _unnest(columns: dict[str, Any]) -> Any:
    """The array parameters <prefix>_<column> as one table: a row a request (or a pick)."""
    arrays = [bindparam(key, type_=ARRAY(kind)) for key, kind in columns.items()]
    return func.unnest(*arrays).table_valued(*(column(key.split("_", 1)[1], kind) for key, kind in columns.items()))


_ASK_COLUMNS = {
    "a_email": String,
    "a_name": String,
    "a_time_zone": String,
    "a_locale": String,
    "a_list_id": Integer,
    # JSON texts: a list of lists would bind as a two-dimensional array.
    "a_region_codes": String,
    "a_topic_slugs": String,
    "a_created_at": models.Subscriber.created_at.type,
    "a_today": Date,
}


@cache
def _asks_in_one() -> Select[Any]:
    """`record_asks` on PostgreSQL as one statement: the people, the subscriptions, the form mails, and the
    pick rows (only of a subscription the form may change; a row already there stays, one no longer picked
    goes). A row a request: id, email, name, locale, form_mails_sent, status."""
    ask = select(_unnest(_ASK_COLUMNS).render_derived(name="requests")).cte("ask")
    person_values = select(
        ask.c.email, ask.c.name, ask.c.time_zone, ask.c.locale, ask.c.created_at, ask.c.today, literal(1)
    )
    person = _person_upsert(
        postgresql.insert(models.Subscriber).from_select(
            ["email", "name", "time_zone", "locale", "created_at", "form_mails_day", "form_mails_sent"], person_values
        )
    ).cte("person")
    membership_values = select(
        ask.c.list_id, person.c.id, literal(SubscriptionStatus.PENDING.value), cast(ask.c.region_codes, JSON),
        cast(ask.c.topic_slugs, JSON), ask.c.created_at,
    ).join(person, person.c.email == ask.c.email)  # fmt: skip
    membership = _picks_upsert(
        postgresql.insert(models.Subscription).from_select(
            ["list_id", "subscriber_id", "status", "region_codes", "topic_slugs", "created_at"], membership_values
        )
    ).cte("membership")
    each = person.join(membership, membership.c.subscriber_id == person.c.id)
    kind = case((membership.c.status == SubscriptionStatus.CONFIRMED, KNOWN), else_=CONFIRM)
    mails = insert(models.FormMail).from_select(
        _MAIL_COLUMNS,
        select(person.c.id, membership.c.list_id, kind, ask.c.created_at, literal(0))
        .select_from(each.join(ask, ask.c.email == person.c.email))
        .where(person.c.form_mails_sent <= FORM_MAILS_PER_DAY, _not_suppressed(person.c.email)),
    )
    changed = (
        select(membership.c.id, membership.c.list_id, person.c.email)
        .select_from(each)
        .where(membership.c.status != SubscriptionStatus.CONFIRMED)
        .cte("changed")
    )
    statement = select(person, membership.c.status).select_from(each).add_cte(mails.cte("form_mail"))
    for table, pick, kind_of in (
        (models.SubscriptionRegion, "region_code", "regions"),
        (models.SubscriptionTopic, "topic_slug", "topics"),
    ):
        statement = statement.add_cte(*_pick_rows(changed, table, pick, kind_of))
    return statement


def _pick_rows(changed: Any, table: Any, pick: str, kind_of: str) -> tuple[Any, Any]:
    """The CTEs that make `table`'s rows of the changed subscriptions the pairs <kind_of>_email/_pick say."""
    pairs = _unnest({f"{kind_of}_email": String, f"{kind_of}_pick": String}).render_derived(name=f"{kind_of}_picked")
    wanted = (
        select(changed.c.id, pairs.c.pick, changed.c.list_id)
        .join(pairs, pairs.c.email == changed.c.email)
        .cte(f"{table.__tablename__}_wanted")
    )
    value = getattr(table, pick)
    gone = delete(table).where(
        table.subscription_id.in_(select(changed.c.id)),
        tuple_(table.subscription_id, value).not_in(select(wanted.c.id, wanted.c.pick)),
    )
    new = postgresql.insert(table).from_select(["subscription_id", pick, "list_id"], select(wanted))
    return gone.cte(f"{table.__tablename__}_gone"), new.on_conflict_do_nothing().cte(f"{table.__tablename__}_new")
