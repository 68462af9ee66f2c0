"""What every transport shares: the delivery errors, the interface, and the one form of message it takes.

A transport sends one message to one recipient and either returns a receipt or
raises TemporaryDeliveryError (try again later) or PermanentDeliveryError (this
address will not take it). Deciding what to do about either is the caller's job.

`send` does it in one go. `begin` splits it in two: the envelope first (over
SMTP: MAIL, RCPT and DATA, answered by 354), then `deliver` with the content
or `abandon`. A batch sender opens the envelope while the database commits its
claim on the row, and sends the content only once the claim holds.

A message is always bytes in SMTP DATA form (`data_form`): what
`digest.core.messages.write_message` writes is in that form already, so the send
path hands its bytes over without anyone scanning them again.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol, Self

from digest.core.domain import SendReceipt


class DeliveryError(Exception):
    def __init__(self, detail: str, *, code: int | None = None, recipient: str | None = None):
        super().__init__(f"{code} {detail}" if code else detail)
        self.code = code
        self.detail = detail
        self.recipient = recipient


class TemporaryDeliveryError(DeliveryError):
    """4xx replies, dropped connections, timeouts: the same message may go through later."""


class PermanentDeliveryError(DeliveryError):
    """5xx replies: retrying will not help."""


def data_form(message: bytes) -> bytes:
    """Any message's bytes as transports take them: CRLF line ends, the last line ended, leading dots doubled.

    That is how SMTP DATA carries a message (RFC 5321 4.5.2), less the lone dot that
    ends it. The message writers' bytes are in this form already: no line of theirs
    starts with a dot. For bytes from anywhere else (a test, a file).
    """
    crlf = message.count(b"\r\n")
    if message.count(b"\r") != crlf or message.count(b"\n") != crlf:
        message = re.sub(rb"\r\n|\r|\n", b"\r\n", message)
    if message.startswith(b".") or b"\n." in message:
        message = re.sub(rb"(?m)^\.", b"..", message)
    if message and not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message


class Envelope(Protocol):
    def deliver(self, message: bytes) -> SendReceipt:
        """`message` in DATA form (see `data_form`)."""
        ...

    def abandon(self) -> None: ...


class Transport(Protocol):
    def send(self, message: bytes, *, sender: str, recipient: str) -> SendReceipt:
        """`message` in DATA form (see `data_form`)."""
        ...

    def begin(self, *, sender: str, recipient: str) -> Envelope: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class Closing:
    """What a transport gets for nothing: a context manager, and `begin` for one that opens nothing ahead."""

    if TYPE_CHECKING:
        # Each subclass defines it; `begin` below relies on it.
        def send(self, message: bytes, *, sender: str, recipient: str) -> SendReceipt: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def begin(self, *, sender: str, recipient: str) -> Envelope:
        # Nothing to open ahead: the whole send happens in `deliver`.
        return _Later(self, sender, recipient)


class _Later:
    def __init__(self, transport: Transport, sender: str, recipient: str):
        self._transport, self._sender, self._recipient = transport, sender, recipient

    def deliver(self, message: bytes) -> SendReceipt:
        return self._transport.send(message, sender=self._sender, recipient=self._recipient)

    def abandon(self) -> None:
        pass
