"""Storing one poll's items: once per source by key, once per list by fingerprint, an edit updating its
article until an issue carried it. The reads are made once per poll, for the keys and texts this feed holds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.feed_articles import FeedArticle
from digest.services.placing import Placement

Outcome = Literal["new", "updated", "unchanged", "kept"]
# Where the item goes (services/placing.py), asked only for an item that becomes a new article.
Place = Callable[[], Placement]


@dataclass(frozen=True)
class FeedEntry:
    key: str  # digest/core/feed_items.py's item_key
    fingerprint: str
    article: FeedArticle
    source_name: str

    @property
    def item_hash(self) -> str:
        """The item's text and link as the feed gives them: what changes only when the feed edits the item (an
        editor's correction changes the article's fingerprint, not this)."""
        return hashlib.sha256(f"{self.fingerprint}\x00{self.article.url or ''}".encode()).hexdigest()


@dataclass
class FeedStore:
    session: Session
    ml: models.MailingList
    source: models.Source
    by_key: dict[str, models.Article]
    fingerprints: set[str]  # of the list's articles, among this feed's
    carried: set[int]  # articles an issue of the list carried

    @classmethod
    def load(cls, session: Session, ml: models.MailingList, source: models.Source, entries: Iterable[FeedEntry]):
        entries = list(entries)
        a = models.Article
        keys = {e.key for e in entries}
        by_key = {
            row.item_key: row
            for row in session.scalars(select(a).where(a.source_id == source.id, among(session, a.item_key, keys)))
            if row.item_key is not None
        }
        texts = {e.fingerprint for e in entries}
        fingerprints = set(
            session.scalars(select(a.fingerprint).where(a.list_id == ml.id, among(session, a.fingerprint, texts)))
        )
        carried: set[int] = set()
        if by_key:
            fixed = select(models.Issue.article_ids).where(
                models.Issue.list_id == ml.id, models.Issue.article_ids.is_not(None)
            )
            carried = {article_id for ids in session.scalars(fixed) for article_id in ids or ()}
        return cls(session, ml, source, by_key, fingerprints, carried)

    def put(self, entry: FeedEntry, place: Place) -> Outcome:
        """Store `entry` once: new, an update of its article, or nothing (unchanged; kept as an issue sent it)."""
        existing = self.by_key.get(entry.key)
        if existing is None:
            return self._add(entry, place)
        article = entry.article
        if existing.item_hash == entry.item_hash:
            return "unchanged"
        if existing.id in self.carried:
            return "kept"
        if existing.fingerprint != entry.fingerprint and entry.fingerprint in self.fingerprints:
            return "unchanged"  # edited into the text of another article of the list: that one stands
        self.fingerprints.discard(existing.fingerprint)
        existing.title, existing.body_html, existing.url = article.title, article.body_html, article.url
        existing.fingerprint, existing.item_hash = entry.fingerprint, entry.item_hash
        self.fingerprints.add(entry.fingerprint)
        return "updated"

    def _add(self, entry: FeedEntry, place: Place) -> Outcome:
        if entry.fingerprint in self.fingerprints:
            return "unchanged"  # the same text came from elsewhere (an upload, another feed): one article
        placed = place()
        article = entry.article
        row = models.Article(
            list_id=self.ml.id,
            topic_id=placed.topic.id,
            title=article.title,
            body_html=article.body_html,
            region_label=placed.region_label,
            source=entry.source_name,
            url=article.url,
            published_at=article.published,
            fingerprint=entry.fingerprint,
            source_id=self.source.id,
            item_key=entry.key,
            item_hash=entry.item_hash,
            needs_review=placed.needs_review,
            topic_from=placed.topic_from,
            tag_confidence=placed.confidence,
            tag_why=list(placed.why) or None,
        )
        row.regions = [models.ArticleRegion(region_code=code, came_from=placed.regions_from) for code in placed.codes]
        self.session.add(row)
        self.by_key[entry.key] = row
        self.fingerprints.add(entry.fingerprint)
        return "new"
