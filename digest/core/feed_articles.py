"""A feed item as an article's fields: the title cleaned, the body sanitised exactly as an ingested article's
(digest/core/ingest/jsonl.py's body_to_html), the link kept when it is http(s), the date in its zone, else in
the list's, else now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from digest.core.feed_items import FeedItem
from digest.core.fields import MAX_BODY, MAX_TITLE, MAX_URL, clean_name, unfit_for_one_line
from digest.core.ingest.jsonl import body_to_html
from digest.core.plaintext import html_to_text

# What no stored text may hold (PostgreSQL refuses NUL; UTF-8 cannot carry a lone surrogate): dropped from a
# feed's text rather than the item refused, as a browser would show it.
_UNSTORABLE = dict.fromkeys([0, *range(0xD800, 0xE000)])


class ItemRefused(ValueError):
    """The item cannot be an article; the message says why."""


@dataclass(frozen=True, slots=True)
class FeedArticle:
    title: str
    body_html: str  # sanitised
    url: str | None
    published: datetime  # aware


def feed_article(item: FeedItem, *, list_zone: tzinfo, now: datetime) -> FeedArticle:
    """`item` as an article's fields; ItemRefused when it has no title and no text, or a body too long."""
    body = body_to_html(item.html.translate(_UNSTORABLE)) if item.html.strip() else ""
    title = clean_name(item.title.translate(_UNSTORABLE))
    if not title:
        # Some feeds (micro-posts) give no title: the text's start stands in, as a reader would name it.
        title = clean_name(html_to_text(body))[:60]
    if not title:
        raise ItemRefused("no title and no text")
    if len(body) > MAX_BODY:
        raise ItemRefused(f"the body is {len(body):,} characters long, at most {MAX_BODY:,}")
    return FeedArticle(
        title=title[:MAX_TITLE],
        body_html=body,
        url=_kept_link(item.link),
        published=_published(item.published, list_zone, now),
    )


def _kept_link(link: str | None) -> str | None:
    if not link:
        return None
    link = link.strip()
    fits = len(link) <= MAX_URL and not unfit_for_one_line(link)
    return link if fits and link.lower().startswith(("http://", "https://")) else None


def _published(moment: datetime | None, list_zone: tzinfo, now: datetime) -> datetime:
    if moment is None:
        return now
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=list_zone)
    return moment
