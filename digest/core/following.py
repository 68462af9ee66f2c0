"""What a subscriber follows, in the words their digest shows: 湖南 · 全国｜全部栏目.

A digest's content is rendered once for everyone who gets the same articles, but
readers with different picks can share one content (湖南 and 湖南怀化 readers in a
week of 怀化 news), so this line is one of the personal inserts, worded once per
distinct Picks by the caller and put in by `rendering.personalise`.
"""

from __future__ import annotations

from collections.abc import Iterable

from digest.core.digest_words import DEFAULT_LANGUAGE, digest_words
from digest.core.domain import Picks, Topic
from digest.core.regions import RegionIndex

NATIONAL = "000000"
_SHOWN = 5  # regions named before "等N个地区"; a long line helps no one on a phone


def _region_names(codes: Iterable[str], regions: RegionIndex) -> list[str]:
    # Provinces, cities and counties in code order (north to south-west, as lists of China's
    # divisions go), 全国 after them: it reads as "and national news".
    ordered = sorted(codes, key=lambda code: (code == NATIONAL, code))
    return [regions.display(code) if code in regions else code for code in ordered]


def following_words(
    picks: Picks, topics: Iterable[Topic], regions: RegionIndex, language: str = DEFAULT_LANGUAGE
) -> str:
    """The regions, then the topics a subscriber picked; nothing picked reads 全部地区 or 全部栏目 (All regions,
    All topics). Region and topic names are the list's, in any language."""
    word = digest_words(language)
    names = _region_names(picks.regions, regions)
    if len(names) > _SHOWN:
        more = word("digest_more_regions", count=len(names), more=len(names) - _SHOWN)
        where = " · ".join(names[:_SHOWN]) + " " + more
    else:
        where = " · ".join(names) or word("digest_all_regions")
    by_slug = {t.slug: t for t in topics}
    # The list's section order; a slug the list no longer has is shown as it is stored.
    known = [t.name for t in by_slug.values() if t.slug in picks.topics]
    unknown = sorted(slug for slug in picks.topics if slug not in by_slug)
    what = " · ".join(known + unknown) or word("digest_all_topics")
    return f"{where}{word('digest_regions_then_topics')}{what}"
