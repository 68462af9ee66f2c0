"""The matching rule (stated at the top of digest/core/selection.py), over the hierarchy both ways and 全国."""

from __future__ import annotations

from datetime import UTC, date, datetime

from personas import ALL, CHEN_HANBIN, LI_HUNAN, LIU_TOPICS, TOPICS, WANG_NATIONAL, ZHANG_ANKANG, ZHAO_NOTHING

from digest.core.domain import Article, ListInfo, Picks, Topic
from digest.core.regions import load_regions
from digest.core.selection import article_matches, assemble_digest, content_groups, explain_match, select_articles

REGIONS = load_regions()
INFO = ListInfo(slug="weekly", name="乡村振兴周报", topics=tuple(Topic(s, n, i) for i, (s, n) in enumerate(TOPICS)))


def art(id, topic, *codes, day=18):
    return Article(id, topic, f"标题{id}", "<p>正文</p>", codes, "", datetime(2021, 6, day, tzinfo=UTC))


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


def test_a_national_reader_and_a_province_reader_never_swap_news():
    national = Picks(frozenset({"000000"}))
    assert not article_matches(HUNAN, national, REGIONS)
    assert not article_matches(NATIONAL, Picks(frozenset({"430000"})), REGIONS)
    assert article_matches(NATIONAL, national, REGIONS)


def test_a_province_reader_gets_news_of_any_depth_below():
    hunan = Picks(frozenset({"430000"}))
    assert article_matches(YUANLING, hunan, REGIONS)  # a county of a city of 湖南
    assert article_matches(art(20, "macro", "110105"), Picks(frozenset({"110000"})), REGIONS)  # 直辖市 county


def test_a_county_reader_gets_its_own_city_and_province_but_not_a_sibling_county():
    yuanling = Picks(frozenset({"431222"}))
    assert [a.id for a in select_articles(WEEK, yuanling, REGIONS)] == [2, 3, 4]
    chenxi = Picks(frozenset({"431223"}))  # 辰溪县, beside 沅陵 in 怀化
    assert [a.id for a in select_articles(WEEK, chenxi, REGIONS)] == [2, 3]


def test_neighbouring_cities_do_not_match():
    shaoyang = Picks(frozenset({"430500"}))
    assert not article_matches(HUAIHUA, shaoyang, REGIONS)
    assert article_matches(HUNAN, shaoyang, REGIONS)


def test_a_multi_region_article_matches_when_any_of_its_regions_does():
    both = art(11, "industry", "431200", "610902")  # 湖南怀化 and 陕西汉滨
    assert article_matches(both, picks(LI_HUNAN), REGIONS)
    assert article_matches(both, picks(ZHANG_ANKANG), REGIONS)
    assert not article_matches(both, picks(WANG_NATIONAL), REGIONS)
    assert not article_matches(both, Picks(frozenset({"330000"})), REGIONS)
    # Several picks: any one overlapping is enough.
    assert article_matches(NATIONAL, Picks(frozenset({"330000", "000000"})), REGIONS)
    assert article_matches(YUANLING, Picks(frozenset({"330000", "431200"})), REGIONS)


def test_a_code_the_division_data_no_longer_has_matches_only_itself():
    stale = art(12, "macro", "439999")
    assert article_matches(stale, Picks(frozenset({"439999"})), REGIONS)
    assert not article_matches(stale, picks(LI_HUNAN), REGIONS)
    assert article_matches(stale, Picks(), REGIONS)


def test_article_matches_agrees_with_select_articles():
    for persona in ALL:
        chosen = {a.id for a in select_articles(WEEK, picks(persona), REGIONS)}
        assert chosen == {a.id for a in WEEK if article_matches(a, picks(persona), REGIONS)}


def test_explanations():
    assert explain_match(HUAIHUA, picks(LI_HUNAN), REGIONS) == "in: 湖南怀化 lies inside picked 湖南"
    assert explain_match(ANKANG, picks(CHEN_HANBIN), REGIONS) == "in: 陕西安康 contains picked 陕西汉滨"
    assert explain_match(NATIONAL, picks(WANG_NATIONAL), REGIONS) == "in: 全国 picked"
    assert explain_match(NATIONAL, picks(LI_HUNAN), REGIONS) == "out: 全国 does not overlap the picked regions (湖南)"
    assert explain_match(NATIONAL, picks(ZHAO_NOTHING), REGIONS) == "out: topic macro not picked"
    names = dict(TOPICS)
    assert explain_match(HUAIHUA, picks(ZHAO_NOTHING), REGIONS, topic_names=names) == "out: topic 产业发展 not picked"
    assert explain_match(HUAIHUA, picks(LIU_TOPICS), REGIONS) == "in: no region picked, so every region"
    assert explain_match(art(9, "macro"), picks(LI_HUNAN), REGIONS).startswith("out: the article has no region")
    # The closest relation is the one given: 怀化 itself, not "inside 湖南".
    both = Picks(frozenset({"430000", "431200"}))
    assert explain_match(HUAIHUA, both, REGIONS) == "in: 湖南怀化 picked"


