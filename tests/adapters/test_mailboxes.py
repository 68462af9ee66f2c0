"""The bounce mailbox read from a real Dovecot over IMAP (STARTTLS, IMAPS) and POP3 (STLS, POP3S).

Every test gets a user of its own with an empty INBOX (dovecot.new_user()); mail is delivered into its
Maildir as an MDA would, and what the adapters did is checked on that Maildir on disk.
"""

from __future__ import annotations

import email
import imaplib
import socket

import pytest

from digest.adapters.mailboxes import MailboxError, open_mailbox, pop3
from digest.adapters.mailboxes.imap import FETCH_CHUNK, mailbox_name

ALL = ("imap", "imaps", "pop3", "pop3s")
IMAP = ("imap", "imaps")


def bounce(n: int, extra: bytes = b"") -> bytes:
    """A small DSN-looking mail, CRLF throughout as on the wire, numbered so order and content can be told."""
    return (
        f"Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx{n}.example.net>\r\n"
        f"To: bounces+t{n}@bounce.example.org\r\nSubject: Undelivered Mail Returned to Sender {n}\r\n"
        f"Message-ID: <dsn{n}@mx.example.net>\r\nDate: Mon, 07 Dec 2026 04:{n % 60:02d}:00 +0000\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"<reader{n}@example.cn>: host mx.example.cn said: 550 5.1.1 用户不存在 (number {n})\r\n"
    ).encode() + extra


# A body the protocols must not bend: a line starting with a dot (POP3 dot-stuffing), one longer than
# poplib's 2048-byte line limit, and a lone "." inside the text.
AWKWARD = b".leading dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n" + b"x" * 5000 + b"\r\n"


@pytest.fixture
def server(dovecot):
    dovecot.new_user()
    return dovecot


@pytest.mark.parametrize("protocol", ALL)
def test_reads_every_mail_oldest_first_byte_for_byte(server, protocol):
    sent = [bounce(1), bounce(2, AWKWARD), bounce(3)]
    for raw in sent:
        server.deliver(raw)
    # A mail an MDA wrote with bare LF: the servers give it with CRLF, as on the wire.
    server.deliver(b"From: a@example.net\nSubject: bare LF\n\nline one\nline two\n")

    with open_mailbox(server.url(protocol)) as box:
        items = list(box.items())
        again = [item.ref for item in box.items()]

    assert [item.raw for item in items[:3]] == sent
    assert items[3].raw == b"From: a@example.net\r\nSubject: bare LF\r\n\r\nline one\r\nline two\r\n"
    message = email.message_from_bytes(items[1].raw)
    assert message["Subject"] == "Undelivered Mail Returned to Sender 2"
    assert "5.1.1 用户不存在" in message.get_payload(decode=True).decode("utf-8")
    refs = [item.ref for item in items]
    assert len(set(refs)) == 4 and again == refs  # stable ids, the same on a second read
    assert box.name.startswith(f"{protocol}://{server.user}@127.0.0.1:") and "p%40ss" not in box.name


@pytest.mark.parametrize("protocol", ALL)
def test_limit_reads_only_the_oldest(server, protocol):
    for n in range(1, 6):
        server.deliver(bounce(n))
    with open_mailbox(server.url(protocol)) as box:
        items = list(box.items(limit=2))
    assert [item.raw for item in items] == [bounce(1), bounce(2)]


@pytest.mark.parametrize("protocol", IMAP)
def test_finish_moves_mail_into_the_processed_folder(server, protocol):
    for n in range(1, 4):
        server.deliver(bounce(n))

    with open_mailbox(server.url(protocol)) as box:
        assert box.keeps_processed is False
        first, second, third = box.items()
        box.finish([first.ref, second.ref])
        assert [item.raw for item in box.items()] == [bounce(3)]
        box.finish([third.ref])  # the folder exists now: it is reused
        assert list(box.items()) == []

    moved = server.files("Processed")
    assert sorted(path.read_bytes() for path in moved) == [bounce(1), bounce(2), bounce(3)]
    assert server.files("INBOX") == []
    with open_mailbox(server.url(protocol)) as box:
        assert list(box.items()) == []


def test_finish_without_move_copies_and_expunges(server):
    """A server without MOVE or UIDPLUS: UID COPY, \\Deleted, EXPUNGE."""
    for n in range(1, 4):
        server.deliver(bounce(n))
    with open_mailbox(server.url("imaps"), processed_folder="Done") as box:
        # Dovecot offers both: take them away from what the adapter knows to reach the fallback.
        box._capabilities -= {"MOVE", "UIDPLUS"}
        items = list(box.items())
        box.finish([items[0].ref, items[2].ref])
        assert [item.raw for item in box.items()] == [bounce(2)]
    assert sorted(path.read_bytes() for path in server.files("Done")) == [bounce(1), bounce(3)]
    assert [path.read_bytes() for path in server.files("INBOX")] == [bounce(2)]


def test_a_chinese_processed_folder_is_named_in_modified_utf7(server):
    server.deliver(bounce(1))
    with open_mailbox(server.url("imaps"), processed_folder="已处理") as box:
        box.finish([item.ref for item in box.items()])
    # Dovecot keeps Maildir++ folder names in modified UTF-7 on disk, as IMAP spells them (RFC 3501 5.1.3).
    assert mailbox_name("已处理") == '"&XfJZBHQG-"'
    assert [path.read_bytes() for path in server.files("&XfJZBHQG-")] == [bounce(1)]


