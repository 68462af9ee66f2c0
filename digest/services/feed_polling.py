"""Polling a feed source: fetch it (no transaction open meanwhile), read it, store each item once, and record
how the fetch went on the source, backing off one that fails.

An item is stored once per source under its key (its guid, else its link, else the article's fingerprint;
digest/core/feed_items.py's item_key), and once per list by fingerprint, as ingested articles are: the same
text from two feeds is one article. An item edited in its feed updates its article, until an issue carried
it (its first copy was built: `issues.article_ids` holds it); after that readers hold a copy, and the article
stays as they got it.

A new item is placed as an ingested article without labels is (services/placing.py): the tagger's regions
and topic, the source's defaults where it finds none (or no topic it is sure of), and an item it cannot
place, or places unsure, is stored to wait for review rather than refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digest.adapters.feeds.fetch import DEFAULT_LIMITS, Fetched, FetchFailed, FetchLimits, fetch_feed
from digest.adapters.feeds.parse import parse_feed
from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.feed_articles import ItemRefused, feed_article
from digest.core.feed_items import FeedUnreadable, ParsedFeed, item_key
from digest.core.fields import MAX_SOURCE
from digest.core.schedule import zone
from digest.services.articles import fingerprint
from digest.services.feed_storing import FeedEntry, FeedStore
from digest.services.placing import Defaults, list_rules, place_article
from digest.services.runtime import Runtime

# A failing source waits interval × 2^failures, at most a day; the beat's claim holds a source this long, so
# two beats never poll it at once.
MAX_BACKOFF = timedelta(days=1)
CLAIM_HOLD = timedelta(minutes=15)
# Sources queued per beat: the rest are due at the next one.
CLAIM_BATCH = 200
_ERROR_CHARS = 2000


@dataclass
class PollReport:
    source_id: int
    url: str = ""
    status: int | None = None  # the HTTP status; None when no answer came
    not_modified: bool = False
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # changed in the feed, but an issue carried it: left as sent
    waiting: int = 0  # of the new, those that wait for review (services/article_review.py)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "source_id": self.source_id,
            "url": self.url,
            "status": self.status,
            "not_modified": self.not_modified,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept": self.kept,
            "waiting": self.waiting,
            "errors": list(self.errors),
        }


def poll_source(runtime: Runtime, source_id: int, *, limits: FetchLimits = DEFAULT_LIMITS) -> PollReport:
    """Fetch, read and store one source now (paused or not), and record the outcome on it."""
    with runtime.transaction() as session:
        source = session.get(models.Source, source_id)
        if source is None:
            return PollReport(source_id, errors=[f"no source with id {source_id}"])
        url, etag, modified, allow = source.url, source.etag, source.last_modified, source.allow_private
    report = PollReport(source_id, url=url)
    try:
        fetched = fetch_feed(url, etag=etag, last_modified=modified, allow_private=allow, limits=limits)
        report.status = fetched.status
        feed = (
            None
            if fetched.not_modified
            else parse_feed(fetched.body, url=fetched.url, content_type=fetched.content_type)
        )
    except FetchFailed as exc:
        report.status = exc.status
        return _failed(runtime, report, str(exc))
    except FeedUnreadable as exc:
        return _failed(runtime, report, str(exc))
    try:
        with runtime.transaction() as session:
            source = session.get(models.Source, source_id)
            if source is None:  # removed while it was fetched
                return report
            now = runtime.clock.now()
            if feed is None:
                report.not_modified = True
            else:
                _store(session, source, feed, report, _Context(runtime, now))
            _record_success(source, fetched, feed, now)
            if report.errors:
                source.last_error = "; ".join(report.errors)[:_ERROR_CHARS]
    except IntegrityError:
        # Another poll (of this source, or of another feed with the same text) stored an item meanwhile: nothing
        # of this one was kept, and the next poll finds that item stored.
        fresh = PollReport(source_id, url=url, status=report.status)
        return _failed(runtime, fresh, "an item was stored by another poll meanwhile; the next poll goes on")
    return report


@dataclass(frozen=True)
class _Context:
    runtime: Runtime
    now: datetime


def _store(session: Session, source: models.Source, feed: ParsedFeed, report: PollReport, ctx: _Context) -> None:
    ml = session.get_one(models.MailingList, source.list_id)
    report.errors.extend(feed.problems[:1])
    list_zone = zone(ml.time_zone)
    name = (source.title or feed.title or urlsplit(source.url).hostname or source.url)[:MAX_SOURCE]
    entries: list[tuple[int, FeedEntry]] = []
    for number, item in enumerate(feed.items, start=1):
        try:
            article = feed_article(item, list_zone=list_zone, now=ctx.now)
        except ItemRefused as exc:
            report.errors.append(f"item {number}: {exc}")
            continue
        digest_key = fingerprint(article.title, article.body_html)
        entries.append((number, FeedEntry(item_key(item, digest_key), digest_key, article, name)))
    store = FeedStore.load(session, ml, source, (entry for _, entry in entries))
    rules = list_rules(ml)
    defaults = Defaults(
        tuple(source.region_codes or ()), next((t for t in ml.topics if t.slug == source.topic_slug), None)
    )
    regions = ctx.runtime.regions
    for number, entry in entries:
        try:
            outcome = store.put(
                entry,
                lambda a=entry.article: place_article(ml, regions, rules, (a.title, a.body_html), ((), None), defaults),
            )
        except ItemRefused as exc:
            report.errors.append(f"item {number}: {exc}")
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.waiting += outcome == "new" and store.by_key[entry.key].needs_review
    session.flush()


def _record_success(source: models.Source, fetched: Fetched, feed: ParsedFeed | None, now: datetime) -> None:
    source.last_fetched_at = now
    source.last_status = fetched.status
    source.last_error = None
    source.failures = 0
    source.next_poll_at = now + timedelta(minutes=source.interval_minutes)
    if fetched.status == 200:
        source.etag, source.last_modified = fetched.etag, fetched.last_modified
    if feed is not None and feed.title and not source.title:
        source.title = feed.title[:MAX_SOURCE]


def _failed(runtime: Runtime, report: PollReport, error: str) -> PollReport:
    report.errors.append(error)
    with runtime.transaction() as session:
        source = session.get(models.Source, report.source_id)
        if source is not None:
            now = runtime.clock.now()
            source.last_fetched_at = now
            source.last_status = report.status
            source.last_error = error[:_ERROR_CHARS]
            source.failures += 1
            source.next_poll_at = now + backoff(source.interval_minutes, source.failures)
    return report


def backoff(interval_minutes: int, failures: int) -> timedelta:
    """How long a source that failed `failures` times in a row waits: interval × 2^failures, at most a day."""
    return min(timedelta(minutes=interval_minutes) * 2 ** min(failures, 20), MAX_BACKOFF)


def claim_due_sources(runtime: Runtime, *, limit: int = CLAIM_BATCH) -> list[int]:
    """The sources due now (not paused, their time come), each held a while so the next beat leaves it to
    the poll it was queued for; the poll sets its real next time."""
    with runtime.transaction() as session:
        now = runtime.clock.now()
        s = models.Source
        due = (
            select(s.id)
            .where(s.paused.is_(False), (s.next_poll_at.is_(None)) | (s.next_poll_at <= now))
            .order_by(s.next_poll_at, s.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(session.scalars(due))
        if ids:
            session.execute(update(s).where(among(session, s.id, ids)).values(next_poll_at=now + CLAIM_HOLD))
    return ids


def poll_due_sources(runtime: Runtime) -> list[PollReport]:
    """Poll every due source here, one after another (the beat queues them to the workers instead)."""
    return [poll_source(runtime, source_id) for source_id in claim_due_sources(runtime)]


def poll_every_source(runtime: Runtime) -> list[PollReport]:
    """Poll every source that is not paused, due or not (`digest sources poll`: a person asked for it now)."""
    with runtime.transaction() as session:
        ids = list(
            session.scalars(select(models.Source.id).where(models.Source.paused.is_(False)).order_by(models.Source.id))
        )
    return [poll_source(runtime, source_id) for source_id in ids]