def test_explanations_agree_with_the_rule():
    for persona in ALL:
        for article in WEEK:
            reason = explain_match(article, picks(persona), REGIONS)
            assert reason.startswith("in:" if article_matches(article, picks(persona), REGIONS) else "out:"), reason


def test_assembly_orders_sections_like_the_list_and_articles_by_time():
    later_hunan = art(10, "industry", "430000", day=16)
    digest = assemble_digest(
        INFO,
        [HUAIHUA, YUANLING, HUNAN, later_hunan],
        picks(LI_HUNAN),
        REGIONS,
        period_start=date(2021, 6, 14),
        period_end=date(2021, 6, 20),
        issue_number=3,
    )
    assert [s.topic.slug for s in digest.sections] == ["industry", "living-environment"]
    assert [a.id for a in digest.sections[0].articles] == [10, 2, 3]
    assert digest.article_ids == (10, 2, 3, 4) and digest.article_count == 4
    assert (digest.period_start, digest.period_end, digest.issue_number, digest.list) == (
        date(2021, 6, 14),
        date(2021, 6, 20),
        3,
        INFO,
    )
    empty = assemble_digest(
        INFO, WEEK, picks(ZHAO_NOTHING), REGIONS, period_start=date(2021, 6, 14), period_end=date(2021, 6, 20)
    )
    assert empty.sections == () and empty.article_count == 0 and empty.article_ids == ()


def test_assembly_keeps_the_lists_topics_only_and_each_article_once():
    stray = art(13, "sports", "430000")
    same_time = art(14, "industry", "430000")  # same published time as HUNAN (2): id breaks the tie
    digest = assemble_digest(
        INFO,
        [same_time, stray, HUNAN, HUNAN, NATIONAL],
        Picks(),
        REGIONS,
        period_start=date(2021, 6, 14),
        period_end=date(2021, 6, 20),
    )
    assert [(s.topic.slug, [a.id for a in s.articles]) for s in digest.sections] == [
        ("macro", [1]),
        ("industry", [2, 14]),
    ]


def test_a_whole_week_for_every_persona():
    digests = {
        p.name: assemble_digest(
            INFO, WEEK, picks(p), REGIONS, period_start=date(2021, 6, 14), period_end=date(2021, 6, 20)
        )
        for p in ALL
    }
    assert digests["王芳"].article_ids == (1, 8)
    assert digests["李伟"].article_ids == (2, 3, 4)
    # Sections follow the list: 宏观形势 (陕西), 基层治理 (汉滨), 公共服务 (安康).
    assert digests["张敏"].article_ids == (7, 6, 5)
    assert digests["陈静"].article_ids == (7, 6, 5)
    assert digests["刘洋"].article_ids == (2, 3, 5)
    assert digests["赵磊"].article_ids == ()


def test_content_groups_share_one_render_per_distinct_set():
    groups = content_groups({p.email: picks(p) for p in ALL}, WEEK, REGIONS)
    assert groups == {
        (1, 8): [WANG_NATIONAL.email],
        (2, 3, 4): [LI_HUNAN.email],
        (5, 6, 7): [ZHANG_ANKANG.email, CHEN_HANBIN.email],
        (2, 3, 5): [LIU_TOPICS.email],
        (): [ZHAO_NOTHING.email],
    }


def test_content_groups_with_many_subscribers_sharing_picks():
    # Keys may be anything hashable: here (subscriber id, list slug).
    everyone = {(i, "weekly"): picks(ALL[i % len(ALL)]) for i in range(3000)}
    everyone[(9999, "weekly")] = Picks(frozenset({"431200"}))  # 怀化: same articles as 湖南 this week
    groups = content_groups(everyone, iter(WEEK), REGIONS)
    assert sorted(groups) == [(), (1, 8), (2, 3, 4), (2, 3, 5), (5, 6, 7)]
    assert sum(map(len, groups.values())) == 3001
    assert groups[(2, 3, 4)][-1] == (9999, "weekly") and len(groups[(2, 3, 4)]) == 501
    assert groups[(5, 6, 7)][:2] == [(2, "weekly"), (3, "weekly")]
    for ids, keys in groups.items():
        for key in keys[:3]:
            assert tuple(a.id for a in select_articles(WEEK, everyone[key], REGIONS)) == ids
