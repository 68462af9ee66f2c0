"""Real `celery worker` processes, a real Redis broker, a real SMTP server, the ledger on SQLite and PostgreSQL.

Every process here runs on one pinned clock: the workers and beats get DIGEST_NOW, and
this process reads an OffsetClock started at the same instant, so no test depends on
the day it runs (nor on the wall clock, which CI shifts a year with faketime).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dtime

import pytest
import redis
from celery import Celery
from fixtures_db import _unavailable
from sqlalchemy import func, select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.clock import OffsetClock, parse_instant
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.issues import QUEUE_LEASE, claim_due, finish_if_done, plan_issue, start_issue, sweep_stale
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription

REDIS_URL = os.environ.get("DIGEST_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "digest", "data", "demo-issue.txt")
PERIOD_END = date(2026, 11, 29)
# Monday 09:00 in Shanghai, the morning after PERIOD_END: what "now" is for the workers (DIGEST_NOW) and these tests.
NOW = "2026-11-30T09:00:00+08:00"
PROVINCES = ["湖南", "陕西", "甘肃", "湖南怀化", "陕西安康", "浙江", "江苏", "四川", "全国"]


@pytest.fixture
def clock():
    """This process's clock, started at NOW as each worker's is: claims and sweeps here agree with theirs."""
    return OffsetClock(parse_instant(NOW))


@pytest.fixture
def redis_url():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


def seed(url: str, subscribers: int, *, plan: bool = True) -> int | None:
    """The demo week and `subscribers` readers with picks that all match something; returns the issue id."""
    regions = load_regions()
    rng = random.Random(3)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@digest.example.org"
        published = datetime.combine(date(2026, 11, 26), dtime(9), NEWSROOM_TZ)
        store_articles(session, ml, parse_file(DEMO), regions, source=DEMO, published=published)
        for i in range(subscribers):
            upsert_subscription(
                session,
                ml,
                regions,
                email=f"reader{i:05d}@example.org",
                name=f"读者{i}",
                region_labels=[rng.choice(PROVINCES)],
                status="confirmed",
            )
        if not plan:
            return None
        issue = plan_issue(session, ml, PERIOD_END)
        start_issue(session, issue)
        return issue.id


def worker_env(database_url: str, smtp_url: str, broker: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=database_url,
        DIGEST_BROKER_URL=broker,
        DIGEST_SMTP_URL=smtp_url,
        DIGEST_SECRET_KEY="test-secret-key-0123456789abcdef",
        DIGEST_BASE_URL="https://digest.example.org",
        DIGEST_TICK_SECONDS="1",
        DIGEST_NOW=NOW,
    )
    return env


def start_worker(
    database_url: str,
    smtp_url: str,
    broker: str,
    tmp_path,
    concurrency: int = 2,
    app: str = "tasks",
    extra_env: dict | None = None,
):
    env = worker_env(database_url, smtp_url, broker) | (extra_env or {})
    log = open(tmp_path / f"worker-{time.monotonic_ns()}.log", "w")  # noqa: SIM115 - the worker outlives this function
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def dispatch_all(url: str, broker: str, clock, *, later: timedelta = timedelta()) -> int:
    """Hands every due row to the workers, as a tick would; `later`: as if the clock were that far ahead."""
    client = Celery(broker=broker)
    sent = 0
    while True:
        with transaction(url) as session:
            batches = claim_due(session, limit=100, now=clock.now() + later)
        if not batches:
            return sent
        for issue_id, ids in batches.items():
            client.send_task("digest.send_batch", args=[issue_id, ids])
            sent += len(ids)


def as_this_worker(monkeypatch, database_url: str, smtp_url: str) -> None:
    """This test process gets a worker's settings, to call digest.services.delivery as a task would."""
    # The broker is never reached here (the test hands out batches itself): any Redis URL will do.
    for name, value in worker_env(database_url, smtp_url, REDIS_URL).items():
        if name.startswith("DIGEST_"):
            monkeypatch.setenv(name, value)


def open_rows(url: str, issue_id: int) -> int:
    with transaction(url) as session:
        return session.scalar(
            select(func.count())
            .select_from(models.Delivery)
            .where(models.Delivery.issue_id == issue_id, models.Delivery.status.in_(("pending", "queued", "sending")))
        )


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop(worker):
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def test_workers_deliver_every_subscriber_once(database_url, redis_url, smtp_server, tmp_path, clock):
    issue_id = seed(database_url, 300)
    worker = start_worker(database_url, smtp_server.url, redis_url, tmp_path)
    try:
        assert dispatch_all(database_url, redis_url, clock) == 300
        wait_until(lambda: open_rows(database_url, issue_id) == 0, 120, "the issue to drain")
    finally:
        stop(worker)
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    with transaction(database_url) as session:
        sent = set(
            session.scalars(
                select(models.Subscriber.email).join(models.Delivery).where(models.Delivery.status == "sent")
            )
        )
        assert finish_if_done(session, issue_id)
    assert set(received) == sent and len(sent) == 300
    assert max(received.values()) == 1


