"""The admins' subscriber directory on SQLite and PostgreSQL: filters as people type them, all-or-nothing edits,
suppressions."""

from __future__ import annotations

import pytest
from importutil import import_text
from personas import (
    ALL,
    CHEN_HANBIN,
    LI_HUNAN,
    LIU_TOPICS,
    WANG_NATIONAL,
    ZHANG_ANKANG,
    ZHAO_NOTHING,
    subscribe_confirmed,
)
from sqlalchemy import func, select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services import NotFound
from digest.services.lists import ensure_default_list
from digest.services.subscriber_editing import (
    edit_subscription,
    get_subscription,
    save_subscription,
    search_subscriptions,
    subscriber_query,
)
from digest.services.subscribers import upsert_subscription
from digest.services.suppressions import add_suppression, remove_suppression, search_suppressions
from digest.services.validation import Invalid

REGIONS = load_regions()


@pytest.fixture
def url(database_url):
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, REGIONS)
    return database_url


def _emails(url, **filters) -> set[str]:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        query = subscriber_query(ml, REGIONS, **filters)
        return {s.subscriber.email for s in search_subscriptions(session, ml, REGIONS, query, limit=None).rows}


def test_a_region_filter_matches_what_contains_it_what_lies_inside_it_and_no_pick(url):
    # LIU picked no region: every region's news reaches her, so every region filter lists her.
    assert _emails(url, region="湖南") == {LI_HUNAN.email, LIU_TOPICS.email}
    assert _emails(url, region="怀化") == {LI_HUNAN.email, LIU_TOPICS.email}  # 湖南 contains 怀化
    assert _emails(url, region="陕西") == {ZHANG_ANKANG.email, CHEN_HANBIN.email, LIU_TOPICS.email}
    assert _emails(url, region="汉滨区") == {ZHANG_ANKANG.email, CHEN_HANBIN.email, LIU_TOPICS.email}
    assert _emails(url, region="全国") == {WANG_NATIONAL.email, LIU_TOPICS.email}  # not the provinces' parent
    assert _emails(url, region="610900") == {ZHANG_ANKANG.email, CHEN_HANBIN.email, LIU_TOPICS.email}


def test_topic_status_and_text_filters(url):
    everyone = {p.email for p in ALL}
    assert _emails(url, topic="产业发展") == everyone - {ZHAO_NOTHING.email}  # no topic picked = all topics
    assert _emails(url, topic="living-environment") == everyone - {LIU_TOPICS.email}
    assert _emails(url, text="ZHANG.MIN") == {ZHANG_ANKANG.email}
    assert _emails(url, text="李") == {LI_HUNAN.email}
    assert _emails(url, text="%") == set() and _emails(url, text="_") == set()  # literal, not wildcards
    with transaction(url) as session:
        ml = ensure_default_list(session)
        edit_subscription(
            session,
            ml,
            REGIONS,
            get_subscription(session, ml, _id(session, LI_HUNAN.email)),
            {"status": "unsubscribed"},
        )
    assert _emails(url, status="unsubscribed") == {LI_HUNAN.email}
    assert _emails(url, status="confirmed", region="湖南") == {LIU_TOPICS.email}


