"""Leases: a live batch's heartbeat keeps its rows, a dead batch's come back after the lease, rows no batch
took come back early only when the broker holds no task; the lease and heartbeat settings. On SQLite and
PostgreSQL, on a settable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from test_ledger import _queued_issue

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, transaction
from digest.core.clock import FixedClock
from digest.core.settings import DEFAULT_HEARTBEAT, DEFAULT_LEASE, ConfigError, load_settings
from digest.services.issues import QUEUE_LEASE, sweep_stale
from digest.services.ledger import Claim, Ledger

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def _statuses(url: str) -> list[str]:
    with transaction(url) as session:
        return list(session.scalars(select(models.Delivery.status).order_by(models.Delivery.id)))


def _sweep(url: str, at: datetime, *, queue_idle: bool = False) -> int:
    with transaction(url) as session:
        return sweep_stale(session, now=at, lease=DEFAULT_LEASE, queue_idle=queue_idle)


def _queued_at_t0(url: str) -> tuple[int, int, int]:
    issue_id, (wang, li) = _queued_issue(url)
    with transaction(url) as session:  # queued at T0 on the dispatcher's clock
        session.query(models.Delivery).update({models.Delivery.updated_at: T0})
    return issue_id, wang, li


def test_a_live_batch_keeps_its_rows_past_the_lease_and_a_dead_one_loses_them(database_url):
    issue_id, wang, li = _queued_at_t0(database_url)
    clock = FixedClock(T0)
    with Ledger(make_engine(database_url, pooled=False), clock=clock, heartbeat=DEFAULT_HEARTBEAT) as ledger:
        ledger.take([wang, li])
        assert ledger.commit(Claim(wang, issue_id, "<w@x>", (1,)))
        # Wang's message takes long; the batch's next commit, past a heartbeat, renews both rows.
        clock.advance(DEFAULT_LEASE - timedelta(seconds=5))
        ledger.record(wang, "sending", status="sent")
        ledger.commit()
        assert _sweep(database_url, T0 + DEFAULT_LEASE + timedelta(seconds=1)) == 0
        assert _statuses(database_url) == ["sent", "queued"]
        # Then the batch dies: no more heartbeats, and its row comes back one lease after the last.
        renewed = clock.now()
    assert _sweep(database_url, renewed + DEFAULT_LEASE - timedelta(seconds=1)) == 0
    assert _sweep(database_url, renewed + DEFAULT_LEASE + timedelta(seconds=1)) == 1
    assert _statuses(database_url) == ["sent", "pending"]


def test_rows_no_batch_took_come_back_early_only_when_the_broker_holds_no_task(database_url):
    _queued_at_t0(database_url)
    after_the_lease = T0 + DEFAULT_LEASE + timedelta(seconds=1)
    assert _sweep(database_url, after_the_lease) == 0  # their task may still wait behind others
    assert _statuses(database_url) == ["queued", "queued"]
    assert _sweep(database_url, after_the_lease, queue_idle=True) == 2  # their task was lost
    assert _statuses(database_url) == ["pending", "pending"]


def test_rows_no_batch_took_come_back_after_the_queue_lease_whatever_the_broker_says(database_url):
    _queued_at_t0(database_url)
    assert _sweep(database_url, T0 + QUEUE_LEASE + timedelta(seconds=1)) == 2


@pytest.fixture
def environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name in ("DIGEST_LEASE_SECONDS", "DIGEST_HEARTBEAT_SECONDS", "DIGEST_NOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIGEST_SECRET_KEY", "test-secret-key-0123456789abcdef")
    return monkeypatch


def test_lease_and_heartbeat_default_to_seconds_and_are_settable(environment):
    settings = load_settings()
    assert (settings.lease, settings.heartbeat) == (timedelta(seconds=30), timedelta(seconds=10))
    environment.setenv("DIGEST_LEASE_SECONDS", "3")
    assert (load_settings().lease, load_settings().heartbeat) == (timedelta(seconds=3), timedelta(seconds=1))
    environment.setenv("DIGEST_HEARTBEAT_SECONDS", "0.5")
    assert load_settings().heartbeat == timedelta(seconds=0.5)


@pytest.mark.parametrize(
    ("lease", "heartbeat", "says"),
    [
        ("soon", "", r"^DIGEST_LEASE_SECONDS must be a number of seconds, got 'soon'"),
        ("0", "", r"^DIGEST_LEASE_SECONDS must be more than 0 seconds"),
        ("30", "-1", r"^DIGEST_HEARTBEAT_SECONDS must be more than 0 seconds"),
        ("30", "20", r"^DIGEST_HEARTBEAT_SECONDS \(20\) must be at most half of DIGEST_LEASE_SECONDS \(30\)"),
    ],
)
def test_a_bad_lease_or_heartbeat_is_refused_naming_the_variable(environment, lease, heartbeat, says):
    environment.setenv("DIGEST_LEASE_SECONDS", lease)
    environment.setenv("DIGEST_HEARTBEAT_SECONDS", heartbeat)
    with pytest.raises(ConfigError, match=says):
        load_settings()


def test_a_batch_whose_database_connection_is_reset_reconnects_and_goes_on_holding_its_rows(postgres_url):
    import psycopg
    from fixtures_db import _empty_postgres

    _empty_postgres(postgres_url)
    issue_id, (wang, li) = _queued_issue(postgres_url)
    with Ledger(make_engine(postgres_url, pooled=False)) as ledger:
        ledger.take([wang, li])
        assert ledger.commit(Claim(wang, issue_id, "<w@x>", (1,)))
        with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where datname = current_database() and pid <> pg_backend_pid()"
            )
        # Wang's outcome and Li's claim go in one commit, over a new connection.
        ledger.record(wang, "sending", status="sent")
        assert ledger.commit(Claim(li, issue_id, "<l@x>", (1,)))
        ledger.release([li])  # and the batch still holds Li's row: its release moves it
    with transaction(postgres_url) as session:
        rows = session.execute(select(models.Delivery.status, models.Delivery.attempts).order_by(models.Delivery.id))
        assert [tuple(r) for r in rows] == [("sent", 1), ("pending", 0)]
