"""A rendered digest and its recipient as an RFC 5322 message with RFC 2369/2919/8058 list headers.

Builds, never sends: transports take the EmailMessage (or `message_bytes`). The
sending path uses `message_wire`, which writes the same bytes straight from parts
already encoded (`digest.core.prepared`).
"""

from __future__ import annotations

import binascii
import email.policy
import re
import struct
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.charset import Charset
from email.header import Header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple, cast

from digest.core.clock import SYSTEM_CLOCK
from digest.core.domain import ListInfo, Recipient, RenderedDigest
from digest.core.faults import RecipientError, SettingError

_ANGLED = re.compile(r"<[^<>\s]*>")

if TYPE_CHECKING:
    # HeaderRegistry uses a class of its own that mixes BaseHeader into the one it is given
    # (name, fold): this is that mix, for the type checker.
    class _UnstructuredBase(UnstructuredHeader, BaseHeader): ...

else:
    _UnstructuredBase = UnstructuredHeader


class _ListUnsubscribeHeader(_UnstructuredBase):
    """List-Unsubscribe folded between its <URL>s and nowhere else.

    The generic folder breaks a URL longer than a line into encoded words,
    which no mail provider decodes in this header: the one-click button would
    silently vanish. A long line (up to 998 octets) is allowed; a broken URL is not.
    """

    def fold(self, *, policy: email.policy.Policy) -> str:
        items = _ANGLED.findall(str(self))
        if not items:
            return super().fold(policy=policy)
        return f"{self.name}: " + ("," + policy.linesep + " ").join(items) + policy.linesep


# One Charset for every encoded word: formataddr would make one per call.
_UTF8 = Charset("utf-8")

_header_registry = HeaderRegistry()
_header_registry.map_to_type("list-unsubscribe", _ListUnsubscribeHeader)

# SMTP: CRLF and 78-column headers. 7bit: bodies go as quoted-printable or
# base64, so no line exceeds 998 octets and no relay needs 8BITMIME.
POLICY = email.policy.SMTP.clone(cte_type="7bit", header_factory=_header_registry)

_LIST_LABEL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# local@domain in plain ASCII: what SMTP envelopes and these headers carry.
_ADDR_SPEC = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII but the colon (RFC 5322 ftext)
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


def build_message(
    rendered: RenderedDigest,
    *,
    list_info: ListInfo,
    recipient: Recipient,
    list_id_domain: str,
    message_id: str | None = None,
    date: datetime | None = None,
    extra_headers: Mapping[str, str] | None = None,
    boundary: str | None = None,
) -> EmailMessage:
    """multipart/alternative (text, then HTML), UTF-8, with the list headers providers expect.

    `boundary` pins the MIME boundary (tests); by default each message gets a random one.
    """
    headers, boundary = _headers(
        rendered.subject, list_info, recipient, list_id_domain, message_id, date, extra_headers, boundary
    )
    return _message(headers, boundary, [_text_part(rendered.text, "plain"), _text_part(rendered.html, "html")])


