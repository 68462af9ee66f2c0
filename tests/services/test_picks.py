"""Picks as rows on SQLite and PostgreSQL: every path that writes a subscription's picks leaves
subscription_regions and subscription_topics equal to its JSON columns, and migration 0010 fills them."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from personas import ALL, LI_HUNAN, LIU_TOPICS, subscribe_confirmed
from sqlalchemy import insert, select

from digest.adapters.storage import models
from digest.adapters.storage.db import alembic_config, make_engine, session_factory, transaction
from digest.core.regions import load_regions
from digest.services.lists import ensure_default_list
from digest.services.picks import ANY, store_picks
from digest.services.self_service import save_preferences
from digest.services.subscribe_requests import Choices, request_subscription
from digest.services.subscriber_editing import edit_subscription, get_subscription, save_subscription
from digest.services.subscriber_import import import_csv
from digest.services.subscribers import subscription_by_email, upsert_subscription

REGIONS = load_regions()
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _index_and_json(url) -> tuple[dict[int, tuple[set, set]], dict[int, tuple[set, set]]]:
    """Per subscription id: (regions, topics) as the pick tables hold them, and as the JSON columns do
    (with ANY, "*", for none picked)."""
    with transaction(url) as session:
        subs = session.scalars(select(models.Subscription)).all()
        kept = {s.id: (set(s.region_codes or (ANY,)), set(s.topic_slugs or (ANY,))) for s in subs}
        rows: dict[int, tuple[set, set]] = {s.id: (set(), set()) for s in subs}
        for sid, code in session.execute(
            select(models.SubscriptionRegion.subscription_id, models.SubscriptionRegion.region_code)
        ):
            rows[sid][0].add(code)
        for sid, slug in session.execute(
            select(models.SubscriptionTopic.subscription_id, models.SubscriptionTopic.topic_slug)
        ):
            rows[sid][1].add(slug)
    return rows, kept


def _assert_in_step(url) -> dict[int, tuple[set, set]]:
    rows, kept = _index_and_json(url)
    assert rows == kept
    return kept


def _sub_id(session, email: str) -> int:
    return subscription_by_email(session, ensure_default_list(session), email).id


def test_every_write_path_keeps_the_pick_rows_equal_to_the_json(database_url):
    url = database_url
    with transaction(url) as session:
        subscribe_confirmed(session, ensure_default_list(session), REGIONS)  # upsert_subscription, new rows
    kept = _assert_in_step(url)
    assert sorted(r for r, _ in kept.values() if ANY in r) == [{ANY}]  # 刘洋 picked no region
    with transaction(url) as session:
        ml = ensure_default_list(session)
        upsert_subscription(
            session, ml, REGIONS, email=LI_HUNAN.email, region_labels=["怀化", "安康"], topic_labels=["产业发展"]
        )
        sub = get_subscription(session, ml, subscription_by_email(session, ml, LIU_TOPICS.email).subscriber_id)
        edit_subscription(session, ml, REGIONS, sub, {"regions": ["西藏"], "topics": []})
        save_subscription(
            session, ml, REGIONS, "new.reader@example.cn", {"regions": ["湖南", "全国"], "topics": ["industry"]}
        )
        save_subscription(session, ml, REGIONS, "new.reader@example.cn", {"regions": []})
    kept = _assert_in_step(url)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert kept[_sub_id(session, LI_HUNAN.email)] == ({"431200", "610900"}, {"industry"})
        assert kept[_sub_id(session, LIU_TOPICS.email)] == ({"540000"}, {ANY})
        assert kept[_sub_id(session, "new.reader@example.cn")] == ({ANY}, {"industry"})
    csv = "email,name,regions,topics\nli.wei@example.cn,李伟,陕西,\nimported@example.cn,,湖南;汉滨区,public-services\n"
    with transaction(url) as session:
        list_id = ensure_default_list(session).id
    engine = make_engine(url, pooled=False)
    try:
        report = import_csv(session_factory(engine), list_id, REGIONS, csv, source="t.csv")
    finally:
        engine.dispose()
    assert (report.added, report.updated) == (1, 1)
    with transaction(url) as session:
        list_id = ensure_default_list(session).id
        choices = Choices(["430000"], ["industry"])
        request_subscription(session.connection(), list_id, "asked@example.cn", "", choices, NOW)
    with transaction(url) as session:
        sub = subscription_by_email(session, ensure_default_list(session), "asked@example.cn")
        save_preferences(session, sub, "", Choices(["610902", "000000"], []))
    kept = _assert_in_step(url)
    with transaction(url) as session:
        assert kept[_sub_id(session, "imported@example.cn")] == ({"430000", "610902"}, {"public-services"})
        assert kept[_sub_id(session, "asked@example.cn")] == ({"610902", "000000"}, {ANY})


def test_the_subscribe_form_changes_a_pending_readers_pick_rows_and_never_a_confirmed_ones(database_url):
    """On PostgreSQL the form's request is one statement that keeps the rows itself (a row no longer picked
    goes, a new one comes); it must leave the same rows as `store_picks` would, and touch no confirmed reader's."""
    url = database_url

    def ask(email: str, choices: Choices) -> None:
        with transaction(url) as session:
            request_subscription(session.connection(), ensure_default_list(session).id, email, "", choices, NOW)

    with transaction(url) as session:
        subscribe_confirmed(session, ensure_default_list(session), REGIONS)
    ask("pending@example.cn", Choices(["430000", "000000"], ["industry"]))
    ask("pending@example.cn", Choices(["430000", "610902"], []))
    ask(LI_HUNAN.email, Choices(["540000"], ["industry"]))
    kept = _assert_in_step(url)
    with transaction(url) as session:
        assert kept[_sub_id(session, "pending@example.cn")] == ({"430000", "610902"}, {ANY})
        assert kept[_sub_id(session, LI_HUNAN.email)] == (set(LI_HUNAN.region_codes), set(LI_HUNAN.topics) or {ANY})


