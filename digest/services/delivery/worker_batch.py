"""A worker's batch: send it over one SMTP connection, then hand out the issue's next one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from digest.services.delivery.batches import released_on_error, send_batch
from digest.services.delivery.handout import BATCH_SIZE, hand_out_next
from digest.services.delivery.pacing import list_pace
from digest.services.delivery.sender import SendReport
from digest.services.issues import unclaim

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

log = logging.getLogger(__name__)


def run_batch(runtime: Runtime, issue_id: int, delivery_ids: list[int], *, chain: bool = True) -> dict[str, object]:
    """Send one batch, then, if `chain`, hand out the issue's next due rows through the runtime's broker.

    With ticks alone, an issue would go no faster than DISPATCH_LIMIT rows per
    tick (20,000 per 30 s: 667 a second, whatever the workers could do). Each
    batch replacing itself keeps the broker as full as the tick left it, claims
    rows just before they go (a pause stops the chain at once), and leaves the
    rest to the ticks: deferred rows, other issues, a chain broken by a crash.
    """
    with released_on_error(runtime, delivery_ids):
        try:
            transport = runtime.open_transport()
        except (ValueError, OSError) as exc:  # DIGEST_SMTP_URL malformed, the outbox not writable
            with runtime.transaction() as session:
                unclaim(session, delivery_ids)
            report = SendReport(issue_id, halted=f"cannot open the transport: {exc}")
        else:
            with transport:
                pace = list_pace(runtime, issue_id)
                report = send_batch(runtime, issue_id, delivery_ids, transport, pace=pace)
    if report.halted:
        # Templates, settings, the server: nothing of this issue can go until someone fixes it.
        # The batch's rows are pending again; the next tick hands them out once more.
        log.error("issue %s: sending stopped, no delivery marked failed: %s", issue_id, report.halted)
    handed_out = 0
    if chain and not report.halted:
        handed_out = hand_out_next(runtime, issue_id, len(delivery_ids) or BATCH_SIZE)
    return {"issue": issue_id, "counts": report.counts, "halted": report.halted, "handed_out": handed_out}
