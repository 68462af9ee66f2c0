"""`celery -A tasks worker|beat` from a source checkout, as it always worked: an alias of digest.worker.

An installed package should use `celery -A digest.worker`: `tasks` is a name any other package in
site-packages may also claim.
"""

# Loading the submodules first, then binding `app`, leaves `tasks.app` the Celery app, as Celery expects.
from tasks import jobs  # noqa: F401
from tasks.app import app

__all__ = ["app"]
