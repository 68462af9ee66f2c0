"""A rendered digest and its recipient as an RFC 5322 message with RFC 2369/2919/8058 list headers.

Builds, never sends: transports take the EmailMessage (or `message_bytes`).
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

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

    msg = EmailMessage(policy=POLICY)
    msg["From"] = Address(display_name=sender_name, addr_spec=sender_email)
    msg["To"] = Address(display_name=to_name, addr_spec=to_email)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    # formataddr encodes a Chinese list name as an encoded word outside any quotes,
    # which is what RFC 2919's phrase allows; the <label> stays plain ASCII.
    msg["List-Id"] = formataddr((list_name, list_label), charset="utf-8")
    targets = [f"<{u}>" for u in (unsubscribe_url, unsubscribe_mailto) if u]
    if targets:
        msg["List-Unsubscribe"] = ", ".join(targets)
    if unsubscribe_url.startswith("https://"):
        # RFC 8058: one-click only makes sense with an HTTPS URI to POST to.
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (extra_headers or {}).items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED:
            raise ValueError(f"not an extra header this builder accepts: {name!r}")
        msg[name] = _one_line(name, value)

    # Base64 for both parts: Chinese text grows by a third instead of threefold as
    # quoted-printable, and the encoder runs in C.
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    for part in msg.iter_parts():
        # add_alternative stamps each new part as if it were a message of its own.
        del part["MIME-Version"]
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line endings, folded headers."""
    return msg.as_bytes(policy=POLICY)
