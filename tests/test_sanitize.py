"""The article allow-list: what survives, what is removed."""

from __future__ import annotations

import pytest

from digest.core.sanitize import paragraphs_to_html, sanitize_html


def test_keeps_article_markup():
    html = (
        "<h3>小标题</h3><p><strong>粗</strong><em>斜</em><b>b</b><i>i</i><u>u</u><br></p>"
        "<ul><li>一</li></ul><ol><li>二</li></ol><blockquote>引</blockquote><h4>四</h4>"
        "<table><thead><tr><th>县</th></tr></thead><tbody><tr><td>沅陵</td></tr></tbody></table>"
        '<figure><img src="https://example.org/a.png" alt="图" width="300" height="200">'
        "<figcaption>说明</figcaption></figure>"
    )
    assert sanitize_html(html) == html


def test_links_keep_href_and_title_and_get_rel():
    out = sanitize_html('<a href="https://example.org/x" title="原文" target="_blank" class="c">原文</a>')
    assert out == '<a href="https://example.org/x" title="原文" rel="noopener noreferrer">原文</a>'


@pytest.mark.parametrize(
    "dangerous, gone",
    [
        ("<p>正文<script>alert(1)</script></p>", "alert"),
        ("<script src='https://evil.example/x.js'></script><p>正文</p>", "script"),
        ('<img src="https://example.org/a.png" onerror="alert(1)">', "onerror"),
        ('<p onclick="steal()">正文</p>', "onclick"),
        ('<a href="javascript:alert(1)">点</a>', "javascript"),
        ('<a href="JaVaScRiPt:alert(1)">点</a>', "alert"),
        ('<a href=" javascript:alert(1)">点</a>', "alert"),
        ('<img src="javascript:alert(1)">', "javascript"),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "data:"),
        ('<p style="background:url(javascript:alert(1))">正文</p>', "style"),
        ("<style>p{color:red}</style><p>正文</p>", "color"),
        ('<iframe src="https://evil.example"></iframe><p>正文</p>', "iframe"),
        ('<form action="https://evil.example"><input name="p"></form>', "input"),
        ("<svg><script>alert(1)</script></svg>", "alert"),
        ('<math><mtext><img src=x onerror="alert(1)"></mtext></math>', "onerror"),
    ],
)
def test_removes_dangerous_content(dangerous, gone):
    out = sanitize_html(dangerous)
    assert gone.lower() not in out.lower()
    assert "<script" not in out.lower()


def test_relative_and_non_http_urls_are_dropped():
    out = sanitize_html('<a href="/local">a</a><img src="pic.png" alt="x"><img src="ftp://x/y.png">')
    assert "href" not in out and "<img" not in out


def test_mailto_links_survive():
    assert 'href="mailto:editor@example.org"' in sanitize_html('<a href="mailto:editor@example.org">信</a>')


def test_sizes_must_be_plain_numbers():
    out = sanitize_html('<img src="https://example.org/a.png" width="100%" height="20">')
    assert out == '<img src="https://example.org/a.png" height="20">'


def test_paragraphs_to_html_escapes_and_skips_blanks():
    out = paragraphs_to_html(["第一段 <script>alert(1)</script> & “引号”", "   ", "甲\n乙"])
    assert out == "<p>第一段 &lt;script&gt;alert(1)&lt;/script&gt; &amp; “引号”</p>\n<p>甲<br>乙</p>"


def test_paragraphs_to_html_of_nothing_is_empty():
    assert paragraphs_to_html([]) == ""
