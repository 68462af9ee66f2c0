"""Editorial use cases on SQLite and PostgreSQL: search, edit all-or-nothing, re-tag, API batches, list settings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.ingest import parse_file
from digest.core.ingest.jsonl import parse_jsonl
from digest.core.regions import load_regions
from digest.services.article_editing import (
    add_articles,
    article_query,
    edit_article,
    search_articles,
)
from digest.services.articles import NEWSROOM_TZ, fingerprint, store_articles
from digest.services.list_editing import subscriber_counts, update_list
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription
from digest.services.validation import Invalid

DEMO = Path(__file__).resolve().parents[2] / "digest" / "data" / "demo-issue.txt"
REGIONS = load_regions()
WEEK = date(2026, 11, 22)


@pytest.fixture
def url(database_url):
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        published = datetime.combine(date(2026, 11, 20), time(9), NEWSROOM_TZ)
        store_articles(session, ml, parse_file(DEMO), REGIONS, source="demo", published=published)
    return database_url


def _find(session, ml, **filters):
    rows, total = search_articles(session, ml, REGIONS, article_query(ml, REGIONS, **filters), limit=100, offset=0)
    return rows, total


def _by_title(session, title):
    return session.scalar(select(models.Article).where(models.Article.title == title))


def test_search_by_region_takes_divisions_inside_and_around_it(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        rows, total = _find(session, ml, region="湖南")
        assert total == 3 and {r.region_label for r in rows} == {"湖南怀化", "湖南隆回", "湖南邵阳"}
        # 汉滨区 lies inside 安康, so 安康's city-wide article is about it too.
        labels = {r.region_label for r in _find(session, ml, region="汉滨区")[0]}
        assert labels == {"陕西安康汉滨区", "陕西安康"}
        national = _find(session, ml, region="全国")[0]
        assert {r.region_label for r in national} == {"财政部", "国家卫健委等十三部门"}


def test_search_by_topic_week_text_and_visibility(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert _find(session, ml, topic="产业发展")[1] == 4
        assert _find(session, ml, week=WEEK)[1] == 16
        assert _find(session, ml, week=date(2026, 11, 29))[1] == 0
        assert [r.title for r in _find(session, ml, text="金银花")[0]] == ["金银花产业带动山区农户增收"]
        assert _find(session, ml, text="100%")[1] == 0  # LIKE wildcards are literal
        edit_article(session, _by_title(session, "金银花产业带动山区农户增收"), {"hidden": True}, REGIONS)
        assert _find(session, ml, hidden=True)[1] == 1 and _find(session, ml, hidden=False)[1] == 15
        with pytest.raises(Invalid) as caught:
            article_query(ml, REGIONS, topic="天气预报", region="火星")
        assert set(caught.value.errors) == {"topic", "region"}


def test_an_edit_with_one_bad_field_changes_nothing(url):
    with transaction(url) as session:
        row = _by_title(session, "金银花产业带动山区农户增收")
        before = (row.title, row.body_html, row.topic_id, [r.region_code for r in row.regions])
        with pytest.raises(Invalid) as caught:
            edit_article(
                session, row, {"title": "新标题", "regions": "湖南, 火星基地", "url": "javascript:alert(1)"}, REGIONS
            )
        assert set(caught.value.errors) == {"regions", "url"}
        assert caught.value.errors["regions"].values["label"] == "火星基地"
    with transaction(url) as session:
        row = _by_title(session, "金银花产业带动山区农户增收")
        assert (row.title, row.body_html, row.topic_id, [r.region_code for r in row.regions]) == before


def test_retag_sanitise_and_keep_the_fingerprint_consistent(url):
    with transaction(url) as session:
        row = _by_title(session, "金银花产业带动山区农户增收")
        warnings = edit_article(
            session,
            row,
            {
                "regions": "江苏沐阳, 甘肃临泽",
                "topic": "人居环境",
                "body": '<p onclick="x()">新正文<script>alert(1)</script></p>',
            },
            REGIONS,
        )
        assert warnings and "沭阳" in warnings[0]  # a near miss is read, with a note
        article_id = row.id
    with transaction(url) as session:
        row = session.get(models.Article, article_id)
        assert sorted(r.region_code for r in row.regions) == ["321322", "620723"]
        assert row.region_label == "江苏沐阳、甘肃临泽" and row.topic.slug == "living-environment"
        assert "<script" not in row.body_html and "onclick" not in row.body_html and "alert" not in row.body_html
        assert "新正文" in row.body_html
        assert row.fingerprint == fingerprint(row.title, row.body_html)


def test_an_edit_that_would_duplicate_another_article_is_refused(url):
    with transaction(url) as session:
        one = _by_title(session, "金银花产业带动山区农户增收")
        other = _by_title(session, "“兴农贷”助推乡村振兴")
        with pytest.raises(Invalid) as caught:
            edit_article(session, one, {"title": other.title, "body": other.body_html}, REGIONS)
        assert caught.value.errors["body"].key == "art_err_duplicate"
        assert caught.value.errors["body"].values["id"] == other.id


def test_api_batches_keep_good_items_and_report_bad_ones(url):
    good = {
        "title": "枸杞烘干房投入使用",
        "body": "新建的烘干房让枸杞不再看天晾晒。",
        "topic": "industry",
        "regions": ["宁夏中宁"],
        "published": "2026-11-18",
    }
    batch = [
        good,
        dict(good, title="第二篇", topic="天气预报"),
        dict(good, title="第三篇", regions="火星基地"),
        dict(good, title="第四篇", published="2026-02-30"),
        good,
    ]
    with transaction(url) as session:
        ml = ensure_default_list(session)
        outcomes = add_articles(session, ml, batch, REGIONS)
    assert [o.status for o in outcomes] == ["created", "rejected", "rejected", "rejected", "duplicate"]
    assert [o.problems[0].field for o in outcomes[1:4]] == ["topic", "regions", "published"]
    assert outcomes[0].id == outcomes[4].id
    with transaction(url) as session:
        row = session.get(models.Article, outcomes[0].id)
        assert row.title == "枸杞烘干房投入使用" and [r.region_code for r in row.regions] == ["640521"]
        assert session.scalar(select(models.Article).where(models.Article.title == "第二篇")) is None


def test_list_settings_change_together_or_not_at_all(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        with pytest.raises(Invalid) as caught:
            update_list(
                session,
                ml,
                {
                    "name": "新名字",
                    "time": "24:00",
                    "time_zone": "Mars/Base",
                    "rate_limit": "-1",
                    "credits": [["制作", ""]],
                    "reply_to": "not an email",
                },
            )
        assert set(caught.value.errors) == {"time", "time_zone", "rate_limit", "credits", "reply_to"}
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert ml.name == "乡村振兴周报" and ml.send_time == "08:00"
        topics = [[t.slug, t.name] for t in ml.topics]
        # Swap two names and reorder: names are unique per list, so this needs care.
        topics[0][1], topics[1][1] = topics[1][1], topics[0][1]
        update_list(
            session,
            ml,
            {
                "weekday": "sunday",
                "time": "18:45",
                "time_zone": "Europe/Berlin",
                "rate_limit": 5,
                "schedule_enabled": False,
                "credits": [["制作", "编辑部"], ["审核", "周明"]],
                "topics": [*list(reversed(topics)), ["culture", "乡风文明"]],
            },
        )
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert (ml.send_weekday, ml.send_time, ml.time_zone, ml.rate_limit, ml.schedule_enabled) == (
            6,
            "18:45",
            "Europe/Berlin",
            5.0,
            False,
        )
        assert ml.credits == [["制作", "编辑部"], ["审核", "周明"]]
        names = [t.name for t in ml.topics]
        assert names[-1] == "乡风文明" and names[-2] == "脱贫攻坚" and names[-3] == "宏观形势"
        with pytest.raises(Invalid) as caught:
            update_list(session, ml, {"topics": [["macro", "宏观形势"]]})
        assert caught.value.errors["topics"].key == "lists_err_topic_missing"


def test_subscriber_counts_per_status(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        upsert_subscription(session, ml, REGIONS, email="a@example.org", status="confirmed")
        upsert_subscription(session, ml, REGIONS, email="b@example.org", status="confirmed")
        upsert_subscription(session, ml, REGIONS, email="c@example.org")
        assert subscriber_counts(session)[ml.id] == {"confirmed": 2, "pending": 1}


def test_an_article_refused_for_two_reasons_counts_once_and_problems_come_in_line_order(url):
    records = [
        {
            "title": "两个未知地区",
            "body": "正文",
            "topic": "产业发展",
            "regions": ["火星", "月球"],
            "published": "2026-11-18",
        },
        {"title": "缺日期", "body": "正文", "topic": "产业发展", "regions": "全国", "published": "昨天"},
        {"title": "好的", "body": "正文", "topic": "产业发展", "regions": ["湖南"], "published": "2026-11-18"},
    ]
    text = "\n".join(json.dumps({"body": "正文", "topic": "产业发展", **r}, ensure_ascii=False) for r in records)
    with transaction(url) as session:
        report = store_articles(
            session,
            ensure_default_list(session),
            parse_jsonl(text, "w.jsonl"),
            REGIONS,
            source="w.jsonl",
            published=datetime(2026, 11, 20, tzinfo=UTC),
        )
    assert report.added == 1 and report.rejected == 2
    assert [(p.line, p.field) for p in report.problems] == [(1, "regions"), (1, "regions"), (2, "published")]
