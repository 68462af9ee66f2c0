"""Celery entry point: `celery -A tasks worker` and `celery -A tasks beat`."""

from tasks.app import app
from tasks import jobs  # noqa: F401  (registers the tasks)

__all__ = ["app"]
