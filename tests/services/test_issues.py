"""Planning is idempotent and the database decides what is due (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.issues import (
    IssueStateError,
    cancel_issue,
    claim_due,
    delivery_counts,
    pause_issue,
    plan_due_issues,
    resume_issue,
)
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription

# Planning and scheduling by instants: every "now" here is pinned.
pytestmark = pytest.mark.clock


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def seed(url, zones=("Asia/Shanghai", "Europe/Berlin", "America/New_York")):
    regions = load_regions()
    with transaction(url) as session:
        ml = ensure_default_list(session)  # Monday 08:00 Asia/Shanghai
        for i, tz in enumerate(zones):
            sub, _, _ = upsert_subscription(session, ml, regions, email=f"r{i}@example.org", status="confirmed")
            sub.subscriber.time_zone = tz


def issues(url):
    with transaction(url) as session:
        return session.execute(select(models.Issue.period_end, models.Issue.status)).all()


def test_only_the_latest_due_slot_is_planned_and_only_once(database_url):
    seed(database_url)
    # Sunday 17:00 UTC: no zone has reached Monday 08:00 yet; the latest slot is last Monday's, six days
    # gone: past the catch-up window, it is not planned at all.
    with transaction(database_url) as session:
        assert plan_due_issues(session, utc(2026, 11, 29, 17)) == []
    # Sunday 18:00 UTC: Monday 08:00 at UTC+14, the earliest any zone reaches the slot.
    with transaction(database_url) as session:
        assert len(plan_due_issues(session, utc(2026, 11, 29, 18))) == 1
    with transaction(database_url) as session:
        assert plan_due_issues(session, utc(2026, 11, 29, 18, 30)) == []
    assert [p for p, _ in issues(database_url)] == [date(2026, 11, 29)]


def test_two_planners_at_once_make_one_issue_and_one_row_each(database_url):
    seed(database_url)
    now = utc(2026, 11, 29, 18, 0)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def planner():
        try:
            barrier.wait()
            with transaction(database_url) as session:
                results.append(plan_due_issues(session, now))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=planner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # On SQLite the second writer may be refused outright; it retries on its next tick.
    assert all("locked" in str(e) for e in errors), errors
    with transaction(database_url) as session:
        assert plan_due_issues(session, now) == []
        assert session.scalar(select(func.count()).select_from(models.Issue)) == 1
        assert session.scalar(select(func.count()).select_from(models.Delivery)) == 3
    assert sum(len(r) for r in results) == 1


def test_a_missed_slot_is_caught_up_once(database_url):
    seed(database_url)
    # The scheduler was down from before the 2026-12-14 slot (Monday 08:00 in Shanghai, 00:00 UTC) until
    # three hours after it: within the list's catch-up window (6 h), the slot goes, once.
    with transaction(database_url) as session:
        planned = plan_due_issues(session, utc(2026, 12, 14, 3))
    with transaction(database_url) as session:
        again = plan_due_issues(session, utc(2026, 12, 14, 3, 1))
    assert len(planned) == 1 and again == []
    assert [p for p, _ in issues(database_url)] == [date(2026, 12, 13)]


def test_rows_fall_due_in_each_subscribers_zone(database_url):
    seed(database_url)
    with transaction(database_url) as session:
        plan_due_issues(session, utc(2026, 11, 29, 18))
    assert due(database_url, utc(2026, 11, 29, 23, 59)) == 0
    assert due(database_url, utc(2026, 11, 30, 0, 0)) == 1  # Shanghai 08:00
    assert due(database_url, utc(2026, 11, 30, 7, 0)) == 1  # Berlin 08:00
    assert due(database_url, utc(2026, 11, 30, 13, 0)) == 1  # New York 08:00


def due(url, now) -> int:
    with transaction(url) as session:
        return sum(len(ids) for ids in claim_due(session, limit=100, now=now).values())


def test_pause_resume_cancel(database_url):
    seed(database_url)
    with transaction(database_url) as session:
        [issue_id] = plan_due_issues(session, utc(2026, 11, 29, 18))
    with transaction(database_url) as session:
        issue = session.get(models.Issue, issue_id)
        pause_issue(session, issue)
    with transaction(database_url) as session:
        assert claim_due(session, limit=10, now=utc(2026, 11, 30, 14)) == {}
        resume_issue(session, session.get(models.Issue, issue_id))
    with transaction(database_url) as session:
        assert len(claim_due(session, limit=1, now=utc(2026, 11, 30, 14))[issue_id]) == 1
        assert cancel_issue(session, session.get(models.Issue, issue_id)) == 3
        assert delivery_counts(session, issue_id) == {"skipped": 3}
        with pytest.raises(IssueStateError):
            resume_issue(session, session.get(models.Issue, issue_id))


def test_a_large_issue_is_handed_out_in_claim_order_without_sorting_it_whole(postgres_url):
    """After planning, the planner knows the new rows: a claim reads its batch in index order and stops."""
    from fixtures_db import _empty_postgres
    from sqlalchemy import insert, text

    _empty_postgres(postgres_url)
    now = utc(2026, 11, 23, 0, 0)
    with transaction(postgres_url) as session:
        ml = ensure_default_list(session)
        session.execute(
            insert(models.Subscriber),
            [
                {"email": f"reader{i}@example.org", "name": "", "time_zone": "Asia/Shanghai", "created_at": now}
                for i in range(1500)
            ],
        )
        session.execute(
            insert(models.Subscription),
            [
                {
                    "list_id": ml.id,
                    "subscriber_id": sid,
                    "status": "confirmed",
                    "region_codes": [],
                    "topic_slugs": [],
                    "created_at": now,
                }
                for sid in session.scalars(select(models.Subscriber.id))
            ],
        )
    with transaction(postgres_url) as session:
        [issue_id] = plan_due_issues(session, now=now)
    with transaction(postgres_url) as session:
        assert session.scalar(text("select reltuples from pg_class where relname = 'deliveries'")) == 1500
        plan = "\n".join(
            session.scalars(
                text(
                    "explain select d.id from deliveries d join issues i on i.id = d.issue_id"
                    " where d.status = 'pending' and (d.due_at is null or d.due_at <= now()) and i.status = 'sending'"
                    " and d.issue_id = :issue order by d.due_at, d.id limit 500 for update of d skip locked"
                ),
                {"issue": issue_id},
            )
        )
        assert "ix_deliveries_status_due" in plan and "Sort" not in plan, plan
        first = claim_due(session, limit=500, issue_id=issue_id, now=utc(2026, 11, 30))[issue_id]
    assert first == sorted(first) and len(first) == 500


def test_planning_writes_the_ledger_in_one_statement_and_a_second_send_adds_nothing(database_url):
    """A million rows planned in Python took minutes and gigabytes; the database fills the ledger itself."""
    from sqlalchemy import event

    from digest.services.enqueue import enqueue_deliveries
    from digest.services.issues import plan_issue, start_issue

    seed(database_url, zones=("Asia/Shanghai", "Europe/Berlin", "America/New_York", "Not/AZone", "Asia/Shanghai"))
    inserts: list[object] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            inserts.append(statement.upper())

    with transaction(database_url) as session:
        event.listen(session.get_bind(), "before_cursor_execute", seen)
        try:
            ml = ensure_default_list(session)
            issue = plan_issue(session, ml, date(2026, 11, 29))
            assert enqueue_deliveries(session, issue, list_slot_of(ml)) == 5
            assert enqueue_deliveries(session, issue) == 0  # the second `digest send` of a planned week
            start_issue(session, issue)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", seen)
        rows = session.execute(
            select(models.Subscriber.time_zone, models.Delivery.due_at)
            .join(models.Delivery, models.Delivery.subscriber_id == models.Subscriber.id)
            .order_by(models.Subscriber.email)
        ).all()
    # Each enqueue is one INSERT … SELECT: no subscriber's row passes through Python.
    assert len(inserts) == 3 and all(" SELECT " in s.replace("\n", " ") for s in inserts)
    # Monday 30 November 08:00 in each reader's zone; an unknown zone takes the list's (Asia/Shanghai).
    assert rows == [
        ("Asia/Shanghai", utc(2026, 11, 30, 0)),
        ("Europe/Berlin", utc(2026, 11, 30, 7)),
        ("America/New_York", utc(2026, 11, 30, 13)),
        ("Not/AZone", utc(2026, 11, 30, 0)),
        ("Asia/Shanghai", utc(2026, 11, 30, 0)),
    ]


def list_slot_of(ml):
    from digest.services.issues import list_slot

    return list_slot(ml)
