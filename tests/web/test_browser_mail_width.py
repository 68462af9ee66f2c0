"""Mails on a phone in a real browser (Debian's chromium via Playwright): nothing scrolls sideways at 375 px.

The digest is checked as sent and with its <style> removed (as clients that strip it show it), and as
a reader who chose English gets it; the confirmation mail in both languages. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from browserutil import shot
from sample_digest import confirmation_html, sample_message
from samples import WEEKLY_ISSUE

PHONE = {"width": 375, "height": 812}


def _without_style(html: str) -> str:
    stripped = re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S)
    assert stripped != html
    return stripped


def _digest(styled: bool, language: str = "zh-CN", article_text: str = "full") -> str:
    html = sample_message(WEEKLY_ISSUE, language=language, article_text=article_text).html
    return html if styled else _without_style(html)


MAILS = {
    "digest": lambda: _digest(True),
    "digest-without-style": lambda: _digest(False),
    "digest-en": lambda: _digest(True, "en"),
    "digest-en-without-style": lambda: _digest(False, "en"),
    "digest-lead": lambda: _digest(True, article_text="lead"),
    "digest-lead-without-style": lambda: _digest(False, article_text="lead"),
    "confirm-zh": lambda: confirmation_html("zh-CN"),
    "confirm-en": lambda: confirmation_html("en"),
}


@pytest.mark.parametrize("name", list(MAILS))
def test_a_mail_does_not_scroll_sideways_on_a_phone(browser, name):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    # A mail loads nothing from the network here: its links are only followed by readers.
    context.route("**/*", lambda route: route.abort())
    page = context.new_page()
    page.set_content(MAILS[name](), wait_until="load")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
    shot(page, f"mail-375-{name}")
    context.close()
    assert max(widths) <= PHONE["width"], widths
