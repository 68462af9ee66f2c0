"""Which articles a subscriber gets, and how they are arranged. Pure: data in, data out.

The rule (DESIGN.md): the topic is one they picked (none picked = all) and one
of the article's regions equals, lies inside, or contains one of theirs (none
picked = every region, 全国 included). 全国 overlaps only 全国.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import date
from typing import TypeVar

from digest.domain import Article, Digest, ListInfo, Picks, Section
from digest.regions import RegionIndex

K = TypeVar("K", bound=Hashable)


def _topic_ok(article: Article, picks: Picks) -> bool:
    return not picks.topics or article.topic in picks.topics


def _region_ok(article: Article, picks: Picks, regions: RegionIndex) -> bool:
    if not picks.regions:
        return True
    # Ancestors of each side, self included: overlap both ways in one set test.
    for code in article.region_codes:
        chain = regions.ancestors(code)
        if any(c in picks.regions for c in chain):
            return True  # equal, or the article lies inside a picked region
        if any(code in regions.ancestors(p) for p in picks.regions):
            return True  # the article's region contains a picked region
    return False


def article_matches(article: Article, picks: Picks, regions: RegionIndex) -> bool:
    return _topic_ok(article, picks) and _region_ok(article, picks, regions)


def explain_match(article: Article, picks: Picks, regions: RegionIndex) -> str:
    """Why `article` is in or out of this subscriber's digest, for people reading a preview."""
    if not _topic_ok(article, picks):
        return f"out: topic {article.topic} not picked"
    if not picks.regions:
        return "in: no region picked, so every region"
    for code in article.region_codes:
        for picked in sorted(picks.regions):
            name, picked_name = regions.display(code), regions.display(picked)
            if code == picked:
                return f"in: {name} picked"
            if regions.contains(picked, code):
                return f"in: {name} lies inside picked {picked_name}"
            if regions.contains(code, picked):
                return f"in: {name} contains picked {picked_name}"
    shown = "、".join(regions.display(c) for c in article.region_codes) or "no region"
    return f"out: {shown} does not overlap the picked regions"


def select_articles(articles: Iterable[Article], picks: Picks, regions: RegionIndex) -> list[Article]:
    return [a for a in articles if article_matches(a, picks, regions)]


def assemble_digest(
    list_info: ListInfo,
    articles: Iterable[Article],
    picks: Picks,
    regions: RegionIndex,
    *,
    period_start: date,
    period_end: date,
    issue_number: int | None = None,
) -> Digest:
    """Sections in the list's order, each article once, oldest first; empty sections left out."""
    chosen = select_articles(articles, picks, regions)
    sections = []
    for topic in list_info.topics:
        in_topic = sorted((a for a in chosen if a.topic == topic.slug), key=lambda a: (a.published, a.id))
        if in_topic:
            sections.append(Section(topic=topic, articles=tuple(in_topic)))
    return Digest(
        list=list_info,
        period_start=period_start,
        period_end=period_end,
        sections=tuple(sections),
        issue_number=issue_number,
    )


def content_groups(
    subscriber_picks: Mapping[K, Picks], articles: Iterable[Article], regions: RegionIndex
) -> dict[tuple[int, ...], list[K]]:
    """Subscribers grouped by the exact articles they get: one render per group."""
    articles = list(articles)
    by_picks: dict[Picks, tuple[int, ...]] = {}
    groups: dict[tuple[int, ...], list[K]] = {}
    for key, picks in subscriber_picks.items():
        ids = by_picks.get(picks)
        if ids is None:
            ids = by_picks[picks] = tuple(a.id for a in select_articles(articles, picks, regions))
        groups.setdefault(ids, []).append(key)
    return groups
