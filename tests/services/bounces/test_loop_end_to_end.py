"""The delivery loop end to end: an issue sent through the real SMTP test server with VERP return paths, the
relay's late bounces, a complaint, an out-of-office reply and a mailto unsubscribe delivered into a real Dovecot
mailbox, one poll over IMAP with STARTTLS; then the ledger, the suppression list and the subscriptions say
exactly what they should, and a second poll changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from bounce_mails import complaint, dsn, mailto_unsubscribe, out_of_office
from fixtures_db import make_settings
from personas import CHEN_HANBIN, LI_HUNAN, LIU_TOPICS, WANG_NATIONAL, ZHANG_ANKANG
from sent_week import seed_week, send_week
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.bounces.settings import LoopSettings
from digest.services.bounces.polling import poll_mailbox
from digest.services.lists import DEFAULT_LIST_SLUG
from digest.services.runtime import Runtime

LATER = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
BOUNCE_DOMAIN = "bounce.digest.example.org"


def _state(url: str) -> dict:
    with transaction(url) as session:
        d, s = models.Delivery, models.Subscriber
        ledger = {email: status for email, status in session.execute(select(s.email, d.status).join(s))}
        suppressed = {r.email: r.kind for r in session.scalars(select(models.Suppression))}
        subs = {
            (r.subscriber.email, r.list.slug): (r.status, round(r.bounce_score, 2))
            for r in session.scalars(select(models.Subscription))
        }
        events = sorted(
            (r.kind, r.email, r.status, r.decision, r.issue_id is not None)
            for r in session.scalars(select(models.MailEventRow))
        )
        unread = session.scalar(select(models.InboundMail.id).limit(1))
    return {"ledger": ledger, "suppressed": suppressed, "subs": subs, "events": events, "unread": unread}


def test_bounces_a_complaint_an_auto_reply_and_a_mailto_unsubscribe_after_one_poll(
    database_url, tmp_path, smtp_server, dovecot
):
    dovecot.new_user()
    loop = LoopSettings(bounce_domain=BOUNCE_DOMAIN, mailbox_url=dovecot.url("imap"))
    settings = dataclasses.replace(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), loop=loop)
    seed_week(database_url)
    send_week(database_url, settings)
    received = {m.rcpt_tos[0]: m for m in smtp_server.messages}
    assert len(received) == 5 and all(m.mail_from.endswith("@" + BOUNCE_DOMAIN) for m in received.values())
    before = _state(database_url)

    # The relay accepted everything; what comes back comes later, into the bounce domain's mailbox.
    dovecot.deliver(
        dsn(received[WANG_NATIONAL.email], "5.1.1", "550 5.1.1 <wang.fang@example.cn>: no such user", LATER)
    )
    dovecot.deliver(dsn(received[LI_HUNAN.email], "4.2.2", "452 4.2.2 mailbox full", LATER))
    dovecot.deliver(complaint(received[ZHANG_ANKANG.email], LATER))
    dovecot.deliver(out_of_office(received[CHEN_HANBIN.email], LATER))
    dovecot.deliver(mailto_unsubscribe(received[LIU_TOPICS.email], LATER))

    report = poll_mailbox(Runtime(settings))
    assert (report.mails, report.unparsed, report.moved) == (5, 0, 5)
    after = _state(database_url)
    assert after["events"] == sorted(
        [
            ("hard_bounce", WANG_NATIONAL.email, "5.1.1", "suppressed", True),
            ("soft_bounce", LI_HUNAN.email, "4.2.2", "scored", True),
            ("complaint", ZHANG_ANKANG.email, "", "unsubscribed", True),
            ("auto_reply", CHEN_HANBIN.email, "", "ignored", True),
            ("unsubscribe", LIU_TOPICS.email, "", "unsubscribed", False),
        ]
    )
    assert after["suppressed"] == {WANG_NATIONAL.email: "hard_bounce", ZHANG_ANKANG.email: "complaint"}
    assert after["ledger"] == before["ledger"]  # every copy left; the bounce is the event's, not the row's
    expected_subs = dict(before["subs"])
    expected_subs[(LI_HUNAN.email, DEFAULT_LIST_SLUG)] = ("confirmed", 1.0)
    expected_subs[(ZHANG_ANKANG.email, DEFAULT_LIST_SLUG)] = ("unsubscribed", 0.0)
    expected_subs[(LIU_TOPICS.email, DEFAULT_LIST_SLUG)] = ("unsubscribed", 0.0)
    assert after["subs"] == expected_subs
    assert after["unread"] is None
    # Read mail is moved to the processed folder on the server, not deleted.
    assert dovecot.files("INBOX") == [] and len(dovecot.files("Processed")) == 5

    # The same five again (a relay that sent its reports twice): nothing changes.
    for path in dovecot.files("Processed"):
        dovecot.deliver(path.read_bytes())
    again = poll_mailbox(Runtime(settings))
    assert (again.mails, again.events, again.unparsed) == (5, 0, 0)
    assert _state(database_url) == after
    # And a poll of an empty mailbox reads nothing.
    assert poll_mailbox(Runtime(settings)).mails == 0
    assert _state(database_url) == after


def test_mail_nobody_can_read_stays_in_the_mailbox_and_is_kept_for_a_person(database_url, tmp_path, dovecot):
    dovecot.new_user()
    loop = LoopSettings(bounce_domain=BOUNCE_DOMAIN, mailbox_url=dovecot.url("imaps"))
    settings = dataclasses.replace(make_settings(database_url, tmp_path), loop=loop)
    raw = (
        b"From: someone@example.cn\r\nTo: unsubscribe@" + BOUNCE_DOMAIN.encode() + b"\r\n"
        b"Subject: =?utf-8?b?6K+36Zeu5aaC5L2V6K6i6ZiF?=\r\nMessage-ID: <human-1@example.cn>\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n<script>alert(1)</script> how do I subscribe?\r\n"
    )
    dovecot.deliver(raw)
    first = poll_mailbox(Runtime(settings))
    second = poll_mailbox(Runtime(settings))
    assert (first.unparsed, second.unparsed, first.moved, second.moved) == (1, 0, 0, 0)
    assert len(dovecot.files("INBOX")) == 1  # still there for a person
    with transaction(database_url) as session:
        kept = session.scalars(select(models.InboundMail)).all()
        assert [(m.ref, m.subject, m.raw) for m in kept] == [("<human-1@example.cn>", "请问如何订阅", raw)]
        assert "password" not in kept[0].mailbox and dovecot.password not in kept[0].mailbox
        assert session.scalar(select(models.MailEventRow.id)) is None


def test_over_pop3_read_mail_stays_on_the_server_and_is_not_read_twice(database_url, tmp_path, smtp_server, dovecot):
    dovecot.new_user()
    loop = LoopSettings(bounce_domain=BOUNCE_DOMAIN, mailbox_url=dovecot.url("pop3s"))
    settings = dataclasses.replace(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), loop=loop)
    seed_week(database_url)
    send_week(database_url, settings)
    received = {m.rcpt_tos[0]: m for m in smtp_server.messages}
    dovecot.deliver(dsn(received[WANG_NATIONAL.email], "5.1.1", "550 5.1.1 no such user", LATER))
    first = poll_mailbox(Runtime(settings))
    dovecot.deliver(out_of_office(received[CHEN_HANBIN.email], LATER))
    second = poll_mailbox(Runtime(settings))
    assert (first.mails, first.events, first.moved) == (1, 1, 0)  # POP3 has no folder to move it to
    assert (second.mails, second.seen_before, second.events) == (1, 1, 1)  # only the new one is read
    assert len(dovecot.files("INBOX")) == 2
    assert _state(database_url)["suppressed"] == {WANG_NATIONAL.email: "hard_bounce"}
