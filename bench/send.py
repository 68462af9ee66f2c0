"""The whole weekly send against a ceiling measured in the same run.

    python -m bench.send --subscribers 100000
    python -m bench.send --subscribers 100000 --dkim   # every message DKIM-signed (a fresh RSA-2048 key)
    python -m bench.send --subscribers 100000 --verp   # each copy's own signed return path (DIGEST_BOUNCE_DOMAIN)

1. ceiling: pre-built messages sent with smtplib over as many connections as there
   are worker processes, to the same SMTP sink;
2. pipeline: plan the issue, fan out through Redis (one `digest.tick` task, as beat
   sends it, then each batch hands out the next), render, send, write the ledger in
   PostgreSQL, with a `celery worker` of two processes.

The sink is Postfix's smtp-sink when installed (Debian package postfix), else
aiosmtpd. Prints digests per second for each, their ratio, and the workers' peak
memory; the last line is one JSON object. Uses the local PostgreSQL and Redis.

With --dkim the workers sign every message (DIGEST_DKIM_*, a key made for the run); the ceiling's
messages are signed beforehand, so the ratio shows what signing costs the pipeline.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path

import redis
from celery import Celery
from sqlalchemy import create_engine, func, insert, select, text

from bench.render import subscriber_picks
from digest.adapters.broker import TICK
from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, transaction, upgrade_database
from digest.core.ingest import parse_file
from digest.core.links import IssueLinks, make_recipient
from digest.core.messages import MessageHeaders, write_rendered
from digest.core.messages.dkim_signing import DkimKey, dkim_key, sign_message
from digest.core.regions import load_regions
from digest.core.selection import select_articles
from digest.core.settings import Settings
from digest.core.statuses import OPEN_DELIVERY, DeliveryStatus, SubscriptionStatus
from digest.services.articles import NEWSROOM_TZ, articles_of_period, store_articles
from digest.services.delivery.preview import preview_week
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list, list_info
from digest.services.picks import store_list_picks
from digest.services.runtime import Runtime

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEMO = Path(__file__).resolve().parent.parent / "digest" / "data" / "demo-issue.txt"
PERIOD_END = date(2026, 11, 29)
SECRET = "bench-secret-key-0123456789abcdef"
# With --dkim: the key file the run makes in its work folder, which the worker is told to sign with.
DKIM_KEY_FILE = "dkim-bench.pem"
# What else the workers are told (--verp: a bounce domain, so every copy has its own return path).
WORKER_ENV: dict[str, str] = {}
DKIM_SELECTOR, DKIM_DOMAIN = "bench", "bench.example.org"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(name: str) -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)
    return url


def seed(url: str, subscribers: int) -> int:
    """The demo week and `subscribers` readers whose picks all match something; returns the issue id."""
    regions = load_regions()
    published = datetime.combine(date(2026, 11, 26), dtime(9), NEWSROOM_TZ)
    picks = [p for p in subscriber_picks(subscribers * 3, regions, seed=11)]
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@bench.example.org"
        ml.schedule_enabled = False  # the issue below is the one sent: no tick may plan another
        store_articles(session, ml, parse_file(DEMO), regions, source=str(DEMO), published=published)
        week = articles_of_period(session, ml, PERIOD_END)
        matches: dict = {}
        # Keep readers whose picks match this week: nobody is sent an empty digest anyway.
        useful = [p for p in picks if matches.setdefault(p, bool(select_articles(week, p, regions)))][:subscribers]
        now = datetime.now(UTC)
        session.execute(
            insert(models.Subscriber),
            [
                {
                    "email": f"reader{i:06d}@bench.example.org",
                    "name": f"读者{i}",
                    "locale": "zh-CN",
                    "time_zone": "Asia/Shanghai",
                    "created_at": now,
                }
                for i in range(len(useful))
            ],
        )
        ids = session.scalars(select(models.Subscriber.id).order_by(models.Subscriber.id)).all()
        session.execute(
            insert(models.Subscription),
            [
                {
                    "list_id": ml.id,
                    "subscriber_id": sid,
                    "status": SubscriptionStatus.CONFIRMED,
                    "region_codes": sorted(p.regions),
                    "topic_slugs": sorted(p.topics),
                    "created_at": now,
                    "confirmed_at": now,
                }
                for sid, p in zip(ids, useful, strict=False)
            ],
        )
        store_list_picks(session, ml.id)
        issue = plan_issue(session, ml, PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        # As autovacuum would have done long before a real send, on a list imported weeks ago.
        conn.execute(text("ANALYZE"))
    return issue_id


def start_sink(port: int, workdir: Path):
    sink = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None)
    if sink:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        process = subprocess.Popen(
            [sink, *user, f"127.0.0.1:{port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        name = "smtp-sink"
    else:
        code = (
            "import time,sys;sys.path.insert(0,'tests');from smtpserver import RecordingHandler;"
            "from aiosmtpd.controller import Controller;"
            f"c=Controller(RecordingHandler(),hostname='127.0.0.1',port={port},decode_data=False);c.start();"
            "time.sleep(10**6)"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, start_new_session=True
        )
        name = "aiosmtpd"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
            return process, name
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SMTP sink did not start")


def _ceiling_worker(port: int, messages: list[bytes], count: int, queue: multiprocessing.Queue[int]) -> None:
    smtp = smtplib.SMTP("127.0.0.1", port)
    for i in range(count):
        smtp.sendmail("weekly@bench.example.org", [f"reader{i:06d}@bench.example.org"], messages[i % len(messages)])
    smtp.quit()
    queue.put(count)


def make_dkim_key(workdir: Path) -> DkimKey:
    """A fresh RSA-2048 key, written where `start_worker` finds it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (workdir / DKIM_KEY_FILE).write_bytes(pem)
    return dkim_key(DKIM_SELECTOR, DKIM_DOMAIN, pem, source="bench")


