"""An article's lead: its first paragraph, cut at a sentence end near 160 characters, as safe HTML."""

from __future__ import annotations

import lxml.html

from digest.core.leads import ELLIPSIS, LEAD_LENGTH, article_lead


def _text(html: str) -> str:
    return lxml.html.fragment_fromstring(html, create_parent="div").text_content()


def test_a_chinese_paragraph_is_cut_after_its_last_sentence_within_the_length():
    first = "乡村振兴是一项长期任务。" * 12  # 144 characters, twelve sentences
    body = f"<p>{first}各地积极探索因地制宜的发展路径，取得显著成效，群众获得感不断增强。</p><p>第二段。</p>"
    lead = article_lead(body)
    assert lead.shortened
    assert _text(lead.html) == first + ELLIPSIS
    assert "第二段" not in lead.html


def test_a_chinese_sentence_may_end_in_a_question_or_exclamation_and_its_closing_quote():
    body = "<p>" + "好" * 100 + "！" + "问" * 40 + "？”" + "后" * 100 + "</p>"
    assert _text(article_lead(body).html) == "好" * 100 + "！" + "问" * 40 + "？”" + ELLIPSIS


def test_a_paragraph_without_a_sentence_end_is_cut_at_the_length():
    body = "<p>" + "字" * 300 + "</p>"
    assert _text(article_lead(body).html) == "字" * LEAD_LENGTH + ELLIPSIS


def test_latin_text_is_cut_at_a_sentence_end_and_never_inside_a_word():
    sentence = "The cooperative grew its income by 3.5 percent. "
    body = "<p>" + sentence * 3 + "It plans further investment in irrigation and roads this year.</p>"
    assert _text(article_lead(body).html) == (sentence * 3).strip() + ELLIPSIS
    words = "<p>" + "irrigation " * 40 + "</p>"
    text = _text(article_lead(words).html)
    assert text.endswith("irrigation" + ELLIPSIS) and len(text) <= LEAD_LENGTH + 1


def test_a_short_first_paragraph_is_shown_whole_and_says_more_follows():
    lead = article_lead("<p>村里修好了路。</p><p>第二段很长。</p>")
    assert lead.html == "<p>村里修好了路。</p>" and lead.shortened
    only = article_lead("<p>村里修好了路。</p>")
    assert only.html == "<p>村里修好了路。</p>" and not only.shortened


def test_links_and_emphasis_inside_the_lead_survive_and_no_tag_is_left_open():
    body = (
        '<p>据<a href="https://example.cn/a">农业农村部</a>消息，<strong>'
        + "全国" * 100
        + "</strong>都在推进。</p><p>后文。</p>"
    )
    lead = article_lead(body)
    tree = lxml.html.fragment_fromstring(lead.html)
    assert tree.tag == "p"
    assert tree.find("a").get("href") == "https://example.cn/a" and tree.find("a").text == "农业农村部"
    strong = tree.find("strong")
    assert strong.text.startswith("全国") and len(_text(lead.html)) <= LEAD_LENGTH + 1
    assert lead.html.count("<strong>") == lead.html.count("</strong>") == 1
    assert lead.html.endswith(ELLIPSIS + "</p>")


def test_text_that_looks_like_markup_stays_escaped():
    body = "<p>&lt;script&gt;alert(1)&lt;/script&gt; 这是" + "文" * 200 + "</p>"
    lead = article_lead(body)
    assert "<script>" not in lead.html and "&lt;script&gt;" in lead.html


def test_loose_text_is_one_paragraph():
    lead = article_lead("村里 <b>修路</b> 了")
    assert lead.html == "<p>村里 <b>修路</b> 了</p>" and not lead.shortened


def test_a_picture_a_heading_or_a_table_before_the_first_paragraph_is_passed_over():
    body = (
        '<figure><img src="https://example.cn/a.jpg" alt="田间"><figcaption>田间</figcaption></figure>'
        "<h3>小标题</h3><table><tr><td>1</td></tr></table><p>村里修好了路。</p><p>后文。</p>"
    )
    lead = article_lead(body)
    assert lead.html == "<p>村里修好了路。</p>" and lead.shortened


def test_a_body_of_pictures_alone_is_shown_whole():
    body = '<figure><img src="https://example.cn/a.jpg" alt=""></figure>'
    assert article_lead(body).html == body and not article_lead(body).shortened


def test_loose_text_before_a_block_is_the_lead():
    lead = article_lead("村里<b>修路</b>了<br>真好<p>第二段。</p>")
    assert lead.html == "<p>村里<b>修路</b>了<br>真好</p>" and lead.shortened
