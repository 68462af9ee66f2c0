"""The public POSTs over real HTTP: `digest serve --workers N` driven by wrk on loopback.

    python -m bench.http --subscribers 20000 --database digest_http_bench [--workers 2] [--seconds 10]

Seeds a fresh PostgreSQL database (bench.scale's seed: the demo week, N confirmed readers), starts the
server as users run it behind a proxy (`digest serve --workers N --no-access-log`, since the proxy keeps
the access log; --access-log for uvicorn's own), a subprocess on a free loopback port, settings in
DIGEST_* variables, rate limits in Redis, and drives it with wrk (`apt-get install wrk`). wrk's Lua
script reads a file of requests made here, so every request is a different one: a one-click POST
carries a different reader's signed unsubscribe link, a subscribe POST a different new address from a
different client (X-Forwarded-For, which uvicorn honours from loopback), with a valid CSRF cookie and
token. Measured, each for --seconds: a trivial GET (/favicon.ico: the same middleware and thread pool, no
query) as the ceiling, the one-click POST, the subscribe POST, and one-click again while a signed-in admin
fetches a slow page (the CSV export of every reader) in a loop. Printed: requests/s, p50 and p99 latency,
errors (anything not 2xx/3xx, and socket errors), the CPU each request cost the server's processes,
PostgreSQL's backends on the database, the mail worker, Redis and wrk itself (from /proc and getrusage: the
whole budget of the machine's cores, which they all share), the database's commits per request (below 1:
requests recorded together, web/combining.py), and each case's share of the ceiling. The last line is one
JSON object.

Confirmation mails go over SMTP to Postfix's smtp-sink. By default the server has a broker (Redis) and one
`celery worker` process, at niceness --worker-nice, sends them as a deployment's worker would; the subscribe
case then also says how many mails waited when wrk stopped and how long the worker took to send them all,
and the worker's CPU per request. --no-broker: the web process sends each in its request.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import text

from bench.cpu import CpuMeter, group_pids
from bench.scale import ADMIN, LIST, seed
from bench.send import SECRET, fresh_database, start_sink
from digest.adapters.storage.db import make_engine
from digest.core.domain import NATIONAL_CODE
from digest.core.tokens import sign_token
from digest.web.security import CSRF_COOKIE, csrf_token

CASES = ("one-click", "subscribe", "mixed")
SLOW_PAGE = f"/admin/subscribers/export.csv?list={LIST}"
CEILING_PATH = "/favicon.ico"

# wrk's Lua script: it reads the request files write_requests makes, a line a request.
WRK_SCRIPT = Path(__file__).with_name("http_requests.lua")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reader_ids(url: str) -> list[int]:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM subscribers ORDER BY id"))]
    engine.dispose()
    return ids


def write_requests(folder: Path, ids: list[int]) -> dict[str, Path]:
    """The request files: one line per distinct request, as WRK_SCRIPT reads them."""
    form = "Content-Type: application/x-www-form-urlencoded"
    cookie = "bench-csrf-cookie-value"
    token = csrf_token(SECRET, cookie, f"subscribe:{LIST}")
    one_click = [f"/u/{sign_token(SECRET, 'unsubscribe', i, LIST)}\t{form}\tList-Unsubscribe=One-Click" for i in ids]
    subscribe = []
    for i in range(len(ids)):
        client = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        body = urllib.parse.urlencode(
            {"email": f"new{i:07d}@signup.example.org", "region": NATIONAL_CODE, "csrf_token": token}
        )
        headers = f"{form};Cookie: {CSRF_COOKIE}={cookie};X-Forwarded-For: {client}"
        subscribe.append(f"/lists/{LIST}/subscribe\t{headers}\t{body}")
    files = {"ceiling": [f"{CEILING_PATH}\t\t"], "one_click": one_click, "subscribe": subscribe}
    paths = {}
    for name, lines in files.items():
        paths[name] = folder / f"{name}.txt"
        paths[name].write_text("\n".join(lines) + "\n")
    shutil.copy(WRK_SCRIPT, folder / "requests.lua")
    return paths


class Server:
    """`digest serve --workers N` in a child process, its output kept in a log file."""

    def __init__(
        self,
        url: str,
        redis_url: str,
        workers: int,
        folder: Path,
        smtp_port: int,
        broker: str | None,
        access_log: bool = False,
    ):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DIGEST_DATABASE_URL": url,
            "DIGEST_SECRET_KEY": SECRET,
            "DIGEST_REDIS_URL": redis_url,
            "DIGEST_BASE_URL": "https://bench.example.org",
            # The confirmation mails go where production's go: to an SMTP server (here a sink).
            "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        }
        env.pop("DIGEST_OUTBOX", None)
        env.pop("DIGEST_BROKER_URL", None)
        if broker:
            env["DIGEST_BROKER_URL"] = broker
        self.env = env
        script = Path(sys.executable).with_name("digest")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "digest.cli"]
        self.log = (folder / "server.log").open("w")
        logging_flag = [] if access_log else ["--no-access-log"]
        self.child = subprocess.Popen(
            [*command, "serve", "--port", str(self.port), "--workers", str(workers), *logging_flag],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        self.meter = CpuMeter(self.pids, url, redis_url)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.child.poll() is not None:
                raise SystemExit(f"digest serve exited with {self.child.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("digest serve did not answer /healthz within 60 s")

    def pids(self) -> list[int]:
        """The server's processes (the supervisor and its workers)."""
        return group_pids(self.child.pid)

    def stop(self) -> None:
        os.killpg(self.child.pid, signal.SIGTERM)
        try:
            self.child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.child.pid, signal.SIGKILL)
            self.child.wait()
        self.log.close()


