"""Mail a relay and the recipients' side send back after a send, built from what the SMTP server received:
a Postfix-shaped DSN (RFC 3464), an ARF complaint (RFC 5965), an out-of-office reply (RFC 3834), and the mail a
client sends to a List-Unsubscribe mailto address. For end-to-end tests of the delivery loop."""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid
from urllib.parse import unquote, urlsplit

from smtpserver import Received

RELAY = "mx.relay.example.net"


def _headers_of(received: Received) -> Message:
    return message_from_bytes(received.data, policy=policy.compat32)


def _report(head: dict[str, str], report_type: str, parts: list[tuple[str, bytes]]) -> bytes:
    """A multipart/report written out by hand, as MTAs write them: each part's bytes as given."""
    boundary = "=_report_" + make_msgid().strip("<>").split("@")[0].replace(".", "_")
    lines = [f"{name}: {value}" for name, value in head.items()]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
    ]
    out = "\r\n".join(lines).encode()
    for content_type, body in parts:
        out += f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        out += body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").rstrip(b"\r\n") + b"\r\n"
    return out + f"\r\n--{boundary}--\r\n".encode()


def dsn(received: Received, status: str, diagnostic: str, at: datetime) -> bytes:
    """The non-delivery report a relay sends to the envelope sender (the VERP return path), Postfix's shape."""
    recipient = received.rcpt_tos[0]
    action = "failed" if status.startswith("5") else "delayed"
    head = {
        "From": f"MAILER-DAEMON@{RELAY} (Mail Delivery System)",
        "To": received.mail_from,
        "Subject": "Undelivered Mail Returned to Sender",
        "Date": format_datetime(at),
        "Message-ID": make_msgid(domain=RELAY),
        "Auto-Submitted": "auto-replied",
    }
    human = f"Your message could not be delivered to one or more recipients.\n\n<{recipient}>: {diagnostic}\n"
    fields = (
        f"Reporting-MTA: dns; {RELAY}\nArrival-Date: {format_datetime(at)}\n\n"
        f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n"
        f"Action: {action}\nStatus: {status}\nRemote-MTA: dns; mx.{recipient.split('@')[1]}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n"
    )
    headers = received.data.split(b"\r\n\r\n", 1)[0]
    parts = [
        ("text/plain; charset=us-ascii", human.encode()),
        ("message/delivery-status", fields.encode()),
        ("text/rfc822-headers", headers),
    ]
    return _report(head, "delivery-status", parts)


def complaint(received: Received, at: datetime, reporter: str = "feedback.yahoo.example") -> bytes:
    """An ARF report a mailbox provider's feedback loop sends for a message its user marked as spam."""
    head = {
        "From": f"Complaints <complaints@{reporter}>",
        "To": received.mail_from,
        "Subject": "FW: abuse report",
        "Date": format_datetime(at),
        "Message-ID": make_msgid(domain=reporter),
    }
    feedback = (
        f"Feedback-Type: abuse\nUser-Agent: ExampleFBL/1.0\nVersion: 1\n"
        f"Original-Mail-From: <{received.mail_from}>\nArrival-Date: {format_datetime(at)}\n"
        f"Reported-Domain: {received.mail_from.split('@')[1]}\n"
    )
    # Providers redact the recipient in the returned copy; the VERP return path still names the delivery.
    headers = received.data.split(b"\r\n\r\n", 1)[0]
    original = re.sub(rb"(?m)^To: .*$", b"To: redacted@" + reporter.encode(), headers)
    parts = [
        ("text/plain; charset=us-ascii", b"This is an email abuse report for a message one of our users received.\n"),
        ("message/feedback-report", feedback.encode()),
        ("text/rfc822-headers", original),
    ]
    return _report(head, "feedback-report", parts)


def out_of_office(received: Received, at: datetime) -> bytes:
    """A vacation reply from the recipient's mailbox, to the envelope sender (RFC 3834)."""
    original = _headers_of(received)
    reply = EmailMessage()
    reply["From"] = received.rcpt_tos[0]
    reply["To"] = received.mail_from
    reply["Subject"] = "自动回复：休假中"
    reply["Date"] = format_datetime(at)
    reply["Message-ID"] = make_msgid(domain="example.cn")
    reply["Auto-Submitted"] = "auto-replied"
    reply["In-Reply-To"] = original["Message-ID"]
    reply.set_content("您好，我正在休假，12月10日返回。\n")
    return reply.as_bytes(policy=policy.SMTP)


def mailto_unsubscribe(received: Received, at: datetime) -> bytes:
    """What a mail client sends when its user clicks the List-Unsubscribe mailto link: the address and subject
    the link gives, from the subscriber."""
    original = _headers_of(received)
    header = " ".join(str(original["List-Unsubscribe"]).split())
    link = next(part for part in re.findall(r"<([^>]+)>", header) if part.startswith("mailto:"))
    target = urlsplit(link)
    subject = unquote(dict(p.split("=", 1) for p in target.query.split("&"))["subject"])
    mail = EmailMessage()
    mail["From"] = received.rcpt_tos[0]
    mail["To"] = unquote(target.path)
    mail["Subject"] = subject
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = make_msgid(domain="example.cn")
    mail.set_content("This message was sent to unsubscribe.\n")
    return mail.as_bytes(policy=policy.SMTP)
