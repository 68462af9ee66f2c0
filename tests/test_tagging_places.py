"""find_regions on sentences written for each rule: the traps of issue 15, and what it says when it finds none."""

from __future__ import annotations

import pytest

from digest.core.domain import NATIONAL_CODE
from digest.core.regions import load_regions
from digest.core.tagging import NO_PLACE, find_regions, readable_text


@pytest.fixture(scope="module")
def regions():
    return load_regions()


def codes(regions, title: str, text: str = "") -> tuple[str, ...]:
    return find_regions(title, text, regions).codes


def test_a_county_named_in_the_text_is_kept_over_its_province_and_the_words_say_so(regions):
    found = find_regions(
        "沅陵县创办乡村振兴金融服务中心",
        "湖南省沅陵县近日成立金融服务中心。沅陵是农村金融改革试验区，与湖南省农业信贷担保公司合作。",
        regions,
    )
    assert found.codes == ("431222",)
    assert "沅陵县" in found.why and "沅陵 → 沅陵县" in found.why
    assert found.reason == ""


def test_chaoyang_district_follows_the_city_the_text_names(regions):
    assert codes(regions, "朝阳区推进老旧小区改造", "北京市朝阳区近日启动新一轮改造。") == ("110105",)
    assert codes(regions, "朝阳区推进老旧小区改造", "长春市朝阳区近日启动新一轮改造。") == ("220104",)


def test_chaoyang_district_alone_is_nobodys_and_the_reason_names_the_candidates(regions):
    found = find_regions("朝阳区推进老旧小区改造", "朝阳区近日启动新一轮改造。", regions)
    assert found.codes == ()
    assert "北京市朝阳区" in found.reason and "吉林省长春市朝阳区" in found.reason


def test_jilin_is_the_province_unless_the_text_says_the_city(regions):
    assert codes(regions, "吉林出台黑土地保护办法", "吉林省近日印发办法，长春等地先行。") == ("220000",)
    assert codes(regions, "吉林推广秸秆还田", "") == ("220000",)
    assert codes(regions, "吉林市建设示范村", "吉林市在蛟河、桦甸等地建设示范村。") == ("220200",)
    # 吉林 then one of the city's districts: the city.
    assert codes(regions, "吉林船营区建设示范村", "") == ("220204",)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("恩施州茶产业带动茶农增收", "422800"),
        ("黔东南州村寨旅游带旺民宿", "522600"),
        ("义乌直播基地开设助农专场", "330782"),
        ("晋江鞋企吸纳脱贫劳动力", "350582"),
        ("凉山州昭觉县建起营养食堂", "513431"),
        ("酉阳县整治农村生活污水", "500242"),
    ],
)
def test_prefecture_abbreviations_and_county_level_cities_are_found_alone(regions, title, expected):
    assert codes(regions, title) == (expected,)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("农业农村部部署三夏生产", "会议要求各地抓好机收减损。"),
        ("国务院办公厅印发意见", "意见提出建设高标准农田。"),
        ("国家乡村振兴局召开专题会议", "会议要求守住不发生规模性返贫的底线。"),
        ("部署全面推进乡村振兴工作", "财政部召开会议，落实党中央、国务院决策部署。"),
    ],
)
def test_central_bodies_mean_the_whole_country(regions, title, body):
    found = find_regions(title, body, regions)
    assert found.codes == (NATIONAL_CODE,)
    assert any(line.endswith("→ 全国") for line in found.why)


def test_a_central_body_in_passing_does_not_make_local_news_national(regions):
    text = "汉滨区改扩建乡镇卫生院，多家卫生院受到国家卫生健康委通报表扬。汉滨区群众看病更方便了。"
    assert codes(regions, "汉滨区织密基层医疗网", "陕西安康" + text) == ("610902",)


def test_a_national_text_that_names_provinces_as_examples_stays_national(regions):
    text = "财政部下达补助资金，财政部要求各地加强监管，国家乡村振兴局将跟踪，其中西藏获得的资金增幅较大。"
    assert codes(regions, "补助资金下达", text) == (NATIONAL_CODE,)


def test_the_first_in_the_country_is_not_national_news(regions):
    assert codes(regions, "全国首家乡村人才学院揭牌", "全国首家") == ()
    assert codes(regions, "鼎城区建成全国首家稻虾服务平台", "湖南常德鼎城区上线平台。") == ("430703",)


def test_a_firm_named_after_another_province_is_not_that_province(regions):
    assert codes(regions, "湖南银行推出惠农贷款", "") == ()
    found = codes(regions, "山东高速集团在宁洱县投建咖啡加工厂", "云南普洱宁洱哈尼族彝族自治县签约项目。")
    assert found == ("530821",)
    # A branch is in its province: 工行浙江省分行 is about 浙江.
    assert codes(regions, "农e贷全线落地", "工行浙江省分行推出新产品。") == ("330000",)


def test_a_street_or_a_town_named_like_a_division_is_not_it(regions):
    assert codes(regions, "中山路便民市场改造完工", "中山路上的摊位每天清晨开市。") == ()
    assert codes(regions, "扎实开展改厕工作", "甘肃临泽平川镇推进户厕改造。") == ("620723",)


