"""The newsletter text format, against the real sample issue and the bundled demo."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from digest.ingest import IngestFormatError, parse_file, parse_text
from digest.ingest.newsletter import parse_newsletter

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / ".." / "shared" / "samples" / "rural-revitalization-weekly-2021-06.txt"
DEMO = REPO / "digest" / "data" / "demo-issue.txt"

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
SECTIONS = ("宏观形势", "脱贫攻坚", "产业发展", "人居环境", "基层治理", "公共服务")


def paragraphs(body_html: str) -> list[str]:
    return re.findall(r"<p>(.*?)</p>", body_html, flags=re.S)


def by_region(result, region):
    (article,) = [a for a in result.articles if a.region_label == region]
    return article


@pytest.fixture(scope="module")
def sample():
    # The sample is the reference the parser is built for: a missing file is a
    # broken checkout, not a reason to pass quietly.
    assert SAMPLE.is_file(), f"the shared sample issue is missing: {SAMPLE}"
    return parse_file(SAMPLE)


def test_sample_yields_its_13_articles_in_order(sample):
    assert [(a.topic, a.region_label, a.title) for a in sample.articles] == SAMPLE_ARTICLES
    assert all(a.regions == (a.region_label,) for a in sample.articles)


def test_sample_section_counts(sample):
    counts = {s: sum(a.topic == s for a in sample.articles) for s in SECTIONS}
    assert counts == {"宏观形势": 2, "脱贫攻坚": 2, "产业发展": 3, "人居环境": 2, "基层治理": 2, "公共服务": 2}


def test_sample_has_no_problems(sample):
    assert sample.problems == ()


def test_sample_credits_and_contact(sample):
    labels = [label for label, _ in sample.credits]
    assert labels[:3] == ["制作", "责任编辑", "审核"]
    assert dict(sample.credits)["制作"] == "清研智库社会发展研究部"
    assert dict(sample.credits)["责任编辑"] == "王丹阳 郑冬辰"
    assert dict(sample.credits)["审核"] == "唐正"
    assert dict(sample.credits)["地址"].startswith("北京市海淀区")
    assert sample.contact_email == "info@tsingyanresearch.com"
    assert "联系邮箱" not in labels


def test_sample_article_lines_point_at_the_body(sample):
    assert sample.articles[0].line == 45
    assert sample.articles[-1].line == 185


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


def test_sample_footer_junk_is_not_content(sample):
    bodies = "".join(a.body_html for a in sample.articles)
    assert "二维码" not in bodies and "制作" not in bodies and "info@" not in bodies


def test_published_is_none_without_default_and_aware_with_one(sample):
    assert all(a.published is None for a in sample.articles)
    result = parse_file(SAMPLE, default_published=datetime(2021, 6, 18, 8, 0))
    assert {a.published for a in result.articles} == {result.articles[0].published}
    assert result.articles[0].published.utcoffset().total_seconds() == 8 * 3600


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


def test_demo_prose_is_our_own(demo):
    # Headlines and place names may be reused; sentences may not.
    assert SAMPLE.is_file()
    sample_text = re.sub(r"\s+", "", SAMPLE.read_text(encoding="utf-8"))
    run = 14
    for article in demo.articles:
        for paragraph in paragraphs(article.body_html):
            flat = re.sub(r"\s+", "", paragraph)
            shared = [flat[i : i + run] for i in range(len(flat) - run + 1) if flat[i : i + run] in sample_text]
            assert not shared, f"{article.region_label}: {shared[0]}"
