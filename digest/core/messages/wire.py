"""The production writer: a message's bytes straight from its header lines and its parts' base64 payloads.

No EmailMessage is made unless the generator would write a header differently
from how it was set (then the stdlib reference writes the whole message), so the
bytes are always what `message_bytes(reference_message(...))` gives. No line of
them starts with a dot (header names may not, base64 and boundary lines cannot),
so they are also what SMTP DATA carries, as they are.
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from digest.core.domain import RenderedDigest
from digest.core.messages.headers import MessageHeaders, header_lines
from digest.core.messages.reference import ANGLED, encode_body, message_bytes, message_of_parts


def write_rendered(rendered: RenderedDigest, headers: MessageHeaders) -> bytes:
    """A whole rendered (already personalised) digest as a message: multipart/alternative, text then HTML."""
    return write_message(headers, rendered.subject, encode_body(rendered.text), encode_body(rendered.html))


def write_message(headers: MessageHeaders, subject: str, text_payload: bytes, html_payload: bytes) -> bytes:
    """The message for parts already base64-encoded, as `digest.core.prepared` writes them.

    Each payload is base64 in lines of at most 76 characters, each ending in CRLF.
    """
    lines, boundary = header_lines(headers, subject)
    for payload in (text_payload, html_payload):
        if payload and not payload.endswith(b"\r\n"):
            raise ValueError("a part's base64 payload must be whole lines ending in CRLF")
    written = [_written(name, value) for name, value in lines]
    if None in written:
        return message_bytes(message_of_parts(lines, boundary, (text_payload, html_payload)))
    head = "".join(cast("list[str]", written))  # no None in it: checked above
    separator = f"--{boundary}\r\n".encode("ascii")
    return b"".join(
        (
            head.encode("ascii"),
            b"\r\n",
            separator,
            _part_head("plain"),
            b"\r\n",
            text_payload,
            b"\r\n",
            separator,
            _part_head("html"),
            b"\r\n",
            html_payload,
            b"\r\n",
            f"--{boundary}--\r\n".encode("ascii"),
        )
    )


# Memo of a pure function of its argument: two subtypes, the same lines for every message.
@lru_cache(maxsize=8)
def _part_head(subtype: str) -> bytes:
    # Short ASCII lines, which the generator writes as they are.
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n'.encode("ascii")


# Memo of a pure function of its arguments: most headers (sender, subject, list, date) repeat from message to message.
@lru_cache(maxsize=256)
def _written(name: str, value: str) -> str | None:
    """The header as the generator writes it when set raw, or None if it would rewrite it.

    The generator splits a value where str.splitlines() does, which is not only
    at CRLF, and refolds a header with a line over 78 columns: only List-Unsubscribe
    comes out of that unchanged, when already folded the way its class folds.
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
        if value != ",\r\n ".join(ANGLED.findall(unfolded)):
            return None
    return f"{name}: {value}\r\n"
