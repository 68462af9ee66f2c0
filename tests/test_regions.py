"""Region labels as the sample and subscribers write them, resolved to division codes."""

from __future__ import annotations

import pytest

from digest.regions import load_regions, short_name, split_labels

REGIONS = load_regions()

# Every region label of the sample issue, and the division it names.
SAMPLE_LABELS = {
    "财政部": "000000",
    "国家卫健委等十三部门": "000000",
    "河北石家庄": "130100",
    "云南昆明": "530100",
    "宁夏银川": "640100",
    "湖南怀化": "431200",
    "浙江": "330000",
    "甘肃临泽": "620723",
    "湖南邵阳": "430500",
    "四川资阳": "512000",
    "内蒙古": "150000",
    "陕西安康": "610900",
}


@pytest.mark.parametrize("label,code", sorted(SAMPLE_LABELS.items()))
def test_sample_labels_resolve_without_warnings(label, code):
    resolution = REGIONS.resolve(label)
    assert resolution.codes == (code,)
    assert resolution.warnings == ()


def test_the_samples_misspelt_county_resolves_with_a_warning():
    resolution = REGIONS.resolve("江苏沐阳")
    assert resolution.codes == ("321322",)
    assert "沭阳" in resolution.warnings[0]


@pytest.mark.parametrize(
    "label,code",
    [
        ("湖南", "430000"), ("湖南省", "430000"), ("怀化", "431200"), ("怀化市", "431200"),
        ("全国", "000000"), ("431222", "431222"), ("4312", "431200"), ("43", "430000"),
        ("汉滨区", "610902"), ("陕西安康汉滨区", "610902"), ("北京朝阳", "110105"),
        ("新疆", "650000"), ("恩施", "422800"), ("  湖南 怀化 ", "431200"), ("农业农村部", "000000"),
    ],
)
def test_labels_as_people_write_them(label, code):
    assert REGIONS.resolve(label).codes == (code,)


def test_unknown_and_partly_known_labels_are_reported():
    unknown = REGIONS.resolve("火星")
    assert not unknown.ok and "unknown" in unknown.warnings[0]
    partly = REGIONS.resolve("江苏火星")
    assert partly.codes == ("320000",) and "火星" in partly.warnings[0]
    assert not REGIONS.resolve("").ok
    assert not REGIONS.resolve("999999").ok


def test_an_ambiguous_bare_county_name_asks_for_the_province():
    # 鼓楼区 exists in 南京, 徐州, 福州 and 开封: none is bigger than another.
    resolution = REGIONS.resolve("鼓楼区")
    assert not resolution.ok and "ambiguous" in resolution.warnings[0]


def test_hierarchy():
    assert len(REGIONS.provinces()) == 34
    assert REGIONS.ancestors("620723") == ("620723", "620700", "620000")
    assert REGIONS.ancestors("000000") == ("000000",)
    assert REGIONS.contains("430000", "431222") and not REGIONS.contains("431222", "430000")
    assert REGIONS.overlaps("431222", "430000") and REGIONS.overlaps("430000", "431222")
    # 全国 is national news, not the parent of the provinces.
    assert not REGIONS.overlaps("000000", "430000")
    assert "431222" in {r.code for r in REGIONS.children("431200")}


def test_display_names_round_trip():
    for code in ("330000", "431200", "620723", "430523", "430500", "110105", "000000", "429004"):
        assert REGIONS.resolve(REGIONS.display(code)).codes == (code,), code
    assert REGIONS.display("620723") == "甘肃临泽"
    assert REGIONS.display("431200") == "湖南怀化"


def test_short_names():
    assert [short_name(n) for n in ("内蒙古自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区",
                                    "恩施土家族苗族自治州", "阿拉善盟", "和县")] == [
        "内蒙古", "宁夏", "新疆", "香港", "恩施", "阿拉善", "和县"]


def test_search_for_a_picker():
    assert REGIONS.search("临泽")[0].code == "620723"
    assert REGIONS.search("怀化")[0].code == "431200"
    assert REGIONS.search("湖南")[0].code == "430000"


def test_split_labels():
    assert split_labels("湖南, 怀化、全国；浙江") == ["湖南", "怀化", "全国", "浙江"]
    assert split_labels("") == []
