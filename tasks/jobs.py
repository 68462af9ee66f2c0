"""Thin tasks: each takes ids and calls one function of digest/."""

from __future__ import annotations

from celery.signals import worker_process_init

from digest import pipeline
from tasks.app import app


@worker_process_init.connect
def _prepare_worker_process(**_) -> None:
    pipeline.warm_up()


@app.task(name="digest.tick")
def tick() -> dict:
    """Plan due issues, return stuck rows to the queue, and fan the due rows out in batches."""
    return pipeline.tick(dispatch=lambda issue_id, ids: send_batch.delay(issue_id, ids))


@app.task(name="digest.send_batch")
def send_batch(issue_id: int, delivery_ids: list[int]) -> dict:
    """Send one batch and hand out the issue's next; in-process (no broker) the tick hands out everything."""
    chain = None if app.conf.task_always_eager else (lambda issue, ids: send_batch.delay(issue, ids))
    return pipeline.run_batch(issue_id, delivery_ids, dispatch=chain)