def ceiling(url: str, port: int, total: int, connections: int, dkim: DkimKey | None = None) -> float:
    """Pre-built messages over `connections` parallel connections, like the workers use; signed beforehand
    with `dkim`, if given, so they are the size the workers' are."""
    runtime = Runtime(Settings(url, None, None, Path("."), SECRET, "https://bench.example.org"))
    sample = []
    with transaction(url) as session:
        ml = ensure_default_list(session)
        info = list_info(ml)
        for sub in session.scalars(select(models.Subscription).limit(200)):
            digest, rendered = preview_week(runtime, session, ml, sub.subscriber.email, PERIOD_END)
            if digest.article_count:
                links = IssueLinks(ml.slug, 1, runtime.settings.base_url, SECRET, ml.sender_email)
                recipient = make_recipient(
                    links, email=sub.subscriber.email, name=sub.subscriber.name, subscriber_id=sub.subscriber_id
                )
                headers = MessageHeaders(list_info=info, recipient=recipient, list_id_domain="bench.example.org")
                message = write_rendered(rendered, headers)
                sample.append(message if dkim is None else sign_message(dkim, message))
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    per = total // connections
    started = time.perf_counter()
    procs = [
        multiprocessing.Process(target=_ceiling_worker, args=(port, sample, per, queue)) for _ in range(connections)
    ]
    for p in procs:
        p.start()
    sent = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return sent / (time.perf_counter() - started)


def peak_rss_mb(root_pid: int) -> float:
    """Largest peak resident size (VmHWM) among the worker's processes."""
    peaks = []
    for pid in [root_pid, *children(root_pid)]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return max(peaks, default=0.0)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def start_worker(url: str, port: int, broker: str, workers: int, workdir: Path) -> subprocess.Popen[bytes]:
    """A `celery worker` of `workers` processes, as production runs it, sending to the sink."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=url,
        DIGEST_BROKER_URL=broker,
        DIGEST_SMTP_URL=f"smtp://127.0.0.1:{port}",
        DIGEST_SECRET_KEY=SECRET,
        DIGEST_BASE_URL="https://bench.example.org",
    )
    env.update(WORKER_ENV)
    if (workdir / DKIM_KEY_FILE).exists():  # --dkim
        env.update(
            DIGEST_DKIM_SELECTOR=DKIM_SELECTOR,
            DIGEST_DKIM_DOMAIN=DKIM_DOMAIN,
            DIGEST_DKIM_KEY_FILE=str(workdir / DKIM_KEY_FILE),
        )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks",
            "worker",
            "--pool=prefork",
            f"--concurrency={workers}",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=workdir,
        env=env,
        stdout=open(workdir / "worker.log", "w"),  # left open: the worker writes to it until it is killed
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until_sent(url: str, issue_id: int, worker_pid: int) -> float:
    """Polls until no row of the issue is open; returns the workers' peak resident MB meanwhile."""
    peak = 0.0
    # Is any row still open? One index probe, asked often: a count of the open rows
    # cost the database real work on every poll, and a coarse poll blurred the end.
    still_open = (
        select(models.Delivery.id)
        .where(models.Delivery.issue_id == issue_id, models.Delivery.status.in_(OPEN_DELIVERY))
        .limit(1)
    )
    engine = make_engine(url)  # one connection for every poll, not one each
    try:
        while True:
            with engine.connect() as conn:
                open_row = conn.scalar(still_open)
            peak = max(peak, peak_rss_mb(worker_pid))
            if open_row is None:
                return peak
            time.sleep(0.1)
    finally:
        engine.dispose()


