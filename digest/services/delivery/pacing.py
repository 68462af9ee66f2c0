"""A list's rate limit as a batch's throttle: the same for a worker's batch and for a send in this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from digest.adapters.ratelimit import local_throttle, redis_throttle
from digest.adapters.storage import models

if TYPE_CHECKING:
    from digest.services.runtime import Runtime


def _unthrottled() -> None:
    return None


def list_throttle(runtime: Runtime, issue_id: int) -> Callable[[], None]:
    """The issue's list's rate, shared by every worker through Redis when the broker is Redis, else counted
    by the caller (one throttle for a whole in-process run, so its batches keep one pace between them)."""
    with runtime.sessions() as session:
        issue = cast(models.Issue, session.get(models.Issue, issue_id))
        rate = cast(models.MailingList, session.get(models.MailingList, issue.list_id)).rate_limit
        list_id = issue.list_id
    if not rate:
        return _unthrottled
    broker_url = runtime.settings.broker_url
    if broker_url and broker_url.startswith("redis"):
        import redis

        return redis_throttle(redis.Redis.from_url(broker_url), f"list{list_id}", rate)
    return local_throttle(rate)
