"""Storing parsed articles: resolve topics and regions, skip duplicates, keep every good row."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from digest.adapters.storage import models
from digest.core.domain import Article, ParsedArticle, ParseResult, Problem, Severity
from digest.core.fields import MAX_REGION_LABEL
from digest.core.plaintext import html_to_text
from digest.core.regions import RegionIndex
from digest.core.schedule import zone
from digest.core.tagging import TopicRules
from digest.services.footer import FooterOffer, offer_footer
from digest.services.lists import resolve_topic
from digest.services.placing import Placement, list_rules, place_article

# Dates without a time, and the week boundaries, are read in the newsletter's time zone.
NEWSROOM_TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class IngestReport:
    added: int = 0
    unchanged: int = 0
    waiting: int = 0  # of those added, the ones that wait for an editor (services/article_review.py)
    problems: list[Problem] = field(default_factory=list)
    # A newsletter file's footer, offered to the list: which of its fields it filled, and which differ.
    footer: FooterOffer = field(default_factory=FooterOffer)

    @property
    def rejected(self) -> int:
        """Articles refused: one may carry several errors (a topic and a region), so errors by their line."""
        return len({(p.source, p.line) for p in self.problems if p.severity == "error"})


def fingerprint(title: str, body_html: str) -> str:
    """Same title and same text, whatever the markup or spacing: the same article."""
    text = re.sub(r"\s+", "", html_to_text(body_html))
    normal_title = re.sub(r"\s+", "", title)
    return hashlib.sha256(f"{normal_title}\x00{text}".encode()).hexdigest()


def store_articles(
    session: Session,
    ml: models.MailingList,
    parsed: ParseResult,
    regions: RegionIndex,
    *,
    source: str,
    published: datetime,
) -> IngestReport:
    """Add each parsed article unless it is a duplicate or cannot be placed.

    `published` stands in for articles that carry no date of their own.
    """
    report = IngestReport(problems=list(parsed.problems))
    known = set(session.scalars(select(models.Article.fingerprint).where(models.Article.list_id == ml.id)))
    rules: TopicRules | None = None  # the list's, read once the first article needs the tagger
    for item in parsed.articles:
        placing = _Placing(report, source, item)
        topic = placing.topic(ml) if item.topic else None
        if item.topic and topic is None:
            continue
        codes = placing.region_codes(regions) if item.regions else []
        if codes is None:
            continue
        digest_key = fingerprint(item.title, item.body_html)
        if digest_key in known:
            report.unchanged += 1
            continue
        known.add(digest_key)
        rules = rules or list_rules(ml)
        placement = place_article(ml, regions, rules, (item.title, item.body_html), (codes, topic))
        session.add(_article_row(ml, placement, item, digest_key, item.published or published))
        report.added += 1
        report.waiting += placement.needs_review
    session.flush()
    report.footer = offer_footer(session, ml, parsed)
    # The parser's problems came first and placing's after: in line order, the file reads as the report does.
    report.problems.sort(key=lambda p: (p.line is not None, p.line or 0))
    return report


@dataclass
class _Placing:
    """One parsed article finding its topic and regions; what it cannot place goes to the report."""

    report: IngestReport
    source: str
    item: ParsedArticle

    def problem(
        self,
        message: str,
        fld: str,
        severity: Severity = "error",
        *,
        code: str,
        params: Mapping[str, object] | tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.report.problems.append(
            Problem(
                message, source=self.source, line=self.item.line, field=fld, severity=severity, code=code, params=params
            )
        )

    def topic(self, ml: models.MailingList) -> models.Topic | None:
        topic = resolve_topic(ml, self.item.topic)
        if topic is None:
            names = "、".join(t.name for t in ml.topics)
            self.problem(
                f"unknown topic {self.item.topic!r} (this list has: {names})",
                "topic",
                code="topic_unknown",
                params={"topic": self.item.topic, "known": names},
            )
        return topic

    def region_codes(self, regions: RegionIndex) -> list[str] | None:
        """The codes of the labels that resolve; None (and an error) when none does."""
        codes: list[str] = []
        unresolved: list[str] = []
        refused = False
        for label in self.item.regions:
            resolution = regions.resolve(label)
            for warning in resolution.warnings:
                severity: Severity = "warning" if resolution.ok else "error"
                refused = refused or severity == "error"
                self.problem(warning, "regions", severity, code=warning.code, params=warning.params)
            if resolution.ok:
                codes.extend(c for c in resolution.codes if c not in codes)
            else:
                unresolved.append(label)
        if not codes and refused:
            return None  # each label's error says why, and an error means the article was not stored
        if not codes:
            labels = "、".join(self.item.regions)
            self.problem(
                f"no known region in {labels or '(empty)'}; article not stored",
                "regions",
                code="regions_none_known",
                params={"labels": labels},
            )
            return None
        if unresolved:
            kept, ignored = ", ".join(codes), "、".join(unresolved)
            self.problem(
                f"kept with regions {kept}; ignored {ignored}",
                "regions",
                "warning",
                code="regions_partly_kept",
                params={"kept": kept, "ignored": ignored},
            )
        return codes


def _article_row(
    ml: models.MailingList,
    placed: Placement,
    item: ParsedArticle,
    key: str,
    published: datetime,
) -> models.Article:
    label = item.region_label or placed.region_label
    row = models.Article(
        list_id=ml.id,
        topic_id=placed.topic.id,
        title=item.title,
        body_html=item.body_html,
        region_label=label[:MAX_REGION_LABEL],
        source=item.source,
        url=item.url,
        published_at=published,
        fingerprint=key,
        needs_review=placed.needs_review,
        topic_from=placed.topic_from,
        tag_confidence=placed.confidence,
        tag_why=list(placed.why) or None,
    )
    row.regions = [models.ArticleRegion(region_code=c, came_from=placed.regions_from) for c in placed.codes]
    return row


def period_bounds(period_end: date, tz: ZoneInfo = NEWSROOM_TZ) -> tuple[date, datetime, datetime]:
    """The seven days that end with `period_end` on the list's calendar, as [start, end) instants."""
    period_start = period_end - timedelta(days=6)
    start = datetime.combine(period_start, time.min, tz)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tz)
    return period_start, start, end


def articles_of_period(session: Session, ml: models.MailingList, period_end: date) -> list[Article]:
    """The visible, placed articles published in the week ending `period_end`, as core data."""
    _, start, end = period_bounds(period_end, zone(ml.time_zone))
    rows = session.scalars(
        select(models.Article)
        .where(
            models.Article.list_id == ml.id,
            models.Article.hidden.is_(False),
            models.Article.needs_review.is_(False),  # waiting for an editor (services/article_review.py)
            models.Article.published_at >= start,
            models.Article.published_at < end,
        )
        .options(selectinload(models.Article.regions), selectinload(models.Article.topic))
        .order_by(models.Article.published_at, models.Article.id)
    ).all()
    return [to_article(r) for r in rows]


def to_article(row: models.Article) -> Article:
    return Article(
        id=row.id,
        topic=row.topic.slug,
        title=row.title,
        body_html=row.body_html,
        region_codes=tuple(r.region_code for r in row.regions),
        region_label=row.region_label,
        published=row.published_at,
        source=row.source,
        url=row.url,
    )
