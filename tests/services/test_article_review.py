"""The review queue on SQLite and PostgreSQL: a waiting article goes into no issue; an editor's confirmation,
as suggested or corrected, lets it in and records what the editor set; one placed nowhere needs regions."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.core.statuses import Origin
from digest.services.article_review import confirm_article, count_waiting, waiting_for_review
from digest.services.articles import NEWSROOM_TZ, articles_of_period, store_articles
from digest.services.lists import ensure_default_list
from digest.services.validation import Invalid

DEMO = Path(__file__).resolve().parents[2] / "digest" / "data" / "demo-issue.txt"
REGIONS = load_regions()
WEEK = date(2026, 11, 22)
GUESSED, NOWHERE = "怀化一合作社冷库投用", "一则没有地名的消息"


@pytest.fixture
def url(database_url):
    """The demo week, and two articles the tagger left waiting: one placed in 怀化 with little confidence,
    one placed nowhere."""
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        published = datetime.combine(date(2026, 11, 20), time(9), NEWSROOM_TZ)
        store_articles(session, ml, parse_file(DEMO), REGIONS, source="demo", published=published)
        topic = ml.topics[0]
        for title, codes in ((GUESSED, ["431200"]), (NOWHERE, [])):
            session.add(
                models.Article(
                    list_id=ml.id, topic_id=topic.id, title=title, body_html=f"<p>{title}</p>", region_label="",
                    published_at=published, fingerprint=title, needs_review=True, topic_from=Origin.TAGGER,
                    tag_confidence=0.3, tag_why=["冷库"],
                    regions=[models.ArticleRegion(region_code=c, came_from=Origin.TAGGER) for c in codes],
                )
            )  # fmt: skip
    return database_url


def _titles_of_week(session, ml) -> set[str]:
    return {a.title for a in articles_of_period(session, ml, WEEK)}


def _article(session, title) -> models.Article:
    return session.scalars(select(models.Article).where(models.Article.title == title)).one()


def test_waiting_articles_go_into_no_issue_and_are_counted(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert count_waiting(session, ml.id) == 2
        assert {a.title for a in waiting_for_review(session, ml.id)} == {GUESSED, NOWHERE}
        week = _titles_of_week(session, ml)
        assert len(week) == 16 and GUESSED not in week and NOWHERE not in week


def test_confirming_as_suggested_lets_it_in_and_keeps_the_taggers_origin(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        confirm_article(session, _article(session, GUESSED), {}, REGIONS)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        article = _article(session, GUESSED)
        assert not article.needs_review and article.topic_from == Origin.TAGGER
        assert [(r.region_code, r.came_from) for r in article.regions] == [("431200", Origin.TAGGER)]
        assert GUESSED in _titles_of_week(session, ml) and count_waiting(session, ml.id) == 1


def test_a_correction_records_the_editor_as_the_origin(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        other_topic = ml.topics[1].slug
        confirm_article(session, _article(session, GUESSED), {"regions": "沅陵", "topic": other_topic}, REGIONS)
    with transaction(url) as session:
        article = _article(session, GUESSED)
        assert [(r.region_code, r.came_from) for r in article.regions] == [("431222", Origin.EDITOR)]
        assert article.topic.slug == other_topic and article.topic_from == Origin.EDITOR
        assert not article.needs_review


def test_an_article_placed_nowhere_needs_regions_before_it_may_go(url):
    with transaction(url) as session:
        with pytest.raises(Invalid) as refused:
            confirm_article(session, _article(session, NOWHERE), {}, REGIONS)
        assert set(refused.value.errors) == {"regions"}
    with transaction(url) as session:
        assert _article(session, NOWHERE).needs_review
        confirm_article(session, _article(session, NOWHERE), {"regions": "全国"}, REGIONS)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        assert NOWHERE in _titles_of_week(session, ml) and count_waiting(session, ml.id) == 1
