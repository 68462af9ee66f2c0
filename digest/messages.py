"""A rendered digest and its recipient as an RFC 5322 message with RFC 2369/2919/8058 list headers.

Builds, never sends: transports take the EmailMessage (or `message_bytes`).
"""

from __future__ import annotations

import base64
import email.policy
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from email.header import Header
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache

from digest.domain import ListInfo, Recipient, RenderedDigest


class _ListUnsubscribeHeader(UnstructuredHeader):
    """List-Unsubscribe folded between its <URL>s and nowhere else.

    The generic folder breaks a URL longer than a line into encoded words,
    which no mail provider decodes in this header: the one-click button would
    silently vanish. A long line (up to 998 octets) is allowed; a broken URL is not.
    """

    def fold(self, *, policy):
        items = re.findall(r"<[^<>\s]*>", str(self))
        if not items:
            return super().fold(policy=policy)
        return f"{self.name}: " + ("," + policy.linesep + " ").join(items) + policy.linesep


_headers = HeaderRegistry()
_headers.map_to_type("list-unsubscribe", _ListUnsubscribeHeader)

# SMTP: CRLF and 78-column headers. 7bit: bodies go as quoted-printable or
# base64, so no line exceeds 998 octets and no relay needs 8BITMIME.
POLICY = email.policy.SMTP.clone(cte_type="7bit", header_factory=_headers)

_LIST_LABEL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# local@domain in plain ASCII: what SMTP envelopes and these headers carry.
_ADDR_SPEC = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII but the colon (RFC 5322 ftext)
_RESERVED = frozenset(
    h.lower()
    for h in (
        "From", "To", "Subject", "Date", "Message-ID", "Reply-To", "List-Id", "List-Unsubscribe",
        "List-Unsubscribe-Post", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    )
)  # fmt: skip


