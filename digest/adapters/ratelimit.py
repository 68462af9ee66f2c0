"""Messages per second per list, shared by every worker through Redis (or local without a broker); and
sliding-window request limits (the public subscribe form, test sends) that every web process shares.

These count real seconds (the wall clock, or a monotonic one), not digest.core.clock's settable time:
a rate is a pace, and a clock set to another day must not change how fast mail goes.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)


class Limiter(Protocol):
    def hit(self, key: str) -> bool:
        """Counts one hit for `key`; False when it is over the limit."""
        ...


def redis_throttle(client: redis.Redis, key: str, per_second: float) -> Callable[[], None]:
    """Blocks until this second's budget for `key` has room; every worker counts in the same window."""
    budget = max(int(per_second), 1)

    def wait() -> None:
        while True:
            now = time.time()
            window = int(now)
            name = f"digest:rate:{key}:{window}"
            count = client.incr(name)
            if count == 1:
                client.expire(name, 5)
            if count <= budget:
                return
            time.sleep(window + 1 - now)

    return wait


def local_throttle(per_second: float) -> Callable[[], None]:
    interval = 1.0 / per_second
    state = {"next": 0.0}

    def wait() -> None:
        now = time.monotonic()
        if state["next"] > now:
            time.sleep(state["next"] - now)
            now = state["next"]
        state["next"] = now + interval

    return wait


# A sliding window in one sorted set per key: drop what left the window, refuse when full, else record
# the hit. One script, so two processes counting at once cannot both take the last place.
_WINDOW_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(ARGV[2] * 1000))
return 1
"""


class RedisWindowLimiter:
    """At most `limit` hits per `window` seconds per key, counted in Redis: every web process shares the
    count, so spreading requests over processes (or a load balancer's replicas) does not multiply it.

    While Redis cannot be reached the `fallback` (an in-process limiter) counts instead: a limit that
    loosens for a while is better than a form that answers 500.
    """

    def __init__(self, client: redis.Redis, name: str, limit: int, window: float, fallback: Limiter):
        self.client = client
        self.name = name
        self.limit = limit
        self.window = window
        self.fallback = fallback
        self._script = client.register_script(_WINDOW_SCRIPT)

    def hit(self, key: str) -> bool:
        """Counts one hit for `key`; False when it is over the limit (the hit is not counted)."""
        import redis as redis_module

        try:
            allowed = self._script(
                keys=[f"digest:limit:{self.name}:{key}"],
                args=[time.time(), self.window, self.limit, uuid.uuid4().hex],
            )
        except redis_module.RedisError as exc:
            log.warning("rate limit %s: Redis unavailable (%s); counting in this process", self.name, exc)
            return self.fallback.hit(key)
        return bool(allowed)


def redis_url_of(broker_url: str | None) -> str | None:
    """The Redis the settings name through the broker URL, if the broker is Redis."""
    if broker_url and broker_url.startswith(("redis://", "rediss://", "unix://")):
        return broker_url
    return None


def shared_limiter(broker_url: str | None, name: str, limit: int, window: float, fallback: Limiter) -> Limiter:
    """A limiter every process shares through Redis when the settings name one, else `fallback` alone."""
    url = redis_url_of(broker_url)
    if url is None:
        return fallback
    import redis as redis_module

    return RedisWindowLimiter(redis_module.Redis.from_url(url), name, limit, window, fallback)
