"""One inbound mail of the bounce mailbox read into events: what came back about which address and delivery.

Read in this order, cheapest and surest first, from one parse of the mail:

    1. a report: a DSN (RFC 3464) -> bounces; an ARF report (RFC 5965) -> a complaint; a read receipt -> an
       auto-reply
    2. a mail to the List-Unsubscribe mailto address whose subject carries a valid unsubscribe token
    3. an auto-reply by a sign no bounce carries (a program's header, Precedence, an "Automatic reply" subject)
    4. a bounce in another shape (from a delivery system, or a subject saying so): flufl.bounce, our own
       cues for Chinese notices, and the return path
    5. an auto-reply by RFC 3834's Auto-Submitted alone (bounces carry it too, hence after them)
    6. anything else, and an unsubscribe mail whose token does not hold: not understood, kept for a person

The return path (VERP, verp.py) the mail was sent to, wherever it appears in the headers or the returned
original, names the delivery; a forged one is no name at all. Events with neither an address nor a signed
name are dropped: there is nobody to apply them to.

A Reading with no events and no `unparsed_why` was understood and says nothing to act on: a delay warning,
a success notice, a "not spam" report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import Message
from urllib.parse import unquote

from digest.core.bounces import autoreply, nonstandard
from digest.core.bounces.events import EventKind, MailEvent
from digest.core.bounces.judging import Finding
from digest.core.bounces.mailtext import (
    MailParts,
    first_address,
    header_text,
    one_line,
    parse,
    parse_date,
    readable_head,
    sort_parts,
)
from digest.core.bounces.reports import Report, read_arf, read_dsn
from digest.core.bounces.verp import ReturnPath, find_return_paths, read_return_path
from digest.core.tokens import BadToken, TokenData, read_token

# Reply and forward prefixes mail programs put before a subject, in the languages our subscribers write.
_PREFIX = re.compile(r"^\s*(re|fw|fwd|aw|wg|sv|vs|回复|回覆|答复|转发|轉寄)\s*[:：]\s*", re.IGNORECASE)
_UNSUBSCRIBE_SUBJECT = re.compile(r"unsubscribe(?:(?:\s+|%20)(\S*))?\s*", re.IGNORECASE)
# The unsubscribe token in a returned original's List-Unsubscribe (links.py: /u/TOKEN, subject=unsubscribe%20TOKEN).
_LISTED_TOKEN = re.compile(r"(?:/u/|subject=unsubscribe(?:%20|\+))([A-Za-z0-9_.\-]{8,1000})", re.IGNORECASE)
_BOUNCES = (EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE, EventKind.COMPLAINT)


@dataclass(frozen=True)
class Reading:
    events: tuple[MailEvent, ...]  # what the mail says
    unparsed_why: str | None = None  # set when nothing could be read: why, one line (the mail waits for a person)
    message_id: str = ""  # the mail's own Message-ID (for raw_ref)
    subject: str = ""
    sender: str = ""


@dataclass(frozen=True, slots=True)
class _Mail:
    msg: Message
    head: bytes  # readable_head(raw): what is read
    secrets: tuple[str, ...]
    subject: str
    sender: str
    date: datetime | None


@dataclass(frozen=True, slots=True)
class _Understood:
    findings: tuple[Finding, ...] = ()
    why: str | None = None
    path: ReturnPath | None = None  # the valid return path the mail was sent to
    token: TokenData | None = None  # a valid unsubscribe token it carried


def read_mail(raw: bytes, *, secrets: Sequence[str], source: str = "mailbox", ref: str = "") -> Reading:
    """What one inbound mail says (`secrets`: the site's keys, the current last; `ref`: the mailbox's)."""
    head = readable_head(raw)
    msg = parse(head)
    message_id = one_line(str(msg.get("Message-ID") or ""))
    mail = _Mail(
        msg=msg,
        head=head,
        secrets=tuple(s for s in secrets if s),
        subject=header_text(msg, "Subject"),
        sender=first_address(msg, "From"),
        date=parse_date(header_text(msg, "Date")),
    )
    try:
        understood = _understand(mail)
    except Exception as error:  # a mail no reader foresaw: kept for a person, and the poll reads on
        understood = _Understood(why=one_line(f"could not be read: {type(error).__name__}: {error}"))
    identity = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    raw_ref = f"{ref} {identity}".strip()[:500]
    events: dict[str, MailEvent] = {}
    for finding in understood.findings:
        event = _event(finding, understood, source, identity, raw_ref)
        if event.key:
            events.setdefault(event.key, event)
    why = understood.why
    if not events and understood.findings and why is None:
        why = "a report naming no recipient and carrying no valid return path or token"
    return Reading(tuple(events.values()), why, message_id, mail.subject, mail.sender)


def _understand(mail: _Mail) -> _Understood:
    parts = sort_parts(mail.msg)
    fallback_why = None
    if parts.statuses:
        report = read_dsn(parts, mail.date)
        if report.findings or report.why is None:
            return _named(mail, parts, report)
        fallback_why = report.why  # a report with no recipient block: perhaps its text says more
    if parts.feedback:
        return _named(mail, parts, read_arf(parts, mail.msg, mail.date), with_token=True)
    if parts.receipts:
        return _auto_reply(mail, parts, f"read receipt: {mail.subject}")
    token = _unsubscribe_token(mail.subject)
    if token:
        data = _valid_token(mail.secrets, token)
        if data is not None:
            at = mail.date
            return _Understood((Finding(EventKind.UNSUBSCRIBE, mail.sender or None, "", "mailto", at),), token=data)
    if autoreply.plainly_automatic(mail.msg, mail.subject):
        return _auto_reply(mail, parts, mail.subject)
    if fallback_why or nonstandard.looks_like_bounce(mail.msg, mail.sender, mail.subject):
        path = _return_path(mail, parts)
        report = nonstandard.read_nonstandard(mail.msg, parts, mail.subject, at=mail.date, has_verp=path is not None)
        return _Understood(report.findings, report.why, path)
    if autoreply.auto_submitted(mail.msg):
        return _auto_reply(mail, parts, mail.subject)
    if token is not None:
        return _Understood(why="unsubscribe mail with an invalid token" if token else "unsubscribe mail with no token")
    if _return_path(mail, parts) is not None:
        return _Understood(why="mail to a return path that reads as no bounce and no auto-reply")
    return _Understood(why="not a bounce, a complaint, an auto-reply or an unsubscribe")


def _named(mail: _Mail, parts: MailParts, report: Report, *, with_token: bool = False) -> _Understood:
    """A report's findings with what names their delivery (the return path) and subscriber (a token)."""
    token = _listed_token(mail.secrets, parts) if with_token else None
    return _Understood(report.findings, report.why, _return_path(mail, parts), token)


