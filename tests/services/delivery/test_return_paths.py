"""Return paths that say who bounced: with a bounce domain, each copy's envelope sender is its own signed VERP
address, and the List-Unsubscribe mailto goes to that domain's mailbox; without one, the list's sender."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re

from fixtures_db import make_settings
from sqlalchemy import select
from test_sending import _seed, _send

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.bounces.settings import LoopSettings
from digest.core.bounces.verp import read_return_path
from digest.services.lists import ensure_default_list


def test_each_copy_goes_out_with_its_own_signed_return_path(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    settings = dataclasses.replace(settings, loop=LoopSettings(bounce_domain="bounce.digest.example.org"))
    _seed(database_url)
    _send(database_url, settings)
    with transaction(database_url) as session:
        d, s = models.Delivery, models.Subscriber
        sent = {
            email: delivery
            for email, delivery in session.execute(select(s.email, d.id).join(s).where(d.status == "sent"))
        }
    assert len(smtp_server.messages) == len(sent) == 5
    for received in smtp_server.messages:
        address = received.rcpt_tos[0]
        path = read_return_path(settings.token_keys, received.mail_from)
        assert path is not None and path.delivery_id == sent[address], received.mail_from
        # Signed: the same shape naming another delivery is not ours.
        forged = re.sub(r"\+d\d+-", f"+d{sent[address] + 1}-", received.mail_from)
        assert read_return_path(settings.token_keys, forged) is None
        msg = email.message_from_bytes(received.data, policy=email.policy.default)
        assert "<mailto:unsubscribe@bounce.digest.example.org?subject=unsubscribe%20" in msg["List-Unsubscribe"]
        assert msg["From"].addresses[0].addr_spec == "weekly@digest.example.org"  # the From people see is unchanged


def test_a_lists_own_bounce_domain_wins_over_the_sites(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    settings = dataclasses.replace(settings, loop=LoopSettings(bounce_domain="site.example.org"))
    _seed(database_url)
    with transaction(database_url) as session:
        ensure_default_list(session).bounce_domain = "list.example.org"
    _send(database_url, settings)
    assert {m.mail_from.split("@")[1] for m in smtp_server.messages} == {"list.example.org"}


def test_without_a_bounce_domain_the_lists_sender_is_the_return_path(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    _seed(database_url)
    _send(database_url, settings)
    assert {m.mail_from for m in smtp_server.messages} == {"weekly@digest.example.org"}
