"""Kept for imports that predate digest.worker, where the tasks are now defined (and registered once)."""

from digest.worker import send_batch, tick

__all__ = ["send_batch", "tick"]
