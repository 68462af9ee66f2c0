"""Regions and topic for an article that arrives without labels (issue 15), as plain data.

`find_regions` (places.py) reads the divisions an article is about from its title and text;
`choose_topic` (topics.py) picks one of a list's topics by keyword rules (`default_rules`, `learn_rules`);
`tag_article` does both for a title and an HTML or text body. No I/O: the caller brings the RegionIndex
and the rules, and decides what to keep (labels given by the file or the source win).
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.core.regions import RegionIndex
from digest.core.tagging.places import NO_PLACE, RegionFinding, find_regions
from digest.core.tagging.text import readable_text
from digest.core.tagging.topics import TopicFinding, TopicRules, choose_topic, default_rules, learn_rules

__all__ = [
    "NO_PLACE",
    "RegionFinding",
    "Tagging",
    "TopicFinding",
    "TopicRules",
    "choose_topic",
    "default_rules",
    "find_regions",
    "learn_rules",
    "readable_text",
    "tag_article",
]


@dataclass(frozen=True, slots=True)
class Tagging:
    """What the tagger found for one article."""

    regions: RegionFinding
    topic: TopicFinding


def tag_article(title: str, body: str, regions: RegionIndex, rules: TopicRules) -> Tagging:
    """Regions and topic of an article whose body is HTML or plain text."""
    heading = readable_text(title)
    text = readable_text(body)
    return Tagging(find_regions(heading, text, regions), choose_topic(heading, text, rules))