def test_each_batch_hands_out_the_next_so_an_issue_never_waits_for_a_tick(
    database_url, redis_url, smtp_server, tmp_path, clock
):
    """One batch handed out by hand and no tick after it: the batches that follow it send the whole issue."""
    issue_id = seed(database_url, 250)
    worker = start_worker(database_url, smtp_server.url, redis_url, tmp_path)
    try:
        with transaction(database_url) as session:
            first = claim_due(session, limit=50, now=clock.now(), issue_id=issue_id)[issue_id]
        Celery(broker=redis_url).send_task("digest.send_batch", args=[issue_id, first])
        wait_until(lambda: open_rows(database_url, issue_id) == 0, 120, "the batches to drain the issue")
    finally:
        stop(worker)
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(received) == 250 and max(received.values()) == 1


def test_a_worker_started_as_installed_deployments_do_runs_the_tick_and_sends(
    sqlite_url, redis_url, smtp_server, tmp_path
):
    """`celery -A digest.worker`, the name that cannot clash in site-packages, runs the same `digest.*` tasks."""
    issue_id = seed(sqlite_url, 40)
    worker = start_worker(sqlite_url, smtp_server.url, redis_url, tmp_path, app="digest.worker")
    try:
        Celery(broker=redis_url).send_task("digest.tick")
        wait_until(lambda: open_rows(sqlite_url, issue_id) == 0, 120, "the tick's batches to drain the issue")
    finally:
        stop(worker)
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(received) == 40 and max(received.values()) == 1


def test_a_batch_whose_successor_cannot_be_handed_out_puts_those_rows_back_at_once(
    database_url, smtp_server, tmp_path, monkeypatch, clock
):
    """The broker went away after the batch: its successor's rows wait for the next tick, not for the lease."""
    from digest.services.delivery.worker_batch import run_batch
    from digest.services.issues import delivery_counts
    from digest.services.runtime import Runtime

    issue_id = seed(database_url, 30)
    as_this_worker(monkeypatch, database_url, smtp_server.url)
    with transaction(database_url) as session:
        first = claim_due(session, limit=10, now=clock.now(), issue_id=issue_id)[issue_id]

    class BrokerDown:
        def hand_out(self, issue, ids):
            raise ConnectionError("the broker is down")

    result = run_batch(Runtime.from_environment(require_secret=True, broker=BrokerDown()), issue_id, first)
    assert result["counts"] == {"sent": 10} and result["handed_out"] == 0
    with transaction(database_url) as session:
        assert delivery_counts(session, issue_id) == {"sent": 10, "pending": 20}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [f"reader{i:05d}@example.org" for i in range(10)]


def test_a_killed_worker_loses_nobody_and_doubles_at_most_its_messages_in_flight(
    database_url, redis_url, smtp_server, tmp_path, clock
):
    subscribers = 2000
    issue_id = seed(database_url, subscribers)
    concurrency = 2
    worker = start_worker(database_url, smtp_server.url, redis_url, tmp_path, concurrency)
    try:
        dispatch_all(database_url, redis_url, clock)
        wait_until(lambda: len(smtp_server.messages) >= 300, 120, "the send to get going")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the main process and its children, no goodbyes
        worker.wait()
    killed_at = len(smtp_server.messages)
    assert killed_at < subscribers, "the worker finished before it could be killed"

    # The sweeper runs later than the lease: what the dead worker held goes back to the queue.
    with transaction(database_url) as session:
        swept = sweep_stale(session, now=clock.now() + QUEUE_LEASE * 2)
    assert swept > 0
    replacement = start_worker(database_url, smtp_server.url, redis_url, tmp_path, concurrency)
    try:
        dispatch_all(database_url, redis_url, clock, later=QUEUE_LEASE * 2)
        wait_until(lambda: open_rows(database_url, issue_id) == 0, 180, "the issue to drain")
    finally:
        stop(replacement)

    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(received) == subscribers  # nobody skipped
    doubled = {address for address, n in received.items() if n > 1}
    assert len(doubled) <= concurrency  # at most the message each killed process had in flight
    with transaction(database_url) as session:
        retried = set(
            session.scalars(select(models.Subscriber.email).join(models.Delivery).where(models.Delivery.attempts > 1))
        )
        statuses = set(session.scalars(select(models.Delivery.status)))
    assert doubled <= retried  # the ledger names every possible double
    assert statuses == {"sent"}


