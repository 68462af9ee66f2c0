"""The console's "send now": the rows go to the workers, or, with no broker, a thread of the web process
sends them (one per issue at a time)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from digest.services.delivery.batches import send_pending
from digest.services.delivery.handout import hand_to_workers

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

log = logging.getLogger(__name__)

_running: dict[int, threading.Thread] = {}
_running_lock = threading.Lock()


def deliver_now(runtime: Runtime, issue_id: int) -> str:
    """After `start_now` committed: hand the rows to the workers (broker) or send them in a background thread.

    Returns "queued" (the workers have them), "background" (a thread sends them) or
    "running" (a thread of this process is already sending this issue).
    """
    if hand_to_workers(runtime, issue_id) is not None:
        return "queued"

    def run() -> None:
        try:
            with runtime.open_transport() as transport:
                report = send_pending(runtime, issue_id, transport)
            if report.halted:
                log.error("issue %s: sending stopped, no delivery marked failed: %s", issue_id, report.halted)
        except Exception:
            log.exception("issue %s: sending stopped; the rows it held are pending again", issue_id)
        finally:
            with _running_lock:
                _running.pop(issue_id, None)

    with _running_lock:
        if issue_id in _running:
            return "running"
        thread = _running[issue_id] = threading.Thread(target=run, name=f"send-issue-{issue_id}", daemon=True)
    thread.start()
    return "background"


def background_send(issue_id: int) -> threading.Thread | None:
    """The thread sending `issue_id` in this process, if any (tests join it)."""
    with _running_lock:
        return _running.get(issue_id)
