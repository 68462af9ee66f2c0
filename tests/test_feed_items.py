"""The core of feeds: dates as the feed wrote them, the key an item is stored under, an item as an article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from digest.core.feed_articles import ItemRefused, feed_article
from digest.core.feed_items import FeedItem, item_key, parse_feed_date

EIGHT = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("Tue, 17 Nov 2026 08:00:00 +0800", datetime(2026, 11, 17, 8, tzinfo=EIGHT)),
        ("Tue, 17 Nov 2026 08:00 GMT", datetime(2026, 11, 17, 8, tzinfo=UTC)),
        ("Tue, 17 Nov 2026 08:00:00", datetime(2026, 11, 17, 8)),  # no zone: naive, the list's zone applies
        ("Tue, 17 Nov 2026 08:00:00 -0000", datetime(2026, 11, 17, 8)),  # RFC 5322's "zone unknown"
        ("2026-11-17T08:00:00+08:00", datetime(2026, 11, 17, 8, tzinfo=EIGHT)),
        ("2026-11-17T00:00:00Z", datetime(2026, 11, 17, tzinfo=UTC)),
        ("2026-11-17 08:00:00", datetime(2026, 11, 17, 8)),
        ("", None),
        ("not a date", None),
    ],
)
def test_dates_keep_the_zone_the_feed_gave_or_none(text, read):
    assert parse_feed_date(text) == read


def test_an_item_is_keyed_by_guid_else_link_else_fingerprint():
    keys = {
        item_key(FeedItem("t", "", guid="g-1", link="https://n.example.org/1"), "f" * 64),
        item_key(FeedItem("t", "", guid="g-1", link="https://n.example.org/other"), "e" * 64),
    }
    assert len(keys) == 1  # the guid alone decides
    by_link = item_key(FeedItem("t", "", link="https://n.example.org/1"), "f" * 64)
    assert by_link == item_key(FeedItem("u", "", link="https://n.example.org/1"), "e" * 64) and by_link not in keys
    assert item_key(FeedItem("t", ""), "f" * 64) != item_key(FeedItem("t", ""), "e" * 64)
    # A guid equal to another item's link is no clash: the kind is part of the key.
    assert item_key(FeedItem("t", "", guid="https://n.example.org/1"), "f" * 64) != by_link
    assert all(len(k) == 64 for k in keys)


def test_an_item_becomes_an_articles_fields():
    item = FeedItem(
        title="  怀化\u202e柑橘\n丰收 ",
        html='<p>正文\x00<script>x()</script></p><a href="javascript:y()">链接</a>',
        link="javascript:alert(1)",
        published=datetime(2026, 11, 17, 8),
    )
    article = feed_article(item, list_zone=SHANGHAI, now=NOW)
    assert article.title == "怀化柑橘 丰收"
    assert article.body_html == '<p>正文</p><a rel="noopener noreferrer">链接</a>' and article.url is None
    assert article.published == datetime(2026, 11, 17, 8, tzinfo=SHANGHAI)
    undated = feed_article(
        FeedItem("题", "正文第一段\n\n第二段", link="https://n.example.org/1"), list_zone=SHANGHAI, now=NOW
    )
    assert (undated.body_html, undated.url, undated.published) == (
        "<p>正文第一段</p>\n<p>第二段</p>",
        "https://n.example.org/1",
        NOW,
    )
    assert feed_article(FeedItem("", "<p>只有正文的微博</p>"), list_zone=SHANGHAI, now=NOW).title == "只有正文的微博"
    with pytest.raises(ItemRefused, match="no title and no text"):
        feed_article(FeedItem(" ", " "), list_zone=SHANGHAI, now=NOW)
