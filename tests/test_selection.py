"""The matching rule of DESIGN.md, over the hierarchy both ways and 全国."""

from __future__ import annotations

from datetime import date, datetime, timezone

from digest.domain import Article, ListInfo, Picks, Topic
from digest.regions import load_regions
from digest.selection import article_matches, assemble_digest, content_groups, explain_match, select_articles
from personas import ALL, CHEN_HANBIN, LI_HUNAN, LIU_TOPICS, TOPICS, WANG_NATIONAL, ZHANG_ANKANG, ZHAO_NOTHING

REGIONS = load_regions()
INFO = ListInfo(slug="weekly", name="乡村振兴周报", topics=tuple(Topic(s, n, i) for i, (s, n) in enumerate(TOPICS)))


def art(id, topic, *codes, day=18):
    return Article(id, topic, f"标题{id}", "<p>正文</p>", codes, "", datetime(2021, 6, day, tzinfo=timezone.utc))


NATIONAL = art(1, "macro", "000000")
HUNAN = art(2, "industry", "430000")
HUAIHUA = art(3, "industry", "431200")
YUANLING = art(4, "living-environment", "431222")
ANKANG = art(5, "public-services", "610900")
HANBIN = art(6, "governance", "610902")
SHAANXI = art(7, "macro", "610000")
ZHEJIANG_AND_NATIONAL = art(8, "poverty-alleviation", "330000", "000000")
WEEK = [NATIONAL, HUNAN, HUAIHUA, YUANLING, ANKANG, HANBIN, SHAANXI, ZHEJIANG_AND_NATIONAL]


def picks(persona):
    return Picks(persona.region_codes, frozenset(persona.topics))


def ids(persona):
    return [a.id for a in select_articles(WEEK, picks(persona), REGIONS)]


def test_a_province_reader_gets_its_cities_and_counties_but_not_national_news():
    assert ids(LI_HUNAN) == [2, 3, 4]


def test_a_city_reader_gets_its_counties_and_its_province():
    assert ids(ZHANG_ANKANG) == [5, 6, 7]


def test_a_county_reader_gets_its_city_and_province():
    assert ids(CHEN_HANBIN) == [5, 6, 7]


def test_a_national_reader_gets_national_news_only():
    assert ids(WANG_NATIONAL) == [1, 8]


def test_no_region_picked_means_every_region_including_national():
    assert ids(LIU_TOPICS) == [2, 3, 5]  # industry and public-services, anywhere
    assert [a.id for a in select_articles(WEEK, Picks(), REGIONS)] == [a.id for a in WEEK]


def test_topic_and_region_must_both_match():
    assert ids(ZHAO_NOTHING) == []
    assert not article_matches(HUAIHUA, Picks(frozenset({"430000"}), frozenset({"macro"})), REGIONS)
    assert article_matches(HUAIHUA, Picks(frozenset({"430000"}), frozenset({"industry"})), REGIONS)


def test_an_article_without_regions_reaches_only_readers_without_region_picks():
    orphan = art(9, "macro")
    assert article_matches(orphan, Picks(), REGIONS)
    assert not article_matches(orphan, picks(WANG_NATIONAL), REGIONS)


def test_explanations():
    assert explain_match(HUAIHUA, picks(LI_HUNAN), REGIONS) == "in: 湖南怀化 lies inside picked 湖南"
    assert explain_match(ANKANG, picks(CHEN_HANBIN), REGIONS).startswith("in: 陕西安康 contains picked")
    assert explain_match(NATIONAL, picks(LI_HUNAN), REGIONS).startswith("out: 全国 does not overlap")
    assert explain_match(NATIONAL, picks(ZHAO_NOTHING), REGIONS) == "out: topic macro not picked"


def test_assembly_orders_sections_like_the_list_and_articles_by_time():
    later_hunan = art(10, "industry", "430000", day=16)
    digest = assemble_digest(
        INFO, [HUAIHUA, YUANLING, HUNAN, later_hunan], picks(LI_HUNAN), REGIONS,
        period_start=date(2021, 6, 14), period_end=date(2021, 6, 20), issue_number=3,
    )
    assert [s.topic.slug for s in digest.sections] == ["industry", "living-environment"]
    assert [a.id for a in digest.sections[0].articles] == [10, 2, 3]
    assert digest.article_ids == (10, 2, 3, 4) and digest.article_count == 4
    empty = assemble_digest(INFO, WEEK, picks(ZHAO_NOTHING), REGIONS, period_start=date(2021, 6, 14), period_end=date(2021, 6, 20))
    assert empty.sections == () and empty.article_count == 0


def test_content_groups_share_one_render_per_distinct_set():
    groups = content_groups({p.email: picks(p) for p in ALL}, WEEK, REGIONS)
    assert groups[(5, 6, 7)] == [ZHANG_ANKANG.email, CHEN_HANBIN.email]
    assert groups[()] == [ZHAO_NOTHING.email]
    assert sum(len(v) for v in groups.values()) == len(ALL)