def pipeline(url: str, issue_id: int, port: int, broker: str, workers: int, workdir: Path) -> tuple[float, float, int]:
    worker = start_worker(url, port, broker, workers, workdir)
    try:
        time.sleep(3)  # let the worker boot before the clock starts
        client = Celery(broker=broker)
        started = time.perf_counter()
        # What beat does: one tick, run by a worker, hands out the first batches;
        # each batch then hands out the next (digest/services/delivery/worker_batch.py).
        client.send_task(TICK)
        peak = wait_until_sent(url, issue_id, worker.pid)
        elapsed = time.perf_counter() - started
        with transaction(url) as session:
            sent = session.execute(
                select(func.count())
                .select_from(models.Delivery)
                .where(models.Delivery.issue_id == issue_id, models.Delivery.status == DeliveryStatus.SENT)
            ).scalar_one()
        return sent / elapsed, peak, sent
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--dkim", action="store_true", help="DKIM-sign every message (a fresh RSA-2048 key)")
    parser.add_argument("--verp", action="store_true", help="each copy's own VERP return path (a bounce domain)")
    args = parser.parse_args()
    if args.verp:
        WORKER_ENV["DIGEST_BOUNCE_DOMAIN"] = "bounce.bench.example.org"
    redis.Redis.from_url(args.broker).flushdb()
    sizes = sorted({min(10_000, args.subscribers), args.subscribers})
    workdir = Path(tempfile.mkdtemp(prefix="digest-bench-"))
    port = free_port()
    sink, sink_name = start_sink(port, workdir)
    dkim = make_dkim_key(workdir) if args.dkim else None
    results = {}
    try:
        for size in sizes:
            url = fresh_database("digest_bench")
            t = time.perf_counter()
            issue_id = seed(url, size)
            print(f"[{size}] seeded in {time.perf_counter() - t:.1f}s", flush=True)
            ceiling_rate = ceiling(url, port, size, args.workers, dkim)
            rate, peak, sent = pipeline(url, issue_id, port, args.broker, args.workers, workdir)
            results[size] = {"ceiling": ceiling_rate, "pipeline": rate, "peak_mb": peak, "sent": sent}
            print(
                f"[{size}] sink {sink_name}{', DKIM' if dkim else ''}{', VERP' if args.verp else ''}: "
                f"ceiling {ceiling_rate:,.0f}/s, pipeline {rate:,.0f}/s "
                f"({sent} sent), ratio {rate / ceiling_rate:.2f}, peak worker {peak:.0f} MB",
                flush=True,
            )
    finally:
        os.killpg(sink.pid, signal.SIGTERM)
    biggest = results[sizes[-1]]
    print(f"{'subscribers':>12} {'ceiling/s':>10} {'pipeline/s':>11} {'ratio':>6} {'peak worker MB':>15}")
    for size in sizes:
        r = results[size]
        print(
            f"{size:>12,} {r['ceiling']:>10,.0f} {r['pipeline']:>11,.0f} {r['pipeline'] / r['ceiling']:>6.2f} "
            f"{r['peak_mb']:>15.0f}"
        )
    print(
        json.dumps(
            {
                "subscribers": sizes[-1],
                "dkim": args.dkim,
                "verp": args.verp,
                "ceiling_per_s": round(biggest["ceiling"], 1),
                "pipeline_per_s": round(biggest["pipeline"], 1),
                "ratio": round(biggest["pipeline"] / biggest["ceiling"], 3),
                "peak_worker_mb": round(biggest["peak_mb"], 1),
                "peak_worker_mb_by_size": {str(s): round(results[s]["peak_mb"], 1) for s in sizes},
            }
        )
    )


if __name__ == "__main__":
    main()
