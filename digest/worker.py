"""The Celery app and its tasks: `celery -A digest.worker worker` and `celery -A digest.worker beat`.

It lives inside the digest package so an installed deployment names it unambiguously; `tasks`, the
name a source checkout has always used, is only an alias of this module (see tasks/__init__.py).
Configured from DIGEST_BROKER_URL; without one, tasks run in-process. Each task takes ids and calls
one service function (digest.services.delivery, subscriber_import_jobs), with the Runtime this process built once.
"""

from __future__ import annotations

import gc
import logging
import os

from celery import Celery
from celery.signals import worker_process_init
from sqlalchemy import text

from digest.adapters.broker import (
    APPLY_MAIL_EVENTS,
    IMPORT_SUBSCRIBERS,
    POLL_BOUNCES,
    POLL_SOURCE,
    POLL_SOURCES,
    SEND_BATCH,
    SEND_FORM_MAILS,
    TICK,
    CeleryBroker,
)
from digest.core.rendering import DIGEST_TEMPLATES
from digest.core.settings import load_settings
from digest.services.bounces.intake import poll_bounces_now
from digest.services.delivery.handout import tick as hand_out_due
from digest.services.delivery.worker_batch import run_batch
from digest.services.feed_polling import claim_due_sources
from digest.services.feed_polling import poll_source as poll_one_source
from digest.services.form_mails import send_form_mails as send_waiting_form_mails
from digest.services.runtime import Runtime
from digest.services.subscriber_import_jobs import run_import
from digest.services.webhook_intake import apply_recorded

log = logging.getLogger(__name__)

# Beat ticks often and the database decides what is due, so no task ever waits on a long ETA
# (Redis would redeliver it once the visibility timeout passed).
TICK_SECONDS = float(os.environ.get("DIGEST_TICK_SECONDS", "30"))
POLL_SECONDS = 60.0


def make_app() -> Celery:
    settings = load_settings()
    app = Celery("digest")
    app.conf.update(
        broker_url=settings.broker_url or "memory://",
        task_always_eager=settings.broker_url is None,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        beat_schedule={
            "tick": {"task": TICK, "schedule": TICK_SECONDS},
            # Each source has its own interval; the database says which are due, so a minute's beat suffices.
            "poll-sources": {"task": POLL_SOURCES, "schedule": POLL_SECONDS},
            # The bounce mailbox (when one is set): a mailto unsubscribe is honoured within minutes.
            "poll-bounces": {"task": POLL_BOUNCES, "schedule": settings.loop.poll_seconds},
        },
        timezone="UTC",
    )
    return app


app = make_app()


class WorkerProcess:
    """This process's Runtime, built by its first task or at its start (warm_up), then kept."""

    runtime: Runtime | None = None

    @classmethod
    def get(cls) -> Runtime:
        if cls.runtime is None:
            # Workers on several machines must sign links alike: no per-directory demo key here.
            cls.runtime = Runtime.from_environment(require_secret=True, broker=CeleryBroker(app))
            # The region index and templates live as long as the worker: moved out of the
            # collector's sight, full collections no longer walk them between messages.
            cls.runtime.regions  # noqa: B018 - built now, before the freeze
            cls.runtime.templates  # noqa: B018
            gc.collect()
            gc.freeze()
        return cls.runtime

    @classmethod
    def forget(cls) -> None:
        """Settings changed (tests): the next task builds a new Runtime."""
        cls.runtime = None


def warm_up() -> None:
    """What a worker process's first batch would otherwise pay (~0.1 s): settings,
    regions, compiled templates and a database connection, made at its start."""
    try:
        runtime = WorkerProcess.get()
        for name in DIGEST_TEMPLATES:
            runtime.templates.get_template(name)
        with runtime.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.warning("could not prepare this worker process; its first batch will try again", exc_info=True)


@worker_process_init.connect
def _prepare_worker_process(**_) -> None:
    warm_up()


# The task names, not the module path, are what the broker carries: they stay `digest.*` whichever
# of `-A digest.worker` or `-A tasks` started the worker, so both kinds can share one queue.
@app.task(name=TICK)
def tick() -> dict[str, object]:
    """Plan due issues, return stuck rows to the queue, and fan the due rows out in batches."""
    return hand_out_due(WorkerProcess.get())


@app.task(name=SEND_BATCH)
def send_batch(issue_id: int, delivery_ids: list[int]) -> dict[str, object]:
    """Send one batch and hand out the issue's next; in-process (no broker) the tick hands out everything."""
    return run_batch(WorkerProcess.get(), issue_id, delivery_ids, chain=not app.conf.task_always_eager)


@app.task(name=SEND_FORM_MAILS)
def send_form_mails() -> dict[str, int]:
    """Send the public subscribe form's waiting mails (confirmations), a batch per connection."""
    return send_waiting_form_mails(WorkerProcess.get()).as_dict()


@app.task(name=IMPORT_SUBSCRIBERS)
def import_subscribers(import_id: int) -> dict[str, object] | None:
    """Import a CSV uploaded in the console, a chunk per transaction, its progress on the import's row."""
    report = run_import(WorkerProcess.get(), import_id)
    if report is None:
        return None
    return {
        "added": report.added,
        "updated": report.updated,
        "skipped": report.skipped,
        "stopped_at": report.stopped_at,
    }


@app.task(name=POLL_SOURCES)
def poll_sources() -> list[int]:
    """Queue a poll of each feed source that is due (each is held meanwhile, so the next beat skips it)."""
    due = claim_due_sources(WorkerProcess.get())
    for source_id in due:
        poll_source.delay(source_id)
    return due


@app.task(name=POLL_SOURCE)
def poll_source(source_id: int) -> dict[str, object]:
    """Fetch one feed source, store its items once, record how the fetch went."""
    return poll_one_source(WorkerProcess.get(), source_id).as_dict()


@app.task(name=POLL_BOUNCES)
def poll_bounces() -> dict[str, object]:
    """Read the bounce mailbox once (if one is set), and act on any stored event still waiting for a worker."""
    return poll_bounces_now(WorkerProcess.get())


@app.task(name=APPLY_MAIL_EVENTS)
def apply_mail_events(event_ids: list[int]) -> dict[str, int]:
    """Apply the bounce policy to mail events a provider's webhook recorded (pending until then)."""
    return apply_recorded(WorkerProcess.get(), event_ids)
