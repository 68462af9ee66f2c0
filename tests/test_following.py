"""The "您关注" line: a subscriber's picks in the words their digest shows."""

from __future__ import annotations

import pytest
from personas import TOPICS

from digest.core.domain import Picks, Topic
from digest.core.following import following_words
from digest.core.regions import load_regions

LIST_TOPICS = tuple(Topic(slug, name, i) for i, (slug, name) in enumerate(TOPICS))


@pytest.fixture(scope="module")
def regions():
    return load_regions()


def words(regions, region_codes=(), topics=()):
    return following_words(Picks(frozenset(region_codes), frozenset(topics)), LIST_TOPICS, regions)


def test_nothing_picked_reads_everything(regions):
    assert words(regions) == "全部地区｜全部栏目"


def test_regions_as_the_newsletter_writes_them_national_last(regions):
    assert words(regions, {"000000", "430000"}) == "湖南 · 全国｜全部栏目"
    assert words(regions, {"620723", "610902"}) == "陕西汉滨 · 甘肃临泽｜全部栏目"


def test_topics_in_the_lists_section_order(regions):
    assert words(regions, topics={"public-services", "industry"}) == "全部地区｜产业发展 · 公共服务"
    # A section the list no longer has is shown as stored rather than dropped (the reader did pick it).
    assert words(regions, topics={"gone", "macro"}) == "全部地区｜宏观形势 · gone"


def test_a_long_pick_is_cut_to_five_regions(regions):
    provinces = [r.code for r in regions.provinces()][:8]
    line = words(regions, set(provinces))
    assert line.endswith(" 等8个地区｜全部栏目") and line.count(" · ") == 4
