"""The Celery app, configured from DIGEST_BROKER_URL; without one, tasks run in-process."""

from __future__ import annotations

import os

from celery import Celery

from digest.config import load_settings

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
