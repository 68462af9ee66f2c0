"""The Celery side of handing out batches: a `Broker` (digest.services.runtime) that puts one
`digest.send_batch` task per batch on the queue. Only the task's name and its ids travel."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from celery import Celery

SEND_BATCH = "digest.send_batch"
TICK = "digest.tick"
IMPORT_SUBSCRIBERS = "digest.import_subscribers"
SEND_FORM_MAILS = "digest.send_form_mails"
POLL_SOURCES = "digest.poll_sources"
POLL_SOURCE = "digest.poll_source"
APPLY_MAIL_EVENTS = "digest.apply_mail_events"


class CeleryBroker:
    """Hands a batch to the workers through `app`, by the task's name. An app that runs its tasks eagerly (a
    worker without a broker) sends the batch there and then, through the task it registered."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    @classmethod
    def connect(cls, broker_url: str) -> CeleryBroker:
        # Imported here: the CLI and the web app pay for Celery only when a broker is configured.
        from celery import Celery

        return cls(Celery(broker=broker_url))

    def waiting(self) -> int:
        """How many tasks wait in the queue (none when tasks run in-process). Raises if the broker is unreachable."""
        if self.app.conf.task_always_eager:
            return 0
        with self.app.connection_for_read() as conn:
            # Not passive: Redis drops an emptied list, and a passive declare would call the queue missing.
            from kombu import Queue

            queue = Queue(self.app.conf.task_default_queue, channel=conn.default_channel)
            # (name, messages, consumers); kombu's annotations call it a name.
            _, messages, _ = cast("tuple[str, int, int]", queue.queue_declare())
            return messages

    def hand_out(self, issue_id: int, delivery_ids: list[int]) -> None:
        if self.app.conf.task_always_eager:
            self.app.tasks[SEND_BATCH].delay(issue_id, delivery_ids)
        else:
            self.app.send_task(SEND_BATCH, args=[issue_id, delivery_ids])

    def start_import(self, import_id: int) -> None:
        if self.app.conf.task_always_eager:
            self.app.tasks[IMPORT_SUBSCRIBERS].delay(import_id)
        else:
            self.app.send_task(IMPORT_SUBSCRIBERS, args=[import_id])

    def send_form_mails(self) -> None:
        if self.app.conf.task_always_eager:
            self.app.tasks[SEND_FORM_MAILS].delay()
        else:
            self.app.send_task(SEND_FORM_MAILS)

    def apply_mail_events(self, event_ids: list[int]) -> None:
        if self.app.conf.task_always_eager:
            self.app.tasks[APPLY_MAIL_EVENTS].delay(event_ids)
        else:
            self.app.send_task(APPLY_MAIL_EVENTS, args=[event_ids])
