"""Articles and lists in a real browser (Debian's chromium via Playwright) against a real uvicorn server.

An editor uploads a week in the newsletter format, reads the report, re-tags one
article and hides another; an admin moves the list's schedule and rewrites its
footer. The database is checked after each. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browserutil import live_site, shot
from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from webutil import add_staff

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.lists import ensure_default_list

UPLOAD = Path(__file__).resolve().parents[1] / "fixtures" / "admin-upload-week.txt"


@pytest.fixture
def server(sqlite_url, tmp_path, smtp_server):
    with live_site(sqlite_url, tmp_path, smtp_server) as site:
        add_staff(sqlite_url, SUN_EDITOR)
        add_staff(sqlite_url, ZHOU_ADMIN)
        yield site


def _sign_in(chromium, server, staff, **options):
    context = chromium.new_context(locale="zh-CN", **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.base}/admin/login")
    page.fill("#email", staff.email)
    page.fill("#password", staff.password)
    page.click("button.primary")
    page.wait_for_url(f"{server.base}/admin/")
    return context, page, errors


def _article(url, title):
    with transaction(url) as session:
        row = session.scalar(select(models.Article).where(models.Article.title == title))
        return row and (row.region_label, sorted(r.region_code for r in row.regions), row.hidden)


def test_an_editor_uploads_a_week_retags_one_article_and_hides_another(browser, server):
    context, page, errors = _sign_in(browser, server, SUN_EDITOR, viewport={"width": 1200, "height": 900})
    page.click("nav.admin-nav >> text=文章")
    page.click("text=上传文章文件")
    page.set_input_files("#u-file", str(UPLOAD))
    page.fill("#u-published", "2026-11-19")
    page.click("button.primary")
    page.locator("#upload-report").wait_for()
    assert page.locator("#count-added").inner_text() == "4"
    assert page.locator("#count-rejected").inner_text() == "1"
    problem = page.locator("tr.problem.error").first.inner_text()
    assert "admin-upload-week.txt" in problem and "21" in problem and "regions" in problem
    shot(page, "admin-articles-upload-report")

    page.click("#upload-report >> text=返回文章列表")
    page.fill("#f-week", "2026-11-22")
    page.click("form.filters button")
    page.locator("table.articles").wait_for()
    assert "共 20 篇" in page.inner_text("main")
    shot(page, "admin-articles")

    page.click("text=红枣合作社试水直播带货")
    page.fill("#a-regions", "甘肃张掖")
    page.click('button[value="save"]')
    page.wait_for_selector("text=已保存。")
    assert page.inner_text("#region-names") == "甘肃省张掖市"
    shot(page, "admin-article-edit")
    assert _article(server.url, "红枣合作社试水直播带货") == ("甘肃张掖", ["620700"], False)

    page.goto(f"{server.base}/admin/articles?q=垃圾分类")
    page.click("text=村庄垃圾分类积分可兑换日用品")
    page.click("text=隐藏此文章")
    page.wait_for_selector("text=文章已隐藏。")
    assert _article(server.url, "村庄垃圾分类积分可兑换日用品")[2] is True
    page.goto(f"{server.base}/admin/articles?hidden=hidden")
    assert page.locator("table.articles tbody tr").count() == 1
    assert errors == []
    context.close()


def test_an_admin_moves_the_schedule_and_rewrites_the_branding(browser, server):
    context, page, errors = _sign_in(browser, server, ZHOU_ADMIN, viewport={"width": 1200, "height": 900})
    page.click("nav.admin-nav >> text=邮件列表")
    page.click("table.lists >> text=设置")
    page.select_option("#l-weekday", "friday")
    page.fill("#l-time", "18:30")
    page.select_option("#l-time_zone", "Europe/Berlin")
    page.fill("#l-rate_limit", "15")
    page.fill("#l-masthead", "乡村振兴周报 · 周末版")
    page.fill("#l-tagline", "一周乡村新事，按地区送达")
    for i, (label, value) in enumerate((("制作", "周报编辑部"), ("责任编辑", "林晓"), ("审核", "周明")), 1):
        page.fill(f'input[aria-label="名目 {i}"]', label)
        page.fill(f'input[aria-label="内容 {i}"]', value)
    page.fill("#l-contact_email", "desk@example.org")
    page.fill('input[aria-label="栏目名称 industry"]', "产业振兴")
    shot(page, "admin-list-settings")
    page.click("button.primary")
    page.wait_for_selector("text=设置已保存。")
    with transaction(server.url) as session:
        ml = ensure_default_list(session)
        assert (ml.send_weekday, ml.send_time, ml.time_zone, ml.rate_limit) == (4, "18:30", "Europe/Berlin", 15.0)
        assert ml.masthead == "乡村振兴周报 · 周末版" and ml.contact_email == "desk@example.org"
        assert ml.credits == [["制作", "周报编辑部"], ["责任编辑", "林晓"], ["审核", "周明"]]
        assert [t.name for t in ml.topics][2] == "产业振兴"
    assert errors == []
    context.close()


def test_the_settings_page_works_on_a_phone_without_javascript(browser, server):
    context, page, _ = _sign_in(
        browser, server, ZHOU_ADMIN, java_script_enabled=False, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page.goto(f"{server.base}/admin/lists/rural-weekly")
    page.fill("#l-postal_address", "示例路 2 号")
    page.click("button.primary")
    page.wait_for_selector("text=设置已保存。")
    with transaction(server.url) as session:
        assert ensure_default_list(session).postal_address == "示例路 2 号"
    page.goto(f"{server.base}/admin/articles")
    shot(page, "admin-articles-phone")
    context.close()
