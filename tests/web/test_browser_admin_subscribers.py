"""The subscribers area in a real browser (Debian's chromium via Playwright) against a real uvicorn server.

An admin signs in through the login page, imports a CSV holding good rows and
bad ones, reads the report naming the bad lines, finds an imported subscriber
by searching, edits their picks, and the database shows it. On a phone without
JavaScript the list still filters and scrolls. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import pytest
from browserutil import live_site, shot
from personas import ALL, ZHOU_ADMIN, subscribe_confirmed
from sqlalchemy import select
from webutil import add_staff

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription

PEOPLE_CSV = (
    "email,name,regions,topics,status\n"
    'tian.ye@example.cn,田野,"湖南, 怀化",产业发展,\n'
    "broken-address,无效邮箱,全国,,\n"
    'he.liu@example.cn,何柳,甘肃临泽,"公共服务, 基层治理",pending\n'
    "xing.kong@example.cn,星空,火星,,\n"
    "shan.lin@example.cn,山林,西藏,天文观测,\n"
    "nong.jia@example.cn,农家,全国,,\n"
).encode()


@pytest.fixture
def server(sqlite_url, tmp_path, smtp_server):
    with live_site(sqlite_url, tmp_path, smtp_server) as site:
        add_staff(sqlite_url, ZHOU_ADMIN)
        yield site


def _sign_in(page, base: str, next_path: str) -> None:
    page.goto(f"{base}{next_path}")  # the console sends a stranger to the login page, then back
    page.wait_for_url("**/admin/login?next=**")
    page.fill("#email", ZHOU_ADMIN.email)
    page.fill("#password", ZHOU_ADMIN.password)
    page.click("button.primary")


def _subscription(url: str, email: str):
    with transaction(url) as session:
        row = session.execute(
            select(models.Subscriber, models.Subscription)
            .join(models.Subscription)
            .where(models.Subscriber.email == email)
        ).first()
        return (
            None if row is None else (row[0].name, row[1].status, list(row[1].region_codes), list(row[1].topic_slugs))
        )


def test_an_admin_imports_finds_and_edits_a_subscriber(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    # The refused edit below answers 400 on purpose; anything else logged as an error is a fault.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 400" not in m.text else None)
    broken: list[str] = []
    page.on("response", lambda r: broken.append(r.url) if "/static/" in r.url and r.status >= 400 else None)

    _sign_in(page, server.base, "/admin/subscribers/import")
    page.wait_for_selector("h1:has-text('导入订阅者')")
    assert page.locator("#i-confirmed").is_checked()  # confirmed by default, as `digest subscribers import`
    page.set_input_files("#i-file", files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE_CSV}])
    page.click("button:has-text('上传并导入')")
    report = page.locator("#import-report")
    report.wait_for()
    assert page.locator("#count-added").inner_text() == "3" and page.locator("#count-rejected").inner_text() == "3"
    bad = {row.get_attribute("data-line"): row.inner_text() for row in page.locator("tr.subs-problem.error").all()}
    assert set(bad) == {"3", "5", "6"}
    assert "email" in bad["3"] and "火星" in bad["5"] and "天文观测" in bad["6"]
    shot(page, "admin-subscribers-import-report")

    assert _subscription(server.url, "tian.ye@example.cn") == ("田野", "confirmed", ["430000", "431200"], ["industry"])
    assert _subscription(server.url, "he.liu@example.cn")[1] == "pending"
    assert (
        _subscription(server.url, "xing.kong@example.cn") is None
        and _subscription(server.url, "shan.lin@example.cn") is None
    )

    page.click("nav.subs-tabs >> text=订阅者列表")
    page.fill("#f-q", "田野")
    page.click("button:has-text('筛选')")
    page.wait_for_url("**q=%E7%94%B0%E9%87%8E**")
    rows = page.locator("table.subs-table tbody tr")
    assert rows.count() == 1 and "tian.ye@example.cn" in rows.first.inner_text()
    page.fill("#f-q", "")
    page.fill("#f-region", "怀化")
    page.click("button:has-text('筛选')")
    page.wait_for_url("**region=**")
    listed = page.locator("td.subs-email a").all_inner_texts()
    assert set(listed) == {"tian.ye@example.cn"}  # 甘肃 and 全国 readers are not 怀化's
    page.fill("#f-region", "")
    page.click("button:has-text('筛选')")
    page.wait_for_selector("text=共 3 位订阅者符合条件")
    shot(page, "admin-subscribers-list")

    page.click("a:has-text('tian.ye@example.cn')")
    page.wait_for_selector("h1:has-text('编辑订阅者')")
    assert page.input_value("#s-regions") == "湖南, 湖南怀化"
    page.fill("#s-regions", "湖南, 火星")
    page.click("button:has-text('保存')")
    page.wait_for_selector("#error-regions")
    assert "火星" in page.locator("#error-regions").inner_text()
    assert _subscription(server.url, "tian.ye@example.cn")[2] == ["430000", "431200"]  # nothing saved
    page.fill("#s-regions", "甘肃临泽, 全国")
    page.locator('input[name="topic"][value="industry"]').uncheck()
    page.locator('input[name="topic"][value="public-services"]').check()
    page.locator('input[name="topic"][value="macro"]').check()
    page.fill("#s-name", "田野（临泽）")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=已保存。")
    assert page.input_value("#s-regions") == "甘肃临泽, 全国"
    shot(page, "admin-subscribers-edit")
    assert _subscription(server.url, "tian.ye@example.cn") == (
        "田野（临泽）",
        "confirmed",
        ["620723", "000000"],
        ["macro", "public-services"],
    )
    assert errors == [] and broken == []
    context.close()


def test_the_list_works_on_a_phone_without_javascript(browser, server):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US"
    )
    page = context.new_page()
    _sign_in(page, server.base, "/admin/subscribers")
    page.wait_for_selector("h1:has-text('Subscribers')")
    page.fill("#f-region", "火星")
    page.click("button:has-text('Filter')")  # a plain GET without JS
    assert page.locator("#error-region").inner_text() == "unknown region '火星'"
    page.fill("#f-region", "全国")
    page.select_option("#f-status", "confirmed")
    page.click("button:has-text('Filter')")
    page.wait_for_selector("text=Matching subscribers: 0")
    shot(page, "admin-subscribers-phone")
    page.goto(f"{server.base}/admin/suppressions")
    page.fill("#p-email", "bounced@example.org")
    page.fill("#p-reason", "hard bounce 550 5.1.1")
    page.click("button:has-text('Suppress')")
    page.wait_for_selector("text=Added to the suppression list.")
    assert page.locator("td.subs-email").all_inner_texts() == ["bounced@example.org"]
    shot(page, "admin-suppressions-phone")
    with transaction(server.url) as session:
        assert session.scalars(select(models.Suppression.reason)).all() == ["hard bounce 550 5.1.1"]
    context.close()


LONG_ADDRESS = "yang.shu.lin.cooperative.secretary@villages.example.cn"


def test_at_390px_the_list_does_not_scroll_sideways_and_each_address_and_status_is_readable(browser, server):
    with transaction(server.url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, load_regions(), ALL)
        upsert_subscription(
            session, ml, load_regions(), email=LONG_ADDRESS, name="杨树林", region_labels=["甘肃临泽", "湖南怀化"]
        )
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server.base, "/admin/subscribers")
    page.wait_for_selector("h1:has-text('订阅者')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    table = page.locator("table.subs-table")
    # Nor does the table scroll inside its box: every row is read where it stands.
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    rows = page.locator("table.subs-table tbody tr")
    assert rows.count() == len(ALL) + 1
    for i in range(rows.count()):
        row = rows.nth(i)
        for cell, most_lines in ((row.locator("td.subs-email a"), 2), (row.locator("td .badge").first, 1)):
            box = cell.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (i, box)
            # An address is broken over two lines at most, a status not at all (a squeezed column wraps
            # an address every few letters and a status a character a line).
            assert cell.evaluate("e => e.getClientRects().length") <= most_lines, cell.inner_text()
        assert row.locator("a:has-text('编辑')").bounding_box()["x"] + 20 <= 390
    emails = page.locator("table.subs-table td.subs-email a").all_inner_texts()
    assert LONG_ADDRESS in emails and ALL[0].email in emails
    statuses = page.locator("table.subs-table tbody td .badge").all_inner_texts()
    assert statuses.count("已订阅") == len(ALL) and statuses.count("待确认") == 1
    shot(page, "admin-subscribers-390")
    page.click(f"a:has-text('{LONG_ADDRESS}')")  # their page, its history and the add form fit too
    page.wait_for_selector("#history")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "admin-subscriber-390")
    page.goto(f"{server.base}/admin/subscribers/new")
    page.wait_for_selector("#n-email")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_an_admin_adds_one_subscriber_with_the_region_picker_and_they_are_mailed(browser, server, smtp_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, server.base, "/admin/subscribers/new?lang=en")
    page.wait_for_selector("h1:has-text('Add a subscriber')")
    page.fill("#n-email", "qiao.mu@example.cn")
    page.fill("#n-name", "乔木")
    page.fill("#region-q", "怀化")  # the live search of the public form's picker
    page.locator("#region-hits input[value='431200']").check()
    page.locator("input[name='region'][value='000000']").first.uncheck()
    page.locator("input[name='topic'][value='industry']").check()
    page.select_option("#locale", "en")
    shot(page, "admin-subscribers-add")
    page.click("button:has-text('Add')")
    page.wait_for_selector("text=the confirmation mail was sent")
    assert _subscription(server.url, "qiao.mu@example.cn") == ("乔木", "pending", ["431200"], ["industry"])
    assert [m.rcpt_tos for m in smtp_server.messages] == [["qiao.mu@example.cn"]]
    assert errors == []  # no script error, no request refused (CSP, the region search)
    page.goto(f"{server.base}/admin/subscribers/new?lang=en")
    page.fill("#n-email", "qiao.mu@example.cn")
    page.click("button:has-text('Add')")
    page.click("#existing-subscriber")  # the address is on the list: its page is one click away
    page.wait_for_selector("h1:has-text('qiao.mu@example.cn')")
    context.close()
