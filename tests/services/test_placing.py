"""Where a stored article goes (services/placing.py), on SQLite and PostgreSQL: labels win, the tagger fills
what is missing and says so, a feed source's defaults stand in when it finds nothing, and an unsure or
unplaced article waits for review. Through `store_articles`, as `digest ingest` and the console store."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import pytest
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.ingest.jsonl import parse_jsonl
from digest.core.regions import load_regions
from digest.core.statuses import Origin
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.lists import ensure_default_list
from digest.services.placing import Defaults, list_rules, place_article

REGIONS = load_regions()
PUBLISHED = datetime.combine(date(2026, 11, 20), time(9), NEWSROOM_TZ)
COLD_STORE = ("沅陵县合作社新建冷库", "<p>沅陵县一家茶叶合作社建成冷库，产业链延伸，村民增收。</p>")
NOWHERE = ("一则没有地名的消息", "<p>会议强调要把工作做细做实。</p>")


@pytest.fixture
def url(database_url):
    with transaction(database_url) as session:
        ensure_default_list(session)
    return database_url


def _store(url, *records: dict) -> int:
    lines = "\n".join(json.dumps({"published": "2026-11-20", **r}, ensure_ascii=False) for r in records)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        report = store_articles(session, ml, parse_jsonl(lines, "w.jsonl"), REGIONS, source="w", published=PUBLISHED)
        assert report.problems == []
        return report.waiting


def _stored(url, title: str):
    with transaction(url) as session:
        row = session.scalars(select(models.Article).where(models.Article.title == title)).one()
        regions = [(r.region_code, r.came_from) for r in row.regions]
        return regions, row.topic.slug, row.topic_from, row.needs_review, row.tag_confidence, row.region_label


def test_labels_win_and_the_tagger_fills_only_what_is_missing(url):
    title, body = COLD_STORE
    waiting = _store(
        url,
        {"title": title, "body": body, "topic": "产业发展", "regions": ["湖南"]},
        {"title": title + "（二）", "body": body, "topic": "产业发展"},
    )
    assert waiting == 0
    regions, _, topic_from, needs_review, confidence, _ = _stored(url, title)
    assert regions == [("430000", Origin.LABEL)] and topic_from == Origin.LABEL and confidence is None
    regions, _, topic_from, needs_review, confidence, label = _stored(url, title + "（二）")
    assert regions == [("431222", Origin.TAGGER)] and label == "湖南沅陵"
    assert topic_from == Origin.LABEL and not needs_review


def test_a_topic_found_with_confidence_goes_and_one_below_the_lists_line_waits(url):
    title, body = COLD_STORE
    assert _store(url, {"title": title, "body": body, "regions": ["湖南沅陵"]}) == 0
    _, _, topic_from, needs_review, confidence, _ = _stored(url, title)
    assert topic_from == Origin.TAGGER and confidence is not None and confidence >= 0.6 and not needs_review
    with transaction(url) as session:
        ensure_default_list(session).review_below = 0.999
    assert _store(url, {"title": title + "（二）", "body": body, "regions": ["湖南沅陵"]}) == 1
    assert _stored(url, title + "（二）")[3]


def test_an_article_with_no_place_waits_and_a_sources_defaults_stand_in(url):
    assert _store(url, {"title": NOWHERE[0], "body": NOWHERE[1], "topic": "产业发展"}) == 1
    regions, _, _, needs_review, _, _ = _stored(url, NOWHERE[0])
    assert regions == [] and needs_review
    with transaction(url) as session:
        ml = ensure_default_list(session)
        topic = ml.topics[2]
        placed = place_article(ml, REGIONS, list_rules(ml), NOWHERE, ((), None), Defaults(("000000",), topic))
        assert (placed.codes, placed.regions_from) == (("000000",), Origin.SOURCE)
        assert (placed.topic.slug, placed.topic_from, placed.needs_review) == (topic.slug, Origin.SOURCE, False)


def test_an_editors_keywords_replace_a_topics_default_rules(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        target = ml.topics[-1]
        target.keywords = {"冷库": 10.0}
        rules = list_rules(ml)
        assert rules.keywords[target.slug] == {"冷库": 10.0}
        placed = place_article(ml, REGIONS, rules, COLD_STORE, (("431222",), None))
        assert placed.topic.slug == target.slug and placed.topic_from == Origin.TAGGER
        assert any("冷库" in word for word in placed.why)
