"""The beat's sweep: events a webhook stored but no worker decided (a lost task) are decided; old webhook nonces
go, the POP3 mail's read marks stay."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from fixtures_db import make_settings
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.bounces.events import EventKind, MailEvent
from digest.core.clock import FixedClock
from digest.services.bounces import record_events
from digest.services.bounces.intake import poll_bounces_now
from digest.services.runtime import Runtime

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_sweep_decides_what_a_lost_task_left_and_prunes_old_nonces(database_url, tmp_path):
    settings = dataclasses.replace(make_settings(database_url, tmp_path), clock=FixedClock(NOW))
    with transaction(database_url) as session:
        session.add(models.Subscriber(email="ann@example.cn", created_at=NOW))
        session.flush()
        old = record_events(
            session,
            [MailEvent(EventKind.AUTO_REPLY, "old", "mailgun", email="ann@example.cn")],
            NOW - timedelta(minutes=5),
        )
        fresh = record_events(
            session, [MailEvent(EventKind.AUTO_REPLY, "fresh", "mailgun")], NOW - timedelta(seconds=30)
        )
        n = models.WebhookNonce
        session.add_all(
            [
                n(provider="mailgun", nonce="a", body_sha256="0", seen_at=NOW - timedelta(days=8)),
                n(provider="mailgun", nonce="b", body_sha256="0", seen_at=NOW - timedelta(days=1)),
                n(provider="pop3", nonce="c", body_sha256="0", seen_at=NOW - timedelta(days=80)),
            ]
        )
    assert poll_bounces_now(Runtime(settings)) == {"swept": 1}  # no mailbox set: only the sweep
    with transaction(database_url) as session:
        decided = dict(session.execute(select(models.MailEventRow.id, models.MailEventRow.decision)).all())
        nonces = sorted(session.scalars(select(models.WebhookNonce.nonce)))
    # The fresh one may still be on its way to a worker: left alone.
    assert decided == {old[0]: "ignored", fresh[0]: "pending"}
    assert nonces == ["b", "c"]
