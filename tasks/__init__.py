"""Celery entry point: `celery -A tasks worker` and `celery -A tasks beat`."""

from tasks import jobs  # noqa: F401  (registers the tasks)
from tasks.app import app

__all__ = ["app"]
