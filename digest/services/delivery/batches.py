"""Sending an issue's rows: one batch (a worker's task), or every due row here and now (no broker)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from sqlalchemy import update

from digest.adapters.storage import models
from digest.adapters.transports import Transport
from digest.core.statuses import DeliveryStatus
from digest.services.delivery.digests import IssueDigests, sending_digests
from digest.services.delivery.pacing import list_pace
from digest.services.delivery.rows import load_rows
from digest.services.delivery.sender import AT_ONCE, Pace, Sender, SendReport
from digest.services.issues import claim_due, finish_if_done, sweep_stale, unclaim

if TYPE_CHECKING:
    from digest.services.runtime import Runtime


def send_batch(
    runtime: Runtime,
    issue_id: int,
    delivery_ids: list[int],
    transport: Transport,
    *,
    issue: IssueDigests | None = None,
    pace: Pace = AT_ONCE,
) -> SendReport:
    """Send the queued rows among `delivery_ids`; rows someone else took, or of a paused issue, are left."""
    with runtime.transaction() as session:
        if issue is None:
            issue = sending_digests(runtime, session, issue_id)
        rows = load_rows(session, delivery_ids, issue.list_id, issue.shared)
    return Sender(runtime, issue, transport, pace).send(rows)


def send_pending(
    runtime: Runtime, issue_id: int, transport: Transport, *, batch_size: int = 100, pace: Pace = AT_ONCE
) -> SendReport:
    """In-process: send every due row of the issue once; returns what became of them in this run.

    A row deferred by a temporary failure waits for the next run, which tries it
    whatever its backoff says: a person running `digest send` means now. The list's rate limit holds here
    as in the workers (one throttle for the whole run), unless `pace` brings its own.
    """
    if pace.throttle is AT_ONCE.throttle:
        pace = list_pace(runtime, issue_id, pace.progress)
    report = SendReport(issue_id=issue_id)
    clock = runtime.clock
    with runtime.transaction() as session:
        sweep_stale(session, now=clock.now(), lease=runtime.settings.lease)
        issue = sending_digests(runtime, session, issue_id)
    tried: set[int] = set()
    while not report.halted:
        with runtime.transaction() as session:
            claims = claim_due(session, limit=batch_size, now=clock.now(), issue_id=issue_id, respect_backoff=False)
            batch = claims.get(issue_id, [])
            fresh = [d for d in batch if d not in tried]
            if len(fresh) < len(batch):
                # Deferred earlier in this run: leave them for the next run.
                session.execute(
                    update(models.Delivery)
                    .where(models.Delivery.id.in_(set(batch) - set(fresh)))
                    .values(status=DeliveryStatus.PENDING)
                )
        if not fresh:
            break
        tried.update(fresh)
        with released_on_error(runtime, fresh):
            report.merge(send_batch(runtime, issue_id, fresh, transport, issue=issue, pace=pace))
    with runtime.transaction() as session:
        finish_if_done(session, issue_id, now=clock.now())
    report.renders = len(issue.contents)
    return report


@contextmanager
def released_on_error(runtime: Runtime, delivery_ids: list[int]) -> Iterator[None]:
    """Rows of a batch that an unexpected error (or Ctrl-C) stopped go back to pending now, not after the lease.

    Only rows still `queued`: none of their messages can have left. A row caught
    `sending` may have reached the server, so it waits for the sweeper as after a crash.
    """
    try:
        yield
    except BaseException:
        with suppress(Exception), runtime.transaction() as session:
            unclaim(session, delivery_ids)
        raise
