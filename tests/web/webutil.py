"""Helpers for the web tests: seeding, reading CSRF tokens and mailed links."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from html.parser import HTMLParser
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


class _FormFields(HTMLParser):
    """What a browser submits for each form of a page: its inputs (ticked boxes only), selects and textareas."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._fields: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._chosen = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._fields = self.forms.setdefault(a.get("action", ""), [])
        elif self._fields is None or ("name" not in a and tag != "option") or "form" in a:
            return
        elif tag == "input" and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            if a.get("type") not in ("submit", "button", "file"):
                self._fields.append((a["name"], a.get("value", "on")))
        elif tag == "select":
            self._select, self._first_option, self._chosen = a["name"], None, False
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._first_option = value if self._first_option is None else self._first_option
            if "selected" in a and not self._chosen:
                self._fields.append((self._select, value))
                self._chosen = True
        elif tag == "textarea":
            self._textarea = a["name"]
            self._fields.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self._fields:
            name, text = self._fields[-1]
            self._fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select" and self._select is not None and self._fields is not None:
            if not self._chosen and self._first_option is not None:
                self._fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str, action: str) -> dict[str, str | list[str]]:
    """The fields the form posting to `action` sends as it stands (names given more than once as lists)."""
    parser = _FormFields()
    parser.feed(html)
    if action not in parser.forms:
        raise AssertionError(f"no form posting to {action}")
    fields: dict[str, str | list[str]] = {}
    for name, value in parser.forms[action]:
        if name in fields:
            held = fields[name]
            fields[name] = [*held, value] if isinstance(held, list) else [held, value]
        else:
            fields[name] = value
    return fields


def confirm(client: TestClient, link: str):
    """Opens a mailed confirmation link and presses its button, as a reader does; returns the answer."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(link, data={"csrf_token": form_csrf(page.text, link)})
