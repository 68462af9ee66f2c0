"""Polling feed sources into articles, on SQLite and PostgreSQL, from a real HTTP server on loopback."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from feedserver import Route, feed_server, rss
from fixtures_db import make_settings
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.clock import FixedClock
from digest.core.regions import load_regions
from digest.core.statuses import IssueStatus, Origin
from digest.services import feed_polling
from digest.services.article_editing import edit_article
from digest.services.articles import fingerprint
from digest.services.feed_polling import backoff, claim_due_sources, poll_due_sources, poll_source
from digest.services.lists import ensure_default_list
from digest.services.placing import place_article
from digest.services.runtime import Runtime
from digest.services.sources import SourceSettings, add_source

pytestmark = pytest.mark.clock

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HUNAN, HUAIHUA = "430000", "431200"


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def runtime(database_url, tmp_path, clock):
    with transaction(database_url) as session:
        ensure_default_list(session)
    return Runtime(dataclasses.replace(make_settings(database_url, tmp_path), clock=clock))


def _add(runtime: Runtime, url: str, **options) -> int:
    wanted = SourceSettings(url=url, **{"topic": "industry", "regions": ("湖南",), "allow_private": True, **options})
    with runtime.transaction() as session:
        return add_source(session, ensure_default_list(session), wanted, load_regions(), now=NOW).id


def _articles(runtime: Runtime) -> list[tuple]:
    with runtime.transaction() as session:
        rows = session.scalars(select(models.Article).order_by(models.Article.id)).all()
        return [
            (r.title, r.body_html, r.url, r.source, r.published_at, r.topic.slug, [g.region_code for g in r.regions])
            for r in rows
        ]


def _source(runtime: Runtime, source_id: int) -> models.Source:
    with runtime.transaction() as session:
        return session.get_one(models.Source, source_id)


ITEMS = [
    {
        "title": "怀化柑橘丰收",
        "link": "https://news.example.org/1",
        "guid": "n-1",
        "pubDate": "Tue, 17 Nov 2026 08:00:00 +0800",
        "description": "<p>今年丰收。</p>",
    },
    {
        "title": "湖南乡村道路",
        "link": "https://news.example.org/2",
        "pubDate": "Wed, 18 Nov 2026 09:30:00",
        "description": "<p>修路。</p>",
    },
]


NOWHERE = {
    "title": "会议强调把工作做细",
    "link": "https://news.example.org/3",
    "pubDate": "Wed, 18 Nov 2026 10:00:00",
    "description": "<p>会议要求各方面抓好落实。</p>",
}


def _origins(runtime: Runtime) -> list[tuple]:
    with runtime.transaction() as session:
        rows = session.scalars(select(models.Article).order_by(models.Article.id)).all()
        return [([g.came_from for g in r.regions], r.topic_from, r.needs_review) for r in rows]


def test_items_are_stored_once_across_two_polls(runtime):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS))
        source_id = _add(runtime, server.url("/rss.xml"))
        first = poll_source(runtime, source_id)
        second = poll_source(runtime, source_id)
    assert (first.new, first.unchanged, first.errors) == (2, 0, [])
    assert (second.new, second.updated, second.unchanged) == (0, 0, 2)
    assert _articles(runtime) == [
        (
            "怀化柑橘丰收",
            "<p>今年丰收。</p>",
            "https://news.example.org/1",
            "三农新闻",
            datetime(2026, 11, 17, 0, 0, tzinfo=UTC),
            "industry",
            [HUAIHUA],  # the tagger's, from the title
        ),
        # No zone in the feed's date: read in the list's (Asia/Shanghai).
        (
            "湖南乡村道路",
            "<p>修路。</p>",
            "https://news.example.org/2",
            "三农新闻",
            datetime(2026, 11, 18, 1, 30, tzinfo=UTC),
            "industry",
            [HUNAN],
        ),
    ]
    source = _source(runtime, source_id)
    assert (source.title, source.last_status, source.last_error, source.failures) == ("三农新闻", 200, None, 0)
    assert (source.last_fetched_at, source.next_poll_at) == (NOW, NOW + timedelta(minutes=60))


def test_a_304_stores_nothing_and_the_validators_are_sent_back(runtime):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS), etag='"v1"')
        source_id = _add(runtime, server.url("/rss.xml"))
        poll_source(runtime, source_id)
        again = poll_source(runtime, source_id)
        sent = server.requests[1].headers
    assert again.not_modified and (again.status, again.new, again.unchanged) == (304, 0, 0)
    assert sent["if-none-match"] == '"v1"'
    source = _source(runtime, source_id)
    assert (source.last_status, source.etag, source.failures) == (304, '"v1"', 0)
    assert len(_articles(runtime)) == 2


def test_a_failing_source_records_its_error_and_backs_off(runtime, clock):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(b"down", status=500)
        source_id = _add(runtime, server.url("/rss.xml"), interval_minutes=30)
        report = poll_source(runtime, source_id)
        first = _source(runtime, source_id)
        clock.advance(hours=1)
        poll_source(runtime, source_id)
        second = _source(runtime, source_id)
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS))
        clock.advance(hours=2)
        poll_source(runtime, source_id)
        healed = _source(runtime, source_id)
    assert report.errors == ["the server answered 500"] and report.status == 500
    assert (first.last_status, first.last_error, first.failures) == (500, "the server answered 500", 1)
    assert first.next_poll_at == NOW + timedelta(minutes=60)
    assert second.failures == 2 and second.next_poll_at == NOW + timedelta(hours=1, minutes=120)
    assert (healed.failures, healed.last_error, healed.last_status) == (0, None, 200)
    assert healed.next_poll_at == NOW + timedelta(hours=3, minutes=30)
    assert backoff(60, 10) == timedelta(days=1)


def test_an_edited_item_updates_its_article_until_an_issue_carried_it(runtime):
    edited = [{**ITEMS[0], "description": "<p>今年丰收，产量创新高。</p>"}]
    again = [{**ITEMS[0], "title": "怀化柑橘丰收（更正）", "description": "<p>更正后的正文。</p>"}]
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS[:1]))
        source_id = _add(runtime, server.url("/rss.xml"))
        poll_source(runtime, source_id)
        server.routes["/rss.xml"] = Route(rss("三农新闻", edited))
        update = poll_source(runtime, source_id)
        after_update = _articles(runtime)
        with runtime.transaction() as session:
            article_id = session.scalar(select(models.Article.id))
            session.add(
                models.Issue(
                    list_id=session.scalar(select(models.MailingList.id)),
                    number=1,
                    period_start=datetime(2026, 11, 16).date(),
                    period_end=datetime(2026, 11, 22).date(),
                    status=IssueStatus.SENT,
                    article_ids=[article_id],
                )
            )
        server.routes["/rss.xml"] = Route(rss("三农新闻", again))
        kept = poll_source(runtime, source_id)
    assert (update.updated, update.new) == (1, 0)
    assert [a[:2] for a in after_update] == [("怀化柑橘丰收", "<p>今年丰收，产量创新高。</p>")]
    assert (kept.kept, kept.updated, kept.new) == (1, 0, 0)
    assert [a[:2] for a in _articles(runtime)] == [("怀化柑橘丰收", "<p>今年丰收，产量创新高。</p>")]


def test_an_editors_correction_stands_until_the_feed_edits_the_item(runtime):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS[:1]))
        source_id = _add(runtime, server.url("/rss.xml"))
        poll_source(runtime, source_id)
        with runtime.transaction() as session:
            row = session.scalars(select(models.Article)).one()
            edit_article(session, row, {"title": "怀化市柑橘喜获丰收"}, load_regions())
        unchanged = poll_source(runtime, source_id)
        corrected = _articles(runtime)[0][0]
        server.routes["/rss.xml"] = Route(rss("三农新闻", [{**ITEMS[0], "description": "<p>新的正文。</p>"}]))
        edited = poll_source(runtime, source_id)
    assert (unchanged.unchanged, unchanged.updated, corrected) == (1, 0, "怀化市柑橘喜获丰收")
    assert edited.updated == 1 and _articles(runtime)[0][:2] == ("怀化柑橘丰收", "<p>新的正文。</p>")


def test_item_html_is_sanitised_and_nothing_it_points_to_is_fetched(runtime):
    body = (
        '<p>正文<script>alert(1)</script><img src="{base}/pixel.gif" onerror="x()"></p>'
        '<iframe src="{base}/frame"></iframe><a href="javascript:evil()">链接</a><a href="{base}/more">更多</a>'
    )
    with feed_server() as server:
        html = body.format(base=server.base)
        server.routes["/rss.xml"] = Route(
            rss("三农新闻", [{"title": "图片", "guid": "p-1", "link": server.url("/story"), "description": html}])
        )
        source_id = _add(runtime, server.url("/rss.xml"))
        report = poll_source(runtime, source_id)
        asked = server.paths()
    [(_title, stored, url, *_)] = _articles(runtime)
    assert report.new == 1 and url == server.url("/story")
    assert "script" not in stored and "alert" not in stored and "iframe" not in stored and "javascript" not in stored
    assert "onerror" not in stored and f'<img src="{server.base}/pixel.gif">' in stored
    assert asked == ["/rss.xml"]


def test_the_tagger_places_items_and_the_source_defaults_fill_what_it_leaves(runtime):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", [*ITEMS, NOWHERE]))
        source_id = _add(runtime, server.url("/rss.xml"), regions=())
        report = poll_source(runtime, source_id)
    # The tagger found 怀化 and 湖南 in the titles; no topic it was sure of, so the source's stands; the
    # item with no place waits for an editor instead of being refused.
    assert (report.new, report.waiting, report.errors) == (3, 1, [])
    assert [(a[0], a[5], a[6]) for a in _articles(runtime)] == [
        ("怀化柑橘丰收", "industry", [HUAIHUA]),
        ("湖南乡村道路", "industry", [HUNAN]),
        (NOWHERE["title"], "industry", []),
    ]
    assert _origins(runtime) == [
        ([Origin.TAGGER], Origin.SOURCE, False),
        ([Origin.TAGGER], Origin.SOURCE, False),
        ([], Origin.SOURCE, True),
    ]


def test_an_item_nothing_places_waits_for_review_and_the_others_are_kept(runtime):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", [ITEMS[0], NOWHERE]))
        source_id = _add(runtime, server.url("/rss.xml"), topic=None, regions=())
        report = poll_source(runtime, source_id)
    assert (report.new, report.waiting, report.errors) == (2, 2, [])
    assert _source(runtime, source_id).last_error is None
    # No default topic: the tagger's (unsure here, so waiting), or the list's first with confidence 0.
    origins = _origins(runtime)
    assert origins[0][0] == [Origin.TAGGER] and all(o[1] == Origin.TAGGER and o[2] for o in origins)


def test_the_same_text_from_two_sources_is_one_article(runtime):
    with feed_server() as server:
        server.routes["/a.xml"] = Route(rss("甲", ITEMS[:1]))
        server.routes["/b.xml"] = Route(rss("乙", [{**ITEMS[0], "guid": "other-guid"}]))
        first = poll_source(runtime, _add(runtime, server.url("/a.xml")))
        second = poll_source(runtime, _add(runtime, server.url("/b.xml")))
    assert (first.new, second.new, second.unchanged) == (1, 0, 1)
    assert len(_articles(runtime)) == 1


def test_a_loopback_source_without_the_allowance_is_refused_and_asks_nothing(runtime):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS))
        source_id = _add(runtime, server.url("/rss.xml"), allow_private=False)
        report = poll_source(runtime, source_id)
        asked = server.paths()
    assert asked == [] and report.status is None
    assert "a loopback address: refused unless an admin allows" in report.errors[0]
    assert _source(runtime, source_id).failures == 1 and _articles(runtime) == []


def test_only_due_unpaused_sources_are_claimed_and_a_claim_holds_them(runtime, clock):
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS[:1]))
        due = _add(runtime, server.url("/rss.xml"))
        paused = _add(runtime, server.url("/paused.xml"))
        later = _add(runtime, server.url("/later.xml"))
        with runtime.transaction() as session:
            session.get_one(models.Source, paused).paused = True
            session.get_one(models.Source, later).next_poll_at = NOW + timedelta(minutes=5)
        assert claim_due_sources(runtime) == [due]
        assert claim_due_sources(runtime) == []  # held for the poll it was queued for
        clock.advance(minutes=16)
        reports = poll_due_sources(runtime)
    assert sorted(r.source_id for r in reports) == [due, later]
    assert [r.new for r in reports if r.source_id == due] == [1]


def test_an_item_stored_by_another_poll_meanwhile_fails_this_poll_cleanly(postgres_url, tmp_path, clock, monkeypatch):
    # PostgreSQL: another connection commits the same text while this poll stores (two polls at once).
    from fixtures_db import _empty_postgres

    _empty_postgres(postgres_url)
    with transaction(postgres_url) as session:
        ensure_default_list(session)
    runtime = Runtime(dataclasses.replace(make_settings(postgres_url, tmp_path), clock=clock))

    def place_while_another_poll_stores(ml, regions, rules, article, given, defaults):
        title = article[0]
        with transaction(postgres_url) as other:
            ml = ensure_default_list(other)
            other.add(
                models.Article(
                    list_id=ml.id,
                    topic_id=ml.topics[0].id,
                    title=title,
                    body_html="<p>今年丰收。</p>",
                    published_at=NOW,
                    fingerprint=fingerprint(title, "<p>今年丰收。</p>"),
                )
            )
        return place_article(ml, regions, rules, article, given, defaults)

    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS[:1]))
        source_id = _add(runtime, server.url("/rss.xml"))
        monkeypatch.setattr(feed_polling, "place_article", place_while_another_poll_stores)
        report = poll_source(runtime, source_id)
        monkeypatch.undo()
        again = poll_source(runtime, source_id)
    assert report.new == 0 and report.errors == ["an item was stored by another poll meanwhile; the next poll goes on"]
    assert _source(runtime, source_id).failures == 0  # the next poll went on
    assert (again.new, again.unchanged) == (0, 1)
    assert [a[0] for a in _articles(runtime)] == ["怀化柑橘丰收"]