def test_digest_send_with_a_broker_hands_the_issue_to_the_workers(sqlite_url, redis_url, smtp_server, tmp_path):
    seed(sqlite_url, 50)
    worker = start_worker(sqlite_url, smtp_server.url, redis_url, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=sqlite_url,
        DIGEST_BROKER_URL=redis_url,
        DIGEST_SECRET_KEY="test-secret-key-0123456789abcdef",
        DIGEST_NOW=NOW,
    )
    try:
        out = subprocess.run(
            [sys.executable, "-m", "digest.cli", "send", "--period-end", str(PERIOD_END)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "50 deliveries handed to the workers" in out.stdout
        wait_until(lambda: len(smtp_server.messages) == 50, 120, "the workers to send")
    finally:
        stop(worker)
    status = subprocess.run(
        [sys.executable, "-m", "digest.cli", "status"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "sent             50" in status.stdout


def test_temporary_failures_retry_and_hard_bounces_stop(database_url, redis_url, smtp_server, tmp_path, clock):
    issue_id = seed(database_url, 200)
    addresses = [f"reader{i:05d}@example.org" for i in range(200)]
    for address in addresses[::10]:  # 10%: 451 once
        smtp_server.handler.fail_once[address] = (451, "4.3.0 greylisted")
    bounced = set(addresses[5::50])  # 550 every time
    for address in bounced:
        smtp_server.handler.fail_rcpt[address] = (550, "5.1.1 no such user")
    worker = start_worker(database_url, smtp_server.url, redis_url, tmp_path)
    try:
        dispatch_all(database_url, redis_url, clock)
        wait_until(lambda: open_rows_not_deferred(database_url, issue_id) == 0, 120, "the first pass")
        # The deferred rows are due again after their backoff.
        assert dispatch_all(database_url, redis_url, clock, later=QUEUE_LEASE) == 20
        wait_until(lambda: open_rows(database_url, issue_id) == 0, 120, "the retries")
    finally:
        stop(worker)
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert set(received) == set(addresses) - bounced and max(received.values()) == 1
    with transaction(database_url) as session:
        rows = dict(
            session.execute(select(models.Subscriber.email, models.Delivery.status).join(models.Delivery)).all()
        )
        suppressed = set(session.scalars(select(models.Suppression.email)))
    assert {a for a, s in rows.items() if s == "bounced"} == bounced == suppressed
    assert {a for a, s in rows.items() if s == "sent"} == set(addresses) - bounced


def open_rows_not_deferred(url: str, issue_id: int) -> int:
    with transaction(url) as session:
        return session.scalar(
            select(func.count())
            .select_from(models.Delivery)
            .where(
                models.Delivery.issue_id == issue_id,
                models.Delivery.status.in_(("queued", "sending"))
                | ((models.Delivery.status == "pending") & models.Delivery.next_attempt_at.is_(None)),
            )
        )


@pytest.mark.clock
def test_two_beats_plan_one_issue_and_every_subscriber_gets_one_message(database_url, redis_url, smtp_server, tmp_path):
    """The beats and the worker live at NOW (DIGEST_NOW), whatever day the test runs: the slot is due there."""
    seed(database_url, 100, plan=False)
    slot_day = parse_instant(NOW).astimezone(NEWSROOM_TZ).date()
    assert slot_day - timedelta(days=1) == PERIOD_END
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        # 08:00 on NOW's weekday in Asia/Shanghai, where every reader lives: an hour before NOW, so due.
        ml.send_weekday, ml.send_time, ml.time_zone = slot_day.weekday(), "08:00", "Asia/Shanghai"
    env = worker_env(database_url, smtp_server.url, redis_url)
    beats = []
    worker = start_worker(database_url, smtp_server.url, redis_url, tmp_path)
    try:
        for n in range(2):
            log = open(tmp_path / f"beat{n}.log", "w")  # noqa: SIM115 - closed with the beat process
            beats.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "tasks",
                        "beat",
                        "--loglevel=WARNING",
                        f"--schedule={tmp_path / f'beat{n}-schedule'}",
                        f"--pidfile={tmp_path / f'beat{n}.pid'}",
                    ],
                    cwd=tmp_path,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_until(lambda: len(smtp_server.messages) >= 100, 120, "the scheduled issue to go out")
        time.sleep(3)  # a few more ticks from both beats: nothing more may go out
    finally:
        for process in beats:
            stop(process)
        stop(worker)
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(received) == 100 and max(received.values()) == 1
    with transaction(database_url) as session:
        issues = session.execute(select(models.Issue.period_end, models.Issue.status)).all()
    assert issues == [(PERIOD_END, "sent")]


def _redis_server(port: int, tmp_path):
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # A service, not our code: it keeps the real time, as the Redis of the other tests does. (Under
        # `faketime`, libfaketime in LD_PRELOAD stops redis-server's allocator from starting at all.)
        env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")},
    )
    client = redis.Redis(port=port)
    wait_until(lambda: _pings(client), 10, "redis-server to start")
    return process


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


def test_a_redis_restart_mid_send_loses_nothing(sqlite_url, smtp_server, tmp_path, clock):
    from smtpserver import free_port

    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    server = _redis_server(port, tmp_path)
    issue_id = seed(sqlite_url, 1000)
    worker = start_worker(sqlite_url, smtp_server.url, broker, tmp_path)
    try:
        dispatch_all(sqlite_url, broker, clock)
        wait_until(lambda: len(smtp_server.messages) >= 100, 120, "the send to get going")
        server.terminate()  # Redis keeps nothing on disk: the queued tasks are gone
        server.wait()
        assert len(smtp_server.messages) < 1000, "the send finished before Redis went away"
        server = _redis_server(port, tmp_path)
        # As beat's ticks would: once the worker has finished what it had taken, the
        # sweeper returns the rest and the dispatcher hands it out again, for as long
        # as rows stay open (a task can be lost again while the worker reconnects).
        deadline = time.monotonic() + 240
        while open_rows(sqlite_url, issue_id):
            logs = "".join(p.read_text()[-3000:] for p in tmp_path.glob("worker-*.log"))
            assert time.monotonic() < deadline, f"timed out waiting for the issue to drain; the worker said:\n{logs}"
            settled: list[int] = []
            wait_until(
                lambda settled=settled: (
                    settled.append(len(smtp_server.messages)) or settled[-15:] == [settled[-1]] * 15
                ),
                120,
                "the worker to settle",
            )
            if not open_rows(sqlite_url, issue_id):
                break
            with transaction(sqlite_url) as session:
                sweep_stale(session, now=clock.now() + QUEUE_LEASE * 2)
            dispatch_all(sqlite_url, broker, clock, later=QUEUE_LEASE * 2)
    finally:
        stop(worker)
        server.terminate()
        server.wait()
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(received) == 1000 and max(received.values()) == 1


def test_a_worker_process_prepares_at_its_start_and_a_bad_setting_leaves_it_running(sqlite_url, monkeypatch, caplog):
    from digest import worker
    from digest.core.rendering import DIGEST_TEMPLATES

    as_this_worker(monkeypatch, sqlite_url, "smtp://127.0.0.1:1")
    monkeypatch.delenv("DIGEST_SECRET_KEY")
    worker.WorkerProcess.forget()
    try:
        worker.warm_up()  # no secret: said, not raised
        assert "could not prepare this worker process" in caplog.text and "DIGEST_SECRET_KEY" in caplog.text
        monkeypatch.setenv("DIGEST_SECRET_KEY", "test-secret-key-0123456789abcdef")
        worker.warm_up()
        runtime = worker.WorkerProcess.get()
        assert {name for _, name in runtime.templates.cache} >= set(DIGEST_TEMPLATES)
        assert runtime.engine.pool.checkedin() == 1  # a connection waits for the first batch
    finally:
        worker.WorkerProcess.forget()


def test_a_worker_without_templates_burns_no_row_and_says_why_once_per_batch(
    database_url, redis_url, smtp_server, tmp_path, clock
):
    """An installation fault in a worker: the batch gives its rows back, untried, and logs one line;
    workers installed whole then send every subscriber once."""
    issue_id = seed(database_url, 30)
    empty = tmp_path / "no-templates"
    empty.mkdir()
    broken = start_worker(
        database_url, smtp_server.url, redis_url, tmp_path, extra_env={"DIGEST_TEMPLATES_DIR": str(empty)}
    )

    def logged() -> str:
        return "".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))

    def statuses() -> Counter:
        with transaction(database_url) as session:
            return Counter(
                session.execute(
                    select(models.Delivery.status, models.Delivery.attempts).where(models.Delivery.issue_id == issue_id)
                ).all()
            )

    try:
        assert dispatch_all(database_url, redis_url, clock) == 30
        wait_until(lambda: "sending stopped" in logged(), 60, "the worker to stop the batch")
        wait_until(lambda: statuses() == Counter({("pending", 0): 30}), 30, "the rows to be pending again")
    finally:
        stop(broken)
    [line] = [line for line in logged().splitlines() if "sending stopped" in line]
    assert "no delivery marked failed" in line and "template 'digest.subject.txt' not found" in line
    assert str(empty) in line
    assert smtp_server.messages == []
    with transaction(database_url) as session:
        assert session.get(models.Issue, issue_id).status == "sending"

    fixed = start_worker(database_url, smtp_server.url, redis_url, tmp_path)
    try:
        assert dispatch_all(database_url, redis_url, clock) == 30
        wait_until(lambda: open_rows(database_url, issue_id) == 0, 120, "the issue to drain")
    finally:
        stop(fixed)
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(received) == 30 and max(received.values()) == 1
