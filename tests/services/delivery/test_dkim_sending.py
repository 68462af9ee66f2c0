"""DKIM on every path that sends mail, checked by dkimpy over the exact bytes a real SMTP server on loopback
received: an issue's digests (the fast writer's bytes, the normal send path), a test send and the public
form's confirmation; none without a key; a key that cannot sign stops the send and blames nobody.
The key is made in the test and reaches the runtime as the environment names it; the ledger on SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fixtures_db import make_settings
from personas import ALL
from smtpserver import strictness_problem
from sqlalchemy import select
from test_sending import EXPECTED, _seed

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.cli.commands import main
from digest.core.bounces.settings import load_loop_settings
from digest.core.clock import FixedClock
from digest.core.faults import SetupError
from digest.core.settings import Settings
from digest.services.delivery.batches import send_pending
from digest.services.delivery.testsend import compose_test_send, deliver_test
from digest.services.form_mails import send_form_mails
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscribe_requests import Choices, request_subscription

SELECTOR, DOMAIN = "weekly2026", "digest.example.org"
PERIOD_END_TEXT = "2021-06-20"


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path, private_key) -> Path:
    path = tmp_path / "dkim" / f"{SELECTOR}.pem"
    path.parent.mkdir()
    path.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def dkim_env(key_file: Path) -> dict[str, str]:
    return {"DIGEST_DKIM_SELECTOR": SELECTOR, "DIGEST_DKIM_DOMAIN": DOMAIN, "DIGEST_DKIM_KEY_FILE": str(key_file)}


def signing(settings: Settings, key_file: Path | None) -> Settings:
    """`settings` with the delivery loop's settings read from the DKIM variables (none: DKIM off)."""
    return dataclasses.replace(settings, loop=load_loop_settings(dkim_env(key_file) if key_file else {}))


