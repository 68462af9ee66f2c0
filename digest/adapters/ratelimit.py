"""Messages per second per list, shared by every worker through Redis (or local without a broker).

These count real seconds (the wall clock, or a monotonic one), not digest.core.clock's settable time:
a rate is a pace, and a clock set to another day must not change how fast mail goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis


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
