"""Helpers for the web tests: seeding, reading CSRF tokens and mailed links."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from fastapi.testclient import TestClient

from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.core.settings import Settings
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.delivery.batches import send_pending
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

DEMO_ISSUE = Path(__file__).resolve().parents[2] / "digest" / "data" / "demo-issue.txt"
PERIOD_END = date(2026, 11, 22)
PUBLISHED = datetime.combine(date(2026, 11, 20), time(9), NEWSROOM_TZ)
# What the site's clock says (FixedClock): the Monday after PERIOD_END, 10:00 in Shanghai, whatever the day.
SITE_NOW = datetime.combine(date(2026, 11, 23), time(10), NEWSROOM_TZ)
LIST = "rural-weekly"


def seed(url: str, base_url: str | None = None) -> None:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@digest.example.org"
        store_articles(session, ml, parse_file(DEMO_ISSUE), load_regions(), source="demo", published=PUBLISHED)


def send_issue(site: Site, period_end: date = PERIOD_END) -> int:
    """Plans and starts the default list's issue of the week ending `period_end` and sends it over the site's
    SMTP server, in this process; returns the issue's id."""
    with transaction(site.url) as session:
        issue = plan_issue(session, ensure_default_list(session), period_end)
        start_issue(session, issue)
        issue_id = issue.id
    with open_transport(site.settings.smtp_url, site.settings.outbox) as transport:
        send_pending(Runtime(site.settings), issue_id, transport)
    return issue_id


def csrf_from(html: str, index: int = 0) -> str:
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)[index]


def parse_mail(raw: bytes):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg, msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def link_in(text: str, prefix: str) -> str:
    """The path of the first link in `text` that starts with `prefix` on the test site."""
    match = re.search(re.escape("https://digest.example.org" + prefix) + r"[A-Za-z0-9_.\-]+", text)
    assert match, f"no {prefix} link in {text!r}"
    return match.group(0).removeprefix("https://digest.example.org")


@dataclass
class Site:
    url: str
    settings: Settings
    client: TestClient
    smtp: object

    def new_client(self) -> TestClient:
        """A second browser: no cookies of the first."""
        return TestClient(self.client.app)


def add_staff(url: str, staff) -> None:
    from digest.services.admins import create_admin

    with transaction(url) as session:
        create_admin(session, staff.email, staff.password, staff.role)


def api_token(url: str, staff, name: str = "tests") -> str:
    from digest.services.admins import create_api_token, get_admin

    with transaction(url) as session:
        return create_api_token(session, get_admin(session, staff.email), name)


def sign_in(client: TestClient, staff, next_path: str = "/admin/"):
    """Signs `client` in as `staff` through the real form; returns the response to the POST."""
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"email": staff.email, "password": staff.password, "next": next_path, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def form_csrf(html: str, action: str) -> str:
    """The CSRF token of the form that posts to `action` (admin pages also hold the sign-out form)."""
    for form in re.findall(r"<form\b.*?</form>", html, flags=re.DOTALL):
        if re.search(r'action="' + re.escape(action) + '"', form):
            return csrf_from(form)
    raise AssertionError(f"no form posting to {action}")


def confirm(client: TestClient, link: str):
    """Opens a mailed confirmation link and presses its button, as a reader does; returns the answer."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(link, data={"csrf_token": form_csrf(page.text, link)})
