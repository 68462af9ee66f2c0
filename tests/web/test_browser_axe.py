"""axe-core in a real browser (Debian's chromium via Playwright) on every subscriber page, every mail and the
console's main pages: no violation of impact serious or critical, and at 375 px no subscriber page scrolls
sideways.

axe-core's JavaScript comes with the axe-playwright-python package (no network): it is evaluated in each page
as a reader's browser shows it. A failure lists, per page, the rule, the element and what is wrong.
"""

from __future__ import annotations

import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from browserutil import live_site, shot
from personas import LI_HUNAN, ZHAO_NOTHING, ZHOU_ADMIN, subscribe_confirmed
from sample_digest import confirmation_html, sample_message
from samples import WEEKLY_ISSUE
from sqlalchemy import select
from test_admin_review import waiting_article
from test_browser_admin_content import UPLOAD
from test_browser_admin_subscribers import PEOPLE_CSV
from test_browser_mail_width import PHONE, _without_style
from test_pages import _send_issue
from test_sender_page import sender_rows
from webutil import LIST, add_staff, parse_mail

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.links import NO_SUBSCRIBER
from digest.core.regions import load_regions
from digest.core.tokens import sign_token
from digest.services.lists import ensure_default_list

DESKTOP = {"width": 1280, "height": 900}
SERIOUS = ("serious", "critical")
AXE = Axe()


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as shown: 'rule-id target: what is wrong'."""
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} {' '.join(map(str, node['target']))}: {v['help']}"
        for v in found
        if v["impact"] in SERIOUS
        for node in v["nodes"]
    ]


def test_the_check_finds_what_axe_calls_serious(browser):
    """The audit is not blind: a field without a label and grey on grey text are reported by rule and element."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_content(
        '<!DOCTYPE html><html lang="en"><title>t</title><main><h1>t</h1>'
        '<input id="nameless"><p id="faint" style="color:#bbb;background:#fff">faint words</p></main></html>'
    )
    found = serious_violations(page)
    context.close()
    assert any(line.startswith("label #nameless:") for line in found), found
    assert any(line.startswith("color-contrast #faint:") for line in found), found


class Audit:
    """What axe-core and the width check found, page by page, for one assertion at the end."""

    def __init__(self, page, width_checked: bool, label: str = ""):
        self.page = page
        self.label = label
        self.width_checked = width_checked
        self.problems: dict[str, list[str]] = {}

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        problems = serious_violations(self.page)
        if self.width_checked:
            width = self.page.evaluate("document.documentElement.scrollWidth")
            limit = self.page.viewport_size["width"]
            if width > limit:
                problems.append(f"scrolls sideways: {width} px wide in a {limit} px window")
        shot(self.page, f"axe-{self.label}{name}")
        if problems:
            self.problems[name] = problems

    def report(self) -> str:
        return "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in self.problems.items())


