"""Which of a list's topics an article belongs to, by keyword rules an editor can read and change.

`TopicRules.keywords` is plain data, `{"industry": {"产业": 3, "合作社": 3, …}, …}`: each topic slug's
keywords and their weights. An article scores, for each topic, the sum over its keywords of the weight times
how often the keyword occurs: TITLE_FACTOR times per occurrence in the title, and at most BODY_CAP
occurrences in the text (one keyword repeated does not outweigh several). The best score wins when it
reaches MIN_SCORE; its confidence grows with its lead over the runner-up and with its size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from digest.core.tagging.topic_lexicon import SECTIONS

TITLE_FACTOR = 3.0
BODY_CAP = 3
MIN_SCORE = 1.0
# How large a score must be to be sure of itself: at this score the confidence is half the lead's share.
SURE_SCORE = 4.0
NAME_WEIGHT = 4.0
LEARNED_WEIGHT = 1.0
_SHOWN = 5


class NamedTopic(Protocol):
    """A list's topic, as domain.Topic or the storage row has it."""

    @property
    def slug(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TopicRules:
    """Per topic slug, its keywords and their weights, in the list's order of topics."""

    keywords: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """As an editor sees and changes them (JSON-ready)."""
        return {slug: dict(words) for slug, words in self.keywords.items()}


@dataclass(frozen=True, slots=True)
class TopicFinding:
    """The topic's slug (None when no rule is sure enough), a confidence from 0 to 1, and the words that decided."""

    slug: str | None
    confidence: float
    why: tuple[str, ...] = ()


def _section_for(topic: NamedTopic) -> dict[str, float]:
    """The built-in keywords of the section this topic most resembles by its slug and name; empty if none."""
    best: dict[str, float] = {}
    best_hits = 0
    for marks, words in SECTIONS:
        hits = (3 if topic.slug in marks else 0) + sum(1 for mark in marks if len(mark) > 1 and mark in topic.name)
        if hits > best_hits:
            best, best_hits = words, hits
    return best


def default_rules(topics: Iterable[NamedTopic]) -> TopicRules:
    """Rules for a list's topics: each topic's own name, and the built-in keywords of the section it resembles."""
    keywords: dict[str, dict[str, float]] = {}
    for topic in topics:
        words = dict(_section_for(topic))
        words[topic.name] = max(words.get(topic.name, 0.0), NAME_WEIGHT)
        keywords[topic.slug] = words
    return TopicRules(keywords)


def _scores(title: str, text: str, rules: TopicRules) -> dict[str, tuple[float, list[tuple[float, str]]]]:
    scored = {}
    for slug, words in rules.keywords.items():
        total, parts = 0.0, []
        for word, weight in words.items():
            if not word or weight <= 0:
                continue
            count = title.count(word) * TITLE_FACTOR + min(text.count(word), BODY_CAP)
            if count:
                total += weight * count
                parts.append((weight * count, word))
        scored[slug] = (total, parts)
    return scored


def choose_topic(title: str, text: str, rules: TopicRules) -> TopicFinding:
    """The best-scoring topic of `rules` for this article (text already reduced from HTML); see the module."""
    scored = _scores(title, text, rules)
    ranked = sorted(scored.items(), key=lambda item: -item[1][0])
    if not ranked or ranked[0][1][0] < MIN_SCORE:
        return TopicFinding(None, 0.0, ("no topic keyword",) if rules.keywords else ("no topic rules",))
    slug, (best, parts) = ranked[0]
    runner_up = ranked[1][1][0] if len(ranked) > 1 else 0.0
    confidence = (best / (best + runner_up)) * (best / (best + SURE_SCORE))
    parts.sort(key=lambda part: (-part[0], part[1]))
    why = tuple(f"{word} ({score:g})" for score, word in parts[:_SHOWN])
    return TopicFinding(slug, round(confidence, 2), why)


def learn_rules(labelled: Iterable[tuple[str, str, str]], base: TopicRules, per_topic: int = 20) -> TopicRules:
    """`base` plus, for each topic, the two-character words its labelled articles (title, text, slug) use far
    more than the others do, at LEARNED_WEIGHT; words already in the rules keep their weight."""
    counts: dict[str, Counter[str]] = {slug: Counter() for slug in base.keywords}
    for title, text, slug in labelled:
        if slug in counts:
            counts[slug].update(_bigrams(title + " " + text))
    overall: Counter[str] = Counter()
    for counted in counts.values():
        overall.update(counted)
    learned: dict[str, dict[str, float]] = {}
    for slug, words in base.keywords.items():
        mine = counts[slug]
        own = sorted(
            (w for w, n in mine.items() if n >= 2 and n * len(counts) >= 2 * overall[w]),
            key=lambda w: (-mine[w], w),
        )
        merged = dict(words)
        for word in own[:per_topic]:
            merged.setdefault(word, LEARNED_WEIGHT)
        learned[slug] = merged
    return TopicRules(learned)


def _bigrams(text: str) -> set[str]:
    """Each two-character run of Chinese characters, once per article."""
    return {text[i : i + 2] for i in range(len(text) - 1) if _cjk(text[i]) and _cjk(text[i + 1])}


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"
