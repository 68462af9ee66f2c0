"""Where the loop's work arrives: a webhook's events (stored at once, acted on by a worker), the beat's poll of
the bounce mailbox, and the sweep of events a lost task left waiting."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from digest.adapters.mailboxes import MailboxError
from digest.adapters.storage import models
from digest.core.bounces.events import MailEvent
from digest.services.bounces.applying import apply_events
from digest.services.bounces.polling import poll_mailbox
from digest.services.bounces.recording import PENDING, record_events
from digest.services.bounces.sources import note_source

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

log = logging.getLogger(__name__)
# An event a webhook stored but no worker decided within this is taken by the next beat: its task was lost.
SWEEP_AFTER = timedelta(minutes=2)


def take_events(runtime: Runtime, events: Sequence[MailEvent], *, source: str) -> int:
    """Stores a webhook's events (those not stored before) and has a worker act on them; returns how many are new.

    Without a broker they are acted on here and now. With one, the request ends once they are stored: if the
    task is lost, the beat's sweep (`poll_bounces_now`) decides them a couple of minutes later.
    """
    now = runtime.clock.now()
    with runtime.transaction() as session:
        ids = record_events(session, events, now)
        note_source(session, source, now, counts={"events": len(ids)})
        if runtime.broker is None:
            apply_events(session, ids, now)
    if ids and runtime.broker is not None:
        try:
            runtime.broker.apply_mail_events(ids)
        except Exception:  # the events are stored: the sweep takes them
            log.warning("could not hand %d mail events to the workers; the beat's sweep will", len(ids), exc_info=True)
    return len(ids)


def apply_stored_events(runtime: Runtime, event_ids: Sequence[int]) -> int:
    with runtime.transaction() as session:
        return len(apply_events(session, event_ids, runtime.clock.now()))


def poll_bounces_now(runtime: Runtime) -> dict[str, object]:
    """The beat's task: the sweep, then the mailbox (when one is set). A mailbox that cannot be read is logged
    and kept in its health row (the sender page shows it); the next beat tries again."""
    swept = _sweep(runtime)
    if not runtime.settings.loop.mailbox_url:
        return {"swept": swept}
    try:
        report = poll_mailbox(runtime)
    except MailboxError as exc:
        log.warning("bounce mailbox: %s", exc)
        return {"swept": swept, "error": str(exc)}
    return {"swept": swept, "mails": report.mails, "events": report.events, "unparsed": report.unparsed}


def _sweep(runtime: Runtime) -> int:
    now = runtime.clock.now()
    e = models.MailEventRow
    with runtime.transaction() as session:
        waiting = list(
            session.scalars(select(e.id).where(e.decision == PENDING, e.created_at < now - SWEEP_AFTER).limit(5000))
        )
        return len(apply_events(session, waiting, now)) if waiting else 0
