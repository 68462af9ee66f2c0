"""Transports against a real Maildir and a real (strict, programmable) SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
import smtplib
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from smtpserver import start_server

from digest.adapters.transports import (
    DeliveryError,
    MaildirTransport,
    PermanentDeliveryError,
    SMTPTransport,
    TemporaryDeliveryError,
    data_form,
    open_transport,
)
from digest.adapters.transports.smtp import _quoted
from digest.core.messages import message_bytes

SENDER = "weekly@digest.example.org"


def message(to: str, n: int = 1) -> bytes:
    """A digest-like message in the form transports take, built with the stdlib alone (not digest.core.messages)."""
    return data_form(message_bytes(email_message(to, n)))


def email_message(to: str, n: int = 1) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"乡村振兴周报 <{SENDER}>"
    msg["To"] = f"王芳 <{to}>"
    msg["Subject"] = f"乡村振兴周报 第{n}期：湖南怀化产业发展"
    msg["Date"] = format_datetime(datetime(2021, 6, 21, 0, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="digest.example.org")
    msg["List-Id"] = "乡村振兴周报 <weekly.digest.example.org>"
    msg["List-Unsubscribe"] = "<https://digest.example.org/u/t>"
    msg.set_content(f"你好，第{n}期。\n")
    msg.add_alternative(f"<p>你好，第{n}期。</p>\n", subtype="html")
    return msg


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


# --- Maildir ---------------------------------------------------------------------------------


def test_maildir_messages_land_in_new_and_mailbox_reads_them(tmp_path):
    box = tmp_path / "outbox"
    sent = [message(f"u{i}@example.cn", i) for i in range(3)]
    with MaildirTransport(box) as transport:
        receipts = [transport.send(m, sender=SENDER, recipient=f"u{i}@example.cn") for i, m in enumerate(sent)]
    for sub in ("tmp", "new", "cur"):
        assert (box / sub).is_dir()
    assert list((box / "tmp").iterdir()) == []
    paths = [Path(r.where) for r in receipts]
    assert len(set(paths)) == 3
    for m, p in zip(sent, paths, strict=False):
        assert p.is_absolute() and p.exists() and p.parent == (box / "new").resolve()
        assert ":" not in p.name and p.suffix == ".eml"
        assert re.fullmatch(r"\d+\.M\d+P\d+Q\d+\..+\.eml", p.name)
        # The wire form with the local line ending, nothing lost or added.
        raw = p.read_bytes()
        assert raw == m.replace(b"\r\n", b"\n")
        assert b"\r" not in raw and max(len(line) for line in raw.split(b"\n")) <= 998

    md = mailbox.Maildir(box, create=False)
    assert len(md) == 3
    listed = sorted(
        (str(parse(md.get_bytes(k))["Subject"]), parse(md.get_bytes(k))["Message-ID"]) for k in md.iterkeys()
    )
    assert listed == sorted((str(parse(m)["Subject"]), parse(m)["Message-ID"]) for m in sent)
    assert all(str(s).startswith("乡村振兴周报 第") for s, _ in listed)


def test_two_maildir_transports_in_one_process_never_clash(tmp_path):
    box = tmp_path / "outbox"
    with MaildirTransport(box) as a, MaildirTransport(box) as b:
        where = {
            t.send(message("x@example.cn"), sender=SENDER, recipient="x@example.cn").where
            for _ in range(20)
            for t in (a, b)
        }
    assert len(where) == 40 and len(mailbox.Maildir(box, create=False)) == 40


def test_open_transport_without_url_is_maildir(tmp_path):
    with open_transport(None, tmp_path / "out") as transport:
        assert isinstance(transport, MaildirTransport)
    with open_transport("", tmp_path / "out") as transport:
        assert isinstance(transport, MaildirTransport)


# --- SMTP -----------------------------------------------------------------------------------


@pytest.fixture(params=["pipelining", "one-by-one"])
def smtp_server(request):
    """Every SMTP test here runs twice: with RFC 2920 pipelining offered, and without."""
    server = start_server(pipelining=request.param == "pipelining")
    yield server
    server.stop()


def test_many_messages_over_one_connection_arrive_byte_exact(smtp_server):
    addrs = [f"reader{i}@example.cn" for i in range(5)]
    sent = {}
    with SMTPTransport(smtp_server.url) as transport:
        for i, addr in enumerate(addrs):
            sent[addr] = message(addr, i)
            receipt = transport.send(sent[addr], sender=SENDER, recipient=addr)
            assert receipt.where == f"smtp://127.0.0.1:{smtp_server.port}"
            assert receipt.extra["response"].startswith("250 2.0.0 Ok: queued as Q")
    assert smtp_server.handler.connections == 1
    assert [m.rcpt_tos for m in smtp_server.messages] == [[a] for a in addrs]
    for m in smtp_server.messages:
        assert m.mail_from == SENDER
        assert m.data == sent[m.rcpt_tos[0]]
        lines = m.data.split(b"\r\n")
        assert lines[-1] == b"" and not any(b"\n" in line or b"\r" in line for line in lines)
        head = parse(m.data)
        for name in ("Date", "Message-ID", "From", "To", "Subject", "List-Id", "List-Unsubscribe"):
            assert head[name], name
        assert m.rcpt_tos[0] in str(head["To"])


def test_lines_that_start_with_a_dot_arrive_as_written(smtp_server):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SENDER, "dots@example.cn", "dots"
    msg["Date"], msg["Message-ID"] = format_datetime(datetime(2021, 6, 21, 0, 0, tzinfo=UTC)), make_msgid()
    # 7bit text keeps the dots at the start of lines on the wire, where SMTP must double them.
    msg.set_content(".hidden\n..two\n.\nend\n", cte="7bit")
    with SMTPTransport(smtp_server.url) as transport:
        transport.send(data_form(message_bytes(msg)), sender=SENDER, recipient="dots@example.cn")
    [received] = smtp_server.messages
    assert received.data == message_bytes(msg)
    assert parse(received.data).get_content().replace("\r\n", "\n") == ".hidden\n..two\n.\nend\n"


def test_permanent_rejection_then_the_next_message_goes_through(smtp_server):
    smtp_server.handler.fail_rcpt["gone@example.cn"] = (550, "5.1.1 no such user")
    with SMTPTransport(smtp_server.url) as transport:
        with pytest.raises(PermanentDeliveryError) as info:
            transport.send(message("gone@example.cn"), sender=SENDER, recipient="gone@example.cn")
        assert info.value.code == 550
        assert "no such user" in info.value.detail
        assert info.value.recipient == "gone@example.cn"
        transport.send(message("ok@example.cn"), sender=SENDER, recipient="ok@example.cn")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ok@example.cn"]]
    assert smtp_server.handler.connections == 1


def test_temporary_rejection(smtp_server):
    smtp_server.handler.fail_once["busy@example.cn"] = (451, "4.3.0 try later")
    with SMTPTransport(smtp_server.url) as transport:
        with pytest.raises(TemporaryDeliveryError) as info:
            transport.send(message("busy@example.cn"), sender=SENDER, recipient="busy@example.cn")
        assert info.value.code == 451
        assert isinstance(info.value, DeliveryError) and not isinstance(info.value, PermanentDeliveryError)
        # The server only deferred once: a later try (the next run) goes through.
        transport.send(message("busy@example.cn"), sender=SENDER, recipient="busy@example.cn")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["busy@example.cn"]]


def test_dropped_connection_reconnects_and_delivers_once(smtp_server):
    smtp_server.handler.drop_at_rcpt.add("flaky@example.cn")
    with SMTPTransport(smtp_server.url) as transport:
        transport.send(message("first@example.cn"), sender=SENDER, recipient="first@example.cn")
        receipt = transport.send(message("flaky@example.cn"), sender=SENDER, recipient="flaky@example.cn")
        assert receipt.extra["response"].startswith("250")
        transport.send(message("after@example.cn"), sender=SENDER, recipient="after@example.cn")
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["first@example.cn", "flaky@example.cn", "after@example.cn"]
    assert smtp_server.handler.connections == 2


def test_a_connection_dropped_twice_is_temporary_and_the_next_message_reconnects(smtp_server):
    smtp_server.handler.drop_at_rcpt_always.add("flaky@example.cn")
    with SMTPTransport(smtp_server.url) as transport:
        with pytest.raises(TemporaryDeliveryError, match="dropped") as info:
            transport.send(message("flaky@example.cn"), sender=SENDER, recipient="flaky@example.cn")
        assert info.value.recipient == "flaky@example.cn"
        assert smtp_server.handler.connections == 2  # the first, and exactly one more
        transport.send(message("next@example.cn"), sender=SENDER, recipient="next@example.cn")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["next@example.cn"]]
    assert smtp_server.handler.connections == 3


def test_a_hang_up_after_the_content_is_not_resent(smtp_server):
    # The server may have queued it before hanging up: resending could deliver it twice.
    smtp_server.handler.drop_at_data.add("maybe@example.cn")
    with SMTPTransport(smtp_server.url) as transport:
        with pytest.raises(TemporaryDeliveryError, match="during DATA") as info:
            transport.send(message("maybe@example.cn"), sender=SENDER, recipient="maybe@example.cn")
        assert info.value.recipient == "maybe@example.cn"
        assert smtp_server.handler.data_attempts == 1
        transport.send(message("next@example.cn"), sender=SENDER, recipient="next@example.cn")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["next@example.cn"]]


def test_a_421_after_the_content_is_retried_once_on_a_new_connection(smtp_server):
    smtp_server.handler.fail_data["busy@example.cn"] = (421, "4.3.2 shutting down")
    with SMTPTransport(smtp_server.url) as transport, pytest.raises(TemporaryDeliveryError):
        transport.send(message("busy@example.cn"), sender=SENDER, recipient="busy@example.cn")
    assert smtp_server.handler.data_attempts == 2
    assert smtp_server.handler.connections == 2
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    "code, text, kind",
    [
        (552, "5.3.4 message too big", PermanentDeliveryError),
        (554, "5.7.1 rejected as spam", PermanentDeliveryError),
        (452, "4.3.1 insufficient storage", TemporaryDeliveryError),
    ],
)
def test_refusals_after_the_content_keep_the_connection(smtp_server, code, text, kind):
    smtp_server.handler.fail_data["x@example.cn"] = (code, text)
    with SMTPTransport(smtp_server.url) as transport:
        with pytest.raises(kind) as info:
            transport.send(message("x@example.cn"), sender=SENDER, recipient="x@example.cn")
        assert (info.value.code, info.value.detail, info.value.recipient) == (code, text, "x@example.cn")
        transport.send(message("y@example.cn"), sender=SENDER, recipient="y@example.cn")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["y@example.cn"]]
    assert smtp_server.handler.connections == 1


def test_a_refused_sender_blames_no_recipient(smtp_server):
    smtp_server.handler.fail_mail[SENDER] = (550, "5.7.1 sender not allowed")
    with SMTPTransport(smtp_server.url) as transport, pytest.raises(PermanentDeliveryError) as info:
        transport.send(message("a@example.cn"), sender=SENDER, recipient="a@example.cn")
    assert info.value.code == 550
    assert info.value.recipient is None  # the caller stops the run instead of bouncing everyone


def test_the_envelope_is_pipelined_when_the_server_offers_it(smtp_server):
    with SMTPTransport(smtp_server.url) as transport:
        for i in range(3):
            transport.send(message(f"r{i}@example.cn"), sender=SENDER, recipient=f"r{i}@example.cn")
    assert len(smtp_server.messages) == 3
    # One write of MAIL, RCPT and DATA when offered; a command at a time when not.
    assert smtp_server.handler.pipelined_envelopes == (3 if smtp_server.handler.pipelining else 0)


def test_an_abandoned_transaction_delivers_nothing_and_the_next_one_goes_through(smtp_server):
    with SMTPTransport(smtp_server.url) as transport:
        transport.send(message("first@example.cn"), sender=SENDER, recipient="first@example.cn")
        envelope = transport.begin(sender=SENDER, recipient="dropped@example.cn")
        envelope.abandon()
        envelope.abandon()  # twice is harmless
        with pytest.raises(RuntimeError):
            envelope.deliver(message("dropped@example.cn"))
        transport.begin(sender=SENDER, recipient="next@example.cn").deliver(message("next@example.cn"))
    # SMTP cannot cancel DATA: the transport hangs up, and the server discards the transaction.
    assert [m.rcpt_tos for m in smtp_server.messages] == [["first@example.cn"], ["next@example.cn"]]
    assert smtp_server.handler.data_attempts == 2
    assert smtp_server.handler.connections == 2


def test_a_refused_envelope_raises_when_delivered_and_keeps_the_connection(smtp_server):
    smtp_server.handler.fail_rcpt["gone@example.cn"] = (550, "5.1.1 no such user")
    with SMTPTransport(smtp_server.url) as transport:
        envelope = transport.begin(sender=SENDER, recipient="gone@example.cn")  # no exception yet
        with pytest.raises(PermanentDeliveryError) as info:
            envelope.deliver(message("gone@example.cn"))
        assert (info.value.code, info.value.recipient) == (550, "gone@example.cn")
        transport.begin(sender=SENDER, recipient="gone@example.cn").abandon()  # nothing open, nothing to drop
        transport.send(message("ok@example.cn"), sender=SENDER, recipient="ok@example.cn")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ok@example.cn"]]
    assert smtp_server.handler.connections == 1


def test_a_maildir_file_holds_the_message_without_the_doubled_dots(tmp_path):
    raw = b"Subject: dots\r\n\r\n.hidden\r\n..two\r\n.\r\nend\r\n"
    receipt = MaildirTransport(tmp_path / "out").send(data_form(raw), sender=SENDER, recipient="dots@example.cn")
    assert Path(receipt.where).read_bytes() == raw.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(
    "raw, form",
    [
        (b"A: 1\r\n\r\nbody\r\n", b"A: 1\r\n\r\nbody\r\n"),
        (b"A: 1\n\nbody", b"A: 1\r\n\r\nbody\r\n"),
        (b"A: 1\r\rbody\r\n", b"A: 1\r\n\r\nbody\r\n"),
        (b"A: 1\r\n\r\n.x\r\n.\r\n", b"A: 1\r\n\r\n..x\r\n..\r\n"),
    ],
)
def test_data_form_ends_lines_in_crlf_and_doubles_leading_dots(raw, form):
    assert data_form(raw) == form


def test_bytes_in_data_form_go_out_as_they_are(smtp_server):
    raw = message("ready@example.cn")
    with SMTPTransport(smtp_server.url) as transport:
        transport.send(raw, sender=SENDER, recipient="ready+tag@example.cn")
    [received] = smtp_server.messages
    assert received.data == raw
    assert (received.mail_from, received.rcpt_tos) == (SENDER, ["ready+tag@example.cn"])


@pytest.mark.parametrize(
    "address",
    [
        "wang.fang@example.cn",
        "a+b.c@mail.example-cn.org",
        "o'brien@example.ie",
        "x@y",
        "a!#$%&'*+/=?^_`{|}~-z@e.cn",
        "Wang <wang@example.cn>",
        '"wang fang"@example.cn',
        "<>",
        "a..b@example.cn",
        ".a@example.cn",
        "a@",
        "a@b..c",
    ],
)
def test_envelope_addresses_are_written_as_smtplib_writes_them(address):
    assert _quoted(address) == smtplib.quoteaddr(address)


def test_connection_refused_is_temporary():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with SMTPTransport(f"smtp://127.0.0.1:{port}?timeout=5") as transport, pytest.raises(TemporaryDeliveryError):
            transport.send(message("a@example.cn"), sender=SENDER, recipient="a@example.cn")


def test_starttls_and_auth(smtp_tls_server):
    assert "?starttls=1&verify=0" in smtp_tls_server.url
    with SMTPTransport(smtp_tls_server.url) as transport:
        for i in range(2):
            transport.send(message(f"t{i}@example.cn", i), sender=SENDER, recipient=f"t{i}@example.cn")
    assert len(smtp_tls_server.messages) == 2
    assert smtp_tls_server.handler.connections == 1


def test_implicit_tls_and_auth(smtps_server):
    assert smtps_server.url.startswith("smtps://digest:s3cret@")
    with open_transport(smtps_server.url, Path("unused")) as transport:
        receipt = transport.send(message("s@example.cn"), sender=SENDER, recipient="s@example.cn")
    assert receipt.where == f"smtp://127.0.0.1:{smtps_server.port}"
    assert [m.rcpt_tos for m in smtps_server.messages] == [["s@example.cn"]]


def test_tls_is_verified_unless_the_url_says_not(smtp_tls_server):
    url = smtp_tls_server.url.replace("&verify=0", "")
    with SMTPTransport(url) as transport, pytest.raises(TemporaryDeliveryError, match="certificate"):
        transport.send(message("a@example.cn"), sender=SENDER, recipient="a@example.cn")
    assert smtp_tls_server.messages == []


def test_non_ascii_address_is_refused_before_any_connection(smtp_server):
    with SMTPTransport(smtp_server.url) as transport:
        with pytest.raises(PermanentDeliveryError) as info:
            transport.send(message("a@example.cn"), sender=SENDER, recipient="王芳@例子.中国")
        assert info.value.recipient == "王芳@例子.中国"
        with pytest.raises(PermanentDeliveryError) as info:
            transport.send(message("a@example.cn"), sender="周报@例子.中国", recipient="a@example.cn")
        assert info.value.recipient is None  # the list's sender is misconfigured, not the subscriber
    assert smtp_server.handler.connections == 0


def test_wrong_password_is_permanent_and_says_so(smtp_tls_server):
    url = smtp_tls_server.url.replace(":s3cret@", ":wrong@")
    with SMTPTransport(url) as transport, pytest.raises(PermanentDeliveryError) as info:
        transport.send(message("a@example.cn"), sender=SENDER, recipient="a@example.cn")
    assert info.value.code == 535
    assert "login" in str(info.value) and "wrong" not in str(info.value)
    assert info.value.recipient is None  # the account is at fault, not the address
    assert smtp_tls_server.messages == []


def test_starttls_required_but_not_offered(smtp_server):
    with (
        SMTPTransport(smtp_server.url + "?starttls=1") as transport,
        pytest.raises(PermanentDeliveryError, match="STARTTLS"),
    ):
        transport.send(message("a@example.cn"), sender=SENDER, recipient="a@example.cn")
    assert smtp_server.messages == []


def test_the_server_is_really_strict(smtp_server):
    good = message("a@example.cn")
    head, _ = good.split(b"\r\n\r\n", 1)
    bad = {
        "bare LF": head + b"\r\n\r\nline one\nline two\r\n",
        "bare CR": head + b"\r\n\r\nline one\rline two\r\n",
        "longer than 998": head + b"\r\n\r\n" + b"x" * 999 + b"\r\n",
        "non-ASCII": head + "\r\nX-Note: 中文\r\n\r\nbody\r\n".encode(),
        "missing header": head.replace(b"Message-ID:", b"X-Message-ID:") + b"\r\n\r\nbody\r\n",
    }
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        for why, data in bad.items():
            with pytest.raises(smtplib.SMTPDataError) as info:
                # smtplib.data() would leave bare LFs alone: send exactly these bytes.
                client.sendmail(SENDER, ["a@example.cn"], data)
            assert info.value.smtp_code in (500, 554), why
            client.rset()
        client.sendmail(SENDER, ["a@example.cn"], good)
    assert [m.data for m in smtp_server.messages] == [good]


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, host, port, user, password, starttls, implicit, verify",
    [
        ("smtp://mail.example.org", "mail.example.org", 25, None, None, False, False, True),
        (
            "smtp://u%40x.org:p%3Aw%2Fd@mail.example.org:587?starttls=1",
            "mail.example.org",
            587,
            "u@x.org",
            "p:w/d",
            True,
            False,
            True,
        ),
        ("smtps://mail.example.org", "mail.example.org", 465, None, None, False, True, True),
        ("smtps://u:p@127.0.0.1:2465?verify=0&timeout=5", "127.0.0.1", 2465, "u", "p", False, True, False),
    ],
)
def test_smtp_url_parsing(tmp_path, url, host, port, user, password, starttls, implicit, verify):
    transport = open_transport(url, tmp_path)
    assert isinstance(transport, SMTPTransport)
    assert (transport.host, transport.port, transport.user, transport.password) == (host, port, user, password)
    assert (transport.starttls, transport.implicit_tls, transport.verify) == (starttls, implicit, verify)
    assert transport.where == f"smtp://{host}:{port}"
    transport.close()  # never connected: closing is a no-op


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.org",
        "mail.example.org:25",
        "smtp://",
        "smtp://:25",
        "smtp://mail.example.org:notaport",
        "smtp://mail.example.org:70000",
        "smtp://mail.example.org:0",
        "smtp://mail.example.org?timeout=soon",
        "smtp://mail.example.org?starttls=maybe",
        "smtp://mail.example.org?tls=1",
    ],
)
def test_bad_smtp_urls_name_the_variable(tmp_path, url):
    with pytest.raises(ValueError, match="DIGEST_SMTP_URL"):
        open_transport(url, tmp_path)


def test_bad_url_errors_do_not_show_the_password(tmp_path):
    with pytest.raises(ValueError) as info:
        open_transport("smtp://user:hunter2@mail.example.org:bad", tmp_path)
    assert "hunter2" not in str(info.value)
