"""Messages per second per list; sliding-window request limits (the public subscribe form, test sends);
failed sign-ins per address and account. All shared through Redis when there is one, else counted locally.

These count real seconds (the wall clock, or a monotonic one), not digest.core.clock's settable time:
a rate is a pace, and a clock set to another day must not change how fast mail goes.
"""

from __future__ import annotations

import logging
import threading
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
    """`url` when it names a Redis (DIGEST_REDIS_URL, or a broker on Redis), else None."""
    if broker_url and broker_url.startswith(("redis://", "rediss://", "unix://")):
        return broker_url
    return None


def shared_limiter(redis_url: str | None, name: str, limit: int, window: float, fallback: Limiter) -> Limiter:
    """A limiter every process shares through Redis when the settings name one, else `fallback` alone."""
    url = redis_url_of(redis_url)
    if url is None:
        return fallback
    import redis as redis_module

    return RedisWindowLimiter(redis_module.Redis.from_url(url), name, limit, window, fallback)


class WindowCounter(Protocol):
    """Counts events per key in windows of `window` seconds: what the sign-in throttle counts with."""

    def count(self, key: str) -> int: ...

    def add(self, key: str) -> int: ...


class LocalWindowCounter:
    """In this process's memory: each web process counts on its own (used without Redis)."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self.clock = clock
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._sweep_above = 10_000

    def _live(self, key: str, now: float) -> int:
        started, count = self._counts.get(key, (now, 0))
        return count if now - started < self.window else 0

    def count(self, key: str) -> int:
        with self._lock:
            return self._live(key, self.clock())

    def add(self, key: str) -> int:
        now = self.clock()
        with self._lock:
            if len(self._counts) > self._sweep_above:
                # Keeps memory bounded when many keys pass once each; the next sweep waits until the map
                # doubles past what stayed, so live keys beyond 10,000 are not rescanned on every event.
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
                self._sweep_above = max(10_000, 2 * len(self._counts))
            count = self._live(key, now)
            started = self._counts[key][0] if count else now
            self._counts[key] = (started, count + 1)
            return count + 1


class RedisWindowCounter:
    """In Redis, so every web process (and host) sees one count per key.

    A key's window starts at its first event and Redis expires it after `window` seconds. Should Redis
    fail, the count falls back to this process's memory: a sign-in page must not go down with Redis.
    """

    def __init__(self, client: redis.Redis, window: float, prefix: str = "digest:login"):
        self.client = client
        self.window = max(int(window), 1)
        self.prefix = prefix
        self.fallback = LocalWindowCounter(window)

    def count(self, key: str) -> int:
        import redis

        try:
            value = self.client.get(f"{self.prefix}:{key}")
        except redis.RedisError:
            log.warning("Redis unavailable; counting sign-in failures in this process")
            return self.fallback.count(key)
        return int(value) if value is not None else 0

    def add(self, key: str) -> int:
        import redis

        name = f"{self.prefix}:{key}"
        try:
            count = int(self.client.incr(name))
            if count == 1:
                self.client.expire(name, self.window)
        except redis.RedisError:
            log.warning("Redis unavailable; counting sign-in failures in this process")
            return self.fallback.add(key)
        return count
