"""On PostgreSQL one poll reads the bounce mailbox at a time: a second finds it taken and reads nothing."""

from __future__ import annotations

import dataclasses
import mailbox

from fixtures_db import _empty_postgres, make_settings
from sqlalchemy import create_engine, text

from digest.core.bounces.settings import LoopSettings
from digest.services.bounces.polling import POLL_LOCK, poll_mailbox
from digest.services.runtime import Runtime

HUMAN = b"From: a@example.cn\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <h1@example.cn>\r\n\r\nhello\r\n"


def test_a_second_poll_finds_the_mailbox_taken_and_reads_nothing(postgres_url, tmp_path):
    _empty_postgres(postgres_url)
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(HUMAN)
    loop = LoopSettings(mailbox_url=f"maildir://{tmp_path / 'bounces'}")
    runtime = Runtime(dataclasses.replace(make_settings(postgres_url, tmp_path), loop=loop))
    other = create_engine(postgres_url)
    with other.connect() as conn:  # another poll, in another process, holding the mailbox
        assert conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": POLL_LOCK})
        busy = poll_mailbox(runtime)
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POLL_LOCK})
    other.dispose()
    assert (busy.busy, busy.mails) == (True, 0)
    after = poll_mailbox(runtime)
    assert (after.busy, after.mails, after.unparsed) == (False, 1, 1)
