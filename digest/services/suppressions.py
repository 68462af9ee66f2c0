"""Suppressions: addresses the sender skips on every list, whatever their subscriptions say."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.services import NotFound
from digest.services.subscribers import InvalidSubscriber, normalise_email
from digest.services.text_search import contains, plan_for_the_term
from digest.services.validation import FieldError, Invalid

MAX_REASON = 300  # models.Suppression.reason


def suppressed_emails(session: Session, emails: Iterable[str]) -> set[str]:
    emails = list(emails)
    if not emails:
        return set()
    return set(session.scalars(select(models.Suppression.email).where(models.Suppression.email.in_(emails))))


def search_suppressions(
    session: Session, text: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[list[models.Suppression], int]:
    row = models.Suppression
    where = []
    if text.strip():
        plan_for_the_term(session)
        where.append(or_(contains(row.email, text.strip()), contains(row.reason, text.strip())))
    total = session.scalar(select(func.count()).select_from(row).where(*where)) or 0
    found = session.scalars(
        select(row).where(*where).order_by(row.created_at.desc(), row.id.desc()).offset(offset).limit(limit)
    )
    return list(found), total


@dataclass(frozen=True)
class DecidingEvent:
    """The mail event that put an address on the list: where it came from and what it said."""

    id: int
    kind: str  # digest.core.bounces.events.EventKind
    source: str  # "mailbox", "ses", "mailgun", "postmark", "sendgrid"
    status: str  # the enhanced status code, when one was given
    detail: str
    raw_ref: str
    created_at: datetime


@dataclass(frozen=True)
class SuppressionView:
    """One suppression as the console and the API show it: why, what kind of thing decided, and the event."""

    id: int
    email: str
    reason: str
    kind: str  # "admin", "bounce" (refused during the send), "hard_bounce", "complaint", "soft_bounce", "import"
    created_at: datetime
    event: DecidingEvent | None


def describe_suppressions(session: Session, rows: Sequence[models.Suppression]) -> list[SuppressionView]:
    """`rows` with the events that decided them, read in one query."""
    ids = {r.event_id for r in rows if r.event_id is not None}
    events: dict[int, DecidingEvent] = {}
    if ids:
        found = session.scalars(select(models.MailEventRow).where(models.MailEventRow.id.in_(ids)))
        events = {
            e.id: DecidingEvent(e.id, e.kind, e.source, e.status, e.detail, e.raw_ref, e.created_at) for e in found
        }
    return [
        SuppressionView(
            r.id, r.email, r.reason, r.kind, r.created_at, events.get(r.event_id) if r.event_id is not None else None
        )
        for r in rows
    ]


def find_suppressions(
    session: Session, text: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[list[SuppressionView], int]:
    """search_suppressions, each row with its kind and deciding event."""
    rows, total = search_suppressions(session, text, limit=limit, offset=offset)
    return describe_suppressions(session, rows), total


def add_suppression(session: Session, email: str, reason: str) -> tuple[models.Suppression, bool]:
    """Suppress an address (created=False when it was already; its reason is then updated)."""
    errors: dict[str, FieldError] = {}
    try:
        # The sender compares with subscribers' stored addresses, which went through the same normalising.
        address = normalise_email(email)
    except InvalidSubscriber:
        errors["email"] = FieldError("subs_err_email", {"value": email.strip()[:320]})
    reason = " ".join(reason.split())
    if not reason:
        errors["reason"] = FieldError("subs_err_required", {})
    elif len(reason) > MAX_REASON:
        errors["reason"] = FieldError("subs_err_too_long", {"max": MAX_REASON})
    if errors:
        raise Invalid(errors)
    # The sender compares addresses exactly; a subscriber stored as Li.Wei@… must not slip past li.wei@….
    address = (
        session.scalar(
            select(models.Subscriber.email)
            .where(func.lower(models.Subscriber.email) == address.lower())
            .order_by(models.Subscriber.id)
        )
        or address
    )
    row = session.scalar(select(models.Suppression).where(models.Suppression.email == address))
    created = row is None
    if row is None:
        row = models.Suppression(email=address, reason=reason)
        session.add(row)
    else:
        row.reason = reason
    session.flush()
    return row, created


def remove_suppression(session: Session, *, suppression_id: int | None = None, email: str | None = None) -> str:
    """Lift a suppression, by id or by address; returns the address. NotFound when there is none."""
    row = None
    if suppression_id is not None:
        row = session.get(models.Suppression, suppression_id)
    elif email is not None:
        try:
            address = normalise_email(email)
        except InvalidSubscriber:
            address = email.strip()
        rows = session.scalars(
            select(models.Suppression).where(func.lower(models.Suppression.email) == address.lower())
        ).all()
        exact = [r for r in rows if r.email == address]
        row = exact[0] if exact else rows[0] if len(rows) == 1 else None
    if row is None:
        raise NotFound("no such suppression")
    address = row.email
    session.delete(row)
    # Lifted by a person: the soft bounces that led here start again from nothing, or the next one would
    # suppress the address again at once.
    person = select(models.Subscriber.id).where(func.lower(models.Subscriber.email) == address.lower())
    session.execute(
        update(models.Subscription)
        .where(models.Subscription.subscriber_id.in_(person.scalar_subquery()))
        .values(bounce_score=0.0, bounce_scored_at=None)
    )
    session.flush()
    return address
