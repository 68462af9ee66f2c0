"""A rendered digest and its recipient as an RFC 5322 message with RFC 2369/2919/8058 list headers.

Builds, never sends. One writer makes the bytes that go out (`wire`): from a
`MessageHeaders` and the parts' base64 payloads (`digest.core.prepared` on the
send path, `write_rendered` for a whole rendered digest). The stdlib's
EmailMessage and generator (`reference`) are what it is held to.

    headers.py    MessageHeaders (plain data) -> header lines, encoded and folded
    encoding.py   text -> base64 payload lines
    wire.py       write_message / write_rendered: the production writer
    reference.py  reference_message + message_bytes: the stdlib generator, for tests and as fallback
"""

from __future__ import annotations

from digest.core.messages.encoding import base64_lines, canonical_lines
from digest.core.messages.headers import MessageHeaders
from digest.core.messages.reference import POLICY, message_bytes, reference_message
from digest.core.messages.wire import write_message, write_rendered

__all__ = [
    "POLICY",
    "MessageHeaders",
    "base64_lines",
    "canonical_lines",
    "message_bytes",
    "reference_message",
    "write_message",
    "write_rendered",
]
