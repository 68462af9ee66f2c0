"""A fetched body to plain feed items: RSS 0.9x, 1.0 and 2.0 and Atom through feedparser, JSON Feed through
digest/core/feed_items.py. feedparser is handed the bytes (in a stream: a string it would take for a URL or a
path and open), never a URL, so it fetches nothing; the HTTP header's charset or the XML declaration names the
encoding, GB18030 included."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from digest.core.feed_items import FeedItem, FeedUnreadable, ParsedFeed, parse_feed_date, read_json_feed
from digest.core.plaintext import html_to_text

_JSON_TYPES = ("application/feed+json", "application/json")


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """The feed in `body`, fetched from `url` (the base its relative links resolve against)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _JSON_TYPES or body.lstrip()[:1] == b"{":
        return read_json_feed(body)
    # Without a type, feedparser flags the feed as broken; XML's own declaration still names its encoding. No
    # base URL: feedparser would resolve a guid against it too, and a feed that moves would repeat its items.
    headers = {"content-type": content_type or "application/xml"}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise FeedUnreadable(f"not an RSS, Atom or JSON feed{f': {reason}' if reason else ''}")
    problems = (str(parsed.bozo_exception),) if parsed.get("bozo") and parsed.get("bozo_exception") else ()
    items = tuple(_item(entry, url) for entry in parsed.entries)
    return ParsedFeed(title=str(parsed.feed.get("title", "")).strip(), items=items, problems=problems)


def _item(entry: Any, base: str) -> FeedItem:
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else entry.get("summary", "")
    guid = entry.get("id") or None
    return FeedItem(
        title=_plain_title(entry),
        html=str(html or ""),
        guid=str(guid) if guid else None,
        link=_link(entry, base),
        published=_published(entry),
    )


def _plain_title(entry: Any) -> str:
    """The title as text: Atom may send it as HTML (type="html"), which a subject line and a heading show as text."""
    title = str(entry.get("title", ""))
    kind = (entry.get("title_detail") or {}).get("type", "")
    return html_to_text(title).strip() if kind in {"text/html", "application/xhtml+xml"} else title.strip()


def _link(entry: Any, base: str) -> str | None:
    """The item's link, absolute. feedparser offers the guid as the link when there is none; a guid that is no
    URL ("n-1", "tag:…") is no link."""
    link = str(entry.get("link", "")).strip()
    if not link or (link == entry.get("id") and not link.lower().startswith(("http://", "https://", "/"))):
        return None
    return urljoin(base, link)


def _published(entry: Any) -> datetime | None:
    """The item's date as written (its zone kept, or none); a form only feedparser reads comes as its UTC."""
    found = parse_feed_date(entry.get("published") or entry.get("updated"))
    if found is None:
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        found = datetime(*parsed[:6]).replace(tzinfo=UTC) if parsed else None
    return found