def start_mail_worker(env: dict[str, str], nice: int, folder: Path) -> subprocess.Popen:
    """`celery worker` as a deployment runs one (one process here), to send the form mails; `nice` lowers its
    priority, as a box that serves the web and sends mail would, so that a flood of sign-ups is answered first."""
    command = [sys.executable, "-m", "celery", "-A", "digest.worker", "worker", "--concurrency=1", "--loglevel=WARNING"]
    return subprocess.Popen(
        ["nice", "-n", str(nice), *command] if nice else command,
        env=env,
        cwd=folder,
        stdout=(folder / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def form_mails_waiting(url: str) -> int:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        waiting = conn.scalar(text("SELECT count(*) FROM form_mails")) or 0
    engine.dispose()
    return int(waiting)


def drained_after(url: str, limit: float = 300) -> float | None:
    """Seconds until no form mail waits (None: still some after `limit`)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if form_mails_waiting(url) == 0:
            return round(time.perf_counter() - started, 1)
        time.sleep(0.2)
    return None


def drive(server: Server, folder: Path, requests: Path, method: str, seconds: int, connections: int) -> dict:
    """One wrk run; its figures as a dict (requests/s, p50/p99 in ms, errors, CPU ms per request)."""
    threads = 1
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(folder / "requests.lua"),
        server.base,
        "--",
        str(requests),
        str(threads),
        method,
    ]
    before = server.meter.snapshot()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_seconds = reaped.ru_utime + reaped.ru_stime - children.ru_utime - children.ru_stime
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    found = json.loads(line[4:])
    found["per_s"] = round(found["requests"] / found["seconds"], 1)
    found["errors"] = found.pop("bad_status") + found.pop("socket_errors")
    found["wrk_cpu_ms"] = round(1000 * wrk_seconds / max(found["requests"], 1), 2)
    return found | server.meter.per_request(before, found["requests"])


class SlowAdmin(threading.Thread):
    """A signed-in admin fetching SLOW_PAGE again and again until stopped: the console's heavy work."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base = base
        self.stopping = threading.Event()
        self.spent: list[float] = []
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.opener.open(base + "/admin/login").read().decode()
        token = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
        form = {"email": ADMIN[0], "password": ADMIN[1], "next": "/admin/", "csrf_token": token}
        self.opener.open(base + "/admin/login", data=urllib.parse.urlencode(form).encode()).read()

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.perf_counter()
            with self.opener.open(self.base + SLOW_PAGE) as answer:
                answer.read()
            self.spent.append(time.perf_counter() - started)


def mixed(server: Server, folder: Path, files: dict[str, Path], seconds: int, connections: int) -> dict:
    admin = SlowAdmin(server.base)
    admin.start()
    try:
        found = drive(server, folder, files["one_click"], "POST", seconds, connections)
    finally:
        admin.stopping.set()
        admin.join()
    found["admin_pages"] = len(admin.spent)
    found["admin_page_ms"] = round(1000 * sum(admin.spent) / max(len(admin.spent), 1), 1)
    return found


def measure(url: str, redis_url: str, args: argparse.Namespace, folder: Path) -> dict[str, dict]:
    files = write_requests(folder, reader_ids(url))
    redis.Redis.from_url(redis_url).flushdb()  # the rate limits' counts of an earlier run
    smtp_port = free_port()
    sink, sink_name = start_sink(smtp_port, folder)
    broker = None if args.no_broker else args.broker
    if broker:
        redis.Redis.from_url(broker).flushdb()
    server = Server(url, redis_url, args.workers, folder, smtp_port, broker, args.access_log)
    worker = start_mail_worker(server.env, args.worker_nice, folder) if broker else None
    server.meter.worker = worker
    try:
        run = {"seconds": args.seconds, "connections": args.connections}
        # The ceiling always runs: every other case is read as its share of it.
        results = {"ceiling GET": drive(server, folder, files["ceiling"], "GET", **run)}
        if "one-click" in args.cases:
            results["one-click POST"] = drive(server, folder, files["one_click"], "POST", **run)
        if "subscribe" in args.cases:
            subscribe = results["subscribe POST"] = drive(server, folder, files["subscribe"], "POST", **run)
            subscribe["mails_waiting_at_end"] = form_mails_waiting(url)
            subscribe["mails_drained_after_s"] = drained_after(url)
            subscribe["mail_to"] = sink_name
            subscribe["mail_sent_by"] = (
                f"celery worker (nice {args.worker_nice})" if broker else "the web process, in the request"
            )
        if "mixed" in args.cases:
            results["one-click + slow admin"] = mixed(server, folder, files, **run)
    finally:
        server.stop()
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
        os.killpg(sink.pid, signal.SIGTERM)
        sink.wait()
    ceiling = results["ceiling GET"]["per_s"]
    for figures in results.values():
        figures["of_ceiling"] = round(figures["per_s"] / ceiling, 3) if ceiling else None
    return results


def report(results: dict[str, dict], args: argparse.Namespace) -> None:
    width = max(len(name) for name in results)
    print(
        f"{'':<{width}}  {'req/s':>8}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}  {'server CPU':>10}  {'PG CPU':>6}"
        f"  {'worker':>6}  {'Redis':>6}  {'wrk':>6}  {'commits':>7}"
        f"  {'of ceiling':>10}"
    )
    for name, f in results.items():
        line = f"{name:<{width}}  {f['per_s']:>8.1f}  {f['p50_ms']:>8.2f}  {f['p99_ms']:>8.2f}  {f['errors']:>6}"
        line += f"  {f['server_cpu_ms']:>7.2f} ms  {f['postgres_cpu_ms']:>6.2f}  {f.get('worker_cpu_ms', 0):>6.2f}"
        line += f"  {f['redis_cpu_ms']:>6.2f}  {f['wrk_cpu_ms']:>6.2f}  {f['commits_per_request']:>7.2f}"
        extra = f"  (admin: {f['admin_pages']} pages, {f['admin_page_ms']:.0f} ms each)" if "admin_pages" in f else ""
        if "mails_waiting_at_end" in f:
            waiting, drained = f["mails_waiting_at_end"], f["mails_drained_after_s"]
            extra = f"  (mails waiting at the end: {waiting}, all sent {drained} s later)"
        print(f"{line}  {f['of_ceiling']:>10.0%}{extra}")
    summary: dict[str, Any] = {
        "subscribers": args.subscribers,
        "workers": args.workers,
        "seconds": args.seconds,
        "connections": args.connections,
        "access_log": args.access_log,
        "cores": os.cpu_count(),
        "results": results,
    }
    print(json.dumps(summary, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--database", default="digest_http_bench", help="the database to drop and seed")
    parser.add_argument("--workers", type=int, default=2, help="digest serve --workers")
    parser.add_argument("--seconds", type=int, default=10, help="how long each case runs")
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="the Redis database the limits use")
    parser.add_argument(
        "--broker", default="redis://127.0.0.1:6379/14", help="the broker: a worker sends the form mails"
    )
    parser.add_argument("--no-broker", action="store_true", help="no broker: the web process sends each form mail")
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="serve with uvicorn's line per request (off by default, as behind a proxy that logs them)",
    )
    parser.add_argument(
        "--cases",
        type=lambda text: set(text.split(",")) - {""},
        default=set(CASES),
        help=f"which cases beside the ceiling, comma-separated (default: {','.join(CASES)})",
    )
    parser.add_argument("--worker-nice", type=int, default=10, help="the mail worker's niceness (0: as the web's)")
    args = parser.parse_args()
    if args.cases - set(CASES):
        parser.error(f"--cases: no case {', '.join(sorted(args.cases - set(CASES)))} (there are {', '.join(CASES)})")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    url = fresh_database(args.database)
    started = time.perf_counter()
    seed(url, args.subscribers)
    print(f"seeded {args.subscribers:,} subscribers in {time.perf_counter() - started:.1f}s", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        results = measure(url, args.redis, args, Path(folder))
    report(results, args)


if __name__ == "__main__":
    main()
