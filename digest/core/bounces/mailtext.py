"""A parsed inbound mail as text: its headers decoded, its parts sorted by what they are, its bodies decoded.

Parsed once with the standard library's compat32 parser (the fastest of its policies, and the one
flufl.bounce expects); everything else reads the `MailParts` made from that one parse.
"""

from __future__ import annotations

import binascii
import quopri
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

# GB 18030 reads everything GB 2312 and GBK do (Chinese mail often names the smaller set and uses the larger);
# "unknown-8bit" is how compat32 labels raw 8-bit header bytes, which are UTF-8 far more often than not.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "unknown-8bit": "utf-8",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}
_SPACES = re.compile(r"\s+")
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'"}
_ENTITY = re.compile("|".join(_ENTITIES))
# Past this a notification is its returned copy or an attachment: nothing a bouncing server writes is this long.
TEXT_LIMIT = 32_000
_PARSER = BytesParser(policy=compat32)
_HEADER_PARSER = HeaderParser(policy=compat32)


# What is read of a mail: a notice, a delivery-status or feedback part, and the returned original's headers all
# come before the returned original's body (RFC 3464 and 5965 put the original last, and other bounces follow
# suit), and that body, our own digest, is most of a bounce's bytes and tells nothing. Parsing costs by the line.
HEAD_LIMIT = 64_000
_ORIGINAL_HEADERS = 16_000
_REPORT_PARTS = (b"message/delivery-status", b"message/feedback-report")


def readable_head(raw: bytes) -> bytes:
    """The start of `raw` that holds all we read: up to the returned original's headers, at most HEAD_LIMIT."""
    head = raw[:HEAD_LIMIT]
    lowered = head.lower()
    original = lowered.find(b"message/rfc822")
    if original < 0:
        return head
    # A report that puts its original before its report part (against the RFCs) is read whole, up to the limit.
    report = lowered.find(b"multipart/report")
    if report >= 0 and not any(0 <= lowered.find(p) < original for p in _REPORT_PARTS):
        return head
    return raw[: original + _ORIGINAL_HEADERS]


def parse(head: bytes) -> Message:
    """A mail's readable head parsed (a cut-off body is no harm to compat32's parser: it keeps what it saw)."""
    return _PARSER.parsebytes(head)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """`data` as text in its declared charset, else UTF-8, else GB 18030 (which maps every byte somewhere)."""
    name = (charset or "utf-8").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    for candidate in (name, "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):  # ValueError: a charset name no codec can have
            continue
    return data.decode("gb18030", errors="replace")


def header_text(msg: Message, name: str) -> str:
    """A header's value decoded (RFC 2047 words, or raw 8-bit bytes), on one line; "" when absent."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        chunks = decode_header(value)
    except Exception:  # a malformed encoded word: the value as it stands
        return one_line(str(value))
    text = "".join(decode_bytes(c, cs) if isinstance(c, bytes) else c for c, cs in chunks)
    return one_line(text)


def one_line(text: str, limit: int = 300) -> str:
    return _SPACES.sub(" ", text).strip()[:limit]


def addresses(msg: Message, name: str) -> list[str]:
    """The addresses of every `name` header, lower-cased, in order ("" and non-addresses dropped)."""
    values = [v if isinstance(v, str) else header_text_of(v) for v in msg.get_all(name, [])]
    found = []
    for _name, address in getaddresses(values):
        address = address.strip().strip("<>").lower()
        if "@" in address and len(address) <= 320 and address not in found:
            found.append(address)
    return found


def header_text_of(value: Header | str) -> str:
    return "".join(decode_bytes(c, cs) if isinstance(c, bytes) else c for c, cs in decode_header(value))


def first_address(msg: Message, name: str) -> str:
    found = addresses(msg, name)
    return found[0] if found else ""


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date as an aware UTC datetime, or None when it does not read as one."""
    if not value.strip():
        return None
    try:
        at = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def body_text(part: Message) -> str:
    """A leaf part's body decoded by its transfer encoding and charset, HTML reduced to its words."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = decode_bytes(payload[:TEXT_LIMIT], part.get_content_charset())
    if part.get_content_subtype() == "html":
        text = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], _TAGS.sub(" ", text))
    return text


@dataclass
class MailParts:
    """The parts of a mail that say something, sorted by kind (the returned original is not descended into)."""

    statuses: list[Message] = field(default_factory=list)  # message/delivery-status (RFC 3464)
    feedback: list[Message] = field(default_factory=list)  # message/feedback-report (RFC 5965)
    receipts: int = 0  # message/disposition-notification (RFC 8098): read receipts
    originals: list[Message] = field(default_factory=list)  # the returned mail's headers (message/rfc822, …)
    texts: list[Message] = field(default_factory=list)  # text/plain leaves: the human-readable notice
    htmls: list[Message] = field(default_factory=list)  # text/html leaves, read when there is no plain text

    def notice(self) -> str:
        """The human-readable notice: its plain text parts, else its HTML ones, as text."""
        chosen = self.texts or self.htmls
        return "\n".join(body_text(part) for part in chosen)[:TEXT_LIMIT]


def sort_parts(msg: Message) -> MailParts:
    parts = MailParts()
    stack = [msg]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            parts.statuses.append(part)
        elif ctype == "message/feedback-report":
            parts.feedback.append(part)
        elif ctype == "message/disposition-notification":
            parts.receipts += 1
        elif ctype in ("message/rfc822", "message/global") or ctype.endswith("rfc822-headers"):
            original = _original(part)
            if original is not None:
                parts.originals.append(original)
        elif part.is_multipart():
            payload = part.get_payload()
            stack[:0] = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
        elif ctype == "text/html":
            parts.htmls.append(part)
        elif ctype == "text/plain" or part is msg:
            parts.texts.append(part)
    return parts


def _original(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and not _transfer_encoded(part):
        return payload[0] if payload and isinstance(payload[0], Message) else None
    # text/rfc822-headers (and a message/rfc822 some servers send base64-encoded) hold text to parse.
    return _HEADER_PARSER.parsestr(_decoded_text(part))


def field_blocks(part: Message) -> list[Message]:
    """The header blocks of a delivery-status or feedback-report part (parsed as such or not by the parser)."""
    payload = part.get_payload()
    if isinstance(payload, list) and not _transfer_encoded(part):
        return [p for p in payload if isinstance(p, Message)]
    # A transfer-encoded report (base64, quoted-printable) reaches us as text: read its blocks here.
    text = _decoded_text(part).replace("\r\n", "\n")
    return [_HEADER_PARSER.parsestr(chunk) for chunk in re.split(r"\n[ \t]*\n", text) if chunk.strip()]


def _transfer_encoded(part: Message) -> bool:
    return str(part.get("Content-Transfer-Encoding", "")).strip().lower() in ("base64", "quoted-printable")


def _decoded_text(part: Message) -> str:
    """The text of a part, decoded, even of a message/* part the parser split into header blocks it could not
    read (its body then sits, still encoded, in the blocks' payloads)."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return body_text(part)
    encoded = "".join(str(p.get_payload()) for p in payload if isinstance(p, Message) and not p.is_multipart())
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    try:
        data = binascii.a2b_base64(encoded) if encoding == "base64" else quopri.decodestring(encoded.encode())
    except (binascii.Error, ValueError):
        return ""
    return decode_bytes(data[:TEXT_LIMIT], part.get_content_charset())
