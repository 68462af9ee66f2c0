"""`digest bounces …` run as a user runs it: a real process, a real database, a local Maildir as the mailbox."""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.bounces.verp import return_path
from digest.core.tokens import sign_token
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import DEFAULT_LIST_SLUG, ensure_default_list

DIGEST = [sys.executable, "-m", "digest.cli"]
SECRET = "cli-bounces-secret-0123456789abcdefgh"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def run(args, cwd, env_extra, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update({"DIGEST_SECRET_KEY": SECRET, **env_extra})
    result = subprocess.run(DIGEST + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def _sent_copy(url: str) -> tuple[int, int]:
    """ann@example.cn confirmed on the default list, her copy of an issue sent; returns (delivery, subscriber)."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ann = models.Subscriber(email="ann@example.cn", created_at=NOW)
        session.add(ann)
        session.flush()
        session.add(models.Subscription(list_id=ml.id, subscriber_id=ann.id, status="confirmed", created_at=NOW))
        session.flush()
        issue = plan_issue(session, ml, NOW.date())
        start_issue(session, issue)
        session.flush()
        copy = session.scalar(select(models.Delivery).where(models.Delivery.issue_id == issue.id))
        copy.status, copy.sent_at = "sent", NOW
        return copy.id, ann.id


def _dsn(verp: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\nTo: {verp}\r\nSubject: Undelivered Mail\r\n"
        "Message-ID: <dsn-1@mx.example.net>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; ann@example.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n--b--\r\n"
    ).encode()


def test_every_bounces_command_has_help(tmp_path):
    for name in ("", "poll", "events", "unparsed", "suppressed", "unsuppress"):
        out = run(["bounces", *([name] if name else []), "--help"], tmp_path, {}).stdout
        assert "Usage:" in out


def test_poll_without_a_mailbox_says_which_variable(tmp_path):
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    run(["init"], tmp_path, {"DIGEST_DATABASE_URL": url})
    result = run(["bounces", "poll"], tmp_path, {"DIGEST_DATABASE_URL": url}, check=False)
    assert result.returncode == 1 and "DIGEST_BOUNCE_MAILBOX" in result.stderr


def test_poll_events_unparsed_suppressed_unsuppress(database_url, tmp_path):
    env = {"DIGEST_DATABASE_URL": database_url, "DIGEST_BOUNCE_DOMAIN": "bounce.example.org"}
    run(["init"], tmp_path, env)
    delivery_id, ann = _sent_copy(database_url)
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(_dsn(return_path(SECRET, "bounce.example.org", delivery_id)))
    token = sign_token(SECRET, "unsubscribe", ann, DEFAULT_LIST_SLUG)
    box.add(f"From: ann@example.cn\r\nTo: x@example.org\r\nSubject: hello {token[:5]}\r\n\r\nhi\r\n".encode())
    env["DIGEST_BOUNCE_MAILBOX"] = f"maildir://{tmp_path / 'bounces'}"

    polled = run(["bounces", "poll"], tmp_path, env)
    assert "2 mail(s) read: 1 new event(s), 1 not understood" in polled.stdout
    assert "hard_bounce suppressed" in polled.stdout
    events = run(["bounces", "events"], tmp_path, env).stdout
    assert "hard_bounce" in events and "ann@example.cn" in events and "5.1.1" in events
    unparsed = run(["bounces", "unparsed"], tmp_path, env).stdout.splitlines()
    assert len(unparsed) == 2 and "hello" in unparsed[1]
    mail_id = unparsed[1].split()[0]
    raw = run(["bounces", "unparsed", "--show", mail_id], tmp_path, env).stdout
    assert raw.startswith("From: ann@example.cn") and "\nhi" in raw
    suppressed = run(["bounces", "suppressed"], tmp_path, env).stdout
    assert "ann@example.cn" in suppressed and "hard_bounce" in suppressed

    assert "0 new event(s)" in run(["bounces", "poll"], tmp_path, env).stdout  # the bounce was moved away
    lifted = run(["bounces", "unsuppress", "ann@example.cn"], tmp_path, env)
    assert "ann@example.cn may be sent to again" in lifted.stdout
    again = run(["bounces", "unsuppress", "ann@example.cn"], tmp_path, env, check=False)
    assert again.returncode == 1 and "not suppressed" in again.stderr
    with transaction(database_url) as session:
        assert session.scalar(select(models.Suppression.id)) is None
