"""Which articles a subscriber gets, and how they are arranged. Pure: data in, data out.

The matching rule, which subscribers are promised: an article reaches a subscriber when
(a) its topic is one they picked (no topic picked = every topic), and
(b) one of its regions equals, lies inside, or contains one of the subscriber's regions:
    provinces contain their cities and cities their counties, so a 湖南 subscriber gets
    怀化's news and a 汉滨区 subscriber gets 安康's. 全国 is not the parent of the
    provinces but a region of its own, for national news: a 全国 article reaches only
    those who picked 全国. No region picked = every region, 全国 included.
Nobody gets an empty digest: `assemble_digest` may return no sections, and callers skip those.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar, NotRequired, TypedDict, TypeVar, Unpack

from digest.core.domain import Article, Digest, ListInfo, Picks, Section
from digest.core.regions import RegionIndex

K = TypeVar("K", bound=Hashable)


def _topic_ok(article: Article, picks: Picks) -> bool:
    return not picks.topics or article.topic in picks.topics


def _lineage(code: str, regions: RegionIndex) -> tuple[str, ...]:
    # A stored code the current division data no longer knows still matches itself,
    # rather than failing a whole send.
    return regions.ancestors(code) if code in regions else (code,)


class _RegionRule:
    """The region half of the rule for one set of picks, prepared once.

    An article region overlaps a pick when one is an ancestor-or-self of the
    other: either the article's lineage meets the picks (equal, or inside), or
    the article's code is in some pick's lineage (it contains the pick).
    """

    __slots__ = ("around", "picked", "regions")

    def __init__(self, picked: frozenset[str], regions: RegionIndex):
        self.picked = picked
        self.around = frozenset(c for p in picked for c in _lineage(p, regions))
        self.regions = regions

    def __call__(self, article: Article) -> bool:
        if not self.picked:
            return True
        for code in article.region_codes:
            if code in self.around or not self.picked.isdisjoint(_lineage(code, self.regions)):
                return True
        return False


def article_matches(article: Article, picks: Picks, regions: RegionIndex) -> bool:
    return _topic_ok(article, picks) and _RegionRule(picks.regions, regions)(article)


@dataclass(frozen=True)
class Explanation:
    """Why an article is in or out for some picks: a kind and the names it mentions, as data.

    Pages word it in the reader's language from `kind` and `values`; str() is
    the English sentence for logs and the CLI.
    """

    included: bool
    kind: str  # topic, everywhere, no_region, same, inside, contains, apart
    values: Mapping[str, str] = field(default_factory=dict)

    _SENTENCES: ClassVar[dict[str, str]] = {
        "topic": "out: topic {topic} not picked",
        "everywhere": "in: no region picked, so every region",
        "no_region": "out: the article has no region, and this subscriber picked regions",
        "same": "in: {article} picked",
        "inside": "in: {article} lies inside picked {picked}",
        "contains": "in: {article} contains picked {picked}",
        "apart": "out: {article} does not overlap the picked regions ({picked})",
    }

    def __str__(self) -> str:
        return self._SENTENCES[self.kind].format(**self.values)


def explain(
    article: Article, picks: Picks, regions: RegionIndex, *, topic_names: Mapping[str, str] | None = None
) -> Explanation:
    """Why `article` is in or out of this subscriber's digest, for people reading a preview.

    `topic_names` maps slugs to the names readers know (industry → 产业发展).
    """
    if not _topic_ok(article, picks):
        return Explanation(False, "topic", {"topic": (topic_names or {}).get(article.topic, article.topic)})
    if not picks.regions:
        return Explanation(True, "everywhere")
    if not article.region_codes:
        return Explanation(False, "no_region")

    def name(code: str) -> str:
        return regions.display(code) if code in regions else code

    pairs = [(code, picked) for code in article.region_codes for picked in sorted(picks.regions)]
    # The closest relation reads best: the very region picked, then inside, then containing.
    for code, picked in pairs:
        if code == picked:
            return Explanation(True, "same", {"article": name(code)})
    for code, picked in pairs:
        if picked in _lineage(code, regions):
            return Explanation(True, "inside", {"article": name(code), "picked": name(picked)})
    for code, picked in pairs:
        if code in _lineage(picked, regions):
            return Explanation(True, "contains", {"article": name(code), "picked": name(picked)})
    shown = "、".join(name(c) for c in article.region_codes)
    chosen = "、".join(name(c) for c in sorted(picks.regions))
    return Explanation(False, "apart", {"article": shown, "picked": chosen})


def explain_match(
    article: Article, picks: Picks, regions: RegionIndex, *, topic_names: Mapping[str, str] | None = None
) -> str:
    """`explain` as one English sentence."""
    return str(explain(article, picks, regions, topic_names=topic_names))


def select_articles(articles: Iterable[Article], picks: Picks, regions: RegionIndex) -> list[Article]:
    """The matching articles, in the order given."""
    region_ok = _RegionRule(picks.regions, regions)
    return [a for a in articles if _topic_ok(a, picks) and region_ok(a)]


class IssueDates(TypedDict):
    """Which issue a digest is: the same for every subscriber, copied onto the Digest as given."""

    period_start: date
    period_end: date
    issue_number: NotRequired[int | None]
    web_url: NotRequired[str]
    language: NotRequired[str]  # the reader's; "" or none: the list's


def assemble_digest(
    list_info: ListInfo, articles: Iterable[Article], picks: Picks, regions: RegionIndex, **issue: Unpack[IssueDates]
) -> Digest:
    """Sections in the list's order, each article once, oldest first; empty sections left out.

    Articles whose topic the list does not have are left out. The result may have no
    sections: callers skip those, since nobody gets an empty digest.
    """
    # An article fed twice (two overlapping loads) must still appear once.
    unique: dict[int, Article] = {}
    for article in articles:
        unique.setdefault(article.id, article)
    chosen = select_articles(unique.values(), picks, regions)
    sections = []
    for topic in list_info.topics:
        in_topic = sorted((a for a in chosen if a.topic == topic.slug), key=lambda a: (a.published, a.id))
        if in_topic:
            sections.append(Section(topic=topic, articles=tuple(in_topic)))
    return Digest(
        list=list_info,
        period_start=issue["period_start"],
        period_end=issue["period_end"],
        sections=tuple(sections),
        issue_number=issue.get("issue_number"),
        web_url=issue.get("web_url", ""),
        language=issue.get("language", ""),
    )


def content_groups(
    subscriber_picks: Mapping[K, Picks], articles: Iterable[Article], regions: RegionIndex
) -> dict[tuple[int, ...], list[K]]:
    """Subscribers grouped by the exact articles they get: one render per group.

    Keys are the selected ids in input order; subscribers keep their mapping order
    within a group. Picks repeat a lot (every 湖南 subscriber alike), so each distinct
    Picks is matched against the articles once.
    """
    articles = list(articles)
    by_picks: dict[Picks, tuple[int, ...]] = {}
    groups: dict[tuple[int, ...], list[K]] = {}
    for key, picks in subscriber_picks.items():
        ids = by_picks.get(picks)
        if ids is None:
            ids = by_picks[picks] = tuple(a.id for a in select_articles(articles, picks, regions))
        groups.setdefault(ids, []).append(key)
    return groups
