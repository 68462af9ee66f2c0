"""A message's headers, checked, encoded and folded as the stdlib generator writes them, and its MIME boundary.

Both writers (`wire.write_message` and the stdlib reference in `reference`) take
these lines as they are: the stdlib's header objects would parse and refold each
one per message, which cost more than everything else a message needs.
Encoding stays the stdlib's own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import Charset
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache
from typing import NamedTuple

from digest.core.clock import SYSTEM_CLOCK
from digest.core.domain import ListInfo, Recipient
from digest.core.faults import RecipientError, SettingError

HeaderLines = list[tuple[str, str]]


@dataclass(frozen=True)
class MessageHeaders:
    """Who a message is from and to, and what identifies it: everything in its headers but the subject.

    `message_id` and `date` default to a fresh one and now (the system clock: senders
    pass their settings' clock); `boundary` pins the MIME boundary (tests), else each
    message gets a random one.
    """

    list_info: ListInfo
    recipient: Recipient
    list_id_domain: str
    message_id: str | None = None
    date: datetime | None = None
    extra_headers: Mapping[str, str] | None = None
    boundary: str | None = None


# One Charset for every encoded word: formataddr would make one per call.
_UTF8 = Charset("utf-8")
_LIST_LABEL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# local@domain in plain ASCII: what SMTP envelopes and these headers carry.
_ADDR_SPEC = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
# Printable ASCII but the colon (RFC 5322 ftext), and not starting with a dot: no line the
# writers make starts with one, so transports need not look for one (RFC 5321 4.5.2).
_HEADER_NAME = re.compile(r"[!-\-/-9;-~][!-9;-~]*")
# RFC 2046: 1 to 70 bchars, the last not a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_RESERVED = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    )
)
# Every ASCII character str.splitlines() ends a line at. The stdlib generator
# splits header values there and writes each piece on a line of its own, so any
# of them in a value would let data write headers of its own.
_LINE_BREAK = re.compile(r"[\r\n\v\f\x1c\x1d\x1e]")


def _one_line(what: str, value: str | None, fault: type[ValueError] = ValueError) -> str:
    # isprintable() first: it is quicker and true of nearly every value.
    if value is not None and not value.isprintable() and _LINE_BREAK.search(value):
        raise fault(f"{what} contains a line break: {value!r}")
    return value or ""


class _Fields(NamedTuple):
    """The header values, each checked to be one line."""

    subject: str
    sender_name: str
    sender_email: str
    reply_to: str
    to_name: str
    to_email: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    list_name: str
    domain: str


def _checked(headers: MessageHeaders, subject: str) -> _Fields:
    # What is wrong with the list or the site stops a send (SettingError); only the
    # recipient's own name and address fail their delivery alone (RecipientError).
    info, recipient = headers.list_info, headers.recipient
    of_list = f"list {info.slug!r}: "
    return _Fields(
        _one_line(of_list + "subject", subject, SettingError),
        _one_line(of_list + "sender name", info.sender_name or info.name, SettingError),
        _one_line(of_list + "sender address", info.sender_email, SettingError),
        _one_line(of_list + "Reply-To", info.reply_to, SettingError),
        _one_line("recipient name", recipient.name, RecipientError),
        _one_line("recipient address", recipient.email, RecipientError),
        _one_line("unsubscribe URL (DIGEST_BASE_URL)", recipient.unsubscribe_url, SettingError),
        _one_line(of_list + "unsubscribe mailto", recipient.unsubscribe_mailto, SettingError),
        _one_line(of_list + "list name", info.name, SettingError),
        _one_line("List-Id domain (DIGEST_BASE_URL)", headers.list_id_domain, SettingError).strip().strip("."),
    )


def header_lines(headers: MessageHeaders, subject: str) -> tuple[HeaderLines, str]:
    """The message's headers, encoded and folded as the generator writes them, and its MIME boundary."""
    fields = _checked(headers, subject)
    list_label = _list_label(headers.list_info, fields.domain)
    date = _date_line(headers.date)
    message_id = _message_id(headers.message_id, fields.domain)
    boundary = _boundary(headers.boundary)
    lines = _addresses(fields, headers.list_info.slug)
    lines += [
        ("Subject", _unstructured("Subject", fields.subject)),
        ("Date", date),
        ("Message-ID", message_id),
        ("List-Id", _list_id(fields.list_name, list_label)),
    ]
    lines += _unsubscribe_lines(fields.unsubscribe_url, fields.unsubscribe_mailto)
    lines += _extra_lines(headers.extra_headers)
    lines += [
        ("MIME-Version", "1.0"),
        # Folded as the generator would fold it, so both writers agree.
        ("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'),
    ]
    return lines, boundary


def _addresses(fields: _Fields, slug: str) -> HeaderLines:
    try:
        sender = _address(fields.sender_name, fields.sender_email)
    except ValueError as exc:
        raise SettingError(f"list {slug!r}: sender {exc}") from None
    try:
        to = _address(fields.to_name, fields.to_email)
    except ValueError as exc:
        raise RecipientError(f"recipient {exc}") from None
    lines = [("From", _fold_before_angle("From", sender)), ("To", _fold_before_angle("To", to))]
    if fields.reply_to:
        lines.append(("Reply-To", _unstructured("Reply-To", fields.reply_to)))
    return lines


def _list_label(info: ListInfo, domain: str) -> str:
    label = f"{info.slug}.{domain}"
    if not _LIST_LABEL.fullmatch(label):
        raise SettingError(f"cannot make a List-Id from {label!r}")
    return label


def _date_line(date: datetime | None) -> str:
    if date is None:
        # Whole seconds, as the header has them, so that _date can reuse its work.
        date = SYSTEM_CLOCK.now().replace(microsecond=0)
    elif date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the Date header needs an aware datetime")
    return _date(date, date.utcoffset())


def _message_id(message_id: str | None, domain: str) -> str:
    if message_id is None:
        return make_msgid(domain=domain)
    message_id = _one_line("Message-ID", message_id, SettingError).strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def _boundary(boundary: str | None) -> str:
    if boundary is None:
        return f"=_digest_{uuid.uuid4().hex}"
    if not isinstance(boundary, str) or not _BOUNDARY.fullmatch(boundary) or "=?" in boundary:
        # "=?" could start an RFC 2047 encoded word, which the stdlib's parser decodes
        # even inside quotes: the generator would write delimiters the header does not name.
        raise ValueError(
            "a MIME boundary is 1 to 70 of A-Z a-z 0-9 '()+_,-./:=? and space (RFC 2046),"
            f" not ending in a space and without '=?'; got {boundary!r}"
        )
    return boundary


def _unsubscribe_lines(url: str, mailto: str) -> HeaderLines:
    lines = []
    targets = [f"<{u}>" for u in (url, mailto) if u]
    if targets:
        # Folded between its <URL>s and nowhere else (see reference._ListUnsubscribeHeader).
        lines.append(("List-Unsubscribe", ",\r\n ".join(targets)))
    if url.startswith("https://"):
        # RFC 8058: one-click only makes sense with an HTTPS URI to POST to.
        lines.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return lines


def _extra_lines(extra_headers: Mapping[str, str] | None) -> HeaderLines:
    lines = []
    for name, value in (extra_headers or {}).items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED:
            raise ValueError(f"not an extra header this builder accepts: {name!r}")
        lines.append((name, _unstructured(name, _one_line(name, value))))
    return lines


# Memo of a pure function of its arguments: the sender and most recipients' names repeat across a send.
@lru_cache(maxsize=1024)
def _address(name: str, addr_spec: str) -> str:
    if not _ADDR_SPEC.fullmatch(addr_spec):
        raise ValueError(f"not an address this builder accepts: {addr_spec!r}")
    return formataddr((name, addr_spec), charset=_UTF8) if name else addr_spec


def _fold_before_angle(name: str, value: str) -> str:
    """`Name <addr>` longer than a 78-column line folds before the <, where the generator would."""
    if len(name) + 2 + len(value) <= 78 or " <" not in value:
        return value
    phrase, _, angle = value.rpartition(" <")
    return f"{phrase}\r\n <{angle}"


# Memo of a pure function of its arguments: a send encodes the same few subjects for every message.
@lru_cache(maxsize=1024)
def _unstructured(name: str, value: str) -> str:
    """ASCII as it is when it fits; otherwise RFC 2047 encoded words, folded to 78 columns."""
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


# Memo of a pure function of its arguments: one list per send.
@lru_cache(maxsize=64)
def _list_id(list_name: str, list_label: str) -> str:
    # formataddr encodes a Chinese list name as an encoded word outside any quotes,
    # which is what RFC 2919's phrase allows; the <label> stays plain ASCII.
    return _fold_before_angle("List-Id", formataddr((list_name, list_label), charset=_UTF8))


# Memo of a pure function of its arguments: a send dates many messages in the same second.
@lru_cache(maxsize=64)
def _date(date: datetime, utcoffset: timedelta) -> str:
    # The offset is in the key because the same instant in another zone is an equal datetime.
    return format_datetime(date)