def test_store_picks_rebuilds_rows_written_without_the_orm_and_only_those(database_url):
    url = database_url
    with transaction(url) as session:
        subscribe_confirmed(session, ensure_default_list(session), REGIONS)
        first, second = (_sub_id(session, p.email) for p in ALL[:2])
        # As bulk writers do: the JSON columns changed by one UPDATE, the rows rebuilt for those ids only.
        session.execute(
            models.Subscription.__table__.update()
            .where(models.Subscription.id.in_([first, second]))
            .values(region_codes=["430000", "430000", "431200"], topic_slugs=["industry"])
        )
        store_picks(session, [first])
    rows, kept = _index_and_json(url)
    assert rows[first] == ({"430000", "431200"}, {"industry"}) == kept[first]
    assert rows[second] != kept[second]  # not asked for: left as it was


def test_migration_0010_fills_the_pick_rows_from_the_json(database_url):
    url = database_url
    config = alembic_config(url)
    with transaction(url) as session:
        list_id = ensure_default_list(session).id  # made with today's model, before its later columns go
    command.downgrade(config, "0009")
    try:
        with transaction(url) as session:
            for i, (codes, slugs) in enumerate([(["430000", "610902"], ["industry"]), ([], []), (["000000"], [])]):
                person = models.Subscriber(email=f"old{i}@example.cn")
                session.add(person)
                session.flush()
                # Only the columns 0009 had: the model's later ones (0020's bounce score) are not there yet.
                session.execute(
                    insert(models.Subscription).values(
                        list_id=list_id, subscriber_id=person.id, region_codes=codes, topic_slugs=slugs
                    )
                )
    finally:
        command.upgrade(config, "head")
    kept = _assert_in_step(url)
    assert sorted((sorted(r), sorted(t)) for r, t in kept.values()) == [
        ([ANY], [ANY]),
        (["000000"], [ANY]),
        (["430000", "610902"], ["industry"]),
    ]
