"""A feed's items as plain data, whatever the format it came in; JSON Feed read into them; dates read as the feed
wrote them (with their zone, or without one: the list's zone then applies); the key an item is stored under.

feedparser reads RSS and Atom (digest/adapters/feeds/parse.py). The release on the package index (6.0) does not
know JSON Feed, which is plain JSON with named fields (https://jsonfeed.org/version/1.1): `read_json_feed` maps
those fields, the json module does the parsing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz
from html import escape
from typing import Any

# A zone after the time: an offset or a name (GMT, EST, Z). parsedate_tz reads a date without one, and "-0000"
# (which RFC 5322 defines as "zone unknown"), as UTC, so its offset alone cannot tell.
_RFC822_ZONE = re.compile(r"\d:\d\d(?::\d\d)?\s*(?:[+-](?!0000)\d{4}|[A-Za-z]{1,5})\s*$")


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One item as its feed gave it; `html` is not sanitised yet, `published` may be naive (no zone given)."""

    title: str
    html: str
    guid: str | None = None
    link: str | None = None
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: tuple[FeedItem, ...]
    # What made the feed unreadable, or the first thing wrong in it (feedparser's "bozo" reason).
    problems: tuple[str, ...] = field(default=())


class FeedUnreadable(ValueError):
    """The bytes are no feed: not RSS, Atom or JSON Feed, or broken past reading."""


def parse_feed_date(text: str | None) -> datetime | None:
    """An RFC 822 date (RSS) or an RFC 3339 / ISO 8601 one (Atom, JSON Feed); naive when the text names no zone.

    feedparser's own parsed dates are all in UTC, a zone-less date read as UTC: the list's zone could not apply.
    """
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        return _from_iso(text)
    except ValueError:
        pass
    parts = parsedate_tz(text)
    if parts is None:
        return None
    try:
        moment = datetime(*parts[:6])
    except ValueError:
        return None
    if parts[9] is None or not _RFC822_ZONE.search(text):
        return moment
    return moment.replace(tzinfo=timezone(timedelta(seconds=parts[9])))


def _from_iso(text: str) -> datetime:
    if len(text) < 10 or text[4] != "-":
        raise ValueError(text)
    return datetime.fromisoformat(text.replace("z", "Z"))


def read_json_feed(data: bytes) -> ParsedFeed:
    """A JSON Feed (1.0 or 1.1) as plain data; FeedUnreadable when it is not one."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedUnreadable(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith("https://jsonfeed.org/"):
        raise FeedUnreadable("JSON without a jsonfeed.org version: not a JSON Feed")
    raw_items = document.get("items")
    if not isinstance(raw_items, list):
        raise FeedUnreadable("a JSON Feed without an items list")
    items, problems = [], []
    for number, raw in enumerate(raw_items, start=1):
        item = _json_item(raw)
        if item is None:
            problems.append(f"item {number}: not an object with a title or text")
        else:
            items.append(item)
    return ParsedFeed(title=_text(document.get("title")), items=tuple(items), problems=tuple(problems))


def _json_item(raw: Any) -> FeedItem | None:
    if not isinstance(raw, dict):
        return None
    html = _text(raw.get("content_html")) or _escaped(_text(raw.get("content_text"))) or _text(raw.get("summary"))
    title = _text(raw.get("title"))
    if not title and not html:
        return None
    guid = raw.get("id")
    return FeedItem(
        title=title,
        html=html,
        guid=str(guid) if isinstance(guid, str | int) and str(guid) else None,
        link=_text(raw.get("url")) or _text(raw.get("external_url")) or None,
        published=parse_feed_date(_text(raw.get("date_published")) or _text(raw.get("date_modified"))),
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _escaped(text: str) -> str:
    # Paragraph tags, so the body is read as HTML: plain text that looks like markup stays text.
    return "".join(f"<p>{escape(part.strip())}</p>" for part in text.split("\n\n") if part.strip())


def item_key(item: FeedItem, fingerprint: str) -> str:
    """What an item is stored once under, per source: its guid, else its link, else the article's fingerprint.

    Hashed, so a 2,000-character link fits the unique index; the kind is hashed in, so a guid that happens to
    equal another item's link is no clash."""
    if item.guid:
        basis = f"guid\x00{item.guid}"
    elif item.link:
        basis = f"link\x00{item.link}"
    else:
        basis = f"fingerprint\x00{fingerprint}"
    return hashlib.sha256(basis.encode()).hexdigest()
