"""What the confirmed page tells a new subscriber: the picks they made, by name, and when their first issue
comes (the list's next slot that is not planned yet, in their own time zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from digest.adapters.storage import models
from digest.core.regions import RegionIndex
from digest.core.schedule import due_at, next_slot_date, zone
from digest.services.issues import list_slot


@dataclass(frozen=True)
class Welcome:
    """`regions` and `topics` by name, in the list's order; empty means every one. `first_issue` is an instant
    in the subscriber's zone (`time_zone`), or None when the list is sent by hand only."""

    regions: list[str]
    topics: list[str]
    first_issue: datetime | None
    time_zone: str


def welcome(sub: models.Subscription, regions: RegionIndex, now: datetime) -> Welcome:
    ml = sub.list
    picked_topics = set(sub.topic_slugs or ())
    topics = [topic.name for topic in ml.topics if topic.slug in picked_topics]
    # A code no longer in the index still shows, as itself: better a code than a pick silently missing.
    names = [regions.display(code) if code in regions else code for code in sub.region_codes or ()]
    time_zone = sub.subscriber.time_zone or ml.time_zone
    first = None
    if ml.schedule_enabled:
        slot = list_slot(ml)
        try:
            first = due_at(slot, next_slot_date(slot, now), time_zone).astimezone(zone(time_zone))
        except ValueError:  # a zone stored before zones were checked: the list's own
            time_zone = ml.time_zone
            first = due_at(slot, next_slot_date(slot, now), time_zone).astimezone(zone(time_zone))
    return Welcome(names, topics, first, time_zone)
