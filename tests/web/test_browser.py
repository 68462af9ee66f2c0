"""The subscriber's walk in a real browser (Debian's chromium via Playwright) against a real uvicorn server.

subscribe → the confirmation mail reaches the SMTP test server → its link →
change picks on the preferences page → the preview reflects them → the issue
goes out → one-click unsubscribe. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import time

import pytest
from browserutil import live_site, shot
from sqlalchemy import select
from webutil import LIST, PERIOD_END, parse_mail

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.regions import load_regions
from digest.services.delivery.batches import send_pending
from digest.services.delivery.preview import preview_week
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime


@pytest.fixture
def server(sqlite_url, tmp_path, smtp_server):
    with live_site(sqlite_url, tmp_path, smtp_server) as site:
        yield site


def _link(text: str, base: str, prefix: str) -> str:
    start = text.index(base + prefix)
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in ">\"'":
        end += 1
    return text[start:end]


def _wait_for_mail(smtp, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(smtp.messages) < count:
        assert time.monotonic() < deadline, "no mail arrived"
        time.sleep(0.05)


def test_a_reader_subscribes_confirms_changes_picks_and_leaves(browser, server, smtp_server):
    chromium = browser
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{server.base}/lists/{LIST}/subscribe")
    assert page.locator("label.national input").is_checked()  # 全国 by default
    page.fill("#email", "reader@example.org")
    page.fill("#name", "读者")
    page.fill("#region-q", "临泽")
    page.locator('#region-hits input[value="620723"]').check()  # found by the search box (JS)
    shot(page, "subscribe")
    page.click("button.primary")
    page.wait_for_selector("text=请查收确认邮件")
    shot(page, "check-inbox")

    _wait_for_mail(smtp_server, 1)
    _, text, _ = parse_mail(smtp_server.messages[0].data)
    page.goto(_link(text, server.base, "/confirm/"))
    page.wait_for_selector("text=确认订阅乡村振兴周报")  # opening the link confirms nothing: the button does
    page.click("button.primary")
    page.wait_for_selector("text=订阅已确认")
    shot(page, "confirmed")

    page.click("a.button")  # to the preferences page
    page.wait_for_selector("text=订阅偏好")
    page.locator("label.national input").uncheck()
    page.fill("#region-q", "怀化")
    page.locator('#region-hits input[value="431200"]').check()
    page.locator('input[name="topic"][value="industry"]').check()
    page.click('button[value="save"]')
    page.wait_for_selector("text=已保存您的选择")
    shot(page, "preferences")

    with transaction(server.url) as session:
        sub = session.scalar(select(models.Subscription))
        assert sub.status == "confirmed"
        assert set(sub.region_codes) == {"620723", "431200"} and sub.topic_slugs == ["industry"]
        digest, rendered = preview_week(
            Runtime(server.settings), session, ensure_default_list(session), "reader@example.org", PERIOD_END
        )
    regions = load_regions()
    articles = [a for s in digest.sections for a in s.articles]
    assert articles and all(a.topic == "industry" for a in articles)
    assert all(any(regions.overlaps(c, p) for c in a.region_codes for p in ("620723", "431200")) for a in articles)
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in rendered.text

    # The issue goes out; its List-Unsubscribe link is what a mail provider POSTs to.
    with transaction(server.url) as session:
        issue = plan_issue(session, ensure_default_list(session), PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    with open_transport(server.settings.smtp_url, server.settings.outbox) as transport:
        send_pending(Runtime(server.settings), issue_id, transport)
    _wait_for_mail(smtp_server, 2)
    msg, text, _ = parse_mail(smtp_server.messages[1].data)
    page.goto(_link(text, server.base, f"/issues/{issue_id}/view/"))
    page.locator(".article-title", has_text="沅陵县创办全国首家乡村振兴金融服务组织").wait_for()
    shot(page, "view-in-browser")

    unsubscribe = msg["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    provider = chromium.new_context()  # no cookies, no page: what a mail provider sends
    response = provider.request.post(unsubscribe, form={"List-Unsubscribe": "One-Click"}, max_redirects=0)
    assert response.status == 200
    provider.close()
    with transaction(server.url) as session:
        assert session.scalar(select(models.Subscription.status)) == "unsubscribed"
    page.goto(unsubscribe)
    page.wait_for_selector("text=今后不会再收到本刊")
    shot(page, "unsubscribed")

    page.goto(f"{server.base}/lists/{LIST}/archive")
    page.click("text=第1期")
    page.locator(".article-title", has_text="部署全面推进乡村振兴工作").wait_for()  # the full issue, national news too
    shot(page, "archive-issue")
    assert errors == []
    context.close()


def test_the_form_works_without_javascript_and_on_a_phone(browser, server, smtp_server):
    chromium = browser
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US"
    )
    page = context.new_page()
    page.goto(f"{server.base}/lists/{LIST}/subscribe")
    assert page.locator("h1").inner_text() == "Subscribe to 乡村振兴周报"  # Accept-Language: en
    page.fill("#region-q", "临泽")
    page.click('button[form="region-search"]')  # a plain GET without JS
    page.locator('#region-hits input[value="620723"]').check()
    page.locator("details.browse > summary").click()
    assert page.locator('.tree input[value="430000"]').is_visible()
    page.fill("#email", "phone@example.org")
    shot(page, "subscribe-phone")
    page.click("button.primary")
    page.wait_for_selector("text=Check your inbox")
    shot(page, "check-inbox-phone")
    _wait_for_mail(smtp_server, 1)
    with transaction(server.url) as session:
        sub = session.scalar(select(models.Subscription))
        assert sub.status == "pending" and set(sub.region_codes) == {"000000", "620723"}
        assert sub.subscriber.locale == "en"
    _, text, _ = parse_mail(smtp_server.messages[0].data)
    assert "Please open this link to confirm" in text
    context.close()
