"""The stdlib's way of writing a message: an EmailMessage and its generator, the reference the fast writer is held to.

Tests compare `wire.write_message` with `message_bytes(reference_message(...))`;
the fast writer itself falls back on the generator for a header it would not
write as the generator does (see `wire._written`).
"""

from __future__ import annotations

import email.policy
import re
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, Message, MIMEPart
from typing import TYPE_CHECKING

from digest.core.domain import RenderedDigest
from digest.core.messages.encoding import base64_lines, canonical_lines
from digest.core.messages.headers import HeaderLines, MessageHeaders, header_lines

# One <URL> of List-Unsubscribe.
ANGLED = re.compile(r"<[^<>\s]*>")

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
        items = ANGLED.findall(str(self))
        if not items:
            return super().fold(policy=policy)
        return f"{self.name}: " + ("," + policy.linesep + " ").join(items) + policy.linesep


_header_registry = HeaderRegistry()
_header_registry.map_to_type("list-unsubscribe", _ListUnsubscribeHeader)

# SMTP: CRLF and 78-column headers. 7bit: bodies go as quoted-printable or
# base64, so no line exceeds 998 octets and no relay needs 8BITMIME.
POLICY = email.policy.SMTP.clone(cte_type="7bit", header_factory=_header_registry)


def reference_message(rendered: RenderedDigest, headers: MessageHeaders) -> EmailMessage:
    """multipart/alternative (text, then HTML), UTF-8, with the list headers providers expect, as an EmailMessage."""
    lines, boundary = header_lines(headers, rendered.subject)
    return message_of_parts(lines, boundary, (encode_body(rendered.text), encode_body(rendered.html)))


def encode_body(text: str) -> bytes:
    """A part's base64 payload: UTF-8 with CRLF line ends (RFC 2046 canonical form), in lines ending in CRLF.

    Base64: Chinese text grows by a third instead of threefold as quoted-printable,
    the encoder runs in C, and no line comes near 998 octets.
    """
    return base64_lines(canonical_lines(text.encode("utf-8")))


def message_of_parts(lines: HeaderLines, boundary: str, payloads: tuple[bytes, bytes]) -> EmailMessage:
    """The message with these headers, its text and HTML parts' base64 payloads as they are."""
    msg = EmailMessage(policy=POLICY)
    for name, value in lines:
        msg.set_raw(name, value)
    parts: list[Message[str, str] | str] = []
    for payload, subtype in zip(payloads, ("plain", "html"), strict=True):
        part = MIMEPart(policy=POLICY)
        part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
        part.set_raw("Content-Transfer-Encoding", "base64")
        part.set_payload(payload.decode("ascii"))
        parts.append(part)
    msg.set_payload(parts)
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as the stdlib generator writes it for the wire: CRLF line endings, folded headers."""
    return msg.as_bytes(policy=POLICY)
