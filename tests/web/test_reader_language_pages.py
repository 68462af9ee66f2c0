"""The pages a digest leads to, in the right language: an English list's archive and public copy in English,
a reader's "view in browser" in the language they chose, and an English list's form starting in English."""

from __future__ import annotations

import re

from personas import ALEX_ENGLISH, LI_HUNAN, subscribe_confirmed
from sqlalchemy import select
from webutil import LIST, csrf_from, link_in, parse_mail, send_issue

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.lists import ensure_default_list

SUBSCRIBE = f"/lists/{LIST}/subscribe"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


def _list_in(url: str, language: str, people=()) -> None:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.language = language
        subscribe_confirmed(session, ml, load_regions(), people)


def test_an_english_lists_archive_and_public_copy_are_english(site):
    _list_in(site.url, "en", [LI_HUNAN])
    send_issue(site)
    archive = site.client.get(f"/lists/{LIST}/archive")
    assert archive.status_code == 200 and '<html lang="en">' in archive.text and "Issue 1" in archive.text
    full = site.client.get(f"/lists/{LIST}/archive/1")
    assert full.status_code == 200 and '<html lang="en"' in full.text
    site_url = f"https://digest.example.org/lists/{LIST}"
    assert re.search(f'href="{site_url}/subscribe"[^>]*>Subscribe</a>', full.text)
    assert re.search(f'href="{site_url}/archive"[^>]*>Past issues</a>', full.text)
    assert "Contents" in full.text and "Issue 1 · 16–22 November 2026" in full.text
    assert "目录" not in full.text and "订阅本刊" not in full.text and "往期" not in full.text
    # ?lang= still wins on the archive's own page.
    assert '<html lang="zh-CN">' in site.client.get(f"/lists/{LIST}/archive?lang=zh").text


def test_a_chinese_lists_archive_stays_chinese(site):
    _list_in(site.url, "zh-CN", [ALEX_ENGLISH])
    send_issue(site)
    full = site.client.get(f"/lists/{LIST}/archive/1")
    assert '<html lang="zh-CN"' in full.text and "目录" in full.text and "订阅本刊" in full.text
    assert "Contents" not in full.text


def test_view_in_browser_is_in_the_language_the_reader_chose(site):
    _list_in(site.url, "zh-CN", [ALEX_ENGLISH, LI_HUNAN])
    issue_id = send_issue(site)
    by_reader = {m.rcpt_tos[0]: parse_mail(m.data) for m in site.smtp.messages}
    _, english_text, _ = by_reader[ALEX_ENGLISH.email]
    _, chinese_text, _ = by_reader[LI_HUNAN.email]
    english = site.client.get(link_in(english_text, f"/issues/{issue_id}/view/"))
    assert english.status_code == 200 and '<html lang="en"' in english.text
    assert "Hello Alex," in english.text and "You follow: 湖南 | All topics" in english.text
    assert "您好" not in english.text and "您关注：" not in english.text
    chinese = site.client.get(link_in(chinese_text, f"/issues/{issue_id}/view/"))
    assert '<html lang="zh-CN"' in chinese.text and "李伟，您好：" in chinese.text


def _stored_locale(url: str, address: str) -> str:
    with transaction(url) as session:
        return session.scalar(select(models.Subscriber.locale).where(models.Subscriber.email == address))


def test_an_english_lists_form_starts_in_english_and_records_the_choice(site):
    _list_in(site.url, "en")
    page = site.client.get(SUBSCRIBE)
    assert '<html lang="en">' in page.text
    assert re.search(r'<option value="en" selected>', page.text)
    base = {"name": "", "region": ["000000"], "topic": [], "csrf_token": csrf_from(page.text)}
    # A form posted with no language (a script's, say) reads the list's.
    assert site.client.post(SUBSCRIBE, data=base | {"email": "nolang@example.org"}).status_code == 200
    assert _stored_locale(site.url, "nolang@example.org") == "en"
    # What the reader picks is what they get, whatever the list's language.
    chose = base | {"email": "chose@example.org", "locale": "zh-CN"}
    assert site.client.post(SUBSCRIBE, data=chose).status_code == 200
    assert _stored_locale(site.url, "chose@example.org") == "zh-CN"
    # A browser that asks for Chinese gets the form in Chinese.
    chinese = site.new_client().get(SUBSCRIBE, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in chinese.text
