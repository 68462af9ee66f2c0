"""Chaos: real `celery worker` processes, a beat, real Redis and PostgreSQL and SMTP on loopback; a fault
mid-send, and the issue still completes with nobody lost and any double named by the ledger.

The workers run on a short lease (DIGEST_LEASE_SECONDS) renewed by a short heartbeat, so each case
recovers within seconds. The bound is no timed assertion: each case waits up to 120 s for the issue to
drain, which a fault would exceed while dead batches' rows waited out a lease of minutes (the old
10-minute lease, which ignored these settings, timed out every case).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import psycopg
import pytest
import redis
from celery import Celery
from fixtures_db import _empty_postgres
from sqlalchemy import select
from test_celery_workers import clock as clock  # fixtures: the workers' clock, a flushed Redis database
from test_celery_workers import open_rows, seed, start_worker, stop, wait_until, worker_env
from test_celery_workers import redis_url as redis_url

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.issues import claim_due

SUBSCRIBERS = 300
WORKERS, CONCURRENCY = 2, 2
# Short, so a dead batch's rows come back within seconds; several heartbeats fit in a lease.
RECOVERY_ENV = {"DIGEST_LEASE_SECONDS": "3", "DIGEST_HEARTBEAT_SECONDS": "0.5"}
DRAIN_WAIT = 120  # seconds; far less than the old lease, far more than a recovery on a busy machine


def start_beat(database_url: str, smtp_url: str, broker: str, tmp_path) -> subprocess.Popen:
    env = worker_env(database_url, smtp_url, broker) | RECOVERY_ENV  # ticks every second
    log = open(tmp_path / "beat.log", "w")  # noqa: SIM115 - the beat outlives this function
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "tasks", "beat", "--loglevel=WARNING"),
            *(f"--schedule={tmp_path / 'beat-schedule'}", f"--pidfile={tmp_path / 'beat.pid'}"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def hand_out_in_small_batches(url: str, broker: str, issue_id: int, clock) -> None:
    """Every row queued, in batches of 25: several wait in the broker while the first ones send."""
    client = Celery(broker=broker)
    while batch := _claim(url, issue_id, clock):
        client.send_task("digest.send_batch", args=[issue_id, batch])


def _claim(url: str, issue_id: int, clock) -> list[int]:
    # On the workers' clock (DIGEST_NOW), which their sweeps measure the lease on.
    with transaction(url) as session:
        return claim_due(session, limit=25, now=clock.now(), issue_id=issue_id).get(issue_id, [])


def kill_a_worker(workers: list[subprocess.Popen], **_) -> int:
    os.killpg(workers[0].pid, signal.SIGKILL)  # its main process and children, no goodbyes
    workers[0].wait()
    return CONCURRENCY  # each killed process may have had one message in flight


def reset_database_connections(workers, *, database_url: str, **_) -> int:
    dsn = database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()"
        )
    # Each batch reconnects and sends its commit in flight once more: no message goes twice.
    return 0


def lose_the_broker_queue(workers, *, broker: str, **_) -> int:
    redis.Redis.from_url(broker).delete("celery")  # the waiting tasks, gone as in a restart without persistence
    return 0


@pytest.mark.parametrize("fault", [kill_a_worker, reset_database_connections, lose_the_broker_queue])
def test_the_issue_recovers_from_a_fault_mid_send_within_seconds(
    fault, postgres_url, redis_url, smtp_server, tmp_path, clock
):
    _empty_postgres(postgres_url)
    issue_id = seed(postgres_url, SUBSCRIBERS)
    smtp_server.handler.data_delay = 0.02  # about three seconds of sending: the fault lands mid-send
    workers = [
        start_worker(postgres_url, smtp_server.url, redis_url, tmp_path, CONCURRENCY, extra_env=RECOVERY_ENV)
        for _ in range(WORKERS)
    ]
    beat = None
    try:
        hand_out_in_small_batches(postgres_url, redis_url, issue_id, clock)
        wait_until(lambda: len(smtp_server.messages) >= 40, 120, "the send to get going")
        doubles_allowed = fault(workers, database_url=postgres_url, broker=redis_url)
        assert len(smtp_server.messages) < SUBSCRIBERS, "the issue went out before the fault"
        beat = start_beat(postgres_url, smtp_server.url, redis_url, tmp_path)
        wait_until(lambda: open_rows(postgres_url, issue_id) == 0, DRAIN_WAIT, "the issue to recover and drain")
    finally:
        for process in [beat, *workers]:
            if process is not None:
                stop(process)

    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    with transaction(postgres_url) as session:
        rows = session.execute(
            select(models.Subscriber.email, models.Delivery.status, models.Delivery.attempts).join(models.Delivery)
        ).all()
    assert {status for _, status, _ in rows} == {"sent"}
    assert set(received) == {email for email, _, _ in rows} and len(received) == SUBSCRIBERS  # nobody lost
    doubled = {address for address, n in received.items() if n > 1}
    assert len(doubled) <= doubles_allowed and max(received.values()) <= 2
    assert doubled <= {email for email, _, attempts in rows if attempts > 1}  # the ledger names every double
