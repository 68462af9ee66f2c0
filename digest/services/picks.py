"""The picks index: each subscription's regions and topics as rows, beside the JSON columns they mirror."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session


def store_picks(session: Session, subscription_ids: Sequence[int]) -> None:
    """Rebuild the picks index of these subscriptions from their JSON columns (region_codes, topic_slugs).

    A stand-in until the index's tables exist: it does nothing yet, and its callers already call it
    wherever picks are written in bulk.
    """
