"""A list's sources: added with every field checked, listed, paused, resumed, removed, tested (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from feedserver import Route, feed_server, rss
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services import NotFound
from digest.services.lists import ensure_default_list
from digest.services.sources import (
    SourceSettings,
    add_source,
    get_source,
    list_sources,
    remove_source,
    set_paused,
    try_source,
)
from digest.services.validation import Invalid

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _add(url: str, wanted: SourceSettings) -> models.Source:
    with transaction(url) as session:
        return add_source(session, ensure_default_list(session), wanted, load_regions(), now=NOW)


def test_a_source_is_added_with_its_defaults_resolved(database_url):
    source = _add(
        database_url,
        SourceSettings(
            url="https://news.example.org/feed.xml", topic="产业发展", regions=("湖南", "怀化"), interval_minutes=30
        ),
    )
    with transaction(database_url) as session:
        [row] = list_sources(session)
        stored = (row.url, row.topic_slug, row.region_codes, row.interval_minutes, row.allow_private, row.next_poll_at)
    assert row.id == source.id
    assert stored == ("https://news.example.org/feed.xml", "industry", ["430000", "431200"], 30, False, NOW)


@pytest.mark.parametrize(
    ("wanted", "refused"),
    [
        (SourceSettings(url="file:///etc/passwd"), {"url": "sources_err_url"}),
        (SourceSettings(url="ftp://news.example.org/feed"), {"url": "sources_err_url"}),
        (SourceSettings(url="https://news.example.org/\nfeed"), {"url": "sources_err_url"}),
        (
            SourceSettings(url="https://news.example.org/f", topic="天气", regions=("火星",), interval_minutes=1),
            {"topic": "sources_err_topic", "regions": "sources_err_region", "interval": "sources_err_interval"},
        ),
    ],
)
def test_a_bad_source_is_refused_field_by_field(database_url, wanted, refused):
    with pytest.raises(Invalid) as invalid:
        _add(database_url, wanted)
    assert {name: error.key for name, error in invalid.value.errors.items()} == refused
    with transaction(database_url) as session:
        assert list_sources(session) == []


def test_the_same_url_twice_in_a_list_is_refused(database_url):
    _add(database_url, SourceSettings(url="https://news.example.org/feed.xml"))
    with pytest.raises(Invalid) as invalid:
        _add(database_url, SourceSettings(url="https://news.example.org/feed.xml"))
    assert invalid.value.errors["url"].key == "sources_err_taken"


def test_pause_resume_and_remove_keep_the_articles(database_url):
    source_id = _add(database_url, SourceSettings(url="https://news.example.org/feed.xml")).id
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        article = models.Article(
            list_id=ml.id,
            topic_id=ml.topics[0].id,
            title="t",
            body_html="<p>b</p>",
            published_at=NOW,
            fingerprint="f" * 64,
            source_id=source_id,
            item_key="k" * 64,
        )
        session.add(article)
        source = set_paused(session, source_id, True, now=NOW)
        source.failures, source.next_poll_at = 3, NOW + timedelta(days=1)
    with transaction(database_url) as session:
        assert get_source(session, source_id).paused is True
        later = NOW + timedelta(hours=2)
        resumed = set_paused(session, source_id, False, now=later)
        assert (resumed.paused, resumed.failures, resumed.next_poll_at) == (False, 0, later)
    with transaction(database_url) as session:
        remove_source(session, source_id)
    with transaction(database_url) as session:
        assert list_sources(session) == []
        assert session.execute(select(models.Article.title, models.Article.source_id)).all() == [("t", None)]
        with pytest.raises(NotFound, match="no source with id"):
            get_source(session, source_id)


def test_trying_a_source_reads_it_and_stores_nothing():
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", [{"title": "一", "guid": "1"}, {"title": "二", "guid": "2"}]))
        preview = try_source(server.url("/rss.xml"), allow_private=True)
        with pytest.raises(Invalid) as refused:
            try_source(server.url("/rss.xml"))
    assert (preview.title, preview.item_titles) == ("三农新闻", ("一", "二"))
    assert "loopback" in refused.value.errors["url"].values["why"]
