"""A list's subscribers, read as a stream: exports and listings hold a chunk in memory, never the list.

At a million subscribers, loading every row first took gigabytes and minutes before the
first byte; the admin export also passed every id as a parameter, past PostgreSQL's 65,535.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session, joinedload

from digest.adapters.storage import models
from digest.core.regions import RegionIndex
from digest.services.subscriber_editing import SubscriberQuery, list_members, members

CHUNK = 1000  # rows fetched at a time: enough to keep round trips few, small enough to keep memory flat


def stream_subscriptions(
    session: Session, ml: models.MailingList, regions: RegionIndex, query: SubscriberQuery | None = None
) -> Iterator[models.Subscription]:
    """The list's subscriptions, oldest first, with their subscribers, `query`'s filters applied as they come."""
    sub = models.Subscription
    query = query or SubscriberQuery()
    where = list_members(session, ml, regions, query)
    if query.status:
        where.append(sub.status == query.status)
    yield from session.scalars(
        members(query, sub)
        .where(*where)
        .options(joinedload(sub.subscriber))
        .order_by(sub.id)
        .execution_options(yield_per=CHUNK)
    )
