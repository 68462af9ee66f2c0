"""One subscriber's deliveries on a list, newest first, a page at a time, and the issue a preview of their copy
shows; for the console's subscriber page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.services.paging import Cursor, keyset_page

HISTORY_PAGE = 20  # a weekly list's five months; a subscriber of years pages back


@dataclass(frozen=True)
class Delivered:
    """One issue as it went to the subscriber: `reason` is the ledger's code (the page words it)."""

    issue_id: int
    issue_number: int
    period_end: date
    status: str
    sent_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class History:
    rows: list[Delivered]
    older: int | None  # the next page's cursor (`after`); None on the last page
    newer: int | None  # the page before's cursor (`before`); None on the first page


def delivery_history(session: Session, ml: models.MailingList, subscriber_id: int, cursor: Cursor) -> History:
    """A page of the subscriber's ledger rows of `ml`'s issues, newest row first: read through the
    deliveries(subscriber_id) index, so hundreds of rows cost one page's."""
    d, i = models.Delivery, models.Issue
    columns: tuple[Any, ...] = (d.id, i.id, i.number, i.period_end, d.status, d.sent_at, d.reason)
    query = select(*columns).join(i, i.id == d.issue_id).where(d.subscriber_id == subscriber_id, i.list_id == ml.id)
    page = keyset_page(session, query, d.id, cursor, newest_first=True)
    rows = [Delivered(*tuple(r)[1:]) for r in page.rows]  # the first column is the cursor (the delivery id)
    return History(rows, page.next_after, page.prev_before)


def preview_issue(session: Session, ml: models.MailingList) -> tuple[int, int] | None:
    """The id and number of the issue a preview of someone's copy shows: the list's latest (the next to go, or
    the last that went); None before the first."""
    i = models.Issue
    latest = select(i.id, i.number).where(i.list_id == ml.id).order_by(i.period_end.desc(), i.id.desc()).limit(1)
    found = session.execute(latest).first()
    return (found[0], found[1]) if found else None
