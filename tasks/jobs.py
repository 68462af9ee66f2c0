"""Kept for imports that predate digest.worker, where the tasks are now defined (and registered once)."""

from digest.worker import apply_mail_events, send_batch, tick

__all__ = ["apply_mail_events", "send_batch", "tick"]
