"""The digest mail's fixed words in both languages, and its dates and counts as each language writes them.

A digest is written in its reader's language: the one they chose, else their list's, else Chinese. Only
the words the product writes change; article titles and bodies, region and topic names, credits are
content and stay as stored. Kept here rather than in the web catalogue: the pages never show them, and a
count reads differently in each language ("等13篇" counts the headline, "and 12 more" does not), so a
word's fields need not be the same in both (tests/test_digest_words.py holds the keys to be).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

DEFAULT_LANGUAGE = "zh-CN"

DIGEST_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "digest_greeting": "{name}，您好",
        "digest_greeting_anon": "您好",
        "digest_greeting_end": "：",
        "digest_issue_number": "第{number}期",
        "digest_count": "本期{count}篇",
        "digest_intro": "以下是本期的{count}篇文章，按栏目编排。",
        "digest_intro_public": "本期{count}篇文章，按栏目编排。",
        "digest_view": "在浏览器中查看",
        "digest_following": "您关注：",
        "digest_change": "修改",
        "digest_contents": "目录",
        "digest_source": "来源：",
        "digest_read_original": "阅读原文",
        "digest_read_full": "阅读全文 →",
        "digest_original": "原文：",
        "digest_colon": "：",
        "digest_contact": "联系邮箱：",
        "digest_address": "地址：",
        "digest_manage": "管理订阅",
        "digest_unsubscribe": "退订",
        "digest_sent_to": "本邮件发送至",
        "digest_why": "，因为您订阅了{list}。",
        "digest_subscribe": "订阅本刊",
        "digest_archive": "往期",
        "digest_section_open": "【",
        "digest_section_close": "】",
        "digest_subject_more": "等{count}篇",
        "digest_list_separator": "；",
        "digest_all_regions": "全部地区",
        "digest_all_topics": "全部栏目",
        "digest_more_regions": "等{count}个地区",
        "digest_regions_then_topics": "｜",
    },
    "en": {
        "digest_greeting": "Hello {name}",
        "digest_greeting_anon": "Hello",
        "digest_greeting_end": ",",
        "digest_issue_number": "Issue {number}",
        "digest_count": "{count} articles",
        "digest_count_one": "1 article",
        "digest_intro": "Here are this issue's {count} articles, by section.",
        "digest_intro_one": "Here is this issue's one article.",
        "digest_intro_public": "{count} articles this issue, by section.",
        "digest_intro_public_one": "One article this issue.",
        "digest_view": "View in your browser",
        "digest_following": "You follow: ",
        "digest_change": "Change",
        "digest_contents": "Contents",
        "digest_source": "Source: ",
        "digest_read_original": "Read the original",
        "digest_read_full": "Read the full article →",
        "digest_original": "Original: ",
        "digest_colon": ": ",
        "digest_contact": "Contact: ",
        "digest_address": "Address: ",
        "digest_manage": "Manage subscription",
        "digest_unsubscribe": "Unsubscribe",
        "digest_sent_to": "This email was sent to",
        "digest_why": " because you subscribed to {list}.",
        "digest_subscribe": "Subscribe",
        "digest_archive": "Past issues",
        "digest_section_open": "[",
        "digest_section_close": "]",
        "digest_subject_more": "and {more} more",
        "digest_list_separator": "; ",
        "digest_all_regions": "All regions",
        "digest_all_topics": "All topics",
        "digest_more_regions": "and {more} more",
        "digest_regions_then_topics": " | ",
    },
}
# English says "1 article", not "1 articles": a key with this ending, where a language has it, is used when
# `count` is 1. Chinese has no such form.
_ONE = "_one"

# Spelled out rather than from `calendar`, whose names follow the process's locale.
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def reader_language(*choices: str | None) -> str:
    """The first of `choices` a digest can be written in (the reader's, then their list's), else Chinese."""
    for choice in choices:
        if choice in DIGEST_WORDS:
            return choice
    return DEFAULT_LANGUAGE


def digest_words(language: str) -> Callable[..., str]:
    """`t(key, **values)`: the digest's word `key` in `language`, its {fields} filled in; "{more}" is
    `count` less one."""
    words = DIGEST_WORDS[reader_language(language)]

    def t(key: str, **values: object) -> str:
        count = values.get("count")
        if count == 1 and key + _ONE in words:
            key += _ONE
        if isinstance(count, int):
            values.setdefault("more", count - 1)
        return words[key].format(**values)

    return t


def greeting(name: str, language: str = DEFAULT_LANGUAGE) -> str:
    """王芳，您好 / Hello Alex; without a name 您好 / Hello (the template adds the punctuation after it)."""
    t = digest_words(language)
    return t("digest_greeting", name=name) if name else t("digest_greeting_anon")


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def en_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def cn_period(start: date, end: date) -> str:
    """2021年6月14日—6月20日; the year repeats only when the week spans New Year."""
    if start == end:
        return cn_date(end)
    if start.year != end.year:
        return f"{cn_date(start)}—{cn_date(end)}"
    return f"{cn_date(start)}—{end.month}月{end.day}日"


def en_period(start: date, end: date) -> str:
    """14–20 June 2021, 28 June – 4 July 2021, 28 December 2020 – 3 January 2021."""
    if start == end:
        return en_date(end)
    if start.year != end.year:
        return f"{en_date(start)} – {en_date(end)}"
    if start.month != end.month:
        return f"{start.day} {_MONTHS[start.month - 1]} – {en_date(end)}"
    return f"{start.day}–{en_date(end)}"


def period_words(start: date, end: date, language: str) -> str:
    """The week a digest covers, as its reader's language writes dates."""
    return en_period(start, end) if reader_language(language) == "en" else cn_period(start, end)