def _wait_for_mail(smtp, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(smtp.messages) < count:
        assert time.monotonic() < deadline, "no mail arrived"
        time.sleep(0.05)


def _confirm_link(smtp, base: str) -> str:
    _, text, _ = parse_mail(smtp.messages[-1].data)
    start = text.index(base + "/confirm/")
    return text[start:].split()[0]


def _subscriber_id(url: str, email: str) -> int:
    with transaction(url) as session:
        return session.scalar(select(models.Subscriber.id).where(models.Subscriber.email == email))


@pytest.fixture
def server(sqlite_url, tmp_path, smtp_server):
    with live_site(sqlite_url, tmp_path, smtp_server) as site:
        yield site


@pytest.fixture
def console(sqlite_url, tmp_path, smtp_server):
    """Every persona confirmed, issue 1 sent, an admin account."""
    with live_site(sqlite_url, tmp_path, smtp_server) as site:
        with transaction(sqlite_url) as session:
            subscribe_confirmed(session, ensure_default_list(session), load_regions())
        issue_id = _send_issue(site)
        add_staff(sqlite_url, ZHOU_ADMIN)
        yield site, issue_id


def _subscribe_and_confirm(audit: Audit, server, smtp_server) -> None:
    page = audit.page
    page.goto(f"{server.base}/lists/{LIST}/subscribe?q=临泽")  # the search's answer as a browser without JS gets it
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")  # every region in the tree
    audit.check("subscribe-search-and-tree")
    page.goto(f"{server.base}/lists/{LIST}/subscribe?lang=en")
    page.evaluate("document.getElementById('main-form').noValidate = true")  # the server's own answer to it
    page.fill("#email", "not-an-address")
    page.click("button.primary")
    page.wait_for_selector("p.error")
    audit.check("subscribe-refused-en")
    page.goto(f"{server.base}/lists/{LIST}/subscribe?lang=zh-CN")
    audit.check("subscribe")
    page.fill("#email", "reader@example.org")
    page.click("button.primary")
    page.wait_for_selector("text=请查收确认邮件")
    audit.check("check-inbox")
    _wait_for_mail(smtp_server, 1)
    page.goto(_confirm_link(smtp_server, server.base))
    audit.check("confirm")
    page.click("button.primary")
    page.wait_for_selector("text=订阅已确认")
    audit.check("confirmed")
    page.click("a.button")
    page.wait_for_selector("text=订阅偏好")
    audit.check("preferences")
    page.click('button[value="save"]')
    page.wait_for_selector("text=已保存您的选择")
    audit.check("preferences-saved")
    page.click('button[value="pause"]')
    page.locator("p.ok").wait_for()
    audit.check("preferences-paused")


def _leave_and_read_the_archive(audit: Audit, server) -> None:
    page, base, secret = audit.page, server.base, server.settings.secret_key
    with transaction(server.url) as session:
        subscribe_confirmed(session, ensure_default_list(session), load_regions(), people=(ZHAO_NOTHING,))
    issue_id = _send_issue(server)
    reader = _subscriber_id(server.url, "reader@example.org")
    page.goto(f"{base}/issues/{issue_id}/view/{sign_token(secret, 'view', reader, LIST)}")
    audit.check("view-in-browser")
    nothing = _subscriber_id(server.url, ZHAO_NOTHING.email)
    page.goto(f"{base}/issues/{issue_id}/view/{sign_token(secret, 'view', nothing, LIST)}")
    audit.check("view-nothing-matched")
    page.goto(f"{base}/u/{sign_token(secret, 'unsubscribe', reader, LIST)}")
    audit.check("unsubscribe")
    page.click("button.danger")
    page.wait_for_selector("text=今后不会再收到本刊")
    audit.check("left")
    page.goto(f"{base}/p/{sign_token(secret, 'preferences', reader, LIST)}")
    audit.check("preferences-after-leaving")
    page.goto(f"{base}/u/{sign_token(secret, 'unsubscribe', NO_SUBSCRIBER, LIST)}")
    audit.check("test-copy")
    page.goto(f"{base}/confirm/not-a-token")
    audit.check("error")
    page.goto(f"{base}/lists/nobody-knows/archive")
    audit.check("not-found")
    page.goto(f"{base}/lists/{LIST}/archive?lang=en")
    audit.check("archive-en")
    page.goto(f"{base}/lists/{LIST}/archive")
    audit.check("archive")
    page.click("text=第1期")
    page.locator(".article-title").first.wait_for()
    audit.check("archive-issue")


def test_every_subscriber_page_passes_axe_and_fits_a_phone(browser, server, smtp_server):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    audit = Audit(context.new_page(), width_checked=True)
    _subscribe_and_confirm(audit, server, smtp_server)
    _leave_and_read_the_archive(audit, server)
    context.close()
    assert audit.problems == {}, audit.report()


MAILS = {
    "digest": lambda: sample_message(WEEKLY_ISSUE).html,
    "digest-without-style": lambda: _without_style(sample_message(WEEKLY_ISSUE).html),
    "digest-lead": lambda: sample_message(WEEKLY_ISSUE, article_text="lead").html,
    "confirm-zh": lambda: confirmation_html("zh-CN"),
    "confirm-en": lambda: confirmation_html("en"),
}


@pytest.mark.parametrize("name", list(MAILS))
def test_every_mail_passes_axe_on_a_phone(browser, name):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    context.route("**/*", lambda route: route.abort())  # a mail loads nothing here: readers follow its links
    audit = Audit(context.new_page(), width_checked=True)
    audit.page.set_content(MAILS[name](), wait_until="load")
    audit.check(f"mail-{name}")
    context.close()
    assert audit.problems == {}, audit.report()


def _console_walk(audit: Audit, site, issue_id: int) -> None:
    page, base = audit.page, site.base
    page.goto(f"{base}/admin/login")
    audit.check("login")
    page.fill("#email", ZHOU_ADMIN.email)
    page.fill("#password", ZHOU_ADMIN.password)
    page.click("button.primary")
    page.wait_for_selector("#chart-growth")
    pages = {
        "dashboard": "/admin/",
        "lists": "/admin/lists",
        "list-settings": f"/admin/lists/{LIST}",
        "issues": "/admin/issues",
        "issue": f"/admin/issues/{issue_id}",
        "issue-preview": f"/admin/issues/{issue_id}/preview?email={LI_HUNAN.email}",
        "articles": "/admin/articles",
        "upload": "/admin/articles/upload",
        "subscribers": "/admin/subscribers",
        "subscriber": f"/admin/subscribers/{_subscriber_id(site.url, LI_HUNAN.email)}",
        # Beyond the main pages, the ones a day's work also opens.
        "dashboard-en": "/admin/?lang=en",
        "issue-preview-empty": f"/admin/issues/{issue_id}/preview",
        "issue-send": f"/admin/issues/{issue_id}/send",
        "article": "/admin/articles/1",
        "import": "/admin/subscribers/import",
        "suppressions": "/admin/suppressions",
        "sources": "/admin/sources",
        "review": "/admin/review",
        "topic-rules": "/admin/topic-rules",
        "accounts": "/admin/accounts",
        "password": "/admin/password",
    }
    # The review queue holds an article the tagger placed unsure, and one it placed nowhere.
    waiting_article(site.url, "怀化一合作社冷库投用", ["431200"])
    waiting_article(site.url, "一则没有地名的消息", [])
    # The sender page with rates over the thresholds, a suppression, a stale mailbox and a mail nobody read.
    mail_id = sender_rows(site.url)["mail"]
    pages |= {
        "sender": "/admin/sender",
        "sender-en": "/admin/sender?lang=en",
        "sender-mail": f"/admin/sender/mail/{mail_id}",
    }
    for name, path in pages.items():
        page.goto(base + path)
        # What hides in a closed <details> (the charts' data tables) is checked too.
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        audit.check(name)


def _console_reports(audit: Audit, site) -> None:
    """The reports of an upload and an import that refused some of what they were given."""
    page = audit.page
    page.goto(f"{site.base}/admin/articles/upload")
    page.set_input_files("#u-file", str(UPLOAD))
    page.fill("#u-published", "2026-11-19")
    page.click("button.primary")
    page.locator("#upload-report tr.problem").first.wait_for()
    audit.check("upload-report")
    page.goto(f"{site.base}/admin/subscribers/import")
    page.set_input_files("#i-file", files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE_CSV}])
    page.click("#i-file >> xpath=ancestor::form >> button.primary")
    page.locator("#import-report tr.subs-problem").first.wait_for()
    audit.check("import-report")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_console_pages_pass_axe(browser, console, width):
    viewport = PHONE if width == "phone" else DESKTOP
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    # The console's own tables scroll inside their box on a phone; the subscriber pages' width is checked above.
    audit = Audit(context.new_page(), width_checked=False, label=f"{width}-")
    site, issue_id = console
    _console_walk(audit, site, issue_id)
    _console_reports(audit, site)
    context.close()
    assert audit.problems == {}, audit.report()
