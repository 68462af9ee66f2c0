"""Upload reports and region notes speak the page's language: Chinese by default, English with ?lang=en."""

from __future__ import annotations

import html
import json
import re

from personas import ZHOU_ADMIN
from webutil import add_staff, form_csrf, sign_in

IMPORT = "/admin/subscribers/import"
UPLOAD = "/admin/articles/upload"

PEOPLE = "\n".join(
    [
        "email,name,regions,topics,status",
        "not-an-address,甲,湖南,,",
        "b@example.cn,乙,湖南,,maybe",
        "c@example.cn,丙,火星,,",
        "d@example.cn,丁,江苏沐阳,,",
        ",戊,湖南,,",
    ]
).encode()
PEOPLE_ZH = (
    "“not-an-address”不是有效的电子邮箱地址。",
    "未知状态“maybe”",
    "“火星”：无法识别的地区。",
    "“江苏沐阳”按江苏省宿迁市沭阳县理解",
    "缺少邮箱。",
)
PEOPLE_EN = (
    "&#39;not-an-address&#39; is not a valid email address.",
    "Unknown status &#39;maybe&#39;",
    "火星: unknown region.",
    "江苏沐阳: read as 江苏省宿迁市沭阳县",
    "The email is missing.",
)
# What the core says in English; none of it may reach the Chinese page.
PEOPLE_CORE = ("is not a valid email address", "unknown status", "unknown region", "read as", "missing email")


def _record(**changes) -> str:
    record = {"title": "标题", "body": "正文。", "topic": "产业发展", "regions": ["湖南"], "published": "2026-11-20"}
    return json.dumps(record | changes, ensure_ascii=False)


ARTICLES = "\n".join(
    [
        "{bad json",
        _record(title="未知栏目", topic="不存在的栏目"),
        _record(title="未知地区", regions=["火星"]),
        _record(title="错别字", regions=["江苏沐阳"]),
        _record(title="坏日期", published="yesterday"),
    ]
).encode()
ARTICLES_ZH = (
    "这一行不是有效的 JSON",
    "没有栏目“不存在的栏目”",
    "“火星”：无法识别的地区。",
    "“江苏沐阳”按江苏省宿迁市沭阳县理解",
    "“yesterday”不是有效的日期或时间",
)
ARTICLES_EN = (
    "Invalid JSON (error at column 2).",
    "Unknown topic &#39;不存在的栏目&#39;",
    "火星: unknown region.",
    "江苏沐阳: read as 江苏省宿迁市沭阳县",
    "published &#39;yesterday&#39; is not an ISO date or date-time.",
)
ARTICLES_CORE = ("invalid JSON", "unknown topic", "unknown region", "no known region", "read as", "is not an ISO date")


def _admin(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    return site.client


def _post(client, action, name, data, lang=None):
    token = form_csrf(client.get(action).text, action)
    return client.post(
        action + (f"?lang={lang}" if lang else ""), data={"csrf_token": token}, files={"file": (name, data, "text/csv")}
    )


def _report(page, marker: str) -> str:
    assert page.status_code == 200, page.text
    start = page.text.index(marker)
    return page.text[start : page.text.index("</section>", start)]


def test_the_subscriber_import_report_speaks_chinese_then_english(site):
    client = _admin(site)
    chinese = _report(_post(client, IMPORT, "people.csv", PEOPLE), 'id="import-report"')
    assert all(s in chinese for s in PEOPLE_ZH), chinese
    assert not [s for s in PEOPLE_CORE if s in html.unescape(chinese).lower()]
    english = _report(_post(client, IMPORT, "people.csv", PEOPLE, lang="en"), 'id="import-report"')
    assert all(s in english for s in PEOPLE_EN), english
    assert not [s for s in PEOPLE_ZH if s in english]


def test_the_article_upload_report_speaks_chinese_then_english(site):
    client = _admin(site)
    chinese = _report(_post(client, UPLOAD, "week.jsonl", ARTICLES), 'id="upload-report"')
    assert all(s in chinese for s in ARTICLES_ZH), chinese
    assert not [s for s in ARTICLES_CORE if s.lower() in html.unescape(chinese).lower()]
    assert "没有可识别的地区" not in chinese  # the label's own error says it: one row, not two
    english = _report(_post(client, UPLOAD, "week.jsonl", ARTICLES, lang="en"), 'id="upload-report"')
    assert all(s in english for s in ARTICLES_EN), english
    assert not [s for s in ARTICLES_ZH if s in english]


def test_a_file_that_cannot_be_read_is_explained_in_the_page_language(site):
    client = _admin(site)
    chinese = _post(client, UPLOAD, "notes.txt", "一些文字".encode())
    assert (
        chinese.status_code == 400
        and "没有“地区 | 标题”这样的行" in chinese.text
        and "does not look like" not in chinese.text
    )
    english = _post(client, UPLOAD, "notes.txt", "一些文字".encode(), lang="en")
    assert english.status_code == 400 and "this does not look like a newsletter issue" in english.text
    assert "没有“地区 | 标题”这样的行" not in english.text


def test_region_notes_on_the_edit_pages_follow_the_page_language(site):
    client = _admin(site)
    _post(client, IMPORT, "one.csv", "email,name,regions\nh@example.cn,辛,湖南\n".encode())
    page = client.get("/admin/subscribers")
    person = int(re.search(r'href="/admin/subscribers/(\d+)', page.text).group(1))
    for lang, typo, unclear in (
        (None, "按江苏省宿迁市沭阳县理解", "“鼓楼”不明确，可能是"),
        ("en", "江苏沐阳: read as 江苏省宿迁市沭阳县", "鼓楼: ambiguous, could be"),
    ):
        query = f"?lang={lang}" if lang else ""
        edit = client.get(f"/admin/subscribers/{person}{query}")
        token = form_csrf(edit.text, f"/admin/subscribers/{person}")
        saved = client.post(
            f"/admin/subscribers/{person}{query}",
            data={
                "csrf_token": token,
                "regions": "江苏沐阳",
                "status": "confirmed",
                "time_zone": "Asia/Shanghai",
                "locale": "zh-CN",
            },
        )
        assert typo in html.unescape(saved.text), saved.text
        refused = client.post(
            f"/admin/subscribers/{person}{query}",
            data={
                "csrf_token": token,
                "regions": "鼓楼",
                "status": "confirmed",
                "time_zone": "Asia/Shanghai",
                "locale": "zh-CN",
            },
        )
        assert refused.status_code == 400 and unclear in html.unescape(refused.text), refused.text
        if lang is None:
            assert "read as" not in saved.text and "ambiguous" not in refused.text