def message_wire(
    subject: str,
    text_payload: bytes,
    html_payload: bytes,
    *,
    list_info: ListInfo,
    recipient: Recipient,
    list_id_domain: str,
    message_id: str | None = None,
    date: datetime | None = None,
    boundary: str | None = None,
) -> bytes:
    """What `message_bytes(build_message(...))` gives, for parts already base64-encoded.

    Each payload is base64 in lines of at most 76 characters, each ending in CRLF
    (as `digest.core.prepared` writes them). The sending path builds a message this way:
    no EmailMessage is made unless the generator would write a header differently.
    """
    headers, boundary = _headers(subject, list_info, recipient, list_id_domain, message_id, date, None, boundary)
    payloads = ((text_payload, "plain"), (html_payload, "html"))
    for payload, _ in payloads:
        if payload and not payload.endswith(b"\r\n"):
            raise ValueError("a part's base64 payload must be whole lines ending in CRLF")
    written = [_written(name, value) for name, value in headers]
    if None in written:
        parts = [_encoded_part(payload.decode("ascii"), subtype) for payload, subtype in payloads]
        return message_bytes(_message(headers, boundary, parts))
    head = "".join(cast("list[str]", written))  # no None in it: checked above
    out = [head.encode("ascii"), b"\r\n"]
    separator = f"--{boundary}\r\n".encode("ascii")
    for payload, subtype in payloads:
        out += [separator, _part_head(subtype).encode("ascii"), b"\r\n", payload, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    return _as_wire(head, b"".join(out))


def _as_wire(head: str, data: bytes) -> bytes:
    # Base64 lines and boundaries never start with a dot; a header line could (an extra header's name).
    return WireMessage(data) if not head.startswith(".") and "\n." not in head else data


class WireMessage(bytes):
    """Message bytes already in the form SMTP DATA carries: CRLF line ends only, no line starting with a dot.

    Transports can send such bytes as they are, without scanning them again.
    """

    __slots__ = ()


def _headers(
    subject: str,
    list_info: ListInfo,
    recipient: Recipient,
    list_id_domain: str,
    message_id: str | None,
    date: datetime | None,
    extra_headers: Mapping[str, str] | None,
    boundary: str | None,
) -> tuple[list[tuple[str, str]], str]:
    """The message's headers, encoded and folded as the generator writes them, and its MIME boundary."""
    # What is wrong with the list or the site stops a send (SettingError); only the
    # recipient's own name and address fail their delivery alone (RecipientError).
    of_list = f"list {list_info.slug!r}: "
    subject = _one_line(of_list + "subject", subject, SettingError)
    sender_name = _one_line(of_list + "sender name", list_info.sender_name or list_info.name, SettingError)
    sender_email = _one_line(of_list + "sender address", list_info.sender_email, SettingError)
    reply_to = _one_line(of_list + "Reply-To", list_info.reply_to, SettingError)
    to_name = _one_line("recipient name", recipient.name, RecipientError)
    to_email = _one_line("recipient address", recipient.email, RecipientError)
    unsubscribe_url = _one_line("unsubscribe URL (DIGEST_BASE_URL)", recipient.unsubscribe_url, SettingError)
    unsubscribe_mailto = _one_line(of_list + "unsubscribe mailto", recipient.unsubscribe_mailto, SettingError)
    list_name = _one_line(of_list + "list name", list_info.name, SettingError)
    domain = _one_line("List-Id domain (DIGEST_BASE_URL)", list_id_domain, SettingError).strip().strip(".")

    list_label = f"{list_info.slug}.{domain}"
    if not _LIST_LABEL.fullmatch(list_label):
        raise SettingError(f"cannot make a List-Id from {list_label!r}")
    if date is None:
        # Whole seconds, as the header has them, so that _date can reuse its work. Senders pass their
        # settings' clock; this is for callers that have no settings.
        date = SYSTEM_CLOCK.now().replace(microsecond=0)
    elif date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the Date header needs an aware datetime")
    if message_id is None:
        message_id = make_msgid(domain=domain)
    else:
        message_id = _one_line("Message-ID", message_id, SettingError).strip()
        if not message_id.startswith("<"):
            message_id = f"<{message_id}>"
    if boundary is None:
        boundary = f"=_digest_{uuid.uuid4().hex}"
    elif not isinstance(boundary, str) or not _BOUNDARY.fullmatch(boundary) or "=?" in boundary:
        # "=?" could start an RFC 2047 encoded word, which the stdlib's parser decodes
        # even inside quotes: the generator would write delimiters the header does not name.
        raise ValueError(
            "a MIME boundary is 1 to 70 of A-Z a-z 0-9 '()+_,-./:=? and space (RFC 2046),"
            f" not ending in a space and without '=?'; got {boundary!r}"
        )

    # Headers go in already encoded and folded (set_raw): the stdlib's header
    # objects would parse and refold each one per message, which cost more than
    # everything else a message needs. Encoding stays the stdlib's own.
    try:
        sender = _address(sender_name, sender_email)
    except ValueError as exc:
        raise SettingError(f"{of_list}sender {exc}") from None
    try:
        to = _address(to_name, to_email)
    except ValueError as exc:
        raise RecipientError(f"recipient {exc}") from None
    headers = [("From", _fold_before_angle("From", sender)), ("To", _fold_before_angle("To", to))]
    if reply_to:
        headers.append(("Reply-To", _unstructured("Reply-To", reply_to)))
    headers += [
        ("Subject", _unstructured("Subject", subject)),
        ("Date", _date(date, date.utcoffset())),
        ("Message-ID", message_id),
        ("List-Id", _list_id(list_name, list_label)),
    ]
    targets = [f"<{u}>" for u in (unsubscribe_url, unsubscribe_mailto) if u]
    if targets:
        # Folded between its <URL>s and nowhere else (see _ListUnsubscribeHeader).
        headers.append(("List-Unsubscribe", ",\r\n ".join(targets)))
    if unsubscribe_url.startswith("https://"):
        # RFC 8058: one-click only makes sense with an HTTPS URI to POST to.
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    for name, value in (extra_headers or {}).items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED:
            raise ValueError(f"not an extra header this builder accepts: {name!r}")
        headers.append((name, _unstructured(name, _one_line(name, value))))
    headers += [
        ("MIME-Version", "1.0"),
        # Folded as the generator would fold it, so both ways of writing the message agree.
        ("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'),
    ]
    return headers, boundary


def _message(headers: list[tuple[str, str]], boundary: str, parts: list[_PartWire]) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    for name, value in headers:
        msg.set_raw(name, value)
    msg.set_payload([p.part for p in parts])
    written = [_written(name, value) for name, value in headers]
    if None not in written:
        # Kept on the message itself (a copy keeps it too), so that message_bytes
        # can tell the message is still as built and write it without the generator.
        wire = _Wire(headers, "".join(cast("list[str]", written)), boundary, parts)
        msg._digest_wire = wire  # type: ignore[attr-defined]  # our own attribute on the stdlib's message
    return msg


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


@lru_cache(maxsize=1024)
def _unstructured(name: str, value: str) -> str:
    """ASCII as it is when it fits; otherwise RFC 2047 encoded words, folded to 78 columns."""
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


@lru_cache(maxsize=64)
def _list_id(list_name: str, list_label: str) -> str:
    # formataddr encodes a Chinese list name as an encoded word outside any quotes,
    # which is what RFC 2919's phrase allows; the <label> stays plain ASCII.
    return _fold_before_angle("List-Id", formataddr((list_name, list_label), charset=_UTF8))


@lru_cache(maxsize=64)
def _date(date: datetime, utcoffset: timedelta) -> str:
    # Cached: a send dates many messages in the same second. The offset is in the
    # key because the same instant in another zone is an equal datetime.
    return format_datetime(date)


class _PartWire(NamedTuple):
    """A text part as _text_part made it, and how message_bytes writes it."""

    part: MIMEPart
    headers: list[tuple[str, str]]  # as set raw on it
    head: str  # those headers as written
    body: str  # its payload: base64 lines ending in CRLF, written as they are


class _Wire(NamedTuple):
    """A message as build_message made it, and how message_bytes writes it while it stays so."""

    headers: list[tuple[str, str]]  # as set raw on it
    head: str  # those headers as written
    boundary: str
    parts: list[_PartWire]


def _text_part(body: str, subtype: str) -> _PartWire:
    # Base64: Chinese text grows by a third instead of threefold as quoted-printable,
    # the encoder runs in C, and no line comes near 998 octets. Text is CRLF inside too
    # (RFC 2046 canonical form).
    return _encoded_part(base64_lines(canonical_lines(body.encode("utf-8"))).decode("ascii"), subtype)


def canonical_lines(data: bytes) -> bytes:
    """UTF-8 text with CRLF line ends. UTF-8 leaves CR and LF single bytes, so this works on the encoded bytes."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    return data.replace(b"\n", b"\r\n")


def base64_lines(data: bytes) -> bytes:
    """`data` in base64 lines of 76 characters, each ending in CRLF, as the generator writes them.

    Encoded in one call, not one per line as base64.encodebytes does.
    """
    lines = _base64_lines(binascii.b2a_base64(data, newline=False))
    return b"\r\n".join(lines) + b"\r\n" if lines else b""


def _encoded_part(payload: str, subtype: str) -> _PartWire:
    """A text part whose payload is base64 lines ending in CRLF already."""
    content_type = f'text/{subtype}; charset="utf-8"'
    part = MIMEPart(policy=POLICY)
    part.set_raw("Content-Type", content_type)
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_payload(payload)
    headers = [("Content-Type", content_type), ("Content-Transfer-Encoding", "base64")]
    return _PartWire(part, headers, _part_head(subtype), payload)


@lru_cache(maxsize=8)
def _part_head(subtype: str) -> str:
    # Short ASCII lines, which the generator writes as they are.
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n'


def _base64_lines(encoded: bytes) -> list[bytes]:
    """`encoded` cut into lines of 76 characters, the last maybe shorter."""
    # Unpacking a run of 76-byte fields cuts up to 256 lines in one C call:
    # slicing them out one by one in Python cost as much as the encoding itself.
    lines: list[bytes] = []
    count, rest = divmod(len(encoded), 76)
    offset = 0
    while count:
        run = min(count, 256)
        lines += _fields_of_76(run).unpack_from(encoded, offset)
        offset += 76 * run
        count -= run
    if rest:
        lines.append(encoded[offset:])
    return lines


@lru_cache(maxsize=64)
def _fields_of_76(count: int) -> struct.Struct:
    return struct.Struct("76s" * count)


@lru_cache(maxsize=256)
def _written(name: str, value: str) -> str | None:
    """The header as the generator writes it when set raw, or None if it would rewrite it.

    The generator splits a value where str.splitlines() does, which is not only
    at CRLF, and refolds a header with a line over 78 columns: only List-Unsubscribe
    comes out of that unchanged, when already folded the way its class folds.
    Cached: most headers (sender, subject, list, date) repeat from message to message.
    """
    if value.isprintable():  # one line: no line break of any kind, no CRLF either
        fits = value.isascii() and len(name) + 2 + len(value) <= 78
        return f"{name}: {value}\r\n" if fits else None
    lines = value.split("\r\n")
    if not value.isascii() or value.splitlines() != lines:
        return None
    if len(name) + 2 + len(lines[0]) > 78 or max(map(len, lines)) > 78:
        unfolded = "".join(lines)
        # Its parser would decode anything like an encoded word before folding.
        if name.lower() != "list-unsubscribe" or "=?" in unfolded:
            return None
        if value != ",\r\n ".join(_ANGLED.findall(unfolded)):
            return None
    return f"{name}: {value}\r\n"


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line endings, folded headers.

    A message still as `build_message` left it is written from what that
    recorded: the stdlib generator would parse each header again only to write
    the same bytes, at a cost larger than building the message. Anything else,
    a message changed since, goes through the generator.
    """
    fast = _flatten_built(msg)
    return fast if fast is not None else msg.as_bytes(policy=POLICY)


def _flatten_built(msg: EmailMessage) -> bytes | None:
    wire: _Wire | None = getattr(msg, "_digest_wire", None)
    if wire is None or not msg.is_multipart() or msg.preamble is not None or msg.epilogue is not None:
        return None
    parts = msg.get_payload()
    if len(parts) != len(wire.parts) or list(msg.raw_items()) != wire.headers:
        return None
    out = [wire.head, "\r\n"]
    for part, built in zip(parts, wire.parts, strict=False):
        # _payload is private, but it is what the stdlib generator itself reads
        # to write a text part; get_payload() would first build a header object
        # for Content-Transfer-Encoding, which costs more than all of this.
        if part is not built.part or part._payload != built.body or list(part.raw_items()) != built.headers:  # type: ignore[attr-defined]  # private: see above
            return None
        out += ["--", wire.boundary, "\r\n", built.head, "\r\n", built.body, "\r\n"]
    out += ["--", wire.boundary, "--\r\n"]
    return _as_wire(wire.head, "".join(out).encode("ascii"))
