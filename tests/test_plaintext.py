"""Article HTML to readable text."""

from __future__ import annotations

from digest.core.plaintext import display_width, html_to_text, wrap_line


def test_paragraphs_are_separated_by_blank_lines():
    assert html_to_text("<p>第一段。</p><p>第二段。</p>") == "第一段。\n\n第二段。"


def test_breaks_lists_and_quotes():
    html = (
        "<p>一行<br>二行</p><ul><li>甲</li><li>乙</li></ul><ol><li>一</li><li>二</li></ol>"
        "<blockquote><p>引</p><p>文</p></blockquote>"
    )
    assert html_to_text(html) == "一行\n二行\n\n- 甲\n- 乙\n\n1. 一\n2. 二\n\n> 引\n>\n> 文"


def test_links_show_their_url_once():
    html = (
        '<p>见<a href="https://example.org/a">通知</a>，或 <a href="https://example.org/b">https://example.org/b</a>，'
        '或写信 <a href="mailto:info@example.org">info@example.org</a></p>'
    )
    assert html_to_text(html) == "见通知 (https://example.org/a)，或 https://example.org/b，或写信 info@example.org"


def test_entities_are_decoded_and_tags_in_text_stay_text():
    assert html_to_text("<p>A &amp; B &lt;b&gt; &quot;引&quot;&nbsp;号 &#20013;</p>") == 'A & B <b> "引" 号 中'


def test_source_line_breaks_inside_chinese_vanish_but_english_keeps_its_spaces():
    assert html_to_text("<p>乡村\n振兴 rural\nrevitalisation</p>") == "乡村振兴 rural revitalisation"


def test_tables_and_images():
    html = (
        "<table><tr><th>地区</th><th>户数</th></tr><tr><td>湖南</td><td>3</td></tr></table>"
        '<p><img src="https://x/y.png" alt="村卫生室"></p>'
    )
    assert html_to_text(html) == "地区 | 户数\n湖南 | 3\n\n[图：村卫生室]"


def test_empty_and_bare_text():
    assert html_to_text("") == ""
    assert html_to_text("   ") == ""
    assert html_to_text("只有文字") == "只有文字"


def test_wrapping_respects_width_and_punctuation():
    text = (
        "汉滨区建立健全区、镇、村三级医疗卫生服务网络，把“小病不出镇”作为目标，"
        "让基层群众在家门口就能享受到优质的医疗服务。"
    )
    lines = html_to_text(f"<p>{text}</p>", width=20).split("\n")
    assert "".join(lines) == text
    assert all(display_width(line) <= 22 for line in lines)  # a closing mark may hang by one
    assert not any(line[0] in "，。、”" for line in lines)
    assert not any(line[-1] in "“" for line in lines)


def test_wrapping_never_breaks_a_url_or_word():
    url = "https://example.org/" + "a" * 80
    lines = wrap_line(f"see {url} now", 30)
    assert url in lines and lines[0] == "see"


def test_list_items_wrap_under_their_marker():
    out = html_to_text("<ul><li>" + "乡村振兴" * 10 + "</li></ul>", width=24)
    first, *rest = out.split("\n")
    assert first.startswith("- ") and rest and all(line.startswith("  ") for line in rest)
