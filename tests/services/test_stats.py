"""The dashboard's figures, computed by the database (SQLite and PostgreSQL) from rows we wrote."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from personas import ALL

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, session_factory, transaction
from digest.core.clock import wall_now
from digest.core.regions import load_regions
from digest.services import issue_detail, stats
from digest.services.issue_detail import issue_counts
from digest.services.issues import plan_issue, start_issue
from digest.services.kept import KeptFigures
from digest.services.lists import ensure_default_list
from digest.services.stats import (
    EVERYWHERE,
    deliveries_per_issue,
    headline,
    subscriber_growth,
    subscribers_per_province,
)
from digest.services.subscribers import upsert_subscription

# Figures by the week, counted from a pinned NOW.
pytestmark = pytest.mark.clock

REGIONS = load_regions()
# A Wednesday noon in Shanghai: the current week began Monday 2026-11-23.
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def _people(url, confirmed_days_ago: dict[str, int], *, pending=(), left: dict[str, tuple[int, int]] | None = None):
    """Subscribers confirmed so many days before NOW; `left` = {email: (confirmed_ago, unsubscribed_ago)}."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        by_email = {p.email: p for p in ALL}
        for address, ago in confirmed_days_ago.items():
            p = by_email.get(address)
            sub, _, _ = upsert_subscription(
                session,
                ml,
                REGIONS,
                email=address,
                status="confirmed",
                region_labels=p.regions if p else (),
                topic_labels=p.topics if p else (),
            )
            sub.confirmed_at = NOW - timedelta(days=ago)
        for address in pending:
            upsert_subscription(session, ml, REGIONS, email=address, status="pending")
        for address, (confirmed_ago, left_ago) in (left or {}).items():
            sub, _, _ = upsert_subscription(session, ml, REGIONS, email=address, status="confirmed")
            sub.status = "unsubscribed"
            sub.confirmed_at = NOW - timedelta(days=confirmed_ago)
            sub.unsubscribed_at = NOW - timedelta(days=left_ago)


def test_growth_counts_confirmed_subscribers_at_each_week_end_and_drops_those_who_left(database_url):
    _people(
        database_url,
        {"a@example.org": 1, "b@example.org": 8, "c@example.org": 8, "d@example.org": 100, "e@example.org": 400},
        pending=("p@example.org",),
        left={"gone@example.org": (30, 10)},
    )
    with transaction(database_url) as session:
        points = subscriber_growth(session, ensure_default_list(session), now=NOW)
    assert len(points) == 26
    assert points[-1].week_start == date(2026, 11, 23) and points[0].week_start == date(2026, 6, 1)
    by_week = {p.week_start: p.confirmed for p in points}
    assert by_week[date(2026, 11, 23)] == 5  # now: a, b, c, d, e; "gone" left 10 days ago
    assert by_week[date(2026, 11, 16)] == 4  # end of last week (Monday 23rd 00:00): a is not there yet
    # Two weeks back: b and c (confirmed 8 days ago, on the 17th) not yet; "gone" (confirmed on the 26th of
    # October, left on the 15th of November) already gone at the end of the week of the 9th.
    assert by_week[date(2026, 11, 9)] == 2
    assert by_week[date(2026, 10, 26)] == 3  # d, e and "gone"
    assert by_week[date(2026, 6, 1)] == 1  # only e, confirmed over a year ago
    with transaction(database_url) as session:
        assert headline(session, ensure_default_list(session)).confirmed == points[-1].confirmed


def test_deliveries_per_issue_fold_the_ledger_into_five_series_oldest_first(database_url):
    _people(database_url, {f"r{i}@example.org": 3 for i in range(7)})
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        subs = session.query(models.Subscriber).order_by(models.Subscriber.email).all()
        for week in range(14):
            plan_issue(session, ml, date(2026, 8, 23) + timedelta(weeks=week))
        last = plan_issue(session, ml, date(2026, 11, 29))  # the 15th issue
        statuses = ["sent", "sent", "sent", "failed", "bounced", "suppressed", "pending"]
        for sub, status in zip(subs, statuses, strict=True):
            session.add(models.Delivery(issue_id=last.id, subscriber_id=sub.id, status=status))
        last.status = "sending"
    with transaction(database_url) as session:
        bars = deliveries_per_issue(session, ensure_default_list(session))
        head = headline(session, ensure_default_list(session))
    assert [b.number for b in bars] == list(range(4, 16))
    assert bars[-1].counts == {"sent": 3, "failed": 1, "bounced": 1, "skipped": 1, "waiting": 1}
    assert bars[-1].total == 7 and bars[0].total == 0
    assert head.last_issue == 15 and (head.last_sent, head.last_attempted) == (3, 5)
    assert head.delivery_rate == 0.6
    assert head.issues_sent == 0


def test_provinces_count_each_subscriber_once_per_province_with_national_and_everywhere_apart(database_url):
    _people(database_url, {p.email: 1 for p in ALL})
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        # Two places in one province count once there; a second province counts too.
        upsert_subscription(
            session, ml, REGIONS, email="two@example.org", status="confirmed", region_labels=("怀化", "邵阳", "安康")
        )
        upsert_subscription(session, ml, REGIONS, email="notyet@example.org", status="pending", region_labels=("湖南",))
    with transaction(database_url) as session:
        provinces, national, everywhere = subscribers_per_province(session, ensure_default_list(session), REGIONS)
    counts = {p.name: p.subscribers for p in provinces}
    # 陕西: 张敏 (安康), 陈静 (汉滨区) and "two"; 湖南: 李伟 and "two"; 西藏: 赵磊.
    assert counts == {"陕西": 3, "湖南": 2, "西藏": 1}
    assert [p.name for p in provinces] == ["陕西", "湖南", "西藏"]
    assert national.subscribers == 1 and national.name == "全国"  # 王芳
    assert everywhere.code == EVERYWHERE and everywhere.subscribers == 1  # 刘洋 picked topics only