def test_everyday_words_that_are_also_names_are_not_places(regions):
    text = "合作社抱团推进乡村振兴，新乡贤回村，搬迁安置点建起车间，安宁疗护进卫生院。"
    found = find_regions("合作社带动增收", text, regions)
    assert found.codes == () and found.reason == NO_PLACE
    # …but beside their province or city they are the division: 辽宁丹东东港市, not 乡村振兴's 振兴区.
    assert codes(regions, "东港草莓助力乡村振兴", "辽宁丹东东港市的草莓大棚迎来采摘旺季。") == ("210681",)


def test_a_pair_of_provinces_in_partnership_gets_both(regions):
    found = find_regions("闽宁协作二十五年结硕果", "两省区共建产业园区。", regions)
    assert found.codes == ("350000", "640000")
    assert codes(regions, "沪滇协作让高原蔬菜进超市", "") == ("310000", "530000")


def test_two_provinces_named_about_equally_are_both_kept_and_a_passing_one_is_not(regions):
    assert codes(regions, "福建宁夏签订劳务协作协议", "福建与宁夏两地人社部门签约。") == ("350000", "640000")
    passing = "贵州毕节市推广种植经验，毕节的合作社学习了浙江的做法。毕节市今年扩种一万亩。"
    assert codes(regions, "毕节市扩种高山蔬菜", passing) == ("520500",)


def test_no_place_gives_no_region_and_says_why(regions):
    found = find_regions("村民议事会化解邻里矛盾", "村里每月召开议事会，矛盾就地化解。", regions)
    assert found == type(found)((), (), NO_PLACE)


def test_a_province_named_far_more_than_its_cities_is_the_subject(regions):
    text = "浙江省推出新产品，浙江全省已有试点，台州、金华各一家分行先行。浙江省还将推广。"
    assert codes(regions, "浙江推出农户贷款", text) == ("330000",)


def test_a_city_read_after_its_province_is_the_city_not_the_county_of_the_same_name(regions):
    assert codes(regions, "湖南邵阳指导农村改厕", "") == ("430500",)
    assert codes(regions, "湖南邵阳新邵县指导农村改厕", "") == ("430522",)


def test_a_misprinted_county_right_after_its_province_is_read_as_the_county(regions):
    assert codes(regions, "后乡村打造样本", "江苏省沐阳县青伊湖镇后乡村推出强基工程。") == ("321322",)


def test_html_bodies_are_read_as_text(regions):
    body = '<p class="lead">湖南省<b>沅陵县</b>&nbsp;成立中心</p><script>var x = "北京市";</script>'
    text = readable_text(body)
    assert "北京" not in text and "沅陵县" in text
    assert codes(regions, "金融服务中心成立", text) == ("431222",)


def test_autonomous_abbreviations_resolve_as_labels_too(regions):
    # The names the finder reads are the ones labels resolve with (divisions.names_of): 重庆酉阳县 was read
    # as a misprint of 云阳县 before.
    assert regions.resolve("重庆酉阳县").codes == ("500242",)
    assert regions.resolve("湖北恩施州").codes == ("422800",)
    assert not regions.resolve("青海海南州共和县").warnings


@pytest.mark.parametrize(
    "title", ["巩固原有帮扶政策", "弘扬中华优秀传统文化", "确保定期上门随访", "沟通化解矛盾", "幸福安康"]
)
def test_a_city_name_read_across_two_words_is_not_a_place(regions, title):
    # 固原, 扬中, 保定, 通化, 福安 straddle two words here; where a word starts they are read.
    assert codes(regions, title) == ()


def test_a_city_name_where_a_word_starts_is_read(regions):
    assert codes(regions, "在长沙举行推介会") == ("430100",)
    assert codes(regions, "义乌直播助农") == ("330782",)


def test_rivers_lakes_and_slogans_named_after_a_division_are_not_it(regions):
    assert codes(regions, "洪泽湖退圩还湖", "") == ()
    assert codes(regions, "弘扬延安精神", "学习井冈山精神。") == ()
    # …unless a division's own name starts right after: 宁波江北区, and a province is never cut short.
    assert codes(regions, "宁波江北区推进垃圾分类") == ("330205",)
    assert codes(regions, "湖南江永县香柚丰收") == ("431125",)


def test_one_city_alone_inside_the_named_province_narrows_it_but_listed_examples_do_not(regions):
    assert codes(regions, "海南自贸港政策惠及乡村", "海南省琼海市博鳌镇发展热带农业。") == ("469002",)
    assert codes(regions, "海南推广热带农业", "海南省在琼海、儋州等地先行试点。") == ("460000",)


def test_a_province_a_few_characters_before_a_firms_word_names_the_firm(regions):
    text = "贵州黔南州长顺县引进广东温氏食品集团建设养殖场。"
    assert codes(regions, "广东温氏食品集团在长顺县建养殖基地", text) == ("522729",)
