"""A batch's queued rows with everything needed to send each, read in two queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.adapters.storage.planner import checked_on_the_row
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
    # Articles of the issue this subscriber already received in another issue of the list.
    received: frozenset[int] = frozenset()


def load_rows(
    session: Session, delivery_ids: list[int], list_id: int, shared: Mapping[int, frozenset[int]] | None = None
) -> list[QueuedRow]:
    """The queued rows among `delivery_ids`; `shared` (IssueDigests.shared) marks what each reader received."""
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
    received = received_before(session, subscriber_ids, shared or {})
    rows = []
    for r in deliveries:
        p = people.get(r.subscriber_id)
        if p is not None:  # deleted meanwhile (its rows go with it)
            picks = Picks(frozenset(p[5] or ()), frozenset(p[6] or ()))
            rows.append(
                QueuedRow(
                    *(r.id, r.attempts, r.due_at, r.message_id, p[0], p[1], p[2], p[3], p[4], picks, bool(p[7])),
                    locale=p[8],
                    received=received.get(p[0], frozenset()),
                )
            )
    return rows


def received_before(
    session: Session, subscriber_ids: list[int], shared: Mapping[int, frozenset[int]]
) -> dict[int, frozenset[int]]:
    """Per subscriber, the articles of `shared` their sent copies of those issues held.

    One query by the (issue, subscriber) key for the batch's readers and the few overlapping issues; a
    copy that recorded no articles (sent before copies kept them) counts as holding all its issue shared.
    """
    if not shared or not subscriber_ids:
        return {}
    d = models.Delivery
    copies = session.execute(
        select(d.subscriber_id, d.issue_id, d.article_ids).where(
            d.issue_id.in_(list(shared)),
            among(session, d.subscriber_id, subscriber_ids),
            # Found by the (issue, subscriber) key: through the status index it would read every sent row of an issue.
            checked_on_the_row(d.__table__.c.status) == DeliveryStatus.SENT,
        )
    )
    received: dict[int, set[int]] = {}
    for copy in copies:
        ids = shared[copy.issue_id]
        held = ids if copy.article_ids is None else ids.intersection(copy.article_ids)
        received.setdefault(copy.subscriber_id, set()).update(held)
    return {subscriber: frozenset(ids) for subscriber, ids in received.items() if ids}
