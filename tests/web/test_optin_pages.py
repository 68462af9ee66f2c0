"""Confirming a subscription (a page, then a button), the page that welcomes a new subscriber, and error
pages that name their list and lead back to it. Over HTTP, on SQLite and PostgreSQL, mail through a real
SMTP server."""

from __future__ import annotations

import re

from sqlalchemy import select
from test_pages import SUBSCRIBE, _add, _expired_confirm_token, _subscribe, _subscription
from webutil import LIST, confirm, csrf_from, link_in, parse_mail

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.tokens import sign_token


def _confirm_link(site, address: str, **form) -> str:
    assert _subscribe(site.new_client(), address, **form).status_code == 200
    _, text, _ = parse_mail(site.smtp.messages[-1].data)
    return link_in(text, "/confirm/")


def _back_links(html: str) -> list[str]:
    return re.findall(r'<a class="button" href="([^"]+)"', html)


def test_the_welcome_speaks_english_in_their_zone_and_says_all_when_nothing_is_picked(site):
    link = _confirm_link(site, "reader@example.org", region=[], locale="en", time_zone="Europe/Berlin")
    asked = site.new_client().get(link)
    assert 'lang="en"' in asked.text and "Confirm subscription" in asked.text
    page = confirm(site.client, link)
    assert "Subscription confirmed" in page.text
    assert "Regions: all regions" in page.text and "Topics: all topics" in page.text
    # The slot (Monday 08:00) in their own zone; this Monday's issue was planned before they joined.
    assert "Your first issue arrives on Monday 30 November 2026, 08:00 (Europe/Berlin time)." in page.text


def test_a_list_sent_by_hand_promises_no_day(site):
    with transaction(site.url) as session:
        session.scalar(select(models.MailingList)).schedule_enabled = False
    page = confirm(site.client, _confirm_link(site, "reader@example.org", topic=["industry", "macro"]))
    assert "本刊由编辑手动发送" in page.text and "第一期将于" not in page.text
    assert "栏目：宏观形势、产业发展" in page.text  # in the list's order, by name


def test_a_link_mailed_before_they_left_shows_no_button(site):
    link = _confirm_link(site, "reader@example.org")
    confirm(site.client, link)
    with transaction(site.url) as session:
        sub = session.scalar(select(models.Subscription))
        sub.status, sub.unsubscribed_at = "unsubscribed", sub.confirmed_at.replace(year=2099)
    page = site.new_client().get(link)
    assert page.status_code == 400 and "<button" not in page.text
    assert _subscription(site.url, "reader@example.org").status == "unsubscribed"


def test_an_expired_confirm_link_names_the_list_and_offers_to_subscribe_again(site):
    pending = _add(site.url, "waiting@example.org", status="pending")
    page = site.client.get("/confirm/" + _expired_confirm_token(site.settings.secret_key, pending))
    assert page.status_code == 400
    assert "这个确认链接已过期" in page.text and "<title>出错了 · 乡村振兴周报</title>" in page.text
    assert '<span class="brand">乡村振兴周报</span>' in page.text
    assert _back_links(page.text) == [f"{SUBSCRIBE}?lang=zh-CN"] and "重新订阅" in page.text
    english = site.client.get(
        "/confirm/" + _expired_confirm_token(site.settings.secret_key, pending), headers={"Accept-Language": "en"}
    )
    assert "This confirmation link has expired" in english.text and "Subscribe again" in english.text
    assert _subscription(site.url, "waiting@example.org").status == "pending"


def test_a_bad_pause_value_leads_back_to_the_preferences(site):
    subscriber_id = _add(site.url, "reader@example.org")
    path = "/p/" + sign_token(site.settings.secret_key, "preferences", subscriber_id, LIST)
    token = csrf_from(site.client.get(path).text)
    for weeks in ("0", "53", "two"):
        page = site.client.post(path, data={"action": "pause", "weeks": weeks, "csrf_token": token})
        assert page.status_code == 400, weeks
        assert "暂停周数须是1到52之间的整数" in page.text and '<span class="brand">乡村振兴周报</span>' in page.text
        assert _back_links(page.text) == [f"{path}?lang=zh-CN"] and "返回订阅偏好" in page.text
    assert _subscription(site.url, "reader@example.org").paused_until is None


def test_an_unknown_list_offers_the_lists_there_are(site):
    for path in ("/lists/no-such-list/subscribe", "/lists/no-such-list/archive"):
        page = site.client.get(path)
        assert page.status_code == 404
        assert "找不到这份刊物" in page.text and '<span class="brand">digest</span>' in page.text
        assert f'<a href="{SUBSCRIBE}?lang=zh-CN">乡村振兴周报</a>' in page.text


def test_a_bad_link_of_a_known_list_leads_to_its_form_and_a_forged_one_names_nothing(site):
    gone = "/u/" + sign_token(site.settings.secret_key, "unsubscribe", 999_999, LIST)
    page = site.client.get(gone)
    assert page.status_code == 400 and "此链接无效或已过期" in page.text
    assert '<span class="brand">乡村振兴周报</span>' in page.text
    assert _back_links(page.text) == [f"{SUBSCRIBE}?lang=zh-CN"]
    forged = site.client.get("/u/" + sign_token("another-secret-0123456789", "unsubscribe", 1, LIST))
    assert forged.status_code == 400 and "乡村振兴周报" not in forged.text and _back_links(forged.text) == []


def test_a_stale_form_on_the_confirm_page_leads_back_to_it(site):
    link = _confirm_link(site, "reader@example.org")
    page = site.new_client().post(link, data={"csrf_token": "stale"})
    assert page.status_code == 403 and _back_links(page.text) == [f"{link}?lang=zh-CN"]
    assert _subscription(site.url, "reader@example.org").status == "pending"
