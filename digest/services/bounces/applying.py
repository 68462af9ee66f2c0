"""The policy, applied: what each stored event does to the address, its subscriptions and its delivery.

    hard bounce   the address is suppressed; the bounce is noted on the copy's ledger row
    complaint     suppressed, and unsubscribed from every list, with the complaint as the reason
    unsubscribe   that subscription is left (the mail to the List-Unsubscribe address), and nothing answers it
    soft bounce   the subscription's score grows (digest/core/bounces/policy.py); at the list's threshold the
                  address is suppressed
    auto-reply    recorded, nothing done

Each event row gets its decision and why, so every suppression can be traced to the mail or the webhook
event that caused it, and undone (digest.services.suppressions.remove_suppression).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.bounces.events import EventKind
from digest.core.bounces.policy import Score, add_soft_bounce, decayed, over_threshold
from digest.core.statuses import DeliveryStatus, SubscriptionStatus
from digest.services.bounces.recording import PENDING, UNSIGNED_SOURCE

SUPPRESSED, UNSUBSCRIBED, SCORED, IGNORED, NOTHING = "suppressed", "unsubscribed", "scored", "ignored", "nothing"


@dataclass(frozen=True)
class Decision:
    event_id: int
    kind: str
    email: str | None
    decision: str
    detail: str


def apply_events(session: Session, event_ids: Iterable[int], now: datetime) -> list[Decision]:
    """Decides each pending event of `event_ids`, in the order they were stored; one decided already is left.

    On PostgreSQL the rows are locked as they are read, so two workers given the same ids decide each once.
    """
    e = models.MailEventRow
    query = select(e).where(among(session, e.id, list(event_ids)), e.decision == PENDING).order_by(e.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    decisions = []
    rows = list(session.scalars(query))
    for row in rows:
        row.decision, row.decision_detail = _decide(session, row, now)
        row.decision_detail = row.decision_detail[:300]
        decisions.append(Decision(row.id, row.kind, row.email, row.decision, row.decision_detail))
    session.flush()
    return decisions


def _decide(session: Session, row: models.MailEventRow, now: datetime) -> tuple[str, str]:
    if row.kind == EventKind.AUTO_REPLY:
        return IGNORED, "an automatic reply: nothing to do"
    if row.email is None:
        return NOTHING, "names no address of a subscriber (deleted since, or never one of ours)"
    if row.source == UNSIGNED_SOURCE and row.delivery_id is None and row.subscriber_id is None:
        # Anyone can write to the bounce mailbox: only a signed return path or token may suppress anyone.
        return NOTHING, _words("unsigned", "names no copy of ours by a valid return path: left for a person")
    if row.kind == EventKind.HARD_BOUNCE:
        _note_on_copy(session, row)
        why = _words("hard bounce", row.status, row.detail)
        created = suppress_for_event(session, row, "hard_bounce", why)
        return SUPPRESSED, why if created else f"{why} (already suppressed)"
    if row.kind == EventKind.COMPLAINT:
        left = _leave(session, row, now, every_list=True)
        why = _words("spam complaint", row.detail, f"left {left} list(s)" if left else "")
        suppress_for_event(session, row, "complaint", why)
        return UNSUBSCRIBED, why
    if row.kind == EventKind.UNSUBSCRIBE:
        if row.list_id is None:
            return NOTHING, "names no list (a provider's unsubscribe of no copy of ours): nothing left"
        left = _leave(session, row, now, every_list=False)
        how = "by mail to the List-Unsubscribe address" if row.source == UNSIGNED_SOURCE else f"through {row.source}"
        return (UNSUBSCRIBED, f"left {how}") if left else (NOTHING, "had left already")
    if row.kind == EventKind.SOFT_BOUNCE:
        return _score(session, row, now)
    return NOTHING, f"unknown kind {row.kind!r}"


def _words(*parts: str) -> str:
    return ": ".join(p for p in (" ".join(part.split()) for part in parts) if p)


def _note_on_copy(session: Session, row: models.MailEventRow) -> None:
    """Writes the later bounce on the copy's ledger row. Its status stays "sent" (the server took it; the
    sender page counts the bounce from the event, and refusals during the send from "bounced" rows)."""
    if row.delivery_id is None:
        return
    d = models.Delivery
    session.execute(
        update(d)
        .where(d.id == row.delivery_id, d.status == DeliveryStatus.SENT)
        .values(last_error=_words("bounced later", row.status, row.detail))
    )


def _subscriptions(session: Session, row: models.MailEventRow, every_list: bool) -> list[models.Subscription]:
    s = models.Subscription
    if row.subscriber_id is None:
        return []
    query = select(s).where(s.subscriber_id == row.subscriber_id, s.status != SubscriptionStatus.UNSUBSCRIBED)
    if not every_list and row.list_id is not None:
        query = query.where(s.list_id == row.list_id)
    return list(session.scalars(query.order_by(s.id)))


def _leave(session: Session, row: models.MailEventRow, now: datetime, *, every_list: bool) -> int:
    subs = _subscriptions(session, row, every_list)
    if not every_list and row.list_id is None:
        return 0  # an unsubscribe names its list; without one, leaving every list would be more than asked
    for sub in subs:
        sub.status, sub.unsubscribed_at = SubscriptionStatus.UNSUBSCRIBED, now
    return len(subs)


def _score(session: Session, row: models.MailEventRow, now: datetime) -> tuple[str, str]:
    """Adds the soft bounce to the subscription's score (every live one of the address when the list is not
    known); suppresses the address when a list's threshold is reached."""
    subs = [sub for sub in _subscriptions(session, row, every_list=False) if sub.status == SubscriptionStatus.CONFIRMED]
    if not subs:
        return NOTHING, _words("soft bounce", row.status, "no confirmed subscription to score")
    notes, over = [], None
    for sub in subs:
        score, counted = add_soft_bounce(Score(sub.bounce_score, sub.bounce_scored_at), now)
        sub.bounce_score, sub.bounce_scored_at = score.value, score.at
        threshold = sub.list.bounce_threshold
        notes.append(f"{sub.list.slug} {decayed(score, now):.2f}/{threshold:g}" + ("" if counted else " (once a day)"))
        if over is None and over_threshold(score, now, threshold):
            over = sub.list.slug
    scores = "score " + ", ".join(notes)
    if over is None:
        return SCORED, _words("soft bounce", row.status, scores)
    why = _words("soft bounces", f"{scores}: the threshold of {over} reached")
    suppress_for_event(session, row, "soft_bounce", why)
    return SUPPRESSED, why


def suppress_for_event(session: Session, row: models.MailEventRow, kind: str, why: str) -> bool:
    """Suppresses the event's address (True) unless it is already (False: its first reason stays)."""
    sup = models.Suppression
    address = row.email or ""
    if session.scalar(select(sup.id).where(func.lower(sup.email) == address.lower())) is not None:
        return False
    session.add(sup(email=address, reason=why[:300], kind=kind, event_id=row.id, created_at=row.created_at))
    session.flush()
    return True
