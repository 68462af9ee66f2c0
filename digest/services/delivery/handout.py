"""Handing due rows out to the workers: the one way the tick, `digest send` with a broker, the console's
"send now" and a finished batch put rows on the broker."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from digest.services.form_mails import waiting_form_mails
from digest.services.issues import claim_due, finish_sending_issues, plan_due_issues, sweep_stale, unclaim

if TYPE_CHECKING:
    from digest.services.runtime import Broker, Runtime

log = logging.getLogger(__name__)

# Rows per send_batch task. Each batch pays once for its issue's context, its rows'
# query, a database connection and an SMTP connection; at 500 that is a few percent of
# its sending, and the batch still ends within a second or so, so an issue spreads
# over every worker and a lost worker's batch is soon redone.
BATCH_SIZE = 500
# How many rows one tick hands out at most. It sets how many batches wait in the
# broker, not how fast an issue goes: each batch that ends hands out the next one
# of its issue (see run_batch), so a send never waits for the next tick.
DISPATCH_LIMIT = 20_000


def hand_out(
    runtime: Runtime,
    broker: Broker,
    *,
    issue_id: int | None = None,
    respect_backoff: bool = True,
    batch_size: int = BATCH_SIZE,
    limit: int | None = None,
) -> int:
    """Claims due rows (of `issue_id`, or of every issue) batch by batch and hands each to `broker`,
    until none is due or `limit` rows went. Returns how many went.

    A batch the broker refuses, and any claimed with it, go back to pending at once and the error
    is raised: nothing waits for the lease.
    """
    handed = 0
    while limit is None or handed < limit:
        with runtime.transaction() as session:
            batches = claim_due(
                session, limit=batch_size, now=runtime.clock.now(), issue_id=issue_id, respect_backoff=respect_backoff
            )
        if not batches:
            break
        waiting = list(batches.items())
        claimed = sum(len(ids) for _, ids in waiting)
        try:
            while waiting:
                issue, ids = waiting[0]
                broker.hand_out(issue, ids)
                handed += len(ids)
                waiting.pop(0)
        except BaseException:
            with runtime.transaction() as session:
                unclaim(session, [i for _, ids in waiting for i in ids])
            raise
        if claimed < batch_size:
            break  # nothing more is due now
    return handed


def hand_to_workers(runtime: Runtime, issue_id: int) -> int | None:
    """Where "send this issue now" decides between the workers and this process: with a broker, every
    due row of the issue goes to the workers now and this returns how many; without one, None, and
    the caller sends here (delivery.now)."""
    if runtime.broker is None:
        return None
    return hand_out(runtime, runtime.broker, issue_id=issue_id, respect_backoff=False)


def tick(runtime: Runtime, *, batch_size: int = BATCH_SIZE) -> dict[str, object]:
    """Plan what is due, sweep what is stuck, hand due rows out in batches."""
    if runtime.broker is None:
        raise RuntimeError("a tick hands rows to a broker; this runtime has none")
    with runtime.transaction() as session:
        now = runtime.clock.now()  # DIGEST_NOW sets it in a worker's environment
        planned = plan_due_issues(session, now=now)
        idle = _queue_idle(runtime.broker)
        swept = sweep_stale(session, now=now, lease=runtime.settings.lease, queue_idle=idle)
        finished = finish_sending_issues(session, now=now)
    dispatched = hand_out(runtime, runtime.broker, batch_size=batch_size, limit=DISPATCH_LIMIT)
    # Form mails whose sender died, or whose server said "later": web processes ask for a send when they
    # record one, but only the tick comes back for these.
    left = waiting_form_mails(runtime)
    if left:
        runtime.broker.send_form_mails()
    return {"planned": planned, "swept": swept, "finished": finished, "dispatched": dispatched, "form_mails": left}


def _queue_idle(broker: Broker) -> bool:
    """True only when the broker says no task waits; unsure (unreachable, cannot count) is not idle."""
    try:
        return broker.waiting() == 0
    except Exception:
        return False


def hand_out_next(runtime: Runtime, issue_id: int, batch_size: int) -> int:
    """After a batch: the issue's next one to the workers. A broker gone away is logged; the next tick will."""
    if runtime.broker is None:
        return 0
    try:
        return hand_out(runtime, runtime.broker, issue_id=issue_id, batch_size=batch_size, limit=batch_size)
    except Exception:
        log.warning("issue %s: could not hand out the next batch; the next tick will", issue_id, exc_info=True)
        return 0
