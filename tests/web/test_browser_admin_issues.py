"""An editor's walk through the dashboard and an issue in a real browser (Debian's chromium) against real uvicorn.

sign in → the dashboard's three charts with the right numbers → the issue → a
subscriber's preview with the reason for every article (the digest in a sandboxed
frame) → a test send that the loopback SMTP server receives. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import time

import pytest
from browserutil import ARTIFACTS, live_site, shot
from personas import ALL, LI_HUNAN, SUN_EDITOR, ZHAO_NOTHING, subscribe_confirmed
from webutil import PERIOD_END, add_staff, parse_mail

from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.regions import load_regions
from digest.services.delivery.batches import send_pending
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

TEST_TO = "layout.check@example.net"


@pytest.fixture
def server(sqlite_url, tmp_path, smtp_server):
    """The demo week, every persona confirmed, issue 1 sent through the SMTP server, an editor account."""
    with live_site(sqlite_url, tmp_path, smtp_server) as site:
        regions = load_regions()
        with transaction(sqlite_url) as session:
            ml = ensure_default_list(session)
            subscribe_confirmed(session, ml, regions)
            issue = plan_issue(session, ml, PERIOD_END)
            start_issue(session, issue)
            issue_id = issue.id
        with open_transport(site.settings.smtp_url, site.settings.outbox) as transport:
            send_pending(Runtime(site.settings), issue_id, transport)
        add_staff(sqlite_url, SUN_EDITOR)
        yield site


def test_an_editor_reads_the_dashboard_previews_a_subscriber_and_sends_a_test(browser, server, smtp_server):
    sent_before = len(smtp_server.messages)
    assert sent_before == len(ALL) - 1  # 赵磊's picks match nothing this week
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{server.base}/admin/")
    page.fill("#email", SUN_EDITOR.email)
    page.fill("#password", SUN_EDITOR.password)
    page.click("button.primary")
    page.wait_for_selector("#chart-growth")

    assert page.locator("svg.ops-svg").count() == 3
    assert page.locator("#stat-confirmed .stat").inner_text() == "6"
    assert page.locator("#stat-issues .stat").inner_text() == "1"
    assert page.locator("#stat-rate .stat").inner_text() == "100.0%"
    assert page.locator("#chart-growth circle.dot").count() == 26
    assert page.locator("#chart-growth circle.dot").last.get_attribute("data-value") == "6"
    assert page.locator("#chart-deliveries rect.seg-sent").get_attribute("data-value") == "5"
    assert page.locator("#chart-deliveries rect.seg-skipped").get_attribute("data-value") == "1"
    assert page.locator("#chart-provinces g.hrow").count() == 5
    assert page.locator("#chart-provinces g.hrow.province").first.get_attribute("data-value") == "2"  # 陕西
    box = page.locator("#chart-deliveries rect.seg-sent").bounding_box()
    assert box and box["height"] > 50  # drawn, and styled by the stylesheet rather than invisible
    shot(page, "admin-dashboard")

    page.click("nav.admin-nav >> text=期刊")
    page.click("text=第1期")
    page.wait_for_selector("text=投递记录")
    assert page.locator("table.ops-log tbody tr").count() == len(ALL)
    assert page.locator(f"table.ops-log tr:has-text('{ZHAO_NOTHING.email}') .badge").inner_text() == "已跳过"
    shot(page, "admin-issue")

    page.click("text=预览与测试发送")
    page.fill("#p-email", LI_HUNAN.email)
    page.click("form.ops-pick button")
    page.wait_for_selector("table.ops-why")
    assert page.locator("table.ops-why tr.is-in").count() == 3
    assert page.locator("table.ops-why tr.is-out").count() == 13
    # The issue went out to them: the preview is the copy they received, and says so.
    assert page.locator("p.ops-sent-copy").inner_text() == "本期已发给该订阅者：下面是其收到的那一份。"
    huaihua = page.locator("table.ops-why tr:has-text('沅陵县创办全国首家乡村振兴金融服务组织') td.reason")
    assert huaihua.inner_text() == "在其收到的那一份中"
    national = page.locator("table.ops-why tr:has-text('部署全面推进乡村振兴工作') td.reason")
    assert national.inner_text() == "不在其收到的那一份中"
    frame = page.frame_locator("iframe.ops-frame")
    frame.locator("text=金银花产业带动山区农户增收").first.wait_for()
    page.locator("iframe.ops-frame").scroll_into_view_if_needed()
    page.locator("iframe.ops-frame").screenshot(path=str(ARTIFACTS / "admin-issue-preview-digest.png"))
    shot(page, "admin-issue-preview")

    page.fill("#t-to", TEST_TO)
    page.click("section.ops-test button")
    page.wait_for_selector(f"text=测试邮件（3 篇文章）已发送至 {TEST_TO}")
    deadline = time.monotonic() + 10
    while len(smtp_server.messages) <= sent_before:
        assert time.monotonic() < deadline, "the test message never arrived"
        time.sleep(0.05)
    received = smtp_server.messages[sent_before]
    assert received.rcpt_tos == [TEST_TO]
    head = received.data.split(b"\r\n\r\n", 1)[0]
    assert f"To: =?utf-8?b?5p2O5Lyf?= <{TEST_TO}>".encode() in head or f"<{TEST_TO}>".encode() in head
    msg, text, html = parse_mail(received.data)
    assert msg["Subject"] == "[测试] 沅陵县创办全国首家乡村振兴金融服务组织 等3篇 · 第1期"
    assert msg["To"] == f"李伟 <{TEST_TO}>" and msg["X-Digest-Test"] == "yes"
    for title in (
        "沅陵县创办全国首家乡村振兴金融服务组织",
        "金银花产业带动山区农户增收",
        "指导农村改厕工作 打造群众满意工程",
    ):
        assert title in text and title in html
    assert "部署全面推进乡村振兴工作" not in text
    shot(page, "admin-issue-test-sent")
    assert errors == []
    context.close()


def test_the_issue_pages_work_on_a_phone_without_javascript(browser, server):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US"
    )
    page = context.new_page()
    page.goto(f"{server.base}/admin/login")
    page.fill("#email", SUN_EDITOR.email)
    page.fill("#password", SUN_EDITOR.password)
    page.click("button.primary")
    page.wait_for_selector("#chart-provinces")
    shot(page, "admin-dashboard-phone")
    page.goto(f"{server.base}/admin/issues")
    page.click("text=Issue 1")
    page.wait_for_selector("text=Delivery log")
    page.select_option("#f-status", "skipped")
    page.click("form.toolbar button >> text=Filter")
    page.wait_for_selector(f"text={ZHAO_NOTHING.email}")
    assert page.locator("table.ops-log tbody tr").count() == 1
    # The page fits the phone: only the tables scroll sideways, inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(page, "admin-issue-phone")
    context.close()