def _auto_reply(mail: _Mail, parts: MailParts, detail: str) -> _Understood:
    finding = Finding(EventKind.AUTO_REPLY, mail.sender or None, "", one_line(detail), mail.date)
    return _Understood((finding,), None, _return_path(mail, parts))


def _event(finding: Finding, understood: _Understood, source: str, identity: str, raw_ref: str) -> MailEvent:
    path, token = understood.path, understood.token
    event = MailEvent(
        kind=finding.kind,
        key=_key(source, identity, finding.kind, finding.email),
        source=source,
        email=finding.email,
        status=finding.status[:16],
        detail=one_line(finding.detail),
        raw_ref=raw_ref,
        delivery_id=path.delivery_id if path else None,
        subscriber_id=token.subscriber_id if token else (path.subscriber_id if path else None),
        list_slug=token.list_slug if token else None,
        at=finding.at,
    )
    if finding.kind in _BOUNCES and not (event.email or event.delivery_id or event.subscriber_id):
        return replace(event, key="")  # nobody to apply it to: dropped below
    return event


def _key(source: str, identity: str, kind: EventKind, email: str | None) -> str:
    # The Message-ID (else the bytes' digest) makes reading the same mail twice give the same keys; the
    # recipient keeps the events of one mail apart.
    material = f"{source}\n{identity}\n{kind.value}\n{email or ''}".encode("utf-8", "replace")
    return "mail:" + hashlib.sha256(material).hexdigest()


def _return_path(mail: _Mail, parts: MailParts) -> ReturnPath | None:
    """The first valid return path in the mail's bytes (headers, the returned original), else in its
    decoded parts (an original returned base64-encoded). Forged or altered ones are passed over."""
    if not mail.secrets:
        return None
    candidates = find_return_paths(mail.head.decode("latin-1"))
    if not candidates:
        headers = (f"{name}: {value}" for original in parts.originals for name, value in original.items())
        decoded = [parts.notice(), *headers]
        candidates = find_return_paths("\n".join(decoded))
    for address in candidates:
        path = read_return_path(mail.secrets, address)
        if path is not None:
            return path
    return None


def _unsubscribe_token(subject: str) -> str | None:
    """The token of an `unsubscribe TOKEN` subject ("" when it has none); None for any other subject."""
    while (prefix := _PREFIX.match(subject)) is not None:
        subject = subject[prefix.end() :]
    match = _UNSUBSCRIBE_SUBJECT.fullmatch(subject.strip())
    if match is None:
        return None
    return unquote(match.group(1) or "")


def _valid_token(secrets: tuple[str, ...], token: str) -> TokenData | None:
    if not secrets:
        return None
    try:
        return read_token(secrets, token, "unsubscribe")
    except BadToken:
        return None


def _listed_token(secrets: tuple[str, ...], parts: MailParts) -> TokenData | None:
    """A valid unsubscribe token in a returned original's List-Unsubscribe: it names the subscriber even when
    the report has the address redacted."""
    for original in parts.originals:
        for match in _LISTED_TOKEN.finditer(str(original.get("List-Unsubscribe") or "")):
            data = _valid_token(secrets, match.group(1))
            if data is not None:
                return data
    return None
