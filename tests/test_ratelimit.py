"""Per-list rate limits: no one-second window lets more messages through than the limit."""

from __future__ import annotations

import time
from collections import Counter

import redis
from fixtures_db import _unavailable

from digest.adapters.ratelimit import local_throttle, redis_throttle


def windows(wait, calls: int) -> Counter:
    seen = Counter()
    for _ in range(calls):
        wait()
        seen[int(time.time())] += 1
    return seen


def test_redis_throttle_is_shared_by_every_caller():
    client = redis.Redis.from_url("redis://127.0.0.1:6379/9")
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    # Two workers on the same list draw from one budget of 3 a second.
    first, second = redis_throttle(client, "list-rate-test", 3), redis_throttle(client, "list-rate-test", 3)
    seen = Counter()
    for _ in range(4):
        for wait in (first, second):
            wait()
            seen[int(time.time())] += 1
    assert max(seen.values()) <= 3 and sum(seen.values()) == 8


def test_local_throttle_spaces_calls():
    seen = windows(local_throttle(4), 9)
    assert max(seen.values()) <= 5 and len(seen) >= 2


def test_a_local_throttles_ready_waits_for_the_turn_without_taking_it():

    throttle = local_throttle(5)  # a turn every 0.2 s
    throttle()
    started = time.monotonic()
    throttle.ready()
    throttle.ready()  # the same turn: no second wait
    waited = time.monotonic() - started
    throttle()  # takes that turn at once
    took = time.monotonic() - started
    assert 0.15 <= waited < 0.35 and took - waited < 0.05
    started = time.monotonic()
    throttle()  # the next turn is a whole interval after the one taken
    assert time.monotonic() - started >= 0.15
