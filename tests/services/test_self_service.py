"""What subscribers do themselves, on SQLite and PostgreSQL: ask on the public form, confirm, change their
picks, pause, resume, leave and come back; each checked on the stored rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import object_session

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.core.tokens import BadToken
from digest.services.lists import ensure_default_list
from digest.services.self_service import (
    confirm_subscription,
    find_subscription,
    leave_subscriptions,
    pause_subscription,
    resubscribe,
    resume_subscription,
    save_preferences,
)
from digest.services.subscribe_requests import Choices, request_subscription
from digest.services.subscribers import upsert_subscription

REGIONS = load_regions()
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HUNAN = Choices(regions=["430000"], topics=["industry"], time_zone="Europe/Berlin", locale="en")


def _row(url, email: str = "li.wei@example.cn") -> models.Subscription:
    with transaction(url) as session:
        sub = session.scalar(
            select(models.Subscription).join(models.Subscriber).where(models.Subscriber.email == email)
        )
        assert sub is not None
        session.expunge(sub.subscriber)
        session.expunge(sub)
        return sub


@pytest.fixture
def url(database_url):
    with transaction(database_url) as session:
        ensure_default_list(session)
    return database_url


def _ask(url, name: str = "李伟", choices: Choices = HUNAN) -> tuple[str, bool]:
    with transaction(url) as session:
        list_id = ensure_default_list(session).id
        asked = request_subscription(session.connection(), list_id, "li.wei@example.cn", name, choices, NOW)
        return asked.requester.email, asked.already_confirmed


def test_a_request_records_pending_picks_with_the_time_zone_and_language(url):
    assert _ask(url) == ("li.wei@example.cn", False)
    sub = _row(url)
    assert (sub.status, sub.region_codes, sub.topic_slugs) == ("pending", ["430000"], ["industry"])
    assert (sub.subscriber.name, sub.subscriber.time_zone, sub.subscriber.locale) == ("李伟", "Europe/Berlin", "en")


def test_a_request_leaves_a_confirmed_subscription_and_its_owner_alone(url):
    _ask(url)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        confirm_subscription(find_subscription(session, _row(url).subscriber_id, ml.slug), NOW, NOW)
    assert _ask(url, name="冒名者", choices=Choices(regions=["000000"])) == ("li.wei@example.cn", True)
    sub = _row(url)
    assert (sub.status, sub.region_codes, sub.subscriber.name) == ("confirmed", ["430000"], "李伟")


def test_find_subscription_needs_the_right_list(url):
    _ask(url)
    subscriber_id = _row(url).subscriber_id
    with transaction(url) as session:
        assert find_subscription(session, subscriber_id, "rural-weekly") is not None
        assert find_subscription(session, subscriber_id, "no-such-list") is None
        assert find_subscription(session, subscriber_id + 1, "rural-weekly") is None


def test_a_confirmation_mailed_before_they_left_does_not_bring_them_back(url):
    _ask(url)
    with transaction(url) as session:
        sub = find_subscription(session, _row(url).subscriber_id, "rural-weekly")
        leave_subscriptions([sub], NOW)
    with transaction(url) as session:
        sub = find_subscription(session, _row(url).subscriber_id, "rural-weekly")
        with pytest.raises(BadToken):
            confirm_subscription(sub, NOW - timedelta(minutes=1), NOW + timedelta(minutes=1))
    assert _row(url).status == "unsubscribed"
    with transaction(url) as session:
        sub = find_subscription(session, _row(url).subscriber_id, "rural-weekly")
        confirm_subscription(sub, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2))
    sub = _row(url)
    assert (sub.status, sub.unsubscribed_at) == ("confirmed", None)
    assert sub.confirmed_at.replace(tzinfo=UTC) == NOW + timedelta(minutes=2)


def test_preferences_pause_resume_leave_and_resubscribe_are_stored(url):
    _ask(url)
    subscriber_id = _row(url).subscriber_id

    def change(action) -> models.Subscription:
        with transaction(url) as session:
            action(find_subscription(session, subscriber_id, "rural-weekly"))
        return _row(url)

    choices = Choices(["000000"], [], "Asia/Shanghai", "zh-CN")
    sub = change(lambda s: save_preferences(object_session(s), s, "  李  伟 ", choices))
    assert (sub.region_codes, sub.topic_slugs, sub.subscriber.name) == (["000000"], [], "李 伟")
    assert (sub.subscriber.time_zone, sub.subscriber.locale) == ("Asia/Shanghai", "zh-CN")
    assert change(lambda s: pause_subscription(s, date(2026, 12, 4))).paused_until == date(2026, 12, 4)
    assert change(resume_subscription).paused_until is None
    assert change(lambda s: leave_subscriptions([s], NOW)).status == "unsubscribed"
    sub = change(lambda s: resubscribe(s, NOW))
    assert (sub.status, sub.unsubscribed_at) == ("confirmed", None)


def test_leaving_again_keeps_the_first_time_they_left(url):
    with transaction(url) as session:
        upsert_subscription(session, ensure_default_list(session), REGIONS, email="li.wei@example.cn", name="李伟")
    subscriber_id = _row(url).subscriber_id
    for moment in (NOW, NOW + timedelta(days=1)):
        with transaction(url) as session:
            leave_subscriptions([find_subscription(session, subscriber_id, "rural-weekly")], moment)
    assert _row(url).unsubscribed_at.replace(tzinfo=UTC) == NOW
