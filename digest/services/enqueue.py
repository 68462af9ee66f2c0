"""Filling an issue's ledger: one row per confirmed subscriber, written by the database itself."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Insert, and_, case, literal, null, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.columns import utcnow
from digest.adapters.storage.planner import refresh_statistics
from digest.core.schedule import Slot, due_at
from digest.core.statuses import DeliveryStatus, SubscriptionStatus

_FRESH_STATISTICS_FROM = 1000  # new rows; below this a poor plan costs little


def enqueue_deliveries(session: Session, issue: models.Issue, slot: Slot | None = None) -> int:
    """A ledger row for every confirmed subscriber who has none yet; returns how many were new.

    With a slot, each row is due at the slot in the subscriber's own time zone;
    without, it is due now. One INSERT … SELECT in the database, whatever the list's
    size: no subscriber passes through Python (a million took minutes and gigabytes so).
    """
    sub, person, row = models.Subscription, models.Subscriber, models.Delivery
    members = and_(sub.list_id == issue.list_id, sub.status == SubscriptionStatus.CONFIRMED)
    if session.scalar(select(row.id).where(row.issue_id == issue.id).limit(1)) is not None:
        # A week planned before (a second `digest send`): skip whoever has a row. Not asked on the
        # first planning, where ON CONFLICT alone suffices: with statistics calling the ledger empty,
        # the planner checked each new row by scanning the ledger, which grew as the INSERT filled
        # it (a minute at 100,000 subscribers). Fresh statistics here keep it off that plan too.
        refresh_statistics(session, models.Delivery.__tablename__)
        members = and_(
            members,
            ~select(row.id).where(row.issue_id == issue.id, row.subscriber_id == sub.subscriber_id).exists(),
        )
    due = _due_in_each_zone(session, issue, slot, members)
    written = utcnow()  # the column's default, which an INSERT … SELECT does not fill in
    chosen = (
        select(
            literal(issue.id),
            sub.subscriber_id,
            literal(DeliveryStatus.PENDING, row.status.type),
            literal(0),
            literal(0),
            due,
            literal(written, row.updated_at.type),
        )
        .join(person, person.id == sub.subscriber_id)
        .where(members)
    )
    columns = ["issue_id", "subscriber_id", "status", "attempts", "article_count", "due_at", "updated_at"]
    # Two planners at once: the second's rows already there are left as they are.
    statement = _insert_ignoring_duplicates(session).from_select(columns, chosen)
    session.flush()  # the SELECT reads the subscriptions as this session left them
    # On the session's connection, as Core, and asked to keep the count: SQLAlchemy keeps an
    # INSERT's rowcount only when told to, and the ORM's bulk path would not report it at all.
    added = session.connection().execute(statement.execution_options(preserve_rowcount=True)).rowcount
    if added >= _FRESH_STATISTICS_FROM:
        refresh_statistics(session, models.Delivery.__tablename__)
    return added


def _insert_ignoring_duplicates(session: Session) -> Insert:
    unique = ["issue_id", "subscriber_id"]
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(models.Delivery).on_conflict_do_nothing(index_elements=unique)
    return sqlite_insert(models.Delivery).on_conflict_do_nothing(index_elements=unique)


def _due_in_each_zone(
    session: Session, issue: models.Issue, slot: Slot | None, members: ColumnElement[bool]
) -> ColumnElement[datetime | None]:
    """The slot's moment in each subscriber's zone, as a CASE over the few zones the list's readers live in."""
    due_type = models.Delivery.due_at.type
    if slot is None:
        return null()  # type: ignore[return-value]  # NULL: due now
    slot_date = issue.period_end + timedelta(days=1)
    zones = session.scalars(
        select(models.Subscriber.time_zone)
        .join(models.Subscription, models.Subscription.subscriber_id == models.Subscriber.id)
        .where(members)
        .distinct()
    ).all()
    moments = {}
    for zone_name in zones:
        with suppress(ValueError):  # a zone this system does not know: the list's own (the CASE's else)
            moments[zone_name] = due_at(slot, slot_date, zone_name or slot.tz)
    otherwise = literal(due_at(slot, slot_date, slot.tz), due_type)
    if not moments:
        return otherwise
    return case(
        {zone: literal(moment, due_type) for zone, moment in moments.items()},
        value=models.Subscriber.time_zone,
        else_=otherwise,
    )