def test_bad_filters_name_the_field(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        with pytest.raises(Invalid) as caught:
            subscriber_query(ml, REGIONS, region="火星", topic="天文", status="asleep")
    assert set(caught.value.errors) == {"region", "topic", "status"}
    assert caught.value.errors["region"].values["label"] == "火星"


def test_counts_and_pages_newest_first(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        for i in range(7):
            upsert_subscription(session, ml, REGIONS, email=f"p{i}@example.org", region_labels=["湖南"])
    with transaction(url) as session:
        ml = ensure_default_list(session)
        for region in ("", "湖南"):  # the SQL path and the picks path page alike
            query = subscriber_query(ml, REGIONS, region=region)
            pages = [search_subscriptions(session, ml, REGIONS, query, limit=3, offset=o) for o in range(0, 15, 3)]
            seen = [s.id for p in pages for s in p.rows]
            assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == pages[0].total
            assert pages[0].counts["pending"] == 7 and pages[0].counts["confirmed"] == (6 if not region else 2)
            pending = search_subscriptions(
                session, ml, REGIONS, subscriber_query(ml, REGIONS, region=region, status="pending"), limit=2
            )
            assert pending.total == 7 and len(pending.rows) == 2 and pending.counts == pages[0].counts


def _id(session, email: str) -> int:
    return session.scalar(select(models.Subscriber.id).where(models.Subscriber.email == email))


def test_an_edit_with_one_bad_field_changes_nothing(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        sub = get_subscription(session, ml, _id(session, LI_HUNAN.email))
        with pytest.raises(Invalid) as caught:
            edit_subscription(
                session, ml, REGIONS, sub, {"name": "新名字", "regions": ["湖南", "火星"], "topics": ["industry"]}
            )
        assert caught.value.errors["regions"].values["index"] == 1
    with transaction(url) as session:
        ml = ensure_default_list(session)
        sub = get_subscription(session, ml, _id(session, LI_HUNAN.email))
        assert sub.subscriber.name == LI_HUNAN.name and sub.region_codes == ["430000"] and sub.topic_slugs == []
        warnings = edit_subscription(
            session,
            ml,
            REGIONS,
            sub,
            {
                "name": "  李  伟 ",
                "regions": ["江苏沐阳", "临泽"],
                "topics": ["公共服务", "industry"],
                "time_zone": "Europe/Berlin",
                "locale": "en",
            },
        )
        assert any("沭阳县" in w for w in warnings)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        sub = get_subscription(session, ml, _id(session, LI_HUNAN.email))
        assert sub.subscriber.name == "李 伟" and sub.region_codes == ["321322", "620723"]
        assert sub.topic_slugs == ["industry", "public-services"]  # section order
        assert (sub.subscriber.time_zone, sub.subscriber.locale) == ("Europe/Berlin", "en")


def test_save_by_email_creates_pending_then_updates_only_what_is_sent(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        sub, created, _ = save_subscription(session, ml, REGIONS, " New@Example.ORG ", {"regions": ["怀化"]})
        assert created and sub.status == "pending" and sub.subscriber.email == "New@example.org"
        sub, created, _ = save_subscription(
            session, ml, REGIONS, "New@example.org", {"status": "confirmed", "name": "新"}
        )
        assert not created and sub.status == "confirmed" and sub.confirmed_at and sub.region_codes == ["431200"]
        for bad in (
            {"time_zone": "Mars/Olympus"},
            {"locale": "fr"},
            {"status": "asleep"},
            {"colour": "red"},
            {"name": "x" * 201},
        ):
            with pytest.raises(Invalid) as caught:
                save_subscription(session, ml, REGIONS, "New@example.org", bad)
            assert set(caught.value.errors) == set(bad)
        with pytest.raises(Invalid) as caught:
            save_subscription(session, ml, REGIONS, "not-an-address", {"topics": ["天文"]})
        assert set(caught.value.errors) == {"email", "topics"}
    with transaction(url) as session:
        assert (
            session.scalar(select(models.Subscriber.name).where(models.Subscriber.email == "New@example.org")) == "新"
        )


def test_suppressions_add_update_search_remove(url):
    with transaction(url) as session:
        row, created = add_suppression(session, "Bounce@Example.ORG", "hard bounce 550")
        assert created and row.email == "Bounce@example.org"  # as subscribers' addresses are stored
        _, created = add_suppression(session, "bounce@EXAMPLE.org ", "complaint")
        assert created  # the local part is case-sensitive (RFC 5321): another address
        _, created = add_suppression(session, "Bounce@example.org", "  asked   by phone ")
        assert not created
        # A subscriber's own spelling wins, since the sender compares addresses exactly.
        row, _ = add_suppression(session, LI_HUNAN.email.upper(), "typed in capitals")
        assert row.email == LI_HUNAN.email
        for email, reason, fields in (
            ("nope", "x", {"email"}),
            ("a@example.org", " ", {"reason"}),
            ("a@example.org", "x" * 301, {"reason"}),
        ):
            with pytest.raises(Invalid) as caught:
                add_suppression(session, email, reason)
            assert set(caught.value.errors) == fields
    with transaction(url) as session:
        rows, total = search_suppressions(session, "phone")
        assert total == 1 and rows[0].reason == "asked by phone"
        assert search_suppressions(session, "")[1] == 3
        assert remove_suppression(session, email="Bounce@EXAMPLE.ORG") == "Bounce@example.org"
        assert remove_suppression(session, email=LI_HUNAN.email.upper()) == LI_HUNAN.email
        with pytest.raises(NotFound):
            remove_suppression(session, suppression_id=rows[0].id)
    with transaction(url) as session:
        assert session.scalars(select(models.Suppression.email)).all() == ["bounce@example.org"]


def test_import_marks_rows_without_a_status_as_chosen(url):
    text = "email,name,regions,status\na@example.org,甲,湖南,\nb@example.org,乙,全国,unsubscribed\n"
    report = import_text(url, text, source="t.csv", default_status="pending")
    assert (report.added, report.problems) == (2, [])
    with transaction(url) as session:
        statuses = dict(
            session.execute(select(models.Subscriber.email, models.Subscription.status).join(models.Subscription)).all()
        )
        assert statuses["a@example.org"] == "pending" and statuses["b@example.org"] == "unsubscribed"


def test_an_old_spreadsheet_does_not_sign_up_again_someone_who_left(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        upsert_subscription(session, ml, REGIONS, email="left@example.org", status="unsubscribed")
        upsert_subscription(session, ml, REGIONS, email="back@example.org", status="unsubscribed")
    text = "email,name,regions,status\nleft@example.org,甲,湖南,\nback@example.org,乙,全国,confirmed\n"
    report = import_text(url, text, source="old.csv")
    assert report.updated == 2
    [warning] = report.problems
    assert (warning.line, warning.field, warning.severity) == (2, "status", "warning")
    with transaction(url) as session:
        statuses = dict(
            session.execute(select(models.Subscriber.email, models.Subscription.status).join(models.Subscription)).all()
        )
        assert (statuses["left@example.org"], statuses["back@example.org"]) == ("unsubscribed", "confirmed")


def test_counts_stop_past_the_cap_and_the_pages_still_reach_the_end(database_url):
    # A million-row list must not be counted on every page: past COUNT_CAP the figure says "more".
    from sqlalchemy import insert

    from digest.services.picks import store_list_picks
    from digest.services.subscriber_editing import COUNT_CAP

    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        people = [{"email": f"r{i:05d}@example.org"} for i in range(COUNT_CAP + 5)]
        session.execute(insert(models.Subscriber), people)
        ids = session.scalars(select(models.Subscriber.id).order_by(models.Subscriber.id)).all()
        picks = [["430000"] if i % 2 else [] for i in range(len(ids))]
        rows = [
            {"list_id": ml.id, "subscriber_id": s, "status": "confirmed", "region_codes": p}
            for s, p in zip(ids, picks, strict=True)
        ]
        session.execute(insert(models.Subscription), rows)
        store_list_picks(session, ml.id)
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        everyone = search_subscriptions(session, ml, REGIONS, subscriber_query(ml, REGIONS), limit=10)
        assert everyone.capped and everyone.total == COUNT_CAP + 1 and everyone.counts["pending"] == 0
        shaanxi = search_subscriptions(session, ml, REGIONS, subscriber_query(ml, REGIONS, region="陕西"), limit=10)
        assert not shaanxi.capped and shaanxi.total == (COUNT_CAP + 5 + 1) // 2
        newest, oldest = session.execute(
            select(func.max(models.Subscription.id), func.min(models.Subscription.id))
        ).one()
        assert [s.id for s in shaanxi.rows] == [newest - 2 * k for k in range(10)]  # those who picked no region
        last = search_subscriptions(session, ml, REGIONS, subscriber_query(ml, REGIONS), limit=10, after=oldest + 3)
        assert [s.id for s in last.rows] == [oldest + 2, oldest + 1, oldest]
        assert last.next_after is None and last.prev_before == oldest + 2
