"""The public POSTs' CPU in the web process alone: the whole ASGI app called in process, no HTTP, no wrk.

    python -m bench.inprocess --subscribers 2000 --database digest_inprocess_bench [--requests 3000]

bench/http.py measures the machine as a whole, where the server, PostgreSQL, the mail worker, Redis and wrk
share two cores and each one's figure moves with the others' load. This one calls the app (`create_app`
over DIGEST_* settings: PostgreSQL, Redis for the limits and the broker, so no mail is sent in the request)
directly with ASGI messages from one event loop, as uvicorn would, and reads this process's CPU time
(every thread: the route's work runs in Starlette's thread pool), so what it prints is the web process's
own cost per request: the middleware, the routing, the route's work and the threads, without the HTTP
parsing. Each case runs at 1 and at 16 requests at once (the thread pool busy, as under load), after a
warm-up; the ceiling is the trivial GET bench.http uses. Printed: CPU ms per request and requests/s for each
case and concurrency, and each case's CPU as a multiple of the ceiling's; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from bench.scale import LIST, seed
from bench.send import SECRET, fresh_database
from digest.core.domain import NATIONAL_CODE
from digest.core.tokens import sign_token
from digest.web.security import CSRF_COOKIE, csrf_token

COOKIE = "bench-csrf-cookie-value"
_Scope = tuple[dict[str, Any], bytes]


def _scope(method: str, path: str, body: bytes, client: str, headers: list[tuple[bytes, bytes]]) -> _Scope:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": (client, 40000),
        "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"bench.example.org"), (b"content-length", str(len(body)).encode()), *headers],
    }
    return scope, body


def subscribe_request(i: int) -> _Scope:
    """A new address from a new client, as bench.http's: a valid CSRF cookie and token."""
    token = csrf_token(SECRET, COOKIE, f"subscribe:{LIST}")
    body = urllib.parse.urlencode(
        {"email": f"new{i:07d}@signup.example.org", "region": NATIONAL_CODE, "csrf_token": token}
    )
    headers = [(b"content-type", b"application/x-www-form-urlencoded"), (b"cookie", f"{CSRF_COOKIE}={COOKIE}".encode())]
    client = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    return _scope("POST", f"/lists/{LIST}/subscribe", body.encode(), client, headers)


def one_click_request(i: int) -> _Scope:
    """RFC 8058's POST for reader `i` (the seeded readers' ids start at 1)."""
    path = f"/u/{sign_token(SECRET, 'unsubscribe', i + 1, LIST)}"
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    return _scope("POST", path, b"List-Unsubscribe=One-Click", "127.0.0.1", headers)


def ceiling_request(i: int) -> _Scope:
    return _scope("GET", "/favicon.ico", b"", "127.0.0.1", [])


async def call(app: Any, request: _Scope) -> int:
    scope, body = request
    given = False
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays: nothing more comes
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


async def run_case(app: Any, make: Callable[[int], _Scope], first: int, count: int, at_once: int) -> dict[str, float]:
    requests = [make(first + i) for i in range(count)]  # made before the clock starts: signing is the client's
    gate = asyncio.Semaphore(at_once)
    bad: list[int] = []

    async def one(request: _Scope) -> None:
        async with gate:
            status = await call(app, request)
            if status >= 400:
                bad.append(status)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if bad:
        raise SystemExit(f"{len(bad)} requests answered {sorted(set(bad))}")
    return {"cpu_ms": round(1000 * cpu / count, 3), "per_s": round(count / wall, 1)}


CASES = {"ceiling GET": ceiling_request, "one-click POST": one_click_request, "subscribe POST": subscribe_request}


async def measure(app: Any, count: int, readers: int) -> dict[str, dict[str, dict[str, float]]]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    used = {name: 0 for name in CASES}
    for name, case in CASES.items():
        # One-click goes round the seeded readers: leaving again is the same statement, answered the same.
        make = (lambda i: one_click_request(i % readers)) if case is one_click_request else case
        await run_case(app, make, 0, 200, 16)  # warm-up: templates compiled, pools filled, statements prepared
        used[name] = 200
        results[name] = {}
        for at_once in (1, 16):
            results[name][str(at_once)] = await run_case(app, make, used[name], count, at_once)
            used[name] += count
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2_000)
    parser.add_argument("--database", default="digest_inprocess_bench", help="the database to drop and seed")
    parser.add_argument("--requests", type=int, default=3_000, help="requests per case and concurrency")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="the Redis database the limits use")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14", help="the broker the form mails wait for")
    args = parser.parse_args()
    url = fresh_database(args.database)
    seed(url, args.subscribers)
    import redis

    redis.Redis.from_url(args.redis).flushdb()  # the limits' counts of an earlier run
    os.environ.update(
        DIGEST_DATABASE_URL=url,
        DIGEST_SECRET_KEY=SECRET,
        DIGEST_REDIS_URL=args.redis,
        DIGEST_BROKER_URL=args.broker,
        DIGEST_BASE_URL="https://bench.example.org",
    )
    os.environ.pop("DIGEST_OUTBOX", None)
    from digest.web import app_from_environment

    results = asyncio.run(measure(app_from_environment(), args.requests, args.subscribers))
    ceiling = results["ceiling GET"]["16"]["cpu_ms"]
    print(f"{'':<16}  {'CPU ms (1)':>10}  {'req/s (1)':>9}  {'CPU ms (16)':>11}  {'req/s (16)':>10}  {'× ceiling':>9}")
    for name, by in results.items():
        one, many = by["1"], by["16"]
        line = (
            f"{name:<16}  {one['cpu_ms']:>10.3f}  {one['per_s']:>9.0f}  {many['cpu_ms']:>11.3f}  {many['per_s']:>10.0f}"
        )
        print(f"{line}  {many['cpu_ms'] / ceiling:>9.1f}")
    print(json.dumps({"subscribers": args.subscribers, "requests": args.requests, "results": results}))


if __name__ == "__main__":
    main()
