"""Kept for imports that predate digest.worker, where the Celery app now lives."""

from digest.worker import TICK_SECONDS, app, make_app

__all__ = ["TICK_SECONDS", "app", "make_app"]
