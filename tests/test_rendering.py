"""Rendering: one template pass and one premailer pass per content, cheap personalisation."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime

import pytest
from personas import LI_HUNAN, TOPICS, WANG_NATIONAL

import digest.core.rendering as rendering
from digest.core.domain import Article, Digest, ListInfo, Recipient, RenderedDigest, Section, Topic
from digest.core.rendering import make_environment, personalise, render_content, render_digest

PUBLISHED = datetime(2021, 6, 18, 9, tzinfo=UTC)

LIST = ListInfo(
    slug="rural-weekly",
    name="乡村振兴周报",
    topics=tuple(Topic(slug, name, i) for i, (slug, name) in enumerate(TOPICS)),
    sender_name="乡村振兴周报",
    sender_email="weekly@digest.example.org",
    reply_to="editors@digest.example.org",
    tagline="每周乡村振兴要闻",
    credits=(("制作", "示例研究部"), ("责任编辑", "王一 李二"), ("审核", "张三")),
    contact_email="info@example.org",
    postal_address="北京市海淀区示例路 1 号",
)


def article(id, topic, label, title, body, **kw):
    return Article(id, topic, title, body, ("000000",), label, PUBLISHED, **kw)


ARTICLES = {
    "macro": (
        article(
            1,
            "macro",
            "财政部",
            "部署全面推进乡村振兴工作",
            "<p>财政部召开会议，部署全面推进乡村振兴。</p><p>第二段。</p>",
            source="财政部网站",
            url="https://example.org/mof?a=1&b=2",
        ),
    ),
    "industry": (
        # Its <script> was removed at ingest; the sanitised body is what the renderer gets.
        article(
            2,
            "industry",
            "湖南怀化",
            "沅陵县创办乡村振兴金融服务组织",
            "<p>沅陵县创办服务组织。</p><ul><li>贷款</li><li>保险</li></ul>",
        ),
        article(3, "industry", "浙江", '标题里有<b>&"符号', "<p>正文 &lt;i&gt; 不是标签。</p>"),
    ),
    "public-services": (
        article(
            4,
            "public-services",
            "陕西安康",
            "织牢一线医疗网 守护乡村振兴健康线",
            "<p>汉滨区建立三级医疗卫生服务网络。</p>",
        ),
    ),
}


def make_digest(sections=ARTICLES, issue_number=12) -> Digest:
    topics = {t.slug: t for t in LIST.topics}
    return Digest(
        list=LIST,
        period_start=date(2021, 6, 14),
        period_end=date(2021, 6, 20),
        sections=tuple(Section(topics[slug], arts) for slug, arts in sections.items()),
        issue_number=issue_number,
    )


def recipient(email, name, token="tok", following="全国｜全部栏目"):
    base = "https://digest.example.org"
    return Recipient(
        email=email,
        name=name,
        unsubscribe_url=f"{base}/u/{token}-u",
        unsubscribe_mailto=f"mailto:weekly@digest.example.org?subject=unsubscribe%20{token}-u",
        preferences_url=f"{base}/p/{token}-p?x=1&y=2",
        view_url=f"{base}/issues/7/view/{token}-v",
        following=following,
    )


WANG = recipient(WANG_NATIONAL.email, WANG_NATIONAL.name, "wang")
LI = recipient(LI_HUNAN.email, LI_HUNAN.name, "li")
TITLES = [a.title for arts in ARTICLES.values() for a in arts]


@pytest.fixture(scope="module")
def env():
    return make_environment()


@pytest.fixture(scope="module")
def content(env):
    return render_content(make_digest(), env)


@pytest.fixture
def counted_inlining(monkeypatch):
    calls = []
    real = rendering.inline_css

    def counting(html):
        calls.append(len(html))
        return real(html)

    monkeypatch.setattr(rendering, "inline_css", counting)
    return calls


def test_css_is_inlined_onto_the_elements(content):
    html = content.html
    bar = re.search(r'<td[^>]*class="section-bar sec-0"[^>]*>', html).group(0)
    assert "background-color:#2e6b3f" in bar.replace(" ", "")
    assert "style=" in re.search(r'<h3[^>]*class="article-title"[^>]*>', html).group(0)
    assert "PingFang SC" in html and "Microsoft YaHei" in html
    # The font is set once, on the container, and inherited: not copied onto every cell.
    assert html.count("font-family") == 1
    assert "font-family" in re.search(r'<table[^>]*class="container"[^>]*>', html).group(0)
    # The media query cannot be inlined and survives in a <style> for clients that read it.
    assert "@media" in html and "max-width: 480px" in html


def test_the_html_carries_masthead_toc_sections_and_footer(content):
    html = content.html
    assert "乡村振兴周报" in html and "第12期" in html and "2021年6月14日—6月20日" in html
    assert 'class="preheader"' in html and "display: none" in html
    # A digest of no public page (as make_digest's) keeps in-message anchors; 返回目录 links went.
    for a in (1, 2, 3, 4):
        assert f'href="#a{a}"' in html and f'id="a{a}"' in html
    assert "返回目录" not in html
    assert html.index("宏观形势") < html.index("产业发展") < html.index("公共服务")
    assert "人居环境" not in html  # a section with no article is not shown
    assert "财政部</span> | 部署全面推进乡村振兴工作" in html
    assert "<li>贷款</li>" in html.replace("\n", "")
    assert "制作：示例研究部" in html and "审核：张三" in html
    assert 'href="mailto:info@example.org"' in html and "北京市海淀区示例路 1 号" in html
    assert "来源：财政部网站" in html and 'href="https://example.org/mof?a=1&amp;b=2"' in html
    for label in ("管理订阅", "退订", "在浏览器中查看"):
        assert label in html


def test_the_contents_link_to_the_issues_public_page(env):
    # Anchors do nothing in the Gmail apps: with a public page, each entry links to the article there,
    # the same URL for every reader (no personal insert), and no in-message anchor link is left.
    page = "https://digest.example.org/lists/rural-weekly/archive/12"
    html = render_content(dataclasses.replace(make_digest(), web_url=page), env).html
    assert [f'href="{page}#a{a}"' in html for a in (1, 2, 3, 4)] == [True] * 4
    assert 'href="#' not in html and "DIGEST-PH-VIEW_URL-7f3a#" not in html


def test_everything_but_the_body_is_escaped(content):
    # lxml writes a bare " in text, where it is harmless; < > & stay escaped.
    assert '标题里有&lt;b&gt;&amp;"符号' in content.html
    assert "<b>&" not in content.html
    assert "正文 &lt;i&gt; 不是标签" in content.html  # the body's own entities are kept as they were
    assert "<script" not in content.html


def test_markers_survive_premailer_and_are_all_replaced(content):
    assert "DIGEST-PH-UNSUBSCRIBE_URL-7f3a" in content.html  # in an href, untouched by premailer
    assert "DIGEST-PH-VIEW_URL-7f3a" in content.text
    out = personalise(content, WANG)
    for part in (out.subject, out.html, out.text):
        assert "DIGEST-PH-" not in part
    assert 'href="https://digest.example.org/u/wang-u"' in out.html
    assert 'href="https://digest.example.org/p/wang-p?x=1&amp;y=2"' in out.html
    assert "https://digest.example.org/p/wang-p?x=1&y=2" in out.text
    assert "王芳，您好" in out.html and "王芳，您好" in out.text
    assert WANG_NATIONAL.email in out.html and WANG_NATIONAL.email in out.text
    assert re.search(
        r'您关注：全国｜全部栏目 — <a href="https://digest.example.org/p/wang-p\?x=1&amp;y=2"[^>]*>修改</a>', out.html
    )
    assert "您关注：全国｜全部栏目\n修改：https://digest.example.org/p/wang-p?x=1&y=2\n" in out.text


def test_one_render_serves_every_recipient(env, counted_inlining):
    content = render_content(make_digest(), env)
    wang, li = personalise(content, WANG), personalise(content, LI)
    assert len(counted_inlining) == 1
    assert wang.html != li.html and wang.text != li.text
    assert "李伟，您好" in li.html and "王芳" not in li.html and "li-u" in li.html and "wang-u" not in li.html
    # Same content either way: only the personal parts differ.
    assert re.sub(r"王芳|wang-|" + re.escape(WANG.email), "X", wang.html) == re.sub(
        r"李伟|li-|" + re.escape(LI.email), "X", li.html
    )


def test_inlining_before_personalising_gives_the_same_message(env, counted_inlining):
    # Content is inlined once with its markers, then personalised: the same as inlining each personal copy.
    digest = make_digest()
    personal = personalise(rendering._render_templates(digest, env), WANG)
    per_message = RenderedDigest(personal.subject, rendering.inline_css(personal.html), personal.text)
    assert render_digest(digest, WANG, env) == per_message
    assert len(counted_inlining) == 2


def test_names_are_escaped_in_html_and_kept_in_text(content):
    evil = recipient("evil@example.org", "<img src=x onerror=alert(1)>", "evil")
    out = personalise(content, evil)
    assert "<img src=x" not in out.html
    assert "&lt;img src=x onerror=alert(1)&gt;，您好" in out.html
    assert "<img src=x onerror=alert(1)>，您好" in out.text


def test_a_name_spelling_a_marker_is_not_expanded(content):
    sneaky = recipient("s@example.org", "DIGEST-PH-UNSUBSCRIBE_URL-7f3a", "s")
    out = personalise(content, sneaky)
    assert "DIGEST-PH-UNSUBSCRIBE_URL-7f3a，您好" in out.text


def test_article_text_cannot_smuggle_a_marker(env):
    digest = make_digest(
        {"macro": (article(9, "macro", "全国", "DIGEST-PH-EMAIL-7f3a", "<p>DIGEST-PH-VIEW_URL-7f3a</p>"),)}
    )
    out = render_digest(digest, WANG, env)
    assert "wang-v" not in out.text.split("目录", 1)[1].split("管理订阅")[0]
    assert out.text.count(WANG.email) == 1  # the footer's, not the title's


def test_without_a_name_the_greeting_is_plain(content):
    out = personalise(content, recipient("anon@example.org", "", "anon"))
    assert "您好：" in out.text and "，您好" not in out.text
    assert "<p>您好：</p>" in out.html or ">您好：<" in out.html


def test_text_part_has_every_title_in_section_order(content):
    text = personalise(content, WANG).text
    body = text.split("━━━━", 2)[2]  # after the masthead rule and the table of contents
    positions = [body.index(t) for t in TITLES]
    assert positions == sorted(positions)
    assert "【宏观形势】" in text and "【产业发展】" in text and "【人居环境】" not in text
    assert "湖南怀化 | 沅陵县创办乡村振兴金融服务组织" in text
    assert '浙江 | 标题里有<b>&"符号' in text
    assert "- 贷款\n- 保险" in text
    assert "来源：财政部网站" in text and "原文：https://example.org/mof?a=1&b=2" in text
    assert "制作：示例研究部" in text and "联系邮箱：info@example.org" in text
    assert "退订：https://digest.example.org/u/wang-u" in text
    assert "\n\n\n\n" not in text and not any(line != line.rstrip() for line in text.splitlines())


def test_text_paragraphs_are_single_lines(env):
    # Not hard-wrapped: a line cut at 38 Chinese characters reads ragged on a phone, and the
    # part is base64, so its lines' length is no matter on the wire (test_messages checks it).
    paragraph = "汉滨区建立健全区、镇、村三级医疗卫生服务网络，" * 20
    title = "县域医共体建设" * 8
    url = "https://example.org/" + "x" * 120
    digest = make_digest({"macro": (article(1, "macro", "全国", title, f"<p>{paragraph}</p><p>二段。</p>", url=url),)})
    lines = render_digest(digest, WANG, env).text.splitlines()
    assert paragraph in lines and "二段。" in lines and f"原文：{url}" in lines
    assert f"全国 | {title}" in lines and f"· 全国 | {title}" in lines  # the heading, and its entry in the contents


def test_subject_leads_with_the_top_headline(env, content):
    # The From name says which list: the subject says what is in it, and which issue.
    assert content.subject == "部署全面推进乡村振兴工作 等4篇 · 第12期"
    named = personalise(content, recipient("a@example.org", "王\r\n芳"))
    assert "\n" not in named.subject and "\r" not in named.subject
    no_number = render_content(make_digest(issue_number=None), env)
    assert no_number.subject == "部署全面推进乡村振兴工作 等4篇"
    one = render_content(make_digest({"public-services": ARTICLES["public-services"]}), env)
    assert one.subject == "织牢一线医疗网 守护乡村振兴健康线 · 第12期"
    long_title = "县域医共体建设" * 10  # 70 characters
    long = render_content(make_digest({"macro": (article(1, "macro", "全国", long_title, "<p>正文。</p>"),)}), env)
    assert long.subject == long_title[:39] + "… · 第12期" and len(long.subject) <= 78


def test_templates_refuse_unknown_variables(tmp_path):
    (tmp_path / "digest.subject.txt").write_text("{{ nope }}", encoding="utf-8")
    env = make_environment(tmp_path)
    with pytest.raises(Exception, match="nope"):
        env.get_template("digest.subject.txt").render()


# Two <style> blocks, a :hover rule and a media query: every kind of leftover premailer keeps.
STYLED = """<!DOCTYPE html>
<html><head><title>t</title>
<style>p { color: #111111; } a:hover { color: red; } .x { width: 10px; }
@media only screen and (max-width: 600px) { .x { width: 100% !important; } }</style>
<style>p { margin: 0; } td { text-align: center; }</style>
</head><body><p class="x" style="font-size: 2px">a <a href="https://example.org/">b</a></p>
<table><tr><td>c</td></tr></table></body></html>"""


def plain_inline_css(html):
    import premailer

    return premailer.Premailer(html, **rendering._PREMAILER_OPTIONS).transform()


def test_reused_stylesheet_rules_give_what_a_fresh_premailer_gives(env):
    htmls = [
        rendering._render_templates(make_digest(), env).html,
        rendering._render_templates(make_digest({"industry": ARTICLES["industry"]}, issue_number=None), env).html,
        STYLED,
    ]
    inliner = rendering._Premailer(**rendering._PREMAILER_OPTIONS)
    for _ in range(2):  # the first pass fills the cache, the second reads it
        for html in htmls:
            assert inliner.transform(html) == plain_inline_css(html)
            assert rendering.inline_css(html) == plain_inline_css(html)


def test_each_stylesheet_is_turned_into_rules_once(env, monkeypatch):
    import premailer

    parsed = []
    real = premailer.Premailer._parse_style_rules

    def counting(self, css_body, ruleset_index):
        parsed.append(ruleset_index)
        return real(self, css_body, ruleset_index)

    monkeypatch.setattr(premailer.Premailer, "_parse_style_rules", counting)
    inliner = rendering._Premailer(**rendering._PREMAILER_OPTIONS)
    digest_html = rendering._render_templates(make_digest(), env).html
    for _ in range(3):
        inliner.transform(digest_html)
        inliner.transform(STYLED)
    assert sorted(parsed) == [0, 0, 1]  # the digest's one <style>, STYLED's two
