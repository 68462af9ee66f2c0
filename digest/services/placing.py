"""Where an article goes: its labels where the file or the API gave them, else the tagger's finding
(digest.core.tagging), else its feed source's defaults; and whether it must wait for an editor.

Labels win: the tagger fills only what is missing, and a source's default topic stands in where the tagger
is not sure of one (under the list's `review_below`). Each region and the topic record where they came
from (statuses.Origin). An article waits for review (services/article_review.py) when it has no region at all,
or when its topic came from the tagger with a confidence under the list's `review_below`; a topic the
tagger could not find at all stands in as the list's first with confidence 0, so it waits too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from digest.adapters.storage import models
from digest.core.fields import MAX_REGION_LABEL
from digest.core.regions import RegionIndex
from digest.core.statuses import Origin
from digest.core.tagging import Tagging, TopicRules, default_rules, tag_article


@dataclass(frozen=True)
class Placement:
    """An article's regions and topic, where each came from, the tagger's confidence and words, and whether
    it waits for an editor."""

    codes: tuple[str, ...]
    regions_from: Origin
    topic: models.Topic
    topic_from: Origin
    confidence: float | None  # the tagger's, for its topic; None when the topic was given
    why: tuple[str, ...]
    needs_review: bool
    region_label: str = ""  # as the newsletter would write the regions the tagger or a source gave


@dataclass(frozen=True)
class Defaults:
    """What a feed source says of its items when the tagger finds nothing better."""

    codes: tuple[str, ...] = ()
    topic: models.Topic | None = None


def list_rules(ml: models.MailingList) -> TopicRules:
    """The list's topic rules: an editor's keywords where a topic has them, the defaults elsewhere."""
    defaults = default_rules(ml.topics).keywords
    return TopicRules({t.slug: dict(t.keywords) if t.keywords else dict(defaults[t.slug]) for t in ml.topics})


def place_article(
    ml: models.MailingList,
    regions: RegionIndex,
    rules: TopicRules,
    article: tuple[str, str],
    given: tuple[Sequence[str], models.Topic | None],
    defaults: Defaults = Defaults(),
) -> Placement:
    """`article` is (title, body HTML); `given` the region codes and topic its labels named (empty, None: none)."""
    codes, topic = tuple(given[0]), given[1]
    if codes and topic is not None:
        return Placement(codes, Origin.LABEL, topic, Origin.LABEL, None, (), needs_review=False)
    found: Tagging = tag_article(article[0], article[1], regions, rules)
    why = (found.regions.why if not codes else ()) + (found.topic.why if topic is None else ())
    regions_from = Origin.LABEL
    if not codes:
        codes, regions_from = found.regions.codes, Origin.TAGGER
        if not codes and defaults.codes:
            codes, regions_from = defaults.codes, Origin.SOURCE
    confidence: float | None = None
    topic_from = Origin.LABEL
    if topic is None:
        by_slug = {t.slug: t for t in ml.topics}
        sure = found.topic.slug in by_slug and found.topic.confidence >= ml.review_below
        if defaults.topic is not None and not sure:
            topic, topic_from = defaults.topic, Origin.SOURCE
        elif found.topic.slug in by_slug:
            topic, topic_from, confidence = by_slug[found.topic.slug], Origin.TAGGER, found.topic.confidence
        else:
            topic, topic_from, confidence = ml.topics[0], Origin.TAGGER, 0.0
    unsure = confidence is not None and confidence < ml.review_below
    label = "" if regions_from == Origin.LABEL else "、".join(regions.display(code) for code in codes)
    return Placement(
        codes, regions_from, topic, topic_from, confidence, why, not codes or unsure, label[:MAX_REGION_LABEL]
    )