def _one_line(what: str, value: str | None) -> str:
    # A CR or LF in a header value would let data write headers of its own.
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError(f"{what} contains a line break: {value!r}")
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
) -> EmailMessage:
    """multipart/alternative (text, then HTML), UTF-8, with the list headers providers expect."""
    subject = _one_line("subject", rendered.subject)
    sender_name = _one_line("sender name", list_info.sender_name or list_info.name)
    sender_email = _one_line("sender address", list_info.sender_email)
    reply_to = _one_line("Reply-To", list_info.reply_to)
    to_name = _one_line("recipient name", recipient.name)
    to_email = _one_line("recipient address", recipient.email)
    unsubscribe_url = _one_line("unsubscribe URL", recipient.unsubscribe_url)
    unsubscribe_mailto = _one_line("unsubscribe mailto", recipient.unsubscribe_mailto)
    list_name = _one_line("list name", list_info.name)
    domain = _one_line("List-Id domain", list_id_domain).strip().strip(".")

    list_label = f"{list_info.slug}.{domain}"
    if not _LIST_LABEL.fullmatch(list_label):
        raise ValueError(f"cannot make a List-Id from {list_label!r}")
    if date is None:
        date = datetime.now(timezone.utc)
    elif date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("the Date header needs an aware datetime")
    if message_id is None:
        message_id = make_msgid(domain=domain)
    else:
        message_id = _one_line("Message-ID", message_id).strip()
        if not message_id.startswith("<"):
            message_id = f"<{message_id}>"

    # Headers go in already encoded and folded (set_raw): the stdlib's header
    # objects would parse and refold each one per message, which cost more than
    # everything else a message needs. Encoding stays the stdlib's own.
    msg = EmailMessage(policy=POLICY)
    msg.set_raw("From", _fold_before_angle("From", _address(sender_name, sender_email)))
    msg.set_raw("To", _fold_before_angle("To", _address(to_name, to_email)))
    if reply_to:
        msg.set_raw("Reply-To", _unstructured("Reply-To", reply_to))
    msg.set_raw("Subject", _unstructured("Subject", subject))
    msg.set_raw("Date", format_datetime(date))
    msg.set_raw("Message-ID", message_id)
    # formataddr encodes a Chinese list name as an encoded word outside any quotes,
    # which is what RFC 2919's phrase allows; the <label> stays plain ASCII.
    msg.set_raw("List-Id", _fold_before_angle("List-Id", formataddr((list_name, list_label), charset="utf-8")))
    targets = [f"<{u}>" for u in (unsubscribe_url, unsubscribe_mailto) if u]
    if targets:
        # Folded between its <URL>s and nowhere else (see _ListUnsubscribeHeader).
        msg.set_raw("List-Unsubscribe", ",\r\n ".join(targets))
    if unsubscribe_url.startswith("https://"):
        # RFC 8058: one-click only makes sense with an HTTPS URI to POST to.
        msg.set_raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    for name, value in (extra_headers or {}).items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED:
            raise ValueError(f"not an extra header this builder accepts: {name!r}")
        msg.set_raw(name, _unstructured(name, _one_line(name, value)))
    msg.set_raw("MIME-Version", "1.0")
    boundary = f"=_digest_{uuid.uuid4().hex}"
    # Folded as the generator would fold it, so both ways of writing the message agree.
    msg.set_raw("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"')
    msg.set_payload([_text_part(rendered.text, "plain"), _text_part(rendered.html, "html")])
    return msg


@lru_cache(maxsize=1024)
def _address(name: str, addr_spec: str) -> str:
    if not _ADDR_SPEC.fullmatch(addr_spec):
        raise ValueError(f"not an address this builder accepts: {addr_spec!r}")
    return formataddr((name, addr_spec), charset="utf-8") if name else addr_spec


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


def _text_part(body: str, subtype: str) -> MIMEPart:
    # Base64: Chinese text grows by a third instead of threefold as quoted-printable,
    # the encoder runs in C, and no line comes near 998 octets. Text is CRLF inside too
    # (RFC 2046 canonical form).
    data = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    part = MIMEPart(policy=POLICY)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_payload(base64.encodebytes(data).decode("ascii"))
    return part


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line endings, folded headers.

    A message as `build_message` left it (every header set raw, already encoded
    and folded; two base64 parts) is written out directly: the stdlib generator
    would parse each header again only to write the same bytes, at a cost larger
    than building the message. Anything else goes through the generator.
    """
    fast = _flatten_built(msg)
    return fast if fast is not None else msg.as_bytes(policy=POLICY)


def _flatten_built(msg: EmailMessage) -> bytes | None:
    parts = msg.get_payload()
    if not isinstance(parts, list) or msg.preamble is not None or msg.epilogue is not None:
        return None
    head = _raw_headers(msg)
    content_type = dict(msg.raw_items()).get("Content-Type", "")
    boundary = content_type.partition('boundary="')[2].partition('"')[0]
    if head is None or not boundary or not content_type.startswith("multipart/alternative;"):
        return None
    out = [head, "\r\n"]
    for part in parts:
        part_head = _raw_headers(part)
        payload = part.get_payload()
        if part_head is None or not isinstance(payload, str) or part.preamble is not None:
            return None
        out += ["--", boundary, "\r\n", part_head, "\r\n", payload.replace("\n", "\r\n"), "\r\n"]
    out += ["--", boundary, "--\r\n"]
    return "".join(out).encode("ascii")


def _raw_headers(msg) -> str | None:
    """The headers as set with set_raw, or None when any is not (a header object wants folding)."""
    lines = []
    for name, value in msg.raw_items():
        if not isinstance(value, str) or not value.isascii() or "\n" in value.replace("\r\n", ""):
            return None
        line = f"{name}: {value}\r\n"
        # A line the generator would refold: let it (List-Unsubscribe it never refolds).
        if name != "List-Unsubscribe" and any(len(piece) > 78 for piece in line.split("\r\n")):
            return None
        lines.append(line)
    return "".join(lines)
