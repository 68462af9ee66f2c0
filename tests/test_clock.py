"""The settable clock: DIGEST_NOW, and a send path that reads no other.

Every test here pins the time, so each passes on any day, and under
`faketime` with the wall clock a year off (see README, Development).
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import email.utils
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_db import make_settings
from sqlalchemy import select

from digest import worker
from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.cli.commands import main
from digest.core.clock import SYSTEM_CLOCK, FixedClock, OffsetClock, SystemClock, parse_instant
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.core.settings import ConfigError, load_settings
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.delivery.handout import tick as hand_out_due
from digest.services.delivery.worker_batch import run_batch
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscribers import upsert_subscription

pytestmark = pytest.mark.clock

DEMO = Path(__file__).resolve().parents[1] / "digest" / "data" / "demo-issue.txt"
SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def no_wall_clock(monkeypatch):
    """Any read of the system clock (a default nobody overrode) fails the test."""

    def refuse(self):
        raise AssertionError("the wall clock was read where the settings' clock should have been")

    monkeypatch.setattr(SystemClock, "now", refuse)


@pytest.fixture
def digest_now(monkeypatch, tmp_path):
    """Sets DIGEST_NOW for settings loaded from here on, each value a fresh clock."""
    monkeypatch.chdir(tmp_path)  # settings without a secret write one into the working directory

    def set_to(value: str) -> None:
        monkeypatch.setenv("DIGEST_NOW", value)

    return set_to


# The clock itself


def test_a_fixed_clock_stands_still_until_set_or_advanced():
    clock = FixedClock(datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2026, 11, 29, 0, 0, tzinfo=UTC) and clock.now().tzinfo is UTC
    assert clock.now() == clock.now()
    assert clock.advance(minutes=90) == datetime(2026, 11, 29, 1, 30, tzinfo=UTC)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 11, 29, 8, 0))


def test_today_is_read_in_the_zone_asked_for():
    # 20:00 UTC on Sunday is already Monday in Shanghai.
    clock = FixedClock(datetime(2026, 11, 29, 20, 0, tzinfo=UTC))
    assert clock.today("UTC") == date(2026, 11, 29)
    assert clock.today(NEWSROOM_TZ) == clock.today("Asia/Shanghai") == date(2026, 11, 30)
    assert clock.local("America/New_York").hour == 15


def test_an_offset_clock_starts_at_its_instant_and_runs_on():
    start = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    clock = OffsetClock(start)
    first = clock.now()
    assert start <= first < start + timedelta(seconds=5)
    assert clock.now() >= first


def test_digest_now_is_an_instant_with_its_offset():
    assert parse_instant("2026-11-29T08:00:00+08:00") == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    assert parse_instant("2026-11-29T00:00:00Z") == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    assert parse_instant(" 2026-11-29 08:00+08:00 ") == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2026-11-29T08:00:00", "no UTC offset"),  # zone-less: refused, not guessed
        ("2026-11-29", "no UTC offset"),
        ("next monday", "not an ISO 8601 date and time"),
        ("2026-13-01T00:00:00+00:00", "not an ISO 8601 date and time"),
    ],
)
def test_a_bad_digest_now_is_refused_naming_the_variable(digest_now, value, says):
    digest_now(value)
    with pytest.raises(ConfigError, match=r"^DIGEST_NOW: .*" + says) as caught:
        load_settings()
    assert repr(value) in str(caught.value)


def test_settings_take_digest_now_and_each_load_starts_its_clock_there(digest_now, monkeypatch):
    monkeypatch.delenv("DIGEST_NOW", raising=False)
    assert load_settings().clock is SYSTEM_CLOCK
    digest_now("2026-11-29T08:00:00+08:00")
    first, second = load_settings(), load_settings()
    assert isinstance(first.clock, OffsetClock) and isinstance(second.clock, OffsetClock)
    assert second.clock.now() - first.clock.now() < timedelta(minutes=1)  # both started at DIGEST_NOW
    assert datetime(2026, 11, 29, 0, 0, tzinfo=UTC) <= first.clock.now() < datetime(2026, 11, 29, 0, 1, tzinfo=UTC)
    assert first.clock.today(NEWSROOM_TZ) == date(2026, 11, 29)
    assert first == dataclasses.replace(first, clock=SYSTEM_CLOCK)  # the clock is no part of a setting's identity


def test_the_cli_says_which_variable_is_wrong(tmp_path):
    env = {"DIGEST_NOW": "29/11/2026", "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}", "PATH": "/usr/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "digest.cli", "status"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 1 and "DIGEST_NOW" in out.stderr and "Traceback" not in out.stderr, out.stderr


# The send path reads the settings' clock and nothing else


def _messages(outbox: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted((outbox / "new").iterdir())
    ]


def test_digest_ingest_and_send_take_today_and_now_from_the_clock(sqlite_url, tmp_path, no_wall_clock):
    """No --published, no --period-end: the clock says which day it is, and the Date header says when."""
    pinned = datetime(2021, 6, 20, 10, 30, tzinfo=SHANGHAI)
    settings = dataclasses.replace(make_settings(sqlite_url, tmp_path), clock=FixedClock(pinned))
    app = Runtime.for_settings(settings)
    with transaction(sqlite_url) as session:
        ensure_default_list(session).sender_email = "weekly@digest.example.org"
    runner = CliRunner()
    for args in (
        ["ingest", str(DEMO)],
        ["subscribers", "add", "reader@example.org", "--confirmed"],
        ["send"],
    ):
        result = runner.invoke(main, args, obj=app, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    # The design's default: the seven days that end today.
    assert "issue 1: 2021-06-14 – 2021-06-20" in result.output
    with transaction(sqlite_url) as session:
        published = set(session.scalars(select(models.Article.published_at)))
        issue = session.scalars(select(models.Issue)).one()
        delivery = session.scalars(select(models.Delivery)).one()
        assert (issue.period_end, issue.status, issue.finished_at) == (date(2021, 6, 20), "sent", pinned)
        assert (delivery.status, delivery.sent_at, delivery.updated_at) == ("sent", pinned, pinned)
    assert published == {pinned}  # the demo issue's articles carry no date of their own
    [message] = _messages(settings.outbox)
    assert email.utils.parsedate_to_datetime(message["Date"]) == pinned


def test_a_send_by_hand_mid_week_repeats_nothing_the_scheduled_issue_sent(sqlite_url, tmp_path, no_wall_clock):
    """`digest send` on a Wednesday covers the seven days that end that day, overlapping Monday's issue: the
    reader gets only what Monday's copy did not hold, and nothing at all when it held everything."""
    sunday = datetime(2021, 6, 20, 10, 30, tzinfo=SHANGHAI)
    wednesday = datetime(2021, 6, 23, 15, 0, tzinfo=SHANGHAI)
    settings = make_settings(sqlite_url, tmp_path)
    with transaction(sqlite_url) as session:
        ensure_default_list(session).sender_email = "weekly@digest.example.org"
    runner = CliRunner()
    for args, clock in (
        (["ingest", str(DEMO), "--published", "2021-06-18"], sunday),
        (["subscribers", "add", "reader@example.org", "--confirmed"], sunday),
        (["send"], sunday),
        (["send"], wednesday),
    ):
        app = Runtime.for_settings(dataclasses.replace(settings, clock=FixedClock(clock)))
        result = runner.invoke(main, args, obj=app, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert "issue 2: 2021-06-17 – 2021-06-23" in result.output
    with transaction(sqlite_url) as session:
        statuses = session.execute(select(models.Delivery.status, models.Delivery.reason)).all()
    assert sorted(statuses, key=str) == sorted([("sent", None), ("skipped", "empty")], key=str)
    assert len(_messages(settings.outbox)) == 1


def _seed_week(url: str, subscribers: int = 3) -> None:
    regions = load_regions()
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@digest.example.org"
        ml.send_weekday, ml.send_time, ml.time_zone = 0, "08:00", "Asia/Shanghai"  # Mondays, 08:00
        published = datetime(2021, 6, 18, 9, 0, tzinfo=SHANGHAI)  # a Friday
        store_articles(session, ml, parse_file(DEMO), regions, source="demo", published=published)
        for i in range(subscribers):
            upsert_subscription(session, ml, regions, email=f"r{i}@example.org", status="confirmed")


class Handed:
    """A broker that keeps what it is handed (or, given None, fails the test: nothing should be)."""

    def __init__(self, into: list[tuple[int, list[int]]] | None) -> None:
        self.into = into

    def hand_out(self, issue_id: int, delivery_ids: list[int]) -> None:
        if self.into is None:
            pytest.fail("all sent")
        self.into.append((issue_id, delivery_ids))


def test_a_worker_plans_and_sends_by_digest_now_alone(database_url, tmp_path, monkeypatch, digest_now, no_wall_clock):
    """What `celery worker` runs, in-process: the tick plans the slot DIGEST_NOW has reached, batches send it."""
    _seed_week(database_url)
    for name, value in {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_OUTBOX": str(tmp_path / "outbox"),
        "DIGEST_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "DIGEST_BASE_URL": "https://digest.example.org",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DIGEST_BROKER_URL", "DIGEST_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    worker.WorkerProcess.forget()
    try:
        # Monday 09:00 in Shanghai: the week of 14–20 June is due for every reader there.
        digest_now("2021-06-21T09:00:00+08:00")
        runtime = worker.WorkerProcess.get()
        handed: list[tuple[int, list[int]]] = []
        runtime.broker = Handed(handed)
        tick = hand_out_due(runtime)
        assert len(tick["planned"]) == 1 and tick["dispatched"] == 3
        for issue_id, ids in handed:
            assert run_batch(runtime, issue_id, ids, chain=False)["counts"] == {"sent": 3}
        runtime.broker = Handed(None)
        assert hand_out_due(runtime)["finished"] == tick["planned"]
    finally:
        worker.WorkerProcess.forget()
    started = datetime(2021, 6, 21, 1, 0, tzinfo=UTC)
    with transaction(database_url) as session:
        issue = session.scalars(select(models.Issue)).one()
        assert (issue.period_start, issue.period_end) == (date(2021, 6, 14), date(2021, 6, 20))
        sent = session.scalars(select(models.Delivery.sent_at)).all()
        due = set(session.scalars(select(models.Delivery.due_at)))
    assert due == {datetime(2021, 6, 21, 0, 0, tzinfo=UTC)}  # 08:00 in Shanghai
    assert all(started <= t < started + timedelta(minutes=5) for t in [*sent, issue.finished_at])
    dates = [email.utils.parsedate_to_datetime(m["Date"]) for m in _messages(tmp_path / "outbox")]
    assert len(dates) == 3 and all(started <= d < started + timedelta(minutes=5) for d in dates)
