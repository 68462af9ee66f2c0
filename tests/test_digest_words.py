"""The digest's own words in both languages: the same keys in each, dates and counts as each language writes
them, the reader's language chosen before the list's, and templates that hold no word of their own."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

from personas import LI_HUNAN
from sample_digest import sample_message
from samples import WEEKLY_ISSUE

from digest.core.digest_words import DIGEST_WORDS, digest_words, greeting, period_words, reader_language
from digest.core.domain import Picks, Topic
from digest.core.following import following_words
from digest.core.regions import load_regions

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_word_is_in_both_languages_with_fields_the_callers_give():
    zh, en = DIGEST_WORDS["zh-CN"], DIGEST_WORDS["en"]
    singular = {key for key in en if key.endswith("_one")}
    assert set(zh) == set(en) - singular
    for key in en:
        assert en[key].strip() and not CJK.search(en[key]), key
        # A count may be worded from the total or from the rest ("等13篇", "and 12 more"): the caller gives both.
        assert _fields(en[key]) - {"count", "more"} == _fields(zh.get(key, en[key])) - {"count", "more"}, key


def test_the_digest_templates_hold_no_chinese_word_of_their_own():
    for name in ("base.html", "digest.html", "digest.txt", "digest.subject.txt"):
        assert not CJK.search((TEMPLATES / name).read_text(encoding="utf-8")), name


def test_the_readers_choice_then_the_lists_then_chinese():
    assert reader_language("en", "zh-CN") == "en"
    assert reader_language("", "en") == "en"
    assert reader_language(None, "fr") == "zh-CN"
    assert reader_language("xx") == "zh-CN"


def test_dates_as_each_language_writes_them():
    assert period_words(date(2021, 6, 14), date(2021, 6, 20), "zh-CN") == "2021年6月14日—6月20日"
    assert period_words(date(2021, 6, 14), date(2021, 6, 20), "en") == "14–20 June 2021"
    assert period_words(date(2021, 6, 28), date(2021, 7, 4), "en") == "28 June – 4 July 2021"
    assert period_words(date(2020, 12, 28), date(2021, 1, 3), "en") == "28 December 2020 – 3 January 2021"
    assert period_words(date(2021, 6, 20), date(2021, 6, 20), "en") == "20 June 2021"


def test_counts_and_greetings():
    en, zh = digest_words("en"), digest_words("zh-CN")
    assert en("digest_count", count=1) == "1 article" and en("digest_count", count=13) == "13 articles"
    assert zh("digest_count", count=1) == "本期1篇" and zh("digest_count", count=13) == "本期13篇"
    assert en("digest_subject_more", count=13) == "and 12 more" and zh("digest_subject_more", count=13) == "等13篇"
    assert greeting("Alex", "en") == "Hello Alex" and greeting("", "en") == "Hello"
    assert greeting("王芳", "zh-CN") == "王芳，您好" and greeting("", "zh-CN") == "您好"


def test_the_following_line_in_each_language():
    regions = load_regions()
    topics = (Topic("industry", "产业发展", 0), Topic("public-services", "公共服务", 1))
    hunan = Picks(regions=LI_HUNAN.region_codes)
    assert following_words(hunan, topics, regions, "en") == "湖南 | All topics"
    assert following_words(hunan, topics, regions, "zh-CN") == "湖南｜全部栏目"
    topics_only = Picks(topics=frozenset({"industry"}))
    assert following_words(topics_only, topics, regions, "en") == "All regions | 产业发展"
    many = Picks(regions=frozenset({"110000", "120000", "130000", "140000", "150000", "210000", "220000"}))
    assert following_words(many, topics, regions, "en").endswith(" and 2 more | All topics")
    assert "等7个地区｜全部栏目" in following_words(many, topics, regions, "zh-CN")


def test_a_sample_week_in_english_has_every_fixed_word_in_english():
    english = sample_message(WEEKLY_ISSUE, language="en")
    assert '<html lang="en"' in english.html
    assert english.message["Subject"].endswith(f"and {english.digest.article_count - 1} more · Issue 2")
    for part in (english.html, english.text):
        assert "Hello 王芳," in part and "You follow: All regions | All topics" in part
        assert "Issue 2 · 14–20 June 2021 · " in part and "Contents" in part
        assert "本期" not in part and "您好" not in part and "目录" not in part and "退订" not in part
