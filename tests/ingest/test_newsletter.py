"""The newsletter text format: the project's own full issue, the bundled demo, and the real sample when present."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from samples import REPO, WEEKLY_ISSUE

from digest.core.ingest import IngestFormatError, parse_file, parse_text
from digest.core.ingest.newsletter import parse_newsletter
from digest.core.regions import load_regions

DEMO = REPO / "digest" / "data" / "demo-issue.txt"
SECTIONS = ("宏观形势", "脱贫攻坚", "产业发展", "人居环境", "基层治理", "公共服务")
REGIONS = load_regions()


def paragraphs(body_html: str) -> list[str]:
    return re.findall(r"<p>(.*?)</p>", body_html, flags=re.S)


def by_region(result, region):
    (article,) = [a for a in result.articles if a.region_label == region]
    return article


def copied_runs(text: str, sample_text: str, run: int = 14) -> list[str]:
    """Runs of `run` characters (white space ignored) that `text` shares with the sample."""
    flat = re.sub(r"\s+", "", text)
    return [flat[i : i + run] for i in range(len(flat) - run + 1) if flat[i : i + run] in sample_text]


# --- the project's own full issue (tests/fixtures) ----------------------------
# Every expected value below is read off the fixture file by hand.

ISSUE_ARTICLES = [
    ("宏观形势", "财政部", "提前下达衔接推进乡村振兴补助资金"),
    ("宏观形势", "国家卫健委等十三部门", "《健康帮扶衔接实施意见》印发"),
    ("脱贫攻坚", "河北石家庄", "就业帮扶车间吸纳脱贫劳动力"),
    ("脱贫攻坚", "云南昆明", "东川区建立防止返贫监测台账"),
    ("脱贫攻坚", "陕西", "易地搬迁安置区后续扶持项目集中开工"),
    ("产业发展", "宁夏银川", "枸杞种植户用上“信用贷”"),
    ("产业发展", "湖南怀化", "沅陵县乡镇设立金融服务站"),
    ("产业发展", "浙江", "农机购置贷款实现线上办理"),
    # The contents writes this title without the space the body has.
    ("人居环境", "甘肃临泽", "平川镇改厕 整村推进见成效"),
    ("人居环境", "湖南邵阳", "新邵县农村生活污水治理试点启动"),
    ("基层治理", "江苏沐阳", "村民议事会议出好日子"),
    ("基层治理", "四川资阳", "安岳县推行红白喜事简办公约"),
    ("公共服务", "内蒙古", "流动医疗车开进边远嘎查"),
    ("公共服务", "陕西安康", "村卫生室接入远程会诊网络"),
]

# Each kind of label the weekly uses: national bodies, provinces, province+city, province+county.
ISSUE_REGION_CODES = {
    "财政部": "000000",
    "国家卫健委等十三部门": "000000",
    "河北石家庄": "130100",
    "云南昆明": "530100",
    "陕西": "610000",
    "宁夏银川": "640100",
    "湖南怀化": "431200",
    "浙江": "330000",
    "甘肃临泽": "620723",
    "湖南邵阳": "430500",
    "江苏沐阳": "321322",  # the sample's misspelling of 沭阳, kept: it resolves with a warning
    "四川资阳": "512000",
    "内蒙古": "150000",
    "陕西安康": "610900",
}


@pytest.fixture(scope="module")
def issue():
    return parse_file(WEEKLY_ISSUE)


def test_issue_yields_its_14_articles_in_order(issue):
    assert [(a.topic, a.region_label, a.title) for a in issue.articles] == ISSUE_ARTICLES
    assert all(a.regions == (a.region_label,) for a in issue.articles)


def test_issue_section_counts(issue):
    counts = {s: sum(a.topic == s for a in issue.articles) for s in SECTIONS}
    assert counts == {"宏观形势": 2, "脱贫攻坚": 3, "产业发展": 3, "人居环境": 2, "基层治理": 2, "公共服务": 2}


def test_issue_masthead_is_its_only_problem(issue):
    # The masthead and the issue line stand before the contents: ignored, each with a warning.
    assert [(p.line, p.severity, p.code) for p in issue.problems] == [
        (1, "warning", "toc_text_ignored"),
        (3, "warning", "toc_text_ignored"),
    ]


def test_issue_region_labels_resolve_to_their_divisions(issue):
    for article in issue.articles:
        resolution = REGIONS.resolve(article.region_label)
        assert resolution.codes == (ISSUE_REGION_CODES[article.region_label],), article.region_label
        assert resolution.ok
        assert bool(resolution.warnings) == (article.region_label == "江苏沐阳"), article.region_label


def test_issue_credits_and_contact(issue):
    assert issue.credits == (
        ("制作", "乡村发展研究编辑部"),
        ("责任编辑", "林晓 周明"),
        ("审核", "郑华"),
        ("地址", "北京市海淀区示例路 8 号院 B 座 301 室"),
    )
    assert issue.contact_email == "weekly@example.org"


def test_issue_article_lines_point_at_the_body(issue):
    assert issue.articles[0].line == 47
    assert issue.articles[-1].line == 179


def test_issue_page_breaks_are_joined_and_lists_are_not(issue):
    # A break mid-sentence is joined; the paragraph ending with a colon introduces
    # the list after it and stands alone.
    assert paragraphs(by_region(issue, "国家卫健委等十三部门").body_html) == [
        "国家卫健委会同十二个部门近日联合印发文件，对脱贫地区今后五年的医疗卫生工作提出具体安排。",
        "文件指出，脱贫地区看病就医的条件已有很大改观，但县级医院的专科能力和村医队伍依然薄弱，"
        "必须持续投入，为脱贫群众筑牢看病就医的防线。",
        "文件把过渡期内的工作归纳为三个方面：",
        "一是稳住已有的保障措施，大病集中救治、家庭医生签约等做法继续执行，并对因病返贫的风险人群建立预警。",
        "二是补齐县乡村三级服务网络的短板，推动县域医共体建设，让城市大医院的专家定期下沉。",
        "三是把防病放在治病前面，加强慢性病筛查随访，继续开展爱国卫生运动，改善农村环境卫生。",
        "文件还要求各省把相关工作纳入本地的衔接工作机制统一推进，资金和项目向重点帮扶县倾斜。",
    ]
    # The export repeated the character at this break ("…奖补，石" / "石家庄市…").
    assert paragraphs(by_region(issue, "河北石家庄").body_html) == [
        "石家庄市在脱贫村和易地搬迁安置点附近布局了一批就业帮扶车间，主要承接服装缝制、手工编织和农产品初加工订单。",
        "车间实行弹性工时，群众农忙时回家干活，农闲时进车间上班。市里按吸纳脱贫劳动力的人数给予场地和用工补贴，"
        "并对带动就业多的车间另行奖补，石家庄市人社部门表示，下一步还将组织车间负责人外出考察，帮助车间拿到更稳定的订单。",
    ]
    # A form feed between the pages.
    assert paragraphs(by_region(issue, "湖南怀化").body_html)[1] == (
        "服务站的工作人员由县金融办统一招聘，上岗前要参加合作银行组织的业务培训，"
        "之后每周固定时间到各村走访，收集农户的融资需求后集中向银行推荐。"
    )
    assert len(paragraphs(by_region(issue, "湖南怀化").body_html)) == 3
    # Mid-word.
    linze = paragraphs(by_region(issue, "甘肃临泽").body_html)
    assert len(linze) == 3
    assert linze[1].endswith("并为每户建立管护档案，定期上门回访，发现漏水、堵塞等问题及时维修。")
    # Inside a quotation.
    ankang = paragraphs(by_region(issue, "陕西安康").body_html)
    assert len(ankang) == 3
    assert ankang[1].endswith("被群众称为“家门口的医院”。")
    # Articles without a break keep their paragraphs as they are.
    assert [len(paragraphs(a.body_html)) for a in issue.articles] == [3, 7, 2, 3, 2, 3, 3, 3, 3, 2, 6, 3, 3, 3]


def test_issue_subheadings_stand_alone(issue):
    assert paragraphs(by_region(issue, "江苏沐阳").body_html) == [
        "江苏北部的一个村庄成立了村民议事会，由村民推选的老党员、种养大户和返乡青年担任议事代表。",
        "一、小事不出组",
        "邻里之间的纠纷先由村民小组长出面调解，调解不成再提交议事会讨论。",
        "二、大事大家定",
        "修路、建广场这样的公共项目，都要先在议事会上公开讨论、举手表决，表决结果张贴在村务公开栏。",
        "村党支部书记说，议事会成立后，村民参与村里事务的热情明显提高，上访的事情几乎没有了。",
    ]


def test_issue_contents_and_footer_are_not_content(issue):
    bodies = "".join(a.body_html for a in issue.articles)
    assert "二维码" not in bodies and "制作" not in bodies and "weekly@" not in bodies
    assert "乡村振兴周报" not in bodies and " | " not in bodies and "\f" not in bodies
    # The last article ends with its own last paragraph, not the footer.
    assert paragraphs(issue.articles[-1].body_html)[-1] == (
        "区卫健部门表示，下一步将为村医配发随访用的移动终端，让慢性病患者的随访记录及时上传。"
    )


def test_published_is_none_without_default_and_aware_with_one(issue):
    assert all(a.published is None for a in issue.articles)
    result = parse_file(WEEKLY_ISSUE, default_published=datetime(2021, 6, 18, 8, 0))
    assert {a.published for a in result.articles} == {result.articles[0].published}
    assert result.articles[0].published.utcoffset().total_seconds() == 8 * 3600


def test_issue_prose_is_our_own(issue, sample_issue):
    # Headlines and place names may be reused; sentences may not.
    sample_text = re.sub(r"\s+", "", sample_issue.read_text(encoding="utf-8"))
    for article in issue.articles:
        for paragraph in paragraphs(article.body_html):
            shared = copied_runs(paragraph, sample_text)
            assert not shared, f"{article.region_label}: {shared[0]}"
    for label, value in issue.credits:
        assert not copied_runs(value, sample_text, run=8), label


# --- the real sample issue (../shared/samples or DIGEST_SAMPLES_DIR) ----------
# Reference data outside the repository: these tests skip without it, and fail under CI=true.

SAMPLE_ARTICLES = [
    ("宏观形势", "财政部", "部署全面推进乡村振兴工作"),
    ("宏观形势", "国家卫健委等十三部门", "印发《关于巩固拓展健康扶贫成果同乡村振兴有效衔接的实施意见》"),
    ("脱贫攻坚", "河北石家庄", "就业帮扶巩固脱贫攻坚成果"),
    ("脱贫攻坚", "云南昆明", "全力做好脱贫攻坚与乡村振兴衔接工作"),
    ("产业发展", "宁夏银川", "“兴农贷”助推乡村振兴"),
    ("产业发展", "湖南怀化", "沅陵县创办全国首家乡村振兴金融服务组织"),
    ("产业发展", "浙江", "浙江工行“农e贷”系列产品全线落地"),
    ("人居环境", "甘肃临泽", "扎实开展改厕工作 着力提升人居环境"),
    ("人居环境", "湖南邵阳", "指导农村改厕工作 打造群众满意工程"),
    ("基层治理", "江苏沐阳", "后乡村打造乡村振兴“后乡样本”"),
    ("基层治理", "四川资阳", "岳新乡移风易俗焕发乡村文明新气象"),
    ("公共服务", "内蒙古", "医疗专家走进鄂托克旗服务基层活动启动"),
    ("公共服务", "陕西安康", "织牢一线医疗网 守护乡村振兴健康线"),
]


@pytest.fixture(scope="module")
def sample(sample_issue):
    return parse_file(sample_issue)


def test_sample_yields_its_13_articles_in_order(sample):
    assert [(a.topic, a.region_label, a.title) for a in sample.articles] == SAMPLE_ARTICLES
    assert all(a.regions == (a.region_label,) for a in sample.articles)


def test_sample_sections_in_order_and_no_problems(sample):
    counts = {s: sum(a.topic == s for a in sample.articles) for s in SECTIONS}
    assert counts == {"宏观形势": 2, "脱贫攻坚": 2, "产业发展": 3, "人居环境": 2, "基层治理": 2, "公共服务": 2}
    assert sample.problems == ()


def test_sample_regions_resolve(sample):
    for article in sample.articles:
        resolution = REGIONS.resolve(article.region_label)
        assert resolution.ok and len(resolution.codes) == 1, article.region_label
        assert bool(resolution.warnings) == (article.region_label == "江苏沐阳"), article.region_label
    national = [a.region_label for a in sample.articles if REGIONS.resolve(a.region_label).codes == ("000000",)]
    assert national == ["财政部", "国家卫健委等十三部门"]


def test_sample_credits_and_contact(sample):
    labels = [label for label, _ in sample.credits]
    assert labels[:3] == ["制作", "责任编辑", "审核"]
    assert dict(sample.credits)["制作"] == "清研智库社会发展研究部"
    assert dict(sample.credits)["责任编辑"] == "王丹阳 郑冬辰"
    assert dict(sample.credits)["审核"] == "唐正"
    assert dict(sample.credits)["地址"].startswith("北京市海淀区")
    assert sample.contact_email == "info@tsingyanresearch.com"
    assert "联系邮箱" not in labels


def test_sample_page_breaks_are_joined(sample):
    health = paragraphs(by_region(sample, "国家卫健委等十三部门").body_html)
    assert len(health) == 10
    assert any("提供更加坚实的健康保障。" in p for p in health)
    assert "健康保障。" not in health
    # A paragraph ending with a colon introduces the list after it; it is not a break.
    assert any(p.endswith("3 个方面的工作：") for p in health)

    assert any("每年由省农担公司" in p for p in paragraphs(by_region(sample, "湖南怀化").body_html))
    assert any("严格实行销号管理制度" in p for p in paragraphs(by_region(sample, "甘肃临泽").body_html))
    assert any("国家“群众满意的乡镇卫生院”" in p for p in paragraphs(by_region(sample, "陕西安康").body_html))
    # The export repeated the character at this break ("…部署，石" / "石家庄市…").
    shijiazhuang = paragraphs(by_region(sample, "河北石家庄").body_html)
    assert len(shijiazhuang) == 2
    assert "工作部署，石家庄市将健全完善" in shijiazhuang[1]


# A small issue in the sample's shape, for variations.
SMALL = """

