"""A batch's queued rows with everything needed to send each, read in two queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.domain import Picks
from digest.core.statuses import DeliveryStatus


@dataclass
class QueuedRow:
    """One queued delivery and its subscriber."""

    id: int
    attempts: int
    due_at: datetime | None
    message_id: str | None
    subscriber_id: int
    email: str
    name: str
    subscription_status: str | None
    paused_until: date | None
    picks: Picks
    suppressed: bool
    locale: str = ""  # the language they chose


def load_rows(session: Session, delivery_ids: list[int], list_id: int) -> list[QueuedRow]:
    d, s, sub = models.Delivery, models.Subscriber, models.Subscription
    # Each table read by its own key, in two queries. Joined in one, the planner
    # preferred hashing the whole subscribers table to 500 index probes: every batch
    # read every subscriber, and a send grew with the square of the list. By id alone
    # for the rows: with the status in the query it could read every queued row of the
    # issue through the status index. The status is checked here instead.
    deliveries = [
        r
        for r in session.execute(
            select(d.id, d.attempts, d.due_at, d.message_id, d.subscriber_id, d.status)
            .where(among(session, d.id, delivery_ids))
            .order_by(d.id)
        )
        if r.status == DeliveryStatus.QUEUED
    ]
    subscriber_ids = [r.subscriber_id for r in deliveries]
    suppressed = select(models.Suppression.id).where(models.Suppression.email == s.email).exists()
    people = {
        r[0]: r
        for r in session.execute(
            select(
                s.id,
                s.email,
                s.name,
                sub.status,
                sub.paused_until,
                sub.region_codes,
                sub.topic_slugs,
                suppressed,
                s.locale,
            )
            .outerjoin(
                sub,
                (sub.subscriber_id == s.id)
                & (sub.list_id == list_id)
                & among(session, sub.subscriber_id, subscriber_ids),
            )
            .where(among(session, s.id, subscriber_ids))
        )
    }
    rows = []
    for r in deliveries:
        p = people.get(r.subscriber_id)
        if p is not None:  # deleted meanwhile (its rows go with it)
            picks = Picks(frozenset(p[5] or ()), frozenset(p[6] or ()))
            rows.append(
                QueuedRow(
                    r.id, r.attempts, r.due_at, r.message_id, p[0], p[1], p[2], p[3], p[4], picks, bool(p[7]), p[8]
                )
            )
    return rows
