"""The public subscribe form is no mail relay: the confirmation carries no word the requester chose, one
address gets at most three form mails a day whatever client asks, and the per-client limit holds across
web processes that share Redis. Real SMTP on loopback; SQLite and PostgreSQL; Redis db 13."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from test_pages import SUBSCRIBE, _subscribe
from webutil import confirm, link_in, parse_mail

from digest.adapters.ratelimit import LocalWindowCounter, WindowLimit
from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.runtime import Runtime
from digest.services.subscribe_requests import FORM_MAILS_PER_DAY
from digest.services.suppressions import add_suppression
from digest.web import create_app

PHISH_NAME = "Ihr Konto wurde gesperrt: bitte sofort auf https://evil.example/login anmelden 点击领取补贴"
PHISH_PARTS = ["Konto", "gesperrt", "evil.example", "anmelden", "领取补贴", "Ihr"]


def _name_of(url: str, address: str) -> str:
    with transaction(url) as session:
        return session.scalar(select(models.Subscriber.name).where(models.Subscriber.email == address))


def test_the_confirmation_carries_no_part_of_the_name_typed_into_the_form(site):
    assert _subscribe(site.new_client(), "victim@example.org", name=PHISH_NAME).status_code == 200
    [received] = site.smtp.messages
    msg, text, html = parse_mail(received.data)
    decoded = f"{msg['To']}\n{msg['Subject']}\n{text}\n{html}"
    for part in PHISH_PARTS:
        assert part.encode() not in received.data, part
        assert part not in decoded, part
    assert msg["To"].addresses[0].display_name == ""
    # Once the mailbox's owner confirms, the name is theirs to keep.
    assert confirm(site.client, link_in(text, "/confirm/")).status_code == 200
    assert _name_of(site.url, "victim@example.org") == PHISH_NAME


def test_one_address_gets_three_form_mails_a_day_whichever_client_asks(site):
    app = create_app(site.settings, limiter=WindowLimit(LocalWindowCounter(60.0), 100))
    clients = [TestClient(app, client=(f"192.0.2.{i}", 50000)) for i in range(1, 6)]
    pages = [_subscribe(client, "victim@example.org") for client in clients[: FORM_MAILS_PER_DAY + 1]]
    assert [p.status_code for p in pages] == [200] * (FORM_MAILS_PER_DAY + 1)
    assert pages[-1].text == pages[0].text  # the same page: nothing tells the cap was reached
    assert len(site.smtp.messages) == FORM_MAILS_PER_DAY
    assert all(m.rcpt_tos == ["victim@example.org"] for m in site.smtp.messages)
    # Another address is not held back by it.
    assert _subscribe(clients[4], "other@example.org").status_code == 200
    assert len(site.smtp.messages) == FORM_MAILS_PER_DAY + 1
    # A new day, a new allowance.
    site.settings.clock.advance(timedelta(days=1))
    assert _subscribe(clients[4], "victim@example.org").status_code == 200
    assert len(site.smtp.messages) == FORM_MAILS_PER_DAY + 2


def test_the_per_client_limit_holds_across_two_web_processes_sharing_redis(site, redis_url):
    settings = dataclasses.replace(site.settings, broker_url=redis_url, redis_url=redis_url)
    # Two apps, as two web processes: each has its own memory, Redis is what they share.
    first, second = (create_app(Runtime(settings)) for _ in range(2))
    client = (f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}", 50000)  # a fresh key in Redis
    browsers = [TestClient(first, client=client), TestClient(second, client=client)]
    statuses = [_subscribe(browsers[i % 2], f"r{i}@example.org").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    assert len(site.smtp.messages) == 5
    assert browsers[0].post(SUBSCRIBE, data={"email": "x@example.org"}).status_code == 429


def test_without_redis_reachable_the_limit_counts_in_the_process(site):
    from smtpserver import free_port

    # A port nobody listens on: Redis is named but down.
    down = f"redis://127.0.0.1:{free_port()}/13"
    settings = dataclasses.replace(site.settings, broker_url=down, redis_url=down)
    browser = TestClient(create_app(Runtime(settings)))
    statuses = [_subscribe(browser, f"r{i}@example.org").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]


def test_a_suppressed_address_gets_the_same_page_and_no_mail(site):
    with transaction(site.url) as session:
        add_suppression(session, "Blocked@Example.org", "complained")
    blocked = _subscribe(site.new_client(), "blocked@example.org")
    # Any case of the address is the suppressed one: it is matched by lower(email), as people type it.
    shouted = _subscribe(site.new_client(), "BLOCKED@example.org")
    free = _subscribe(site.new_client(), "free@example.org")
    assert blocked.status_code == shouted.status_code == free.status_code == 200
    assert blocked.text.replace("blocked@example.org", "X") == free.text.replace("free@example.org", "X")
    assert [m.rcpt_tos for m in site.smtp.messages] == [["free@example.org"]]
    with transaction(site.url) as session:
        waiting = session.scalars(select(models.FormMail.subscriber_id)).all()
    assert waiting == []
