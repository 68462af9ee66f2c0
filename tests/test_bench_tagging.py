"""bench/tagging.py's own articles and its verdicts: the set covers what issue 15 asks of it, the rule that
judges the three tools is the one its docstring states, and the project makes no wrong region on the set."""

from __future__ import annotations

import pytest

from bench.tagging import ARTICLES, judge, load_articles, project_finder, score
from digest.core.domain import NATIONAL_CODE
from digest.core.regions import load_regions
from digest.services.lists import DEFAULT_TOPICS


@pytest.fixture(scope="module")
def regions():
    return load_regions()


@pytest.fixture(scope="module")
def articles():
    return load_articles(ARTICLES)


def test_the_set_covers_every_province_the_traps_and_articles_without_a_place(regions, articles):
    assert len(articles) >= 60
    slugs = {slug for slug, _ in DEFAULT_TOPICS}
    assert all(a["topic"] in slugs and a["title"] and a["body"] for a in articles)
    assert all(code in regions for a in articles for code in a["regions"])
    provinces = {regions.province_of(c) for a in articles for c in a["regions"] if c != NATIONAL_CODE}
    assert provinces == {p.code for p in regions.provinces()}
    assert sum(1 for a in articles if not a["regions"]) >= 5
    assert sum(1 for a in articles if a["regions"] == [NATIONAL_CODE]) >= 3
    traps = " ".join(a["trap"] for a in articles)
    for trap in ("朝阳区 in 北京", "朝阳区 in 长春", "吉林 the province", "吉林 the city", "恩施州", "黔东南州"):
        assert trap in traps
    for trap in ("义乌", "晋江", "农业农村部", "国务院办公厅", "国家乡村振兴局", "全国首家", "中山路", "闽宁协作"):
        assert trap in traps
    assert "another province" in traps


def test_right_wrong_and_missed_as_the_docstring_defines_them(regions):
    assert judge({"431222", "430000"}, {"431222"}, regions) == "right"  # the province beside its county drops
    assert judge({"430000"}, {"431222"}, regions) == "missed"  # only the province: imprecise, not wrong
    assert judge({"431222"}, {"350000", "640000"}, regions) == "wrong"
    assert judge({"350000"}, {"350000", "640000"}, regions) == "missed"
    assert judge({NATIONAL_CODE}, {"431222"}, regions) == "wrong"
    assert judge({"431222"}, set(), regions) == "wrong"
    assert judge(set(), set(), regions) == "right"


def test_the_project_makes_no_wrong_region_on_the_set(regions, articles):
    result = score(project_finder(regions), articles, regions)
    assert result.wrong == 0, result.misses
    assert result.right >= 0.95 * len(articles), result.misses