def test_an_empty_list_has_zero_figures_and_no_rate(database_url):
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        head = headline(session, ml)
        points = subscriber_growth(session, ml, now=NOW)
        assert deliveries_per_issue(session, ml) == []
        provinces, national, everywhere = subscribers_per_province(session, ml, REGIONS)
    assert (head.confirmed, head.pending, head.issues_sent, head.last_issue, head.delivery_rate) == (
        0,
        0,
        0,
        None,
        None,
    )
    assert {p.confirmed for p in points} == {0}
    assert provinces == [] and national.subscribers == everywhere.subscribers == 0


def test_a_large_lists_figures_are_kept_a_minute_and_a_small_lists_counted_each_time(database_url, monkeypatch):
    _people(database_url, {p.email: 1 for p in ALL})

    def confirmed() -> int:
        with transaction(database_url) as session:
            return stats.dashboard(session, ensure_default_list(session), REGIONS, kept).head.confirmed

    def one_more(address: str) -> None:
        with transaction(database_url) as session:
            upsert_subscription(session, ensure_default_list(session), REGIONS, email=address, status="confirmed")

    kept = KeptFigures()
    assert confirmed() == 6
    one_more("seventh@example.org")
    assert confirmed() == 7  # small: counted again
    monkeypatch.setattr(stats, "LIVE_UP_TO", 5)
    assert confirmed() == 7
    one_more("eighth@example.org")
    assert confirmed() == 7  # large: the figures kept
    kept.forget()
    assert confirmed() == 8
    kept.forget()


def test_a_process_with_nothing_kept_shows_the_last_stored_count_and_counts_again_behind(database_url, monkeypatch):
    _people(database_url, {p.email: 1 for p in ALL})
    monkeypatch.setattr(stats, "LIVE_UP_TO", 5)
    engine = make_engine(database_url)
    sessions = session_factory(engine)

    def figures(kept: KeptFigures) -> stats.Dashboard:
        with sessions.begin() as session:
            return stats.dashboard(session, ensure_default_list(session), REGIONS, kept, sessions=sessions)

    try:
        first = figures(KeptFigures())  # counted while the first visitor waits, and stored
        with transaction(database_url) as session:
            upsert_subscription(
                session, ensure_default_list(session), REGIONS, email="new@example.org", status="confirmed"
            )
        # A process a minute on: what is stored is past FRESH_FOR, so it is shown while a thread counts again.
        another_process = KeptFigures(lambda: wall_now() + stats.FRESH_FOR)
        shown = figures(another_process)
        # The stored figures, as counted (every chart's numbers, and when), not a count of its own.
        assert (shown.head, shown.growth, shown.issues, shown.provinces) == (
            first.head,
            first.growth,
            first.issues,
            first.provinces,
        )
        assert abs(shown.counted_at - first.counted_at) < timedelta(milliseconds=1)
        for thread in threading.enumerate():
            if thread.name == "digest-recount":
                thread.join(timeout=10)
        assert figures(another_process).head.confirmed == first.head.confirmed + 1  # counted again behind
        with transaction(database_url) as session:
            (row,) = session.query(models.KeptFigure).all()
            assert row.figures["head"]["confirmed"] == first.head.confirmed + 1
            row.counted_at -= stats.STORED_FOR
        with transaction(database_url) as session:
            upsert_subscription(
                session, ensure_default_list(session), REGIONS, email="newer@example.org", status="confirmed"
            )
        # Stored too long ago: counted afresh while the visitor waits.
        assert figures(KeptFigures()).head.confirmed == first.head.confirmed + 2
    finally:
        engine.dispose()


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_large_issues_ledger_counts_are_kept_a_few_seconds_while_it_moves_and_counted_again_when_its_status_changes(
    database_url, monkeypatch
):
    _people(database_url, {p.email: 1 for p in ALL})
    with transaction(database_url) as session:
        issue = plan_issue(session, ensure_default_list(session), date(2026, 11, 22))
        start_issue(session, issue)
        issue_id = issue.id
    clock = SetClock(NOW)
    kept = KeptFigures(clock)

    def counts() -> dict[str, int]:
        with transaction(database_url) as session:
            return issue_counts(session, [session.get(models.Issue, issue_id)], kept)[issue_id]

    def one_sent() -> None:
        with transaction(database_url) as session:
            row = session.query(models.Delivery).filter_by(issue_id=issue_id, status="pending").first()
            row.status = "sent"

    assert counts() == {"pending": 6}
    one_sent()
    assert counts() == {"pending": 5, "sent": 1}  # small: counted on every request
    monkeypatch.setattr(issue_detail, "LIVE_LEDGER_ROWS", 3)
    assert counts() == {"pending": 5, "sent": 1}
    one_sent()
    assert counts() == {"pending": 5, "sent": 1}  # large: kept
    clock.now += issue_detail.MOVING_FRESH_FOR
    assert counts() == {"pending": 4, "sent": 2}  # kept only so long
    one_sent()
    with transaction(database_url) as session:
        session.get(models.Issue, issue_id).status = "paused"
    assert counts() == {"pending": 3, "sent": 3}  # a new status is a new key
