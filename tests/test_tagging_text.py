"""The text the tagger reads: markup gone, scripts and styles gone, bounded, and linear on malformed pages."""

from __future__ import annotations

from digest.core.tagging.text import MAX_CHARS, readable_text


def test_tags_scripts_and_styles_go_and_entities_and_widths_fold():
    body = (
        '<p class="lead">湖南省<b>沅陵县</b>&nbsp;成立</p><SCRIPT>var x = "北京市";</SCRIPT>后文<style>.a{}</style>尾'
    )
    assert readable_text(body) == "湖南省 沅陵县 成立 后文 尾"
    assert readable_text("ＡＢＣ　１２３") == "ABC 123"


def test_a_lone_angle_bracket_is_text_and_a_tag_named_like_script_is_only_a_tag():
    assert readable_text("收入<3000元") == "收入<3000元"
    assert readable_text("<scripts>留下</scripts><script src=x></script>文") == "留下 文"


def test_an_unclosed_script_hides_the_rest():
    assert readable_text("前文<script>var a = 1; 北京市") == "前文"


def test_huge_or_malformed_input_is_read_only_so_far():
    assert len(readable_text("湖" * (3 * MAX_CHARS))) == MAX_CHARS
    assert readable_text("<" * 200_000) == "<" * MAX_CHARS
    assert readable_text("<script>" * 50_000) == ""
