"""Messages per second per list, and one way of counting events per key in a window for every request
limit (the public subscribe form, test sends, failed sign-ins per address and account): in Redis when
there is one, so every process and host counts together, else in this process.

These count real seconds (the wall clock, or a monotonic one), not digest.core.clock's settable time:
a rate is a pace, and a clock set to another day must not change how fast mail goes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)


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


class LocalThrottle:
    """Calls spaced 1/per_second apart in this process. `ready` waits for the next turn without taking it, so a
    sender can do its long wait before it claims a row and take the turn just before the content goes."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next = 0.0

    def ready(self) -> None:
        now = time.monotonic()
        if self.next > now:
            time.sleep(self.next - now)

    def __call__(self) -> None:
        self.ready()
        self.next = max(time.monotonic(), self.next) + self.interval


def local_throttle(per_second: float) -> LocalThrottle:
    return LocalThrottle(per_second)


def redis_url_of(url: str | None) -> str | None:
    """`url` when it names a Redis (DIGEST_REDIS_URL, or a broker on Redis), else None."""
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return url
    return None


class WindowCounter(Protocol):
    """Events per key in a window of `window` seconds that starts at the key's first event."""

    def count(self, key: str) -> int: ...

    def add(self, key: str) -> int:
        """Counts one event for `key`; returns the window's count with it."""
        ...


SWEEP_FROM = 10_000  # keys a counter holds before it looks for idle ones


class LocalWindowCounter:
    """In this process's memory: each web process counts on its own (used without Redis)."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self.clock = clock
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._sweep_above = SWEEP_FROM

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
                self._sweep_above = max(SWEEP_FROM, 2 * len(self._counts))
            count = self._live(key, now)
            started = self._counts[key][0] if count else now
            self._counts[key] = (started, count + 1)
            return count + 1


# Counts and starts the key's expiry on its first event, in one round trip and atomically: a process that
# died between an INCR and its EXPIRE would leave a key that never expires.
_ADD_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisWindowCounter:
    """In Redis, so every web process (and host) sees one count per key; Redis expires a key `window`
    seconds after its first event. Should Redis fail, this process counts instead: a sign-in page or a
    subscribe form must not go down with Redis, and a limit that loosens for a while is the lesser harm."""

    def __init__(self, client: redis.Redis, window: float, prefix: str):
        self.client = client
        self.window = window
        self.prefix = prefix
        self.fallback = LocalWindowCounter(window)
        self._add = client.register_script(_ADD_SCRIPT)

    def count(self, key: str) -> int:
        import redis as redis_module

        try:
            value = self.client.get(f"{self.prefix}:{key}")
        except redis_module.RedisError as exc:
            log.warning("%s: Redis unavailable (%s); counting in this process", self.prefix, exc)
            return self.fallback.count(key)
        return int(value) if value is not None else 0

    def add(self, key: str) -> int:
        import redis as redis_module

        try:
            return int(self._add(keys=[f"{self.prefix}:{key}"], args=[max(int(self.window * 1000), 1)]))
        except redis_module.RedisError as exc:
            log.warning("%s: Redis unavailable (%s); counting in this process", self.prefix, exc)
            return self.fallback.add(key)


def window_counter(redis_url: str | None, window: float, prefix: str) -> WindowCounter:
    """Counts in Redis when the settings name one (keys under `prefix`), else in this process."""
    url = redis_url_of(redis_url)
    if url is None:
        return LocalWindowCounter(window)
    import redis as redis_module

    return RedisWindowCounter(redis_module.Redis.from_url(url, socket_timeout=1.0), window, prefix)


class Limiter(Protocol):
    def hit(self, key: str) -> bool:
        """Counts one hit for `key`; False when it is over the limit."""
        ...


class WindowLimit:
    """At most `limit` hits per key in a window: the request limits' one shape over either counter.

    A refused hit is counted too. It changes nothing: the key stays refused until its window, which
    started at its first hit, ends.
    """

    def __init__(self, counter: WindowCounter, limit: int):
        self.counter = counter
        self.limit = limit

    def hit(self, key: str) -> bool:
        return self.counter.add(key) <= self.limit
