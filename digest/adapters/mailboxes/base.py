"""What every mailbox gives (InboundItem, the Mailbox protocol), its one error, and the helpers they share."""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

_T = TypeVar("_T")

# What a server, the network or TLS raise; each becomes a MailboxError saying what was being done, and where.
NETWORK_ERRORS = (OSError, EOFError, imaplib.IMAP4.error, poplib.error_proto)


@dataclass(frozen=True)
class InboundItem:
    # The mailbox's own stable id: "<UIDVALIDITY>:<UID>" (IMAP), the UIDL (POP3), the file's unique name (Maildir).
    ref: str
    raw: bytes


class MailboxError(Exception):
    """A mailbox that cannot be read: a bad URL, an unreachable server, a refused login, TLS, a missing folder.

    The message names the host (or path) and the folder, never the password.
    """


class Mailbox(Protocol):
    name: str  # the URL without its password: safe to show and to store
    # True when processed mail stays where it is (POP3 without delete): the caller skips refs it has read.
    keeps_processed: bool

    def items(self, limit: int | None = None) -> Iterator[InboundItem]:
        """Every mail of the folder read, oldest first (at most `limit`)."""
        ...

    def finish(self, refs: Sequence[str]) -> None:
        """Move these mails to the processed folder (or delete them, when chosen)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Mailbox: ...

    def __exit__(self, *exc: object) -> None: ...


class Closing:
    """close() on leaving a with-block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe(exc: BaseException) -> str:
    """An exception as one line, with what to do when it is a certificate nobody trusts."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the server's certificate is not trusted ({exc.verify_message or exc}); trust its CA with "
            "?cafile=/path/to/ca.pem, or for a test server only skip the check with ?insecure=1"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    detail = exc.args[0] if len(exc.args) == 1 else exc
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail) or type(exc).__name__


@contextlib.contextmanager
def failing_as(doing: str, where: str, secret: str = "") -> Iterator[None]:
    """Turn a network, TLS or protocol error into MailboxError("<doing> at <where>: <why>").

    A server's reply is only quoted, but a password can never reach a message: `secret` is blanked out.
    """
    try:
        yield
    except MailboxError:
        raise
    except NETWORK_ERRORS as exc:
        message = f"{doing} at {where}: {describe(exc)}"
        if secret:
            message = message.replace(secret, "***")
        raise MailboxError(message) from exc


def chunked(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