def dns(private_key):
    """The resolver a receiver asks: it knows the published record at weekly2026._domainkey.digest.example.org."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)

    def txt(name: bytes, timeout: float = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return txt


def verified(data: bytes, private_key) -> bool:
    return bool(dkim.verify(data, dnsfunc=dns(private_key)))


def flipped(data: bytes) -> bytes:
    """`data` with one bit of its body changed, a little way in."""
    at = data.index(b"\r\n\r\n") + 100
    changed = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    assert changed != data
    return changed


def send_issue(settings: Settings) -> tuple[int, dict[str, int], str | None]:
    with transaction(settings.database_url) as session:
        issue = plan_issue(session, ensure_default_list(session), datetime.fromisoformat(PERIOD_END_TEXT).date())
        start_issue(session, issue)
        issue_id = issue.id
    with open_transport(settings.smtp_url, settings.outbox) as transport:
        report = send_pending(Runtime(settings), issue_id, transport)
    return issue_id, report.counts, report.halted


def test_each_digest_received_verifies_and_fails_once_changed(
    database_url, tmp_path, smtp_server, key_file, private_key
):
    settings = signing(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), key_file)
    _seed(database_url)
    _, counts, halted = send_issue(settings)
    assert (counts, halted) == ({"sent": 5, "skipped": 1}, None)
    received = smtp_server.messages
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(EXPECTED)
    for message in received:
        data = message.data  # byte for byte what the server took
        head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
        assert head.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=digest.example.org;")
        assert b" s=weekly2026;" in head
        assert data.count(b"DKIM-Signature:") == 1  # signed once, however the row was built
        assert strictness_problem(data) is None
        assert verified(data, private_key), message.rcpt_tos
        assert not verified(flipped(data), private_key)
    # The From line is the list's, as without DKIM.
    assert all(b"\r\nFrom: " in m.data and b"<weekly@digest.example.org>" in m.data for m in received)


def test_without_a_key_nothing_is_signed(database_url, tmp_path, smtp_server):
    settings = signing(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), None)
    assert not settings.loop.dkim_enabled
    _seed(database_url)
    _, counts, _ = send_issue(settings)
    assert counts == {"sent": 5, "skipped": 1} and len(smtp_server.messages) == 5
    assert not any(b"dkim-signature" in m.data.lower() for m in smtp_server.messages)


def test_a_test_send_is_signed(database_url, tmp_path, smtp_server, key_file, private_key):
    runtime = Runtime(signing(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), key_file))
    _seed(database_url)
    with transaction(database_url) as session:
        issue = plan_issue(session, ensure_default_list(session), datetime.fromisoformat(PERIOD_END_TEXT).date())
        issue_id = issue.id
    with runtime.transaction() as session:
        test = compose_test_send(runtime, session, issue_id, "editor@example.org")
    deliver_test(runtime, test)
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["editor@example.org"] and b"\r\nX-Digest-Test: yes\r\n" in received.data
    assert verified(received.data, private_key)


def test_a_form_mail_is_signed(database_url, tmp_path, smtp_server, key_file, private_key):
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    settings = signing(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), key_file)
    runtime = Runtime(dataclasses.replace(settings, clock=FixedClock(now)))
    list_id = ensure_default_list_id(runtime)
    with runtime.engine.begin() as db:
        assert request_subscription(db, list_id, "new.reader@example.cn", "", Choices(["430000"]), now).may_mail
    assert send_form_mails(runtime).as_dict() == {"sent": 1, "retry": 0, "dropped": 0}
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["new.reader@example.cn"]
    assert strictness_problem(received.data) is None
    assert verified(received.data, private_key)
    assert not verified(flipped(received.data), private_key)


def ensure_default_list_id(runtime: Runtime) -> int:
    with runtime.transaction() as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@digest.example.org"
        return ml.id


def test_form_mails_wait_while_the_key_cannot_be_read(database_url, tmp_path, smtp_server, key_file, private_key):
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    missing = tmp_path / "nowhere.pem"
    settings = signing(make_settings(database_url, tmp_path, smtp_url=smtp_server.url), missing)
    runtime = Runtime(dataclasses.replace(settings, clock=FixedClock(now)))
    list_id = ensure_default_list_id(runtime)
    with runtime.engine.begin() as db:
        assert request_subscription(db, list_id, "new.reader@example.cn", "", Choices(["430000"]), now).may_mail
    assert send_form_mails(runtime).as_dict() == {"sent": 0, "retry": 1, "dropped": 0}
    assert smtp_server.messages == []
    with runtime.transaction() as session:
        assert session.scalar(select(models.FormMail.attempts)) == 1  # kept for a later call


def test_a_key_file_that_cannot_be_read_stops_the_send_naming_it(database_url, tmp_path, smtp_server, key_file):
    _seed(database_url)
    missing = tmp_path / "nowhere.pem"
    env = {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_SMTP_URL": smtp_server.url,
        "DIGEST_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "DIGEST_BASE_URL": "https://digest.example.org",
        "DIGEST_OUTBOX": str(tmp_path / "outbox"),
        "DIGEST_BROKER_URL": None,
        **dkim_env(missing),
    }
    broken = CliRunner().invoke(main, ["send", "--period-end", PERIOD_END_TEXT], env=env, catch_exceptions=False)
    assert broken.exit_code == 3, broken.output
    assert f"DIGEST_DKIM_KEY_FILE ({missing})" in broken.stderr and "cannot read the DKIM key" in broken.stderr
    assert smtp_server.messages == []
    with transaction(database_url) as session:
        statuses = session.scalars(select(models.Delivery.status)).all()
    assert sorted(statuses) == ["pending"] * len(ALL)  # nobody blamed

    fixed = CliRunner().invoke(
        main, ["send", "--period-end", PERIOD_END_TEXT], env={**env, **dkim_env(key_file)}, catch_exceptions=False
    )
    assert fixed.exit_code == 0, fixed.output
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(EXPECTED)
    assert all(m.data.startswith(b"DKIM-Signature: ") for m in smtp_server.messages)


def test_the_key_is_read_once_per_process(sqlite_url, tmp_path, key_file, private_key):
    runtime = Runtime(signing(make_settings(sqlite_url, tmp_path), key_file))
    message = b"From: weekly@digest.example.org\r\nTo: wang.fang@example.cn\r\nSubject: once\r\n\r\nbody\r\n"
    assert verified(runtime.signed(message), private_key)
    key_file.unlink()  # a key rotated away under a running worker: it signs on with the key it read
    second = runtime.signed(message)
    assert second.endswith(message) and verified(second, private_key)
    # A new process (a new runtime) reads the file again, and finds it gone.
    with pytest.raises(SetupError, match=re.escape(f"DIGEST_DKIM_KEY_FILE ({key_file}): cannot read the DKIM key")):
        Runtime(signing(make_settings(sqlite_url, tmp_path), key_file)).signed(message)
