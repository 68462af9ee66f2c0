"""The beat's part of the loop: the poll of the bounce mailbox, and the sweep of events a webhook stored but
no worker decided (its task lost, the broker down; digest.services.webhook_intake stores them)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from digest.adapters.mailboxes import MailboxError
from digest.adapters.storage import models
from digest.services.bounces.applying import apply_events
from digest.services.bounces.polling import SEEN_ON_POP3, poll_mailbox
from digest.services.bounces.recording import PENDING

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

log = logging.getLogger(__name__)
# An event a webhook stored but no worker decided within this is taken by the next beat: its task was lost.
SWEEP_AFTER = timedelta(minutes=2)
# Webhook nonces kept this long: well past every provider's timestamp window (SNS's hour; Mailgun's and
# SendGrid's minutes), after which a replay is refused by its age. Postmark signs nothing and has no
# window: a replay of one of its requests after this is still applied once, its events' keys being stored.
NONCES_KEPT = timedelta(days=7)


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
    if report.busy:
        return {"swept": swept, "busy": True}
    return {"swept": swept, "mails": report.mails, "events": report.events, "unparsed": report.unparsed}


def _sweep(runtime: Runtime) -> int:
    now = runtime.clock.now()
    e, n = models.MailEventRow, models.WebhookNonce
    with runtime.transaction() as session:
        # The POP3 mail a poll has read stays on the server: its marks stay as long (digest.services.bounces.polling).
        session.execute(delete(n).where(n.provider != SEEN_ON_POP3, n.seen_at < now - NONCES_KEPT))
        waiting = list(
            session.scalars(select(e.id).where(e.decision == PENDING, e.created_at < now - SWEEP_AFTER).limit(5000))
        )
        return len(apply_events(session, waiting, now)) if waiting else 0
