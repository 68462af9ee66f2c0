"""The look-ups the web pages ask of the services, on SQLite and PostgreSQL: lists, the archive's issues,
what a subscriber's copy held, the test-send picker's addresses, and the health check."""

from __future__ import annotations

from datetime import date

import pytest
from personas import ALL, LI_HUNAN, WANG_NATIONAL, subscribe_confirmed
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, session_factory, transaction
from digest.core.regions import load_regions
from digest.services import NotFound
from digest.services.health import database_ready
from digest.services.issues import (
    delivered_article_ids,
    find_published_issue,
    issue_for_period,
    plan_issue,
    published_issues,
)
from digest.services.lists import all_lists, ensure_default_list, find_list_by_slug, list_by_id
from digest.services.subscribers import confirmed_emails, upsert_subscription

REGIONS = load_regions()
WEEKS = [date(2026, 11, 8), date(2026, 11, 15), date(2026, 11, 22)]


@pytest.fixture
def url(database_url):
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        session.add(models.MailingList(slug="another", name="Another", sender_email="news@example.cn"))
        subscribe_confirmed(session, ml, REGIONS)
    return database_url


def test_lists_by_slug_and_by_id(url):
    with transaction(url) as session:
        assert [m.slug for m in all_lists(session)] == ["another", "rural-weekly"]
        default = find_list_by_slug(session, "rural-weekly")
        assert default is not None and list_by_id(session, default.id) is default
        assert find_list_by_slug(session, "") is None  # unlike get_list, no default for an empty slug
        with pytest.raises(NotFound):
            list_by_id(session, default.id + 100)


def test_the_archive_shows_only_issues_that_went_out_newest_first(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        first, second, third = (plan_issue(session, ml, week) for week in WEEKS)
        first.status, second.status, third.status = "sent", "sending", "planned"
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert [i.number for i in published_issues(session, ml)] == [2, 1]
        assert find_published_issue(session, ml, 1).period_end == WEEKS[0]
        assert find_published_issue(session, ml, 3) is None  # planned: not public yet
        assert find_published_issue(session, ml, 9) is None
        assert issue_for_period(session, ml, WEEKS[2]).number == 3
        assert issue_for_period(session, ml, date(2026, 11, 29)) is None
        other = find_list_by_slug(session, "another")
        assert published_issues(session, other) == [] and find_published_issue(session, other, 1) is None


def test_delivered_article_ids_are_what_their_copy_held(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        issue = plan_issue(session, ml, WEEKS[0])
        session.flush()
        li, wang = (
            session.scalar(select(models.Subscriber.id).where(models.Subscriber.email == p.email))
            for p in (LI_HUNAN, WANG_NATIONAL)
        )
        session.add(models.Delivery(issue_id=issue.id, subscriber_id=li, status="sent", article_ids=[3, 1]))
        session.add(models.Delivery(issue_id=issue.id, subscriber_id=wang, status="pending"))
        issue_id = issue.id
    with transaction(url) as session:
        assert delivered_article_ids(session, issue_id, li) == [3, 1]
        assert delivered_article_ids(session, issue_id, wang) is None  # queued, nothing made yet
        assert delivered_article_ids(session, issue_id + 1, li) is None


def test_confirmed_emails_are_the_lists_confirmed_addresses_in_order(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        upsert_subscription(session, ml, REGIONS, email="pending@example.cn", status="pending")
        other = find_list_by_slug(session, "another")
        upsert_subscription(session, other, REGIONS, email="elsewhere@example.cn", status="confirmed")
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert confirmed_emails(session, ml) == sorted(p.email for p in ALL)
        assert confirmed_emails(session, ml, limit=2) == sorted(p.email for p in ALL)[:2]


def test_the_database_is_ready_once_migrated_and_not_before(url, tmp_path):
    assert database_ready(session_factory(make_engine(url, pooled=False)))
    assert not database_ready(session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}")))