宏观形势

财政部 | 部署全面推进乡村振兴工作

产业发展

浙江 | 浙江工行“农e贷”系列产品全线落地

宏观形势

财政部 | 部署全面推进乡村振兴工作

第一段。

产业发展

浙江 | 浙江工行“农e贷”系列产品全线落地

线上贷款已在全省开办。

识别二维码 关注我们

制作：编辑部

联系邮箱：editor@example.org
"""


def test_small_issue_parses():
    result = parse_newsletter(SMALL, "small.txt")
    assert [(a.topic, a.region_label) for a in result.articles] == [("宏观形势", "财政部"), ("产业发展", "浙江")]
    assert result.articles[1].body_html == "<p>线上贷款已在全省开办。</p>"
    assert result.credits == (("制作", "编辑部"),)
    assert result.contact_email == "editor@example.org"
    assert result.problems == ()


def test_crlf_full_width_bar_trailing_spaces_and_form_feeds():
    text = SMALL.replace("财政部 | ", "财政部｜").replace(
        "第一段。", "第一段讲的是财政部门在五年过渡期内打算怎样\f\n\n\f继续支持脱贫地区，这是下一页。  "
    )
    text = text.replace("\n", "  \r\n")
    result = parse_newsletter(text, "crlf.txt")
    assert result.problems == ()
    assert result.articles[0].title == "部署全面推进乡村振兴工作"
    assert (
        result.articles[0].body_html
        == "<p>第一段讲的是财政部门在五年过渡期内打算怎样继续支持脱贫地区，这是下一页。</p>"
    )


def test_the_table_of_contents_is_optional():
    body_only = SMALL[SMALL.index("宏观形势\n\n财政部 | 部署全面推进乡村振兴工作\n\n第一段") :]
    result = parse_newsletter(body_only, "no-toc.txt")
    assert len(result.articles) == 2
    assert result.articles[0].line == 3
    assert result.problems == ()


def test_masthead_before_the_contents_is_ignored_with_a_warning():
    result = parse_newsletter("乡村振兴周报 2021年第6期\n" + SMALL, "masthead.txt")
    assert len(result.articles) == 2
    (problem,) = result.problems
    assert (problem.line, problem.severity) == (1, "warning")


def test_toc_and_body_disagreements_are_warnings():
    text = SMALL.replace("产业发展\n\n浙江 | 浙江工行“农e贷”系列产品全线落地\n\n宏观形势", "宏观形势", 1)
    text = text.replace("部署全面推进乡村振兴工作\n\n第一段", "部署全面推进乡村振兴工作\n\n第一段", 1)
    text = text.replace(
        "宏观形势\n\n财政部 | 部署全面推进乡村振兴工作\n\n",
        "宏观形势\n\n财政部 | 部署全面推进乡村振兴工作\n\n国家乡村振兴局 | 不在正文里\n\n",
        1,
    )
    result = parse_newsletter(text, "toc.txt")
    assert len(result.articles) == 2  # warnings keep the articles
    messages = [(p.severity, p.line, p.message) for p in result.problems]
    assert all(severity == "warning" for severity, _, _ in messages)
    assert any("不在正文里" in m and "no such article" in m for _, _, m in messages)
    assert any("浙江" in m and "missing from the table of contents" in m for _, _, m in messages)
    assert all(p.source == "toc.txt" and p.line for p in result.problems)


def test_article_before_any_heading_is_an_error():
    text = "财政部 | 无栏目的文章\n\n正文。\n\n宏观形势\n\n浙江 | 有栏目\n\n正文。\n"
    result = parse_newsletter(text, "x.txt")
    assert [a.region_label for a in result.articles] == ["浙江"]
    (problem,) = result.problems
    assert (problem.severity, problem.line, problem.source) == ("error", 1, "x.txt")
    assert "before any section heading" in problem.message


def test_article_without_body_is_an_error():
    text = "宏观形势\n\n财政部 | 没有正文\n\n浙江 | 有正文\n\n正文。\n"
    result = parse_newsletter(text, "x.txt")
    assert [a.region_label for a in result.articles] == ["浙江"]
    (problem,) = result.problems
    assert (problem.severity, problem.line, problem.field) == ("error", 3, "body")


def test_empty_region_or_title_is_an_error_and_its_text_is_not_misfiled():
    text = "宏观形势\n\n财政部 | 好文章\n\n正文一。\n\n | 没有地区\n\n孤儿段落。\n\n浙江 |  \n\n也是孤儿。\n"
    result = parse_newsletter(text, "x.txt")
    assert [a.title for a in result.articles] == ["好文章"]
    assert result.articles[0].body_html == "<p>正文一。</p>"
    assert [(p.line, p.field, p.severity) for p in result.problems] == [(7, "region", "error"), (11, "title", "error")]


def test_subheading_without_punctuation_is_not_joined():
    text = "宏观形势\n\n财政部 | 标题\n\n一、总体要求\n\n这是正文的第一句。\n"
    result = parse_newsletter(text)
    assert paragraphs(result.articles[0].body_html) == ["一、总体要求", "这是正文的第一句。"]


def test_markup_in_newsletter_text_is_escaped():
    text = (
        "宏观形势\n\n财政部 | 标题\n\n"
        '正文<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:x">链</a>。\n'
    )
    body = parse_newsletter(text).articles[0].body_html
    assert "<script" not in body and "<img" not in body and "<a " not in body
    assert "&lt;script&gt;" in body


def test_text_without_article_lines_is_the_wrong_format(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text('{"title": "json"}\n只是普通的文字。\n', encoding="utf-8")
    with pytest.raises(IngestFormatError) as exc:
        parse_file(path)
    assert exc.value.problem.source == str(path)
    assert exc.value.problem.line == 1


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(IngestFormatError, match="binary"):
        parse_file(path)


def test_non_utf8_file_names_offset_and_line(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("宏观形势\n\n".encode() + "财政部 | 标题\n".encode("gbk"))
    with pytest.raises(IngestFormatError) as exc:
        parse_file(path)
    assert exc.value.problem.line == 3
    assert "offset 14" in exc.value.problem.message


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.encode())
    assert len(parse_file(path).articles) == 2


def test_unknown_extension_is_rejected(tmp_path):
    path = tmp_path / "issue.docx"
    path.write_text(SMALL, encoding="utf-8")
    with pytest.raises(IngestFormatError, match="unknown file type"):
        parse_file(path)
    assert len(parse_file(path, fmt="newsletter").articles) == 2


def test_parse_text_guesses_the_format():
    assert len(parse_text(SMALL, "<stdin>").articles) == 2
    with pytest.raises(IngestFormatError):
        parse_text("   \n", "<stdin>", "newsletter")


# --- the bundled demo issue -------------------------------------------------

DEMO_COUNTS = {"宏观形势": 2, "脱贫攻坚": 3, "产业发展": 4, "人居环境": 2, "基层治理": 3, "公共服务": 2}


@pytest.fixture(scope="module")
def demo():
    return parse_file(DEMO)


def test_demo_issue_parses_cleanly(demo):
    assert demo.problems == ()
    assert {s: sum(a.topic == s for a in demo.articles) for s in SECTIONS} == DEMO_COUNTS
    assert [a.topic for a in demo.articles] == sorted((a.topic for a in demo.articles), key=SECTIONS.index)
    assert demo.credits[:3] == (("制作", "乡村振兴周报编辑部"), ("责任编辑", "林晓"), ("审核", "周明"))
    assert demo.contact_email == "editor@example.org"


def test_demo_reuses_the_sample_headlines_and_adds_its_own(demo):
    headlines = {(a.topic, a.region_label, a.title) for a in demo.articles}
    assert set(SAMPLE_ARTICLES) <= headlines
    assert {a.region_label for a in demo.articles} - {r for _, r, _ in SAMPLE_ARTICLES} == {
        "陕西安康汉滨区",
        "湖南隆回",
        "广西桂林",
    }


def test_demo_exercises_the_page_break_join(demo):
    zhejiang = paragraphs(by_region(demo, "浙江").body_html)
    assert len(zhejiang) == 3
    assert any("全省各地的县域网点" in p for p in zhejiang)


def test_demo_prose_is_our_own(demo, sample_issue):
    # Headlines and place names may be reused; sentences may not.
    sample_text = re.sub(r"\s+", "", sample_issue.read_text(encoding="utf-8"))
    for article in demo.articles:
        for paragraph in paragraphs(article.body_html):
            shared = copied_runs(paragraph, sample_text)
            assert not shared, f"{article.region_label}: {shared[0]}"
