"""The public form's mails: recorded with the request, sent afterwards over one connection per batch,
a mail the server puts off kept and sent later, one it refuses dropped, and one a dead sender held
sent once its hold has passed. A real SMTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from fixtures_db import make_settings
from sqlalchemy import func, select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.clock import FixedClock
from digest.core.tokens import read_token
from digest.services import form_mails
from digest.services.delivery.handout import tick
from digest.services.form_mails import send_form_mails
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscribe_requests import FORM_MAILS_PER_DAY, Choices, request_subscription

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NEW, KNOWN = "new.reader@example.cn", "known.reader@example.cn"


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def runtime(database_url, tmp_path, smtp_server, clock):
    with transaction(database_url) as session:
        ensure_default_list(session).sender_email = "weekly@digest.example.org"
    settings = dataclasses.replace(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), clock=clock)
    return Runtime(settings)


def _ask(runtime: Runtime, address: str) -> bool:
    with runtime.engine.begin() as db:
        list_id = db.scalar(select(models.MailingList.id))
        return request_subscription(db, list_id, address, "", Choices(["430000"]), runtime.clock.now()).may_mail


def _waiting(runtime: Runtime) -> list[tuple[str, int]]:
    with runtime.transaction() as session:
        rows = session.execute(
            select(models.Subscriber.email, models.FormMail.attempts)
            .join(models.Subscriber, models.Subscriber.id == models.FormMail.subscriber_id)
            .order_by(models.FormMail.id)
        )
        return [tuple(row) for row in rows]


def test_a_request_records_its_mail_and_a_send_delivers_it_and_forgets_it(runtime, smtp_server):
    assert _ask(runtime, NEW)
    with runtime.transaction() as session:
        kind = session.scalar(select(models.FormMail.kind))
    assert kind == "confirm" and _waiting(runtime) == [(NEW, 0)]
    assert smtp_server.messages == []  # recorded, not sent: the request does not wait on the mail server
    assert send_form_mails(runtime).as_dict() == {"sent": 1, "retry": 0, "dropped": 0}
    (received,) = smtp_server.messages
    assert (received.mail_from, received.rcpt_tos) == ("weekly@digest.example.org", [NEW])
    text = email.message_from_bytes(received.data, policy=policy.default).get_body(("plain",)).get_content()
    link = re.search(r"https://digest\.example\.org/confirm/([A-Za-z0-9._-]+)", text)
    assert link is not None
    token = read_token(runtime.settings.token_keys, link.group(1), "confirm")
    with runtime.transaction() as session:
        assert token.subscriber_id == session.scalar(select(models.Subscriber.id).where(models.Subscriber.email == NEW))
    assert _waiting(runtime) == []
    assert send_form_mails(runtime).as_dict() == {"sent": 0, "retry": 0, "dropped": 0}
    assert len(smtp_server.messages) == 1


def test_many_requests_go_out_in_batches_over_one_connection_in_order(runtime, smtp_server):
    addresses = [f"reader{i:03d}@example.cn" for i in range(form_mails.BATCH + 5)]
    for address in addresses:
        _ask(runtime, address)
    assert send_form_mails(runtime).sent == len(addresses)
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == addresses
    assert len({m.peer for m in smtp_server.messages}) == 1  # two batches, one connection


def test_a_call_stops_after_a_short_batch_what_came_meanwhile_waits_for_its_own_call(runtime, smtp_server, monkeypatch):
    # Under a flood, chasing each few mails that came in during a batch cost 3× the CPU a mail; the
    # requests that recorded them each asked for a call of their own (SendSoon), which sends them.
    _ask(runtime, NEW)
    real_send = form_mails._Sender.send

    def send_while_another_request_comes(self, waiting, now):
        if not smtp_server.messages:
            _ask(runtime, KNOWN)
        return real_send(self, waiting, now)

    monkeypatch.setattr(form_mails._Sender, "send", send_while_another_request_comes)
    assert send_form_mails(runtime).sent == 1
    monkeypatch.undo()
    assert [m.rcpt_tos for m in smtp_server.messages] == [[NEW]]
    assert _waiting(runtime) == [(KNOWN, 0)]
    assert send_form_mails(runtime).sent == 1
    assert [m.rcpt_tos for m in smtp_server.messages] == [[NEW], [KNOWN]]


def test_an_address_past_the_days_cap_gets_no_mail_recorded(runtime, smtp_server):
    assert [_ask(runtime, NEW) for _ in range(FORM_MAILS_PER_DAY + 2)] == [True] * FORM_MAILS_PER_DAY + [False] * 2
    assert send_form_mails(runtime).sent == FORM_MAILS_PER_DAY
    runtime.settings.clock.advance(days=1)
    assert _ask(runtime, NEW)


def test_put_off_is_kept_and_sent_later_refused_is_dropped(runtime, smtp_server, clock):
    smtp_server.handler.fail_once[NEW] = (451, "4.3.0 try later")
    smtp_server.handler.fail_rcpt[KNOWN] = (550, "5.1.1 no such user")
    _ask(runtime, KNOWN)
    _ask(runtime, NEW)
    _ask(runtime, "third@example.cn")
    # The refusal is dropped, the address put off is kept, and the connection goes on to the next.
    assert send_form_mails(runtime).as_dict() == {"sent": 1, "retry": 1, "dropped": 1}
    assert _waiting(runtime) == [(NEW, 1)]
    assert send_form_mails(runtime).sent == 0  # not before RETRY_AFTER
    clock.advance(form_mails.RETRY_AFTER)
    assert send_form_mails(runtime).as_dict() == {"sent": 1, "retry": 0, "dropped": 0}
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["third@example.cn", NEW]
    assert _waiting(runtime) == []


def test_a_mail_a_dead_sender_held_goes_once_its_hold_has_passed(runtime, smtp_server, clock):
    _ask(runtime, NEW)
    with runtime.transaction() as session:
        session.execute(models.FormMail.__table__.update().values(held_until=NOW + form_mails.HOLD_FOR))
    assert send_form_mails(runtime).sent == 0
    clock.advance(form_mails.HOLD_FOR + timedelta(seconds=1))
    assert send_form_mails(runtime).sent == 1
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(models.FormMail)) == 0


class Recording:
    """A broker that takes everything and keeps count of the form-mail sends it was asked for."""

    def __init__(self) -> None:
        self.form_mail_sends = 0

    def hand_out(self, issue_id: int, delivery_ids: list[int]) -> None: ...

    def start_import(self, import_id: int) -> None: ...

    def waiting(self) -> int:
        return 0

    def send_form_mails(self) -> None:
        self.form_mail_sends += 1


def test_the_tick_asks_for_a_send_only_while_a_form_mail_may_go(database_url, tmp_path, clock):
    """A web process that died between its commit and its request for a send leaves a mail only the tick finds."""
    with transaction(database_url) as session:
        ensure_default_list(session)
    broker = Recording()
    runtime = Runtime(dataclasses.replace(make_settings(database_url, tmp_path), clock=clock), broker=broker)
    assert tick(runtime)["form_mails"] is False and broker.form_mail_sends == 0
    _ask(runtime, NEW)
    assert tick(runtime)["form_mails"] is True and broker.form_mail_sends == 1
    with runtime.transaction() as session:
        session.execute(models.FormMail.__table__.update().values(held_until=NOW + form_mails.HOLD_FOR))
    assert tick(runtime)["form_mails"] is False  # held by a sender: not yet
    clock.advance(form_mails.HOLD_FOR)
    assert tick(runtime)["form_mails"] is True and broker.form_mail_sends == 2


def test_an_admin_adding_a_pending_subscriber_owes_a_confirmation_unless_suppressed(runtime, smtp_server):
    with runtime.transaction() as session:
        list_id = session.scalar(select(models.MailingList.id))
        people = [models.Subscriber(email=address) for address in (NEW, "Blocked@example.cn")]
        session.add_all([*people, models.Suppression(email="blocked@example.cn", reason="complained")])
        session.flush()
        owed = [form_mails.owe_confirmation(session, p.id, list_id, NOW) for p in people]
    assert owed == [True, False]
    assert send_form_mails(runtime).sent == 1
    (received,) = smtp_server.messages
    text = email.message_from_bytes(received.data, policy=policy.default).get_body(("plain",)).get_content()
    assert received.rcpt_tos == [NEW] and "https://digest.example.org/confirm/" in text
