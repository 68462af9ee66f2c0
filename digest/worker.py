"""The Celery app and its tasks: `celery -A digest.worker worker` and `celery -A digest.worker beat`.

It lives inside the digest package so an installed deployment names it unambiguously; `tasks`, the
name a source checkout has always used, is only an alias of this module (see tasks/__init__.py).
Configured from DIGEST_BROKER_URL; without one, tasks run in-process. Each task takes ids and calls
one function of digest.services.pipeline.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init

from digest.core.settings import load_settings
from digest.services import pipeline

# Beat ticks often and the database decides what is due, so no task ever waits on a long ETA
# (Redis would redeliver it once the visibility timeout passed).
TICK_SECONDS = float(os.environ.get("DIGEST_TICK_SECONDS", "30"))


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
        beat_schedule={"tick": {"task": "digest.tick", "schedule": TICK_SECONDS}},
        timezone="UTC",
    )
    return app


app = make_app()


@worker_process_init.connect
def _prepare_worker_process(**_) -> None:
    pipeline.warm_up()


# The task names, not the module path, are what the broker carries: they stay `digest.*` whichever
# of `-A digest.worker` or `-A tasks` started the worker, so both kinds can share one queue.
@app.task(name="digest.tick")
def tick() -> dict:
    """Plan due issues, return stuck rows to the queue, and fan the due rows out in batches."""
    return pipeline.tick(dispatch=lambda issue_id, ids: send_batch.delay(issue_id, ids))


@app.task(name="digest.send_batch")
def send_batch(issue_id: int, delivery_ids: list[int]) -> dict:
    """Send one batch and hand out the issue's next; in-process (no broker) the tick hands out everything."""
    chain = None if app.conf.task_always_eager else (lambda issue, ids: send_batch.delay(issue, ids))
    return pipeline.run_batch(issue_id, delivery_ids, dispatch=chain)
