"""A list's feed sources: add (checked), list, pause, resume, remove, and test one without storing anything.

Polling them is digest/services/feed_polling.py. A source's URL is outside input: it must be http(s), and
the addresses it resolves to are vetted on every fetch (digest/adapters/feeds), so only `allow_private`,
which an admin sets on purpose, lets a source reach loopback or private addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.feeds.fetch import FetchFailed, checked_url, fetch_feed
from digest.adapters.feeds.parse import parse_feed
from digest.adapters.storage import models
from digest.core.feed_items import FeedUnreadable, ParsedFeed
from digest.core.fields import MAX_URL, unfit_for_one_line
from digest.core.regions import RegionIndex
from digest.services import NotFound
from digest.services.lists import resolve_topic
from digest.services.validation import FieldError, Invalid

# Minutes between two polls: more often would be rude to the feed's server, less often than weekly pointless.
MIN_INTERVAL, MAX_INTERVAL, DEFAULT_INTERVAL = 5, 7 * 24 * 60, 60


@dataclass(frozen=True)
class SourceSettings:
    """What `sources add` takes: the URL, what an item gets when the tagger finds nothing better, how often."""

    url: str
    topic: str | None = None  # a topic of the list, by slug or name
    regions: tuple[str, ...] = ()  # labels as people write them (湖南, 怀化) or codes
    interval_minutes: int = DEFAULT_INTERVAL
    allow_private: bool = False


@dataclass(frozen=True)
class FeedPreview:
    """What testing a source found: the feed's title and its first items, nothing stored."""

    url: str
    title: str
    item_titles: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())


def add_source(
    session: Session, ml: models.MailingList, wanted: SourceSettings, regions: RegionIndex, *, now: datetime
) -> models.Source:
    """A new source of `ml`, due at the next poll; Invalid naming each refused field."""
    errors: dict[str, FieldError] = {}
    url = _checked_source_url(wanted.url, errors)
    if url and session.scalar(select(models.Source.id).where(models.Source.list_id == ml.id, models.Source.url == url)):
        errors["url"] = FieldError("sources_err_taken", {"value": url})
    topic_slug = None
    if wanted.topic:
        topic = resolve_topic(ml, wanted.topic)
        if topic is None:
            known = ", ".join(t.slug for t in ml.topics)
            errors["topic"] = FieldError("sources_err_topic", {"value": wanted.topic, "known": known})
        else:
            topic_slug = topic.slug
    codes = _region_codes(wanted.regions, regions, errors)
    if not MIN_INTERVAL <= wanted.interval_minutes <= MAX_INTERVAL:
        errors["interval"] = FieldError("sources_err_interval", {"min": MIN_INTERVAL, "max": MAX_INTERVAL})
    if errors:
        raise Invalid(errors)
    source = models.Source(
        list_id=ml.id,
        url=url,
        topic_slug=topic_slug,
        region_codes=codes,
        interval_minutes=wanted.interval_minutes,
        allow_private=wanted.allow_private,
        next_poll_at=now,
    )
    session.add(source)
    session.flush()
    return source


def _checked_source_url(url: str, errors: dict[str, FieldError]) -> str:
    url = url.strip()
    if not url or len(url) > MAX_URL or unfit_for_one_line(url):
        errors["url"] = FieldError("sources_err_url", {"value": url[:200], "why": f"at most {MAX_URL} characters"})
        return ""
    try:
        return checked_url(url)
    except FetchFailed as exc:
        errors["url"] = FieldError("sources_err_url", {"value": url, "why": str(exc)})
        return ""


def _region_codes(labels: tuple[str, ...], regions: RegionIndex, errors: dict[str, FieldError]) -> list[str]:
    codes: list[str] = []
    for label in labels:
        resolution = regions.resolve(label)
        if not resolution.ok:
            why = "; ".join(str(w) for w in resolution.warnings) or "unknown"
            errors["regions"] = FieldError("sources_err_region", {"value": label, "why": why})
            continue
        codes.extend(code for code in resolution.codes if code not in codes)
    return codes


def list_sources(session: Session, ml: models.MailingList | None = None) -> list[models.Source]:
    """Every source, or one list's, oldest first."""
    query = select(models.Source).order_by(models.Source.id)
    if ml is not None:
        query = query.where(models.Source.list_id == ml.id)
    return list(session.scalars(query))


def get_source(session: Session, source_id: int) -> models.Source:
    source = session.get(models.Source, source_id)
    if source is None:
        raise NotFound(f"no source with id {source_id} (`digest sources list` shows them)")
    return source


def set_paused(session: Session, source_id: int, paused: bool, *, now: datetime) -> models.Source:
    """Pause a source, or resume it: a resumed source is due at once, its failures forgiven."""
    source = get_source(session, source_id)
    source.paused = paused
    if not paused:
        source.failures = 0
        source.next_poll_at = now
    return source


def remove_source(session: Session, source_id: int) -> models.Source:
    """Remove a source; the articles it brought stay (their source_id becomes NULL)."""
    source = get_source(session, source_id)
    session.delete(source)
    session.flush()
    return source


def try_source(url: str, *, allow_private: bool = False, shown: int = 5) -> FeedPreview:
    """Fetch and read `url` as a poll would, store nothing: what an editor checks before adding it."""
    try:
        fetched = fetch_feed(url, allow_private=allow_private)
        feed: ParsedFeed = parse_feed(fetched.body, url=fetched.url, content_type=fetched.content_type)
    except (FetchFailed, FeedUnreadable) as exc:
        raise Invalid({"url": FieldError("sources_err_fetch", {"value": url, "why": str(exc)})}) from exc
    titles = tuple(item.title for item in feed.items[:shown])
    return FeedPreview(url=fetched.url, title=feed.title, item_titles=titles, problems=feed.problems)