@pytest.mark.parametrize("protocol", ["imap", "pop3s"])
def test_delete_mode_removes_processed_mail(server, protocol):
    for n in range(1, 4):
        server.deliver(bounce(n))
    with open_mailbox(server.url(protocol), delete_processed=True) as box:
        assert box.keeps_processed is False
        items = list(box.items())
        box.finish([items[0].ref, items[1].ref])
        assert [item.raw for item in box.items()] == [bounce(3)]
    assert [path.read_bytes() for path in server.files("INBOX")] == [bounce(3)]
    assert not server.folder("Processed").exists()


@pytest.mark.parametrize("protocol", ["pop3", "pop3s"])
def test_pop3_without_delete_keeps_the_mail(server, protocol):
    server.deliver(bounce(1))
    with open_mailbox(server.url(protocol)) as box:
        assert box.keeps_processed is True
        [item] = box.items()
        box.finish([item.ref])
    with open_mailbox(server.url(protocol)) as box:
        assert [(i.ref, i.raw) for i in box.items()] == [(item.ref, bounce(1))]
    assert len(server.files("INBOX")) == 1


def test_refs_from_before_a_uidvalidity_change_move_nothing(server):
    server.deliver(bounce(1))
    with open_mailbox(server.url("imaps")) as box:
        [item] = box.items()
        validity, _, uid = item.ref.partition(":")
        with pytest.raises(MailboxError, match="UIDVALIDITY") as caught:
            box.finish([f"{int(validity) + 1}:{uid}"])
    assert "127.0.0.1" in str(caught.value)
    assert len(server.files("INBOX")) == 1 and not server.folder("Processed").exists()


@pytest.mark.parametrize("protocol", ALL)
def test_a_wrong_password_names_the_host_never_the_password(server, protocol):
    url = server.url(protocol).replace("p%40ss", "wrong%40pass", 1)
    with pytest.raises(MailboxError) as caught:
        open_mailbox(url)
    message = str(caught.value)
    assert f"127.0.0.1:{server.ports[protocol]}" in message and f"logging in as {server.user}" in message
    assert "wrong" not in message and "p@ss" not in message and "%40" not in message


@pytest.mark.parametrize("protocol", ALL)
def test_an_untrusted_certificate_fails_unless_trusted_or_insecure(server, protocol):
    server.deliver(bounce(1))
    with pytest.raises(MailboxError, match=r"not trusted.*cafile") as caught:
        open_mailbox(server.url(protocol, cafile=""))  # the system's CAs only
    assert f"127.0.0.1:{server.ports[protocol]}" in str(caught.value)
    with open_mailbox(server.url(protocol, cafile="", insecure="1")) as box:
        assert [item.raw for item in box.items()] == [bounce(1)]


def test_a_missing_folder_is_named(server):
    with pytest.raises(MailboxError) as caught:
        open_mailbox(server.url("imaps", folder="Bounces"))
    assert "(Bounces)" in str(caught.value) and "127.0.0.1" in str(caught.value)


def test_an_unreachable_server_is_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: the connection is refused
        with pytest.raises(MailboxError, match=f"connecting over IMAP at 127.0.0.1:{port}.*refused"):
            open_mailbox(f"imaps://u:secret@127.0.0.1:{port}/INBOX", timeout=5)


def test_500_mails_take_a_handful_of_round_trips(server, monkeypatch):
    sent = [bounce(n) for n in range(500)]
    for raw in sent:
        server.deliver(raw)
    commands: list[str] = []
    send = imaplib.IMAP4._command

    def counted(self, name, *args):
        commands.append(name if name != "UID" else f"UID {args[0]}")
        return send(self, name, *args)

    monkeypatch.setattr(imaplib.IMAP4, "_command", counted)
    with open_mailbox(server.url("imaps")) as box:
        commands.clear()  # the login and the select
        items = list(box.items())
        box.finish([item.ref for item in items])

    assert [item.raw for item in items] == sent
    assert commands.count("UID FETCH") == -(-500 // FETCH_CHUNK) == 2
    assert commands.count("UID MOVE") == 1
    assert len(commands) <= 8, commands
    assert len(server.files("Processed")) == 500 and server.files("INBOX") == []


def test_pop3_retrieves_500_mails_pipelined(server, monkeypatch):
    sent = [bounce(n) for n in range(500)]
    for raw in sent:
        server.deliver(raw)
    batches: list[int] = []
    pipelined = pop3._pipelined

    def counted(pop, commands, multiline):
        batches.append(len(commands))
        return pipelined(pop, commands, multiline)

    monkeypatch.setattr(pop3, "_pipelined", counted)
    with open_mailbox(server.url("pop3s")) as box:
        items = list(box.items())
    assert [item.raw for item in items] == sent
    # Each batch is one write of its RETRs, then their replies: a handful of round trips, not 500.
    assert sum(batches) == 500 and len(batches) <= 10


@pytest.mark.parametrize("protocol", ["imaps", "pop3s-delete", "imap-delete"])
def test_finish_between_the_items_of_one_read(server, protocol):
    """The poll finishes each chunk while it goes on reading: what follows still comes, once."""
    protocol, _, delete = protocol.partition("-")
    for n in range(1, 8):
        server.deliver(bounce(n))
    read = []
    with open_mailbox(server.url(protocol), delete_processed=bool(delete)) as box:
        chunk = []
        for item in box.items():
            read.append(item.raw)
            chunk.append(item.ref)
            if len(chunk) == 3:
                box.finish(chunk)
                chunk = []
        box.finish(chunk)
    assert read == [bounce(n) for n in range(1, 8)]
    assert server.files("INBOX") == []
    assert len(server.files("Processed")) == (0 if delete else 7)
