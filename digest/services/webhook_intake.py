"""Taking a verified provider webhook in: its nonce (a retry answered, a replay refused), its events recorded
once, the provider's health on its LoopSource row, and the policy applied afterwards, by a worker when there
is a broker and after the answer otherwise."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.bounces.webhooks import Verified
from digest.services.bounces import apply_events, note_source, record_events
from digest.services.runtime import Runtime

log = logging.getLogger(__name__)

NONCE_CHARS = 200  # WebhookNonce.nonce
ERROR_CHARS = 500


class Seen(StrEnum):
    NEW = "new"  # first time: its events were recorded
    RETRY = "retry"  # the same nonce and body again: the provider retrying; answered, nothing new
    REPLAY = "replay"  # the same nonce with another body: refused


@dataclass(frozen=True)
class Intake:
    seen: Seen
    event_ids: list[int]


def seen_before(session: Session, provider: str, nonce: str, body_sha256: str) -> Seen | None:
    """RETRY or REPLAY when this provider's `nonce` was recorded before, None when it is new."""
    stored = session.scalar(
        select(models.WebhookNonce.body_sha256).where(
            models.WebhookNonce.provider == provider, models.WebhookNonce.nonce == nonce[:NONCE_CHARS]
        )
    )
    if stored is None:
        return None
    return Seen.RETRY if stored == body_sha256 else Seen.REPLAY


def take_verified(session: Session, provider: str, verified: Verified, body_sha256: str, now: datetime) -> Intake:
    """Records the request's nonce and its new events (decision pending), unless the nonce was seen."""
    seen = seen_before(session, provider, verified.nonce, body_sha256)
    if seen is not None:
        return Intake(seen, [])
    try:
        with session.begin_nested():  # the same request, delivered twice at once, is recorded once
            session.add(
                models.WebhookNonce(
                    provider=provider, nonce=verified.nonce[:NONCE_CHARS], body_sha256=body_sha256, seen_at=now
                )
            )
    except IntegrityError:
        return Intake(seen_before(session, provider, verified.nonce, body_sha256) or Seen.RETRY, [])
    ids = record_events(session, verified.events, now)
    note_taken(session, provider, len(ids), now)
    return Intake(Seen.NEW, ids)


def note_taken(session: Session, provider: str, events: int, now: datetime) -> None:
    note_source(session, provider, now, counts={"requests": 1, "events": events})


def note_refused(session: Session, provider: str, reason: str, now: datetime) -> None:
    """A request refused (a bad signature, a stale or replayed one) or one we could not take (a certificate
    that could not be fetched): the sender page shows the last such reason."""
    note_source(session, provider, now, error=reason[:ERROR_CHARS], counts={"refused": 1})


def apply_recorded(runtime: Runtime, event_ids: Sequence[int]) -> dict[str, int]:
    """Applies the policy to the recorded events `event_ids` (the worker's task, or after the answer); returns
    how many events each decision took."""
    with runtime.transaction() as session:
        decisions = apply_events(session, list(event_ids), runtime.clock.now())
    return dict(Counter(decision.decision for decision in decisions))


def hand_to_workers(runtime: Runtime, event_ids: Sequence[int]) -> bool:
    """Asks a worker to apply the events; False when there is no broker (the caller applies them itself) or
    it could not be reached (the rows stay pending for the lead's sweep of pending events to find)."""
    if runtime.broker is None:
        return False
    try:
        runtime.broker.apply_mail_events(list(event_ids))
    except Exception:
        log.warning("could not hand mail events %s to the workers; they stay pending", list(event_ids), exc_info=True)
    return True
