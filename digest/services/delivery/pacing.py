"""A list's rate limit as a batch's pace: the same for a worker's batch and for a send in this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from digest.adapters.ratelimit import local_throttle, redis_throttle
from digest.adapters.storage import models
from digest.services.delivery.sender import Pace

if TYPE_CHECKING:
    from digest.services.runtime import Runtime


def _ignore(_: int) -> None:
    return None


def list_pace(runtime: Runtime, issue_id: int, progress: Callable[[int], None] = _ignore) -> Pace:
    """The issue's list's rate: shared by every worker through Redis when the broker is Redis, else counted by
    this pace (one for a whole in-process run, so its batches keep one pace between them)."""
    with runtime.sessions() as session:
        issue = cast(models.Issue, session.get(models.Issue, issue_id))
        rate = cast(models.MailingList, session.get(models.MailingList, issue.list_id)).rate_limit
        list_id = issue.list_id
    if not rate:
        return Pace(progress=progress)
    broker_url = runtime.settings.broker_url
    if broker_url and broker_url.startswith("redis"):
        import redis

        return Pace(
            throttle=redis_throttle(redis.Redis.from_url(broker_url), f"list{list_id}", rate), progress=progress
        )
    throttle = local_throttle(rate)
    return Pace(throttle=throttle, ready=throttle.ready, progress=progress)
