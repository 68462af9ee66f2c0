"""The worker side of scheduled sending: what `tick` and `send_batch` tasks do, wired to settings.

Each worker process builds its settings, session factory, regions and templates
once; a batch opens one transport (one SMTP connection) and closes it.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from functools import cache

import redis
from sqlalchemy import text

from digest.adapters.ratelimit import local_throttle, redis_throttle
from digest.adapters.storage import models
from digest.adapters.storage.db import session_factory
from digest.adapters.transports import open_transport
from digest.core.regions import load_regions
from digest.core.rendering import DIGEST_TEMPLATES, make_environment
from digest.core.settings import load_settings
from digest.services.issues import claim_due, finish_sending_issues, plan_due_issues, sweep_stale, unclaim
from digest.services.sending import SendReport, released_on_error, send_batch

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


@cache
def _runtime():
    # Workers on several machines must sign links alike: no per-directory demo key here.
    settings = load_settings(require_secret=True)
    runtime = settings, session_factory(settings.database_url), load_regions(), make_environment()
    # The region index and templates live as long as the worker: moved out of the
    # collector's sight, full collections no longer walk them between messages.
    gc.collect()
    gc.freeze()
    return runtime


def warm_up() -> None:
    """What a worker process's first batch would otherwise pay (~0.1 s): settings,
    regions, compiled templates and a database connection, made at its start."""
    try:
        _, factory, _, env = _runtime()
        for name in DIGEST_TEMPLATES:
            env.get_template(name)
        with factory() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.warning("could not prepare this worker process; its first batch will try again", exc_info=True)


def tick(dispatch: Callable[[int, list[int]], object], *, batch_size: int = BATCH_SIZE) -> dict:
    """Plan what is due, sweep what is stuck, hand due rows out in batches."""
    settings, factory, _, _ = _runtime()
    clock = settings.clock  # DIGEST_NOW sets it in a worker's environment
    with factory.begin() as session:
        now = clock.now()
        planned = plan_due_issues(session, now=now)
        swept = sweep_stale(session, now=now)
        finished = finish_sending_issues(session, now=now)
    dispatched = 0
    while dispatched < DISPATCH_LIMIT:
        with factory.begin() as session:
            batches = claim_due(session, limit=batch_size, now=clock.now())
        if not batches:
            break
        for issue_id, ids in batches.items():
            dispatch(issue_id, ids)
            dispatched += len(ids)
    return {"planned": planned, "swept": swept, "finished": finished, "dispatched": dispatched}


def _throttle(settings, factory, issue_id: int):
    with factory() as session:
        issue = session.get(models.Issue, issue_id)
        rate = session.get(models.MailingList, issue.list_id).rate_limit
        list_id = issue.list_id
    if not rate:
        return None
    if settings.broker_url and settings.broker_url.startswith("redis"):
        return redis_throttle(redis.Redis.from_url(settings.broker_url), f"list{list_id}", rate)
    return local_throttle(rate)


def run_batch(
    issue_id: int, delivery_ids: list[int], dispatch: Callable[[int, list[int]], object] | None = None
) -> dict:
    """Send one batch, then hand out the issue's next due rows through `dispatch`, if given.

    With ticks alone, an issue would go no faster than DISPATCH_LIMIT rows per
    tick (20,000 per 30 s: 667 a second, whatever the workers could do). Each
    batch replacing itself keeps the broker as full as the tick left it, claims
    rows just before they go (a pause stops the chain at once), and leaves the
    rest to the ticks: deferred rows, other issues, a chain broken by a crash.
    """
    settings, factory, regions, env = _runtime()
    with released_on_error(factory, delivery_ids):
        try:
            transport = open_transport(settings.smtp_url, settings.outbox)
        except (ValueError, OSError) as exc:  # DIGEST_SMTP_URL malformed, the outbox not writable
            with factory.begin() as session:
                unclaim(session, delivery_ids)
            report = SendReport(issue_id, halted=f"cannot open the transport: {exc}")
        else:
            with transport:
                report = send_batch(
                    factory,
                    issue_id,
                    delivery_ids,
                    transport,
                    settings,
                    regions,
                    env,
                    throttle=_throttle(settings, factory, issue_id),
                )
    if report.halted:
        # Templates, settings, the server: nothing of this issue can go until someone fixes it.
        # The batch's rows are pending again; the next tick hands them out once more.
        log.error("issue %s: sending stopped, no delivery marked failed: %s", issue_id, report.halted)
    handed_out = 0
    if dispatch is not None and not report.halted:
        with factory.begin() as session:
            batch = claim_due(
                session, limit=len(delivery_ids) or BATCH_SIZE, now=settings.clock.now(), issue_id=issue_id
            ).get(issue_id)
        if batch:
            try:
                dispatch(issue_id, batch)
            except Exception:
                log.warning("issue %s: could not hand out the next batch; the next tick will", issue_id, exc_info=True)
                with factory.begin() as session:
                    unclaim(session, batch)
            else:
                handed_out = len(batch)
    return {"issue": issue_id, "counts": report.counts, "halted": report.halted, "handed_out": handed_out}
